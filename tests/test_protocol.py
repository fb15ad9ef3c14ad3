"""One declared protocol for ImageNet-A/-R caches in every command (issue #18 item 1).

Two ImageNet-A caches of 15 images: masked to the 200 classes, A gets 15 right
(100.00 %) and B 14 (93.33 %); over the 1,000 classes A gets 13 (86.67 %) and
B 11 (73.33 %). ``score``, ``compare``, ``per-class``, ``errors`` and
``robustness`` must report the same figures under the same protocol, and say
which one they used.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import set_caches
from conftest import make_preds
from imagenet_bench.cli import main as cli
from imagenet_bench.data import datasets

A, B = "timm:resnet18.a1_in1k", "timm:resnet50.a1_in1k"
N = 15


def _cache(model, masked_right, plain_right):
    classes = np.asarray(datasets.get("imagenet-a").classes)
    labels = classes[np.arange(N) * 7 % len(classes)]
    others = [c for c in range(1000) if c not in set(classes)][:5]
    top5 = np.tile(np.asarray(others), (N, 1))
    top5[:plain_right, 0] = labels[:plain_right]
    sub = np.stack([np.roll(classes, -i)[:5] for i in range(N)])
    sub = np.where(sub == labels[:, None], classes[-1], sub)  # the label only where put
    sub[:masked_right, 0] = labels[:masked_right]
    ids = [f"imagenet-a/{c}/img{i:04d}.jpg" for i, c in enumerate(labels)]
    p = make_preds(top5, labels, model=model, framework="timm", ids=ids,
                   dataset={"name": "imagenet-a", "class_subset": [int(c) for c in classes]})
    p.subset_top5_idx = sub.astype(np.int16)
    p.subset_top5_prob = p.top5_prob.copy()
    return p.validate()


@pytest.fixture
def folder(tmp_path):
    set_caches.write(tmp_path / "a", [_cache(A, 15, 13), _cache(B, 14, 11)])
    return str(tmp_path / "a")


def _run(capsys, *argv):
    capsys.readouterr()
    assert cli.main(list(argv)) == 0
    out = capsys.readouterr()
    return out.out, out.err


def _csv(text):
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("flag, want", [((), (100.0, 100 * 14 / 15)),
                                        (("--protocol", "unmasked"), (100 * 13 / 15, 100 * 11 / 15)),
                                        (("--unmasked",), (100 * 13 / 15, 100 * 11 / 15))])
def test_score_compare_per_class_errors_robustness_give_the_same_figures(folder, capsys, flag, want):
    protocol = "unmasked" if flag else "masked"
    out, _ = _run(capsys, "score", "--precomputed", folder, "--format", "csv", *flag)
    score = {r["model"]: r for r in _csv(out)}
    assert float(score[A]["acc1"]) == pytest.approx(want[0])
    assert float(score[B]["acc1"]) == pytest.approx(want[1])
    assert {r["protocol"] for r in score.values()} == {protocol}

    out, _ = _run(capsys, "compare", A, B, "--precomputed", folder, "--format", "csv", *flag)
    (row,) = _csv(out)
    assert (float(row["acc_a"]), float(row["acc_b"])) == pytest.approx(want)
    assert row["protocol"] == protocol

    out, _ = _run(capsys, "per-class", A, B, "--precomputed", folder, "--format", "csv", *flag)
    rows = _csv(out)
    for model, acc in zip((A, B), want):
        mine = [r for r in rows if r["model"] == model]
        right = sum(int(r["correct"]) for r in mine)
        assert 100 * right / sum(int(r["images"]) for r in mine) == pytest.approx(acc)
    assert {r["protocol"] for r in rows} == {protocol}

    out, _ = _run(capsys, "errors", "--precomputed", folder, "--format", "csv", *flag)
    rows = _csv(out)
    wrong = sum(int(r["models_wrong"]) for r in rows)
    assert wrong == round(N * (200 - sum(want)) / 100)  # the images the two models miss
    assert {r["protocol"] for r in rows} == {protocol}

    out, _ = _run(capsys, "robustness", "--precomputed", folder, "--format", "csv", *flag)
    rob = {r["model"]: r for r in _csv(out)}
    assert float(rob[A]["imagenet-a"]) == pytest.approx(want[0])
    assert float(rob[B]["imagenet-a"]) == pytest.approx(want[1])


@pytest.mark.parametrize("command", ["score", "compare", "per-class", "errors", "robustness"])
def test_the_text_output_names_its_protocol(folder, capsys, command):
    models = [A, B] if command in ("compare", "per-class") else []
    for flag, words in (((), "--protocol masked"), (("--unmasked",), "--protocol unmasked")):
        out, _ = _run(capsys, command, *models, "--precomputed", folder, "--format", "text", *flag)
        assert words in out, (command, flag, out[:400])


@pytest.mark.parametrize("protocol, want", [("masked", (100.0, 100 * 14 / 15)),
                                            ("unmasked", (100 * 13 / 15, 100 * 11 / 15))])
def test_the_html_report_scores_and_labels_the_same_protocol(folder, protocol, want):
    from imagenet_bench.report import html, html_data
    doc = html_data.build([folder], protocol=protocol)
    rows = {r["model"]: r for r in doc.rows}
    assert (rows[A]["acc1"], rows[B]["acc1"]) == pytest.approx(want)
    assert doc.header["protocol"] == protocol
    assert (doc.robustness.rows[0]["imagenet-a"], doc.robustness.rows[1]["imagenet-a"]) \
        == pytest.approx(sorted(want, reverse=True))
    page = html.render(doc)
    assert ("A/R: masked to 200 classes" in page) == (protocol == "masked")
    assert ("A/R: unmasked, --protocol unmasked" in page) == (protocol == "unmasked")
