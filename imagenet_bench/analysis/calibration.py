"""Calibration of top-label confidences: ECE, NLL, Brier, temperature scaling (numpy only).

Pure functions of arrays; ``docs/analysis.md`` ("Calibration") gives every
definition with its source. In short:

* **ECE, equal width** (Guo et al. 2017): 15 bins ``(k/15, (k+1)/15]`` of the
  top-label confidence, right-closed as in Guo's reference ``_ECELoss``
  (``[0, 1/15]`` for the first), compared exactly (float64; a float16/float32
  confidence is never equal to an interior ``k/15``, so only 1.0 lies on an
  edge: :func:`width_edge_ties`).
* **ECE, equal mass** (Minderer et al. 2021, 100 bins): the binning of
  Nixon et al.'s ``get_adaptive_bins`` (uncertainty_metrics / robustness_metrics):
  upper edges are the sorted confidences at positions ``round(b*N/B)``,
  ``b = 1..B-1``, and a confidence equal to an edge goes to the bin above
  (``np.digitize``), so tied confidences always share a bin; :func:`mass_edge_ties`
  counts the rows that ties move from the bin their rank alone gives them.
* Both: L1, ``sum_b n_b/N |acc_b - conf_b|`` = ``sum_b |sum(correct) - sum(conf)| / N``.
* **NLL** and **Brier** (``sum_c (p_c - y_c)^2``, summed over classes, averaged over
  images) from the per-image log-probability of the label and sum of squares
  the cache keeps (:mod:`imagenet_bench.cache.per_image`).
* **Temperature** (Guo et al. 2017): ``T`` minimising the mean NLL of
  ``softmax(z / T)`` on the fit rows, by Newton's method on ``1/T`` (the NLL is
  convex in ``1/T``).
* **Split** (Minderer et al. 2021): ``T`` is fitted on the first 20 % of rows in
  row order; every calibration figure is reported on the remaining 80 %.

What a cache gives these functions (protocol, split, notes) is
:mod:`imagenet_bench.analysis.calibration_rows`'.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Tuple

import numpy as np

#: Guo et al. 2017: 15 equal-width bins of the top-label confidence
WIDTH_BINS = 15
#: Minderer et al. 2021: 100 equal-mass bins
MASS_BINS = 100
#: Minderer et al. 2021: the first 20 % of rows fit the temperature, the rest are evaluated
FIT_FRACTION = 0.2
#: the paired bootstrap of ``compare --calibration``: resamples and seed (fixed, stated)
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 0
#: rows of logits handled at once (bounds the float64 temporaries to ~80 MB)
CHUNK = 10_000


def split_rows(n: int, fraction: float = FIT_FRACTION) -> Tuple[slice, slice]:
    """(fit rows, evaluation rows): the first ``floor(fraction * n)`` rows, and the rest."""
    k = int(math.floor(fraction * n))
    return slice(0, k), slice(k, n)


# --- binning ----------------------------------------------------------------------------------

def width_bins(conf: np.ndarray, n_bins: int = WIDTH_BINS) -> np.ndarray:
    """Bin index of each confidence: bin k is ``(k/n, (k+1)/n]``, bin 0 also holds 0."""
    c = np.asarray(conf, dtype=np.float64)
    interior = np.arange(1, n_bins, dtype=np.float64) / n_bins
    return np.searchsorted(interior, c, side="left")


def width_edge_ties(conf: np.ndarray, n_bins: int = WIDTH_BINS) -> int:
    """Rows whose equal-width bin depends on the edge convention: a confidence exactly on an
    edge (0 or 1.0 for float16/float32 values) or within one float32 step of an interior
    ``k/n`` (where float32 edges such as ``torch.linspace``'s may fall on either side)."""
    c = np.asarray(conf, dtype=np.float64)
    edges = np.arange(0, n_bins + 1, dtype=np.float64) / n_bins
    step = np.spacing(edges.astype(np.float32)).astype(np.float64)
    near = np.abs(c[:, None] - edges[None, :]) <= step[None, :]
    near[:, [0, -1]] = (c[:, None] == edges[[0, -1]][None, :])
    return int(near.any(axis=1).sum())


def mass_edges(conf: np.ndarray, n_bins: int = MASS_BINS,
               weights: Optional[np.ndarray] = None, order: Optional[np.ndarray] = None) -> np.ndarray:
    """The ``n_bins - 1`` upper edges of equal-mass binning (Nixon et al.'s
    ``get_adaptive_bins``): the sorted confidences at positions ``round(b*N/n_bins)``.

    ``weights`` (integer counts per row, a bootstrap resample) count each row that many
    times without repeating it; ``order`` is ``argsort(conf)`` when already known.
    """
    c = np.asarray(conf, dtype=np.float64)
    order = np.argsort(c, kind="stable") if order is None else order
    total = c.size if weights is None else int(weights.sum())
    pos = np.round(np.linspace(0, total, n_bins, endpoint=False)).astype(np.int64)
    pos = np.minimum(pos, max(total - 1, 0))[1:]
    if weights is None:
        return c[order][pos]
    cum = np.cumsum(weights[order])
    return c[order][np.searchsorted(cum, pos, side="right")]


def mass_bins(conf: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of each confidence under equal-mass ``edges``: ``e[b-1] <= c < e[b]``."""
    return np.searchsorted(edges, np.asarray(conf, dtype=np.float64), side="right")


def mass_edge_ties(conf: np.ndarray, n_bins: int = MASS_BINS) -> int:
    """Rows that tied confidences move out of the bin their rank alone would give them
    (rank r in the sorted order is in bin b when ``round(b*N/n) <= r < round((b+1)*N/n)``)."""
    c = np.asarray(conf, dtype=np.float64)
    if c.size == 0:
        return 0
    order = np.argsort(c, kind="stable")
    starts = np.minimum(np.round(np.linspace(0, c.size, n_bins, endpoint=False)).astype(np.int64),
                        c.size - 1)[1:]
    by_rank = np.searchsorted(starts, np.arange(c.size), side="right")
    by_value = mass_bins(c[order], c[order][starts])
    return int(np.count_nonzero(by_rank != by_value))


# --- ECE --------------------------------------------------------------------------------------

def binned_ece(conf: np.ndarray, correct: np.ndarray, bins: np.ndarray, n_bins: int,
               weights: Optional[np.ndarray] = None) -> float:
    """L1 ECE of rows already put in ``bins``: ``sum_b |sum correct - sum conf| / N``
    (``weights``: how many times each row counts)."""
    c = np.asarray(conf, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    total = c.size if w is None else w.sum()
    if total == 0:
        return float("nan")
    gap = np.bincount(bins, weights=ok - c if w is None else (ok - c) * w, minlength=n_bins)
    return float(np.abs(gap).sum() / total)


def ece_width(conf: np.ndarray, correct: np.ndarray, n_bins: int = WIDTH_BINS,
              weights: Optional[np.ndarray] = None) -> float:
    """ECE with ``n_bins`` equal-width bins (Guo et al. 2017), L1, top-label."""
    return binned_ece(conf, correct, width_bins(conf, n_bins), n_bins, weights)


def ece_mass(conf: np.ndarray, correct: np.ndarray, n_bins: int = MASS_BINS,
             weights: Optional[np.ndarray] = None, order: Optional[np.ndarray] = None) -> float:
    """ECE with ``n_bins`` equal-mass bins (Minderer et al. 2021), L1, top-label."""
    edges = mass_edges(conf, n_bins, weights, order)
    return binned_ece(conf, correct, mass_bins(conf, edges), n_bins, weights)


def reliability(conf: np.ndarray, correct: np.ndarray, n_bins: int = WIDTH_BINS) -> Dict[str, list]:
    """Per equal-width bin: its edges, image count, mean confidence and accuracy (None where
    empty): the points of a reliability diagram."""
    c = np.asarray(conf, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    b = width_bins(c, n_bins)
    count = np.bincount(b, minlength=n_bins)
    conf_sum = np.bincount(b, weights=c, minlength=n_bins)
    ok_sum = np.bincount(b, weights=ok, minlength=n_bins)
    mean = lambda s: [float(x / k) if k else None for x, k in zip(s, count)]  # noqa: E731
    return {"lower": [k / n_bins for k in range(n_bins)],
            "upper": [(k + 1) / n_bins for k in range(n_bins)],
            "count": [int(k) for k in count], "confidence": mean(conf_sum),
            "accuracy": mean(ok_sum)}


# --- NLL, Brier, temperature ------------------------------------------------------------------

def nll_brier(label_logp: np.ndarray, prob_sq_sum: np.ndarray,
              mass: Optional[np.ndarray] = None, mass_sq_sum: Optional[np.ndarray] = None
              ) -> Tuple[float, float]:
    """Mean NLL and Brier score from per-image ``log p_y`` and ``sum_c p_c^2``.

    ``mass``/``mass_sq_sum`` (``sum`` and ``sum of squares`` of the probabilities of a
    class subset): the figures of the distribution renormalised to that subset (the
    masked protocol of ImageNet-A/-R), ``p_c / mass``.
    """
    logp = np.asarray(label_logp, dtype=np.float64)
    sq = np.asarray(prob_sq_sum, dtype=np.float64)
    if mass is not None:
        m = np.asarray(mass, dtype=np.float64)
        logp = logp - np.log(m)
        sq = np.asarray(mass_sq_sum, dtype=np.float64) / (m * m)
    if logp.size == 0:
        return float("nan"), float("nan")
    return float(-logp.mean()), float((sq - 2.0 * np.exp(logp) + 1.0).mean())


def _scaled(logits: np.ndarray, beta: float) -> np.ndarray:
    """log-softmax of ``beta * logits`` (float64)."""
    z = np.asarray(logits, dtype=np.float64) * beta
    z -= z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _nll_derivatives(logits: np.ndarray, labels: np.ndarray, beta: float) -> Tuple[float, float, float]:
    """Sum over rows of the NLL of ``softmax(beta * z)`` and its first two derivatives in beta."""
    f = g = h = 0.0
    for s in range(0, len(labels), CHUNK):
        z = np.asarray(logits[s:s + CHUNK], dtype=np.float64)
        y = np.asarray(labels[s:s + CHUNK])
        logp = _scaled(z, beta)
        p = np.exp(logp)
        zy = z[np.arange(len(y)), y]
        mean_z = (p * z).sum(axis=1)
        f -= float(logp[np.arange(len(y)), y].sum())
        g += float((mean_z - zy).sum())
        h += float(((p * z * z).sum(axis=1) - mean_z ** 2).sum())
    return f, g, h


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tol: float = 1e-12,
                    max_iter: int = 100) -> float:
    """The temperature ``T > 0`` minimising the mean NLL of ``softmax(logits / T)``
    against ``labels`` (Guo et al. 2017), by damped Newton steps on ``beta = 1/T``.

    NaN when no minimum exists: no rows, or every row's label is its one largest logit
    (the NLL then falls without bound as ``T`` goes to 0: :func:`separable`); infinity
    when the NLL falls all the way to ``T`` = infinity (the uniform distribution: the
    labels' logits are on average no larger than their rows' mean logit)."""
    if len(labels) == 0 or separable(logits, labels):
        return float("nan")
    if _nll_derivatives(logits, labels, 0.0)[1] >= 0:  # convex in beta, rising from beta = 0
        return float("inf")
    beta = 1.0
    f, g, h = _nll_derivatives(logits, labels, beta)
    for _ in range(max_iter):
        step = -g / h if h > 0 else -math.copysign(0.5 * beta, g)
        while True:  # halve the step until the NLL does not grow and beta stays positive
            new = beta + step
            if new > 0:
                f_new, g_new, h_new = _nll_derivatives(logits, labels, new)
                if f_new <= f + 1e-12 * abs(f):
                    break
            step *= 0.5
            if abs(step) < 1e-15 * beta:
                return 1.0 / beta
        done = abs(new - beta) <= tol * new
        beta, f, g, h = new, f_new, g_new, h_new
        if done:
            break
    return 1.0 / beta


def separable(logits: np.ndarray, labels: np.ndarray) -> bool:
    """True when every row's label has the largest logit, strictly: no temperature minimises
    the NLL of such rows."""
    z = np.asarray(logits)
    y = np.asarray(labels)
    rows = np.arange(len(y))
    others = z.copy()
    others[rows, y] = -np.inf
    return bool((z[rows, y] > others.max(axis=1)).all())


def scaled_figures(logits: np.ndarray, labels: np.ndarray, top1: np.ndarray,
                   temperature: float) -> Dict[str, np.ndarray]:
    """Per-row top-label confidence, log p_y and sum p^2 of ``softmax(logits / T)``; the
    top-label class is ``top1`` (temperature keeps the ranking)."""
    conf, logp, sq = [], [], []
    for s in range(0, len(labels), CHUNK):
        lp = _scaled(logits[s:s + CHUNK], 1.0 / temperature)
        rows = np.arange(lp.shape[0])
        conf.append(np.exp(lp[rows, top1[s:s + CHUNK]]))
        logp.append(lp[rows, labels[s:s + CHUNK]])
        sq.append(np.exp(2.0 * lp).sum(axis=1))
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0)  # noqa: E731
    return {"conf": cat(conf), "label_logp": cat(logp), "prob_sq_sum": cat(sq)}


# --- paired bootstrap -------------------------------------------------------------------------

def bootstrap_difference(conf_a: np.ndarray, correct_a: np.ndarray, conf_b: np.ndarray,
                         correct_b: np.ndarray, confidence: float = 0.95,
                         samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED
                         ) -> Dict[str, Tuple[float, float, float]]:
    """ECE(a) - ECE(b) for both binnings with a paired percentile bootstrap interval: every
    resample draws the same images (with replacement) for both models.

    Returns ``{"width": (diff, low, high), "mass": (...)}``.
    """
    n = len(conf_a)
    rng = np.random.default_rng(seed)
    bins_a, bins_b = width_bins(conf_a), width_bins(conf_b)
    order_a = np.argsort(np.asarray(conf_a, np.float64), kind="stable")
    order_b = np.argsort(np.asarray(conf_b, np.float64), kind="stable")
    diffs = np.empty((samples, 2))
    for i in range(samples):
        w = np.bincount(rng.integers(0, n, n), minlength=n)
        diffs[i, 0] = (binned_ece(conf_a, correct_a, bins_a, WIDTH_BINS, w)
                       - binned_ece(conf_b, correct_b, bins_b, WIDTH_BINS, w))
        diffs[i, 1] = (ece_mass(conf_a, correct_a, weights=w, order=order_a)
                       - ece_mass(conf_b, correct_b, weights=w, order=order_b))
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(diffs, [tail, 100.0 - tail], axis=0)
    point = (ece_width(conf_a, correct_a) - ece_width(conf_b, correct_b),
             ece_mass(conf_a, correct_a) - ece_mass(conf_b, correct_b))
    return {"width": (point[0], float(low[0]), float(high[0])),
            "mass": (point[1], float(low[1]), float(high[1]))}
