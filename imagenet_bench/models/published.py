"""Measured against published accuracy, with the likely reason for a shortfall (stdlib only).

The published figures come from the registry (the catalog entry of the
cache's base weights: ``torch:inception_v3.IMAGENET1K_V1+legacy2019`` is
measured against ``torch:inception_v3.IMAGENET1K_V1``, each weights tag
against its own figure). A model is *flagged* when its
measured top-1 is more than ``margin`` percentage points below the published
top-1. The likely reason is read from what the cache records — preprocessing
recipe, weights, image count, unreadable images. A flagged model whose cache
records nothing that explains the gap says so (with the library versions
that made it) rather than guess.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from imagenet_bench.models import recipe as recipes
from imagenet_bench.models import registry
from imagenet_bench.report import tables as report

DEFAULT_MARGIN = 1.0  # percentage points of top-1

COLUMNS = [
    report.Column("published_acc5", "published@5"),
    report.Column("delta_acc5", "Δ@5", signed=True),
    report.Column("below_published", "flag"),
    report.Column("likely_reason", "likely reason"),
]


def _spec(preds) -> Optional[registry.ModelSpec]:
    return registry.spec_of(preds.qualname)


def _settings(preds) -> tuple:
    mid = registry.identity_of(preds.qualname)
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


def likely_reasons(row: Dict, preds, spec: registry.ModelSpec) -> List[str]:
    """Everything the cache records that makes the measurement differ from the published setup."""
    reasons = []
    settings = _settings(preds)
    weights = str(preds.provenance.get("weights", ""))
    if "random" not in settings and weights.startswith("random"):
        reasons.append("random weights")
    for s in settings:
        if s in SETTING_REASONS:
            reasons.append(SETTING_REASONS[s])
        elif s.startswith("ckpt-"):
            reasons.append(f"weights from a checkpoint file ({s}), not {spec.weights}")
    diff = recipe_difference(preds, spec)
    if diff:
        reasons.append(diff)
    if row.get("images") and row["images"] != 50000:
        reasons.append(f"{row['images']} images, not the 50,000 of the published figure")
    if row.get("missing"):
        reasons.append(f"{row['missing']} unreadable images counted wrong")
    return reasons


def compare_to_published(row: Dict, preds, margin: float = DEFAULT_MARGIN) -> Dict:
    """Published acc@5, its difference, the flag and the likely reason for one score row.

    ``row`` is a score row (``acc1``, ``acc5``, ``images``, ``missing``);
    ``preds`` the predictions it came from. The flag is set when
    ``acc1 < published_acc1 - margin``. The reason is given for every row
    whose setup departs from the published one, flagged or not.
    """
    spec = _spec(preds)
    if spec is None or spec.published_acc1 is None:
        why = ("not in the registry: no published figure" if spec is None else
               f"{spec.qualname} has no published figure in the registry")
        return {"published_acc5": None, "delta_acc5": None, "below_published": None,
                "likely_reason": why}
    flagged = bool(row["acc1"] < spec.published_acc1 - margin)
    reasons = likely_reasons(row, preds, spec)
    if flagged and not reasons:
        libs = preds.provenance.get("library_versions") or {}
        made = ", ".join(f"{k} {v}" for k, v in sorted(libs.items())) or "unrecorded libraries"
        reasons = [f"not explained by the cache (recipe, weights and images match the published "
                   f"setup; made with {made})"]
    return {
        "published_acc5": spec.published_acc5,
        "delta_acc5": row["acc5"] - spec.published_acc5 if spec.published_acc5 is not None else None,
        "below_published": flagged,
        "likely_reason": "; ".join(reasons),
    }
