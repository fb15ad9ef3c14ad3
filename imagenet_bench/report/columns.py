"""Column definitions of the tables that more than one command or module renders (stdlib only).

A table's columns live in ``report/``, beside the renderer (:mod:`report.tables`);
the analysis modules compute rows (dicts) and never import this package.
"""
from __future__ import annotations

from imagenet_bench.report.tables import Column

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
