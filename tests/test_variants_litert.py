"""The ``litert`` row of a Keras model: float32 TFLite conversion of the same weights, on LiteRT (XNNPACK)."""
import csv
import io

import numpy as np
import pytest

from imagenet_bench.backends import runtimes as variants
from imagenet_bench.models import identity


def test_litert_row_names_its_extra_when_ai_edge_litert_is_missing(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ai_edge_litert"
                        else real(name, *a))
    assert variants.skip_reason("litert", variants.KERAS) == \
        "ai_edge_litert not installed (pip install 'imagenet_bench[litert]')"
    assert variants.skip_reason("litert", variants.TORCH) == "Keras-backend variant; this is a PyTorch model"
    assert "litert" not in variants.defaults(variants.KERAS)  # asked for with --variants


def test_litert_int8_without_calibration_rows_is_skipped_with_the_option_to_give():
    from types import SimpleNamespace
    from imagenet_bench.backends.keras_variants import KerasVariants
    maker = KerasVariants(SimpleNamespace(model="keras:mobilenet"))
    reason = maker.skip_reason("litert-int8")
    if variants.skip_reason("litert-int8", variants.KERAS) is None:  # packages installed
        assert reason == "needs calibration images (--calibration-split N with N >= 1)"
        assert KerasVariants(SimpleNamespace(model="m"), calibration=[("a", "a.jpg")]).skip_reason("litert-int8") is None
    else:
        assert "pip install 'imagenet_bench[litert]'" in reason
    assert variants.calibrated(["litert", "litert-int8"]) == ["litert-int8"]


N, SPLIT = 12, 4  # images (evenly spaced), the first SPLIT calibrate litert-int8 and are not scored;
# the BN statistics come from 8 other images


@pytest.mark.slow
def test_litert_rows_against_the_keras_reference(tmp_path, capsys):
    from keras_helpers import informative_mobilenet_weights, skip_without_keras
    skip_without_keras()
    pytest.importorskip("ai_edge_litert")
    from conftest import require_subset
    from imagenet_bench.cache import store as cache
    from imagenet_bench.cli import main as cli
    from imagenet_bench.data import datasets
    from imagenet_bench.data.datasets import spaced_rows
    subset = require_subset()
    images = datasets.discover(str(subset))
    weights = informative_mobilenet_weights(tmp_path, images, spaced_rows(images.num_images, N), 8)
    assert cli.main(["verify", "variants", "--framework", "keras", "--model", "mobilenet", "--weights", weights,
                     "--variants", "litert,litert-int8", "--n", str(N),
                     "--calibration-split", str(SPLIT), "--cache-dir", str(tmp_path / "c"),
                     "--no-progress", "--format", "csv", str(subset)]) == 0
    header, *lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    table = {r[0]: dict(zip(header, r)) for r in lines}
    row = table["litert"]
    assert row["status"] == "ok", row
    by_name = {cache.load(p).model: cache.load(p, with_all_probs=True) for p in cache.find_caches(str(tmp_path / "c"))}
    (ref,) = [p for p in by_name.values() if "+litert" not in p.model]
    var = by_name[str(variants.variant_id(identity.from_string(ref.model), "litert"))]
    scored = slice(SPLIT, None)  # the calibration rows are excluded from every row's scores
    assert ref.top5_prob[scored, 0].min() > 1.5e-3  # informative weights, not uniform outputs
    np.testing.assert_array_equal(ref.top5_idx[scored, 0], var.top5_idx[scored, 0])  # top-1 agrees
    assert int(row["flips_to_wrong"]) + int(row["flips_to_right"]) == 0
    prov = var.provenance
    assert prov["library_versions"]["ai_edge_litert"]
    assert prov["litert"]["precision"] == "float32 weights and activations"
    assert "XNNPACK" in prov["inference"]
    # float32 conversion: the same arithmetic up to kernel order. Measured (2026-12-02, 8 images):
    # max |dp| over all 1,000 classes 9.5e-7; of the top-1 probability (the table's) 1.9e-8
    dp = float(np.abs(ref.all_probs[scored] - var.all_probs[scored]).max())
    print(f"litert max |dp| over {N - SPLIT} images, all classes: {dp:.3g}; table: {row['max_abs_dprob']}")
    assert dp < 1e-5 and float(row["max_abs_dprob"]) < 1e-5, (dp, row)
    assert "calibration" not in prov
    # int8: quantized on the calibration rows, named in the provenance
    row8 = table["litert-int8"]
    assert row8["status"] == "ok", row8
    q = by_name[str(variants.variant_id(identity.from_string(ref.model), "litert-int8"))]
    assert q.provenance["litert"]["precision"].startswith("int8 weights and activations")
    assert q.provenance["litert"]["supported_ops"] == ["TFLITE_BUILTINS_INT8"]
    cal = q.provenance["calibration"]
    assert cal["count"] == SPLIT and cal["first"] == ref.image_ids[0] and cal["last"] == ref.image_ids[SPLIT - 1]
    dp8 = np.abs(ref.all_probs[scored] - q.all_probs[scored]).max()
    agree8 = float((ref.top5_idx[scored, 0] == q.top5_idx[scored, 0]).mean())
    print(f"litert-int8 max |dp| {dp8:.3g}, top-1 agreement {agree8:.2f}; table: {row8['max_abs_dprob']}")
    # random weights: top-1 probabilities are 0.002-0.013, so int8 rounding reorders the top-1
    # (measured 2026-12-02: top-1 agreement 0/8, max |dp| 3.4e-3 over all classes, 2.5e-3 of top-1);
    # this checks the mechanics (quantized, calibrated, near the reference)
    assert 0 < dp8 < 0.02
    # the int8 softmax output is on TFLite's 1/256 grid: probabilities below 1/512 read 0, so here
    # (1,000 classes near 0.001) the row sums were 0.03-0.27 (measured), not 1
    grid = q.all_probs[scored].astype(np.float64) * 256
    np.testing.assert_array_equal(grid, np.round(grid))
    assert q.all_probs[scored].sum(axis=1).max() < 0.9
