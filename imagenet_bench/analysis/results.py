"""THE results document: one row per cache, every column from the metric registry.

:func:`build` is the one builder of result rows: ``score`` (every format), the HTML report's
data, ``sweep collect`` (its long table and timm's format) and the Python API's
``imagenet_bench.score`` call it. Each metric of :data:`metrics.MODULES` that the options
ask for adds its columns (:mod:`imagenet_bench.analysis.metrics`); the rows come back ranked
by top-1 (then top-5, framework, model). numpy and the standard library only.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

from imagenet_bench.analysis import metrics, scorer
from imagenet_bench.analysis.metrics import Context, Options
from imagenet_bench.errors import InputError

__all__ = ["Options", "build", "check_options"]


def check_options(options: Options) -> Options:
    """``options`` when their values are valid; InputError naming the option otherwise."""
    scorer.check_protocol(options.protocol)
    if not 0.0 < options.confidence < 1.0:
        raise InputError(f"--confidence {options.confidence}: must be between 0 and 1. Fix: "
                         f"pass a level such as 0.95")
    unknown = set(options.extra) - set(metrics.extras())
    if unknown:
        raise InputError(f"extra={sorted(unknown)}: unknown metric groups. Fix: choose among "
                         f"{', '.join(metrics.extras())}")
    return options


def build(preds: Sequence, options: Options = Options(), ranked: bool = True) -> List[Dict]:
    """The result rows of ``preds`` (caches) under ``options``: ranked by top-1 (then top-5,
    framework, model), or with ``ranked=False`` one per cache in the order of ``preds``.

    Every row holds the columns of every metric that applies (see
    :func:`imagenet_bench.analysis.metrics.columns` for their keys, units and meanings).
    """
    context = Context(check_options(options))
    rows: List[Dict] = [{} for _ in preds]
    order = list(range(len(preds)))
    for module in metrics.MODULES:
        if module.applies(options):
            module.add([rows[i] for i in order], [preds[i] for i in order], context)
        if module is metrics.accuracy:  # later metrics see the rows in table order
            order.sort(key=lambda i: (-rows[i]["acc1"], -rows[i]["acc5"], rows[i]["framework"],
                                      rows[i]["model"]))
    for p in preds:
        scorer.release(p)
    return [rows[i] for i in order] if ranked else rows
