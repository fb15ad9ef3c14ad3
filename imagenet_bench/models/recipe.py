"""Preprocessing recipes: how pixels reach a network (standard library only).

A :class:`Recipe` is decode -> resize -> crop -> normalise. Each registry
entry carries its own (:func:`from_entry`, read from the generated catalog);
the 2019 study's pipelines are :func:`legacy2019`; command-line overrides
(``--resize/--crop/--interpolation/--mean/--std``) are :func:`override`, and a
recipe that differs from the entry's is named in the model identity by
:func:`digest` (``+recipe-<sha8>``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Optional, Sequence, Tuple

#: ImageNet mean/std on [0, 1] pixels (torchvision's normalisation).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")


@dataclass(frozen=True)
class Recipe:
    """How pixels reach the network: decode -> resize -> crop -> normalise."""

    resize: Optional[int]  # shorter side resized to this many pixels; None = no aspect-preserving resize
    crop: int  # final square side in pixels (centre crop, or squash target when squash=True)
    squash: bool  # True: resize straight to crop x crop, ignoring aspect ratio, no crop
    interpolation: str  # "nearest" | "bilinear" | "bicubic" (PIL filters)
    normalization: str  # "torch" (mean/std on [0,1]) or a Keras preprocess_input module path
    mean: Tuple[float, float, float] = IMAGENET_MEAN  # per-channel mean on [0,1] (normalization="torch")
    std: Tuple[float, float, float] = IMAGENET_STD  # per-channel std on [0,1] (normalization="torch")
    antialias: bool = True  # resize with antialiasing (torchvision >= 0.17 default for PIL and tensors)

    def as_dict(self) -> dict:
        """Plain-dict form for cache provenance."""
        return {
            "resize": self.resize, "crop": self.crop, "squash": self.squash,
            "interpolation": self.interpolation, "normalization": self.normalization,
            "mean": list(self.mean), "std": list(self.std), "antialias": self.antialias,
        }


def digest(recipe: Recipe) -> str:
    """First 8 hex digits of the sha256 of the recipe's canonical JSON (``recipe-<sha8>``)."""
    text = json.dumps(recipe.as_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def from_entry(entry) -> Recipe:
    """The reference recipe of a catalog entry (its library's own preprocessing)."""
    if entry.framework == "keras":
        normalization = entry.preprocess_module or "keras.applications.imagenet_utils"
    else:
        normalization = "torch"
    squash = entry.crop_mode == "squash"
    mean = tuple(entry.mean) if entry.mean else IMAGENET_MEAN
    std = tuple(entry.std) if entry.std else IMAGENET_STD
    return Recipe(resize=None if squash else entry.resize, crop=int(entry.crop or entry.input_size),
                  squash=squash, interpolation=entry.interpolation or "bilinear",
                  normalization=normalization, mean=mean, std=std)


def legacy2019(framework: str, size: int, input_size: int, normalization: str) -> Recipe:
    """The 2019 study's pipeline.

    torch: ``Resize(size)`` + ``CenterCrop(input_size)``, bilinear (2019 torchvision default);
    keras: ``load_img(target_size=(size, size))``, a nearest-neighbour squash, no crop.
    """
    if framework == "torch":
        return Recipe(resize=size, crop=input_size, squash=False, interpolation="bilinear",
                      normalization=normalization)
    return Recipe(resize=None, crop=size, squash=True, interpolation="nearest",
                  normalization=normalization, antialias=False)


def _three(values: Sequence[float], option: str) -> Tuple[float, float, float]:
    v = [float(x) for x in values]
    if len(v) == 1:
        v = v * 3
    if len(v) != 3:
        raise ValueError(f"{option} takes 1 or 3 numbers, got {len(v)}")
    return tuple(v)


def override(recipe: Recipe, resize: Optional[int] = None, crop: Optional[int] = None,
             interpolation: Optional[str] = None, mean: Optional[Sequence[float]] = None,
             std: Optional[Sequence[float]] = None) -> Recipe:
    """``recipe`` with the given values replaced (None keeps the recipe's).

    ``--resize`` on a squash recipe turns it into resize + centre crop. Raises
    ValueError (naming the option) for a value that cannot be a recipe.
    """
    changes = {}
    if resize is not None:
        if resize < 1:
            raise ValueError(f"--resize {resize}: must be a positive number of pixels")
        changes.update(resize=int(resize), squash=False)
    if crop is not None:
        if crop < 1:
            raise ValueError(f"--crop {crop}: must be a positive number of pixels")
        changes["crop"] = int(crop)
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
        if std is not None:
            changes["std"] = _three(std, "--std")
            if min(changes["std"]) <= 0:
                raise ValueError(f"--std {','.join(str(v) for v in changes['std'])}: every value must "
                                 f"be above 0. Fix: give the per-channel standard deviations the "
                                 f"model was trained with")
    return replace(recipe, **changes)
