"""Folder layouts of a test set on disk: which files are images, and each one's label.

The registry of test sets (:mod:`imagenet_bench.data.datasets`) names, per
set, the layouts it accepts; this module finds the images of one layout and
returns a :class:`Found` (ordered ids, paths, labels, where the labels came
from), or raises :class:`errors.InputError` saying what was found, what the set
should look like and how to fix it. It knows nothing of the registry: a spec
is passed in (its ``name``, ``title``, ``classes``, ``num_classes``,
``subset_file``, ``layouts``).

* ``wnid-folders``: one folder per ImageNet wnid (``n01440764/...``): ImageNet
  val after ``valprep.sh`` (whose official file names are checked against
  their class), ImageNet-Sketch, -A, -R;
* ``class-index-folders``: folders named by class index ``0`` ... ``999``
  (ImageNetV2), ordered **numerically** (0, 1, 2, ..., 999), never as strings;
* ``flat-official``: the official ``ILSVRC2012_val_*.JPEG`` files side by side,
  labelled from package data (the per-file wnids copied from the
  ``tensorflow-datasets`` wheel, :func:`imagenet_meta.validation_wnids`) or the
  official devkit (``--devkit``).

Rows are in ImageFolder order (by class, then file name). Standard library and
numpy only.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.data import imagenet_meta
from imagenet_bench.errors import InputError

WNID_FOLDERS = "wnid-folders"
INDEX_FOLDERS = "class-index-folders"
FLAT_OFFICIAL = "flat-official"
#: file extensions read as images (case-insensitive), as torchvision's ImageFolder
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class Found:
    """The images of one folder: ids (relative paths), absolute paths, labels, label source."""

    layout: str  # the layout name of a ValSet ("imagefolder", "flat", or a layout above)
    ids: List[str]
    paths: List[str]
    labels: np.ndarray  # int16 class indices
    label_source: str


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


#: archive suffixes and the command that unpacks each into a folder
ARCHIVES = {(".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz"): "tar -xf {src} -C {dst}",
            (".zip",): "unzip -q {src} -d {dst}"}


def _not_a_folder(root: str, what: str) -> str:
    """What ``root`` is (missing, an archive, another file) and how to pass the images."""
    if not os.path.exists(root):
        return (f"{root} does not exist. Fix: pass the folder that holds the {what} images")
    for suffixes, unpack in ARCHIVES.items():
        if root.lower().endswith(suffixes):
            dst = os.path.join(os.path.dirname(root) or ".", "val_images")
            return (f"{root} is an archive file, and the images are read from a folder. "
                    f"Fix: unpack it (mkdir {dst} && {unpack.format(src=root, dst=dst)}) and "
                    f"pass {dst}")
    return (f"{root} is a file, not a folder. Fix: pass the folder that holds the {what} images")


def top_level(root: str, what: str) -> Tuple[List[str], List[str]]:
    """(folders, image files) directly in ``root``; an InputError when it is no directory."""
    if not os.path.isdir(root):
        raise InputError(_not_a_folder(root, what))
    entries = sorted(os.listdir(root))
    _refuse_dangling_folder_links(root, entries)
    folders = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(root, e))]
    files = [e for e in entries if is_image_file(e) and _listed(os.path.join(root, e))]
    return folders, files


def _refuse_dangling_folder_links(root: str, entries: List[str]) -> None:
    """Refuse class-folder links that are broken or loop (never dropped without a word); broken
    links named like images are listed and reported when read (:func:`_listed`)."""
    bad = []
    for name in entries:
        path = os.path.join(root, name)
        if name.startswith(".") or is_image_file(name) or not os.path.islink(path):
            continue
        try:
            os.stat(path)
        except OSError as e:
            what = ("is a symbolic link loop" if e.errno == errno.ELOOP
                    else f"is a broken symbolic link (to {os.readlink(path)})")
            bad.append(f"{path} {what}")
    if bad:
        raise InputError(f"{root}: {len(bad)} class folder link(s) lead nowhere, so their images "
                         f"cannot be counted: {'; '.join(bad[:5])}. Fix: restore each link's "
                         f"target, or remove the link")


def refuse_aliases(root: str, ids: List[str]) -> None:
    """Refuse two files that are one image: the same official validation number
    (``ILSVRC2012_val_00000347.JPEG`` and ``.jpeg``) or ids that differ only by case."""
    seen: Dict[object, str] = {}
    for image_id in ids:
        num = imagenet_meta.val_number(image_id)
        key = ("val", num) if num > 0 else image_id.lower()
        if key in seen:
            raise InputError(f"{root}: {seen[key]} and {image_id} are one image (same "
                             f"{'validation number' if num > 0 else 'name but for case'}); it "
                             f"would be counted twice. Fix: keep one of the two files")
        seen[key] = image_id


class DiskTree:
    """A folder layout on disk, as the layout rules read it (a tar holds a
    :class:`~imagenet_bench.data.sources.tar.TarTree` with the same methods)."""

    def __init__(self, root: str):
        self.root = root

    def top(self) -> Tuple[List[str], List[str]]:
        """(folders, image files) directly in the root, sorted."""
        return top_level(self.root, "test set")

    def images(self, folder: str) -> List[str]:
        """Sorted image names directly inside ``folder``."""
        return list_images(os.path.join(self.root, folder))

    def path(self, rel: str) -> str:
        """The absolute path of ``rel`` (what ``ValSet.paths`` holds)."""
        return os.path.join(self.root, rel)

    def where(self, rel: str) -> str:
        """How messages name the image at ``rel``."""
        return os.path.join(self.root, rel)


def class_folders(root: str, folders: List[str], spec, check_official: bool = False,
                  tree=None) -> Found:
    """One folder per class (wnid or class index, as ``spec.layouts`` says), rows by class.
    ``tree``: where the folders are (default: the disk under ``root``)."""
    tree = tree or DiskTree(root)
    labels_of = (_index_folders(root, folders, spec) if INDEX_FOLDERS in spec.layouts
                 else _wnid_folders(root, folders, spec))
    ids, paths, labels = [], [], []
    for folder, label in labels_of:  # in class-index order
        for fname in tree.images(folder):
            ids.append(f"{folder}/{fname}")
            paths.append(tree.path(f"{folder}/{fname}"))
            labels.append(label)
    if not ids:
        raise InputError(f"{root}: the class folders hold no images. Fix: point at the folder "
                         f"whose wnid folders hold the images (.JPEG, .jpg, .png)")
    refuse_aliases(root, ids)
    if check_official:
        _check_against_official(root, ids)
    layout = "imagefolder" if check_official else spec.layouts[0]
    return Found(layout, ids, paths, np.asarray(labels, np.int16), "folder names")


def layout_words(spec) -> str:
    """How the folder of ``spec``'s set must look, in words."""
    if INDEX_FOLDERS in spec.layouts:
        return "folders named by class index 0 ... 999"
    if spec.subset_file:
        return f"one folder per wnid of its {spec.num_classes} classes"
    return "one folder per ImageNet wnid, n01440764 ..."


def _index_folders(root: str, folders: List[str], spec) -> List[Tuple[str, int]]:
    """ImageNetV2: folder ``k`` holds class ``k``; numeric order, never string order."""
    bad = [f for f in folders if not (f.isdigit() and int(f) < imagenet_meta.NUM_CLASSES
                                      and str(int(f)) == f)]
    if bad:
        hint = (" (these look like wnid folders: an ImageNet-val-style tree; name the set "
                "imagenet-val=DIR or imagenet-sketch=DIR)" if bad[0].startswith("n") else "")
        raise InputError(f"{root}: folder(s) {', '.join(bad[:5])} are not class indices 0-999; "
                         f"{spec.title} has {spec.num_classes} folders named 0 ... 999{hint}. "
                         f"Fix: point at the extracted {spec.title} folder")
    return sorted(((f, int(f)) for f in folders), key=lambda fl: fl[1])


def _wnid_folders(root: str, folders: List[str], spec) -> List[Tuple[str, int]]:
    index = imagenet_meta.wnid_to_index()
    unknown = [f for f in folders if f not in index]
    if unknown:
        hint = (" (numbered folders are the ImageNetV2 layout: name the set "
                "imagenet-v2-matched-frequency=DIR, imagenet-v2-threshold0.7=DIR or "
                "imagenet-v2-top-images=DIR)"
                if all(f.isdigit() for f in unknown) else "")
        if FLAT_OFFICIAL in spec.layouts:  # ImageNet val: name both layouts it accepts
            raise InputError(f"{root}: folder(s) {', '.join(unknown[:5])} are not ImageNet-1k "
                             f"wnids{hint}. Fix: one folder per wnid (n01440764 ...), as "
                             f"valprep.sh makes them, or a flat folder of ILSVRC2012_val_*.JPEG "
                             f"files")
        raise InputError(f"{root}: folder(s) {', '.join(unknown[:5])} are not ImageNet-1k wnids{hint}. "
                         f"Fix: {spec.title} is {layout_words(spec)}")
    allowed = spec.classes
    if allowed is not None:
        outside = [f for f in folders if index[f] not in allowed]
        if outside:
            raise InputError(
                f"{root}: found {len(folders)} class folders, {len(outside)} of them outside "
                f"{spec.title}'s fixed list of {spec.num_classes} classes (e.g. "
                f"{', '.join(outside[:3])}; list in imagenet_bench/data/_info/{spec.subset_file}). "
                f"Fix: check that {spec.name} is the set in this folder "
                f"(1,000-class sets: imagenet-val, imagenet-sketch)")
    return sorted(((f, index[f]) for f in folders), key=lambda fl: fl[1])


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


def flat_official(root: str, files: List[str], devkit: Optional[str], tree=None) -> Found:
    """The official validation files side by side, labelled from package data or ``devkit``
    (``tree``: where the files are; default: the disk under ``root``)."""
    tree = tree or DiskTree(root)
    per_file = devkit_validation_wnids(devkit) if devkit else imagenet_meta.validation_wnids()
    source = f"devkit {devkit}" if devkit else "imagenet_bench validation_wnids.txt (from tensorflow-datasets)"
    index = imagenet_meta.wnid_to_index()
    rows = []
    for name in files:
        num = imagenet_meta.val_number(name)
        if not 1 <= num <= len(per_file):
            raise InputError(f"{tree.where(name)}: not an official validation file name "
                             f"(ILSVRC2012_val_00000001.JPEG ... ILSVRC2012_val_00050000.JPEG), so its "
                             f"label is unknown. Fix: arrange custom images in wnid folders")
        wnid = per_file[num - 1]
        rows.append((f"{wnid}/{name}", name, index[wnid]))
    refuse_aliases(root, files)
    rows.sort()
    rows = [(i, tree.path(name), label) for i, name, label in rows]
    return Found("flat", [r[0] for r in rows], [r[1] for r in rows],
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
        raise InputError(f"{truth}: expected {imagenet_meta.NUM_VAL_IMAGES} labels, got {len(out)}. "
                         f"Fix: give --devkit the unmodified ILSVRC2012 devkit folder, or leave "
                         f"--devkit out for the labels shipped with imagenet_bench")
    return out
