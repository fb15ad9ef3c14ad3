"""Scoring: hand-computable accuracies, masks, custom labels, ranks, refusals."""
import numpy as np
import pytest
from conftest import make_preds, write_caches

from imagenet_bench.analysis import results, scorer
from imagenet_bench.errors import InputError

# 4 images, labels 1, 2, 3, 4.
LABELS = [1, 2, 3, 4]
A = [[1, 9, 9, 9, 9],   # top-1 right
     [9, 2, 9, 9, 9],   # top-5 right
     [9, 9, 9, 9, 9],   # wrong
     [4, 9, 9, 9, 9]]   # top-1 right       -> acc1 50, acc5 75
B = [[9, 9, 9, 9, 1],   # top-5
     [2, 9, 9, 9, 9],   # top-1
     [3, 9, 9, 9, 9],   # top-1
     [9, 9, 9, 9, 9]]   # wrong             -> acc1 50, acc5 75


def _rows(tmp_path, preds, **opts):
    write_caches(tmp_path, preds)
    return results.build(scorer.load_predictions(str(tmp_path)), results.Options(**opts))


def test_hand_computed_accuracies_and_ranks(tmp_path):
    c = [[1, 2, 3, 4, 5]] * 4  # top-1 right on image 0 only; top-5 on 0, 1, 2, 3
    rows = _rows(tmp_path, [make_preds(A, LABELS, "a"), make_preds(B, LABELS, "b"),
                            make_preds(c, LABELS, "c", framework="keras")])
    by = {r["model"].split(":")[1]: r for r in rows}
    assert by["a"]["acc1"] == 50 and by["a"]["acc5"] == 75
    assert by["b"]["acc1"] == 50 and by["b"]["acc5"] == 75
    assert by["c"]["acc1"] == 25 and by["c"]["acc5"] == 100
    assert by["a"]["rank1"] == by["b"]["rank1"] == 1 and by["c"]["rank1"] == 3
    assert by["c"]["rank5"] == 1 and by["a"]["rank5"] == 2
    assert [r["model"] for r in rows] == ["torch:a", "torch:b", "keras:c"]
    assert all(r["images"] == 4 for r in rows)


def test_missing_images_count_as_wrong(tmp_path):
    top5 = [[1, 0, 0, 0, 0], [-1] * 5]
    rows = _rows(tmp_path, [make_preds(top5, [1, 2], missing=[False, True])])
    assert rows[0]["acc1"] == 50 and rows[0]["missing"] == 1


def test_keep_and_omit_indices_and_masks(tmp_path):
    np.save(tmp_path / "keep.npy", np.array([0, 2, 3]))
    np.save(tmp_path / "omit.npy", np.array([3]))
    np.save(tmp_path / "mask.npy", np.array([True, True, False, False]))
    d = tmp_path / "c"
    rows = _rows(d, [make_preds(A, LABELS, "a")], keep=str(tmp_path / "keep.npy"))
    assert rows[0]["acc1"] == pytest.approx(200 / 3) and rows[0]["images"] == 3
    rows = _rows(d, [], keep=str(tmp_path / "keep.npy"), omit=str(tmp_path / "omit.npy"))
    assert rows[0]["acc1"] == 50 and rows[0]["acc5"] == 50 and rows[0]["images"] == 2
    rows = _rows(d, [], omit=str(tmp_path / "mask.npy"))
    assert rows[0]["acc1"] == 50 and rows[0]["images"] == 2


def test_custom_labels_are_extra_columns(tmp_path):
    np.save(tmp_path / "labels.npy", np.array([9, 9, 9, 9]))
    rows = _rows(tmp_path / "c", [make_preds(A, LABELS, "a")], labels=str(tmp_path / "labels.npy"))
    r = rows[0]
    assert r["acc1"] == 50 and r["acc5"] == 75  # standard columns unchanged
    assert r["custom_acc1"] == 50 and r["custom_acc5"] == 100 and r["custom_rank1"] == 1


@pytest.mark.parametrize("arr, opt, message", [
    (np.array([0, 1, 2]), "labels", "--labels .* has 3 labels but 4 images are scored"),
    (np.array([0, 1, 2, 1000]), "labels", "value 1000 at position 3 is not a class index"),
    (np.array([0.5, 1, 2, 3]), "labels", "expected a 1-D integer array, got dtype float64"),
    (np.array([0, 7]), "keep", r"--keep .*: index 7 is outside 0..3 \(the caches hold 4 images\)"),
    (np.array([1, 1]), "omit", "repeated indices"),
    (np.array([True, False]), "keep", "boolean mask of length 2, but the caches hold 4 images"),
])
def test_bad_mask_and_label_files_name_both_lengths(tmp_path, arr, opt, message):
    np.save(tmp_path / "f.npy", arr)
    with pytest.raises(InputError, match=message):
        _rows(tmp_path / "c", [make_preds(A, LABELS, "a")], **{opt: str(tmp_path / "f.npy")})


def test_labels_apply_after_keep(tmp_path):
    np.save(tmp_path / "keep.npy", np.array([0, 1]))
    np.save(tmp_path / "labels.npy", np.array([1, 2]))
    rows = _rows(tmp_path / "c", [make_preds(A, LABELS, "a")], keep=str(tmp_path / "keep.npy"),
                 labels=str(tmp_path / "labels.npy"))
    assert rows[0]["custom_acc1"] == 50 and rows[0]["custom_acc5"] == 100


def test_mixed_image_lists_are_refused(tmp_path):
    a = make_preds(A, LABELS, "a")
    b = make_preds(A, LABELS, "b", ids=[f"n1/x{i}.JPEG" for i in range(4)])
    write_caches(tmp_path, [a, b])
    with pytest.raises(InputError, match="different image lists.*--allow-mixed-datasets"):
        scorer.load_predictions(str(tmp_path))
    assert len(scorer.load_predictions(str(tmp_path), allow_mixed=True)) == 2


def test_empty_and_missing_directories(tmp_path):
    with pytest.raises(InputError, match="no prediction caches found.*imagenet-bench predict"):
        scorer.load_predictions(str(tmp_path))
    with pytest.raises(InputError, match="no such directory"):
        scorer.load_predictions(str(tmp_path / "nope"))


def test_competition_ranks():
    assert scorer.competition_ranks([70.0, 80.0, 70.0, 60.0]) == [2, 1, 2, 4]
