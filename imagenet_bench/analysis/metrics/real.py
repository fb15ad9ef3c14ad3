"""ReaL top-1 (Beyer et al. 2020, arXiv:2006.07159): right when the prediction is in the
image's ReaL label set; images with an empty set left out (``labels="real"``)."""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import REAL, Column, add_ranks

#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = None

COLUMNS = (
    Column("real_acc1", "ReaL@1", "%", "top-1 against the ReaL label sets"),
    Column("real_rank1", "ReaL rank", "", "rank by ReaL top-1"),
    Column("real_images", "ReaL images", "images", "scored images with a non-empty ReaL set"),
)


def applies(options) -> bool:
    """When ``labels`` is "real"."""
    return options.labels == REAL


def add(rows, preds, context) -> None:
    """real_acc1 and real_images over the scored images, and the rank."""
    from imagenet_bench.data import real_labels
    for row, p in zip(rows, preds):
        sel = context.rows(p)
        if sel is None:
            sel = slice(None)
        correct, valid = real_labels.real_correct(p)
        row["real_acc1"] = 100.0 * correct[sel].sum() / max(1, valid[sel].sum())
        row["real_images"] = int(valid[sel].sum())
    add_ranks(rows, "real_acc1", "real_rank1")
