"""Regenerate imagenet_bench/models/data/{torchvision,keras}.json from the libraries themselves.

    python tools/gen_registry.py [--only torchvision|keras] [--check]

torchvision: every weights enum member of ``torchvision.models`` and
``torchvision.models.quantization``; resize/crop/interpolation/mean/std come
from each weights' own ``transforms()``, figures from ``meta``.

Keras: every image classifier of ``keras.applications``; each is built once
(``weights="imagenet"`` with the download and the weights loading stubbed out,
so nothing is fetched) to read its input size, output classes, parameter
count and the weights file Keras would download. The preprocessing mode is
found by applying the module's ``preprocess_input`` to a probe array and
comparing with ``imagenet_utils.preprocess_input(mode=...)``. Published
top-1/top-5 come from the Keras Applications documentation table (below).

The output is deterministic (entries sorted by model id, keys in schema
order), so a re-run with the same library versions is byte-identical;
``--check`` compares instead of writing (exit 1 when stale).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Dict, List

from imagenet_bench.cache import atomic
from imagenet_bench.models import catalog

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "imagenet_bench", "models", "data")
GENERATOR = "tools/gen_registry.py"

#: Keras Applications table "Available models": top-1 %, top-5 % (single centre crop).
KERAS_DOC_SOURCE = ("Keras Applications documentation table (keras.io/api/applications; "
                    "keras-team/keras-io templates/api/applications/index.md @ e7be306b)")
KERAS_DOC_TABLE = {
    "Xception": (79.0, 94.5), "VGG16": (71.3, 90.1), "VGG19": (71.3, 90.0),
    "ResNet50": (74.9, 92.1), "ResNet50V2": (76.0, 93.0), "ResNet101": (76.4, 92.8),
    "ResNet101V2": (77.2, 93.8), "ResNet152": (76.6, 93.1), "ResNet152V2": (78.0, 94.2),
    "InceptionV3": (77.9, 93.7), "InceptionResNetV2": (80.3, 95.3), "MobileNet": (70.4, 89.5),
    "MobileNetV2": (71.3, 90.1), "DenseNet121": (75.0, 92.3), "DenseNet169": (76.2, 93.2),
    "DenseNet201": (77.3, 93.6), "NASNetMobile": (74.4, 91.9), "NASNetLarge": (82.5, 96.0),
    "EfficientNetB0": (77.1, 93.3), "EfficientNetB1": (79.1, 94.4), "EfficientNetB2": (80.1, 94.9),
    "EfficientNetB3": (81.6, 95.7), "EfficientNetB4": (82.9, 96.4), "EfficientNetB5": (83.6, 96.7),
    "EfficientNetB6": (84.0, 96.8), "EfficientNetB7": (84.3, 97.0),
    "EfficientNetV2B0": (78.7, 94.3), "EfficientNetV2B1": (79.8, 95.0),
    "EfficientNetV2B2": (80.5, 95.1), "EfficientNetV2B3": (82.0, 95.8),
    "EfficientNetV2S": (83.9, 96.7), "EfficientNetV2M": (85.3, 97.4),
    "EfficientNetV2L": (85.7, 97.5),
}


def _entry(**values) -> dict:
    """One entry in schema key order; unset keys are null, extra keys are an error."""
    unknown = set(values) - set(catalog.KEYS)
    if unknown:
        raise KeyError(f"not schema keys: {sorted(unknown)}")
    out = {k: values.get(k) for k in catalog.KEYS if k not in catalog.OPTIONAL or k in values}
    catalog.validate(out, out["model"])
    return out


def _public(version: str) -> str:
    """``2.14.1+cu130`` -> ``2.14.1`` (a local build tag does not change the metadata)."""
    return version.split("+", 1)[0]


def _document(library: str, versions: Dict[str, str], entries: List[dict]) -> dict:
    return {"generator": GENERATOR, "library": library, "versions": versions,
            "entries": sorted(entries, key=lambda e: e["model"])}


# --- torchvision --------------------------------------------------------------
def _torch_entry(arch: str, w, module: str, enum_arch: dict) -> dict:
    meta, t = w.meta, w.transforms()
    enum = type(w).__name__
    cats = meta.get("categories")
    metrics = meta.get("_metrics", {}).get("ImageNet-1K", {})
    top1, top5 = metrics.get("acc@1"), metrics.get("acc@5")
    top1, top5 = [None if v is None or v != v else v for v in (top1, top5)]  # NaN -> null
    reason = None
    if not cats or len(cats) != 1000:
        docs = " ".join(meta.get("_docs", "").split()).split(". ")[0]
        reason = (f"{enum}.{w.name} has {len(cats) if cats else 'no'} categories "
                  f"(meta['categories']), not a 1000-class ImageNet classifier"
                  + (f"; torchvision: {docs.rstrip('.')}" if docs else ""))
    float_w = meta.get("unquantized")
    (resize,), (crop,) = t.resize_size, t.crop_size
    return _entry(
        framework="torch", architecture=arch, weights=w.name, model=f"torch:{arch}.{w.name}",
        aliases=[f"{enum}.{w.name}"], is_default=(w is type(w).DEFAULT),
        builder=f"{module}:{arch.replace('quantized_', '', 1)}",
        input_size=crop, resize=resize, crop=crop, crop_mode="center",
        interpolation=t.interpolation.value, mean=[float(v) for v in t.mean],
        std=[float(v) for v in t.std], preprocessing="torch", preprocess_module=None,
        num_classes=len(cats) if cats else None,
        label_set="imagenet-1k" if cats and len(cats) == 1000 else None,
        runnable=reason is None, not_runnable_reason=reason,
        published_top1=top1, published_top5=top5,
        source=(f"torchvision {enum}.{w.name}.meta['_metrics']['ImageNet-1K']"
                if top1 is not None else None),
        params=meta.get("num_params"), gflops=meta.get("_ops"), recipe=meta.get("recipe"),
        url=w.url, file_name=w.url.rsplit("/", 1)[-1],
        quantized_backend=meta.get("backend"),
        float_counterpart=(f"torch:{enum_arch[type(float_w)]}.{float_w.name}"
                           if float_w is not None else None))


def torchvision_document() -> dict:
    """The torchvision.json document built from the installed torchvision."""
    import torch
    import torchvision
    from torchvision import models

    float_archs = models.list_models(module=models)
    enum_arch = {models.get_model_weights(a): a for a in float_archs}
    rows = [_torch_entry(a, w, "torchvision.models", enum_arch)
            for a in float_archs for w in models.get_model_weights(a)]
    rows += [_torch_entry(a, w, "torchvision.models.quantization", enum_arch)
             for a in models.list_models(module=models.quantization)
             for w in models.get_model_weights(a)]
    return _document("torchvision", {"torch": _public(torch.__version__),
                                     "torchvision": _public(torchvision.__version__)}, rows)


# --- Keras --------------------------------------------------------------------
def keras_classifiers() -> Dict[str, object]:
    """``{name: builder}`` of every image classifier exported by ``keras.applications``."""
    import inspect

    from keras import applications

    out = {}
    for name in sorted(dir(applications)):
        fn = getattr(applications, name)
        if inspect.isfunction(fn) and name[:1].isupper():
            params = inspect.signature(fn).parameters
            if {"include_top", "weights", "classes"} <= set(params):
                out[name] = fn
    return out


def _keras_module(name: str, fn) -> str:
    """The public keras.applications submodule of ``name``: ``resnet50`` before ``resnet``."""
    import inspect

    from keras import applications

    mods = {m: getattr(applications, m) for m in dir(applications)
            if inspect.ismodule(getattr(applications, m))}
    if name.lower() in mods and getattr(mods[name.lower()], name, None) is fn:
        return name.lower()  # keras.applications.resnet50 for ResNet50
    home = fn.__module__.rsplit(".", 1)[-1]  # keras.src.applications.<home>
    if home in mods and hasattr(mods[home], "preprocess_input"):
        return home  # (keras.applications.mobilenet_v3 exports only preprocess_input)
    raise LookupError(f"no keras.applications submodule has the preprocess_input of {name}")


def _keras_mode(module) -> tuple:
    """(mode, mean, std) of ``module.preprocess_input``, found on a probe array."""
    import numpy as np
    from keras.applications import imagenet_utils

    probe = np.array([[[[0, 0, 0], [255, 255, 255], [10, 100, 200]]]], dtype="float32")
    got = np.asarray(module.preprocess_input(probe.copy()))
    cands = {"none": probe}
    for mode in ("caffe", "tf", "torch"):
        cands[mode] = np.asarray(imagenet_utils.preprocess_input(probe.copy(), mode=mode))
    hits = [m for m, ref in cands.items() if ref.shape == got.shape and np.allclose(ref, got)]
    if len(hits) != 1:
        raise LookupError(f"{module.__name__}.preprocess_input matches modes {hits}")
    if hits[0] != "torch":
        return hits[0], None, None
    std = 1.0 / (got[0, 0, 1] - got[0, 0, 0])  # x=255 -> (1-mean)/std, x=0 -> -mean/std
    mean = -got[0, 0, 0] * std
    return "torch", [round(float(v), 6) for v in mean], [round(float(v), 6) for v in std]


def _keras_build(fn):
    """Build ``fn(weights="imagenet")`` without downloading.

    Returns ``(model, get_file calls, input side)``. The side is the model's
    fixed input side or, for models built with a free input size (MobileNetV3),
    the side Keras says its ImageNet weights are for.
    """
    import warnings
    from unittest import mock

    import keras
    from keras.src.utils import file_utils

    calls = []

    def fake_get_file(fname=None, origin=None, *args, **kwargs):
        calls.append((fname, origin))
        return os.devnull

    with mock.patch.object(file_utils, "get_file", fake_get_file), \
            mock.patch.object(keras.Model, "load_weights", lambda self, path, *a, **k: None), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fn(weights="imagenet")
    shape = tuple(model.input_shape[1:])
    if shape[:2] == (None, None):
        said = [re.search(r"[Ww]eights for input shape \((\d+), (\d+)\)", str(w.message))
                for w in caught]
        sizes = {m.groups() for m in said if m}
        if len(sizes) != 1 or len(set(next(iter(sizes)))) != 1:
            raise ValueError(f"{fn.__name__}: free input shape and no single weights size in "
                             f"the warnings {[str(w.message) for w in caught]}")
        shape = (int(next(iter(sizes))[0]),) * 2 + shape[2:]
    if shape[2:] != (3,) or shape[0] != shape[1]:
        raise ValueError(f"{fn.__name__}: unexpected input shape {model.input_shape}")
    return model, calls, int(shape[0])


def _docstring_top1(name: str, fn, size: int):
    """(top-1, source) of the default checkpoint from the builder's own docstring table.

    Keras' MobileNetV3 builders document "Top1 Accuracy" per checkpoint
    (``mobilenet_v3_large_1.0_224``); other builders have no such table.
    """
    import inspect

    import keras

    params = inspect.signature(fn).parameters
    doc = fn.__doc__ or ""
    header = re.search(r"^\|(.*Top1 Accuracy.*)\|\s*$", doc, re.M)
    if header is None or not {"alpha", "minimalistic"} <= set(params):
        return None, None
    cols = [c.strip() for c in header.group(1).split("|")]
    variant = name.replace("MobileNetV3", "").lower()
    ckpt = (f"mobilenet_v3_{variant}{'_minimalistic' if params['minimalistic'].default else ''}"
            f"_{params['alpha'].default}_{size}")
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == ckpt:
            return (float(cells[cols.index("Top1 Accuracy")]),
                    f"keras.applications.{name} docstring table, Top1 Accuracy of {ckpt} "
                    f"(keras {_public(keras.__version__)}; no top-5 given)")
    return None, None


def keras_document() -> dict:
    """The keras.json document built from the installed Keras (builds each model once)."""
    import gc

    import imagenet_bench.backends.keras.child  # noqa: F401  (triton before TensorFlow, see there)
    import keras
    import tensorflow as tf
    from keras import applications

    rows = []
    for name, fn in keras_classifiers().items():
        module = _keras_module(name, fn)
        mode, mean, std = _keras_mode(getattr(applications, module))
        model, calls, size = _keras_build(fn)
        classes, params = int(model.output_shape[-1]), int(model.count_params())
        del model
        keras.backend.clear_session()
        gc.collect()
        file_name, url = calls[-1] if calls else (None, None)
        top1, top5, source = None, None, None
        if name in KERAS_DOC_TABLE:
            (top1, top5), source = KERAS_DOC_TABLE[name], KERAS_DOC_SOURCE
        else:
            top1, source = _docstring_top1(name, fn, size)
        rows.append(_entry(
            framework="keras", architecture=name, weights="imagenet",
            model=f"keras:{name}.imagenet", aliases=[], is_default=True,
            builder=f"keras.applications:{name}", input_size=size,
            # Keras maintainers' evaluation recipe: shorter side to size/0.875
            # (bicubic), then a size x size centre crop (as models/registry.py).
            resize=int(round(size / 0.875)), crop=size, crop_mode="center",
            interpolation="bicubic", mean=mean, std=std, preprocessing=mode,
            preprocess_module=f"keras.applications.{module}", num_classes=classes,
            label_set="imagenet-1k" if classes == 1000 else None, runnable=classes == 1000,
            not_runnable_reason=None if classes == 1000 else f"{classes} output classes",
            published_top1=top1, published_top5=top5, source=source, params=params,
            gflops=None, recipe=None, url=url, file_name=file_name, quantized_backend=None,
            float_counterpart=None))
    return _document("keras", {"keras": _public(keras.__version__),
                               "tensorflow": _public(tf.__version__)}, rows)


# --- output -------------------------------------------------------------------
def dumps(document: dict) -> str:
    """The file text of ``document``: one value per line, ASCII, trailing newline."""
    return json.dumps(document, indent=1, ensure_ascii=True, allow_nan=False) + "\n"


BUILDERS = {"torchvision": torchvision_document, "keras": keras_document}


def main(argv=None) -> int:
    """Write (or with ``--check`` compare) the data files; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted(BUILDERS), help="regenerate one library only")
    p.add_argument("--check", action="store_true", help="compare, do not write; exit 1 if stale")
    args = p.parse_args(argv)
    stale = []
    for library in ([args.only] if args.only else list(BUILDERS)):
        text = dumps(BUILDERS[library]())
        path = os.path.join(DATA_DIR, f"{library}.json")
        if args.check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(path)
            continue
        os.makedirs(DATA_DIR, exist_ok=True)
        atomic.write_text(path, text)
        print(f"wrote {path} ({text.count(chr(10))} lines)", file=sys.stderr)
    for path in stale:
        print(f"stale: {path}; run python tools/gen_registry.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
