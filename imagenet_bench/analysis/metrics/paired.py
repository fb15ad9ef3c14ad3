"""The paired comparison of two caches over the same images (``compare``: one row per pair).

From the two models' per-image correctness over the same images (same fingerprint), the 2x2
table (both right / only A / only B / neither) gives McNemar's exact test of equal accuracy
(:func:`stats.mcnemar_exact`), the difference A - B with Newcombe's paired interval
(:func:`stats.paired_difference_interval`), each accuracy with its Wilson interval, and the
counts of images only one of the two gets right. ``options.labels``: None (each cache's own
labels, ImageNet-A/-R under ``options.protocol``) or "real" (the ReaL sets, Beyer et al. 2020;
images with an empty set left out); ``options.top``: 1 or 5. Every image of the caches counts.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from imagenet_bench.analysis import scorer, stats
from imagenet_bench.analysis.compare import CompareError, check_same_images
from imagenet_bench.analysis.metrics import accuracy
from imagenet_bench.analysis.metrics.base import REAL, Column, bounds

#: the name that asks for this metric in ``Options.extra`` (None: every comparison has it)
EXTRA = None

P, PTS, IMG = "%", "points", "images"
COLUMNS = (
    Column("model_a", "model A", "", "the first model of the pair"),
    Column("model_b", "model B", "", "the second model of the pair"),
    Column("images", "images", IMG, "images both models were scored on"),
    Column("acc_a", "acc A", P, "top-1 accuracy of A on these images"),
    *bounds("acc_a", "acc A", P, "Wilson"),
    Column("acc_b", "acc B", P, "top-1 accuracy of B on these images"),
    *bounds("acc_b", "acc B", P, "Wilson"),
    Column("diff", "A-B", PTS, "top-1 of A minus top-1 of B", signed=True),
    *bounds("diff", "A-B", PTS, "Newcombe paired", signed=True),
    Column("only_a", "only A right", IMG, "images A gets right and B wrong"),
    Column("only_b", "only B right", IMG, "images B gets right and A wrong"),
    Column("p_text", "p (McNemar exact)", "", "McNemar's exact p-value, as text"),
    Column("log10_p", "log10 p", "", "log10 of McNemar's exact p-value"),
    Column("p_value", "p", "", "McNemar's exact p-value"),
    next(c for c in accuracy.COLUMNS if c.key == "protocol"),  # the one declaration, shared
)


def applies(options) -> bool:
    """Always: every comparison has it."""
    return True


def of_vectors(name_a: str, correct_a: np.ndarray, name_b: str, correct_b: np.ndarray,
               valid: Optional[np.ndarray] = None,
               confidence: float = stats.DEFAULT_CONFIDENCE) -> Dict:
    """One comparison row from two boolean correctness vectors over the same images.

    ``valid`` (optional bool mask) restricts the comparison to some images (e.g. those with a
    ReaL label). Accuracies and the difference are in percent, each with its Wilson interval
    (``acc_a_low`` ...); ``p_value`` is McNemar's exact two-sided p-value (``log10_p`` its
    log10, finite where ``p_value`` underflows; ``p_text`` formatted).
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise CompareError(f"{name_a} has {a.shape[0]} rows, {name_b} has {b.shape[0]}; "
                           f"a paired comparison needs the same images. Fix: compare caches of "
                           f"the same test set (`imagenet-bench score` lists each cache's images)")
    if valid is not None:
        a, b = a[valid], b[valid]
    n = int(a.size)
    both = int(np.count_nonzero(a & b))
    only_a = int(np.count_nonzero(a)) - both
    only_b = int(np.count_nonzero(b)) - both
    neither = n - both - only_a - only_b
    diff, low, high = stats.paired_difference_interval(both, only_a, only_b, neither, confidence)
    test = stats.mcnemar_exact(only_a, only_b)
    (a_lo, b_lo), (a_hi, b_hi) = stats.wilson_interval(
        np.array([both + only_a, both + only_b]), np.array([n, n]), confidence)
    return {
        "model_a": name_a, "model_b": name_b, "images": n,
        "acc_a": 100.0 * (both + only_a) / n if n else float("nan"),
        "acc_b": 100.0 * (both + only_b) / n if n else float("nan"),
        "acc_a_low": 100.0 * a_lo, "acc_a_high": 100.0 * a_hi,
        "acc_b_low": 100.0 * b_lo, "acc_b_high": 100.0 * b_hi,
        "diff": 100.0 * diff, "diff_low": 100.0 * low, "diff_high": 100.0 * high,
        "only_a": only_a, "only_b": only_b,
        "p_value": test.p_value, "log10_p": test.log10_p,
        "p_text": stats.format_p(test.p_value, test.log10_p),
    }


def correctness(preds, options):
    """Per-image correctness of ``preds`` at top-``options.top`` and the mask of the images
    that count (None: all) under ``options.labels`` (None or "real") and ``options.protocol``."""
    k, labels = options.top, options.labels
    if k not in (1, 5):
        raise CompareError(f"--top {k}: not a top-k this tool scores. Fix: --top 1 or --top 5")
    if labels == REAL:
        from imagenet_bench.data import real_labels
        return real_labels.real_correct(preds, k)
    if labels is not None:
        raise CompareError(f"--labels {labels!r}: not a label source of compare. Fix: --labels "
                           f"original or --labels real")
    top1, top5 = scorer.protocol_correct(preds, options.protocol)
    return (top1 if k == 1 else top5), None


def add(rows, pairs, context) -> None:
    """The comparison of each pair ``(a, b)`` of ``pairs`` (same images required); a row of
    ImageNet-A/-R caches scored against their own labels carries its ``protocol``."""
    options = context.options
    for row, (a, b) in zip(rows, pairs):
        check_same_images(a, b)
        correct_a, valid = correctness(a, options)
        correct_b, _ = correctness(b, options)
        row.update(of_vectors(a.qualname, correct_a, b.qualname, correct_b, valid,
                              options.confidence))
        if options.labels is None and (scorer.has_subset(a) or scorer.has_subset(b)):
            row["protocol"] = options.protocol
