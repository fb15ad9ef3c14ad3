"""The preprocessing recipe and library versions each cache records (extra "recipe")."""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import Column
from imagenet_bench.models import recipe as recipes

#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = "recipe"

COLUMNS = (
    Column("recipe", "recipe", "", "the preprocessing, in words"),
    Column("resize", "resize", "pixels", "shorter side before the crop"),
    Column("crop", "crop", "pixels", "the crop (input) size"),
    Column("crop_mode", "crop mode", "", "center, squash or border"),
    Column("interpolation", "interpolation", "", "resize interpolation"),
    Column("mean", "mean", "", "normalisation mean per channel"),
    Column("std", "std", "", "normalisation std per channel"),
    Column("library_versions", "libraries", "", "library versions that made the cache"),
    Column("cache", "cache", "", "the cache file"),
)


def applies(options) -> bool:
    """With the extra "recipe"."""
    return EXTRA in options.extra


def describe(p) -> str:
    """The recipe of the cache ``p`` in words ("" when unrecorded)."""
    used = p.provenance.get("preprocessing")
    if isinstance(used, dict) and "crop" in used:
        return f"{used.get('mode', 'custom')}: {recipes.describe(used)}"
    return "" if used is None else str(used.get("mode", used) if isinstance(used, dict) else used)


def add(rows, preds, context) -> None:
    """The recipe in words and field by field, the library versions, the cache path."""
    for row, p in zip(rows, preds):
        rec = p.provenance.get("preprocessing")
        rec = rec if isinstance(rec, dict) else {}
        row.update(recipe=describe(p), resize=rec.get("resize"),
                   crop=rec.get("crop", rec.get("input_size")),
                   crop_mode=rec.get("crop_mode") or ("squash" if rec.get("squash") else "center"),
                   interpolation=rec.get("interpolation"),
                   mean=" ".join(repr(v) for v in rec.get("mean") or []) or None,
                   std=" ".join(repr(v) for v in rec.get("std") or []) or None,
                   library_versions=" ".join(f"{k}={v}" for k, v in sorted(
                       (p.provenance.get("library_versions") or {}).items())),
                   cache=p.path)
