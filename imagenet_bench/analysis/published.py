"""Measured against published accuracy, with the likely reason for a shortfall (stdlib only).

Which table of published results covers which test set is the dataset
registry's (``DatasetSpec.published_table``, :mod:`imagenet_bench.data.datasets`).

The published figure of a cache belongs to the cache's test set
(:func:`figure`). On ImageNet-val it comes from the registry (the catalog
entry of the cache's base weights: ``torch:inception_v3.IMAGENET1K_V1+legacy2019``
is measured against ``torch:inception_v3.IMAGENET1K_V1``, each weights tag
against its own figure). On ImageNetV2 MatchedFrequency, ImageNet-A, -R,
-Sketch and for ReaL labels it comes from the results tables the entry's
library declares (``Library.results_tables``: timm's, :mod:`timm_results`),
at the setting of the entry's own val figure; where nobody published one
(torchvision and Keras declare none: they publish val only; timm has no
table for the other two ImageNetV2 sets) the figure is empty and
:attr:`Figure.note` says why. A model is *flagged* when its
measured top-1 is more than ``margin`` percentage points below the published
top-1. The likely reason is read from what the cache records — preprocessing
recipe, weights, image count, unreadable images. A flagged model whose cache
records nothing that explains the gap says so (with the library versions
that made it) rather than guess. A ``+test-size`` cache of a timm tag is
measured against timm's row at the tag's ``test_input_size``/``test_crop_pct``,
on every set (val included), and its recipe against that test-time recipe.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from imagenet_bench.data import datasets
from imagenet_bench.models import recipe as recipes
from imagenet_bench.models import libraries, registry

DEFAULT_MARGIN = 1.0  # percentage points of top-1

VAL = datasets.DEFAULT
REAL = "real"  # ReaL labels of the val images (``score --labels real``)
#: test set (``--dataset`` value, or :data:`REAL`) -> its table in a library's results tables
TABLES = {**{s.name: s.published_table for s in datasets.DATASETS.values() if s.published_table},
               REAL: "real"}
#: sets whose published figures restrict the output to the set's class subset (timm's validate.py
#: --valid-labels with the imagenet_{a,r}_indices.txt beside its results, the papers' protocol;
#: ObjectNet's zero-shot figures over its 113 classes): compared with masked@1/@5
MASKED = tuple(s.name for s in datasets.DATASETS.values() if s.masked and s.published_table)


@dataclass(frozen=True)
class Figure:
    """The published accuracy of one model's weights on one test set."""

    top1: Optional[float]  # percent; None when nobody published one
    top5: Optional[float]  # percent; None when not published
    source: str  # where top1/top5 come from ('' when there is no figure)
    note: str  # why there is no figure ('' when there is one)
    differs: str = ""  # how the published setup differs from what is scored ('' when it does not)


def _none(note: str) -> Figure:
    return Figure(None, None, "", note)


def figure(model, dataset: str = VAL) -> Figure:
    """The published top-1/top-5 of ``model``'s base weights on ``dataset``, or why there is none.

    ``model``: a cache's ``ModelId`` (a reader's), or a canonical id string (a table row's,
    a plan's): ``timm:resnet18.a1_in1k+bf16`` -> its base weights;
    ``dataset``: a ``--dataset`` value or :data:`REAL`. Val: the registry's figure.
    Other sets: the table of that set in the results tables of the entry's library
    (``Library.results_tables``), in the row of the setting (image size, crop_pct) at
    which the library published the entry's val figure; never the val figure.
    """
    spec = registry.spec_of(model)
    if spec is None:
        return _none("not in the registry: no published figure")
    test_size = _test_size(model)
    if test_size:
        return _test_size_figure(spec, dataset)
    if dataset == VAL:
        if spec.entry.published_top1 is None:
            return _none(f"{spec.id} has no published figure in the registry")
        return Figure(spec.entry.published_top1, spec.entry.published_top5, spec.entry.source or "", "")
    table = TABLES.get(dataset)
    family = datasets.get(dataset).family if dataset in datasets.DATASETS else ""
    if table is None and dataset in datasets.DATASETS and datasets.get(dataset).published_note:
        return _none(datasets.get(dataset).published_note)
    if table is None and family:
        return _none(f"no published top-1 per {family} set ({family}-*): results on it are "
                     f"reported as the mCE (`imagenet-bench robustness --corruptions summary`)")
    if table is None:
        publishers = [_publisher(lib) for lib in libraries.libraries() if lib.results_tables]
        return _none(f"no published figure on {dataset}: {' and '.join(publishers) or 'no library'}"
                     f"'s results tables cover {', '.join(d for d in TABLES if d != VAL)} only")
    lib = libraries.get(spec.id.framework)
    if lib.results_tables is None:
        return _none(f"no published figure on {dataset}: {_publisher(lib)} publishes ImageNet-val "
                     f"figures only")
    tables = lib.import_adapter(lib.results_tables)
    if table not in tables.DATASETS:
        return _none(datasets.get(dataset).published_note or
                     f"no published figure on {dataset}: {_publisher(lib)}'s results tables "
                     f"have no {dataset} table")
    row = _row_of_val_figure(tables, spec)
    if row is None:
        return _none(f"no published figure on {dataset}: {_publisher(lib)}'s tables have no row "
                     f"of {spec.id} at the setting of its val figure")
    top1, top5 = row.top[table]
    if top1 is None:
        return _none(f"no published figure on {dataset}: {_publisher(lib)}'s "
                     f"{tables.DATASETS[table]} has no row of {spec.id}")
    return Figure(top1, top5, tables.describe(row, table), "", tables.CAVEATS.get(table, ""))


def _library_reasons(framework: str) -> Dict[str, str]:
    lib = libraries.find(framework)
    return dict(lib.capabilities.name_settings) if lib is not None else {}


def _test_size(model) -> bool:
    """Whether the canonical id ``model`` (string or ModelId) asks for ``+test-size``."""
    mid = registry.identity_of(model) if isinstance(model, str) else model
    return mid is not None and recipes.TEST_SIZE in mid.settings


def _test_size_figure(spec: registry.ModelSpec, dataset: str) -> Figure:
    """The library's published row of ``spec`` at its test_input_size/test_crop_pct (timm's
    ``use_test_size=True`` setting), on ``dataset`` (val included)."""
    lib = libraries.get(spec.id.framework)
    table = TABLES.get(dataset)
    size, pct = spec.entry.test_input_size, spec.entry.test_crop_pct
    if table is None or lib.results_tables is None:
        return _none(f"no published figure on {dataset} at the test size: {_publisher(lib)} "
                     f"publishes no results table of it")
    if size is None:
        return _none(f"{spec.id} has no test size in the registry")
    tables = lib.import_adapter(lib.results_tables)
    row = tables.find(str(spec.id), size, pct)
    top1, top5 = row.top[table] if row is not None else (None, None)
    if top1 is None:
        return _none(f"no published figure on {dataset} at the test size: {_publisher(lib)}'s "
                     f"{tables.DATASETS[table]} has no row of {spec.id} at img_size {size}, "
                     f"crop_pct {pct:.3f}")
    return Figure(top1, top5, tables.describe(row, table), "")


def _publisher(lib: libraries.Library) -> str:
    return lib.publisher or lib.name


def _row_of_val_figure(tables, spec: registry.ModelSpec):
    """The library's row of the setting its published val figure (the registry's) was measured
    at, or None."""
    for row in tables.rows(str(spec.id)):
        if (row.img_size == spec.entry.input_size
                and row.top[TABLES[VAL]][0] == spec.entry.published_top1):
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
    ref = ((_test_size(preds.model_id) and recipes.test_size(spec.entry))
           or spec.recipe("reference")).as_dict()
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
        elif s in _library_reasons(spec.id.framework):  # Capabilities.name_settings
            reasons.append(_library_reasons(spec.id.framework)[s])
        elif s.startswith("ckpt-"):
            reasons.append(f"weights from a checkpoint file ({s}), not {spec.id.tag}")
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
    fig = figure(preds.model_id, dataset)
    if dataset in MASKED and row.get("protocol") == "unmasked":  # scored unmasked: not comparable
        fig = _none(row.get("published_note") or f"{dataset}'s published figure is masked")
    spec = _spec(preds)
    if spec is None or fig.top1 is None:
        return {"published_acc5": None, "delta_acc5": None, "below_published": None,
                "likely_reason": fig.note}
    flagged = bool(measured(row, dataset) < fig.top1 - margin)
    reasons = [fig.differs] * bool(fig.differs) + likely_reasons(row, preds, spec, full_images)
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
