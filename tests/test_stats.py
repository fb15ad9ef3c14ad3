"""Statistics: hand-computable cases and scipy cross-checks."""
import math

import numpy as np
import pytest

from imagenet_bench.analysis import stats


def test_z_value_matches_known_quantiles():
    assert stats.z_value(0.95) == pytest.approx(1.959963984540054, abs=1e-12)
    assert stats.z_value(0.99) == pytest.approx(2.5758293035489004, abs=1e-12)
    assert stats.normal_quantile(0.5) == pytest.approx(0.0, abs=1e-14)
    with pytest.raises(ValueError):
        stats.z_value(1.0)


def test_wilson_by_hand():
    # k = 8 of n = 10, z = 1.959964: centre = (0.8 + z^2/20) / (1 + z^2/10)
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10)
    lo, hi = stats.wilson_interval(8, 10)
    assert (lo, hi) == pytest.approx((centre - half, centre + half), abs=1e-12)
    assert lo == pytest.approx(0.4901624, abs=1e-6)  # textbook value for 8/10
    assert hi == pytest.approx(0.9433178, abs=1e-6)


def test_wilson_end_points_and_arrays():
    assert stats.wilson_interval(0, 20)[0] == 0.0
    assert stats.wilson_interval(20, 20)[1] == 1.0
    lo, hi = stats.wilson_interval(np.array([0, 5, 10]), np.array([10, 10, 10]))
    assert lo.shape == (3,) and np.all(lo <= hi)
    assert math.isnan(stats.wilson_interval(0, 0)[0])
    with pytest.raises(ValueError):
        stats.wilson_interval(11, 10)


def test_wilson_against_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    for k, n in [(0, 5), (1, 7), (37, 50), (38000, 50000), (49999, 50000), (1234, 1300)]:
        for conf in (0.9, 0.95, 0.99):
            ci = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=conf, method="wilson")
            assert stats.wilson_interval(k, n, conf) == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_mcnemar_by_hand():
    # b=1, c=5: 2 * P(X <= 1 | n=6) = 2 * (1 + 6) / 64 = 0.21875
    assert stats.mcnemar_exact(1, 5).p_value == pytest.approx(14 / 64, abs=1e-15)
    assert stats.mcnemar_exact(5, 1).p_value == pytest.approx(14 / 64, abs=1e-15)
    # b=0, c=10: 2 / 1024
    assert stats.mcnemar_exact(0, 10).p_value == pytest.approx(2 / 1024, abs=1e-15)
    assert stats.mcnemar_exact(3, 3).p_value == 1.0
    assert stats.mcnemar_exact(0, 0).p_value == 1.0
    r = stats.mcnemar_exact(7, 2)
    assert (r.only_a, r.only_b) == (7, 2)


def test_mcnemar_against_scipy_small_and_large():
    scipy_stats = pytest.importorskip("scipy.stats")
    cases = [(1, 5), (12, 2), (40, 60), (500, 560), (900, 1100), (2500, 2600), (3000, 3400),
             (1500, 1501), (4000, 4700)]
    for b, c in cases:
        want = scipy_stats.binomtest(b, b + c, 0.5).pvalue
        got = stats.mcnemar_exact(b, c).p_value
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300), (b, c)


def test_mcnemar_log10_p_beyond_float_range():
    # b = 0, c = 2000: p = 2 / 2**2000, far below the smallest float
    r = stats.mcnemar_exact(0, 2000)
    assert r.p_value == 0.0
    assert r.log10_p == pytest.approx(math.log10(2) - 2000 * math.log10(2), rel=1e-12)
    # b = 3, c = 1500 (log-space branch): 2 * sum_{i<=3} C(1503, i) / 2**1503, by integers
    want = math.log10(2 * sum(math.comb(1503, i) for i in range(4))) - 1503 * math.log10(2)
    assert stats.mcnemar_exact(3, 1500).log10_p == pytest.approx(want, rel=1e-12)
    assert stats.format_p(r.p_value, r.log10_p) == f"{10 ** (r.log10_p % 1):.2f}e{math.floor(r.log10_p)}"


def test_mcnemar_log10_matches_scipy_where_representable():
    scipy_stats = pytest.importorskip("scipy.stats")
    for b, c in [(1, 5), (500, 700), (2458, 4814)]:
        assert stats.mcnemar_exact(b, c).log10_p == pytest.approx(
            math.log10(scipy_stats.binomtest(b, b + c, 0.5).pvalue), rel=1e-9)


def test_binom_log_cdf_half_log_space_matches_exact_integers():
    # the log-space branch (n > 1000) against exact integer arithmetic
    n, k = 1201, 560
    exact = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    assert math.exp(stats.binom_log_cdf_half(k, n)) == pytest.approx(exact, rel=1e-10)
    assert math.exp(stats.binom_log_cdf_half(-1, 5)) == 0.0
    assert math.exp(stats.binom_log_cdf_half(5, 5)) == 1.0


def test_paired_difference_interval_by_hand():
    a, b, c, d = 36, 12, 2, 0
    n = 50
    diff, lo, hi = stats.paired_difference_interval(a, b, c, d)
    assert diff == pytest.approx((b - c) / n)
    # assemble Newcombe's method 10 from its parts, step by step
    l1, u1 = stats.wilson_interval(a + b, n)
    l2, u2 = stats.wilson_interval(a + c, n)
    p1, p2 = (a + b) / n, (a + c) / n
    phi = (a * d - b * c) / math.sqrt((a + b) * (c + d) * (a + c) * (b + d))
    assert lo == pytest.approx(diff - math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2)
                                                + (u2 - p2) ** 2))
    assert hi == pytest.approx(diff + math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2)
                                                + (p2 - l2) ** 2))
    assert lo < diff < hi


def test_paired_difference_interval_independent_marginals_with_scipy():
    """phi = 0 (a*d == b*c) reduces to the square-and-add of two scipy Wilson intervals."""
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b, c, d = 20, 10, 20, 10   # a*d == b*c
    n = a + b + c + d
    w1 = scipy_stats.binomtest(a + b, n).proportion_ci(method="wilson")
    w2 = scipy_stats.binomtest(a + c, n).proportion_ci(method="wilson")
    p1, p2 = (a + b) / n, (a + c) / n
    want_lo = (p1 - p2) - math.hypot(p1 - w1.low, w2.high - p2)
    want_hi = (p1 - p2) + math.hypot(w1.high - p1, p2 - w2.low)
    _, lo, hi = stats.paired_difference_interval(a, b, c, d)
    assert (lo, hi) == pytest.approx((want_lo, want_hi), abs=1e-10)


def test_paired_difference_interval_matches_wald_for_large_n():
    a, b, c, d = 36000, 1800, 1300, 10900
    n = a + b + c + d
    diff, lo, hi = stats.paired_difference_interval(a, b, c, d)
    se = math.sqrt((b + c) / n - ((b - c) / n) ** 2) / math.sqrt(n)
    assert lo == pytest.approx(diff - 1.959964 * se, abs=2e-4)
    assert hi == pytest.approx(diff + 1.959964 * se, abs=2e-4)


def test_paired_difference_interval_coverage_simulation():
    """Seeded simulation: the 95% interval covers the true difference about 95% of the time."""
    rng = np.random.default_rng(0)
    probs = np.array([0.55, 0.15, 0.08, 0.22])  # both, only a, only b, neither
    true = probs[1] - probs[2]
    hits = 0
    trials = 2000
    for counts in rng.multinomial(200, probs, size=trials):
        _, lo, hi = stats.paired_difference_interval(*counts)
        hits += lo <= true <= hi
    assert 0.93 <= hits / trials <= 0.97


def test_degenerate_paired_cases():
    diff, lo, hi = stats.paired_difference_interval(10, 0, 0, 0)
    assert diff == 0.0 and lo <= 0.0 <= hi
    assert all(math.isnan(x) for x in stats.paired_difference_interval(0, 0, 0, 0))


def test_format_p():
    assert stats.format_p(0.0) == "<1e-300"
    assert stats.format_p(0.5) == "0.500"
    assert stats.format_p(1.2345e-7) == "1.23e-07"
