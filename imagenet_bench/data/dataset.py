"""Validation-set discovery: an ImageFolder tree or the flat official layout.

Two layouts are recognised:

* **ImageFolder**: one folder per wnid (``n01440764/ILSVRC2012_val_00000293.JPEG``),
  as ``valprep.sh`` makes it. The label is the folder's wnid.
* **flat**: the files of the official validation tarball side by side
  (``ILSVRC2012_val_00000001.JPEG`` ...). The label of each file comes from a
  source a real user has offline: the per-file wnids shipped with this package
  (copied from the ``tensorflow-datasets`` wheel, :func:`imagenet_meta.validation_wnids`), or
  the official devkit (``--devkit``).

Either way every image gets the identity ``wnid/filename`` and the rows are in
ImageFolder order (sorted by wnid, then by file name), so a flat and a
class-folder copy of the same images give the same fingerprint, and the full
set gives the row order of the 2019 outputs. A set that is not exactly the
50,000 official images is a *subset* and says so.

Only the standard library and numpy are imported here (the Keras backend
reuses this module).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from imagenet_bench.data import imagenet_meta
from imagenet_bench.cache.store import fingerprint as _fingerprint
from imagenet_bench.errors import InputError

#: file extensions read as images (case-insensitive), as torchvision's ImageFolder
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class ValSet:
    """An ordered list of validation images with their ground truth."""

    root: str  # directory the images were found in
    layout: str  # "imagefolder" or "flat"
    image_ids: List[str]  # "wnid/filename", ImageFolder order
    paths: List[str]  # absolute path of each image, same order
    labels: np.ndarray  # int16 class index 0-999 (position of the wnid in sorted order)
    label_source: str  # where the labels came from (folder names, tfds package, devkit)
    dataset: str = "imagenet-val"  # the test set (data.datasets.DatasetSpec name)

    @property
    def num_images(self) -> int:
        """Number of images (rows)."""
        return len(self.image_ids)

    @property
    def fingerprint(self) -> str:
        """sha256 of the ordered image identities (as stored in caches)."""
        return _fingerprint(self.image_ids)

    @property
    def num_classes(self) -> int:
        """Number of distinct classes present."""
        return int(np.unique(self.labels).size)

    @property
    def class_subset(self):
        """Class indices of the test set's fixed class subset (ImageNet-A/R), or None."""
        if self.dataset == "imagenet-val":
            return None
        from imagenet_bench.data import datasets
        return datasets.get(self.dataset).classes

    @property
    def is_full(self) -> bool:
        """True when the set is exactly the 50,000 official validation images (or the complete
        other test set, see :func:`datasets.is_full`)."""
        if self.dataset != "imagenet-val":
            from imagenet_bench.data import datasets
            return datasets.is_full(self)
        return (self.num_images == imagenet_meta.NUM_VAL_IMAGES
                and self.image_ids == imagenet_meta.full_val_image_ids())

    def describe(self) -> str:
        """One line for the user: size, layout, label source, and whether it is a subset."""
        if self.dataset != "imagenet-val":
            from imagenet_bench.data import datasets
            return datasets.describe(self)
        what = (f"{self.num_images:,} images, {self.num_classes} classes, {self.layout} layout "
                f"at {self.root}, labels from {self.label_source}")
        if self.is_full:
            return f"full ImageNet 2012 validation set: {what}"
        return (f"SUBSET of the ImageNet 2012 validation set: {what} "
                f"({self.num_images:,} of {imagenet_meta.NUM_VAL_IMAGES:,} images; accuracies are "
                f"not comparable to full-set figures)")

    def select(self, rows: Sequence[int]) -> "ValSet":
        """A new ValSet with only ``rows`` (kept in ImageFolder order)."""
        rows = sorted(set(int(r) for r in rows))
        return ValSet(self.root, self.layout, [self.image_ids[r] for r in rows],
                      [self.paths[r] for r in rows], self.labels[rows], self.label_source,
                      self.dataset)


def is_image_file(name: str) -> bool:
    """True for a non-hidden file name with an image extension."""
    return not name.startswith(".") and name.lower().endswith(IMG_EXTENSIONS)


def _listed(path: str) -> bool:
    """A file to list as an image: a regular file, or a broken link (reported when read, not dropped)."""
    return os.path.isfile(path) or (os.path.islink(path) and not os.path.exists(path))


def list_images(folder: str) -> List[str]:
    """Sorted names of the image files directly inside ``folder`` (broken links included:
    they are reported when read, not dropped)."""
    return [n for n in sorted(os.listdir(folder))
            if is_image_file(n) and _listed(os.path.join(folder, n))]


def discover(root: str, devkit: Optional[str] = None) -> ValSet:
    """Find the validation images under ``root`` and their labels.

    ``root`` holds either wnid folders (ImageFolder) or image files (flat).
    For a flat directory the labels come from ``devkit`` (the
    ILSVRC2012 devkit folder) when given, else from this package's data
    (:func:`imagenet_meta.validation_wnids`). Raises :class:`errors.InputError` naming the problem.
    """
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise InputError(f"validation directory {root} does not exist or is not a directory. "
                         f"Fix: pass the folder that holds the ImageNet validation images")
    entries = sorted(os.listdir(root))
    folders = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(root, e))]
    files = [e for e in entries if is_image_file(e) and _listed(os.path.join(root, e))]
    if folders and files:
        raise InputError(f"{root} mixes image files ({files[0]}, ...) and folders ({folders[0]}, ...). "
                         f"Fix: use either one folder per wnid or a flat folder of images")
    if folders:
        return _discover_imagefolder(root, folders)
    if files:
        return _discover_flat(root, files, devkit)
    raise InputError(f"no images found in {root} (looked for {', '.join(IMG_EXTENSIONS)} files "
                     f"or wnid folders). Fix: point at the ImageNet validation directory")


def _discover_imagefolder(root: str, folders: List[str]) -> ValSet:
    index = imagenet_meta.wnid_to_index()
    unknown = [f for f in folders if f not in index]
    if unknown:
        raise InputError(f"{root}: folder(s) {', '.join(unknown[:5])} are not ImageNet-1k wnids. "
                         f"Fix: one folder per wnid (n01440764 ...), as valprep.sh makes them, "
                         f"or a flat folder of ILSVRC2012_val_*.JPEG files")
    ids, paths, labels = [], [], []
    for wnid in folders:  # sorted
        for name in list_images(os.path.join(root, wnid)):
            ids.append(f"{wnid}/{name}")
            paths.append(os.path.join(root, wnid, name))
            labels.append(index[wnid])
    if not ids:
        raise InputError(f"{root}: the wnid folders hold no images")
    _check_against_official(root, ids)
    return ValSet(root, "imagefolder", ids, paths, np.asarray(labels, np.int16), "folder names")


def _check_against_official(root: str, ids: List[str]) -> None:
    """Refuse a class-folder tree whose official file names sit in the wrong class."""
    try:
        official = imagenet_meta.validation_wnids()
    except imagenet_meta.MetadataError:
        return
    wrong = []
    for image_id in ids:
        wnid, _, name = image_id.partition("/")
        num = imagenet_meta.val_number(name)
        if 1 <= num <= len(official) and official[num - 1] != wnid:
            wrong.append(f"{image_id} (official label {official[num - 1]})")
    if wrong:
        raise InputError(f"{root}: {len(wrong)} official validation file(s) sit in the wrong class "
                         f"folder, e.g. {wrong[0]}. Fix: rebuild the tree with "
                         f"`imagenet-bench prepare-val` from the flat files")


def _discover_flat(root: str, files: List[str], devkit: Optional[str]) -> ValSet:
    per_file = devkit_validation_wnids(devkit) if devkit else imagenet_meta.validation_wnids()
    source = f"devkit {devkit}" if devkit else "imagenet_bench validation_wnids.txt (from tensorflow-datasets)"
    index = imagenet_meta.wnid_to_index()
    rows = []
    for name in files:
        num = imagenet_meta.val_number(name)
        if not 1 <= num <= len(per_file):
            raise InputError(f"{os.path.join(root, name)}: not an official validation file name "
                             f"(ILSVRC2012_val_00000001.JPEG ... ILSVRC2012_val_00050000.JPEG), so its "
                             f"label is unknown. Fix: arrange custom images in wnid folders")
        wnid = per_file[num - 1]
        rows.append((f"{wnid}/{name}", os.path.join(root, name), index[wnid]))
    rows.sort()
    return ValSet(root, "flat", [r[0] for r in rows], [r[1] for r in rows],
                  np.asarray([r[2] for r in rows], np.int16), source)


def devkit_validation_wnids(devkit: str) -> List[str]:
    """Per-file validation wnids from the official ILSVRC2012 devkit (``ILSVRC2012_devkit_t12``).

    Reads ``data/meta.mat`` (ILSVRC2012_ID -> wnid; needs scipy) and
    ``data/ILSVRC2012_validation_ground_truth.txt`` (one ID per file).
    """
    meta = os.path.join(devkit, "data", "meta.mat")
    truth = os.path.join(devkit, "data", "ILSVRC2012_validation_ground_truth.txt")
    for p in (meta, truth):
        if not os.path.isfile(p):
            raise InputError(f"devkit file {p} not found. Fix: pass the unpacked "
                             f"ILSVRC2012_devkit_t12 folder to --devkit")
    try:
        from scipy.io import loadmat
    except ImportError:
        raise InputError("reading the devkit's meta.mat needs scipy. Fix: pip install scipy, "
                         "or drop --devkit to use the labels shipped with imagenet_bench") from None
    synsets = loadmat(meta, squeeze_me=True)["synsets"]
    id_to_wnid: Dict[int, str] = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets}
    with open(truth, encoding="utf-8") as f:
        out = [id_to_wnid[int(line)] for line in f if line.strip()]
    if len(out) != imagenet_meta.NUM_VAL_IMAGES:
        raise InputError(f"{truth}: expected {imagenet_meta.NUM_VAL_IMAGES} labels, got {len(out)}")
    return out
