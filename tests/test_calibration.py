"""Calibration (analysis/calibration.py) against independent implementations.

* equal-width ECE: torchmetrics' MulticlassCalibrationError(norm="l1", n_bins=15) and Guo et
  al.'s reference _ECELoss (gpleiss/temperature_scaling, written out below);
* equal-mass ECE: Nixon et al.'s adaptive binning, written out below as a loop;
* NLL / Brier: a direct computation from the full probabilities;
* temperature: scipy's bounded scalar minimiser and torch's LBFGS on the same NLL.
"""
import bisect
import json

import numpy as np
import pytest

from conftest import make_preds, write_caches
from imagenet_bench.analysis import calibration as cal
from imagenet_bench.analysis import calibration_rows as calrows
from imagenet_bench.cache import folder, per_image
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli

torch = pytest.importorskip("torch")
F = torch.nn.functional


class _ECELoss(torch.nn.Module):
    """Guo et al. 2017's reference, as gpleiss/temperature_scaling (temperature_scaling.py)
    writes it; ``forward_softmaxes`` is the body of its ``forward`` after the softmax, so
    probabilities can be given as they are."""

    def __init__(self, n_bins=15):
        super(_ECELoss, self).__init__()
        bin_boundaries = torch.linspace(0, 1, n_bins + 1)
        self.bin_lowers = bin_boundaries[:-1]
        self.bin_uppers = bin_boundaries[1:]

    def forward(self, logits, labels):
        softmaxes = F.softmax(logits, dim=1)
        return self.forward_softmaxes(softmaxes, labels)

    def forward_softmaxes(self, softmaxes, labels):
        confidences, predictions = torch.max(softmaxes, 1)
        accuracies = predictions.eq(labels)

        ece = torch.zeros(1, device=softmaxes.device)
        for bin_lower, bin_upper in zip(self.bin_lowers, self.bin_uppers):
            # Calculated |confidence - accuracy| in each bin
            in_bin = confidences.gt(bin_lower.item()) * confidences.le(bin_upper.item())
            prop_in_bin = in_bin.float().mean()
            if prop_in_bin.item() > 0:
                accuracy_in_bin = accuracies[in_bin].float().mean()
                avg_confidence_in_bin = confidences[in_bin].mean()
                ece += torch.abs(avg_confidence_in_bin - accuracy_in_bin) * prop_in_bin
        return ece


def torchmetrics_ece(probs, labels) -> float:
    from torchmetrics.classification import MulticlassCalibrationError
    metric = MulticlassCalibrationError(num_classes=probs.shape[1], n_bins=15, norm="l1")
    return float(metric(torch.as_tensor(probs), torch.as_tensor(labels)))


def top_label_pairs(conf, correct):
    """(N, 2) 'probabilities' whose max is ``conf`` and whose argmax (class 0) is right exactly
    where ``correct``: the only things a top-label ECE reads, for references that want a
    probability matrix (caches hold the top-5 only)."""
    probs = np.stack([conf, np.zeros_like(conf)], axis=1).astype(np.float32)
    return probs, np.where(correct, 0, 1)


def nixon_equal_mass_ece(conf, correct, n_bins=100):
    """Equal-mass ECE as uncertainty_metrics' get_adaptive_bins + np.digitize define it,
    one row at a time."""
    s = sorted(float(c) for c in conf)
    n = len(s)
    idx = [min(int(np.round(i * n / n_bins)), n - 1) for i in range(n_bins)]
    uppers = [s[i] for i in idx][1:]
    sums = {}
    for c, ok in zip(conf, correct):
        b = bisect.bisect_right(uppers, float(c))
        acc, tot, k = sums.get(b, (0.0, 0.0, 0))
        sums[b] = (acc + float(ok), tot + float(c), k + 1)
    return sum(k / n * abs(a / k - t / k) for a, t, k in sums.values())


@pytest.fixture(scope="module")
def random_softmax():
    rng = np.random.default_rng(7)
    n, k = 4000, 100
    labels = rng.integers(0, k, n)
    logits = rng.normal(0, 2, (n, k)).astype(np.float32)
    logits[np.arange(n), labels] += rng.normal(2.5, 2, n).astype(np.float32)
    probs = F.softmax(torch.from_numpy(logits), dim=1).numpy()
    return logits, probs, labels


@pytest.mark.slow  # importing torchmetrics takes seconds
def test_equal_width_ece_equals_torchmetrics_and_guo_on_random_data(random_softmax):
    logits, probs, labels = random_softmax
    conf, correct = probs.max(1), probs.argmax(1) == labels
    ours = cal.ece_width(conf, correct)
    guo = float(_ECELoss()(torch.from_numpy(logits), torch.from_numpy(labels)))
    assert ours == pytest.approx(torchmetrics_ece(probs, labels), abs=2e-6)
    assert ours == pytest.approx(guo, abs=2e-6)
    assert 0.01 < ours < 0.5


@pytest.mark.slow
def test_confidences_of_1_are_the_ties_where_the_references_part():
    """float16 rounds p > 0.99976 to 1.0: Guo's bins put it in (14/15, 1], torchmetrics
    (bucketize right=True) in a 16th bin of its own; we follow Guo and count those rows."""
    conf = np.array([0.95, 0.95, 0.95, 1.0, 1.0], np.float16)
    correct = np.array([True, True, True, False, True])  # underconfident below 1, over at 1
    probs, labels = top_label_pairs(conf.astype(np.float32), correct)
    guo = float(_ECELoss().forward_softmaxes(torch.from_numpy(probs), torch.from_numpy(labels)))
    ours = cal.ece_width(conf, correct)
    assert ours == pytest.approx(guo, abs=1e-7) == pytest.approx(abs(4 - (3 * 0.95 + 2)) / 5, abs=1e-3)
    assert torchmetrics_ece(probs, labels) != pytest.approx(ours, abs=1e-3)
    assert cal.width_edge_ties(conf) == 2


def test_equal_mass_ece_equals_the_written_out_adaptive_binning(random_softmax):
    _, probs, labels = random_softmax
    conf, correct = probs.max(1), probs.argmax(1) == labels
    assert cal.ece_mass(conf, correct) == pytest.approx(nixon_equal_mass_ece(conf, correct), abs=1e-12)
    c16 = conf.astype(np.float16)  # many ties: they share a bin in both
    assert cal.ece_mass(c16, correct) == pytest.approx(nixon_equal_mass_ece(c16, correct), abs=1e-12)
    assert cal.mass_edge_ties(conf) == 0 and cal.mass_edge_ties(c16) > 0


def test_mass_edge_ties_counts_rows_moved_by_a_tie():
    # 4 rows, 2 bins: the edge is the sorted value at position 2 (0.5); the row at position 1
    # also holds 0.5, so it joins the upper bin although its rank puts it in the lower one
    conf = np.array([0.3, 0.5, 0.5, 0.9])
    assert cal.mass_edges(conf, 2).tolist() == [0.5]
    assert cal.mass_bins(conf, cal.mass_edges(conf, 2)).tolist() == [0, 1, 1, 1]
    assert cal.mass_edge_ties(conf, 2) == 1


def test_nll_and_brier_equal_a_direct_computation_from_full_probabilities(random_softmax):
    logits, probs, labels = random_softmax
    onehot = np.eye(probs.shape[1])[labels]
    p64 = probs.astype(np.float64)
    direct_nll = -np.log(p64[np.arange(len(labels)), labels]).mean()
    direct_brier = ((p64 - onehot) ** 2).sum(1).mean()
    for logit_source in (None, logits):
        ex = per_image.from_probs(probs, labels, logit_source)
        nll, brier = cal.nll_brier(ex["label_logp"], ex["prob_sq_sum"])
        assert nll == pytest.approx(direct_nll, rel=1e-6) and brier == pytest.approx(direct_brier, rel=1e-6)
    # renormalised over a class subset (the masked protocol), labels inside it
    subset = np.arange(0, 100, 2)
    inside = np.isin(labels, subset)
    ex = per_image.from_probs(probs[inside], labels[inside], subset=subset)
    q = p64[inside][:, subset]
    q /= q.sum(1, keepdims=True)
    y = np.searchsorted(subset, labels[inside])
    nll, brier = cal.nll_brier(ex["label_logp"], ex["prob_sq_sum"], ex["subset_mass"],
                               ex["subset_sq_sum"])
    assert nll == pytest.approx(-np.log(q[np.arange(len(y)), y]).mean(), rel=1e-6)
    assert brier == pytest.approx(((q - np.eye(len(subset))[y]) ** 2).sum(1).mean(), rel=1e-6)


@pytest.mark.slow
def test_fitted_temperature_equals_scipy_and_torch_lbfgs(random_softmax):
    scipy_optimize = pytest.importorskip("scipy.optimize")
    logits, _, labels = random_softmax
    z = logits.astype(np.float64)
    rows = np.arange(len(labels))

    def nll(t):
        s = z / t
        s = s - s.max(1, keepdims=True)
        return -(s[rows, labels] - np.log(np.exp(s).sum(1))).mean()
    t_scipy = scipy_optimize.minimize_scalar(nll, bounds=(0.05, 20), method="bounded",
                                             options={"xatol": 1e-10}).x
    t_param = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
    opt = torch.optim.LBFGS([t_param], lr=0.1, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-14, line_search_fn="strong_wolfe")
    zt, yt = torch.from_numpy(z), torch.from_numpy(labels)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(zt / t_param, yt)
        loss.backward()
        return loss
    opt.step(closure)
    t = cal.fit_temperature(logits, labels)
    assert t == pytest.approx(t_scipy, abs=1e-4) and t == pytest.approx(t_param.item(), abs=1e-4)
    assert t != pytest.approx(1.0, abs=0.05)  # the data are miscalibrated: a real fit


def test_no_temperature_when_every_fit_row_is_right():
    z = np.array([[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    assert np.isnan(cal.fit_temperature(z, np.array([0, 1])))
    assert 0 < cal.fit_temperature(z, np.array([0, 2])) < np.inf
    assert cal.fit_temperature(z, np.array([2, 0])) == np.inf  # labels below the row means


def test_paired_bootstrap_is_seeded_and_brackets_the_difference(random_softmax):
    _, probs, labels = random_softmax
    conf, ok = probs.max(1), probs.argmax(1) == labels
    a = cal.bootstrap_difference(conf, ok, conf ** 1.5, ok, samples=60)
    assert a == cal.bootstrap_difference(conf, ok, conf ** 1.5, ok, samples=60)
    for diff, low, high in a.values():  # a percentile interval of a biased statistic: it
        assert low < high and abs(diff - (low + high) / 2) < high - low  # need not hold diff
    assert a != cal.bootstrap_difference(conf, ok, conf ** 1.5, ok, samples=60, seed=1)
    same = cal.bootstrap_difference(conf, ok, conf, ok, samples=20)
    assert all(v == (0.0, 0.0, 0.0) for v in same.values())


def _cache_with_figures(n=50, seed=0, logits=True):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 1000, n)
    z = rng.normal(0, 1, (n, 1000)).astype(np.float32)
    z[np.arange(n), labels] += 4
    p = np.exp(z - z.max(1, keepdims=True))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    idx, prob = cache.top5_from_probs(p)
    preds = make_preds(idx, labels, model=f"m{seed}", probs=prob)
    preds.per_image = per_image.from_probs(p, labels, z)
    preds.logits = z if logits else None
    return preds, p, z, labels


def test_format3_cache_keeps_per_image_figures_and_logits(tmp_path):
    preds, p, z, labels = _cache_with_figures()
    path = cache.save(str(tmp_path / "c.npz"), preds)
    back = cache.load(path)
    assert back.provenance["format_version"] == cache.FORMAT_VERSION == 3
    assert back.logits is None and np.array_equal(cache.read_logits(back), z)
    for k in per_image.MEMBERS:
        assert np.array_equal(back.per_image[k], preds.per_image[k])
    (indexed,) = folder.load_folder(str(tmp_path)).preds
    assert np.array_equal(indexed.per_image["label_logp"], preds.per_image["label_logp"])
    assert np.array_equal(indexed.logits, z)


def test_score_calibration_fills_nll_for_format3_and_leaves_old_caches_empty(tmp_path, capsys):
    new, p, z, labels = _cache_with_figures(seed=1)
    old = make_preds(new.top5_idx, labels, model="old", probs=new.top5_prob)
    write_caches(tmp_path, [new, old])
    assert cli.main(["score", "--precomputed", str(tmp_path), "--calibration",
                     "--format", "json"]) == 0
    out = capsys.readouterr()
    rows = {r["model"]: r for r in json.loads(out.out)}
    ev = slice(10, 50)  # the rows after the first 20 %
    p64 = p.astype(np.float64)[ev]
    assert rows["torch:m1"]["nll"] == pytest.approx(-np.log(p64[np.arange(40), labels[ev]]).mean(), rel=1e-5)
    conf, ok = p64.max(1), p64.argmax(1) == labels[ev]
    assert rows["torch:m1"]["ece15"] == pytest.approx(cal.ece_width(conf, ok), abs=1e-3)  # float16
    assert rows["torch:old"]["nll"] is None and rows["torch:old"]["ece15"] is not None
    assert rows["torch:m1"]["temperature"] is not None and rows["torch:old"]["temperature"] is None
    assert "1 cache: NLL and Brier need the per-image" in out.err
    assert "rows after the first 20 %" in out.err


def test_save_logits_is_refused_for_a_library_without_logits(valdir, tmp_path, capsys):
    rc = cli.main(["predict", "-m", "keras:resnet50", "--save-logits", "-o", str(tmp_path),
                   str(valdir)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "--save-logits: keras:ResNet50.imagenet runs in the keras library" in err
    assert "Fix: leave --save-logits out" in err


def test_compare_calibration_gives_both_eces_and_the_bootstrap_interval(tmp_path, capsys):
    a, b = _cache_with_figures(n=60, seed=2)[0], _cache_with_figures(n=60, seed=3)[0]
    b.labels = a.labels  # the same images
    write_caches(tmp_path, [a, b])
    assert cli.main(["compare", "torch:m2", "torch:m3", "--precomputed", str(tmp_path),
                     "--calibration", "--format", "json"]) == 0
    out = capsys.readouterr()
    (row,) = json.loads(out.out)
    ra, rb = calrows.cache_row(a), calrows.cache_row(b)
    close = dict(abs=1e-5)  # json rounds to the column's decimals plus two
    assert row["ece15_a"] == pytest.approx(ra["ece15"], **close)
    assert row["ece100_b"] == pytest.approx(rb["ece100"], **close)
    ia, ib = calrows.cache_inputs(a), calrows.cache_inputs(b)
    ev = slice(12, 60)
    boot = cal.bootstrap_difference(ia["conf"][ev], ia["correct"][ev], ib["conf"][ev], ib["correct"][ev])
    assert (row["ece15_diff"], row["ece15_diff_low"], row["ece15_diff_high"]) == pytest.approx(boot["width"], **close)
    assert row["ece15_diff"] == pytest.approx(ra["ece15"] - rb["ece15"], **close)
    assert "1000 resamples of the images, seed 0" in out.err


@pytest.mark.slow  # plotly
def test_html_report_rows_carry_calibration_and_a_reliability_plot(tmp_path):
    pytest.importorskip("plotly")
    from imagenet_bench.report import html, html_data
    write_caches(tmp_path, [_cache_with_figures(seed=4)[0], _cache_with_figures(seed=5)[0]])
    doc = html_data.build([str(tmp_path)], with_calibration=True)
    for r in doc.rows:
        assert r["ece15"] == pytest.approx(calrows.cache_row(
            cache.load(str(next(tmp_path.glob(f"*{r['model'].split(':')[1]}.*")))))["ece15"])
    (fig,) = [f for f in html.figures(doc) if f["id"] == "plot-reliability"]
    assert len(fig["figure"].data) == 3  # the diagonal and one line per cache


@pytest.mark.slow  # five runs
def test_interrupted_save_logits_run_resumes_to_the_same_figures(tmp_path):
    from conftest import make_valset, normalize
    from imagenet_bench.data import datasets
    from imagenet_bench.run import runner
    from test_runner import NumpyBackend, opts

    class LogitsBackend(NumpyBackend):
        def predict_logits(self, batch):
            z = normalize(batch).reshape(len(batch), -1) @ self.w
            return self.predict(batch), z

    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=4, per_class=3)))
    ref = cache.load(runner.run(vs, LogitsBackend(), opts(tmp_path / "ref", save_logits=True)).cache_path)
    with pytest.raises(KeyboardInterrupt):
        runner.run(vs, LogitsBackend(fail_after=3), opts(tmp_path / "out", checkpoint_every=2,
                                                           save_logits=True))
    got = cache.load(runner.run(vs, LogitsBackend(), opts(tmp_path / "out", save_logits=True)).cache_path)
    z = cache.read_logits(got).astype(np.float64)
    assert np.array_equal(z, cache.read_logits(ref)) and z.shape == (12, 1000)
    for k in per_image.MEMBERS:
        assert np.array_equal(got.per_image[k], ref.per_image[k])
    rows = np.arange(12)
    logp = z[rows, got.labels] - np.log(np.exp(z).sum(1))
    assert np.allclose(got.per_image["label_logp"], logp, rtol=1e-6, atol=1e-6)
    # a cache without logits is replaced by a run asking for them; one with them satisfies both
    plain = runner.run(vs, NumpyBackend(), opts(tmp_path / "plain"))
    assert cache.read_logits(cache.load(plain.cache_path)) is None
    again = runner.run(vs, LogitsBackend(), opts(tmp_path / "plain", save_logits=True))
    assert cache.read_logits(cache.load(again.cache_path)) is not None
    b = NumpyBackend()
    runner.run(vs, b, opts(tmp_path / "plain"))
    assert b.calls == 0


def test_imagenet_a_calibration_is_of_the_softmax_renormalised_over_its_classes():
    from imagenet_bench.data import datasets
    classes = np.asarray(datasets.get("imagenet-a").classes)
    rng = np.random.default_rng(3)
    n = 60
    labels = classes[rng.integers(0, len(classes), n)]
    z = rng.normal(0, 1, (n, 1000))
    z[np.arange(n), labels] += rng.normal(2.0, 1.5, n)
    z[:, np.setdiff1d(np.arange(1000), classes)[:3]] += 4.0  # the 1,000-class top-1 mostly outside
    p = np.exp(z - z.max(1, keepdims=True))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    idx, prob = cache.top5_from_probs(p)
    ids = [f"imagenet-a/{c}/img{i:04d}.jpg" for i, c in enumerate(labels)]
    preds = cache.Predictions.build(
        idx, prob, labels, ids, {"model": "a", "framework": "torch", "weights": "random",
                                 "preprocessing": {}, "library_versions": {}, "complete": True,
                                 "dataset": {"name": "imagenet-a", "class_subset": classes.tolist()}},
        subset_top5=cache.top5_within(p, classes), logits=z,
        per_image=per_image.from_probs(p, labels, z.astype(np.float32), classes))
    row = calrows.cache_row(preds, "masked", z)
    q = p[:, classes].astype(np.float64)
    q /= q.sum(1, keepdims=True)
    y = np.searchsorted(classes, labels)
    ev, fit = slice(12, n), slice(0, 12)
    conf, ok = q[ev].max(1), q[ev].argmax(1) == y[ev]
    assert ok.mean() > (p[ev].argmax(1) == labels[ev]).mean()  # masking changes the prediction
    assert row["ece15"] == pytest.approx(cal.ece_width(conf, ok), abs=1e-3)  # float16 top-5
    assert row["nll"] == pytest.approx(-np.log(q[ev][np.arange(48), y[ev]]).mean(), rel=1e-5)
    assert row["brier"] == pytest.approx(((q[ev] - np.eye(200)[y[ev]]) ** 2).sum(1).mean(), rel=1e-5)
    assert row["temperature"] == pytest.approx(cal.fit_temperature(z[fit][:, classes], y[fit]))
    unmasked = calrows.cache_row(preds, "unmasked", z)
    assert unmasked["nll"] == pytest.approx(-np.log(p[ev][np.arange(48), labels[ev]]).mean(), rel=1e-5)


def test_calibration_is_refused_where_it_would_be_ignored(tmp_path, capsys):
    write_caches(tmp_path, [_cache_with_figures(seed=6)[0]])
    np.save(tmp_path / "keep.npy", np.arange(10))
    for extra, said in ((["--checkpoint-series"], "--checkpoint-series shows accuracy per checkpoint"),
                        (["--keep", str(tmp_path / "keep.npy")],
                         "--calibration: the calibration figures are those")):
        assert cli.main(["score", "--precomputed", str(tmp_path), "--calibration", *extra]) == 2
        err = capsys.readouterr().err
        assert said in err and "Fix: " in err
