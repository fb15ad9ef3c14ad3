"""Parameters and GFLOPs of each row's architecture, from the catalog (extra "costs")."""
from __future__ import annotations

from imagenet_bench.analysis.metrics.base import Column
from imagenet_bench.models import registry

#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = "costs"

COLUMNS = (
    Column("params", "params", "parameters", "parameter count (catalog)"),
    Column("params_m", "params (M)", "millions", "parameter count in millions (catalog)"),
    Column("gflops", "GFLOPs", "GFLOPs", "GFLOPs per image at the catalog's input size"),
)


def applies(options) -> bool:
    """With the extra "costs"."""
    return EXTRA in options.extra


def of_model(model) -> dict:
    """The cost columns of ``model`` (a ModelId or canonical id; None where unknown)."""
    spec = registry.spec_of(model)
    entry = spec.entry if spec else None
    params = entry.params if entry is not None and entry.params else None
    return {"params": params, "params_m": params / 1e6 if params else None,
            "gflops": entry.gflops if entry is not None and entry.gflops else None}


def add(rows, preds, context) -> None:
    """params, params_m and gflops of every row."""
    for row, p in zip(rows, preds):
        row.update(of_model(p.model_id))
