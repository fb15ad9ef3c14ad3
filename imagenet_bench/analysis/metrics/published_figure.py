"""The published figure of each row's weights on its test set, and the difference to it.

Always: ``published_acc1`` and ``delta_acc1`` (against the masked top-1 on ImageNet-A/-R),
with a note where there is no figure. With ``published``: the top-5 difference, the flag
(measured top-1 more than ``margin`` points below) and the likely reason
(:func:`imagenet_bench.analysis.published.compare_to_published`); with ReaL labels also the
published ReaL top-1 and its difference.
"""
from __future__ import annotations

from imagenet_bench.analysis import published
from imagenet_bench.analysis.metrics.base import REAL, Column
from imagenet_bench.data import datasets

#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = None

COLUMNS = (
    Column("published_acc1", "published@1", "%", "the published top-1 of these weights on this test set"),
    Column("delta_acc1", "Δ@1", "points", "measured minus published top-1 (A/R: masked)", signed=True),
    Column("published_note", "published note", "", "why there is no published figure"),
    Column("published_source", "published source", "", "where the published figure comes from (or why none)"),
    Column("measured_acc1", "measured@1", "%", "the top-1 compared with the published figure"),
    Column("published_acc5", "published@5", "%", "the published top-5"),
    Column("delta_acc5", "Δ@5", "points", "measured minus published top-5", signed=True),
    Column("below_published", "flag", "", "measured top-1 more than the margin below the published one"),
    Column("likely_reason", "likely reason", "", "why the setup departs from the published one"),
    Column("published_real_acc1", "published ReaL@1", "%", "the published ReaL top-1"),
    Column("delta_real_acc1", "ΔReaL@1", "points", "measured minus published ReaL top-1", signed=True),
)


def applies(options) -> bool:
    """Always (``published`` adds the comparison columns)."""
    return True


def of_model(model, test_set: str) -> dict:
    """The published columns of ``model`` (a ModelId or canonical id) on ``test_set``:
    published_acc1, published_acc5, published_note, published_source."""
    fig = published.figure(model, test_set)
    return {"published_acc1": fig.top1, "published_acc5": fig.top5, "published_note": fig.note,
            "published_source": "; ".join(t for t in (fig.source, fig.differs) if t) or fig.note}


def add(rows, preds, context) -> None:
    """The published figure, the difference, and with ``published`` the comparison."""
    options = context.options
    for row, p in zip(rows, preds):
        name = row["test_set"]
        row.update(of_model(p.model_id, name))
        if row.get("protocol") == "unmasked" and datasets.get(name).published_table:
            row["published_note"] = (f"{name}'s published figure is masked to its "
                                     f"{datasets.get(name).num_classes} classes; "
                                     f"pass --protocol masked to compare with it")
            row["published_acc1"] = row["published_acc5"] = None
        row["measured_acc1"] = published.measured(row, name)
        row["delta_acc1"] = (row["measured_acc1"] - row["published_acc1"]
                             if row["published_acc1"] is not None else None)
        if options.published:
            full = datasets.get(name).num_images
            row.update(published.compare_to_published(row, p, options.margin, full_images=full))
            if options.labels == REAL:
                real = published.figure(row["model"], published.REAL).top1
                row["published_real_acc1"] = real
                row["delta_real_acc1"] = row["real_acc1"] - real if real is not None else None
