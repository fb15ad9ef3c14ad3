"""A Hugging Face image processor's settings as a :class:`~imagenet_bench.models.recipe.Recipe`
(standard library only).

:func:`recipe_of` merges the checkpoint's processor config over its class's defaults (recorded in
``data/hf.json`` by ``tools/gen_hf.py``, as transformers merges them) and states them as a recipe
where one describes them exactly: a square resize or a shorter-side resize and centre crop
(ConvNeXt's ``crop_pct`` rule: below 384 resize ``shortest_edge / crop_pct`` and crop, at 384 and
above warp), rescale 1/255, mean/std. Otherwise it returns None and the reason: the adapter then
runs the whole processor. TimmWrapper checkpoints carry timm's ``pretrained_cfg``
(:func:`timm_recipe`).
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any, Optional, Tuple

from imagenet_bench.models.recipe import Recipe, from_crop_pct

CATALOG = ("imagenet_bench.models", "data/hf.json")
PROCESSOR_CONFIG = "preprocessor_config.json"

#: PIL resampling numbers (transformers' PILImageResampling) -> recipe interpolation
RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic"}
#: processor classes whose resize/crop is the base class's (size, crop_size; ConvNeXt's crop_pct)
RECIPE_CLASSES = ("ViTImageProcessor", "DeiTImageProcessor", "BitImageProcessor", "BeitImageProcessor",
                  "ConvNextImageProcessor", "MobileNetV1ImageProcessor", "MobileNetV2ImageProcessor",
                  "CLIPImageProcessor", "SiglipImageProcessor", "Dinov2ImageProcessor")
#: keys of a processor config that do not change an ImageNet image's pixels
INERT = {"image_processor_type", "processor_class", "do_convert_rgb", "do_reduce_labels",
         "reduce_labels", "default_to_square", "input_data_format", "data_format", "device",
         "return_tensors", "disable_grouping", "_processor_class", "feature_extractor_type",
         "backend", "do_pad", "pad_size", "image_seq_length", "patch_size"}
GEOMETRY = {"do_resize", "size", "resample", "do_center_crop", "crop_size", "crop_pct",
            "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std"}


@functools.lru_cache(maxsize=1)
def catalog_data() -> dict:
    """The raw ``data/hf.json`` (entries, processor class defaults, declared pairs)."""
    res = resources.files(CATALOG[0]).joinpath(CATALOG[1])
    return json.loads(res.read_text(encoding="utf-8"))


def processor_settings(proc: dict) -> Tuple[str, dict]:
    """(processor class, its settings): the installed class's defaults (recorded by
    ``tools/gen_hf.py``) under the checkpoint's own values, as transformers merges them."""
    cls = str(proc.get("image_processor_type") or proc.get("feature_extractor_type") or "")
    for suffix in ("Fast", "Pil", "FeatureExtractor"):
        if cls.endswith(suffix):
            cls = cls[: -len(suffix)] + ("ImageProcessor" if suffix == "FeatureExtractor" else "")
    defaults = catalog_data().get("processors", {}).get(cls, {})
    return cls, {**defaults, **proc}


def _side(size: Any, what: str) -> Tuple[Optional[int], Optional[str]]:
    """(square side, None) or (shortest edge, "shortest") of a size dict; raises ValueError."""
    if isinstance(size, int):
        return size, None
    if not isinstance(size, dict):
        raise ValueError(f"{what} {size!r} is not a size")
    if set(size) == {"height", "width"}:
        if size["height"] != size["width"]:
            raise ValueError(f"{what} {size['height']}x{size['width']} is not square")
        return int(size["height"]), None
    if set(size) == {"shortest_edge"}:
        return int(size["shortest_edge"]), "shortest"
    raise ValueError(f"{what} {size!r} has keys a recipe does not state")


def _normalisation(s: dict) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    if not s.get("do_rescale", True) or abs(float(s.get("rescale_factor", 1 / 255)) - 1 / 255) > 1e-12:
        raise ValueError(f"rescale {s.get('do_rescale')} x{s.get('rescale_factor')} is not "
                         f"ToTensor's 1/255")
    if not s.get("do_normalize", True):
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    mean, std = s.get("image_mean"), s.get("image_std")
    if isinstance(mean, (int, float)):
        mean = [mean] * 3
    if isinstance(std, (int, float)):
        std = [std] * 3
    if not (isinstance(mean, (list, tuple)) and isinstance(std, (list, tuple)) and len(mean) == len(std) == 3):
        raise ValueError(f"image_mean {mean!r} / image_std {std!r} are not 3 values each")
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _geometry(cls: str, s: dict, interpolation: str) -> Tuple[Optional[int], int, str]:
    """(resize, crop, crop_mode) of a processor of :data:`RECIPE_CLASSES`."""
    if not s.get("do_resize", True):
        raise ValueError("do_resize is false (the image keeps its own size)")
    side, kind = _side(s.get("size"), "size")
    if cls == "ConvNextImageProcessor":  # shortest_edge < 384: resize side/crop_pct, crop; else warp
        if side >= 384:
            return None, side, "squash"
        return int(side / float(s.get("crop_pct") or 224 / 256)), side, "center"
    crop = None
    if s.get("do_center_crop"):
        crop, _ = _side(s.get("crop_size"), "crop_size")
    if kind == "shortest":
        if crop is None:
            raise ValueError("a shortest_edge resize without a centre crop keeps the aspect ratio")
        return side, crop, "center"
    if crop is None or crop == side:
        return None, side, "squash"
    return side, crop, "squash"


def recipe_of(proc: dict) -> Tuple[Optional[Recipe], str]:
    """(Recipe, how it was read) of a processor config, or (None, why no recipe states it)."""
    cls, s = processor_settings(proc)
    if cls not in RECIPE_CLASSES:
        return None, f"{cls or 'an unnamed processor'} has steps of its own (the processor is run)"
    odd = sorted(k for k, v in s.items() if k not in GEOMETRY | INERT and v not in (None, False))
    if odd:
        return None, f"{cls} settings {', '.join(odd)} are not recipe steps (the processor is run)"
    interpolation = RESAMPLE.get(s.get("resample", 2) if s.get("resample") is not None else 2)
    try:
        if interpolation is None:
            raise ValueError(f"resample {s.get('resample')} is not nearest/bilinear/bicubic/lanczos")
        mean, std = _normalisation(s)
        resize, crop, mode = _geometry(cls, s, interpolation)
    except ValueError as e:
        return None, f"{cls}: {e} (the processor is run)"
    return Recipe(resize=resize, crop=crop, squash=mode == "squash", interpolation=interpolation,
                  normalization="torch", mean=mean, std=std, crop_mode=mode), cls


def timm_recipe(config: dict) -> Tuple[Optional[Recipe], str]:
    """The recipe of a TimmWrapper checkpoint's ``pretrained_cfg`` (timm's eval transform with
    timm's defaults: crop_pct 0.875, bicubic, ImageNet mean/std)."""
    cfg = config.get("pretrained_cfg") or {}
    size = cfg.get("input_size") or [3, 224, 224]
    if size[1] != size[2]:
        return None, f"TimmWrapper input {size[1]}x{size[2]} is not square (the processor is run)"
    return from_crop_pct(int(size[1]), float(cfg.get("crop_pct") or 0.875),
                         cfg.get("crop_mode") or "center", cfg.get("interpolation") or "bicubic",
                         cfg.get("mean") or (0.485, 0.456, 0.406),
                         cfg.get("std") or (0.229, 0.224, 0.225)), "TimmWrapperImageProcessor"


def is_timm(config: dict) -> bool:
    """Whether a ``config.json`` is a timm checkpoint's (transformers loads it as TimmWrapper)."""
    return config.get("model_type") == "timm_wrapper" or (
        "model_type" not in config and "architecture" in config and "pretrained_cfg" in config)


def checkpoint_recipe(config: dict, proc: Optional[dict]) -> Tuple[Optional[Recipe], str]:
    """The recipe of a checkpoint from its ``config.json`` and processor config."""
    if is_timm(config):
        return timm_recipe(config)
    if proc is None:
        return None, f"no {PROCESSOR_CONFIG} (the processor is run)"
    return recipe_of(proc)
