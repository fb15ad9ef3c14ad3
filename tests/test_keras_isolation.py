"""Isolation: model A, then B, then A again -- A bitwise identical, memory back near baseline."""
import gc
import math
import os

import numpy as np
import pytest

from keras_helpers import backend as kb, keras, skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from conftest import make_valset  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402
from imagenet_bench.backends.keras import parent  # noqa: E402
from imagenet_bench.run import config as run_config  # noqa: E402
from imagenet_bench.run import memory  # noqa: E402
from imagenet_bench.models.registry import get_model  # noqa: E402

#: stated margin: RSS may stay this far above the baseline (allocator caches); docs/keras.md
MARGIN_MB = 64


def rss_mb() -> float:
    """Resident set size after malloc_trim; skips where it cannot be read."""
    value = memory.rss_mb(trim=True)
    if math.isnan(value):
        pytest.skip("no /proc/self/status")
    return value


def _run(name, paths):
    with kb().KerasBackend(get_model(f"keras:{name}"), weights=None, seed=0) as b:
        return b.predict(np.stack([b.preprocess(p) for p in paths]))


@pytest.mark.slow
def test_in_process_a_b_a_b_identical_and_memory_does_not_accumulate(tmp_path):
    """In-process release (the alternative measured in docs/keras.md): bitwise identical
    outputs; TensorFlow keeps the largest model's memory, but repeats add nothing."""
    paths = datasets.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=2))).paths
    out, mem = [], []
    for name in ["densenet121", "resnet50", "densenet121", "resnet50"]:
        out.append(_run(name, paths))
        mem.append(rss_mb())
    assert all((o.max(1) - o.min(1) > 0).all() for o in out)  # informative, not uniform outputs
    assert np.array_equal(out[0], out[2]) and np.array_equal(out[1], out[3])
    assert not np.array_equal(out[0], out[1])
    assert mem[3] - mem[1] < MARGIN_MB, f"RSS after each model (MB): {mem}"
    assert not [o for o in gc.get_objects() if isinstance(o, keras().Model)]


@pytest.mark.slow
def test_in_process_close_releases_the_model():
    b = kb().KerasBackend(get_model("keras:mobilenet"), weights=None)
    b.close()
    gc.collect()
    assert b.keras_model is None and not [o for o in gc.get_objects() if isinstance(o, keras().Model)]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie not yet reaped counts as gone
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
def test_predict_runs_each_model_in_its_own_process_a_b_a(tmp_path):
    """What `predict` uses: a child process per model, closed before the next one starts."""
    paths = datasets.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=2))).paths
    _run("densenet121", paths)  # in-process reference first: the baseline includes its memory
    base = rss_mb()
    outs, pids = [], []
    for name in ["densenet121", "resnet50", "densenet121"]:
        b = parent.from_config(run_config.build(f"keras:{name}", weights="none"))
        pids.append(b.pid)
        outs.append(b.predict(np.stack([b.preprocess(p) for p in paths])))
        assert not [p for p in pids[:-1] if _alive(p)]  # the previous model's process is gone
    b.close()
    assert not _alive(pids[-1]) and len(set(pids)) == 3
    assert (outs[0].max(1) - outs[0].min(1) > 0).all()  # informative, not uniform outputs
    assert np.array_equal(outs[0], outs[2]) and not np.array_equal(outs[0], outs[1])
    # the same numbers as the in-process backend: isolation does not change results
    assert rss_mb() - base < MARGIN_MB  # the parent builds no model
    assert np.array_equal(outs[0], _run("densenet121", paths))


@pytest.mark.slow
def test_child_process_errors_reach_the_parent_as_bench_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    from imagenet_bench.errors import BenchError
    from imagenet_bench.backends.keras.parent import KerasProcessBackend
    with pytest.raises(BenchError, match=r"expected the file .*mobilenet_1_0_224_tf\.h5"):
        KerasProcessBackend(run_config.build("keras:mobilenet"))
