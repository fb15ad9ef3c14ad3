"""The test sets a model can be scored on: ONE registry, a frozen :class:`DatasetSpec` per set.

Each set is declared once, here: its ``--dataset`` name, title, accepted folder
layouts (:mod:`imagenet_bench.data.layouts`), label source, image count, class
subset, sources, and the table of timm's published results that holds figures
on it (``published_table``). ImageNet val is one spec like the others. The
``--dataset`` help, the ``robustness`` columns and the published-figure lookup
are read from :data:`DATASETS`; adding a test set is one entry here (plus its
wnid list in ``data/_info/`` for a class subset) and its tests. A family of
sets that needs more than a declaration (ImageNet-C: 95 folders of one
download, its evaluation protocol) is one module declaring ``SPECS``
(:class:`~imagenet_bench.data.spec.DatasetSpec`), listed in :data:`SET_MODULES`.

``predict NAME=DIR`` finds the images of DIR with :func:`discover`,
checks them against the set's spec (folder layout, class list, image count)
and hands a :class:`ValSet` to the runner. Every cache records the set's name
(provenance ``dataset.name``) and the name is part of the cache file's dataset
tag, so predictions on different sets never mix.

Image identity and fingerprint: ImageNet val keeps ``wnid/file`` (so existing
caches and the 2019 outputs stay valid); every other set prefixes its name,
``imagenet-sketch/n01440764/sketch_0.JPEG``, so the sha256 fingerprint of the
ordered ids (:func:`fingerprint`) differs from val's even for a copy of the
same files. Rows are always in ImageFolder order (sorted by class, then file
name), so a flat and a class-folder copy of val give the same fingerprint, and
the full set gives the row order of the 2019 outputs.

Class subsets (ImageNet-A and -R): the set's fixed list of 200 wnids, shipped
as package data (``data/_info/imagenet_{a,r}_wnids.txt``, sources named in
the files), never inferred from the folders present.

Only the standard library and numpy are imported here.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.data import imagenet_c, imagenet_meta, layouts, objectnet, sources
from imagenet_bench.data.sources import rows as source_rows
from imagenet_bench.data.layouts import FLAT_OFFICIAL, INDEX_FOLDERS, WNID_FOLDERS
from imagenet_bench.data.spec import DEFAULT, DatasetSpec
from imagenet_bench.errors import InputError, count

_V2 = dict(layouts=(INDEX_FOLDERS,), label_source="folder number = class index",
           num_images=10000, count_source="github.com/modestyachts/ImageNetV2 README "
                                          "(three test sets with 10,000 new images each)",
           source="github.com/modestyachts/ImageNetV2; images at "
                  "huggingface.co/datasets/vaishaal/ImageNetV2",
           licence="code MIT (Recht, Roelofs, Schmidt, Shankar 2019); images from Flickr",
           paper='Recht et al., "Do ImageNet Classifiers Generalize to ImageNet?", ICML 2019, '
                 'arXiv:1902.10811')
_V2_MF = dict(_V2, published_table="v2")  # timm publishes results on MatchedFrequency only

DATASETS: Dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec(DEFAULT, "ImageNet 2012 validation set", (WNID_FOLDERS, FLAT_OFFICIAL),
                "folder names, or the tensorflow-datasets validation labels for flat files",
                imagenet_meta.NUM_VAL_IMAGES, "ILSVRC2012 devkit (50 images per class)",
                source="image-net.org/challenges/LSVRC/2012",
                licence="ImageNet terms of access (non-commercial research)",
                paper='Russakovsky et al., "ImageNet Large Scale Visual Recognition Challenge", '
                      'IJCV 2015, arXiv:1409.0575', published_table="imagenet", shifted=False, short="val"),
    DatasetSpec("imagenet-v2-matched-frequency", "ImageNetV2 MatchedFrequency", short="v2-mf", **_V2_MF),
    DatasetSpec("imagenet-v2-threshold0.7", "ImageNetV2 Threshold0.7", short="v2-t0.7", **_V2),
    DatasetSpec("imagenet-v2-top-images", "ImageNetV2 TopImages", short="v2-top", **_V2),
    DatasetSpec("imagenet-a", "ImageNet-A (natural adversarial examples)", (WNID_FOLDERS,),
                "folder names (200 wnids)", 7500,
                'Hendrycks et al., arXiv:1907.07174 abstract ("We curate 7,500 natural '
                'adversarial examples")', subset_file="imagenet_a_wnids.txt",
                source="github.com/hendrycks/natural-adv-examples",
                licence="code MIT (Dan Hendrycks 2019); images collected from the web",
                paper='Hendrycks et al., "Natural Adversarial Examples", CVPR 2021, '
                      'arXiv:1907.07174', published_table="a", short="A"),
    DatasetSpec("imagenet-r", "ImageNet-R (renditions)", (WNID_FOLDERS,),
                "folder names (200 wnids)", 30000,
                "github.com/hendrycks/imagenet-r README (200 classes, 30,000 images)",
                subset_file="imagenet_r_wnids.txt", source="github.com/hendrycks/imagenet-r",
                licence="code MIT (Dan Hendrycks 2020); images collected from the web",
                paper='Hendrycks et al., "The Many Faces of Robustness", ICCV 2021, '
                      'arXiv:2006.16241', published_table="r", short="R"),
    DatasetSpec("imagenet-sketch", "ImageNet-Sketch", (WNID_FOLDERS,), "folder names", 50889,
                "tensorflow-datasets imagenet_sketch README (50,889 images; the "
                "HaohanWang/ImageNet-Sketch README rounds to 50,000)",
                source="github.com/HaohanWang/ImageNet-Sketch",
                licence="code MIT (Haohan Wang 2021); images from Google Image search",
                paper='Wang et al., "Learning Robust Global Representations by Penalizing Local '
                      'Predictive Power", NeurIPS 2019, arXiv:1905.13549', published_table="sketch", short="sketch"),
)}
#: modules declaring sets of their own (a tuple ``SPECS``): one module per test set family
SET_MODULES = (imagenet_c, objectnet)
FAMILIES = {imagenet_c.FAMILY: imagenet_c}
for _module in SET_MODULES:
    for _spec in _module.SPECS:
        if _spec.name in DATASETS:
            raise ValueError(f"test set {_spec.name} declared twice ({_module.__name__})")
        DATASETS[_spec.name] = _spec


def names() -> List[str]:
    """The ``--dataset`` values, in table order."""
    return list(DATASETS)


def get(name: str) -> DatasetSpec:
    """The spec of ``name``; an InputError listing the known names otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        if name in FAMILIES:
            raise InputError(f"test set {name!r}: a download of {len(FAMILIES[name].SPECS)} test "
                             f"sets, one per folder. Fix: name one, e.g. "
                             f"{FAMILIES[name].SPECS[0].name}=DIR, or plan them all with "
                             f"`imagenet-bench sweep plan DIR -m MODEL --data {name}=DIR`") from None
        raise InputError(f"test set {name!r}: unknown. Fix: name one of "
                         f"{', '.join(listed())} (NAME=DIR)") from None


def listed() -> List[str]:
    """The set names to show a user: each family once (``imagenet-c``), not its members."""
    out: List[str] = []
    for spec in DATASETS.values():
        name = spec.family or spec.name
        if name not in out:
            out.append(name)
    return out


def expand(name: str, root: str) -> List[Tuple[str, str]]:
    """``[(set name, folder)]`` of ``--data NAME=DIR``: the set itself, or every set of a family
    download present under ``root`` (:func:`imagenet_c.scan`; absent ones are left out)."""
    family = FAMILIES.get(name)
    if family is None:
        get(name)
        return [(name, root)]
    return list(family.scan(root).folders.items())


def check_family_counts(sets: Dict[str, Dict]) -> None:
    """Refuse a family download whose folders hold different image counts (``sets``: name ->
    ``{"dir", "images"}``, as a sweep plan records them), naming the odd folder."""
    for family, module in FAMILIES.items():
        mine = {n: d for n, d in sets.items() if get(n).family == family}
        module.check_counts({n: d["images"] for n, d in mine.items()},
                            {n: d["dir"] for n, d in mine.items()})


def name_of(preds) -> str:
    """The dataset a cache was predicted on (caches without the field are ImageNet val):
    the cache's ``dataset_name`` (:class:`imagenet_bench.cache.interface.Cache`)."""
    return preds.dataset_name


def shifted() -> List[DatasetSpec]:
    """The distribution-shifted sets (the ``robustness`` columns), in table order."""
    return [s for s in DATASETS.values() if s.shifted]


# --- image identities ---------------------------------------------------------------------------

def ids_blob(image_ids: Sequence[str]) -> np.ndarray:
    """The ordered ids joined by newlines, as uint8 (how caches store them)."""
    for s in image_ids:
        if "\n" in s:
            raise ValueError(f"image id {s!r} contains a newline")
    return np.frombuffer("\n".join(image_ids).encode("utf-8"), dtype=np.uint8)


def fingerprint(image_ids: Sequence[str]) -> str:
    """sha256 hex digest of the ordered image identities."""
    return hashlib.sha256(ids_blob(image_ids).tobytes()).hexdigest()


@dataclass(frozen=True)
class ValSet:
    """An ordered list of test images with their ground truth."""

    root: str  # directory the images were found in
    layout: str  # "imagefolder", "flat" (ImageNet val) or a layout name of layouts.py
    image_ids: List[str]  # "wnid/filename" (val) or "<set>/<folder>/<file>", ImageFolder order
    paths: List[str]  # absolute path of each image, same order
    labels: np.ndarray  # int16 class index 0-999 (position of the wnid in sorted order)
    label_source: str  # where the labels came from (folder names, tfds package, devkit)
    dataset: str = DEFAULT  # the test set (a DATASETS name)
    source: Optional[dict] = None  # shards / parquet / arrow / tar: the reader's record; None: a folder
    classes: Optional[Tuple[int, ...]] = None  # class subset read with the images (ObjectNet); None: the spec's
    facts: Optional[dict] = None  # what the set's reader records in provenance (objectnet.facts)

    @property
    def spec(self) -> DatasetSpec:
        """The registry entry of the set."""
        return get(self.dataset)

    @property
    def num_images(self) -> int:
        """Number of images (rows)."""
        return len(self.image_ids)

    @property
    def fingerprint(self) -> str:
        """sha256 of the ordered image identities (as stored in caches)."""
        return fingerprint(self.image_ids)

    @property
    def num_classes(self) -> int:
        """Number of distinct classes present."""
        return int(np.unique(self.labels).size)

    @property
    def class_subset(self):
        """Class indices of the test set's class subset (ImageNet-A/R: fixed; ObjectNet: the
        ImageNet classes its mapping files map to), or None."""
        return self.classes if self.classes is not None else self.spec.classes

    @property
    def is_full(self) -> bool:
        """True when the set is complete: every class and the documented image count (ImageNet
        val: exactly the 50,000 official images)."""
        spec = self.spec
        if self.facts is not None and "complete_set" in self.facts:
            return bool(self.facts["complete_set"])
        if spec.name == DEFAULT:
            return (self.num_images == imagenet_meta.NUM_VAL_IMAGES
                    and self.image_ids == imagenet_meta.full_val_image_ids())
        return self.num_images == spec.num_images and self.num_classes == spec.num_classes

    def describe(self) -> str:
        """One line for the user: the set, its size and layout, and whether it is a subset."""
        spec = self.spec
        what = (f"{count(self.num_images, 'image')}, {count(self.num_classes, 'class', 'classes')}, "
                f"{self.layout} layout "
                f"at {self.root}, labels from {self.label_source}{self._source_words()}")
        if self.facts is not None and "accounting" in self.facts:
            what += f"; {self.facts['accounting']['sentence']}"
        if self.is_full:
            return f"full {spec.title}: {what}"
        if spec.name == DEFAULT:
            return (f"SUBSET of the {spec.title}: {what} ({self.num_images:,} of "
                    f"{spec.num_images:,} images; accuracies are not comparable to full-set figures)")
        return (f"SUBSET of {spec.title}: {what} ({self.num_images:,} of {spec.num_images:,} "
                f"images, {self.num_classes} of {spec.num_classes} classes; accuracies are not "
                f"comparable to full-set figures)")

    def _source_words(self) -> str:
        """How the images are read, when they are not files of a folder."""
        if not self.source:
            return ""
        files = self.source["files"]
        names = [os.path.basename(f["name"]) for f in files]
        first = names[0] + (f" ... {names[-1]}" if len(names) > 1 else "")
        size = self.source.get("uniform_size")
        small = (f"; every image sampled is {size} pixels: a resized copy, whose accuracies are "
                 f"not comparable to full-size figures" if size else "")
        return (f"; read by {self.source['reader']} from {count(len(files), 'file')} ({first}) "
                f"in {self.source['access']}; "
                f"rows by {self.source['identity']}{small}")

    def select(self, rows: Sequence[int]) -> "ValSet":
        """A new ValSet with only ``rows`` (kept in ImageFolder order)."""
        rows = sorted(set(int(r) for r in rows))
        return ValSet(self.root, self.layout, [self.image_ids[r] for r in rows],
                      [self.paths[r] for r in rows], self.labels[rows], self.label_source,
                      self.dataset, self.source, self.classes, self.facts)


def spaced_rows(num_images: int, n: int) -> List[int]:
    """``n`` row indices evenly spaced over ``num_images`` (all rows when n >= num_images)."""
    if n < 1:
        raise InputError(f"--n {n}: must be at least 1. Fix: pass --n 1 or more, or leave it out")
    if n >= num_images:
        return list(range(num_images))
    return sorted(set(np.linspace(0, num_images - 1, n).round().astype(int).tolist()))


def is_full(valset: ValSet) -> bool:
    """True when ``valset`` is the complete set (:attr:`ValSet.is_full`)."""
    return valset.is_full


def describe(valset: ValSet) -> str:
    """One line for the user (:meth:`ValSet.describe`)."""
    return valset.describe()


# --- discovery ----------------------------------------------------------------------------------

def discover(root: str, name: str = DEFAULT, devkit: Optional[str] = None) -> ValSet:
    """The images of test set ``name`` under ``root``, checked against its spec.

    Raises :class:`errors.InputError` saying what was found, what the set
    should look like, and how to fix it. A folder with fewer images than the
    complete set is a subset (:meth:`ValSet.describe` says so). ``devkit``
    labels flat ImageNet val files (the ILSVRC2012 devkit folder).
    """
    spec = get(name)
    if spec.mapped_subset:
        return _objectnet(root, spec, devkit)
    flat_ok = FLAT_OFFICIAL in spec.layouts
    if devkit and not flat_ok:
        raise InputError(f"--devkit labels flat ImageNet val files; {name} takes its "
                         f"labels from the folder names. Fix: drop --devkit")
    src = sources.open_source(root)
    if src is not None and src.tree is None:  # WebDataset shards, parquet, arrow
        if devkit:
            raise InputError(f"--devkit labels flat ImageNet val files; {src.root} holds its own "
                             f"labels (checked against the shipped val labels). Fix: drop --devkit")
        found, identity = source_rows.found(src, spec, DEFAULT)
        where = src.root
    else:
        tree = src.tree if src is not None else None
        root = src.root if src is not None else os.path.abspath(root)
        if spec.family and src is None:  # the family's download root, or the set's own folder
            root = FAMILIES[spec.family].locate(root, spec)
        found = _folder_layout(root, spec, devkit, tree)
        identity, where = "folder layout inside the tar", root
    if spec.name != DEFAULT and len(found.ids) > spec.num_images:  # val: custom images allowed
        held = (f"in {len({i.split('/')[0] for i in found.ids})} class folders" if src is None
                or src.tree is not None else f"in {count(len(src.files), 'file')}")
        raise InputError(f"{where}: found {len(found.ids):,} images {held}; {spec.title} has "
                         f"{spec.num_images:,} ({spec.count_source}). Fix: check "
                         f"that {name} is the set in this folder (NAME=DIR)")
    label_source = found.label_source if spec.name == DEFAULT or src is not None and src.tree is None \
        else spec.label_source
    return ValSet(where, found.layout, [spec.image_id(i) for i in found.ids], found.paths,
                  found.labels, label_source, dataset=name,
                  source=src.record(identity) if src is not None else None)


def _objectnet(root: str, spec: DatasetSpec, devkit: Optional[str]) -> ValSet:
    """The images of the ObjectNet download at ``root`` that count (:func:`objectnet.scan`)."""
    if devkit:
        raise InputError(f"--devkit labels flat ImageNet val files; {spec.name} takes its labels "
                         f"from its mappings/ files. Fix: drop --devkit")
    tree = objectnet.scan(root, layouts.is_image_file)
    images = os.path.join(tree.root, "images")
    classes = tuple(sorted(i for group in tree.mapping.classes.values() for i in group))
    return ValSet(tree.root, spec.layouts[0], [spec.image_id(p) for p, _ in tree.images],
                  [objectnet.Bordered(os.path.join(images, p), spec.border) for p, _ in tree.images],
                  np.asarray([lab for _, lab in tree.images], dtype=np.int16), spec.label_source,
                  dataset=spec.name, classes=classes, facts=objectnet.facts(tree))


def _folder_layout(root: str, spec: DatasetSpec, devkit: Optional[str], tree) -> layouts.Found:
    """The images of a folder layout at ``root`` (on disk, or ``tree``: inside a tar)."""
    folders, files = tree.top() if tree is not None else layouts.top_level(root, spec.title)
    if FLAT_OFFICIAL in spec.layouts:
        if folders and files:
            raise InputError(f"{root} mixes image files ({files[0]}, ...) and folders ({folders[0]}, "
                             f"...). Fix: use either one folder per wnid or a flat folder of images")
        if not folders and not files:
            raise InputError(f"no images found in {root} (looked for "
                             f"{', '.join(layouts.IMG_EXTENSIONS)} files or wnid folders). Fix: "
                             f"point at the {spec.title} directory")
        return (layouts.flat_official(root, files, devkit, tree=tree) if files else
                layouts.class_folders(root, folders, spec, check_official=True, tree=tree))
    if files or not folders:
        raise InputError(f"{root}: found {len(files)} image file(s) and {len(folders)} folder(s) "
                         f"at the top; {spec.title} is one folder per class "
                         f"({layouts.layout_words(spec)}). Fix: point at the folder that holds "
                         f"the class folders")
    return layouts.class_folders(root, folders, spec, tree=tree)
