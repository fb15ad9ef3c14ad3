"""Wilson score intervals of every accuracy a row holds (``ci``; at ``confidence``)."""
from __future__ import annotations

from imagenet_bench.analysis import stats
from imagenet_bench.analysis.metrics.base import Column

#: the accuracies that get an interval, where a row has them
KEYS = ("acc1", "acc5", "masked_acc1", "real_acc1", "custom_acc1", "custom_acc5")
_HEADERS = {"acc1": "acc@1", "acc5": "acc@5", "masked_acc1": "masked@1", "real_acc1": "ReaL@1",
            "custom_acc1": "custom acc@1", "custom_acc5": "custom acc@5"}
#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = None

COLUMNS = tuple(Column(f"{k}_{end}", f"{_HEADERS[k]} {end}", "%",
                       f"{'lower' if end == 'low' else 'upper'} bound of the Wilson interval of {k}")
                for k in KEYS for end in ("low", "high"))


def applies(options) -> bool:
    """With ``ci``."""
    return options.ci


def add(rows, preds, context) -> None:
    """``<key>_low``/``<key>_high`` of every accuracy of :data:`KEYS` a row has."""
    for row in rows:
        for key in KEYS:
            stats.add_interval(row, key, context.options.confidence)
