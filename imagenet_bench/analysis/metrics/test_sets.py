"""Top-1 of each model on each test set cached (``robustness``: one row per model).

From each test set's results document (:func:`imagenet_bench.analysis.results.build`, one row
per cache): ``imagenet-val`` and ``real`` (its ReaL top-1, where the val images keep their
official file names), and each shifted set's top-1; for ImageNet-A/-R the set's column under
``options.protocol`` (masked to its 200 classes by default) and ``<set>-unmasked`` the
1,000-class top-1.
"""
from __future__ import annotations

from imagenet_bench.analysis import robustness
from imagenet_bench.analysis.metrics import accuracy
from imagenet_bench.analysis.metrics.base import Column

#: the name that asks for this metric in ``Options.extra`` (None: every robustness row has it)
EXTRA = None

# keys and headers are templates: {set} the test set, {short} its short name (DatasetSpec.short)
COLUMNS = (
    next(c for c in accuracy.COLUMNS if c.key == "model"),  # the one declaration, shared
    Column("{set}", "{short}", "%", "top-1 on the test set"),
    Column("{masked_set}", "{short} {protocol}", "%",
           "top-1 on the test set under its A/R protocol"),
    Column("{set}-unmasked", "{short} unmasked", "%",
           "top-1 on the test set over all 1,000 classes"),
    Column("real", "ReaL", "%", "top-1 against the ReaL labels of val"),
)


def applies(options) -> bool:
    """Always: every robustness row has it."""
    return True


def add(rows, caches, context) -> None:
    """Each set's top-1 of the row's model, read from that set's result row (None for ReaL
    where the val images have no ReaL labels)."""
    for row in rows:
        for name, found in context.results.items():
            result = found.get(row["model"])
            if result is None:
                continue
            row[name] = result["acc1"]
            if name == robustness.VAL:
                row["real"] = result["real_acc1"] if result.get("real_images") else None
            elif name in robustness.MASKED:
                row[f"{name}-unmasked"] = result.get("unmasked_acc1", result["acc1"])
