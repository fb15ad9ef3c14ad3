"""Calibration (``extra=("calibration",)``, ``score --calibration``): ECE with 15 equal-width
bins (Guo et al. 2017) and 100 equal-mass bins (Minderer et al. 2021) on top-label
confidence, the rows on bin edges, exact NLL and Brier from the per-image figures of cache
format 3, and with logits the temperature fitted on the first 20 % and the figures after it
(:mod:`imagenet_bench.analysis.calibration_rows`; docs/analysis.md#calibration)."""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import Column
from imagenet_bench.errors import InputError

#: the name that asks for this metric in ``Options.extra``
EXTRA = "calibration"

COLUMNS = (
    Column("calibration_images", "cal. images", "images",
           "images the calibration figures are computed on (the rows after the first 20 %)"),
    Column("ece15", "ECE-15w", "", "expected calibration error, 15 equal-width bins, L1",
           decimals=4),
    Column("ties15", "ties 15w", "images", "rows whose confidence lies on an equal-width bin edge"),
    Column("ece100", "ECE-100m", "", "expected calibration error, 100 equal-mass bins, L1",
           decimals=4),
    Column("ties100", "ties 100m", "images",
           "rows a tied confidence moves out of the equal-mass bin of their rank"),
    Column("nll", "NLL", "nats", "mean negative log-likelihood of the labelled class", decimals=4),
    Column("brier", "Brier", "", "mean Brier score, summed over the classes", decimals=4),
    Column("temperature", "T", "", "temperature fitted by NLL on the first 20 % of rows",
           decimals=4),
    Column("ece15_ts", "ECE-15w TS", "", "ECE-15w after temperature scaling", decimals=4),
    Column("ece100_ts", "ECE-100m TS", "", "ECE-100m after temperature scaling", decimals=4),
    Column("nll_ts", "NLL TS", "nats", "NLL after temperature scaling", decimals=4),
    Column("brier_ts", "Brier TS", "", "Brier after temperature scaling", decimals=4),
    Column("calibration_note", "calibration note", "",
           "why a calibration figure is empty (no per-image figures, no logits, no finite T)"),
)


def applies(options) -> bool:
    """When ``"calibration"`` is in ``Options.extra``."""
    return EXTRA in options.extra


def add(rows, preds, context) -> None:
    """The calibration figures of every cache (every image of it, split by row order, against
    its own labels, ImageNet-A/-R under ``options.protocol``)."""
    from imagenet_bench.analysis import calibration_rows
    from imagenet_bench.cache.store import read_logits
    o = context.options
    if o.keep or o.omit or o.labels:
        raise InputError("--calibration: the calibration figures are those of every image of a "
                         "cache (split by row order) against its own labels. Fix: leave "
                         "--keep/--omit/--labels out of a --calibration run")
    for row, p in zip(rows, preds):
        row.update(calibration_rows.cache_row(p, o.protocol, read_logits(p)))
