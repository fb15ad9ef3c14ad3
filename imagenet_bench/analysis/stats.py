"""Interval estimates and paired tests for accuracies (numpy and math only).

* :func:`wilson_interval` — the Wilson score interval for one accuracy
  (Wilson 1927). It is closed-form, deterministic and keeps its coverage near
  the nominal level even for small subsets and accuracies near 0 or 1, where
  the normal ("Wald") interval does not.
* :func:`mcnemar_exact` — McNemar's exact test for two classifiers scored on
  the same images: under the null hypothesis of equal accuracy, the images
  only one of them gets right split Binomial(b + c, 1/2).
* :func:`paired_difference_interval` — Newcombe's (1998, method 10)
  interval for the difference of two paired proportions, built from the two
  Wilson intervals and the correlation of the paired outcomes.

The intervals describe sampling variation over images (how much the accuracy
would move on another draw of validation images from the same distribution);
they say nothing about preprocessing or label noise.

scipy is not used at run time; the tests cross-check against it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple

DEFAULT_CONFIDENCE = 0.95


def normal_quantile(p: float) -> float:
    """The standard normal quantile z with P(Z <= z) = p, 0 < p < 1 (bisection on erfc)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_quantile needs 0 < p < 1, got {p!r}")
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-15:
            break
    return 0.5 * (lo + hi)


def z_value(confidence: float = DEFAULT_CONFIDENCE) -> float:
    """Two-sided critical value for ``confidence`` (1.959964 for 0.95)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    return normal_quantile(0.5 + confidence / 2.0)


def wilson_interval(successes, n, confidence: float = DEFAULT_CONFIDENCE):
    """Wilson score interval for a proportion ``successes / n``.

    Works on scalars (returns a ``(low, high)`` tuple of floats) and on numpy
    arrays (returns two arrays). ``n == 0`` gives ``(nan, nan)``.
    """
    import numpy as np  # here, not above: the command-line parsers need only the constants

    z = z_value(confidence)
    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    if np.any(k < 0) or np.any(k > m):
        raise ValueError(f"successes must lie in 0..n; got {successes!r} of {n!r}")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2.0 * m)) / denom
        half = z * np.sqrt(p * (1.0 - p) / m + z * z / (4.0 * m * m)) / denom
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    # exact end points where the formula only rounds to them
    low = np.where((k == 0) & (m > 0), 0.0, low)
    high = np.where((k == m) & (m > 0), 1.0, high)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def add_interval(row: dict, key: str, confidence: float = DEFAULT_CONFIDENCE) -> None:
    """Add ``<key>_low``/``<key>_high`` (Wilson, percent) to a score row from ``row[key]`` (%)
    and its image count (``real_images`` for ReaL keys, else ``images``); nothing when absent."""
    n = row.get("real_images" if key.startswith("real") else "images")
    if row.get(key) is None or not n:
        return
    k = int(round(row[key] * n / 100.0))
    lo, hi = wilson_interval(k, n, confidence)
    row[f"{key}_low"], row[f"{key}_high"] = 100.0 * lo, 100.0 * hi


def binom_log_cdf_half(k: int, n: int) -> float:
    """log P(X <= k) for X ~ Binomial(n, 1/2): exact integers for n <= 1000, log space above."""
    import numpy as np  # here, not above: the command-line parsers need only the constants

    if k < 0:
        return -math.inf
    if k >= n:
        return 0.0
    if n <= 1000:  # exact integer arithmetic; math.log takes arbitrarily large ints
        return math.log(sum(math.comb(n, i) for i in range(k + 1))) - n * math.log(2.0)
    j = np.arange(1, k + 1, dtype=np.float64)
    log_comb = np.concatenate(([0.0], np.cumsum(np.log((n - j + 1.0) / j))))
    top = log_comb.max()
    return float(top + math.log(np.exp(log_comb - top).sum()) - n * math.log(2.0))


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's exact test on the discordant pairs of two classifiers."""

    only_a: int  # images only the first model gets right (b)
    only_b: int  # images only the second model gets right (c)
    p_value: float  # two-sided exact p-value, 2 * P(X <= min(b, c)) capped at 1 (may underflow to 0)
    log10_p: float  # log10 of p_value, finite even where p_value underflows


def mcnemar_exact(only_a: int, only_b: int) -> McNemarResult:
    """Two-sided exact McNemar test: X = min(b, c) ~ Binomial(b + c, 1/2) under H0.

    ``p = min(1, 2 * P(X <= min(b, c)))``, the same as
    ``scipy.stats.binomtest(b, b + c, 0.5).pvalue`` (the binomial is symmetric).
    No discordant pairs gives p = 1.
    """
    b, c = int(only_a), int(only_b)
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b}, {c}")
    n = b + c
    log_p = 0.0 if n == 0 else min(0.0, math.log(2.0) + binom_log_cdf_half(min(b, c), n))
    return McNemarResult(only_a=b, only_b=c, p_value=math.exp(log_p),
                         log10_p=log_p / math.log(10.0))


def paired_difference_interval(both: int, only_a: int, only_b: int, neither: int,
                               confidence: float = DEFAULT_CONFIDENCE) -> Tuple[float, float, float]:
    """Newcombe's (1998, method 10) interval for ``acc_a - acc_b`` on paired outcomes.

    Counts: ``both`` right, ``only_a`` right, ``only_b`` right, ``neither``.
    Returns ``(difference, low, high)`` as proportions (not percent).

    Reference: R. G. Newcombe, "Improved confidence intervals for the
    difference between binomial proportions based on paired data",
    Statistics in Medicine 17 (1998) 2635-2650.
    """
    a, b, c, d = (int(x) for x in (both, only_a, only_b, neither))
    n = a + b + c + d
    if min(a, b, c, d) < 0:
        raise ValueError(f"counts must be >= 0, got {(a, b, c, d)}")
    if n == 0:
        return math.nan, math.nan, math.nan
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, confidence)
    l2, u2 = wilson_interval(a + c, n, confidence)
    denom = float(a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0 if denom == 0 else (a * d - b * c) / math.sqrt(denom)
    diff = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return diff, max(-1.0, diff - dl), min(1.0, diff + du)


def format_p(p: float, log10_p: float = None) -> str:
    """A p-value for a table, 3 significant digits; ``log10_p`` spells out values below 1e-300."""
    if p != p:
        return "nan"
    if p < 1e-300 and log10_p is not None and math.isfinite(log10_p):
        exponent = math.floor(log10_p)
        return f"{10 ** (log10_p - exponent):.2f}e{exponent}"
    if p == 0.0:
        return "<1e-300"
    if p >= 0.001:
        return f"{p:.3f}"
    return f"{p:.2e}"
