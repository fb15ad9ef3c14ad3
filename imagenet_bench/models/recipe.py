"""Preprocessing recipes: how pixels reach a network (standard library only).

A :class:`Recipe` is decode -> resize -> crop -> normalise, in the vocabulary
torchvision and timm use: image size (``crop``), ``crop_pct`` (``crop / resize``;
:func:`from_crop_pct` takes it as timm does), ``crop_mode`` (``center``:
aspect-preserving resize of the shorter side then centre crop; ``squash``: both
sides resized, aspect ignored, then centre crop; ``border``: the longer side
resized, aspect kept, then centre crop or pad with the mean colour),
interpolation, antialias, mean/std. Each registry
entry carries its own (:func:`from_entry`, read from the generated catalog);
the 2019 study's pipelines are :func:`legacy2019`; command-line overrides
(``--resize/--crop/--interpolation/--mean/--std``) are :func:`override`, and a
recipe that differs from the entry's is named in the model identity by
:func:`digest` (``+recipe-<sha8>``).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from typing import Optional, Sequence, Tuple

#: ImageNet mean/std on [0, 1] pixels (torchvision's normalisation).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")
CROP_MODES = ("center", "squash", "border")  # timm's ``crop_mode`` values


@dataclass(frozen=True)
class Recipe:
    """How pixels reach the network: decode -> resize -> crop -> normalise.

    ``crop_mode`` may be left out: ``squash`` says it (the constructor keeps
    the two in step, so ``Recipe(..., squash=True)`` and
    ``Recipe(..., crop_mode="squash")`` are the same recipe).
    """

    resize: Optional[int]  # scale side in pixels (shorter side: center; both: squash; longer: border); None = crop
    crop: int  # image size (timm's img_size, torchvision's crop_size): final square side in pixels
    squash: bool  # crop_mode == "squash": resize both sides to `resize` (None: to `crop`), then centre crop
    interpolation: str  # "nearest" | "bilinear" | "bicubic" | "lanczos" (PIL filters)
    normalization: str  # "torch" (mean/std on [0,1]) or a Keras preprocess_input module path
    mean: Tuple[float, float, float] = IMAGENET_MEAN  # per-channel mean on [0,1] (normalization="torch")
    std: Tuple[float, float, float] = IMAGENET_STD  # per-channel std on [0,1] (normalization="torch")
    antialias: bool = True  # resize with antialiasing (torchvision >= 0.17 default for PIL and tensors)
    crop_mode: Optional[str] = None  # "center" | "squash" | "border"; None: from `squash`

    def __post_init__(self):
        mode = self.crop_mode or ("squash" if self.squash else "center")
        if mode not in CROP_MODES:
            raise ValueError(f"crop_mode {mode!r}: choose one of {', '.join(CROP_MODES)}")
        if self.crop_mode is not None and self.squash and mode != "squash":
            raise ValueError(f"squash=True contradicts crop_mode={mode!r}")
        object.__setattr__(self, "crop_mode", mode)
        object.__setattr__(self, "squash", mode == "squash")

    @property
    def scale(self) -> int:
        """The side the resize targets (timm's ``scale_size``): ``resize``, or ``crop`` without one."""
        return self.crop if self.resize is None else self.resize

    @property
    def crop_pct(self) -> float:
        """Fraction of the resized image kept by the crop (timm's ``crop_pct``): ``crop / scale``.

        timm floors ``img_size / crop_pct`` to get the resize, so this is the
        value of the pixels, within ``1 / scale`` of the ``crop_pct`` given."""
        return self.crop / self.scale

    def as_dict(self) -> dict:
        """Plain-dict form for cache provenance (and :func:`digest`).

        ``crop_mode`` appears only for ``border`` (``squash`` says center or
        squash), so the dict -- and the ``+recipe-<sha8>`` -- of every recipe
        that existed before crop modes did is unchanged."""
        out = {
            "resize": self.resize, "crop": self.crop, "squash": self.squash,
            "interpolation": self.interpolation, "normalization": self.normalization,
            "mean": list(self.mean), "std": list(self.std), "antialias": self.antialias,
        }
        if self.crop_mode == "border":
            out["crop_mode"] = "border"
        return out


def digest(recipe: Recipe) -> str:
    """First 8 hex digits of the sha256 of the recipe's canonical JSON (``recipe-<sha8>``)."""
    text = json.dumps(recipe.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def from_entry(entry) -> Recipe:
    """The reference recipe of a catalog entry (its library's own preprocessing).

    A ``squash`` or ``border`` entry whose resize equals its crop (timm's
    ``crop_pct`` 1.0) gets ``resize=None``: the same pixels, and the dict the
    recipe had before crop modes were spelled out."""
    # a library with its own preprocess_input (Keras) names its module; the rest normalise
    # [0, 1] pixels with mean/std ("torch")
    normalization = entry.preprocess_module or "torch"
    mode = entry.crop_mode or "center"
    crop = int(entry.crop or entry.input_size)
    resize = entry.resize
    if mode != "center" and resize in (None, crop):
        resize = None
    mean = tuple(entry.mean) if entry.mean else IMAGENET_MEAN
    std = tuple(entry.std) if entry.std else IMAGENET_STD
    return Recipe(resize=resize, crop=crop, squash=mode == "squash",
                  interpolation=entry.interpolation or "bilinear",
                  normalization=normalization, mean=mean, std=std, crop_mode=mode)


#: the run setting of a tag at its test-time recipe (``+test-size``: timm's ``use_test_size=True``)
TEST_SIZE = "test-size"


def test_size(entry) -> Optional[Recipe]:
    """The test-time recipe of a catalog entry that has one (timm's ``test_input_size`` and
    ``test_crop_pct``, the rest as :func:`from_entry`); None when it has none."""
    if entry.test_input_size is None:
        return None
    ref = from_entry(entry)
    return from_crop_pct(entry.test_input_size, entry.test_crop_pct, ref.crop_mode,
                         ref.interpolation, ref.mean, ref.std)


def scale_of(img_size: int, crop_pct: float) -> int:
    """timm's resize side for ``img_size`` at ``crop_pct``: ``floor(img_size / crop_pct)``."""
    if not (crop_pct > 0 and math.isfinite(crop_pct)):
        raise ValueError(f"crop_pct {crop_pct}: must be a finite number above 0 (timm's pretrained configs use "
                         f"0.8 to 1.15)")
    return math.floor(img_size / crop_pct)


def from_crop_pct(img_size: int, crop_pct: float, crop_mode: str = "center",
                  interpolation: str = "bilinear", mean: Sequence[float] = IMAGENET_MEAN,
                  std: Sequence[float] = IMAGENET_STD) -> Recipe:
    """The recipe timm's ``transforms_imagenet_eval`` applies (``normalization="torch"``).

    ``img_size`` is the square input side, ``crop_pct`` the centre fraction
    kept, ``crop_mode`` one of :data:`CROP_MODES` -- the values of a resolved
    timm data config (``input_size``, ``crop_pct``, ``crop_mode``, ...)."""
    if crop_mode not in CROP_MODES:
        raise ValueError(f"crop_mode {crop_mode!r}: choose one of {', '.join(CROP_MODES)}")
    scale = scale_of(int(img_size), float(crop_pct))
    resize = None if crop_mode != "center" and scale == img_size else scale
    return Recipe(resize=resize, crop=int(img_size), squash=crop_mode == "squash",
                  interpolation=interpolation, normalization="torch",
                  mean=tuple(float(v) for v in mean), std=tuple(float(v) for v in std),
                  crop_mode=crop_mode)


def from_timm_config(config: dict) -> Recipe:
    """:func:`from_crop_pct` of a resolved timm data config (``timm.data.resolve_data_config``)."""
    _, height, width = config["input_size"]
    if height != width:
        raise ValueError(f"non-square input {height}x{width}: recipes are square")
    return from_crop_pct(int(height), config["crop_pct"], config.get("crop_mode") or "center",
                         config["interpolation"], config["mean"], config["std"])


def geometry(recipe: dict) -> Tuple:
    """``(crop_mode, scale, crop, interpolation)`` of a recipe dict -- :meth:`Recipe.as_dict`, or the
    ``preprocessing`` a timm cache records (``crop_mode`` and ``resize``, no ``squash``) -- so
    two spellings of the same pixels compare equal."""
    mode = recipe.get("crop_mode") or ("squash" if recipe.get("squash") else "center")
    crop = recipe.get("crop")
    scale = recipe.get("resize")
    if scale is None and mode != "center":
        scale = crop
    return mode, scale, crop, recipe.get("interpolation")


def describe(recipe: dict) -> str:
    """A recipe dict in words: ``resize 256, centre crop 224, bilinear``."""
    mode, scale, crop, interpolation = geometry(recipe)
    if mode == "squash":
        how = (f"squash to {crop}x{crop}, no crop" if scale == crop else
               f"squash to {scale}x{scale}, centre crop {crop}")
    elif mode == "border":
        how = f"resize the longer side to {scale}, centre crop or pad to {crop}"
    else:
        how = f"resize {scale}, centre crop {crop}"
    return f"{how}, {interpolation}"


@dataclass(frozen=True)
class Legacy2019:
    """How a library's models were preprocessed in the 2019 study, declared by the library
    (``Capabilities.legacy2019``): torchvision's ``Resize(side)`` + ``CenterCrop``, bilinear;
    Keras' ``load_img(target_size=(side, side))``, a nearest-neighbour squash, no crop."""

    squash: bool  # True: resize straight to side x side, no crop; False: shorter side, centre crop
    interpolation: str  # the resize filter the study's code used
    antialias: bool = True  # False for Keras' load_img (PIL resize of the whole image, no antialias)


def legacy2019(pipeline: Legacy2019, size: int, input_size: int, normalization: str) -> Recipe:
    """The 2019 study's recipe of one model: ``pipeline`` (its library's) at the study's
    ``size`` (the resize side; the squash side) and the model's ``input_size`` (the crop)."""
    if pipeline.squash:
        return Recipe(resize=None, crop=size, squash=True, interpolation=pipeline.interpolation,
                      normalization=normalization, antialias=pipeline.antialias)
    return Recipe(resize=size, crop=input_size, squash=False, interpolation=pipeline.interpolation,
                  normalization=normalization, antialias=pipeline.antialias)


#: largest resize / crop / image side a recipe option may ask for (the largest timm model takes
#: 800; a 4096 shorter side already makes a 4:3 photo 22 million pixels)
MAX_SIDE = 4096


def _three(values: Sequence[float], option: str) -> Tuple[float, float, float]:
    v = [float(x) for x in values]
    if len(v) == 1:
        v = v * 3
    if len(v) != 3:
        raise ValueError(f"{option} takes 1 or 3 numbers, got {len(v)}. Fix: one value for "
                         f"every channel, or three comma-separated (R,G,B) on the 0-1 scale")
    if not all(math.isfinite(x) for x in v):
        raise ValueError(f"{option} {','.join(str(x) for x in v)}: every value must be a finite "
                         f"number (nan and inf make every output non-finite). Fix: give the "
                         f"per-channel values the model was trained with, or leave {option} out")
    return tuple(v)


#: the range of a per-channel value on [0, 1] pixels (the scale ``mean``/``std`` apply at)
PLAUSIBLE = {"--mean": (0.0, 1.0), "--std": (0.0, 1.0)}


def _on_pixel_scale(values: Tuple[float, float, float], option: str) -> None:
    """Refuse ``--mean``/``--std`` values outside [0, 1] (Caffe's 0-255 figures: every output
    would be garbage), naming the option, the scale and the values divided by 255."""
    low, high = PLAUSIBLE[option]
    if all(low <= v <= high for v in values):
        return
    shown = ",".join(f"{v:g}" for v in values)
    scaled = ",".join(f"{v / 255:.4g}" for v in values)
    hint = (f" (read as 0-255 values they are {option} {scaled} on 0-1)"
            if all(low <= v / 255 <= high for v in values) else "")
    raise ValueError(f"{option} {shown}: values are applied to pixels on the 0-1 scale, so each "
                     f"must lie in {low:g}-{high:g}{hint}. Fix: give the per-channel values on "
                     f"the 0-1 scale{hint and ' (divided by 255)'}, or leave {option} out")


def _check_geometry(out: Recipe, given: Sequence[str]) -> Recipe:
    """Refuse a centre crop larger than the resized shorter side it is cut from."""
    if given and out.crop_mode == "center" and out.resize is not None and out.crop > out.resize:
        raise ValueError(f"{' and '.join(given)}: the crop ({out.crop} px) is larger than the "
                         f"resized shorter side ({out.resize} px) it is cut from in centre mode. "
                         f"Fix: a resize of at least the crop (e.g. --resize "
                         f"{scale_of(out.crop, 0.875)} --crop {out.crop}), or a smaller crop")
    return out


def _side(value: int, option: str) -> int:
    """``value`` as a pixel side, refused (naming ``option``) below 1 or above :data:`MAX_SIDE`."""
    if value < 1 or value > MAX_SIDE:
        raise ValueError(f"{option} {value}: must be a number of pixels from 1 to {MAX_SIDE} "
                         f"(image-independent: every image would fail). Fix: pass a side the "
                         f"model was trained near (224-800), or leave {option} out")
    return int(value)


def override(recipe: Recipe, resize: Optional[int] = None, crop: Optional[int] = None,
             interpolation: Optional[str] = None, mean: Optional[Sequence[float]] = None,
             std: Optional[Sequence[float]] = None, *, crop_pct: Optional[float] = None) -> Recipe:
    """``recipe`` with the given values replaced (None keeps the recipe's).

    ``--resize`` (the shorter side) turns any recipe into resize + centre crop.
    ``crop_pct`` (timm's) sets the resize to ``floor(crop / crop_pct)`` and
    keeps the crop mode. Raises ValueError (naming the option) for a value
    that cannot be a recipe.
    """
    changes = {}
    if resize is not None and crop_pct is not None:
        raise ValueError(f"--resize {resize} and crop_pct {crop_pct} both set the resize; give one")
    if resize is not None:
        changes.update(resize=_side(resize, "--resize"), squash=False, crop_mode="center")
    if crop is not None:
        changes["crop"] = _side(crop, "--crop")
    if crop_pct is not None:
        if not (math.isfinite(crop_pct) and crop_pct > 0):
            raise ValueError(f"--crop-pct {crop_pct}: must be a finite fraction above 0 (timm's "
                             f"are 0.875-1.0). Fix: pass e.g. --crop-pct 0.875, or leave it out")
        size = changes.get("crop", recipe.crop)
        scale = scale_of(size, float(crop_pct))
        changes["resize"] = None if recipe.crop_mode != "center" and scale == size else scale
    if interpolation is not None:
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"--interpolation {interpolation!r}: choose one of "
                             f"{', '.join(INTERPOLATIONS)}")
        changes["interpolation"] = interpolation
        if interpolation != "nearest":
            changes["antialias"] = True
    if mean is not None or std is not None:
        if recipe.normalization != "torch":
            raise ValueError(f"--mean/--std: this model normalises with {recipe.normalization}"
                             f".preprocess_input, not mean/std; leave them out")
        if mean is not None:
            changes["mean"] = _three(mean, "--mean")
            _on_pixel_scale(changes["mean"], "--mean")
        if std is not None:
            changes["std"] = _three(std, "--std")
            if min(changes["std"]) > 0:
                _on_pixel_scale(changes["std"], "--std")
            if min(changes["std"]) <= 0:
                raise ValueError(f"--std {','.join(str(v) for v in changes['std'])}: every value must "
                                 f"be above 0. Fix: give the per-channel standard deviations the "
                                 f"model was trained with")
    return replace(recipe, **changes)


def from_options(recipe: Recipe, *, resize: Optional[int] = None, crop: Optional[int] = None,
                 img_size: Optional[int] = None, crop_pct: Optional[float] = None,
                 interpolation: Optional[str] = None, mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None) -> Recipe:
    """``recipe`` with ``predict``'s recipe options: :func:`override`'s, plus timm's spellings.

    ``img_size`` (timm ``validate.py``'s ``--img-size``) is the image size with
    the recipe's ``crop_pct`` kept (the resize side scales with it, floored as
    timm floors it) unless ``crop_pct`` or ``resize`` is given too; ``--crop``
    changes the crop only. Raises ValueError naming the option, also for values implausible
    together (a centre crop larger than its resize)."""
    given = [f"{o} {v}" for o, v in (("--resize", resize), ("--crop", crop), ("--img-size", img_size),
                                     ("--crop-pct", crop_pct)) if v is not None]
    if img_size is not None:
        _side(img_size, "--img-size")
        if crop is not None and crop != img_size:
            raise ValueError(f"--img-size {img_size} and --crop {crop} both set the image size; "
                             f"give one")
        if crop_pct is None and resize is None and img_size != recipe.crop:
            out = override(recipe, None, img_size, interpolation, mean, std)
            scale = img_size * recipe.scale // recipe.crop  # floor(img_size / crop_pct), exactly
            keep = out.crop_mode != "center" and scale == img_size
            return _check_geometry(replace(out, resize=None if keep else scale), given)
        crop = img_size
    if crop_pct is not None and resize is not None:
        raise ValueError(f"--resize {resize} and --crop-pct {crop_pct} both set the resize; give one")
    return _check_geometry(override(recipe, resize, crop, interpolation, mean, std,
                                    crop_pct=crop_pct), given)
