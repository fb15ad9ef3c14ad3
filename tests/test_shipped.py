"""The 34 shipped 2019 outputs (precomputed/northcutt2019) and where runs are written."""
import os
import zipfile

import numpy as np
import pytest

from imagenet_bench.analysis import results, scorer
from imagenet_bench.cache import locations
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from imagenet_bench.data import imagenet_meta

SHIPPED = locations.shipped_dir()


@pytest.fixture(scope="module")
def shipped():
    return {p.qualname: p for p in scorer.load_predictions(SHIPPED)}


def test_shipped_set_is_34_compact_format2_caches_over_the_full_val_set(shipped):
    assert len(shipped) == 34
    assert sorted({p.framework for p in shipped.values()}) == ["keras", "torch"]
    full_fp = cache.fingerprint(imagenet_meta.full_val_image_ids())
    for p in shipped.values():
        assert p.provenance["format_version"] == 2  # shipped in format 2 (read as such)
        assert p.fingerprint == full_fp and p.num_images == imagenet_meta.NUM_VAL_IMAGES
        assert p.top5_idx.dtype == np.int16 and p.top5_prob.dtype == np.float16
        assert (np.diff(p.top5_prob.astype(np.float32), axis=1) <= 0).all(), p.qualname
    size = sum(os.path.getsize(f) for f in cache.find_caches(SHIPPED))
    assert size < 40e6, f"shipped caches take {size / 1e6:.1f} MB"


def test_notice_keeps_the_mit_notice():
    with open(os.path.join(SHIPPED, "NOTICE"), encoding="utf-8") as f:
        text = f.read()
    assert "Copyright (c) 2019 Curtis G. Northcutt" in text
    assert "The above copyright notice and this permission notice shall be included" in text
    assert "imagenet-bench import" in text


def test_shipped_equals_the_raw_2019_files(shipped, reference_dir):
    """Same code path on both sides: the reader of the 2019 layout vs the shipped caches."""
    raw = {p.qualname: p for p in scorer.load_predictions(str(reference_dir))}
    assert sorted(raw) == sorted(shipped)
    for name, r in raw.items():
        s = shipped[name]
        assert np.array_equal(s.top5_idx, r.top5_idx), name
        assert np.array_equal(s.top5_prob, r.top5_prob.astype(np.float16)), name
        assert np.array_equal(s.labels, r.labels) and s.fingerprint == r.fingerprint, name
    fields = ("framework", "model", "acc1", "acc5", "rank1", "rank5", "images", "dataset")
    key = lambda row: tuple(row[f] for f in fields)  # noqa: E731
    rows_raw = results.build(list(raw.values()))
    rows_shipped = results.build(list(shipped.values()))
    assert len(rows_raw) == 34 and list(map(key, rows_raw)) == list(map(key, rows_shipped))


def test_shipped_accuracies_follow_the_2019_rule(shipped, reference_dir):
    """Every shipped row against the 2019 project's own rule on its own files."""
    by_file = {tuple(p.provenance["original_files"]): p for p in shipped.values()}
    assert len(by_file) == 34
    rows = {r["model"]: r for r in results.build(list(shipped.values()))}
    for (preds_file, probs_file), p in by_file.items():
        preds, probs = np.load(reference_dir / preds_file), np.load(reference_dir / probs_file)
        labels = np.arange(len(preds)) // 50
        acc1 = 100 * (preds[np.arange(len(preds)), probs.argmax(1)] == labels).mean()
        acc5 = 100 * (preds == labels[:, None]).any(1).mean()
        row = rows[p.qualname]
        assert (row["acc1"], row["acc5"]) == (acc1, acc5), p.qualname
        if preds_file.endswith("resnet152_pytorch_imagenet_top5preds.npy"):
            # the issue's figures for resnet152's file as published (float16 probabilities)
            assert (round(acc1, 3), round(acc5, 3)) == (77.606, 93.822)


def test_score_without_arguments_ranks_the_shipped_set(shipped, capsys):
    assert cli.main(["score"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("34 models ranked by top-1 on 50000 images")
    assert all(name in out for name in shipped)


def test_predict_and_import_write_to_runs_not_to_the_shipped_set():
    parser = cli.build_parser()
    assert parser.parse_args(["predict", "VAL", "--model", "resnet18"]).out == locations.RUNS_DIR
    assert parser.parse_args(["import", "DIR"]).output == locations.RUNS_DIR
    for command in ("score", "compare", "errors"):
        assert parser.parse_args([command]).precomputed == SHIPPED
    assert os.path.abspath(locations.RUNS_DIR) != os.path.abspath(SHIPPED)


def test_shipped_probabilities_are_stored_indices_deflated_and_ids_named():
    with zipfile.ZipFile(cache.find_caches(SHIPPED)[0]) as z:
        kinds = {i.filename: i.compress_type for i in z.infolist()}
    assert kinds["top5_prob.npy"] == zipfile.ZIP_STORED
    assert kinds["top5_idx.npy"] == kinds["labels.npy"] == zipfile.ZIP_DEFLATED
    assert "image_ids.npy" not in kinds  # the full set, named in the provenance
