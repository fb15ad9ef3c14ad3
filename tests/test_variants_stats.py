"""The `verify variants` table columns on synthetic caches, checked by plain counting; CLI errors."""
import csv
import io
import math

import numpy as np
import pytest

from conftest import make_preds
from imagenet_bench.analysis import stats
from imagenet_bench.backends import runtimes
from imagenet_bench.analysis import variants as av
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from imagenet_bench.models import identity
from imagenet_bench.errors import InputError
from imagenet_bench.report import columns, tables

N = 12
LABELS = [i % 7 for i in range(N)]


def _pair():
    """Reference and variant over the same 12 images, with known top-5s and probabilities."""
    rng = np.random.default_rng(3)
    ref_top5, var_top5, ref_p, var_p = [], [], [], []
    for i, y in enumerate(LABELS):
        r = [y if i % 3 else (y + 1) % 7, 10, 11, 12, 13]      # wrong on rows 0, 3, 6, 9
        v = list(r)
        if i in (1, 4):
            v[0] = 20                                            # right -> wrong
        if i == 3:
            v[0] = y                                             # wrong -> right
        if i == 5:
            v = [r[0], 11, 10, 12, 13]                           # same set, other order
        if i == 7:
            v = [r[0], 10, 11, 12, 14]                           # other set
        rp = sorted(rng.uniform(0.01, 0.5, 5), reverse=True)
        vp = sorted(rng.uniform(0.01, 0.5, 5), reverse=True)
        ref_top5.append(r), var_top5.append(v), ref_p.append(rp), var_p.append(vp)
    ref = make_preds(ref_top5, LABELS, model="m", probs=np.array(ref_p, np.float32))
    var = make_preds(var_top5, LABELS, model="m+bf16", probs=np.array(var_p, np.float32))
    all_probs = np.full((N, 1000), 0.0, np.float16)
    all_probs[1, ref_top5[1][0]] = 0.125                     # the reference's top-1, outside var's top-5
    all_probs[4, ref_top5[4][0]] = 0.25
    var.all_probs = all_probs
    return ref, var, ref_top5, var_top5, ref_p, var_p


def _expected(ref_top5, var_top5, ref_p, var_p, all_probs, rows):
    """Every column by plain Python counting over ``rows``."""
    to_wrong = to_right = both = neither = agree = v_top1 = v_top5 = 0
    dprob = []
    for i in rows:
        y = LABELS[i]
        r_ok, v_ok = ref_top5[i][0] == y, var_top5[i][0] == y
        to_wrong += r_ok and not v_ok
        to_right += v_ok and not r_ok
        both += r_ok and v_ok
        neither += not r_ok and not v_ok
        agree += set(ref_top5[i]) == set(var_top5[i])
        v_top1 += v_ok
        v_top5 += y in var_top5[i]
        c = ref_top5[i][0]
        p_var = float(np.float32(var_p[i][var_top5[i].index(c)])) if c in var_top5[i] \
            else float(all_probs[i, c])
        dprob.append(abs(p_var - float(np.float32(ref_p[i][0]))))
    n = len(rows)
    return dict(to_wrong=to_wrong, to_right=to_right, both=both, neither=neither, agree=100 * agree / n,
                top1=100 * v_top1 / n, top5=100 * v_top5 / n, mean=sum(dprob) / n, max=max(dprob),
                delta=100 * (to_right - to_wrong) / n)


@pytest.mark.parametrize("split", [0, 3])
def test_paired_row_matches_plain_counting(split):
    ref, var, rt, vt, rp, vp = _pair()
    scored = av.scoring_mask(N, split)
    assert scored.sum() == N - split and not scored[:split].any()
    row = av.paired_row("bf16", ref, var, scored, images_per_s=12.5)
    e = _expected(rt, vt, rp, vp, var.all_probs, list(range(split, N)))
    assert (row["flips_to_wrong"], row["flips_to_right"]) == (e["to_wrong"], e["to_right"])
    assert row["top1"] == pytest.approx(e["top1"]) and row["top5"] == pytest.approx(e["top5"])
    assert row["delta_top1"] == pytest.approx(e["delta"])
    assert row["top5_agreement"] == pytest.approx(e["agree"])
    assert row["mean_abs_dprob"] == pytest.approx(e["mean"], abs=1e-7)
    assert row["max_abs_dprob"] == pytest.approx(e["max"], abs=1e-7)
    scipy_stats = pytest.importorskip("scipy.stats")
    b, c = e["to_wrong"], e["to_right"]
    assert row["mcnemar_p"] == pytest.approx(scipy_stats.binomtest(b, b + c, 0.5).pvalue if b + c else 1.0)
    _, low, high = stats.paired_difference_interval(e["both"], c, b, e["neither"])
    assert (row["delta_low"], row["delta_high"]) == pytest.approx((100 * low, 100 * high))
    assert row["delta_low"] <= row["delta_top1"] <= row["delta_high"]
    assert row["images_per_s"] == 12.5 and row["status"] == "ok"


def test_identical_runs_give_zero_flips_and_full_agreement():
    ref, _, *_ = _pair()
    row = av.paired_row("batch1", ref, ref, av.scoring_mask(N, 0))
    assert (row["flips_to_wrong"], row["flips_to_right"], row["delta_top1"]) == (0, 0, 0.0)
    assert row["top5_agreement"] == 100.0 and row["max_abs_dprob"] == 0.0 and row["mcnemar_p"] == 1.0


def test_class_prob_needs_all_probs_when_the_class_left_the_top5():
    ref, var, *_ = _pair()
    var.all_probs = None
    with pytest.raises(InputError, match="--save-all-probs"):
        av.paired_row("bf16", ref, var, av.scoring_mask(N, 0))


def test_other_images_are_refused():
    ref, _, rt, *_ = _pair()
    other = make_preds(rt, LABELS, ids=[f"n00000000/x_{i}.JPEG" for i in range(N)])
    with pytest.raises(InputError, match="other images"):
        av.paired_row("bf16", ref, other, av.scoring_mask(N, 0))


def test_scoring_mask_and_names():
    with pytest.raises(InputError, match="--calibration-split 12 leaves no image"):
        av.scoring_mask(12, 12)
    ref = "torch:resnet50.IMAGENET1K_V1+random"
    assert str(runtimes.variant_id(identity.from_string(ref), "onnx-int8")) == "torch:resnet50.IMAGENET1K_V1+onnx-int8+random"
    assert str(runtimes.variant_id(identity.from_string(ref), "batchN", batch_size=8)) == "torch:resnet50.IMAGENET1K_V1+batch8+random"
    assert str(runtimes.variant_id(identity.from_string("keras:MobileNet.imagenet"), "keras-jax")) == "keras:MobileNet.imagenet+keras-jax"
    assert str(runtimes.variant_id(identity.from_string(ref), "fp32")) == ref
    with pytest.raises(InputError, match="unknown variant 'int4'"):
        str(runtimes.variant_id(identity.from_string(ref), "int4"))


def test_csv_has_the_issue_columns_in_order_and_skipped_rows():
    ref, var, *_ = _pair()
    scored = av.scoring_mask(N, 0)
    rows = [av.accuracy_row("fp32", ref, scored), av.paired_row("bf16", ref, var, scored),
            av.skipped_row("fp16", "no CUDA device")]
    text = tables.render(rows, columns.VARIANTS, "csv")
    header, *body = list(csv.reader(io.StringIO(text)))
    assert header == ["variant", "status", "top1", "top5", "delta_top1", "delta_low", "delta_high",
                      "flips_to_wrong", "flips_to_right", "mcnemar_p", "top5_agreement",
                      "mean_abs_dprob", "max_abs_dprob", "images_per_s"]
    assert [r[:2] for r in body] == [["fp32", "ok"], ["bf16", "ok"], ["fp16", "skipped: no CUDA device"]]
    assert float(body[1][12]) == pytest.approx(rows[1]["max_abs_dprob"], rel=1e-5)
    assert all(v == "" for v in body[2][2:])
    assert math.isclose(float(body[0][2]), rows[0]["top1"], rel_tol=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--model", "resnet18", "--variants", "bf16,int4"], "--variants: unknown 'int4'. Fix: choose from batch1"),
    (["--model-factory", "torchvision.models:resnet18"], "--model-factory needs --name"),
    (["--model", "resnet18", "--variants", "onnx-int8", "--n", "5", "--calibration-split", "5"],
     "--calibration-split 5 leaves no image to score (5 images)"),
])
def test_bad_options_exit_2_with_a_fix(argv, message, valdir, capsys):
    assert cli.main(["verify", "variants", *argv, str(valdir)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_dprob_keeps_float32_resolution_through_saved_caches(tmp_path):
    """|Δp| of two runs whose top-1 probabilities differ by 2e-6 (float32 reassociation) must read
    about 2e-6 after both caches are saved and loaded, not one float16 step (2**-11 = 0.000488 for
    p in [0.5, 1)): 0.500243 and 0.500245 round to different float16 neighbours (the 2026-12-01 regression)."""
    ref_p = np.array([[0.500243, 0.2, 0.1, 0.05, 0.01]] * 2, np.float32)
    var_p = ref_p.copy()
    var_p[:, 0] = 0.500245
    assert np.float16(ref_p[0, 0]) != np.float16(var_p[0, 0])  # the case straddles a float16 step
    paths = []
    for name, p in (("m", ref_p), ("m+onnx", var_p)):
        preds = make_preds([[1, 2, 3, 4, 5]] * 2, [1, 1], model=name, probs=p)
        preds.all_probs = np.zeros((2, 1000), np.float16)  # verify variants saves all_probs
        paths.append(str(tmp_path / f"{name}.npz"))
        cache.save(paths[-1], preds)
    ref, var = (cache.load(p, with_all_probs=True) for p in paths)
    row = av.paired_row("onnx", ref, var, np.ones(2, bool))
    assert row["max_abs_dprob"] == pytest.approx(2e-6, rel=0.05)
    assert row["mean_abs_dprob"] == pytest.approx(2e-6, rel=0.05)


SCALE = 40.0


def confident_model():
    """:func:`corpus.tiny_model` with its weights scaled by SCALE: top-1 probabilities up to 0.99,
    where one float16 step is 2**-11 (a model factory for the test below)."""
    import torch
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 1000)
    with torch.no_grad():
        lin.weight.mul_(SCALE)
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), lin)


def test_verify_variants_reference_keeps_float32_probabilities(valdir, tmp_path, capsys):
    """The reference's cache is saved with all_probs, so its top-5 probabilities stay float32 and
    channels_last (the same float32 arithmetic) reads |Δp| ~ 1e-7, not the reference's float16
    rounding (up to 2**-12 on p >= 0.5; the 2026-12-01 regression)."""
    pytest.importorskip("torch")
    rc = cli.main(["verify", "variants", "--model-factory", "test_variants_stats:confident_model",
              "--name", "confident", "--resize", "32", "--crop", "32", "--variants", "channels_last",
              "-b", "3", "-j", "0", "--no-progress", "--cache-dir", str(tmp_path), "--format", "csv",
              str(valdir)])
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    caches = {p.name: cache.load(str(p)) for p in tmp_path.glob("*.npz")}
    ref = next(c for n, c in caches.items() if "channels_last" not in n)
    row = rows[1]
    assert row["variant"] == "channels_last" and row["status"] == "ok"
    assert float(row["max_abs_dprob"]) < 1e-5, row
    assert ref.top5_prob.dtype == np.float32


def test_the_title_names_calibration_rows_held_out_for_a_skipped_variant(valdir, tmp_path, capsys):
    """Rows held out for a calibrated variant that was then skipped are named as such (they are
    still excluded, so every row is scored on the same images), not as having calibrated it."""
    pytest.importorskip("torch")
    rc = cli.main(["verify", "variants", "--model-factory", "test_variants_stats:confident_model",
                   "--name", "confident", "--resize", "32", "--crop", "32",
                   "--variants", "quantized,channels_last", "--calibration-split", "2", "-b", "3", "-j", "0",
                   "--no-progress", "--cache-dir", str(tmp_path), "--format", "text", str(valdir)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "rows 0-1 (2 images) were held out for quantized (skipped) and are excluded from every row" in out
    assert "skipped: needs a torchvision model with a quantized counterpart" in out
    assert "calibrate quantized" not in out


@pytest.mark.slow
def test_the_python_api_returns_the_table_the_command_prints(valdir, tmp_path, capsys):
    """``api.verify_variants`` gives a Results table (rows, notes naming the skipped variant);
    the command, run again over the same caches, prints exactly its CSV."""
    pytest.importorskip("torch")
    from imagenet_bench import api
    table = api.verify_variants("confident", str(valdir), factory="test_variants_stats:confident_model",
                                resize=32, crop=32, variants="quantized,channels_last",
                                calibration_split=2, batch_size=3, workers=0, progress=False,
                                cache_dir=str(tmp_path))
    assert [r["variant"] for r in table] == ["fp32", "channels_last", "quantized"]
    assert table[0]["status"] == table[1]["status"] == "ok"
    assert table[2]["status"].startswith("skipped: needs a torchvision model")
    assert table.notes == [f"verify variants: quantized: {table[2]['status']}"]
    assert "rows 0-1 (2 images) were held out for quantized (skipped)" in table.title
    capsys.readouterr()
    rc = cli.main(["verify", "variants", "--model-factory", "test_variants_stats:confident_model",
                   "--name", "confident", "--resize", "32", "--crop", "32",
                   "--variants", "quantized,channels_last", "--calibration-split", "2", "-b", "3",
                   "-j", "0", "--no-progress", "--cache-dir", str(tmp_path), "--format", "csv",
                   str(valdir)])
    out, err = capsys.readouterr()
    assert rc == 0 and out == table.to_csv()
    assert table.notes[0] in err
