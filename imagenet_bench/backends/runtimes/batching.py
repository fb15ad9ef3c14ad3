"""The batch-size rows: ``batch1`` (a PyTorch model one image at a time) and ``batchN`` (a Keras
model in batches of ``-b N``): each runtime's reference, run at the other batch size."""
from __future__ import annotations

from imagenet_bench.models.variants import KERAS, TORCH, Variant


def _batch1(ctx):
    return ctx.plain(ctx.config_for("batch1", batch_size=1))


def _batch_n(ctx):
    return ctx.plain(ctx.config_for("batchN", batch_size=ctx.batch_size))


VARIANTS = (
    Variant("batch1", "batches of one image", TORCH, _batch1,
            elsewhere="the Keras reference already runs one image at a time; see batchN"),
    Variant("batchN", "batches of -b N in one call", KERAS, _batch_n,
            elsewhere="the PyTorch reference already runs batches of {batch_size} (-b); see batch1"),
)
