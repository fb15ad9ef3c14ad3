"""Isolation: model A, then B, then A again -- A bitwise identical, memory back near baseline."""
import ctypes
import gc

import numpy as np
import pytest

from keras_helpers import skip_without_keras

skip_without_keras()  # before any TensorFlow import, see keras_helpers
keras = pytest.importorskip("keras")

from conftest import make_valset  # noqa: E402
from imagenet_bench import dataset, keras_backend as kb  # noqa: E402
from imagenet_bench.registry import get_model  # noqa: E402

#: RSS may stay this far above the baseline after a model is released (allocator caches,
#: oneDNN primitive caches); measured +34 MB after densenet121 (docs/keras.md)
MARGIN_MB = 64


def rss_mb() -> float:
    """Resident set size after returning freed heap pages to the OS (glibc malloc_trim)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no /proc/self/status")


def _run(name, paths):
    with kb.KerasBackend(get_model(f"keras:{name}"), weights=None, seed=0) as b:
        return b.predict(np.stack([b.preprocess(p) for p in paths]))


@pytest.mark.slow
def test_a_b_a_outputs_identical_and_memory_returns(tmp_path):
    paths = dataset.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=2))).paths
    _run("mobilenet", paths)  # warm-up: TF's one-time start-up allocations
    base = rss_mb()
    out, mem = {}, []
    for step, name in enumerate(["mobilenet", "densenet121", "mobilenet"]):
        out[step] = _run(name, paths)
        mem.append(rss_mb() - base)
    assert np.array_equal(out[0], out[2])  # bitwise: nothing of B leaked into A
    assert not np.array_equal(out[0], out[1])
    assert all(m < MARGIN_MB for m in mem), f"RSS above baseline after each model (MB): {mem}"
    assert not [o for o in gc.get_objects() if isinstance(o, keras.Model)]


def test_close_releases_the_model_and_from_args_closes_the_previous_one():
    class Args:
        weights, preprocess, checkpoint, threads, name = "none", "reference", None, None, None

    a = kb.from_args(get_model("keras:mobilenet"), Args)
    b = kb.from_args(get_model("keras:mobilenetV2"), Args)
    assert a.keras_model is None and b.keras_model is not None  # predict --all: one model at a time
    b.close()
    gc.collect()
    assert b.keras_model is None and not [o for o in gc.get_objects() if isinstance(o, keras.Model)]
