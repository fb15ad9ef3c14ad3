"""Real processes: SIGTERM checkpoints and resumes exactly; a second run on the same cache is refused.

Each test starts ``python -m imagenet_bench predict`` in subprocesses with a
tiny random-weight model that pauses 0.25 s per batch (tests/corpus.py).
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import make_valset
from imagenet_bench.cache import store as cache
from imagenet_bench.cache import inspect

pytest.importorskip("torch")
pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _cmd(val, out, *extra, workers=0):
    return [sys.executable, "-m", "imagenet_bench", "predict", "--model-factory", "corpus:slow_tiny_model",
            "--name", "slowtiny", "--resize", "32", "--crop", "32", "-b", "2", "-j", str(workers),
            "--no-progress", "--checkpoint-every", "2", "-o", str(out), *extra, str(val)]


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(TESTS)]), OMP_NUM_THREADS="1")
    env.update(extra)
    return env


def _wait_for(predicate, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _arrays(path):
    p = cache.load(path)
    return p.top5_idx, p.top5_prob, p.labels, p.missing, p.image_ids, \
        {k: v for k, v in p.provenance.items() if k not in inspect.RUN_ONLY_KEYS}


def test_sigterm_checkpoints_exits_143_and_resumes_identically(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=4, per_class=6)  # 24 images, 12 batches
    ref = subprocess.run(_cmd(val, tmp_path / "ref"), env=_env(), capture_output=True, text=True)
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "out"
    proc = subprocess.Popen(_cmd(val, out), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert _wait_for(lambda: any(out.glob("*.partial.npz"))), "no checkpoint appeared"
    time.sleep(0.6)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM); finished work is kept" in stderr
    assert "to resume, run the same command again" in stderr
    assert "Traceback" not in stderr
    (ckpt,) = out.glob("*.partial.npz")
    with np.load(ckpt) as z:
        done = int(z["done"].sum())
    assert 0 < done < 24, done
    assert f"stopped: {done} of 24 images" in stderr
    assert not cache.find_caches(str(out))

    again = subprocess.run(_cmd(val, out), env=_env(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"resuming from {ckpt}: {done} of 24 images already done" in again.stderr
    (resumed,) = cache.find_caches(str(out))
    (reference,) = cache.find_caches(str(tmp_path / "ref"))
    a, b = _arrays(resumed), _arrays(reference)
    for x, y in zip(a[:4], b[:4]):
        assert np.array_equal(x, y)
    assert a[4] == b[4] and a[5] == b[5]
    assert not list(out.glob("*.partial.npz")) and not list(out.glob("*.lock"))


def test_second_run_on_same_cache_is_refused_naming_the_first(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=3, per_class=4)
    out = tmp_path / "out"
    first = subprocess.Popen(_cmd(val, out), env=_env(CORPUS_PAUSE="2"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)  # 6 batches: 12 s
    assert _wait_for(lambda: any(out.glob("*.partial.npz.lock")) and
                     any(p.stat().st_size for p in out.glob("*.partial.npz.lock")))
    second = subprocess.run(_cmd(val, out), env=_env(), capture_output=True, text=True, timeout=120)
    assert second.returncode == 2, second.stderr
    assert f"another run is writing the same files: pid {first.pid} on host" in second.stderr
    assert "Fix: wait for it to finish" in second.stderr
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    (final,) = cache.find_caches(str(out))
    assert cache.load(final).num_images == 12


def test_shards_of_one_run_still_run_side_by_side(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=3, per_class=4)
    out = tmp_path / "out"
    procs = [subprocess.Popen(_cmd(val, out), env=_env(RANK=str(r), WORLD_SIZE="2"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in results]
    (final,) = cache.find_caches(str(out))
    assert cache.load(final).num_images == 12


def test_sigterm_to_the_whole_job_step_with_dataloader_workers(tmp_path):
    """SLURM signals every process of a step: the workers must leave SIGTERM to the main process."""
    val = make_valset(tmp_path / "val", num_classes=4, per_class=6)
    out = tmp_path / "out"
    cmd = _cmd(val, out, workers=2)
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    assert _wait_for(lambda: any(out.glob("*.partial.npz"))), "no checkpoint appeared"
    time.sleep(0.6)
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert "to resume, run the same command again" in stderr
    again = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    assert again.returncode == 0 and "resuming from" in again.stderr, again.stderr
