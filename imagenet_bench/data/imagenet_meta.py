"""ImageNet 2012 metadata shipped as package data (stdlib and numpy only).

The 1,000 wnids, the wnid of each of the 50,000 validation files and the
class names ship inside this package (``imagenet_bench/data/imagenet/``,
read with :mod:`importlib.resources`); their sources, the
``tensorflow-datasets`` and ``timm`` wheels (Apache-2.0), are named in that
folder's README.md. The ReaL labels are still read from timm's wheel, located
with :func:`package_file` (which finds a package's folder without importing
it: timm would import torch).
"""
from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import os
from typing import Dict, List

import numpy as np

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
    raise MetadataError(f"{package} is installed but has no {relpath}. "
                        f"Fix: reinstall it ({install_hint})")


#: package-data files (imagenet_bench/data/imagenet/), see README.md there
WNIDS_FILE = "wnids.txt"
VALIDATION_FILE = "validation_wnids.txt"
LEMMA_FILE = "synset_to_lemma.txt"
_REINSTALL = "reinstall imagenet_bench (pip install -e . in its checkout)"


def data_bytes(name: str) -> bytes:
    """Contents of the package-data file ``imagenet_bench/data/imagenet/<name>``."""
    res = importlib.resources.files("imagenet_bench.data").joinpath("imagenet").joinpath(name)
    try:
        return res.read_bytes()
    except OSError as e:
        raise MetadataError(f"package data imagenet_bench/data/imagenet/{name} cannot be read "
                            f"({e}). Fix: {_REINSTALL}") from None


def data_lines(name: str) -> List[str]:
    """Non-empty lines of the package-data file ``imagenet_bench/data/imagenet/<name>``."""
    return [line for line in data_bytes(name).decode("utf-8").splitlines() if line]


def _is_wnid(text: str) -> bool:
    return len(text) == 9 and text[0] == "n" and text[1:].isdigit()


@functools.lru_cache(maxsize=None)
def wnids() -> List[str]:
    """The 1,000 ImageNet-1k wnids in sorted order (class index = position)."""
    ids = data_lines(WNIDS_FILE)
    if len(ids) != NUM_CLASSES or ids != sorted(set(ids)) or not all(map(_is_wnid, ids)):
        raise MetadataError(f"package data {WNIDS_FILE}: expected {NUM_CLASSES} distinct sorted "
                            f"wnids, got {len(ids)} lines. Fix: {_REINSTALL}")
    return ids


@functools.lru_cache(maxsize=None)
def wnid_to_index() -> Dict[str, int]:
    """Map wnid -> class index 0-999."""
    return {w: i for i, w in enumerate(wnids())}


@functools.lru_cache(maxsize=None)
def validation_classes() -> np.ndarray:
    """Class index of each validation file, in file-number order (read-only int64 array).

    The one reader of ``validation_wnids.txt``: 50,000 lines of a 9-character
    wnid, parsed with numpy.
    """
    data = np.frombuffer(data_bytes(VALIDATION_FILE), dtype=np.uint8)
    ok = data.size == NUM_VAL_IMAGES * 10 and bool((data[9::10] == ord("\n")).all())
    if ok:  # each line "n01751748\n": look the 9 bytes up in the sorted wnids
        codes = data.reshape(-1, 10)[:, :9].copy().view("S9").ravel()
        table = np.array(wnids(), dtype="S9")
        classes = np.searchsorted(table, codes)
        ok = bool((table[np.minimum(classes, NUM_CLASSES - 1)] == codes).all())
    if not ok:
        raise MetadataError(f"package data {VALIDATION_FILE}: expected {NUM_VAL_IMAGES} lines, "
                            f"each one of the {NUM_CLASSES} wnids. Fix: {_REINSTALL}")
    classes.flags.writeable = False
    return classes


@functools.lru_cache(maxsize=None)
def full_val_classes() -> np.ndarray:
    """Class index of each row of :func:`full_val_image_ids` (ImageFolder order), read-only."""
    classes = np.sort(validation_classes(), kind="stable")
    classes.flags.writeable = False
    return classes


@functools.lru_cache(maxsize=None)
def validation_wnids() -> List[str]:
    """The wnid of each validation file, in file-number order (val_00000001 first)."""
    names = wnids()
    return [names[c] for c in validation_classes().tolist()]


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


#: one full-set image id: wnid, "/", the official file name with 8 digits ("#")
_ID_TEMPLATE = "n00000000/ILSVRC2012_val_########.JPEG"


@functools.lru_cache(maxsize=None)
def full_val_ids_blob() -> np.ndarray:
    """The image ids of :func:`full_val_image_ids` as one read-only UTF-8 blob, newline-joined.

    Built with numpy (every id has the same 38 characters), for the 2019
    reader, which needs the blob and its fingerprint but not the 50,000
    strings.
    """
    classes = validation_classes()
    # File numbers ascend, so a stable sort by class index gives (wnid, file name) order.
    order = np.argsort(classes, kind="stable")
    width = len(_ID_TEMPLATE) + 1
    rows = np.empty((NUM_VAL_IMAGES, width), dtype=np.uint8)
    rows[:, :-1] = np.frombuffer(_ID_TEMPLATE.encode("ascii"), dtype=np.uint8)
    rows[:, -1] = ord("\n")
    wnid_bytes = np.frombuffer("".join(wnids()).encode("ascii"), dtype=np.uint8)
    rows[:, :9] = wnid_bytes.reshape(NUM_CLASSES, 9)[classes[order]]
    number = order + 1
    first_digit = _ID_TEMPLATE.index("#")
    for d in range(8):
        rows[:, first_digit + d] = ord("0") + (number // 10 ** (7 - d)) % 10
    blob = rows.reshape(-1)[:-1].copy()
    blob.flags.writeable = False
    return blob


@functools.lru_cache(maxsize=None)
def full_val_image_ids() -> List[str]:
    """Image identities of the full validation set in ImageFolder order.

    Each identity is ``wnid/ILSVRC2012_val_XXXXXXXX.JPEG``; the order is
    sorted wnid, then sorted file name, as ``torchvision.datasets.ImageFolder``
    lists a ``valprep.sh`` tree. This is the row order of the 2019 outputs.
    """
    return full_val_ids_blob().tobytes().decode("ascii").split("\n")


@functools.lru_cache(maxsize=None)
def class_names() -> List[str]:
    """Human-readable class names (first lemma) in class-index order, from package data."""
    lemma = {}
    for line in data_lines(LEMMA_FILE):
        wnid, _, text = line.partition("\t")
        lemma[wnid] = text.split(",")[0].strip()
    names = [lemma.get(w, "") for w in wnids()]
    if not all(names):
        raise MetadataError(f"package data {LEMMA_FILE}: no class name for "
                            f"{wnids()[names.index('')]}. Fix: {_REINSTALL}")
    return names


#: package-data file (imagenet_bench/data/_info/) of CLIP's class names; "#" lines are its header
CLIP_NAMES_FILE = "clip_imagenet_classnames.txt"


@functools.lru_cache(maxsize=None)
def clip_class_names() -> List[str]:
    """CLIP's 1,000 ImageNet class names in class-index order (open_clip's
    ``IMAGENET_CLASSNAMES``, the list CLIP_benchmark writes as ``classnames.txt``; source and
    licence in the file's header)."""
    res = importlib.resources.files("imagenet_bench.data").joinpath("_info").joinpath(CLIP_NAMES_FILE)
    try:
        text = res.read_text(encoding="utf-8")
    except OSError as e:
        raise MetadataError(f"package data imagenet_bench/data/_info/{CLIP_NAMES_FILE} cannot be "
                            f"read ({e}). Fix: {_REINSTALL}") from None
    names = [line for line in text.splitlines() if line and not line.startswith("#")]
    if len(names) != NUM_CLASSES:
        raise MetadataError(f"package data {CLIP_NAMES_FILE}: expected {NUM_CLASSES} class names, "
                            f"got {len(names)}. Fix: {_REINSTALL}")
    return names
