"""The test sets a model can be scored on: one frozen :class:`DatasetSpec` per set.

``predict --dataset NAME DIR`` finds the images of DIR with :func:`discover`,
checks them against the set's spec (folder layout, class list, image count)
and hands a :class:`dataset.ValSet` to the runner. Every cache records the
set's name (provenance ``dataset.name``) and the name is part of the cache
file's dataset tag, so predictions on different sets never mix.

Layouts:

* ``wnid-folders``: one folder per ImageNet wnid (``n01440764/...``):
  ImageNet val after ``valprep.sh``, ImageNet-Sketch, ImageNet-A, ImageNet-R;
* ``class-index-folders``: folders named by class index ``0`` ... ``999``
  (ImageNetV2). They are ordered **numerically** (0, 1, 2, ..., 999), never
  as strings (0, 1, 10, 100, ...): the class index is the folder's number;
* ``flat-official``: the official ``ILSVRC2012_val_*.JPEG`` files side by
  side, labelled from package data (ImageNet val only).

Image identity and fingerprint: ImageNet val keeps ``wnid/file`` (so existing
caches and the 2019 outputs stay valid); every other set prefixes its name,
``imagenet-sketch/n01440764/sketch_0.JPEG``, so the sha256 fingerprint of the
ordered ids differs from val's even for a copy of the same files.

Class subsets (ImageNet-A and -R): the set's fixed list of 200 wnids, shipped
as package data (``data/_info/imagenet_{a,r}_wnids.txt``, sources named in
the files), never inferred from the folders present.

Only the standard library and numpy are imported here.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.data import dataset as _dataset
from imagenet_bench.data import imagenet_meta
from imagenet_bench.data.dataset import ValSet
from imagenet_bench.errors import InputError

WNID_FOLDERS = "wnid-folders"
INDEX_FOLDERS = "class-index-folders"
FLAT_OFFICIAL = "flat-official"
DEFAULT = "imagenet-val"
_INFO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_info")


@dataclass(frozen=True)
class DatasetSpec:
    """What one test set is and how its folder must look."""

    name: str  # the --dataset value, the CSV column, the cache tag prefix (val: "val")
    title: str  # human name
    layouts: Tuple[str, ...]  # accepted folder layouts (WNID_FOLDERS, INDEX_FOLDERS, FLAT_OFFICIAL)
    label_source: str  # where each image's label comes from
    num_images: int  # images in the complete set (from the set's own documentation)
    count_source: str  # where num_images is stated
    subset_file: Optional[str] = None  # package-data file of the class subset's wnids; None: all 1000
    source: str = ""  # where the set is published
    licence: str = ""  # licence of the published data / code
    paper: str = ""  # the paper that introduced it

    @property
    def classes(self) -> Optional[Tuple[int, ...]]:
        """Class indices (sorted) of the set's fixed class subset, or None for all 1,000."""
        return None if self.subset_file is None else _subset_indices(self.subset_file)

    @property
    def num_classes(self) -> int:
        """Number of classes of the complete set."""
        return imagenet_meta.NUM_CLASSES if self.subset_file is None else len(self.classes)

    @property
    def tag_prefix(self) -> str:
        """Prefix of the dataset tag in cache file names (``val`` keeps existing caches valid)."""
        return "val" if self.name == DEFAULT else self.name

    def image_id(self, relpath: str) -> str:
        """Identity of an image from its path relative to the set's folder."""
        return relpath if self.name == DEFAULT else f"{self.name}/{relpath}"


_V2 = dict(layouts=(INDEX_FOLDERS,), label_source="folder number = class index",
           num_images=10000, count_source="github.com/modestyachts/ImageNetV2 README "
                                          "(three test sets with 10,000 new images each)",
           source="github.com/modestyachts/ImageNetV2; images at "
                  "huggingface.co/datasets/vaishaal/ImageNetV2",
           licence="code MIT (Recht, Roelofs, Schmidt, Shankar 2019); images from Flickr",
           paper='Recht et al., "Do ImageNet Classifiers Generalize to ImageNet?", ICML 2019, '
                 'arXiv:1902.10811')

DATASETS: Dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec(DEFAULT, "ImageNet 2012 validation set", (WNID_FOLDERS, FLAT_OFFICIAL),
                "folder names, or the tensorflow-datasets validation labels for flat files",
                imagenet_meta.NUM_VAL_IMAGES, "ILSVRC2012 devkit (50 images per class)",
                source="image-net.org/challenges/LSVRC/2012",
                licence="ImageNet terms of access (non-commercial research)",
                paper='Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge", '
                      'IJCV 2015, arXiv:1409.0575'),
    DatasetSpec("imagenet-v2-matched-frequency", "ImageNetV2 MatchedFrequency", **_V2),
    DatasetSpec("imagenet-v2-threshold0.7", "ImageNetV2 Threshold0.7", **_V2),
    DatasetSpec("imagenet-v2-top-images", "ImageNetV2 TopImages", **_V2),
    DatasetSpec("imagenet-a", "ImageNet-A (natural adversarial examples)", (WNID_FOLDERS,),
                "folder names (200 wnids)", 7500,
                'Hendrycks et al., arXiv:1907.07174 abstract ("We curate 7,500 natural '
                'adversarial examples")', subset_file="imagenet_a_wnids.txt",
                source="github.com/hendrycks/natural-adv-examples",
                licence="code MIT (Dan Hendrycks 2019); images collected from the web",
                paper='Hendrycks et al., "Natural Adversarial Examples", CVPR 2021, '
                      'arXiv:1907.07174'),
    DatasetSpec("imagenet-r", "ImageNet-R (renditions)", (WNID_FOLDERS,),
                "folder names (200 wnids)", 30000,
                "github.com/hendrycks/imagenet-r README (200 classes, 30,000 images)",
                subset_file="imagenet_r_wnids.txt", source="github.com/hendrycks/imagenet-r",
                licence="code MIT (Dan Hendrycks 2020); images collected from the web",
                paper='Hendrycks et al., "The Many Faces of Robustness", ICCV 2021, '
                      'arXiv:2006.16241'),
    DatasetSpec("imagenet-sketch", "ImageNet-Sketch", (WNID_FOLDERS,), "folder names", 50889,
                "tensorflow-datasets imagenet_sketch README (50,889 images; the "
                "HaohanWang/ImageNet-Sketch README rounds to 50,000)",
                source="github.com/HaohanWang/ImageNet-Sketch",
                licence="code MIT (Haohan Wang 2021); images from Google Image search",
                paper='Wang et al., "Learning Robust Global Representations by Penalizing Local '
                      'Predictive Power", NeurIPS 2019, arXiv:1905.13549'),
)}


def names() -> List[str]:
    """The ``--dataset`` values, in table order."""
    return list(DATASETS)


def get(name: str) -> DatasetSpec:
    """The spec of ``name``; an InputError listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise InputError(f"--dataset {name}: unknown test set. Fix: choose one of "
                         f"{', '.join(DATASETS)}") from None


def name_of(preds) -> str:
    """The dataset a cache was predicted on (caches without the field are ImageNet val)."""
    ds = preds.provenance.get("dataset")
    return ds.get("name", DEFAULT) if isinstance(ds, dict) else DEFAULT


@functools.lru_cache(maxsize=None)
def _subset_indices(filename: str) -> Tuple[int, ...]:
    path = os.path.join(_INFO, filename)
    with open(path, encoding="utf-8") as f:
        wnids = [s.strip() for s in f if s.strip() and not s.startswith("#")]
    index = imagenet_meta.wnid_to_index()
    unknown = [w for w in wnids if w not in index]
    if unknown or len(set(wnids)) != len(wnids):
        raise imagenet_meta.MetadataError(f"{path}: {len(unknown)} unknown or repeated wnids "
                                          f"({unknown[:3]}). Fix: reinstall imagenet_bench")
    return tuple(sorted(index[w] for w in wnids))


# --- discovery --------------------------------------------------------------------------------

def discover(root: str, name: str = DEFAULT, devkit: Optional[str] = None) -> ValSet:
    """The images of test set ``name`` under ``root``, checked against its spec.

    Raises :class:`errors.InputError` saying what was found, what the set
    should look like, and how to fix it. A folder with fewer images than the
    complete set is a subset (``ValSet.describe`` says so).
    """
    spec = get(name)
    if name == DEFAULT:
        return _dataset.discover(root, devkit=devkit)
    if devkit:
        raise InputError(f"--devkit labels flat ImageNet val files; --dataset {name} takes its "
                         f"labels from the folder names. Fix: drop --devkit")
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise InputError(f"{root} does not exist or is not a directory. Fix: pass the folder "
                         f"that holds the {spec.title} images")
    entries = sorted(os.listdir(root))
    folders = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(root, e))]
    files = [e for e in entries if _dataset.is_image_file(e)]
    if files or not folders:
        raise InputError(f"{root}: found {len(files)} image file(s) and {len(folders)} folder(s) "
                         f"at the top; {spec.title} is one folder per class "
                         f"({_layout_words(spec)}). Fix: point at the folder that holds the "
                         f"class folders")
    labels_of = _index_folders(root, folders, spec) if INDEX_FOLDERS in spec.layouts \
        else _wnid_folders(root, folders, spec)
    ids, paths, labels = [], [], []
    for folder, label in labels_of:  # in class-index order
        for fname in _dataset.list_images(os.path.join(root, folder)):
            ids.append(spec.image_id(f"{folder}/{fname}"))
            paths.append(os.path.join(root, folder, fname))
            labels.append(label)
    if not ids:
        raise InputError(f"{root}: the class folders hold no images")
    if len(ids) > spec.num_images:
        raise InputError(f"{root}: found {len(ids):,} images in {len(labels_of)} class folders; "
                         f"{spec.title} has {spec.num_images:,} ({spec.count_source}). Fix: check "
                         f"that --dataset {name} is the set in this folder")
    return ValSet(root, spec.layouts[0], ids, paths, np.asarray(labels, np.int16),
                  spec.label_source, dataset=name)


def _layout_words(spec: DatasetSpec) -> str:
    if INDEX_FOLDERS in spec.layouts:
        return "folders named by class index 0 ... 999"
    if spec.subset_file:
        return f"one folder per wnid of its {spec.num_classes} classes"
    return "one folder per ImageNet wnid, n01440764 ..."


def _index_folders(root: str, folders: List[str], spec: DatasetSpec) -> List[Tuple[str, int]]:
    """ImageNetV2: folder ``k`` holds class ``k``; numeric order, never string order."""
    bad = [f for f in folders if not (f.isdigit() and int(f) < imagenet_meta.NUM_CLASSES
                                      and str(int(f)) == f)]
    if bad:
        hint = (" (these look like wnid folders: an ImageNet-val-style tree; pass --dataset "
                "imagenet-val or imagenet-sketch)" if bad[0].startswith("n") else "")
        raise InputError(f"{root}: folder(s) {', '.join(bad[:5])} are not class indices 0-999; "
                         f"{spec.title} has {spec.num_classes} folders named 0 ... 999{hint}. "
                         f"Fix: point at the extracted {spec.title} folder")
    return sorted(((f, int(f)) for f in folders), key=lambda fl: fl[1])


def _wnid_folders(root: str, folders: List[str], spec: DatasetSpec) -> List[Tuple[str, int]]:
    index = imagenet_meta.wnid_to_index()
    unknown = [f for f in folders if f not in index]
    if unknown:
        hint = (" (numbered folders are the ImageNetV2 layout: pass --dataset "
                "imagenet-v2-matched-frequency or another imagenet-v2-* set)"
                if unknown[0].isdigit() else "")
        raise InputError(f"{root}: folder(s) {', '.join(unknown[:5])} are not ImageNet-1k wnids{hint}. "
                         f"Fix: {spec.title} is {_layout_words(spec)}")
    allowed = spec.classes
    if allowed is not None:
        outside = [f for f in folders if index[f] not in allowed]
        if outside:
            raise InputError(
                f"{root}: found {len(folders)} class folders, {len(outside)} of them outside "
                f"{spec.title}'s fixed list of {spec.num_classes} classes (e.g. "
                f"{', '.join(outside[:3])}; list in imagenet_bench/data/_info/{spec.subset_file}). "
                f"Fix: check that --dataset {spec.name} is the set in this folder "
                f"(1,000-class sets: imagenet-val, imagenet-sketch)")
    return sorted(((f, index[f]) for f in folders), key=lambda fl: fl[1])


def is_full(valset: ValSet) -> bool:
    """True when ``valset`` is the complete set: every class, the documented image count."""
    spec = get(valset.dataset)
    return (valset.num_images == spec.num_images
            and valset.num_classes == spec.num_classes)


def describe(valset: ValSet) -> str:
    """One line for the user: the set, its size and layout, and whether it is a subset."""
    spec = get(valset.dataset)
    what = (f"{valset.num_images:,} images, {valset.num_classes} classes, {valset.layout} layout "
            f"at {valset.root}, labels from {valset.label_source}")
    if is_full(valset):
        return f"full {spec.title}: {what}"
    return (f"SUBSET of {spec.title}: {what} ({valset.num_images:,} of {spec.num_images:,} "
            f"images, {valset.num_classes} of {spec.num_classes} classes; accuracies are not "
            f"comparable to full-set figures)")
