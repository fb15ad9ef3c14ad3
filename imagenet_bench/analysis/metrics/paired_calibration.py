"""The calibration of two caches side by side (``compare --calibration``, extra "calibration"):
each model's ECE with 15 equal-width and 100 equal-mass bins on the rows after the first 20 %
that both predicted, and ECE(A) - ECE(B) with its paired percentile bootstrap interval
(:func:`imagenet_bench.analysis.calibration_rows.paired_row`; docs/analysis.md#calibration)."""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import Column, bounds

#: the name that asks for this metric in ``Options.extra``
EXTRA = "calibration"

COLUMNS = (
    Column("calibration_images", "cal. images", "images",
           "images both models' calibration is measured on"),
    *(c for key, name in (("ece15", "ECE-15w"), ("ece100", "ECE-100m")) for c in (
        Column(f"{key}_a", f"{name} A", "", f"{name} of A", decimals=4),
        Column(f"{key}_b", f"{name} B", "", f"{name} of B", decimals=4),
        Column(f"{key}_diff", f"{name} A-B", "", f"{name} of A minus that of B", signed=True,
               decimals=4),
        *bounds(f"{key}_diff", f"{name} A-B", "", "bootstrap", signed=True, decimals=4))),
    Column("calibration_note", "calibration note", "",
           "why the pair has no calibration figures (no rows, or a confidence unknown)"),
)


def applies(options) -> bool:
    """When ``"calibration"`` is in ``Options.extra``."""
    return EXTRA in options.extra


def add(rows, pairs, context) -> None:
    """Both models' ECE and their difference with its bootstrap interval, per pair, under
    ``options.protocol`` at ``options.confidence``."""
    from imagenet_bench.analysis import calibration_rows
    o = context.options
    for row, (a, b) in zip(rows, pairs):
        row.update(calibration_rows.paired_row(a, b, o.protocol, o.confidence))
