"""Per-class accuracy and the images most models get wrong (numpy only).

* :func:`per_class_rows` — top-1 accuracy of one model for each class, with
  wnid and class name (and an optional Wilson interval).
* :func:`hard_example_rows` — images ranked by how many models miss them at
  top-1, with the classes they predict instead: a starting point for finding
  label errors (an image every model "gets wrong" the same way is often
  mislabelled). When ReaL labels are available the row shows them too.
"""
from __future__ import annotations

from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np

from imagenet_bench.data import imagenet_meta
from imagenet_bench.data import real_labels
from imagenet_bench.analysis import stats
from imagenet_bench.analysis.compare import check_same_images


def _class_label(index: int) -> str:
    return f"{imagenet_meta.class_names()[index]} ({imagenet_meta.wnids()[index]})"


def per_class_rows(preds, top1: np.ndarray, labels: Optional[np.ndarray] = None,
                   ci: bool = False, confidence: float = stats.DEFAULT_CONFIDENCE) -> List[Dict]:
    """Top-1 accuracy of ``preds`` per class, one row per class present in the labels.

    ``top1`` is the per-image correctness (``scorer.correct(...)[0]``);
    ``labels`` defaults to ``preds.labels``. Accuracy is in percent; with
    ``ci`` the row carries ``top1_low``/``top1_high`` (Wilson).
    """
    labels = np.asarray(preds.labels if labels is None else labels, dtype=np.int64)
    n_cls = imagenet_meta.NUM_CLASSES
    counts = np.bincount(labels, minlength=n_cls)
    right = np.bincount(labels, weights=np.asarray(top1, dtype=np.float64), minlength=n_cls)
    names, wnids = imagenet_meta.class_names(), imagenet_meta.wnids()
    rows = []
    for c in np.flatnonzero(counts):
        n, k = int(counts[c]), int(round(right[c]))
        row = {"model": preds.qualname, "class": int(c), "wnid": wnids[c], "name": names[c],
               "images": n, "correct": k, "top1": 100.0 * k / n}
        if ci:
            lo, hi = stats.wilson_interval(k, n, confidence)
            row["top1_low"], row["top1_high"] = 100.0 * lo, 100.0 * hi
        rows.append(row)
    return rows


def wrong_agreement(top1_pred: np.ndarray, wrong: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Per image, how many models predict the single most common *wrong* class.

    ``top1_pred`` (models, N) predicted classes, ``wrong`` (models, N) bool.
    Computed with a sort along the model axis and a run-length scan, ``chunk``
    images at a time (so memory stays a few times ``models x chunk`` bytes
    beyond the inputs, whatever N).
    """
    n_models, n = top1_pred.shape
    kind = np.int16 if n_models < 30000 else np.int32
    # right answers become unique negative values so they never form a run
    right = (-1 - np.arange(n_models)).astype(kind)[:, None]
    best = np.zeros(n, dtype=np.int64)
    for a in range(0, n, chunk):
        s = np.where(wrong[:, a:a + chunk], top1_pred[:, a:a + chunk].astype(kind), right)
        s.sort(axis=0)
        run = (s[0] >= 0).astype(np.int64)
        top = run.copy()
        for j in range(1, n_models):
            valid = s[j] >= 0
            run = np.where(valid & (s[j] == s[j - 1]), run + 1, valid.astype(np.int64))
            np.maximum(top, run, out=top)
        best[a:a + chunk] = top
    return best


def _top1_pred(p) -> np.ndarray:
    return p.top1_pred() if hasattr(p, "top1_pred") else p.top5_idx[:, 0]


def hard_example_rows(preds: Sequence, top1: Sequence[np.ndarray], limit: int = 100,
                      min_wrong: int = 1, with_real: bool = False) -> List[Dict]:
    """The images most of ``preds`` get wrong at top-1, hardest first.

    ``top1[j]`` is the per-image correctness of ``preds[j]``; every model
    must cover the same images (same fingerprint). Images are ranked by the
    number of models that miss them, then by how many of those agree on one
    wrong class (``models_agreeing``: a strong hint of a label error), then
    by row. Each row lists the image, its label, and the wrong classes
    predicted instead (``name (wnid) xcount``, most frequent first).
    ``with_real`` adds the image's ReaL label set (Beyer et al. 2020).
    """
    if not preds:
        return []
    for p in preds[1:]:
        check_same_images(preds[0], p)
    wrong = ~np.vstack([np.asarray(t, dtype=bool) for t in top1])
    for j, p in enumerate(preds):  # an unreadable image is not a vote for any class
        if p.missing is not None:
            wrong[j] &= ~p.missing
    n_wrong = wrong.sum(axis=0)
    predicted = np.vstack([_top1_pred(p) for p in preds])
    agree = wrong_agreement(predicted, wrong)
    order = np.lexsort((np.arange(n_wrong.size), -agree, -n_wrong))
    order = order[n_wrong[order] >= min_wrong][:limit]
    first = preds[0]
    ids = first.image_ids
    labels = first.labels
    real_sets = None
    if with_real:
        real_sets, _ = real_labels.rows_for(ids, first.fingerprint)
    rows = []
    for i in order:
        instead = Counter(int(c) for c in predicted[wrong[:, i], i])
        row = {
            "image": ids[i],
            "label": _class_label(int(labels[i])),
            "models_wrong": int(n_wrong[i]),
            "models": len(preds),
            "models_agreeing": int(agree[i]),
            "predicted_instead": "; ".join(f"{_class_label(c)} x{k}"
                                           for c, k in instead.most_common()),
        }
        if real_sets is not None:
            real = [int(c) for c in real_sets[i] if c >= 0]
            row["real_labels"] = "; ".join(_class_label(c) for c in real) or "(none)"
        rows.append(row)
    return rows
