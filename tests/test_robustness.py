"""The robustness table: effective robustness on timm's published figures, and the command."""
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import make_preds, official_files, write_caches
from imagenet_bench.analysis import robustness
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from imagenet_bench.data import datasets

TIMM = Path(__file__).parent / "data" / "timm_v1.0.28_robustness_top1.csv"


def timm_rows():
    with open(TIMM, encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def independent_er(val, shifted):
    """Effective robustness with numpy.polyfit on logits (the check's own computation)."""
    x = np.log(np.asarray(val) / (100 - np.asarray(val)))
    y = np.log(np.asarray(shifted) / (100 - np.asarray(shifted)))
    slope, intercept = np.polyfit(x, y, 1)
    return np.asarray(shifted) - 100 / (1 + np.exp(-(intercept + slope * x))), slope, intercept


@pytest.mark.parametrize("column", ["imagenetv2-matched-frequency", "imagenet-a", "imagenet-r",
                                    "sketch"])
def test_effective_robustness_on_timm_published_figures_matches_polyfit(column):
    rows = timm_rows()
    assert len(rows) == 20
    val = {r["model"]: float(r["imagenet"]) for r in rows}
    shifted = {r["model"]: float(r[column]) for r in rows}
    er, fit = robustness.effective_robustness(val, shifted, column)
    models = sorted(val)
    want, slope, intercept = independent_er([val[m] for m in models], [shifted[m] for m in models])
    assert fit.models == 20
    assert fit.slope == pytest.approx(slope, rel=1e-9)
    assert fit.intercept == pytest.approx(intercept, rel=1e-9, abs=1e-12)
    assert [er[m] for m in models] == pytest.approx(want.tolist(), abs=1e-9)
    # residuals of a least-squares fit sum to zero in logit space
    resid = [robustness.logit(shifted[m]) - fit.intercept - fit.slope * robustness.logit(val[m])
             for m in models]
    assert abs(sum(resid)) < 1e-9


def test_effective_robustness_fit_agrees_with_scipy_linregress():
    stats = pytest.importorskip("scipy.stats")
    rows = timm_rows()
    x = [robustness.logit(float(r["imagenet"])) for r in rows]
    y = [robustness.logit(float(r["imagenet-r"])) for r in rows]
    ref = stats.linregress(x, y)
    slope, intercept = robustness.linear_fit(x, y)
    assert (slope, intercept) == pytest.approx((ref.slope, ref.intercept), rel=1e-9)


def test_published_figures_show_the_known_pattern():
    """ImageNetV2 is predicted by val accuracy (Recht et al. 2019: every model within a point
    of the line); renditions and sketches are not (Hendrycks et al. 2021, Taori et al. 2020)."""
    rows = timm_rows()
    val = {r["model"]: float(r["imagenet"]) for r in rows}
    spread = {}
    for column in ("imagenetv2-matched-frequency", "imagenet-r", "sketch"):
        er, _ = robustness.effective_robustness(
            val, {r["model"]: float(r[column]) for r in rows}, column)
        spread[column] = max(abs(v) for v in er.values())
    assert spread["imagenetv2-matched-frequency"] < 1.0
    assert spread["imagenet-r"] > 5.0 and spread["sketch"] > 5.0


def test_no_fit_below_three_models():
    er, fit = robustness.effective_robustness({"a": 70.0, "b": 80.0}, {"a": 60.0, "b": 65.0}, "x")
    assert er == {} and fit is None


# --- the command on synthetic caches --------------------------------------------------------------

def _top5(rng, labels, pool, p_right):
    """Top-5 rows drawn from ``pool`` (distinct classes); the first is the label with
    probability ``p_right``, and the label appears nowhere else."""
    rows = []
    for label in labels:
        others = rng.choice([c for c in pool[:60] if c != label], 5, replace=False)
        if rng.random() < p_right:
            others[0] = label
        rows.append(others)
    return np.asarray(rows)


def _caches(tmp_path):
    """Four models with caches on val (official file names), V2-mf, A (with the masked top-5)
    and Sketch; better models are right more often on every set."""
    rng = np.random.default_rng(7)
    files = official_files(8, 3)  # 24 official val files of classes 0-7
    a_classes = list(datasets.get("imagenet-a").classes)
    sets = {"imagenet-val": (np.repeat(np.arange(8), 3), [f"{w}/{f}" for w, f in files])}
    for name, n in (("imagenet-v2-matched-frequency", 40), ("imagenet-a", 30),
                    ("imagenet-sketch", 50)):
        labels = rng.choice(a_classes if name == "imagenet-a" else 1000, n)
        sets[name] = labels, [f"{name}/{c}/img{i}.jpg" for i, c in enumerate(labels)]
    preds = []
    for model, p_right in (("m1", 0.3), ("m2", 0.5), ("m3", 0.7), ("m4", 0.9)):
        for name, (labels, ids) in sets.items():
            ds = {"name": name}
            shift = 1.0 if name == "imagenet-val" else 0.6
            top5 = _top5(rng, labels, list(range(1000)), p_right * shift)
            if name == "imagenet-a":
                ds["class_subset"] = a_classes
            p = make_preds(top5, labels, model=model, ids=ids, dataset=ds)
            if name == "imagenet-a":
                p.subset_top5_idx = _top5(rng, labels, a_classes, p_right).astype(np.int16)
                p.subset_top5_prob = p.top5_prob.copy()
            preds.append(p.validate())
    folder = tmp_path / "pre"
    folder.mkdir()
    for p in preds:
        name = cache.cache_filename(p.model_id, p.num_images, p.fingerprint,
                                    datasets.name_of(p))
        cache.save(str(folder / name), p)
    return folder, preds


def test_robustness_csv_has_exactly_the_issue_columns_and_independent_values(tmp_path, capsys):
    folder, preds = _caches(tmp_path)
    assert cli.main(["robustness", "--precomputed", str(folder), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(out.splitlines()))
    header = out.splitlines()[0].split(",")
    expected = ["model", "imagenet-val"]
    if rows[0].get("real"):
        expected.append("real")
    expected += ["imagenet-v2-matched-frequency", "imagenet-a", "imagenet-a-unmasked",
                 "imagenet-sketch", "er_imagenet-v2-matched-frequency", "er_imagenet-a",
                 "er_imagenet-sketch"]
    assert header == expected
    by = {(p.qualname, datasets.name_of(p)): p for p in preds}
    models = sorted({p.qualname for p in preds})
    assert [r["model"] for r in rows] == models
    for r in rows:
        val = by[(r["model"], "imagenet-val")]
        assert float(r["imagenet-val"]) == pytest.approx(
            100 * (val.top5_idx[:, 0] == val.labels).mean(), abs=1e-4)
        a = by[(r["model"], "imagenet-a")]
        assert float(r["imagenet-a"]) == pytest.approx(
            100 * (a.subset_top5_idx[:, 0] == a.labels).mean(), abs=1e-4)
        assert float(r["imagenet-a-unmasked"]) == pytest.approx(
            100 * (a.top5_idx[:, 0] == a.labels).mean(), abs=1e-4)
    for name in ("imagenet-v2-matched-frequency", "imagenet-a", "imagenet-sketch"):
        want, _, _ = independent_er([float(r["imagenet-val"]) for r in rows],
                                    [float(r[name]) for r in rows])
        assert [float(r[f"er_{name}"]) for r in rows] == pytest.approx(want.tolist(), abs=1e-3)


def test_robustness_text_json_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    folder, _ = _caches(tmp_path)
    plot = tmp_path / "er.png"
    assert cli.main(["robustness", "--precomputed", str(folder), "--format", "json",
                     "--plot", str(plot)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert plot.stat().st_size > 1000
    r = rows[0]
    # values as printed (rounded by the table renderer)
    assert r["delta_imagenet-sketch"] == pytest.approx(r["imagenet-sketch"] - r["imagenet-val"], abs=1e-3)
    assert r["delta_imagenet-a"] == pytest.approx(r["imagenet-a"] - r["imagenet-val"], abs=1e-3)
    assert "delta_imagenet-a_val200" in r  # None here: val holds none of A's classes' images
    assert cli.main(["robustness", "torch:m2", "torch:m4", "--precomputed", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "ER v2-mf" in text and "A masked" in text and "ΔA-val200" in text
    assert "torch:m2" in text and "torch:m1" not in text


def test_robustness_refuses_unknown_model_and_mixed_images_of_one_set(tmp_path, capsys):
    folder, preds = _caches(tmp_path)
    assert cli.main(["robustness", "torch:nope", "--precomputed", str(folder)]) == 2
    assert "no cache of torch:nope; models present: torch:m1" in capsys.readouterr().err
    p = make_preds([[1, 2, 3, 4, 5]], [1], model="m9", ids=["imagenet-sketch/x/1.jpg"],
                   dataset={"name": "imagenet-sketch"})
    write_caches(folder, [p])
    assert cli.main(["robustness", "--precomputed", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "imagenet-sketch caches: the caches cover different image lists" in err
    assert "Fix: keep the caches of one folder of imagenet-sketch" in err


def test_val_restricted_masked_baseline_from_top5_and_from_all_probs():
    rng = np.random.default_rng(3)
    classes = list(datasets.get("imagenet-r").classes)
    labels = rng.choice(1000, 300)
    probs = rng.dirichlet(np.full(1000, 0.05), 300).astype(np.float32)
    probs[np.arange(300), labels] += rng.random(300).astype(np.float32)
    probs /= probs.sum(1, keepdims=True)
    idx, prob = cache.top5_from_probs(probs)
    p = cache.Predictions.build(idx, prob, labels, [f"x/{i}" for i in range(300)], {
        "model": "m", "framework": "torch", "weights": "w", "preprocessing": {},
        "library_versions": {}, "complete": True}, all_probs=probs)
    rows = np.isin(labels, classes)
    direct = np.asarray(classes)[np.argmax(probs[rows][:, classes], 1)] == labels[rows]
    unmasked, masked, n, undetermined = robustness.val_restricted(p, classes)
    assert n == rows.sum() and undetermined == 0
    assert masked == pytest.approx(100 * direct.mean())
    assert unmasked == pytest.approx(100 * (idx[rows, 0] == labels[rows]).mean())
    p.all_probs = None  # from the top-5 alone: exact where determined, else withheld
    unmasked2, masked2, _, undetermined2 = robustness.val_restricted(p, classes)
    inside = np.isin(idx[rows], classes).any(1)
    assert undetermined2 == int((~inside).sum())
    assert masked2 == (None if undetermined2 else pytest.approx(100 * direct.mean()))


SCRIPT = """
import json, sys
from imagenet_bench.cli import main as cli
code = cli.main(["robustness", "--precomputed", sys.argv[1], "--format", "csv", "-o", sys.argv[2]])
heavy = [m for m in ("torch", "tensorflow", "keras", "pandas", "scipy", "matplotlib",
                     "tensorflow_datasets", "timm", "PIL") if m in sys.modules]
print(json.dumps({"code": code, "heavy": heavy}))
"""


def test_robustness_imports_no_framework(tmp_path):
    import subprocess
    import sys
    folder, _ = _caches(tmp_path)
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(folder), str(tmp_path / "t.csv")],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == {"code": 0, "heavy": []}
    assert (tmp_path / "t.csv").read_text().startswith("model,imagenet-val,")
