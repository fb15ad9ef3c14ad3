"""ImageNet-C (Hendrycks & Dietterich, ICLR 2019): its 95 folders as test sets, its protocol.

The released download is ``<corruption>/<severity 1-5>/<wnid>/ILSVRC2012_val_*.JPEG``:
15 benchmark corruptions (the mCE is their mean) and 4 extra ones
(``speckle_noise``, ``gaussian_blur``, ``spatter``, ``saturate``; the
"extra" tar), 5 severities each, 50,000 images per severity folder. Each
(corruption, severity) folder is one test set, ``imagenet-c-<corruption>-<severity>``
(``imagenet-c-gaussian_noise-3``), declared in :data:`SPECS` and collected by
:mod:`imagenet_bench.data.datasets` like any other set, so ``predict``, the
caches and ``sweep`` treat it as one. :func:`scan` reads a download (or the
part of it a user has: the ``noise`` tar alone is accepted) and refuses a
layout that is not the released one, naming the folder.

The released images are already 224 x 224: the benchmark resized the val
images to 256, centre-cropped 224, corrupted them and saved JPEG quality 85.
Its evaluation (``ImageNet-C/test.py`` of github.com/hendrycks/robustness:
``CenterCrop(224)``, ``ToTensor``, ``Normalize``) does not resize. The
protocols (:data:`PROTOCOLS`): ``benchmark`` feeds the 224 pixels as they are
(recipe resize 224 = no resize, centre crop 224, the model's own
normalisation), whatever the model's native size; ``model-crop`` resizes the
224 image to the model's own crop size (for models whose native input is not
224). A run records the one used in its recipe overrides, and the tables
name it. Standard library only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from imagenet_bench.data import imagenet_meta, layouts
from imagenet_bench.data.layouts import WNID_FOLDERS
from imagenet_bench.data.spec import DatasetSpec
from imagenet_bench.errors import InputError

FAMILY = "imagenet-c"
#: the 15 benchmark corruptions, in the paper's order (noise, blur, weather, digital)
CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur",
               "motion_blur", "zoom_blur", "snow", "frost", "fog", "brightness", "contrast",
               "elastic_transform", "pixelate", "jpeg_compression")
#: the 4 extra corruptions of the release (held out of the mCE)
EXTRA = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
SEVERITIES = (1, 2, 3, 4, 5)
IMAGES_PER_SET = imagenet_meta.NUM_VAL_IMAGES
RELEASED_SIDE = 224  # side of every released image
#: evaluation protocols: name -> what it does (see the module's docstring)
PROTOCOLS = {
    "benchmark": "the benchmark's own (hendrycks/robustness ImageNet-C/test.py): no resize, "
                 "centre crop 224, the model's normalisation",
    "model-crop": "the 224 image resized to the model's own crop size, then centre-cropped; "
                  "the model's normalisation",
}
DEFAULT_PROTOCOL = "benchmark"
_SOURCE = "github.com/hendrycks/robustness (download links in its README)"
_PAPER = ('Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions '
          'and Perturbations", ICLR 2019, arXiv:1903.12261')


def set_name(corruption: str, severity: int) -> str:
    """The test set of one corruption at one severity: ``imagenet-c-gaussian_noise-3``."""
    return f"{FAMILY}-{corruption}-{severity}"


def parse(name: str) -> Optional[Tuple[str, int]]:
    """``(corruption, severity)`` of an ImageNet-C set's name; None for any other set."""
    head, _, sev = name.rpartition("-")
    corruption = head[len(FAMILY) + 1:] if head.startswith(FAMILY + "-") else ""
    if corruption in CORRUPTIONS + EXTRA and sev.isdigit() and int(sev) in SEVERITIES:
        return corruption, int(sev)
    return None


def _spec(corruption: str, severity: int) -> DatasetSpec:
    extra = " (extra corruption, not in the mCE)" if corruption in EXTRA else ""
    return DatasetSpec(
        set_name(corruption, severity), f"ImageNet-C {corruption} severity {severity}{extra}",
        (WNID_FOLDERS,), "folder names (the val image's wnid)", IMAGES_PER_SET,
        "the ImageNet val set, each image corrupted once per severity (the paper, section 3)",
        source=_SOURCE, licence="code Apache-2.0 (Dan Hendrycks); images: ImageNet terms of access",
        paper=_PAPER, shifted=False, short=f"{corruption}-{severity}", family=FAMILY,
        subfolder=f"{corruption}/{severity}")


#: one spec per (corruption, severity): the 75 benchmark sets, then the 20 extra ones
SPECS: Tuple[DatasetSpec, ...] = tuple(_spec(c, s) for c in CORRUPTIONS + EXTRA for s in SEVERITIES)


def recipe_options(dataset: str, protocol: str, model_crop: int) -> Optional[Dict[str, int]]:
    """The recipe options (``resize``, ``crop``) of ``protocol`` for a model whose own crop is
    ``model_crop``; None when ``dataset`` is not an ImageNet-C set."""
    if parse(dataset) is None:
        return None
    if protocol not in PROTOCOLS:
        raise InputError(f"--corruption-protocol {protocol!r}: unknown. Fix: choose one of "
                         f"{', '.join(PROTOCOLS)}")
    side = RELEASED_SIDE if protocol == "benchmark" else int(model_crop)
    return {"resize": side, "crop": side}


def protocol_of(recipe_overrides: Dict) -> str:
    """The protocol a run's recorded recipe overrides say it used (``custom`` for others)."""
    resize, crop = recipe_overrides.get("resize"), recipe_overrides.get("crop")
    if resize is None or resize != crop:
        return "custom"
    return "benchmark" if resize == RELEASED_SIDE else f"model-crop ({crop})"


def locate(root: str, spec: DatasetSpec) -> str:
    """The folder of ``spec``'s images: ``root/<corruption>/<severity>`` when ``root`` is a
    download (it holds corruption folders), else ``root`` itself (the severity folder)."""
    inside = os.path.join(root, spec.subfolder)
    if os.path.isdir(inside):
        return inside
    held = [c for c in CORRUPTIONS + EXTRA if os.path.isdir(os.path.join(root, c))]
    if held:
        raise InputError(f"{root}: no folder {spec.subfolder} for --dataset {spec.name} (this "
                         f"download holds {', '.join(held[:4])}{' ...' if len(held) > 4 else ''}). "
                         f"Fix: extract the tar holding {spec.subfolder.split('/')[0]}, or name a "
                         f"set that is there")
    return root


@dataclass(frozen=True)
class Tree:
    """What :func:`scan` found in an ImageNet-C download."""

    root: str
    folders: Dict[str, str]  # set name -> its severity folder, in SPECS order
    missing: List[str]  # corruptions of the release that are absent (whole folders)


def scan(root: str) -> Tree:
    """The severity folders of the ImageNet-C download at ``root`` (or part of it).

    Refuses, naming the path: a folder that is no corruption of the release, a
    wnid folder where a corruption or severity folder belongs, a corruption
    folder without all 5 severities or with another folder in it."""
    root = os.path.abspath(root)
    folders, files = layouts.top_level(root, "ImageNet-C")
    wnids = imagenet_meta.wnid_to_index()
    if not folders:
        raise InputError(f"{root}: no corruption folders ({len(files)} image file(s) at the top). "
                         f"Fix: point at the folder that holds gaussian_noise/, shot_noise/, ... "
                         f"(the extracted ImageNet-C tars)")
    for f in folders:
        if f in wnids:
            raise InputError(f"{os.path.join(root, f)}: a wnid folder at the top of an ImageNet-C "
                             f"download; the layout is <corruption>/<severity 1-5>/<wnid>/. "
                             f"Fix: point at the folder that holds the corruption folders")
        if f not in CORRUPTIONS + EXTRA:
            raise InputError(f"{os.path.join(root, f)}: not an ImageNet-C corruption (the release "
                             f"has {', '.join(CORRUPTIONS + EXTRA)}). Fix: remove or rename it")
    found: Dict[str, str] = {}
    for corruption in CORRUPTIONS + EXTRA:
        if corruption in folders:
            found.update(_severities(os.path.join(root, corruption), corruption, wnids))
    missing = [c for c in CORRUPTIONS + EXTRA if c not in folders]
    return Tree(root, {s.name: found[s.name] for s in SPECS if s.name in found}, missing)


def _severities(folder: str, corruption: str, wnids) -> Dict[str, str]:
    subs = sorted(e for e in os.listdir(folder)
                  if not e.startswith(".") and os.path.isdir(os.path.join(folder, e)))
    for s in subs:
        if s in wnids:
            raise InputError(f"{os.path.join(folder, s)}: a wnid folder directly in a corruption "
                             f"folder; the layout is {corruption}/<severity 1-5>/<wnid>/. Fix: "
                             f"move the class folders into their severity folder")
        if s not in {str(v) for v in SEVERITIES}:
            raise InputError(f"{os.path.join(folder, s)}: not a severity (1 ... 5). Fix: remove "
                             f"or rename it")
    absent = [str(v) for v in SEVERITIES if str(v) not in subs]
    if absent:
        raise InputError(f"{folder}: severity folder(s) {', '.join(absent)} missing (the release "
                         f"has 1 ... 5 for every corruption). Fix: extract the whole tar of "
                         f"{corruption}, or remove the folder {folder}")
    return {set_name(corruption, v): os.path.join(folder, str(v)) for v in SEVERITIES}


def check_counts(counts: Dict[str, int], folders: Dict[str, str]) -> None:
    """Refuse severity folders whose image counts differ (every one holds the same val images):
    the folder whose count is not the most common one is named."""
    if not counts:
        return
    values = list(counts.values())
    usual = max(set(values), key=values.count)
    odd = [n for n, c in counts.items() if c != usual]
    if odd:
        name = odd[0]
        raise InputError(f"{folders[name]}: {counts[name]:,} images, but {values.count(usual)} "
                         f"other severity folder(s) hold {usual:,} (every folder of the release "
                         f"holds the same {IMAGES_PER_SET:,} val images). Fix: re-extract that "
                         f"folder's tar, or predict each folder on its own")
