"""Paired comparison: hand-counted cases, scipy cross-checks, the CLI and the reference outputs."""
import json
import subprocess
import sys

import numpy as np
import pytest

from analysis_helpers import REFERENCE, SKIP_REASON, preds_for, save_all, val_ids
from imagenet_bench.cli import main as cli
from imagenet_bench.analysis import compare, results
from imagenet_bench.analysis.metrics import paired
from imagenet_bench.analysis import scorer
from imagenet_bench.analysis import stats

NUMBERS = list(range(1, 21))


def _pair(right_a, right_b):
    """keras/torch resnet50 predictions right exactly on the given row positions."""
    _, labels = val_ids(NUMBERS)
    wrong = (labels + 1) % 995
    top_a = np.where(np.isin(np.arange(20), right_a), labels, wrong)
    top_b = np.where(np.isin(np.arange(20), right_b), labels, wrong)
    return (preds_for(NUMBERS, top_a, "resnet50", "keras"),
            preds_for(NUMBERS, top_b, "resnet50", "torch"))


def test_paired_counts_by_hand():
    a = np.array([1, 1, 1, 0, 0, 1, 0, 1], bool)
    b = np.array([1, 0, 0, 0, 1, 1, 0, 0], bool)
    # both: rows 0, 5 -> 2; only a: 1, 2, 7 -> 3; only b: 4 -> 1; neither: 3, 6 -> 2
    row = paired.of_vectors("A", a, "B", b)
    assert (row["only_a"], row["only_b"], row["images"]) == (3, 1, 8)
    assert row["acc_a"] == pytest.approx(62.5) and row["acc_b"] == pytest.approx(37.5)
    assert row["diff"] == pytest.approx(25.0)
    # 2 * P(X <= 1), X ~ Bin(4, 1/2) = 2 * 5/16
    assert row["p_value"] == pytest.approx(10 / 16)
    diff, lo, hi = stats.paired_difference_interval(2, 3, 1, 2)
    assert (row["diff_low"], row["diff_high"]) == pytest.approx((100 * lo, 100 * hi))
    lo_a, hi_a = stats.wilson_interval(5, 8)
    assert (row["acc_a_low"], row["acc_a_high"]) == pytest.approx((100 * lo_a, 100 * hi_a))


def test_paired_counts_with_mask_and_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    a, b = rng.random(3000) < 0.7, rng.random(3000) < 0.66
    valid = rng.random(3000) < 0.9
    row = paired.of_vectors("A", a, "B", b, valid=valid)
    only_a = int((a & ~b & valid).sum())
    only_b = int((~a & b & valid).sum())
    assert (row["only_a"], row["only_b"], row["images"]) == (only_a, only_b, int(valid.sum()))
    want = scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
    assert row["p_value"] == pytest.approx(want, rel=1e-9)


def test_paired_rows_from_caches():
    ka, tb = _pair(right_a=[0, 1, 2, 3, 4, 5, 6], right_b=[5, 6, 7, 8])
    [row] = results.paired([(ka, tb)])
    assert (row["model_a"], row["model_b"]) == ("keras:ResNet50.imagenet", "torch:resnet50.IMAGENET1K_V1")
    assert (row["only_a"], row["only_b"]) == (5, 2)
    assert row["acc_a"] == pytest.approx(35.0) and row["acc_b"] == pytest.approx(20.0)


def test_different_images_name_both_files_and_fingerprints(tmp_path):
    ka, _ = _pair([0], [0])
    other = preds_for(list(range(21, 41)), np.zeros(20, int), "resnet50", "torch")
    save_all(tmp_path, [ka, other])
    with pytest.raises(compare.CompareError) as e:
        results.paired([(ka, other)])
    msg = str(e.value)
    assert ka.fingerprint[:12] in msg and other.fingerprint[:12] in msg
    assert str(tmp_path) in msg and "Fix:" in msg


def test_family_pairs_and_absent():
    ka, tb = _pair([0], [1])
    kv = preds_for(NUMBERS, np.zeros(20, int), "vgg16", "keras")
    pairs, absent = compare.family_pairs([tb, kv, ka])
    assert [(a.qualname, b.qualname) for a, b in pairs] == [
        ("keras:ResNet50.imagenet", "torch:resnet50.IMAGENET1K_V1")]
    assert "keras:VGG16.imagenet vs torch:vgg16.IMAGENET1K_V1" in absent


def test_cli_compare_named_and_all(tmp_path, capsys):
    ka, tb = _pair(right_a=list(range(12)), right_b=list(range(3, 18)))
    save_all(tmp_path, [ka, tb])
    for argv in (["compare", "keras:resnet50", "torch:resnet50"], ["compare"]):
        assert cli.main(argv + ["--precomputed", str(tmp_path), "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert len(rows) == 1
        assert (rows[0]["only_a"], rows[0]["only_b"]) == (3, 6)
        assert rows[0]["p_value"] == pytest.approx(2 * (1 + 9 + 36 + 84) / 512)
    assert cli.main(["compare", "keras:resnet50", "--precomputed", str(tmp_path)]) == 2
    assert "two model names" in capsys.readouterr().err
    assert cli.main(["compare", "keras:resnet50", "torch:vgg16", "--precomputed",
                     str(tmp_path)]) == 2
    assert "torch:vgg16" in capsys.readouterr().err


def test_cli_compare_every_format_has_the_interval(tmp_path, capsys):
    ka, tb = _pair(right_a=list(range(12)), right_b=list(range(3, 18)))
    save_all(tmp_path, [ka, tb])
    for fmt in ("text", "csv", "markdown", "json"):
        out = tmp_path / f"cmp.{fmt}"
        assert cli.main(["compare", "--precomputed", str(tmp_path), "--format", fmt, "--ci",
                         "-o", str(out)]) == 0
        text = out.read_text()
        assert "diff_low" in text or "A-B 95% low" in text, fmt
        assert "acc_b_high" in text or "acc B 95% high" in text, fmt


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=SKIP_REASON)
def test_reference_compare_counts_match_raw_files():
    """Counts from the 2019 files computed directly (that project's argmax rule) agree."""
    pairs, absent = compare.family_pairs(scorer.load_predictions(str(REFERENCE)))
    assert len(pairs) == 7 and not absent
    labels = np.arange(50000) // 50

    def raw_top1(fw_dir, name):
        p = np.load(REFERENCE / fw_dir / f"{name}_{fw_dir.split('_')[0]}_imagenet_top5preds.npy")
        q = np.load(REFERENCE / fw_dir / f"{name}_{fw_dir.split('_')[0]}_imagenet_top5probs.npy")
        return p[np.arange(len(p)), q.argmax(1)] == labels

    for ka, tb in pairs:
        [row] = results.paired([(ka, tb)])
        a = raw_top1("keras_imagenet", ka.provenance["name_2019"])
        b = raw_top1("pytorch_imagenet", tb.provenance["name_2019"])
        assert row["only_a"] == int((a & ~b).sum()) and row["only_b"] == int((~a & b).sum())


@pytest.mark.slow  # a fresh interpreter over the raw 2019 files: seconds
@pytest.mark.skipif(not REFERENCE.is_dir(), reason=SKIP_REASON)
def test_analysis_over_reference_stays_framework_free(tmp_path):
    """compare, score --ci --published --labels real, errors, per-class: numpy only."""
    ref = str(REFERENCE)
    code = (
        "import sys\n"
        "from imagenet_bench.cli import main as cli\n"
        f"assert cli.main(['compare', '--precomputed', {ref!r}, '--format', 'csv']) == 0\n"
        f"assert cli.main(['compare', '--labels', 'real', '--precomputed', {ref!r}, "
        f"'-o', {str(tmp_path / 'c.txt')!r}]) == 0\n"
        f"assert cli.main(['score', '--precomputed', {ref!r}, '--ci', '--published', "
        f"'--labels', 'real', '-o', {str(tmp_path / 's.txt')!r}]) == 0\n"
        f"assert cli.main(['errors', '--precomputed', {ref!r}, '--show-real', "
        f"'-o', {str(tmp_path / 'e.csv')!r}]) == 0\n"
        f"assert cli.main(['per-class', 'torch:resnet50', '--precomputed', {ref!r}, "
        f"'-o', {str(tmp_path / 'p.csv')!r}]) == 0\n"
        "bad = [m for m in ('torch', 'tensorflow', 'scipy', 'matplotlib', 'pandas', 'timm') "
        "if m in sys.modules]\n"
        "print('LOADED', bad, file=sys.stderr)\n"
        "sys.exit(1 if bad else 0)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("\n") == 8  # csv header and one row per pair
