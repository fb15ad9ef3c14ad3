"""Throughput recorded by the run that made the cache (its ``timing`` provenance; extra "timing")."""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import Column

#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = "timing"

COLUMNS = (
    Column("images_per_s", "images/s", "images/s", "end-to-end images per second of the run"),
    Column("model_images_per_s", "model images/s", "images/s", "images per second in the model alone"),
    Column("device", "device", "", "the device the run used"),
    Column("batch_size", "batch", "images", "the run's batch size"),
)


def applies(options) -> bool:
    """With the extra "timing"."""
    return EXTRA in options.extra


def _rate(value):
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def add(rows, preds, context) -> None:
    """The timing record's rates, device and batch size (None where not recorded)."""
    for row, p in zip(rows, preds):
        timing = p.provenance.get("timing")
        timing = timing if isinstance(timing, dict) else {}
        row.update(images_per_s=_rate(timing.get("images_per_s")),
                   model_images_per_s=timing.get("model_images_per_s"),
                   device=timing.get("device"), batch_size=timing.get("batch_size"))
