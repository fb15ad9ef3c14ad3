"""Keras 3 cross-backend variants: one fixed set of informative weights on TensorFlow, JAX and PyTorch."""
import csv
import io

import numpy as np
import pytest

from keras_helpers import informative_mobilenet_weights, skip_without_keras

skip_without_keras()

from conftest import require_subset  # noqa: E402
from imagenet_bench.backends import runtimes  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402
from imagenet_bench.models import identity
from imagenet_bench.data.datasets import spaced_rows as pick_rows  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402

N = 16  # evaluated images (evenly spaced); the BN statistics come from 16 other images


@pytest.mark.slow
def test_same_weights_on_tensorflow_jax_and_torch(tmp_path, capsys):
    for mod in ("jax", "torch"):
        pytest.importorskip(mod)
    subset = require_subset()
    images = datasets.discover(str(subset))
    weights = informative_mobilenet_weights(tmp_path, images, pick_rows(images.num_images, N), 16)
    assert cli.main(["verify", "variants", "--framework", "keras", "--model", "mobilenet", "--weights", weights,
                     "--variants", "batchN,keras-tensorflow,keras-jax,keras-torch", "--n", str(N), "-b", "8",
                     "--cache-dir", str(tmp_path / "c"), "--no-progress", "--format", "csv", str(subset)]) == 0
    header, *rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    table = {r[0]: dict(zip(header, r)) for r in rows}
    assert table["keras-tensorflow"]["status"] == "skipped: the reference runs on the TensorFlow backend"
    by_name = {cache.load(p).model: cache.load(p, with_all_probs=True) for p in cache.find_caches(str(tmp_path / "c"))}
    (ref,) = [p for p in by_name.values() if "keras" not in p.model.split(":", 1)[1] and "+batch" not in p.model]
    assert "+ckpt-" in ref.model and "sha256:" in ref.provenance["weights"]  # the weights file's hash
    # the weights are informative: every top-1 well above uniform (1e-3), several top-1 classes
    # (measured on 30 images: top-1 probability 0.0022-0.013, 10 distinct classes)
    assert ref.top5_prob[:, 0].min() > 1.5e-3 and len(set(ref.top5_idx[:, 0].tolist())) >= 4
    for variant, backend in (("keras-jax", "jax"), ("keras-torch", "torch"), ("batchN", "tensorflow")):
        row = table[variant]
        assert row["status"] == "ok"
        var = by_name[str(runtimes.variant_id(identity.from_string(ref.model), variant, batch_size=8))]
        versions = var.provenance["library_versions"]
        assert versions["keras_backend"] == backend
        if backend != "tensorflow":
            assert versions[backend]  # the version of the backend that ran the network
        same = [set(a) == set(b) for a, b in zip(ref.top5_idx, var.top5_idx)]
        assert float(row["top5_agreement"]) == pytest.approx(100 * np.mean(same), abs=1e-4)
        flips = int(row["flips_to_wrong"]) + int(row["flips_to_right"])
        assert flips == int(((ref.top5_idx[:, 0] == ref.labels) != (var.top5_idx[:, 0] == var.labels)).sum())
        # same weights, other backend: probabilities agree to float32 rounding (measured ~1e-8)
        assert float(row["max_abs_dprob"]) < 1e-4, row
