"""Accuracy against custom labels (``labels=FILE.npy``: one class index per scored image)."""
from __future__ import annotations

from imagenet_bench.analysis import scorer
from imagenet_bench.analysis.metrics.base import Column, add_ranks

#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = None

COLUMNS = (
    Column("custom_acc1", "custom acc@1", "%", "top-1 against the custom labels"),
    Column("custom_acc5", "custom acc@5", "%", "top-5 against the custom labels"),
    Column("custom_rank1", "custom rank@1", "", "rank by custom top-1"),
    Column("custom_rank5", "custom rank@5", "", "rank by custom top-5"),
)


def applies(options) -> bool:
    """When ``labels`` names a file."""
    return options.custom_labels is not None


def add(rows, preds, context) -> None:
    """custom_acc1/5 over the scored images, and their ranks."""
    path = context.options.custom_labels
    for row, p in zip(rows, preds):
        labels = scorer.load_custom_labels(path, row["images"])
        c1, c5 = scorer.correct(p, labels=labels, rows=context.rows(p))
        row["custom_acc1"], row["custom_acc5"] = 100.0 * c1.mean(), 100.0 * c5.mean()
    add_ranks(rows, "custom_acc1", "custom_rank1")
    add_ranks(rows, "custom_acc5", "custom_rank5")
