"""Read the output layout of the 2019 Keras-vs-PyTorch benchmark as-is.

Layout (cgnorthcutt/benchmarking-keras-pytorch)::

    keras_imagenet/<model>_keras_imagenet_top5preds.npy     int64 (50000, 5)
    keras_imagenet/<model>_keras_imagenet_top5probs.npy     float32 (50000, 5)
    pytorch_imagenet/<model>_pytorch_imagenet_top5preds.npy
    pytorch_imagenet/<model>_pytorch_imagenet_top5probs.npy float32 or float16

Rows are the validation images in ImageFolder order (sorted wnid, then file
name), so the label of row i is ``i // 50`` unless labels are given.

The five columns are not sorted. **Tie rule**: columns are ordered by
descending probability with a stable sort, so equal probabilities keep their
column order. The resulting top-1 is exactly that project's
``top5preds[i, argmax(top5probs[i])]`` (argmax returns the first maximum).
float16 probabilities are widened to float32 first, which is exact.

Identity: a 2019 file name maps to the canonical id of the weights the study
used, tagged ``+legacy2019`` because the outputs were made with the 2019
recipes (``mobilenetV2_keras_...`` -> ``keras:MobileNetV2.imagenet+legacy2019``,
``resnet50_pytorch_...`` -> ``torch:resnet50.IMAGENET1K_V1+legacy2019``).
"""
from __future__ import annotations

import os
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.models import registry
from imagenet_bench.cache import checks
from imagenet_bench.cache.store import (FORMAT_VERSION, NUM_CLASSES, CacheError, Predictions,
                                        full_val_blob, ids_summary)
from imagenet_bench.data.imagenet_meta import IMAGES_PER_CLASS
from imagenet_bench.errors import InputError

SUBDIRS = {"keras_imagenet": ("keras", "keras"), "pytorch_imagenet": ("pytorch", "torch")}
TIE_RULE = "stable sort by descending probability; ties keep the file's column order"
_PAT = re.compile(r"^(?P<model>.+)_(?P<fw>keras|pytorch)_imagenet_top5(?P<kind>preds|probs)\.npy$")
#: integer types too narrow for class indices 0-999: values in them have already wrapped
_NARROW = (np.int8, np.uint8)
_LIBS = {"keras": {"keras": "2.2.4"}, "torch": {"torch": "1.0"}}


def is_2019_layout(directory: str) -> bool:
    """True when ``directory`` holds a ``keras_imagenet/`` or ``pytorch_imagenet/`` folder."""
    return any(os.path.isdir(os.path.join(directory, d)) for d in SUBDIRS)


def find_pairs(directory: str) -> List[Tuple[str, str, str, str]]:
    """``(framework, model, preds_path, probs_path)`` for each model, sorted.

    A ``top5preds`` file without its ``top5probs`` partner (or the reverse) is
    an error naming the file.
    """
    out = []
    for sub, (tag, framework) in SUBDIRS.items():
        folder = os.path.join(directory, sub)
        if not os.path.isdir(folder):
            continue
        for fname in sorted(os.listdir(folder)):
            m = _PAT.match(fname)
            if not m or m.group("fw") != tag:
                continue
            path = os.path.join(folder, fname)
            stem = path[: -len("top5preds.npy")]
            preds, probs = stem + "top5preds.npy", stem + "top5probs.npy"
            partner = probs if m.group("kind") == "preds" else preds
            if not os.path.lexists(partner):
                other = "probabilities" if m.group("kind") == "preds" else "predictions"
                raise CacheError(f"{path}: its {other} file {partner} is missing (each model needs "
                                 f"both top5preds and top5probs). Fix: copy both files of the model "
                                 f"from the 2019 outputs, or remove {os.path.basename(path)}")
            if m.group("kind") == "preds":
                out.append((framework, m.group("model"), preds, probs))
    return out


#: a 9-comparator sorting network for 5 values (checked on all 32 0-1 inputs in the tests)
SORT5 = ((0, 3), (1, 4), (0, 2), (1, 3), (0, 1), (2, 4), (1, 2), (3, 4), (2, 3))


def sort_columns(preds: np.ndarray, probs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Order each row's five columns by descending probability (see the module tie rule).

    Probabilities must be finite and non-negative. Each cell is packed into one
    int64 sort key — float32 bits (monotonic for non-negative floats), then the
    reversed column number, then the class index — so the keys of a row are
    distinct and sorting them does the ordering, tie-break and gather at once.
    The sort is the :data:`SORT5` network applied to whole columns (18
    vectorised min/max without allocations), which gives what
    ``np.sort(keys, axis=1)`` gives in less time.
    """
    if preds.shape[1] != 5:
        raise ValueError(f"expected 5 columns, got {preds.shape[1]}")
    bits = np.asarray(probs, dtype=np.float32).view(np.int32)
    cols = []
    for j in range(5):
        key = bits[:, j].astype(np.int64)
        key <<= 13
        key |= (4 - j) << 10
        key |= preds[:, j]
        cols.append(key)
    spare = np.empty_like(cols[0])
    for a, b in SORT5:
        np.minimum(cols[a], cols[b], out=spare)
        np.maximum(cols[a], cols[b], out=cols[b])
        cols[a], spare = spare, cols[a]
    n = preds.shape[0]
    idx = np.empty((n, 5), np.int16)
    prob = np.empty((n, 5), np.float32)
    for j, key in enumerate(reversed(cols)):  # descending
        idx[:, j] = key & 1023
        key >>= 13
        prob.view(np.int32)[:, j] = key
    return idx, prob


def default_labels(n: int) -> np.ndarray:
    """Labels of the full validation set in ImageFolder order: ``i // 50``."""
    return (np.arange(n) // IMAGES_PER_CLASS).astype(np.int16)


def read_model(framework: str, model: str, preds_path: str, probs_path: str,
               labels: np.ndarray, image_ids_blob: np.ndarray, fp: str) -> Predictions:
    """Read one model's two files into validated :class:`Predictions`."""
    n = len(labels)

    def expected(shape):
        if len(shape) != 2 or shape[1] != 5:
            return f"expected ({n}, 5). Fix: re-copy the 2019 files"
        if shape[0] != n:
            return (f"{shape[0]} rows, but the image list has {n} (labels/validation set). Fix: "
                    f"give the validation directory the outputs were made from (--val-dir)")
        return None

    preds = checks.read_npy(preds_path, CacheError, "2019 predictions", expected)
    probs = checks.read_npy(probs_path, CacheError, "2019 probabilities", expected)
    for path, arr, kind in ((preds_path, preds, "integer"), (probs_path, probs, "floating")):
        if not np.issubdtype(arr.dtype, getattr(np, kind)):
            raise CacheError(f"{path}: dtype {arr.dtype}, expected {kind}. Fix: re-copy the 2019 files")
    if preds.dtype.type in _NARROW:
        raise CacheError(f"{preds_path}: dtype {preds.dtype} cannot hold class indices 0-999, so "
                         f"the values were cut when the file was saved (e.g. 999 stored as "
                         f"{np.array(999).astype(preds.dtype)}). Fix: re-copy the original int64 file")
    if preds.min(initial=0) < 0 or preds.max(initial=0) >= NUM_CLASSES:
        r = int(np.flatnonzero(((preds < 0) | (preds >= NUM_CLASSES)).any(1))[0])
        raise CacheError(f"{preds_path}: class index out of range 0-999 at row {r}: "
                         f"{preds[r].tolist()}. Fix: re-copy the 2019 files")
    preds = preds.astype(np.int64, copy=False)  # in range 0-999: exact for every integer type
    if not np.isfinite(probs).all() or probs.min(initial=0) < 0:
        r = int(np.flatnonzero((~np.isfinite(probs) | (probs < 0)).any(1))[0])
        raise CacheError(f"{probs_path}: probability not finite or negative at row {r}: "
                         f"{probs[r].tolist()}. Fix: re-copy the 2019 files")
    idx, prob = sort_columns(preds, probs)
    spec = _spec_or_none(framework, model)
    ident = {"model": f"{framework}:{model}", "framework": framework}
    if spec is not None:
        mid = spec.id.with_settings(registry.LEGACY)
        ident = {"model": str(mid), "framework": framework, "architecture": mid.arch,
                 "weights_tag": mid.tag, "settings": list(mid.settings), "name_2019": model}
    prov = {
        "format_version": FORMAT_VERSION, **ident,
        "weights": "pretrained=True (2019)", "preprocess_mode": registry.LEGACY,
        "preprocessing": dict(spec.recipe("legacy2019").as_dict(), mode="legacy2019")
        if spec else {"mode": "legacy2019"},
        "library_versions": _LIBS[framework], "fingerprint": fp, "num_images": n,
        "complete": True, "source": "northcutt2019", "tie_rule": TIE_RULE,
        "original_files": [_relative(preds_path), _relative(probs_path)],
        "original_probs_dtype": str(probs.dtype),
    }
    return Predictions(top5_idx=idx, top5_prob=prob, labels=labels,
                       image_ids_blob=image_ids_blob, provenance=prov,
                       missing=np.zeros(n, bool), path=preds_path).validate(check_fingerprint=False)


def _relative(path: str) -> str:
    """``keras_imagenet/<file>``: a 2019 file's name inside its layout (no local folders)."""
    return "/".join(os.path.normpath(path).split(os.sep)[-2:])


def _spec_or_none(framework: str, model: str) -> Optional[registry.ModelSpec]:
    try:
        return registry.get_model(f"{framework}:{model}")
    except InputError:
        return None


def load_directory(directory: str, labels: Optional[np.ndarray] = None,
                   image_ids: Optional[Sequence[str]] = None,
                   val_dir: Optional[str] = None) -> List[Predictions]:
    """All models of a 2019-layout directory as :class:`Predictions`.

    Without ``labels``/``image_ids`` the rows are the full validation set in
    ImageFolder order (labels ``i // 50``, ids built from imagenet_meta's
    package data). With ``val_dir`` they are that validation directory's
    (:func:`datasets.discover`).
    """
    pairs = find_pairs(directory)
    if not pairs:
        return []
    if val_dir:
        from imagenet_bench.data import datasets

        valset = datasets.discover(val_dir)
        labels, image_ids = valset.labels, valset.image_ids
    if image_ids is None:
        blob = full_val_blob()  # read-only: its fingerprint is computed once
    else:
        blob = np.frombuffer("\n".join(image_ids).encode("utf-8"), dtype=np.uint8)
    count, fp = ids_summary(blob)
    if labels is None:
        labels = default_labels(count)
    labels = np.asarray(labels, dtype=np.int16)
    if len(labels) != count:
        raise CacheError(f"{directory}: {len(labels)} labels for {count} images. Fix: give "
                         f"--val-dir the validation folder these outputs were made on")
    return [read_model(fw, m, p, q, labels, blob, fp) for fw, m, p, q in pairs]
