"""timm's own metadata for one pretrained tag: recipe, head, registry entry (builds no model).

Shared by the timm adapter (:mod:`imagenet_bench.backends.timm`) and the
registry generator (``tools/gen_timm.py``), so that what the registry says
and what ``predict`` does come from one place:

* :func:`pretrained_cfg` looks a tag up in timm's registry (``timm.list_pretrained``);
* :func:`data_config` is timm's ``resolve_data_config`` of the tag's
  ``pretrained_cfg`` (what ``timm.data.resolve_model_data_config(model)``
  returns for the built model), and :func:`recipe` states it in the registry's
  terms: ``resize = floor(input_size / crop_pct)`` as
  ``timm.data.transforms_imagenet_eval`` computes it (the shorter side for
  crop_mode ``center``, both sides for ``squash``, the longer side for ``border``);
* :func:`head` says whether the classifier head is ImageNet-1k, from
  ``num_classes`` through ``timm.data.infer_imagenet_subset``;
* :func:`test_data_config` is the same with ``use_test_size=True`` (timm's
  ``validate.py`` default), where a tag's ``test_input_size``/``test_crop_pct`` differ;
* :func:`entry` is the tag's registry entry (the schema of ``models/catalog.py``).
"""
from __future__ import annotations

import difflib
import math
from typing import Dict, List, Optional, Tuple

import timm
from timm.data import infer_imagenet_subset, resolve_data_config
from timm.models import get_pretrained_cfg, split_model_name_tag

from imagenet_bench.errors import InputError
from imagenet_bench.models import timm_results

HUB_URL = "https://huggingface.co/{}"


def pretrained_names() -> List[str]:
    """Every ``arch.tag`` with pretrained weights in the installed timm, sorted."""
    return sorted(timm.list_pretrained())


def split(name: str) -> Tuple[str, str]:
    """``timm:resnet50.a1_in1k`` / ``resnet50.a1_in1k`` / ``resnet50`` -> (arch, tag); a bare
    architecture gets timm's default tag (the first of its pretrained tags)."""
    text = name.split("+", 1)[0]
    if text.startswith("timm:"):
        text = text[len("timm:"):]
    arch, tag = split_model_name_tag(text)
    if not tag:
        cfg = get_pretrained_cfg(arch)
        tag = cfg.tag if cfg is not None else ""
    return arch, tag


def pretrained_cfg(name: str):
    """timm's ``PretrainedCfg`` of ``name``; an unknown name is an :class:`InputError` with suggestions."""
    arch, tag = split(name)
    full = f"{arch}.{tag}"
    names = timm.list_pretrained()
    if full not in names:
        close = difflib.get_close_matches(full, names, n=5, cutoff=0.6)
        hint = f" Did you mean: {', '.join('timm:' + c for c in close)}?" if close else ""
        raise InputError(f"--model {name}: timm {timm.__version__} has no pretrained weights "
                         f"{full!r}.{hint} Fix: pick a name from `imagenet-bench models "
                         f"'timm:*'` (or timm.list_pretrained())")
    return get_pretrained_cfg(full)


def data_config(cfg) -> Dict:
    """timm's ``resolve_data_config`` of a pretrained cfg (train-size defaults, as for the model)."""
    return resolve_data_config({}, pretrained_cfg=cfg.to_dict())


def test_data_config(cfg) -> Optional[Dict]:
    """timm's ``resolve_data_config(..., use_test_size=True)`` of a pretrained cfg (what
    ``validate.py`` evaluates at without ``--use-train-size``); None when it is the train-size
    config (the tag has no ``test_input_size``/``test_crop_pct`` of its own)."""
    config = resolve_data_config({}, pretrained_cfg=cfg.to_dict(), use_test_size=True)
    return None if config == data_config(cfg) else config


def recipe(config: Dict) -> Dict:
    """A resolved data config in the registry's terms (all JSON values)."""
    _, height, width = config["input_size"]
    size = int(height)
    return {"input_size": size, "input_hw": [int(height), int(width)],
            "resize": math.floor(size / config["crop_pct"]), "crop": size,
            "crop_pct": float(config["crop_pct"]), "crop_mode": config["crop_mode"],
            "interpolation": config["interpolation"],
            "mean": [float(v) for v in config["mean"]], "std": [float(v) for v in config["std"]]}


def head(cfg) -> Tuple[Optional[int], Optional[str], Optional[str]]:
    """``(num_classes, label_set, reason)``: reason is None for an ImageNet-1k classifier."""
    n = cfg.num_classes
    if not n:
        return None, None, ("no classifier head (num_classes=0): a feature/embedding backbone, "
                            "not an ImageNet-1k classifier")
    subset = infer_imagenet_subset(cfg.to_dict())
    if subset == "imagenet-1k":
        if cfg.input_size[1] != cfg.input_size[2]:
            return n, subset, f"non-square input {cfg.input_size[1]}x{cfg.input_size[2]}"
        return n, subset, None
    if subset:
        return n, subset, f"{subset} head ({n} classes), not ImageNet-1k"
    return n, None, (f"head has {n} outputs, which timm maps to no ImageNet label set "
                     f"(for CLIP-style image towers the embedding width), not ImageNet-1k")


def weights_location(cfg) -> Tuple[Optional[str], Optional[str]]:
    """(url, file name) where timm fetches the weights: the Hugging Face hub repo, else the URL."""
    if cfg.hf_hub_id:
        return HUB_URL.format(cfg.hf_hub_id), cfg.hf_hub_filename or "model.safetensors"
    if cfg.url:
        return cfg.url, cfg.url.rsplit("/", 1)[-1]
    return None, None


def entry(name: str, is_default: bool) -> Dict:
    """The registry entry of ``arch.tag`` (every key of the catalog schema)."""
    cfg = get_pretrained_cfg(name)
    rec = recipe(data_config(cfg))
    num_classes, label_set, reason = head(cfg)
    row = timm_results.find(name, rec["input_size"], rec["crop_pct"])
    test = test_data_config(cfg)
    url, file_name = weights_location(cfg)
    top1 = top5 = source = None
    if row is not None and row.top["imagenet"][0] is not None:  # a few rows are in other tables only
        top1, top5 = row.top["imagenet"]
        source = timm_results.describe(row)
    return {
        "framework": "timm", "architecture": cfg.architecture, "weights": cfg.tag,
        "model": f"timm:{cfg.architecture}.{cfg.tag}", "aliases": [], "is_default": is_default,
        "builder": f"timm:{cfg.architecture}", "input_size": rec["input_size"], "resize": rec["resize"],
        "crop": rec["crop"], "crop_mode": rec["crop_mode"], "interpolation": rec["interpolation"],
        "mean": rec["mean"], "std": rec["std"], "preprocessing": "torch", "preprocess_module": None,
        "num_classes": num_classes, "label_set": label_set, "runnable": reason is None,
        "not_runnable_reason": reason, "published_top1": top1, "published_top5": top5,
        "source": source, "params": None, "gflops": None, "recipe": None,
        "url": url, "file_name": file_name, "quantized_backend": None, "float_counterpart": None,
        "test_input_size": int(test["input_size"][1]) if test else None,
        "test_crop_pct": float(test["crop_pct"]) if test else None,
    }


def entries() -> List[Dict]:
    """The registry entries of every pretrained tag, sorted by model id."""
    defaults = {}
    out = []
    for name in pretrained_names():
        arch, tag = split_model_name_tag(name)
        if arch not in defaults:
            defaults[arch] = get_pretrained_cfg(arch).tag
        out.append(entry(name, tag == defaults[arch]))
    return sorted(out, key=lambda e: e["model"])
