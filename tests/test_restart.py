"""A restart right after a SIGKILL resumes at once: no child process holds the run's lock or
outlives its parent (issue #23, item 1).

Real processes: ``python -m imagenet_bench predict -j 2`` (two DataLoader worker processes)
with the tiny random-weight model of tests/corpus.py that pauses per batch. The run is
SIGKILLed twice -- first its whole process group, then only its main process -- and each
time started again within 0.5 s; the final cache must equal an uninterrupted run's.
"""
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import make_valset, process_alive
from imagenet_bench.cache import store as cache
from test_interrupts import _cmd, _env, _wait_for

pytest.importorskip("torch")
pytestmark = pytest.mark.slow


def _children(pid):
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def _holders(path):
    """Process ids with ``path`` open (from /proc/*/fd)."""
    target, out = os.path.realpath(path), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") == target:
                    out.add(int(entry))
            except OSError:
                pass
    return out


def _done(out):
    try:
        (ckpt,) = out.glob("*.partial.npz")
        with np.load(ckpt) as z:
            return int(z["done"].sum())
    except (ValueError, OSError, KeyError):
        return 0


def _start(cmd):
    return subprocess.Popen(cmd, env=_env(CORPUS_PAUSE="0.3"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _comparable(path):
    p = cache.load(path)
    prov = {k: v for k, v in p.provenance.items() if k not in ("shards", "timing")}
    return [p.top5_idx, p.top5_prob, p.labels, p.missing, p.image_ids], prov


def test_restart_within_half_a_second_after_sigkill_of_group_then_of_main_only(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=4, per_class=8)  # 32 images, 16 batches
    ref = subprocess.run(_cmd(val, tmp_path / "ref", workers=2), env=_env(), capture_output=True,
                         text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "out"
    cmd = _cmd(val, out, workers=2)

    # 1. SIGKILL of the whole process group (main process and both DataLoader workers)
    first = _start(cmd)
    assert _wait_for(lambda: _done(out) >= 4), "no checkpoint appeared"
    workers = _children(first.pid)
    assert len(workers) >= 2, f"expected 2 DataLoader workers under pid {first.pid}: {workers}"
    (lock,) = out.glob("*.lock")
    assert _holders(lock) == {first.pid}, f"lock {lock} held by {_holders(lock)}, workers {workers}"
    os.killpg(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    first.wait(timeout=10)
    second = _start(cmd)
    restart_1 = time.monotonic() - killed
    assert restart_1 < 0.5, restart_1
    print(f"restart after SIGKILL of the process group: started {restart_1:.3f} s after the kill")

    # 2. SIGKILL of only the main process: its workers must end with it and hold no lock
    resumed_at = _done(out)
    assert _wait_for(lambda: _done(out) >= resumed_at + 4), "the restarted run made no progress"
    workers = _children(second.pid)
    assert len(workers) >= 2, workers
    (lock,) = out.glob("*.lock")
    assert _holders(lock) == {second.pid}, f"lock held by {_holders(lock)}, workers {workers}"
    second.kill()
    killed = time.monotonic()
    second.wait(timeout=10)
    third = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    restart_2 = time.monotonic() - killed
    assert restart_2 < 0.5, restart_2
    print(f"restart after SIGKILL of the main process only: started {restart_2:.3f} s after the kill")
    assert _wait_for(lambda: not any(process_alive(w) for w in workers), timeout=1.0), \
        f"DataLoader workers {[w for w in workers if process_alive(w)]} outlived their killed parent by 1 s"
    print(f"its {len(workers)} DataLoader workers ended with it (checked within 1 s)")
    stdout, stderr = third.communicate(timeout=300)
    assert third.returncode == 0, stderr
    assert "another run is writing" not in stderr
    assert "resuming from" in stderr, stderr
    print([ln for ln in stderr.splitlines() if "resuming" in ln][0])

    second_err = second.stderr.read()
    assert "another run is writing" not in second_err
    assert "resuming from" in second_err, second_err
    (final,) = cache.find_caches(str(out))
    (reference,) = cache.find_caches(str(tmp_path / "ref"))
    (a, prov_a), (b, prov_b) = _comparable(final), _comparable(reference)
    for x, y in zip(a, b):
        assert np.array_equal(np.asarray(x), np.asarray(y))
    assert prov_a == prov_b
    print(f"final cache equals the uninterrupted run's: {len(a[0])} rows, "
          f"{len(prov_a)} provenance keys (all but shards, timing)")
    assert not list(out.glob("*.partial.npz")) and not list(out.glob("*.lock"))


def test_keras_child_holds_no_lock_and_ends_with_its_killed_parent(tmp_path):
    """The Keras model's spawned process: no copy of the lock, and gone when ``predict`` is killed."""
    from keras_helpers import predict_child, skip_without_keras
    skip_without_keras()
    val = make_valset(tmp_path / "val", num_classes=2, per_class=3)
    out = tmp_path / "out"
    args = ["--framework", "keras", "--model", "resnet50", "--weights", "none", "--no-progress",
            "--checkpoint-every", "1", "-o", str(out), str(val)]
    main = predict_child(args, env={"KERAS_TEST_SLEEP": "4"}, start_new_session=True)
    try:
        assert _wait_for(lambda: _done(out) >= 1, timeout=240), main.communicate()[1][-2000:]
        kids = [k for k in _children(main.pid)
                if b"multiprocessing" in open(f"/proc/{k}/cmdline", "rb").read()]
        assert kids, f"no Keras child under pid {main.pid}: {_children(main.pid)}"
        (lock,) = out.glob("*.lock")
        assert _holders(lock) == {main.pid}, f"lock held by {_holders(lock)}, Keras child {kids}"
        main.kill()  # the main process only; the child is sleeping inside a prediction
        killed = time.monotonic()
        main.wait(timeout=10)
        again = predict_child(args)
        restart = time.monotonic() - killed
        assert restart < 0.5, restart
        assert _wait_for(lambda: not any(process_alive(k) for k in kids), timeout=1.0), \
            f"Keras child {kids} outlived its killed parent by 1 s"
        print(f"Keras child {kids} ended with its SIGKILLed parent; restart started "
              f"{restart:.3f} s after the kill")
        _, err = again.communicate(timeout=300)
        assert again.returncode == 0, err[-2000:]
        assert "another run is writing" not in err and "resuming from" in err, err[-2000:]
    finally:
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(main.pid, signal.SIGKILL)
