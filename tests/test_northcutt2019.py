"""The 2019 layout: direct scoring, the tie rule, import to caches."""
import os

import numpy as np
import pytest

from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from imagenet_bench.cache import northcutt2019
from imagenet_bench.analysis import results, scorer


def _write_2019(root, model, fw, preds, probs):
    sub = {"keras": "keras_imagenet", "pytorch": "pytorch_imagenet"}[fw]
    os.makedirs(root / sub, exist_ok=True)
    np.save(root / sub / f"{model}_{fw}_imagenet_top5preds.npy", np.asarray(preds, np.int64))
    np.save(root / sub / f"{model}_{fw}_imagenet_top5probs.npy", np.asarray(probs))


def test_tie_rule_is_first_maximum_column(tmp_path):
    preds = [[5, 1, 7, 2, 9], [4, 3, 2, 1, 0]]
    probs = np.array([[0.1, 0.4, 0.4, 0.05, 0.05], [0.2, 0.2, 0.2, 0.2, 0.2]], np.float16)
    idx, prob = northcutt2019.sort_columns(np.array(preds), probs)
    assert idx.tolist() == [[1, 7, 5, 2, 9], [4, 3, 2, 1, 0]]
    assert prob[0].tolist() == pytest.approx([0.4, 0.4, 0.1, 0.05, 0.05], rel=1e-3)


def test_small_2019_layout_scored_with_given_labels(tmp_path):
    probs = np.array([[0.1, 0.6, 0.1, 0.1, 0.1], [0.5, 0.5, 0, 0, 0]], np.float32)
    _write_2019(tmp_path, "resnet50", "keras", [[3, 1, 4, 5, 6], [2, 7, 0, 9, 8]], probs)
    _write_2019(tmp_path, "resnet50", "pytorch", [[5, 1, 4, 3, 6], [7, 2, 0, 9, 8]], probs)
    preds = northcutt2019.load_directory(str(tmp_path), labels=np.array([1, 7]),
                                         image_ids=["n1/a.JPEG", "n2/b.JPEG"])
    rows = {r["framework"]: r for r in results.build(preds)}
    assert rows["keras"]["acc1"] == 50 and rows["keras"]["acc5"] == 100  # tie goes to column 0 (2)
    assert rows["torch"]["acc1"] == 100
    assert preds[0].provenance["preprocessing"]["mode"] == "legacy2019"


@pytest.mark.parametrize("change, message", [
    (lambda p, q: (p[:, :3], q), r"shape \(2, 3\)"),
    (lambda p, q: (p[:1], q[:1]), "1 rows, but the image list has 2"),
    (lambda p, q: (p + 1000, q), "class index out of range 0-999 at row 0"),
    (lambda p, q: (p, q * np.nan), "not finite or negative at row 0"),
])
def test_bad_2019_files_are_named(tmp_path, change, message):
    p, q = change(np.arange(10).reshape(2, 5), np.full((2, 5), 0.2, np.float32))
    _write_2019(tmp_path, "vgg16", "keras", p, q)
    with pytest.raises(cache.CacheError, match=message) as e:
        northcutt2019.load_directory(str(tmp_path), labels=np.array([1, 2]),
                                     image_ids=["a", "b"])
    assert "vgg16_keras_imagenet_top5p" in str(e.value)


def test_missing_probs_partner(tmp_path):
    _write_2019(tmp_path, "vgg16", "keras", np.zeros((2, 5)), np.zeros((2, 5)))
    os.remove(tmp_path / "keras_imagenet" / "vgg16_keras_imagenet_top5probs.npy")
    with pytest.raises(cache.CacheError, match="its probabilities file .* is missing"):
        northcutt2019.find_pairs(str(tmp_path))


def test_reference_top1_equals_2019_argmax_rule(reference_dir):
    preds = northcutt2019.load_directory(str(reference_dir))
    assert len(preds) == 34
    for p in preds:
        raw_preds = np.load(reference_dir / p.provenance["original_files"][0])
        raw_probs = np.load(reference_dir / p.provenance["original_files"][1])
        their_top1 = raw_preds[np.arange(len(raw_preds)), raw_probs.argmax(1)]
        assert np.array_equal(p.top5_idx[:, 0], their_top1), p.qualname
        assert (np.diff(p.top5_prob, axis=1) <= 0).all(), p.qualname
        assert np.array_equal(np.sort(p.top5_idx, 1), np.sort(raw_preds, 1)), p.qualname
        assert p.image_ids[0].startswith("n01440764/ILSVRC2012_val_")


@pytest.mark.slow  # converts 34 x 50,000 rows: seconds
def test_import_then_score_gives_the_same_table(reference_dir, tmp_path, capsys):
    out = tmp_path / "caches"
    assert cli.main(["import", str(reference_dir), "-o", str(out)]) == 0
    assert len(cache.find_caches(str(out))) == 34
    assert cli.main(["import", str(reference_dir), "-o", str(out)]) == 0
    assert "kept 34 existing" in capsys.readouterr().err
    direct = results.build(scorer.load_predictions(str(reference_dir)))
    imported = results.build(scorer.load_predictions(str(out)))
    assert [(r["framework"], r["model"], r["acc1"], r["acc5"]) for r in direct] == \
           [(r["framework"], r["model"], r["acc1"], r["acc5"]) for r in imported]


def test_val_dir_gives_labels_and_ids(tmp_path, capsys):
    """With --val-dir the rows take that directory's ids and labels (not i // 50)."""
    from imagenet_bench.data import imagenet_meta

    wnids = imagenet_meta.wnids()
    w10 = imagenet_meta.validation_wnids()[9]  # the official class of ILSVRC2012_val_00000010
    c10 = wnids.index(w10)
    val = tmp_path / "val"
    for w, name in ((w10, "ILSVRC2012_val_00000010.JPEG"), (wnids[999], "b.JPEG")):
        (val / w).mkdir(parents=True)
        (val / w / name).write_bytes(b"not read")
    ref = tmp_path / "ref"
    probs = np.full((2, 5), 0.2, np.float32)
    _write_2019(ref, "vgg16", "keras", [[c10, 0, 0, 0, 0], [1, 999, 0, 0, 0]], probs)
    preds = scorer.load_predictions(str(ref), val_dir=str(val))
    assert preds[0].labels.tolist() == [c10, 999]
    assert preds[0].image_ids == [f"{w10}/ILSVRC2012_val_00000010.JPEG", f"{wnids[999]}/b.JPEG"]
    assert cli.main(["score", "--precomputed", str(ref), "--val-dir", str(val), "--format",
                     "json"]) == 0
    assert '"acc1": 50.0' in capsys.readouterr().out and preds[0].top5_idx[1, 0] == 1
    _write_2019(ref, "vgg16", "keras", np.zeros((3, 5)), np.full((3, 5), 0.2, np.float32))
    assert cli.main(["import", str(ref), "--val-dir", str(val), "-o", str(tmp_path / "o")]) == 2
    assert "3 rows, but the image list has 2" in capsys.readouterr().err


def test_sorting_network_sorts_every_0_1_input_and_matches_np_sort():
    import itertools

    for bits in itertools.product([0, 1], repeat=5):
        cols = list(bits)
        for a, b in northcutt2019.SORT5:
            cols[a], cols[b] = min(cols[a], cols[b]), max(cols[a], cols[b])
        assert cols == sorted(bits)
    rng = np.random.default_rng(1)
    preds = rng.integers(0, 1000, (4000, 5))
    probs = rng.choice(np.float16([0.0, 0.1, 0.25, 0.5]), (4000, 5))  # many ties
    idx, prob = northcutt2019.sort_columns(preds, probs)
    order = np.argsort(-probs.astype(np.float32), axis=1, kind="stable")
    assert np.array_equal(idx, np.take_along_axis(preds, order, 1).astype(np.int16))
    assert np.array_equal(prob, np.take_along_axis(probs, order, 1).astype(np.float32))
