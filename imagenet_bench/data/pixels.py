"""Decode -> RGB -> resize -> crop, per a :class:`models.recipe.Recipe` (PIL and numpy only).

This is the framework-independent first stage of preprocessing, shared by the
torch and Keras backends; it returns ``uint8`` arrays of shape (H, W, 3). The
framework-specific last step (scaling to [0, 1] and mean/std, or Keras'
``preprocess_input``) belongs to each backend.

It reproduces torchvision's PIL path exactly (``tests/test_pixels.py`` checks
it against ``weights.transforms()`` on real photos):

* mode conversion is ``PIL.Image.convert("RGB")`` for every mode (L, CMYK, P,
  RGBA ...), as torchvision's and Keras' image loaders do;
* the aspect-preserving resize takes the shorter side to ``recipe.resize`` and
  the longer to ``int(resize * long / short)`` (torchvision's rounding down);
* the centre crop starts at ``int(round((side - crop) / 2))``; a crop larger
  than the image is filled with black (PIL ``crop`` semantics, which is what
  the 2019 study's ``Resize(256)`` + ``CenterCrop(299)`` did for inception_v3);
* ``squash`` resizes straight to ``crop`` x ``crop`` (Keras ``load_img(target_size=...)``).

PIL filters antialias when shrinking (as torchvision's ``antialias=True``);
``nearest`` never does, which is what Keras' ``load_img`` uses.
"""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from imagenet_bench.errors import BenchError
from imagenet_bench.models.recipe import Recipe

INTERPOLATIONS = {
    "nearest": Image.NEAREST,
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}


class BadImageError(BenchError, OSError):
    """An image file cannot be decoded (truncated, empty, not an image)."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: cannot read image ({reason}). Fix: replace the file with the "
                         f"original, or pass --skip-bad-images to record it as missing (counted wrong)")
        self.path = path
        self.reason = reason


def load_rgb(path: str) -> Image.Image:
    """Decode the whole file and return an RGB PIL image; raise :class:`BadImageError`.

    Truncated files are errors even if another library has set
    ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``.
    """
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            img.load()
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        if isinstance(e, FileNotFoundError):
            reason = "file not found"
        raise BadImageError(path, reason) from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved


def resized_size(width: int, height: int, shorter: int) -> Tuple[int, int]:
    """(width, height) after resizing the shorter side to ``shorter`` (torchvision's rounding)."""
    if width <= height:
        return shorter, int(shorter * height / width)
    return int(shorter * width / height), shorter


def _filter(recipe: Recipe) -> int:
    try:
        resample = INTERPOLATIONS[recipe.interpolation]
    except KeyError:
        raise BenchError(f"unknown interpolation {recipe.interpolation!r}; "
                         f"choose one of {', '.join(INTERPOLATIONS)}") from None
    if not recipe.antialias and recipe.interpolation != "nearest":
        raise BenchError(f"interpolation {recipe.interpolation!r} without antialiasing is not "
                         f"available with PIL; use antialias=True or 'nearest'")
    return resample


def resize_shorter(img: Image.Image, shorter: int, interpolation: str = "bilinear") -> Image.Image:
    """Resize so the shorter side is ``shorter`` pixels, keeping the aspect ratio."""
    size = resized_size(img.width, img.height, shorter)
    if size == img.size:
        return img
    return img.resize(size, INTERPOLATIONS[interpolation])


def center_crop(img: Image.Image, size: int) -> Image.Image:
    """Central ``size`` x ``size`` crop; areas outside the image are black."""
    left = int(round((img.width - size) / 2.0))
    top = int(round((img.height - size) / 2.0))
    if (left, top) == (0, 0) and img.size == (size, size):
        return img
    return img.crop((left, top, left + size, top + size))


def apply_recipe(img: Image.Image, recipe: Recipe) -> Image.Image:
    """Resize and crop an RGB image as ``recipe`` says (no normalisation)."""
    resample = _filter(recipe)
    if recipe.squash:
        if img.size != (recipe.crop, recipe.crop):
            img = img.resize((recipe.crop, recipe.crop), resample)
        return img
    if recipe.resize is not None:
        img = resize_shorter(img, recipe.resize, recipe.interpolation)
    return center_crop(img, recipe.crop)


def load(path: str, recipe: Recipe) -> np.ndarray:
    """Decode ``path`` and apply ``recipe``: uint8 array (crop, crop, 3)."""
    return np.array(apply_recipe(load_rgb(path), recipe), dtype=np.uint8)  # a writable copy


def normalize(pixels: np.ndarray, mean: Optional[Tuple[float, ...]] = None,
              std: Optional[Tuple[float, ...]] = None) -> np.ndarray:
    """Scale uint8 (..., 3) pixels to [0, 1], then ``(x - mean) / std``: float32 (numpy).

    The same arithmetic as torchvision's ``ToTensor`` + ``Normalize`` in float32.
    """
    x = pixels.astype(np.float32) / np.float32(255)
    if mean is not None:
        x = x - np.asarray(mean, np.float32)
    if std is not None:
        x = x / np.asarray(std, np.float32)
    return x
