"""The ``litert`` row of a Keras model: float32 TFLite conversion of the same weights, on LiteRT (XNNPACK)."""
import csv
import io

import numpy as np
import pytest

from imagenet_bench.models import variants


def test_litert_row_names_its_extra_when_ai_edge_litert_is_missing(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ai_edge_litert"
                        else real(name, *a))
    assert variants.skip_reason("litert", variants.KERAS) == \
        "ai_edge_litert not installed (pip install 'imagenet_bench[litert]')"
    assert variants.skip_reason("litert", variants.TORCH) == "Keras-backend variant; this is a PyTorch model"
    assert "litert" not in variants.defaults(variants.KERAS)  # asked for with --variants


N = 8  # evaluated images (evenly spaced); the BN statistics come from 8 other images


@pytest.mark.slow
def test_litert_row_agrees_with_the_keras_reference(tmp_path, capsys):
    from keras_helpers import skip_without_keras
    skip_without_keras()
    pytest.importorskip("ai_edge_litert")
    from conftest import require_subset
    from imagenet_bench.analysis import variants as av
    from imagenet_bench.backends.keras import child as kb
    from imagenet_bench.cache import store as cache
    from imagenet_bench.cli import main as cli
    from imagenet_bench.data import datasets, pixels
    from imagenet_bench.data.datasets import spaced_rows
    from imagenet_bench.models.registry import get_model
    subset = require_subset()
    spec = get_model("keras:mobilenet")
    images = datasets.discover(str(subset))
    pre, recipe = kb._preprocess_input(spec), spec.recipe("reference")
    evaluated = set(spaced_rows(images.num_images, N))
    rows = [r for r in range(images.num_images) if r not in evaluated][-8:]
    calib = np.concatenate([pre(pixels.load(images.paths[i], recipe)[None].astype(np.float32)) for i in rows])
    weights = str(tmp_path / "mobilenet.informative.weights.h5")
    assert kb.save_informative_weights(spec, calib, weights) > 0
    assert cli.main(["verify", "variants", "--framework", "keras", "--model", "mobilenet", "--weights", weights,
                     "--variants", "litert", "--n", str(N), "--cache-dir", str(tmp_path / "c"),
                     "--no-progress", "--format", "csv", str(subset)]) == 0
    header, *lines = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    table = {r[0]: dict(zip(header, r)) for r in lines}
    row = table["litert"]
    assert row["status"] == "ok", row
    by_name = {cache.load(p).model: cache.load(p, with_all_probs=True) for p in cache.find_caches(str(tmp_path / "c"))}
    (ref,) = [p for p in by_name.values() if "+litert" not in p.model]
    var = by_name[av.variant_model_name(ref.model, "litert")]
    assert ref.top5_prob[:, 0].min() > 1.5e-3  # informative weights, not uniform outputs
    np.testing.assert_array_equal(ref.top5_idx[:, 0], var.top5_idx[:, 0])  # top-1 agrees on every image
    assert int(row["flips_to_wrong"]) + int(row["flips_to_right"]) == 0
    prov = var.provenance
    assert prov["library_versions"]["ai_edge_litert"]
    assert prov["litert"]["precision"] == "float32 weights and activations"
    assert "XNNPACK" in prov["inference"]
    # float32 conversion: the same arithmetic up to kernel order. Measured (2026-12-02, 8 images):
    # max |dp| over all 1,000 classes 9.5e-7; of the top-1 probability (the table's) 1.9e-8
    dp = float(np.abs(ref.all_probs - var.all_probs).max())
    print(f"litert max |dp| over {N} images, all classes: {dp:.3g}; table: {row['max_abs_dprob']}")
    assert dp < 1e-5 and float(row["max_abs_dprob"]) < 1e-5, (dp, row)
