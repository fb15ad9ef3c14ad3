"""THE registry of metrics: one module per metric, each declaring its columns and computing them.

Every module of :data:`MODULES` declares

* ``EXTRA``: the name that asks for it in ``Options.extra`` (None: other options decide);
* ``COLUMNS``: a tuple of :class:`Column` (key, header, unit, meaning) -- the one place a
  result column is defined; the tables of ``score``, ``sweep collect``, the HTML report's
  data and the Python API's ``Results`` take their keys and headers from here;
* ``applies(options) -> bool``: whether the metric is asked for (:class:`Options`);
* ``add(rows, preds, context)``: fill its columns into ``rows`` (one dict per cache of
  ``preds``, same order), reading the caches and earlier metrics' columns.

:func:`imagenet_bench.analysis.results.build` runs them in :data:`MODULES` order (a metric
reads the columns of those before it). Adding a metric is one module here, its test, and one
line in :data:`MODULES` (docs/EXTENDING.md, "Adding a metric"). numpy and stdlib only.
"""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import Column, Context, Options
from imagenet_bench.analysis.metrics import (accuracy, calibration, costs, custom_labels,
                                             intervals, published_figure, real, recipe, timing)

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

__all__ = ["accuracy", "Column", "Context", "Options", "MODULES", "columns", "column", "extras"]


def extras():
    """The names ``Options.extra`` takes: each metric module's ``EXTRA``, in module order."""
    return [m.EXTRA for m in MODULES if m.EXTRA]


def columns():
    """Every declared column by key, in module order; TypeError on a key declared twice."""
    out = {}
    for module in MODULES:
        for col in module.COLUMNS:
            if col.key in out:
                raise TypeError(f"column {col.key!r} declared twice ({module.__name__})")
            out[col.key] = col
    return out


def column(key: str) -> Column:
    """The declared column ``key``; KeyError naming the metric registry otherwise."""
    try:
        return columns()[key]
    except KeyError:
        raise KeyError(f"{key!r} is no column of a metric (analysis/metrics)") from None
