"""A forked child holds none of its parent's run locks, and dies with its parent (issue #23).

Each test starts a small Python process that takes a lock, forks a child that would
sleep for a minute, and SIGKILLs itself: what the DataLoader workers of a run killed
with SIGKILL do, without torch (the real run: tests/test_restart.py).
"""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import process_alive

from imagenet_bench.run import locks

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork and /proc")

SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    from imagenet_bench.run import children, locks
    target, mode = sys.argv[1], sys.argv[2]
    with locks.hold(target):
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 1), os.dup2(null, 2)  # the test reads our parent's output to its end
            if mode == "die-with-parent":
                children.die_with_parent(parent)
            time.sleep(60)
            os._exit(0)
        print(pid, flush=True)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGKILL)
""")


def _run(tmp_path, mode):
    target = str(tmp_path / "run.partial.npz")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", SCRIPT, target, mode], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    return target, int(proc.stdout.split()[0])


def test_lock_is_free_at_once_while_a_forked_child_of_the_killed_holder_lives(tmp_path):
    target, child = _run(tmp_path, "stay")
    try:
        assert process_alive(child), "the forked child should still be sleeping"
        with locks.hold(target) as lock:  # no RunLockedError: the child holds no copy of the lock
            assert os.path.exists(lock)
    finally:
        os.kill(child, 9)


def test_forked_child_calling_die_with_parent_ends_with_its_killed_parent(tmp_path):
    _, child = _run(tmp_path, "die-with-parent")
    end = time.time() + 1.0
    while process_alive(child) and time.time() < end:
        time.sleep(0.02)
    alive = process_alive(child)
    if alive:
        os.kill(child, 9)
    assert not alive, f"child {child} outlived its SIGKILLed parent by 1 s"


def test_a_second_hold_is_refused_naming_the_holder(tmp_path):
    target = str(tmp_path / "x.partial.npz")
    with locks.hold(target):
        proc = subprocess.run([sys.executable, "-c", "import sys; from imagenet_bench.run import "
                               "locks\nwith locks.hold(sys.argv[1]): pass", target],
                              env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                              text=True, timeout=60)
    assert proc.returncode != 0
    assert f"another run is writing the same files: pid {os.getpid()} on host" in proc.stderr
