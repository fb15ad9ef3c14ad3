"""Effective robustness on each shifted test set (``robustness``: one row per model).

Taori et al., "Measuring Robustness to Natural Distribution Shifts in Image Classification"
(NeurIPS 2020): fit ``logit(shifted top-1) = a + b * logit(val top-1)`` by least squares
across the models present (at least 3, at two val accuracies or more), and ``er_<set>`` is
each model's shifted top-1 minus the fit's prediction, in points
(:func:`imagenet_bench.analysis.robustness.effective_robustness`). The fits go to
``context.fits``; a set without one gets a note saying why.
"""
from __future__ import annotations

from imagenet_bench.analysis import robustness
from imagenet_bench.analysis.metrics.base import Column

#: the name that asks for this metric in ``Options.extra`` (None: every robustness row has it)
EXTRA = None

COLUMNS = (
    Column("er_{set}", "ER {short}", "points",
           "effective robustness: top-1 above the fit of the baselines", signed=True),
)


def applies(options) -> bool:
    """Always: every robustness table has it."""
    return True


def _images(found) -> int:
    """The image count of a test set (its result rows share one image list)."""
    return next(iter(found.values()))["images"] if found else 0


def add(rows, caches, context) -> None:
    """er_<set> of every model with a val and a <set> top-1, the fit of every shifted set
    (over every row: fits before any selection of models), or the note why there is none."""
    val_set = robustness.VAL
    n_val = _images(context.results.get(val_set))
    val = {r["model"]: r[val_set] for r in rows if r.get(val_set) is not None}
    for name, found in context.results.items():
        if name == val_set:
            continue
        shifted = {r["model"]: r[name] for r in rows if r.get(name) is not None}
        er, fit = ({}, None)
        if val_set in context.results:
            er, fit = robustness.effective_robustness(val, shifted, name, n_val, _images(found))
        if fit is None:
            context.notes.append(robustness.no_fit_reason(val, shifted, name))
            continue
        context.fits[name] = fit
        for r in rows:
            if r["model"] in er:
                r[f"er_{name}"] = er[r["model"]]
