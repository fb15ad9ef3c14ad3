"""Column definitions of the tables that more than one command or module renders (stdlib only).

A table's columns live in ``report/``, beside the renderer (:mod:`report.tables`);
the analysis modules compute rows (dicts) and never import this package.
"""
from __future__ import annotations

from imagenet_bench.report.tables import Column

#: the ``score`` table: rank, model, accuracies, the published figure and its difference
SCORE = [
    Column("rank1", "rank@1"), Column("framework", "framework"),
    Column("model", "model"), Column("acc1", "acc@1"),
    Column("acc5", "acc@5"), Column("rank5", "rank@5"),
    Column("images", "images"), Column("published_acc1", "published@1"),
    Column("delta_acc1", "Δ@1", signed=True),
]
#: what ``score --labels FILE`` adds (accuracies against the custom labels)
CUSTOM_LABELS = [
    Column("custom_acc1", "custom acc@1"), Column("custom_acc5", "custom acc@5"),
    Column("custom_rank1", "custom rank@1"), Column("custom_rank5", "custom rank@5"),
]


def score(rows, mixed: bool = False, custom_labels: bool = False):
    """The ``score`` table's columns for ``rows``: :data:`SCORE`, plus the dataset (``mixed``),
    masked@1 (ImageNet-A/-R rows), unreadable images and :data:`CUSTOM_LABELS` where they apply."""
    columns = list(SCORE)
    if mixed:
        columns.append(Column("dataset", "dataset"))
    if any("masked_acc1" in r for r in rows):
        columns.insert(4, Column("masked_acc1", "masked@1"))
    if any(r["missing"] for r in rows):
        columns.append(Column("missing", "unreadable"))
    if custom_labels:
        columns += CUSTOM_LABELS
    return columns


#: what ``score --published`` adds after ``delta_acc1`` (rows of analysis.published.compare_to_published)
PUBLISHED = [
    Column("published_acc5", "published@5"),
    Column("delta_acc5", "Δ@5", signed=True),
    Column("below_published", "flag"),
    Column("likely_reason", "likely reason"),
]

#: the paired table of ``verify variants`` (rows of analysis.variants), in the issue's order
VARIANTS = [
    Column("variant", "variant"),
    Column("status", "status"),
    Column("top1", "top1%"),
    Column("top5", "top5%"),
    Column("delta_top1", "dtop1", signed=True),
    Column("delta_low", "low", signed=True),
    Column("delta_high", "high", signed=True),
    Column("flips_to_wrong", "to_wrong"),
    Column("flips_to_right", "to_right"),
    Column("mcnemar_p", "mcnemar_p", fmt=".3g"),
    Column("top5_agreement", "top5_agree%"),
    Column("mean_abs_dprob", "mean_abs_dprob", fmt=".3g"),
    Column("max_abs_dprob", "max_abs_dprob", fmt=".3g"),
    Column("images_per_s", "img/s", decimals=1),
]
