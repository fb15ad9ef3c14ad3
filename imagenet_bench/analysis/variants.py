"""Paired statistics of one model run several ways: the ``verify variants`` table (numpy only).

Every variant (batch 1, bfloat16, ONNX Runtime, another Keras backend, ...)
is scored against the reference run (fp32, eager, the framework's default
backend) of the SAME weights on the SAME images:

* ``top1``/``top5``: the variant's accuracies (percent) on the scored rows;
* ``delta_top1`` = variant - reference (percentage points), with
  ``delta_low``/``delta_high`` its Newcombe (1998, method 10) paired 95%
  interval (:func:`stats.paired_difference_interval`);
* ``flips_to_wrong``: images the reference gets right and the variant wrong;
  ``flips_to_right`` the reverse -- McNemar's discordant pairs, tested by
  :func:`stats.mcnemar_exact` (``mcnemar_p``);
* ``top5_agreement``: percent of images whose top-5 SET is the same;
* ``mean_abs_dprob``/``max_abs_dprob``: |p_variant(c) - p_reference(c)| with
  c the reference's top-1 class of that image (a probability, not percent).
  The variant's p(c) is its float32 top-5 probability when c is in its
  top-5, else its stored float16 ``all_probs`` (so variant caches are made
  with ``save_all_probs``, which also keeps their top-5 probabilities in
  float32: :func:`cache.store.save`; caches saved without ``all_probs``
  hold float16 top-5 probabilities and resolve |Δprob| only to 2**-11 near 1);
* ``images_per_s``: throughput of the run that made the cache.

Rows given by ``scored`` (a boolean mask) are the ones every row of the table
is scored on; the calibration rows of int8 quantization are left out of it.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Dict, Optional

import numpy as np

from imagenet_bench.analysis import scorer, stats
from imagenet_bench.cache import store as cache
from imagenet_bench.errors import InputError


def scoring_mask(num_images: int, calibration_split: int) -> np.ndarray:
    """Rows scored in every table row: all but the first ``calibration_split`` (calibration only)."""
    if calibration_split < 0:
        raise InputError(f"--calibration-split {calibration_split}: must be 0 or more. Fix: "
                         f"--calibration-split 0 (no calibration rows) or more")
    if calibration_split >= num_images:
        raise InputError(f"--calibration-split {calibration_split} leaves no image to score "
                         f"({num_images} images). Fix: a smaller --calibration-split or a larger --n")
    mask = np.ones(num_images, bool)
    mask[:calibration_split] = False
    return mask


def class_prob(preds: cache.Predictions, classes: np.ndarray) -> np.ndarray:
    """Probability each row of ``preds`` gives to ``classes[i]`` (float64).

    Exact float32 from the top-5 when the class is there, else the float16
    ``all_probs`` (load the cache with ``with_all_probs=True``). A class outside
    the top-5 of a cache without ``all_probs`` raises :class:`InputError`.
    """
    classes = np.asarray(classes)
    hit = preds.top5_idx == classes[:, None]
    out = np.where(hit, preds.top5_prob, 0.0).sum(axis=1).astype(np.float64)
    outside = ~hit.any(axis=1)
    if outside.any():
        if preds.all_probs is None:
            raise InputError(f"{preds.where()}: the reference's top-1 class is outside this run's "
                             f"top-5 on {int(outside.sum())} image(s) and the cache has no all_probs. "
                             f"Fix: re-run the variant with --save-all-probs (verify variants does)")
        rows = np.flatnonzero(outside)
        out[rows] = preds.all_probs[rows, classes[rows]].astype(np.float64)
    return out


def _check_pair(ref: cache.Predictions, var: cache.Predictions) -> None:
    if ref.fingerprint != var.fingerprint:
        raise InputError(f"{var.where()} covers other images than the reference {ref.where()} "
                         f"(fingerprints differ). Fix: run both on the same VAL_DIR and --n")


def accuracy_row(variant: str, preds: cache.Predictions, scored: np.ndarray,
                 images_per_s: Optional[float] = None) -> Dict:
    """The reference row: its accuracies on the scored rows (paired columns empty)."""
    top1, top5 = scorer.correct(preds, rows=np.flatnonzero(scored))
    return {"variant": variant, "status": "ok", "top1": 100.0 * top1.mean(),
            "top5": 100.0 * top5.mean(), "images_per_s": images_per_s}


def paired_row(variant: str, ref: cache.Predictions, var: cache.Predictions, scored: np.ndarray,
               images_per_s: Optional[float] = None) -> Dict:
    """One table row: ``var`` against ``ref`` on the rows where ``scored`` is True."""
    _check_pair(ref, var)
    rows = np.flatnonzero(scored)
    r1, _ = scorer.correct(ref, rows=rows)
    v1, v5 = scorer.correct(var, rows=rows)
    both, only_ref = int((r1 & v1).sum()), int((r1 & ~v1).sum())
    only_var, neither = int((~r1 & v1).sum()), int((~r1 & ~v1).sum())
    diff, low, high = stats.paired_difference_interval(both, only_var, only_ref, neither)
    test = stats.mcnemar_exact(only_ref, only_var)
    same5 = (np.sort(ref.top5_idx[rows], axis=1) == np.sort(var.top5_idx[rows], axis=1)).all(axis=1)
    cls = ref.top5_idx[rows, 0].astype(np.int64)
    present = (cls >= 0) & (var.top5_idx[rows, 0] >= 0)  # missing (unreadable) images have no probability
    dprob = np.abs(class_prob(_rows(var, rows[present]), cls[present])
                   - ref.top5_prob[rows[present], 0].astype(np.float64))
    return {"variant": variant, "status": "ok", "top1": 100.0 * v1.mean(), "top5": 100.0 * v5.mean(),
            "delta_top1": 100.0 * diff, "delta_low": 100.0 * low, "delta_high": 100.0 * high,
            "flips_to_wrong": only_ref, "flips_to_right": only_var, "mcnemar_p": test.p_value,
            "top5_agreement": 100.0 * same5.mean(),
            "mean_abs_dprob": float(dprob.mean()) if dprob.size else math.nan,
            "max_abs_dprob": float(dprob.max()) if dprob.size else math.nan,
            "images_per_s": images_per_s}


def _rows(preds: cache.Predictions, rows: np.ndarray) -> cache.Predictions:
    """A view of ``preds`` restricted to ``rows`` (only the arrays :func:`class_prob` reads)."""
    return replace(preds, top5_idx=preds.top5_idx[rows], top5_prob=preds.top5_prob[rows],
                   labels=preds.labels[rows], missing=None,
                   all_probs=None if preds.all_probs is None else preds.all_probs[rows])


def skipped_row(variant: str, reason: str) -> Dict:
    """A variant that could not run here: kept in the table with ``skipped: <reason>``."""
    return {"variant": variant, "status": f"skipped: {reason}"}
