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
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.data import imagenet_meta
from imagenet_bench.data import real_labels
from imagenet_bench.analysis import stats
from imagenet_bench.analysis.compare import check_same_images
from imagenet_bench.analysis.scorer import DEFAULT_PROTOCOL, has_subset, protocol_correct, release


def _class_label(index: int) -> str:
    return f"{imagenet_meta.class_names()[index]} ({imagenet_meta.wnids()[index]})"


def per_class_rows(preds, top1: np.ndarray, labels: Optional[np.ndarray] = None,
                   ci: bool = False, confidence: float = stats.DEFAULT_CONFIDENCE,
                   protocol: Optional[str] = None) -> List[Dict]:
    """Top-1 accuracy of ``preds`` per class, one row per class present in the labels.

    ``top1`` is the per-image correctness (``scorer.correct(...)[0]``);
    ``labels`` defaults to ``preds.labels``. Accuracy is in percent; with
    ``ci`` the row carries ``top1_low``/``top1_high`` (Wilson); ``protocol``, the one
    ``top1`` was computed under, is recorded in the rows of an ImageNet-A/-R cache.
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
        if protocol and has_subset(preds):
            row["protocol"] = protocol
        rows.append(row)
    return rows


def wrong_agreement(top1_pred: np.ndarray, wrong: np.ndarray, cells: int = 1 << 25) -> np.ndarray:
    """Per image, how many models predict the single most common *wrong* class.

    ``top1_pred`` (models, N) predicted classes 0-999, ``wrong`` (models, N) bool.
    Counts each image's wrong predictions per class, one model at a time, in
    blocks of about ``cells`` image-class counters (memory bounded whatever N),
    and takes the largest count.
    """
    n_models, n = top1_pred.shape
    kind = np.int16 if n_models < 30000 else np.int32
    best = np.zeros(n, dtype=np.int64)
    step = max(1, cells // imagenet_meta.NUM_CLASSES)
    for a in range(0, n, step):
        b = min(n, a + step)
        counts = np.zeros((b - a, imagenet_meta.NUM_CLASSES), dtype=kind)
        for j in range(n_models):
            rows = np.flatnonzero(wrong[j, a:b])
            counts[rows, top1_pred[j, a + rows]] += 1  # one image at most once per model
        best[a:b] = counts.max(axis=1)
    return best


def _top1_pred(p, protocol: str = DEFAULT_PROTOCOL) -> np.ndarray:
    if protocol == "masked" and has_subset(p):
        return p.subset_top5_idx[:, 0]
    return p.top1_pred()


def _wrong_and_predicted(preds: Sequence, top1: Optional[Sequence[np.ndarray]],
                         protocol: str) -> Tuple[np.ndarray, np.ndarray]:
    """``wrong`` (models, N) bool, missing images aside, and the top-1 ``predicted``
    (models, N) int16 of ``preds``, one model at a time (each released after)."""
    m, n = len(preds), preds[0].num_images
    wrong = np.empty((m, n), dtype=bool)
    predicted = np.empty((m, n), dtype=np.int16)
    for j, p in enumerate(preds):
        right = (protocol_correct(p, protocol)[0] if top1 is None
                 else np.asarray(top1[j], dtype=bool))
        np.logical_not(right, out=wrong[j])
        if p.missing is not None:  # an unreadable image is not a vote for any class
            wrong[j] &= ~p.missing
        predicted[j] = _top1_pred(p, protocol)
        release(p)
    return wrong, predicted


def hard_example_rows(preds: Sequence, top1: Optional[Sequence[np.ndarray]] = None, limit: int = 100,
                      min_wrong: int = 1, with_real: bool = False,
                      protocol: str = DEFAULT_PROTOCOL) -> List[Dict]:
    """The images most of ``preds`` get wrong at top-1, hardest first.

    ``top1[j]`` is the per-image correctness of ``preds[j]`` (default
    ``scorer.correct``, computed one model at a time so memory holds two
    bytes and one bit per model and image, not a list of arrays); every model
    must cover the same images (same fingerprint). Images are ranked by the
    number of models that miss them, then by how many of those agree on one
    wrong class (``models_agreeing``: a strong hint of a label error), then
    by row. Each row lists the image, its label, and the wrong classes
    predicted instead (``name (wnid) xcount``, most frequent first).
    ``with_real`` adds the image's ReaL label set (Beyer et al. 2020). ImageNet-A/-R
    caches are scored under ``protocol`` (masked: the top-1 within the 200 classes is
    both the correctness and the class predicted instead), recorded in each row.
    """
    if not preds:
        return []
    for p in preds[1:]:
        check_same_images(preds[0], p)
    wrong, predicted = _wrong_and_predicted(preds, top1, protocol)
    n_wrong = wrong.sum(axis=0)
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
        if has_subset(first):
            row["protocol"] = protocol
        if real_sets is not None:
            real = [int(c) for c in real_sets[i] if c >= 0]
            row["real_labels"] = "; ".join(_class_label(c) for c in real) or "(none)"
        rows.append(row)
    return rows
