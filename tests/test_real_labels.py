"""ReaL labels: mapping through image identities, empty sets left out."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from imagenet_bench.data import imagenet_meta
from imagenet_bench.data import real_labels
from imagenet_bench.cache.store import Predictions

# ReaL labels ship as timm package data; locate the wheel without importing timm (and torch)
pytestmark = pytest.mark.skipif(importlib.util.find_spec("timm") is None,
                                reason="timm (which ships the ReaL labels) is not installed")

SHARED = Path(__file__).resolve().parents[2] / "shared"
REF = SHARED / "reference" / "northcutt2019"


def _raw_sets():
    path = imagenet_meta.package_file("timm", real_labels.REAL_JSON, "pip install timm")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _preds(numbers, top1, labels=None, wnid="n01440764", missing=None):
    ids = [f"{wnid}/{imagenet_meta.val_filename(n)}" for n in numbers]
    top5 = np.stack([np.asarray(top1)] + [np.full(len(ids), 999 - j) for j in range(4)], axis=1)
    return Predictions.build(top5, np.zeros(top5.shape, np.float32),
                             labels if labels is not None else np.zeros(len(ids)), ids,
                             {"model": "m", "framework": "torch", "preprocessing": {},
                              "library_versions": {}, "complete": True, "weights": "x"},
                             missing=missing)


def test_rows_follow_file_numbers_not_row_order():
    raw = _raw_sets()
    # file 2 has {970, 795}, file 1 has an empty set (per the published json)
    numbers = [3, 2, 1, 4]
    preds = _preds(numbers, [raw[2][0], 795, 5, 0])
    sets, has = real_labels.rows_for(preds.image_ids)
    assert has.tolist() == [bool(raw[n - 1]) for n in numbers]
    for row, n in enumerate(numbers):
        assert sorted(int(x) for x in sets[row] if x >= 0) == sorted(raw[n - 1])
    correct, valid = real_labels.real_correct(preds)
    want = [bool(raw[n - 1]) and t in raw[n - 1] for n, t in zip(numbers, preds.top5_idx[:, 0])]
    assert correct.tolist() == want
    assert valid.sum() == sum(bool(raw[n - 1]) for n in numbers)


def _counts(preds, k=1):
    """(right, counted) ReaL top-k over the images with a ReaL set."""
    correct, valid = real_labels.real_correct(preds, k)
    return int(correct.sum()), int(valid.sum())


def test_empty_sets_excluded_from_accuracy():
    raw = _raw_sets()
    empty = [k + 1 for k, s in enumerate(raw) if not s][:3]
    full = [k + 1 for k, s in enumerate(raw) if s][:4]
    top1 = [0, 0, 0] + [raw[n - 1][0] for n in full[:3]] + [999 if 999 not in raw[full[3] - 1] else 998]
    preds = _preds(empty + full, top1)
    assert _counts(preds) == (3, 4)


def test_missing_rows_count_as_wrong_and_topk():
    raw = _raw_sets()
    n = next(k + 1 for k, s in enumerate(raw) if s)
    label = raw[n - 1][0]
    preds = _preds([n, n + 0], [label, label], missing=[False, False])
    assert _counts(preds) == (2, 2)
    preds.missing = np.array([False, True])
    assert _counts(preds) == (1, 2)
    # label in 2nd column only: top-1 wrong, top-5 right
    wrong = next(c for c in range(1000) if c not in raw[n - 1] and c < 990)
    p5 = _preds([n], [wrong])
    p5.top5_idx[0, 1] = label
    assert _counts(p5, k=1) == (0, 1)
    assert _counts(p5, k=5) == (1, 1)


def test_non_official_names_are_refused_with_the_name():
    ids = [f"n01440764/{imagenet_meta.val_filename(7)}", "n01440764/my_photo.jpg"]
    with pytest.raises(real_labels.RealLabelsError, match="my_photo.jpg.*row 1.*leave out --labels real"):
        real_labels.rows_for(ids)


def test_table_shape_and_empty_count_match_the_paper():
    table = real_labels.real_label_table()
    assert table.shape[0] == 50000
    raw = _raw_sets()
    assert int((table >= 0).any(axis=1).sum()) == sum(1 for s in raw if s)


@pytest.mark.skipif(not REF.is_dir(), reason=f"reference outputs not found at {REF}")
def test_reference_real_top1_matches_timm_evaluator():
    """ReaL top-1 of the 2019 torch resnet50 agrees with timm's own RealLabelsImagenet."""
    torch = pytest.importorskip("torch")
    from timm.data.real_labels import RealLabelsImagenet

    preds5 = np.load(REF / "pytorch_imagenet" / "resnet50_pytorch_imagenet_top5preds.npy")
    probs5 = np.load(REF / "pytorch_imagenet" / "resnet50_pytorch_imagenet_top5probs.npy")
    order = np.argsort(-probs5.astype(np.float64), axis=1, kind="stable")
    top5 = np.take_along_axis(preds5, order, axis=1)
    ids = imagenet_meta.full_val_image_ids()
    ours = Predictions.build(top5, np.zeros(top5.shape, np.float32), np.arange(50000) // 50, ids,
                             {"model": "resnet50", "framework": "torch", "preprocessing": {},
                              "library_versions": {}, "complete": True, "weights": "x"})
    correct, valid = _counts(ours)

    evaluator = RealLabelsImagenet([i.split("/")[1] for i in ids], topk=(1,))
    logits = torch.zeros(50000, 1000)
    logits.scatter_(1, torch.from_numpy(top5.astype(np.int64)),
                    torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0]).repeat(50000, 1))
    evaluator.add_result(logits)
    assert valid == 46837
    assert 100.0 * correct / valid == pytest.approx(evaluator.get_accuracy(1), abs=1e-9)


@pytest.mark.parametrize("k", [1, 5])
def test_real_correct_is_the_set_membership_of_every_row(k):
    """The column-at-a-time membership test against the plain definition, on 2,000 files
    (sets of every size, missing rows, predictions drawn from and beside each set)."""
    raw = _raw_sets()
    rng = np.random.default_rng(7)
    numbers = rng.choice(np.arange(1, len(raw) + 1), 2000, replace=False)
    top5 = rng.integers(0, 1000, (2000, 5))
    for r, n in enumerate(numbers):  # a third of the rows hold a member of their set
        if raw[n - 1] and r % 3 == 0:
            top5[r, rng.integers(0, 5)] = rng.choice(raw[n - 1])
    missing = rng.random(2000) < 0.05
    top5[missing] = -1
    ids = [f"n01440764/{imagenet_meta.val_filename(int(n))}" for n in numbers]
    preds = Predictions.build(top5, np.zeros(top5.shape, np.float32), np.zeros(2000), ids,
                              {"model": "m", "framework": "torch", "preprocessing": {},
                               "library_versions": {}, "complete": True, "weights": "x"},
                              missing=missing)
    for _ in range(2):  # computed, then from the memoised columns
        correct, valid = real_labels.real_correct(preds, k)
        want = [bool(raw[n - 1]) and not m and any(int(t) in raw[n - 1] for t in row[:k])
                for n, m, row in zip(numbers, missing, top5)]
        assert correct.tolist() == want and 0 < sum(want) < 2000
        assert valid.tolist() == [bool(raw[n - 1]) for n in numbers]
