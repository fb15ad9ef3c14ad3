"""Measured against published accuracy, with the likely reason for a shortfall (stdlib only).

Which table of published results covers which test set is the dataset
registry's (``DatasetSpec.published_table``, :mod:`imagenet_bench.data.datasets`).

The published figure of a cache belongs to the cache's test set
(:func:`figure`). On ImageNet-val it comes from the registry (the catalog
entry of the cache's base weights: ``torch:inception_v3.IMAGENET1K_V1+legacy2019``
is measured against ``torch:inception_v3.IMAGENET1K_V1``, each weights tag
against its own figure). On ImageNetV2 MatchedFrequency, ImageNet-A, -R,
-Sketch and for ReaL labels it comes from timm's results tables
(:mod:`timm_results`), at the setting of the entry's own val figure; where
nobody published one (torchvision and Keras publish val only; timm has no
table for the other two ImageNetV2 sets) the figure is empty and
:attr:`Figure.note` says why. A model is *flagged* when its
measured top-1 is more than ``margin`` percentage points below the published
top-1. The likely reason is read from what the cache records — preprocessing
recipe, weights, image count, unreadable images. A flagged model whose cache
records nothing that explains the gap says so (with the library versions
that made it) rather than guess.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Dict, List, Optional

from imagenet_bench.data import datasets
from imagenet_bench.models import libraries
from imagenet_bench.models import recipe as recipes
from imagenet_bench.models import registry, timm_results

DEFAULT_MARGIN = 1.0  # percentage points of top-1

VAL = datasets.DEFAULT
REAL = "real"  # ReaL labels of the val images (``score --labels real``)
#: test set (``--dataset`` value, or :data:`REAL`) -> its table in :mod:`timm_results`
TIMM_TABLES = {**{s.name: s.published_table for s in datasets.DATASETS.values() if s.published_table},
               REAL: "real"}
#: sets whose published figures restrict the output to the set's class subset (timm's validate.py
#: --valid-labels with the imagenet_{a,r}_indices.txt beside its results, the papers' protocol):
#: compared with masked@1/@5
MASKED = tuple(s.name for s in datasets.DATASETS.values() if s.subset_file and s.published_table)
_PUBLISHES_VAL_ONLY = {"torch": "torchvision", "keras": "keras.applications"}


@dataclass(frozen=True)
class Figure:
    """The published accuracy of one model's weights on one test set."""

    top1: Optional[float]  # percent; None when nobody published one
    top5: Optional[float]  # percent; None when not published
    source: str  # where top1/top5 come from ('' when there is no figure)
    note: str  # why there is no figure ('' when there is one)


def _none(note: str) -> Figure:
    return Figure(None, None, "", note)


def figure(model: str, dataset: str = VAL) -> Figure:
    """The published top-1/top-5 of ``model``'s base weights on ``dataset``, or why there is none.

    ``model``: a canonical id (``timm:resnet18.a1_in1k+bf16`` -> its base weights);
    ``dataset``: a ``--dataset`` value or :data:`REAL`. Val: the registry's figure.
    Other sets: timm's table of that set, in the row of the setting (image size,
    crop_pct) at which timm published the entry's val figure; never the val figure.
    """
    spec = registry.spec_of(model)
    if spec is None:
        return _none("not in the registry: no published figure")
    if dataset == VAL:
        if spec.published_acc1 is None:
            return _none(f"{spec.qualname} has no published figure in the registry")
        return Figure(spec.published_acc1, spec.published_acc5, spec.entry.source or "", "")
    table = TIMM_TABLES.get(dataset)
    if table is None:
        return _none(f"no published figure on {dataset}: timm's results tables cover "
                     f"{', '.join(d for d in TIMM_TABLES if d != VAL)} only")
    own = _library_figures(spec.framework)
    if own is not None:
        top1 = own["models"].get(str(spec.id), {}).get(table)
        if top1 is None:
            return _none(f"no published figure on {dataset}: {own['file']} of {own['repo']} has "
                         f"none for {spec.qualname}")
        return Figure(top1, None, own["source"], "")
    if spec.framework != "timm":
        lib = _PUBLISHES_VAL_ONLY.get(spec.framework, spec.framework)
        return _none(f"no published figure on {dataset}: {lib} publishes ImageNet-val figures only")
    row = _timm_row(spec)
    if row is None:
        return _none(f"no published figure on {dataset}: timm's tables have no row of "
                     f"{spec.qualname} at the setting of its val figure")
    top1, top5 = row.top[table]
    if top1 is None:
        return _none(f"no published figure on {dataset}: timm's "
                     f"{timm_results.DATASETS[table]} has no row of {spec.qualname}")
    return Figure(top1, top5, timm_results.describe(row, table), "")


@functools.lru_cache(maxsize=None)
def _library_figures(framework: str) -> Optional[dict]:
    """The published figures per test set that ``framework``'s library declares
    (``Library.published``), or None."""
    lib = libraries.find(framework)
    if lib is None or lib.published is None:
        return None
    data = json.loads(resources.files(lib.published[0]).joinpath(lib.published[1])
                      .read_text(encoding="utf-8"))
    return {"models": data["models"], "source": str(data.get("source", "/".join(lib.published))),
            "file": str(data.get("file", lib.published[1])), "repo": str(data.get("repo", lib.name))}


def _library_reasons(framework: str) -> Dict[str, str]:
    lib = libraries.find(framework)
    return dict(lib.capabilities.name_settings) if lib is not None else {}


def _timm_row(spec: registry.ModelSpec) -> Optional[timm_results.Row]:
    """timm's row of the setting its published val figure (the registry's) was measured at."""
    for row in timm_results.rows(spec.qualname):
        if row.img_size == spec.input_size and row.top["imagenet"][0] == spec.published_acc1:
            return row
    return None


def measured(row: Dict, dataset: str, k: int = 1) -> Optional[float]:
    """The score row's top-``k`` (1 or 5) that the published figure of ``dataset`` is compared
    with: ``masked_acc<k>`` on ImageNet-A/-R (see :data:`MASKED`) when the cache has it, else
    ``acc<k>``."""
    if dataset in MASKED and row.get(f"masked_acc{k}") is not None:
        return row[f"masked_acc{k}"]
    return row.get(f"acc{k}")


def _spec(preds) -> Optional[registry.ModelSpec]:
    return registry.spec_of(preds.model_id)


def _settings(preds) -> tuple:
    mid = preds.model_id
    return mid.settings if mid is not None else ()


#: run settings -> why they make a measurement differ from the published figure
SETTING_REASONS = {
    "random": "random weights", "bf16": "autocast bfloat16 (published figures are float32)",
    "fp16": "autocast float16 (published figures are float32)",
    "tf32": "TF32 matmuls (published figures are float32)",
    "onnx-int8": "int8 quantization", "quantized": "quantized weights",
}


def recipe_difference(preds, spec: registry.ModelSpec) -> str:
    """How the cache's preprocessing departs from the reference recipe ('' if it does not).

    Compared as pixels (crop mode, resize side, crop, interpolation:
    :func:`recipes.geometry`), so a timm cache's ``crop_mode``/``crop_pct``
    record and the registry's recipe of the same tag agree."""
    used = preds.provenance.get("preprocessing")
    if not isinstance(used, dict):
        return f"preprocessing not recorded as a recipe ({used!r})" if used else ""
    ref = spec.recipe("reference").as_dict()
    filled = dict(ref)  # what the cache does not record is taken as the reference's
    if {"crop_mode", "squash"} & set(used):
        filled.pop("crop_mode", None)
        filled.pop("squash", None)
    filled.update(used)
    if recipes.geometry(filled) == recipes.geometry(ref):
        return ""
    mode = used.get("mode", "custom")
    return f"{mode} preprocessing ({recipes.describe(used)}; reference: {recipes.describe(ref)})"


def likely_reasons(row: Dict, preds, spec: registry.ModelSpec, full_images: int = 50000) -> List[str]:
    """Everything the cache records that makes the measurement differ from the published setup.

    ``full_images``: the image count of the complete test set the figure was measured on.
    """
    reasons = []
    settings = _settings(preds)
    weights = str(preds.provenance.get("weights", ""))
    if "random" not in settings and weights.startswith("random"):
        reasons.append("random weights")
    for s in settings:
        if s in SETTING_REASONS:
            reasons.append(SETTING_REASONS[s])
        elif s in _library_reasons(spec.framework):
            reasons.append(_library_reasons(spec.framework)[s])
        elif s.startswith("ckpt-"):
            reasons.append(f"weights from a checkpoint file ({s}), not {spec.weights}")
    diff = recipe_difference(preds, spec)
    if diff:
        reasons.append(diff)
    if row.get("images") and row["images"] != full_images:
        reasons.append(f"{row['images']:,} images, not the {full_images:,} of the published figure")
    if row.get("missing"):
        reasons.append(f"{row['missing']} unreadable images counted wrong")
    return reasons


def compare_to_published(row: Dict, preds, margin: float = DEFAULT_MARGIN,
                         full_images: int = 50000) -> Dict:
    """Published acc@5, its difference, the flag and the likely reason for one score row.

    ``row`` is a score row (``acc1``, ``acc5``, ``images``, ``missing``, ``test_set``);
    ``preds`` the predictions it came from; ``full_images`` the size of the
    complete test set. The published figure is that of the row's test set
    (:func:`figure`); on ImageNet-A/-R it is compared with the masked top-1
    (:func:`measured`). The flag is set when the measured top-1 is below
    ``published_acc1 - margin``. The reason is given for every row whose setup
    departs from the published one, flagged or not; a row without a figure
    carries the note why.
    """
    dataset = row.get("test_set", VAL)
    fig = figure(preds.qualname, dataset)
    spec = _spec(preds)
    if spec is None or fig.top1 is None:
        return {"published_acc5": None, "delta_acc5": None, "below_published": None,
                "likely_reason": fig.note}
    flagged = bool(measured(row, dataset) < fig.top1 - margin)
    reasons = likely_reasons(row, preds, spec, full_images)
    if flagged and not reasons:
        libs = preds.provenance.get("library_versions") or {}
        made = ", ".join(f"{k} {v}" for k, v in sorted(libs.items())) or "unrecorded libraries"
        reasons = [f"not explained by the cache (recipe, weights and images match the published "
                   f"setup; made with {made})"]
    return {
        "published_acc5": fig.top5,
        "delta_acc5": measured(row, dataset, 5) - fig.top5 if fig.top5 is not None else None,
        "below_published": flagged,
        "likely_reason": "; ".join(reasons),
    }
