"""Each shifted test set's difference to ImageNet val (``robustness``: one row per model).

``delta_<set>`` = top-1 on the set minus top-1 on full val. For a set of 200 classes
(ImageNet-A/-R) also ``val200_<set>``: val restricted to the same classes (their images, the
predictions masked to them under ``options.protocol``: timm's "clean" baseline;
:func:`imagenet_bench.analysis.robustness.val_restricted`) and ``delta_<set>_val200`` the set
minus it. A masked baseline is left empty where some val row's top-5 holds none of the
classes and the cache has no full probabilities; a note says for which models.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

from imagenet_bench.analysis import robustness, scorer
from imagenet_bench.analysis.metrics.base import Column
from imagenet_bench.data import datasets

#: the name that asks for this metric in ``Options.extra`` (None: every robustness row has it)
EXTRA = None

COLUMNS = (
    Column("delta_{set}", "Δ{short}-val", "points", "top-1 on the test set minus top-1 on val",
           signed=True),
    Column("val200_{set}", "val@{short}200", "%", "top-1 on val within the set's 200 classes"),
    Column("delta_{set}_val200", "Δ{short}-val200", "points",
           "top-1 on the test set minus val's within its 200 classes", signed=True),
)


def applies(options) -> bool:
    """Always: every robustness row with a val cache has it."""
    return True


def add(rows, caches, context) -> None:
    """The differences of every row whose model has a val cache (``caches``: one
    ``{test set: cache}`` per row)."""
    undetermined: Dict[str, List[str]] = {}  # one note per set, naming the models
    for row, by_set in zip(rows, caches):
        val = by_set.get(robustness.VAL)
        if val is None:
            continue
        for name in robustness.SHIFTED:
            if name not in by_set:
                continue
            row[f"delta_{name}"] = row[name] - row[robustness.VAL]
            if name in robustness.MASKED and datasets.get(name).classes is not None:
                images, n = _add_val200(row, val, name, context.options.protocol)
                if n:
                    undetermined.setdefault(_undetermined(name, images), []).append(
                        f"{row['model']}: {n}")
        scorer.release(val)
    context.notes += [robustness.note_for(kind, ms) for kind, ms in undetermined.items()]


def _add_val200(row, val, name: str, protocol: str) -> Tuple[int, int]:
    """val200_<name> and delta_<name>_val200 of ``row``; ``(val images of the classes, of
    them undetermined)``."""
    classes = datasets.get(name).classes
    unmasked, masked, images, undetermined = robustness.val_restricted(val, classes, name)
    base = masked if protocol == "masked" else unmasked
    row[f"val200_{name}"] = base
    row[f"delta_{name}_val200"] = None if base is None else row[name] - base
    return images, undetermined


def _undetermined(name: str, images: int) -> str:
    return (f"val restricted to {name}'s classes is undetermined for some of its {images} "
            f"images for {{models}} (none of their top-5 is among the classes); predict "
            f"imagenet-val with --save-all-probs for that baseline")
