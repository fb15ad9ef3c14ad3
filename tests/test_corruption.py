"""mCE as Hendrycks & Dietterich (ICLR 2019) define it, against a hand computation.

Synthetic caches with known error counts on every ImageNet-C set; the
expected figures are computed here from the paper's formulas, written out
independently of analysis/corruption.py; AlexNet's own errors give 100.
"""
import json
import os

import numpy as np
import pytest

from conftest import make_preds
from imagenet_bench.analysis import corruption
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from imagenet_bench.data import imagenet_c, imagenet_meta

N = 20  # images per synthetic set
# google-research/augmix imagenet.py ALEXNET_ERR (the 15 means over severities), in benchmark order
AUGMIX_ALEXNET_ERR = [0.886428, 0.894468, 0.922640, 0.819880, 0.826268, 0.785948, 0.798360,
                      0.866816, 0.826572, 0.819324, 0.564592, 0.853204, 0.646056, 0.717840, 0.606500]


def wrong_counts(model_seed: int):
    """{(corruption, severity): images wrong of N}, rising with severity."""
    rng = np.random.default_rng(model_seed)
    return {(c, s): int(min(N, rng.integers(0, 6) + 3 * s)) for c in imagenet_c.CORRUPTIONS
            + imagenet_c.EXTRA for s in imagenet_c.SEVERITIES}


def synthetic(model: str, name: str, wrong: int) -> cache.Predictions:
    """A cache of ``model`` on set ``name``: the first ``wrong`` of N images predicted wrong."""
    labels = np.arange(N) % 7 + 10
    top5 = np.stack([labels, labels + 100, labels + 200, labels + 300, labels + 400], axis=1)
    top5[:wrong, 0] = labels[:wrong] + 500
    prefix = "" if name == "imagenet-val" else f"{name}/"
    wnids = imagenet_meta.wnids()
    ids = [f"{prefix}{wnids[label]}/img_{i:04d}.JPEG" for i, label in enumerate(labels)]
    return make_preds(top5, labels, model=model, ids=ids, dataset={"name": name},
                      recipe_overrides={"resize": 224, "crop": 224} if prefix else {})


def hand_mce(wrong, clean_wrong=None):
    """The paper's formulas, written out: CE_c = sum_s E / sum_s E_AlexNet (relative: minus the
    clean errors), mCE their mean over the 15 benchmark corruptions, in percent."""
    ref = json.load(open(os.path.join(os.path.dirname(imagenet_c.__file__), "_info",
                                      "imagenet_c_alexnet.json")))
    ces = []
    for c in imagenet_c.CORRUPTIONS:
        num = den = 0.0
        for s in range(1, 6):
            num += wrong[(c, s)] / N - (0 if clean_wrong is None else clean_wrong / N)
            den += ref["errors"][c][s - 1] - (0 if clean_wrong is None else ref["clean_error"])
        ces.append(100 * num / den)
    return sum(ces) / 15


def test_shipped_alexnet_errors_average_to_augmix_and_score_100():
    ref = corruption.alexnet()
    means = [float(np.mean(ref["errors"][c])) for c in imagenet_c.CORRUPTIONS]
    assert means == pytest.approx(AUGMIX_ALEXNET_ERR, abs=5e-7)
    assert "hendrycks/robustness" in ref["source"] and "augmix" in ref["source"]
    assert corruption.mce(ref["errors"]) == (pytest.approx(100.0), [])
    assert corruption.mce(ref["errors"], clean=ref["clean_error"])[0] == pytest.approx(100.0)
    # an unnormalised mean beside it: the plain mean of the 75 errors
    assert corruption.mean_error(ref["errors"]) == pytest.approx(100 * np.mean(
        [ref["errors"][c] for c in imagenet_c.CORRUPTIONS]))


def test_mce_of_synthetic_caches_equals_the_hand_computation(tmp_path):
    wrong = wrong_counts(1)
    preds = [synthetic("torch:resnet18.IMAGENET1K_V1+random+recipe-0a1b2c3d", imagenet_c.set_name(c, s), k)
             for (c, s), k in wrong.items()]
    preds.append(synthetic("torch:resnet18.IMAGENET1K_V1+random", "imagenet-val", 4))
    table = corruption.build(preds, lambda p: 100.0 * (1 - float(np.mean(p.top5_idx[:, 0] == p.labels))))
    (row,) = table.summary
    assert row["model"] == "torch:resnet18.IMAGENET1K_V1+random" and row["protocol"] == "benchmark"
    assert row["mce"] == pytest.approx(hand_mce(wrong), rel=1e-12)
    assert row["relative_mce"] == pytest.approx(hand_mce(wrong, clean_wrong=4), rel=1e-12)
    assert row["clean_error"] == pytest.approx(20.0)
    assert row["mean_error"] == pytest.approx(100 * np.mean(
        [wrong[(c, s)] / N for c in imagenet_c.CORRUPTIONS for s in range(1, 6)]))
    assert row["sets"] == 95 and row["missing"] == "" and table.notes == []
    grid = {r["corruption"]: r for r in table.grid}
    assert len(grid) == 19 and grid["saturate"]["ce"] is None  # extra corruptions: no CE
    assert grid["fog"]["s3"] == pytest.approx(100 * wrong[("fog", 3)] / N)


def test_an_incomplete_corruption_gives_no_mce_and_a_note_naming_it():
    wrong = wrong_counts(2)
    del wrong[("snow", 4)]
    preds = [synthetic("torch:resnet18.IMAGENET1K_V1", imagenet_c.set_name(c, s), k)
             for (c, s), k in wrong.items() if c not in ("fog", "frost")]
    table = corruption.build(preds, lambda p: 100.0 * (1 - float(np.mean(p.top5_idx[:, 0] == p.labels))))
    (row,) = table.summary
    assert row["mce"] is None and row["mean_error"] is None and row["relative_mce"] is None
    assert row["missing"] == "snow, frost, fog"
    assert any("no mCE: 3 of the 15 benchmark corruptions lack some severity (snow, frost, fog)" in n
               for n in table.notes)
    assert any("no relative mCE: no imagenet-val cache" in n for n in table.notes)
    snow = next(r for r in table.grid if r["corruption"] == "snow")
    assert snow["s4"] is None and snow["ce"] is None and snow["s5"] is not None


def test_robustness_command_prints_summary_and_grid_from_a_folder(tmp_path, capsys):
    wrong = wrong_counts(3)
    preds = [synthetic("torch:resnet18.IMAGENET1K_V1", imagenet_c.set_name(c, s), k)
             for (c, s), k in wrong.items()]
    preds.append(synthetic("torch:resnet18.IMAGENET1K_V1", "imagenet-val", 2))
    for p in preds:
        name = cache.cache_filename(p.model_id, p.num_images, p.fingerprint, p.provenance["dataset"]["name"])
        cache.save(str(tmp_path / name), p)
    assert cli.main(["robustness", "--precomputed", str(tmp_path), "--corruptions", "summary",
                     "--format", "json"]) == 0
    out = capsys.readouterr()
    (row,) = json.loads(out.out)
    assert row["mce"] == pytest.approx(hand_mce(wrong), rel=1e-5)
    assert row["relative_mce"] == pytest.approx(hand_mce(wrong, clean_wrong=2), rel=1e-5)
    assert cli.main(["robustness", "--precomputed", str(tmp_path), "--corruptions", "grid"]) == 0
    grid = capsys.readouterr()
    text = grid.out
    assert (f"ImageNet-C caches of {N:,} images, not the 50,000 of each set: CE and mCE are not "
            f"comparable to published full-set figures") in grid.out + grid.err
    assert "mCE = mean CE over the 15 benchmark corruptions" in text and "benchmark: the benchmark's own" in text
    assert "gaussian_noise" in text and "saturate" in text
    assert cli.main(["robustness", "--precomputed", str(tmp_path)]) == 0
    assert "ImageNet-C caches present: --corruptions summary" in capsys.readouterr().err


@pytest.mark.slow
def test_the_html_report_draws_the_heat_map_of_the_same_errors(tmp_path):
    pytest.importorskip("plotly")
    from imagenet_bench.report import html, html_data
    wrong = {k: v for k, v in wrong_counts(4).items() if k[0] in ("fog", "saturate")}
    for (c, s), k in wrong.items():
        p = synthetic("torch:resnet18.IMAGENET1K_V1", imagenet_c.set_name(c, s), k)
        cache.save(str(tmp_path / cache.cache_filename(p.model_id, N, p.fingerprint,
                                                      imagenet_c.set_name(c, s))), p)
    doc = html_data.build([str(tmp_path)])
    (fig,) = [f for f in html.figures(doc) if f["id"] == "plot-imagenet-c"]
    trace = fig["figure"].data[0]
    assert list(trace.x) == ["fog", "saturate"] and trace.y == ("torch:resnet18.IMAGENET1K_V1 (no mCE)",)
    assert [round(v, 4) for v in trace.z[0]] == [
        round(100 * np.mean([wrong[(c, s)] / N for s in range(1, 6)]), 4) for c in ("fog", "saturate")]
    assert "no mCE: 14 of the 15 benchmark corruptions" in " ".join(doc.notes)
