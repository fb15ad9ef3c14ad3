"""Decode -> RGB -> resize -> crop, per a :class:`models.recipe.Recipe` (PIL and numpy only).

This is the framework-independent first stage of preprocessing, shared by the
torch and Keras backends; it returns ``uint8`` arrays of shape (H, W, 3). The
framework-specific last step (scaling to [0, 1] and mean/std, or Keras'
``preprocess_input``) belongs to each backend.

It reproduces torchvision's PIL path exactly (``tests/test_pixels.py`` checks
it against ``weights.transforms()`` on real photos):

* mode conversion is ``PIL.Image.convert("RGB")`` for every mode (L, CMYK, P,
  RGBA ...), as torchvision's and Keras' image loaders do -- except 16-bit
  greyscale (``I;16``, and ``I`` holding values above 255), which PIL would
  clip to white: it is scaled to 8 bits (``round(v / 257)``) first;
* sizes are bounded before decoding: more than :data:`MAX_PIXELS` pixels
  (PIL's decompression-bomb limit) or a recipe resize that would exceed it
  (a 20000x1 strip resized to a 256-pixel shorter side) is a bad image;
* the aspect-preserving resize takes the shorter side to ``recipe.resize`` and
  the longer to ``int(resize * long / short)`` (torchvision's rounding down);
* the centre crop starts at ``int(round((side - crop) / 2))``; a crop larger
  than the image is filled with black (PIL ``crop`` semantics, which is what
  the 2019 study's ``Resize(256)`` + ``CenterCrop(299)`` did for inception_v3);
* crop mode ``squash`` resizes both sides to ``resize`` (None: straight to
  ``crop`` x ``crop``, Keras ``load_img(target_size=...)``), then centre-crops,
  as timm's ``Resize((s, s))`` + ``CenterCrop``;
* crop mode ``border`` resizes the longer side to ``resize`` keeping the
  aspect (each side ``round(side / ratio)``), then centre-crops or pads with
  the mean colour ``round(255 * mean)``, as timm's ``ResizeKeepRatio(longest=1)``
  + ``CenterCropOrPad`` (``tests/test_recipe_timm.py`` checks all three modes
  against timm's ``create_transform`` on real photos).

PIL filters antialias when shrinking (as torchvision's ``antialias=True``);
``nearest`` never does, which is what Keras' ``load_img`` uses.
"""
from __future__ import annotations

from typing import Optional, Tuple

import os
import warnings

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from imagenet_bench.errors import BadImageError, BenchError
from imagenet_bench.models.recipe import Recipe

INTERPOLATIONS = {
    "nearest": Image.NEAREST,
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}


#: most pixels an image may have, before or after the recipe's resize (PIL's bomb limit)
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


def check_size(width: int, height: int, recipe: Optional[Recipe] = None) -> Optional[str]:
    """Why an image of ``width`` x ``height`` is refused before decoding (None: it is not).

    Over :data:`MAX_PIXELS` pixels, or a ``recipe`` resize that would make it so.
    """
    if width < 1 or height < 1:
        return f"{width}x{height} pixels: empty image"
    if width * height > MAX_PIXELS:
        return (f"decompression bomb: {width}x{height} = {width * height:,} pixels, more than "
                f"the {MAX_PIXELS:,} allowed")
    if recipe is not None and recipe.crop_mode == "center" and recipe.resize is not None:
        w, h = resized_size(width, height, recipe.resize)
        if w * h > MAX_PIXELS:
            return (f"{width}x{height} pixels would become {w}x{h} after resizing the shorter side "
                    f"to {recipe.resize}, more than the {MAX_PIXELS:,} pixels allowed")
    return None


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit greyscale (I;16*, or I with values above 255) scaled to 8-bit L; else unchanged."""
    if img.mode.startswith("I;16") or (img.mode == "I" and (img.getextrema() or (0, 0))[1] > 255):
        a = np.asarray(img, dtype=np.float64) if img.mode == "I" else np.asarray(img).astype(np.float64)
        return Image.fromarray(np.clip(np.round(a / 257.0), 0, 255).astype(np.uint8), "L")
    return img


def _without_border(img: Image.Image, border: int, path) -> Image.Image:
    """``img`` less ``border`` pixels on each side (unchanged when ``border`` is 0)."""
    if not border:
        return img
    if img.width <= 2 * border or img.height <= 2 * border:
        raise BadImageError(path, f"{img.width}x{img.height} pixels: nothing is left once the "
                                  f"{border}-pixel border is removed")
    return img.crop((border, border, img.width - border, img.height - border))


def _open(path):
    """A binary file of the image: a file path is opened; an image that is not a file (a shard
    member, a table row: :mod:`imagenet_bench.data.sources.refs`) opens itself."""
    return open(path, "rb") if isinstance(path, (str, os.PathLike)) else path.open()


def load_rgb(path, recipe: Optional[Recipe] = None) -> Image.Image:
    """Decode the whole image and return an RGB PIL image; raise :class:`BadImageError`.

    ``path``: a file path, or an image reference of a source (anything with ``open()``);
    a reference with a ``border`` (ObjectNet's frame, :class:`~imagenet_bench.data.objectnet.Bordered`)
    has that many pixels removed from each side here, before any recipe, so every backend
    sees the same pixels.

    Truncated files are errors even if another library has set
    ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES``. The size is checked
    (:func:`check_size`, with ``recipe`` when given) from the header, before
    the pixels are decoded; a broken symbolic link is named as such.
    """
    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with _open(path) as f, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # check_size decides
            img = Image.open(f)
            too_big = check_size(img.width, img.height, recipe)
            if too_big:
                raise BadImageError(path, too_big)
            img.load()
            return _without_border(_to_8bit(img).convert("RGB"), getattr(path, "border", 0), path)
    except BadImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            MemoryError) as e:
        reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        if isinstance(e, Image.DecompressionBombError):
            reason = f"decompression bomb: {e}"
        elif isinstance(e, FileNotFoundError):
            reason = "file not found"
            if isinstance(path, str) and os.path.islink(path):
                reason = f"broken symbolic link to {os.readlink(path)}"
        elif isinstance(e, PermissionError):
            reason = "permission denied (check the file's owner and mode)"
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
        raise BenchError(f"unknown interpolation {recipe.interpolation!r}. "
                         f"Fix: --interpolation {' or '.join(INTERPOLATIONS)}") from None
    if not recipe.antialias and recipe.interpolation != "nearest":
        raise BenchError(f"interpolation {recipe.interpolation!r} without antialiasing is not "
                         f"available with PIL. Fix: set antialias true in the recipe, or use "
                         f"--interpolation nearest")
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


def resize_longer(img: Image.Image, longer: int, resample: int) -> Image.Image:
    """Resize so the longer side is ``longer`` pixels, keeping the aspect (timm's rounding)."""
    ratio = max(img.width / longer, img.height / longer)
    size = (round(img.width / ratio), round(img.height / ratio))
    return img if size == img.size else img.resize(size, resample)


def center_crop_or_pad(img: Image.Image, size: int, fill: Tuple[int, int, int]) -> Image.Image:
    """Pad to at least ``size`` x ``size`` with ``fill`` (left/top get the smaller half), then
    centre-crop: timm's ``CenterCropOrPad``."""
    if img.width < size or img.height < size:
        w, h = max(img.width, size), max(img.height, size)
        canvas = Image.new("RGB", (w, h), fill)
        canvas.paste(img, ((w - img.width) // 2, (h - img.height) // 2))
        img = canvas
    return center_crop(img, size)


def apply_recipe(img: Image.Image, recipe: Recipe) -> Image.Image:
    """Resize and crop an RGB image as ``recipe`` says (no normalisation)."""
    resample = _filter(recipe)
    if recipe.crop_mode == "squash":
        side = recipe.scale
        if img.size != (side, side):
            img = img.resize((side, side), resample)
        return center_crop(img, recipe.crop)
    if recipe.crop_mode == "border":
        fill = tuple(int(round(255 * v)) for v in recipe.mean)
        return center_crop_or_pad(resize_longer(img, recipe.scale, resample), recipe.crop, fill)
    if recipe.resize is not None:
        img = resize_shorter(img, recipe.resize, recipe.interpolation)
    return center_crop(img, recipe.crop)


def load(path, recipe: Recipe) -> np.ndarray:
    """Decode ``path`` and apply ``recipe``: uint8 array (crop, crop, 3)."""
    return np.array(apply_recipe(load_rgb(path, recipe), recipe), dtype=np.uint8)  # a writable copy
