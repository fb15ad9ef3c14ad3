"""ImageNet 2012 metadata read as package data, without importing frameworks.

Sources a real user has offline:

* the ``tensorflow-datasets`` wheel: ``datasets/imagenet2012/labels.txt``
  (the 1,000 wnids, sorted) and ``validation_labels.txt`` (the wnid of each
  of the 50,000 validation files, ``ILSVRC2012_val_00000001.JPEG`` first);
* the ``timm`` wheel: ``data/_info/imagenet_synset_to_lemma.txt`` (class
  names) and ``imagenet_real_labels.json`` (ReaL labels);

The files are located with :func:`importlib.util.find_spec`, which finds a
package's folder without executing its ``__init__`` (tensorflow_datasets
would otherwise import TensorFlow).
"""
from __future__ import annotations

import functools
import importlib.util
import os
from typing import Dict, List

from imagenet_bench.errors import BenchError

NUM_CLASSES = 1000
NUM_VAL_IMAGES = 50000
IMAGES_PER_CLASS = 50


class MetadataError(BenchError, RuntimeError):
    """A metadata file is missing or malformed; the message says how to fix it."""


def package_file(package: str, relpath: str, install_hint: str) -> str:
    """Path of ``relpath`` inside installed ``package``, located without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MetadataError(
            f"package {package!r} is not installed; it ships {relpath}. Fix: {install_hint}")
    for root in spec.submodule_search_locations:
        path = os.path.join(root, relpath)
        if os.path.isfile(path):
            return path
    raise MetadataError(f"{package} is installed but has no {relpath}; "
                        f"reinstall it ({install_hint})")


_TFDS_HINT = "pip install 'tensorflow-datasets>=4.9'"


def _read_lines(path: str) -> List[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


@functools.lru_cache(maxsize=None)
def wnids() -> List[str]:
    """The 1,000 ImageNet-1k wnids in sorted order (class index = position)."""
    path = package_file("tensorflow_datasets", "datasets/imagenet2012/labels.txt", _TFDS_HINT)
    ids = _read_lines(path)
    if len(ids) != NUM_CLASSES or ids != sorted(ids):
        raise MetadataError(f"{path}: expected {NUM_CLASSES} sorted wnids, got {len(ids)}")
    return ids


@functools.lru_cache(maxsize=None)
def wnid_to_index() -> Dict[str, int]:
    """Map wnid -> class index 0-999."""
    return {w: i for i, w in enumerate(wnids())}


@functools.lru_cache(maxsize=None)
def validation_wnids() -> List[str]:
    """The wnid of each validation file, in file-number order (val_00000001 first)."""
    path = package_file("tensorflow_datasets", "datasets/imagenet2012/validation_labels.txt",
                        _TFDS_HINT)
    ids = _read_lines(path)
    if len(ids) != NUM_VAL_IMAGES:
        raise MetadataError(f"{path}: expected {NUM_VAL_IMAGES} lines, got {len(ids)}")
    return ids


def val_filename(number: int) -> str:
    """Official file name of validation image ``number`` (1-based)."""
    return f"ILSVRC2012_val_{number:08d}.JPEG"


def val_number(filename: str) -> int:
    """1-based number of an official validation file name, or -1 if it is not one."""
    base = os.path.basename(filename)
    stem = base.split(".")[0]
    if stem.startswith("ILSVRC2012_val_") and stem[15:].isdigit():
        return int(stem[15:])
    return -1


@functools.lru_cache(maxsize=None)
def full_val_image_ids() -> List[str]:
    """Image identities of the full validation set in ImageFolder order.

    Each identity is ``wnid/ILSVRC2012_val_XXXXXXXX.JPEG``; the order is
    sorted wnid, then sorted file name, as ``torchvision.datasets.ImageFolder``
    lists a ``valprep.sh`` tree. This is the row order of the 2019 outputs.
    """
    per_file = validation_wnids()
    index = wnid_to_index()
    # File numbers ascend, so a stable sort by class index gives (wnid, file name) order.
    order = sorted(range(len(per_file)), key=lambda i: index[per_file[i]])
    return [f"{per_file[i]}/ILSVRC2012_val_{i + 1:08d}.JPEG" for i in order]


@functools.lru_cache(maxsize=None)
def class_names() -> List[str]:
    """Human-readable class names (first lemma) in class-index order.

    Read from timm's package data when timm is installed; otherwise the wnids.
    """
    try:
        path = package_file("timm", "data/_info/imagenet_synset_to_lemma.txt", "pip install timm")
    except MetadataError:
        return list(wnids())
    lemma = {}
    for line in _read_lines(path):
        wnid, _, text = line.partition("\t")
        lemma[wnid] = text.split(",")[0].strip()
    return [lemma.get(w, w) for w in wnids()]

