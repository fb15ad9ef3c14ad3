"""Per-class accuracy and hard examples: hand cases, brute force, CLI, reference outputs."""
import csv
import io
from collections import Counter

import numpy as np
import pytest

from analysis_helpers import REFERENCE, SKIP_REASON, preds_for, save_all, val_ids
from imagenet_bench.cli import main as cli
from imagenet_bench.analysis import errors_view
from imagenet_bench.data import imagenet_meta
from imagenet_bench.analysis import scorer

# files 1..6 of the validation set, whatever their classes are
NUMBERS = [1, 2, 3, 4, 5, 6]


def test_per_class_by_hand():
    # make two classes: the first three images class 7, the last three class 9
    labels = np.array([7, 7, 7, 9, 9, 9])
    top1 = np.array([7, 7, 1, 9, 2, 3])
    p = preds_for(NUMBERS, top1, labels=labels)
    rows = errors_view.per_class_rows(p, scorer.correct(p)[0], ci=True)
    assert [(r["class"], r["images"], r["correct"]) for r in rows] == [(7, 3, 2), (9, 3, 1)]
    assert rows[0]["top1"] == pytest.approx(200 / 3)
    assert rows[0]["wnid"] == imagenet_meta.wnids()[7]
    assert rows[0]["name"] == imagenet_meta.class_names()[7]
    assert rows[1]["top1_low"] < rows[1]["top1"] < rows[1]["top1_high"]


def test_wrong_agreement_brute_force():
    rng = np.random.default_rng(3)
    pred = rng.integers(0, 4, size=(7, 300))
    wrong = rng.random((7, 300)) < 0.6
    got = errors_view.wrong_agreement(pred, wrong)
    for i in range(300):
        votes = Counter(pred[wrong[:, i], i].tolist())
        assert got[i] == (max(votes.values()) if votes else 0), i


def test_hard_examples_by_hand():
    _, labels = val_ids(NUMBERS)
    w = (labels + 1) % 990           # a wrong class per image
    w2 = (labels + 2) % 990          # another
    # image 0: right by all; 1: wrong by all three, two agree; 2: wrong by all, all agree;
    # 3: wrong by one
    m1 = np.array([labels[0], w[1], w[2], w[3], labels[4], labels[5]])
    m2 = np.array([labels[0], w[1], w[2], labels[3], labels[4], labels[5]])
    m3 = np.array([labels[0], w2[1], w[2], labels[3], labels[4], labels[5]])
    ps = [preds_for(NUMBERS, t, name) for t, name in ((m1, "a"), (m2, "b"), (m3, "c"))]
    rows = errors_view.hard_example_rows(ps, [scorer.correct(p)[0] for p in ps], limit=10)
    ids = ps[0].image_ids
    assert [r["image"] for r in rows] == [ids[2], ids[1], ids[3]]
    assert [(r["models_wrong"], r["models_agreeing"]) for r in rows] == [(3, 3), (3, 2), (1, 1)]
    names = imagenet_meta.class_names()
    assert rows[1]["predicted_instead"].startswith(f"{names[w[1]]} (")
    assert rows[1]["predicted_instead"].endswith("x1") and " x2; " in rows[1]["predicted_instead"]
    assert len(errors_view.hard_example_rows(ps, [scorer.correct(p)[0] for p in ps],
                                             min_wrong=3)) == 2


def test_cli_errors_and_per_class_write_csv(tmp_path, capsys):
    _, labels = val_ids(NUMBERS)
    wrong = (labels + 1) % 990
    a = preds_for(NUMBERS, np.where(np.arange(6) < 3, labels, wrong), "resnet50", "torch")
    b = preds_for(NUMBERS, np.where(np.arange(6) < 5, labels, wrong), "vgg16", "torch")
    d = tmp_path / "caches"
    save_all(d, [a, b])
    out = tmp_path / "hard_examples.csv"
    assert cli.main(["errors", "--precomputed", str(d), "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [int(r["models_wrong"]) for r in rows] == [2, 1, 1]
    out2 = tmp_path / "per_class.csv"
    assert cli.main(["per-class", "torch:resnet50", "--precomputed", str(d), "-o", str(out2),
                     "--ci"]) == 0
    per = list(csv.DictReader(io.StringIO(out2.read_text())))
    assert sum(int(r["correct"]) for r in per) == 3 and {"wnid", "name", "top1_low"} <= set(per[0])
    assert cli.main(["per-class", "keras:resnet50", "--precomputed", str(d)]) == 2
    assert "keras:resnet50" in capsys.readouterr().err


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=SKIP_REASON)
def test_reference_hard_examples_match_raw_counts():
    preds = scorer.load_predictions(str(REFERENCE))
    rows = errors_view.hard_example_rows(preds, [scorer.correct(p)[0] for p in preds], limit=5)
    labels = np.arange(50000) // 50
    wrong = np.zeros(50000, int)
    for f in sorted(REFERENCE.glob("*_imagenet/*_top5preds.npy")):
        p = np.load(f)
        q = np.load(str(f).replace("top5preds", "top5probs"))
        wrong += p[np.arange(50000), q.argmax(1)] != labels
    ids = imagenet_meta.full_val_image_ids()
    for r in rows:
        assert r["models_wrong"] == wrong[ids.index(r["image"])] == wrong.max()
