"""THE registry of metrics: one module per metric, each declaring its columns and computing them.

Every module of :data:`MODULES`, :data:`PAIRED` and :data:`ACROSS_SETS` declares

* ``EXTRA``: the name that asks for it in ``Options.extra`` (None: other options decide);
* ``COLUMNS``: a tuple of :class:`Column` (key, header, unit, meaning) -- the one place a
  result column is defined; the tables of ``score``, ``compare``, ``robustness``,
  ``sweep collect``, the HTML report's data and the Python API's ``Results`` take their keys
  and headers from here (``report.columns`` derives its table columns from them);
* ``applies(options) -> bool``: whether the metric is asked for (:class:`Options`);
* ``add(rows, items, context)``: fill its columns into ``rows`` (one dict per item of
  ``items``, same order), reading the items and earlier metrics' columns.

The three tuples are the three shapes of row :mod:`imagenet_bench.analysis.results` builds:
:data:`MODULES` one row per cache (``build``: items are caches), :data:`PAIRED` one row per
pair of caches over the same images (``paired``: items are ``(a, b)`` pairs; ``compare``),
:data:`ACROSS_SETS` one row per model across test sets (``across_sets``: items are
``{test set: cache}`` dicts, ``context.results`` each set's ``build`` rows; ``robustness``).
Each runs its modules in order (a metric reads the columns of those before it). Adding a
metric is one module here, its test, and one line in its tuple (docs/EXTENDING.md, "Adding a
metric"). numpy and stdlib only.
"""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import Column, Context, Options
from imagenet_bench.analysis.metrics import (accuracy, calibration, costs, custom_labels,
                                             effective_robustness, intervals, paired,
                                             paired_calibration, published_figure, real, recipe,
                                             test_sets, timing, val_difference)

#: the metric modules, in the order they run
MODULES = (
    accuracy,
    custom_labels,
    real,
    published_figure,
    intervals,
    costs,
    timing,
    recipe,
    calibration,
)

#: the metric modules of a paired comparison (one row per pair of caches), in the order they run
PAIRED = (
    paired,
    paired_calibration,
)

#: the metric modules of one model across test sets (one row per model), in the order they run
ACROSS_SETS = (
    test_sets,
    val_difference,
    effective_robustness,
)

__all__ = ["accuracy", "ACROSS_SETS", "Column", "Context", "Options", "MODULES", "PAIRED",
           "TABLES", "columns", "column", "extras", "modules"]

#: the tables of result rows, each made by the modules of one tuple (:func:`modules`)
TABLES = ("results", "compare", "robustness")


def modules(table: str = "results"):
    """The metric modules that make the rows of ``table`` (:data:`TABLES`): "results" one row
    per cache, "compare" one per pair of caches, "robustness" one per model across sets."""
    return {"results": MODULES, "compare": PAIRED, "robustness": ACROSS_SETS}[table]


def extras():
    """The names ``Options.extra`` takes: each metric module's ``EXTRA``, in module order."""
    return list(dict.fromkeys(m.EXTRA for t in TABLES for m in modules(t) if m.EXTRA))


def columns(table: str = "results"):
    """Every column of ``table`` by key, in module order; TypeError on a key declared twice
    (the robustness table's keys are templates: ``{set}`` a test set's name)."""
    out = {}
    for module in modules(table):
        for col in module.COLUMNS:
            if col.key in out:
                raise TypeError(f"column {col.key!r} declared twice ({module.__name__})")
            out[col.key] = col
    return out


def column(key: str, table: str = "results") -> Column:
    """The declared column ``key`` of ``table``; KeyError naming the metric registry otherwise."""
    try:
        return columns(table)[key]
    except KeyError:
        raise KeyError(f"{key!r} is no column of a metric (analysis/metrics)") from None
