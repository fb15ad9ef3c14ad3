"""Real processes: a run killed with SIGKILL resumes to the same cache; torchrun shards merge."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import make_valset, same_provenance  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["predict", "-m", "resnet18", "--weights", "none", "-b", "2", "-j", "0", "--threads", "1",
        "--no-progress"]


def _env():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"):
        env.pop(var, None)
    return env


def _predict(val, out, *extra):
    return subprocess.run([sys.executable, "-m", "imagenet_bench", *ARGS, *extra, "-o", str(out), str(val)],
                          env=_env(), capture_output=True, text=True, timeout=300)


def _same(a: cache.Predictions, b: cache.Predictions):
    assert a.image_ids == b.image_ids
    assert np.array_equal(a.top5_idx, b.top5_idx)
    assert np.array_equal(a.top5_prob, b.top5_prob)
    assert np.array_equal(a.missing, b.missing) and np.array_equal(a.labels, b.labels)


def _kill_when(proc, ready, timeout=120):
    t0 = time.time()
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"run ended before it could be killed: {proc.stderr.read()}")
        if time.time() - t0 > timeout:
            proc.kill()
            pytest.fail("no checkpoint appeared in time")
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_at_any_moment_then_resume_gives_the_uninterrupted_cache(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=6, per_class=8)  # 48 images, 24 batches
    ref = _predict(val, tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "imagenet_bench", *ARGS, "--checkpoint-every", "2", "-o", str(out), str(val)]
    partial = lambda: list(out.glob("*.partial.npz"))  # noqa: E731
    done = []
    # kill 1: the moment the first checkpoint lands; kill 2: at a later, arbitrary point
    for ready in (lambda: bool(partial()),
                  lambda: len(partial()) == 1 and os.path.getmtime(partial()[0]) > started + 1.0):
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started = time.time()
        _kill_when(proc, ready)
        with np.load(partial()[0]) as z:
            done.append(int(z["done"].sum()))
    assert 0 < done[0] <= done[1] < 48, done  # really killed mid-way, and progress was kept
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "resuming from" in res.stderr
    assert not partial()
    _same(cache.load(cache.find_caches(str(out))[0]), cache.load(cache.find_caches(str(tmp_path / "ref"))[0]))


@pytest.mark.slow
def test_torchrun_two_processes_merge_into_the_single_process_cache(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=3, per_class=5)  # 15 images: shards of 8 and 7
    ref = _predict(val, tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "imagenet_bench", *ARGS, "-o", str(tmp_path / "dist"), str(val)]
    res = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "shard 1/2" in res.stderr and "shard 2/2" in res.stderr
    (path,) = cache.find_caches(str(tmp_path / "dist"))
    got, want = cache.load(path), cache.load(cache.find_caches(str(tmp_path / "ref"))[0])
    _same(got, want)
    assert got.provenance["shards"] == 2
    assert same_provenance(got, want)
    assert not list((tmp_path / "dist").glob("*.partial.npz"))


@pytest.mark.slow
def test_slurm_tasks_merge_into_the_single_process_cache(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=2, per_class=5)  # 10 images: shards of 6 and 4
    ref = _predict(val, tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr
    cmd = [sys.executable, "-m", "imagenet_bench", *ARGS, "-o", str(tmp_path / "slurm"), str(val)]
    procs = [subprocess.Popen(cmd, env=dict(_env(), SLURM_PROCID=str(r), SLURM_NTASKS="2",
                                            SLURM_LOCALID=str(r)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sum("acc@1" in out for out, _ in outs) >= 1  # the task that merged reports
    (path,) = cache.find_caches(str(tmp_path / "slurm"))
    _same(cache.load(path), cache.load(cache.find_caches(str(tmp_path / "ref"))[0]))
