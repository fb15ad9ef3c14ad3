"""Child processes of a run end with it (standard library only).

A run's helpers -- DataLoader worker processes (forked), the Keras child
(spawned) -- must not outlive the process they serve: an orphaned worker keeps
decoding for nothing, and one holding the run's lock would make a restart right
after a SIGKILL be refused. The lock is kept out of children by
:mod:`imagenet_bench.run.locks` (closed in every forked child, never inherited
across ``exec``); this module ends the children themselves:

* :func:`die_with_parent` asks the kernel to SIGKILL the calling process when
  its parent dies (Linux ``prctl(PR_SET_PDEATHSIG)`` through ctypes), then checks
  that the parent is still the one expected (it may have died before the
  request was made). Where ``prctl`` does not exist (macOS, Windows) a daemon
  thread polls the parent's pid every 0.2 s instead.
* :func:`dataloader_worker_init` is the ``worker_init_fn`` of the torch backends'
  DataLoaders: SIGTERM left to the main process, and :func:`die_with_parent`.

``PR_SET_PDEATHSIG`` fires when the *thread* that created the child exits; the
runner creates its DataLoader and Keras child in the thread that runs the loop,
which outlives them.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Optional

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _prctl_pdeathsig(sig: int) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies; False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int, interval: float) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(interval)


def die_with_parent(parent: Optional[int] = None, sig: int = signal.SIGKILL,
                    interval: float = 0.2) -> str:
    """End this process when ``parent`` (default: the current parent) dies.

    Returns how: ``"pdeathsig"`` (the kernel sends ``sig``), or ``"watchdog"`` (a
    daemon thread checks the parent's pid every ``interval`` s and exits). If the
    parent is already gone (this process was re-parented), exits at once.
    """
    parent = os.getppid() if parent is None else int(parent)
    how = "pdeathsig" if _prctl_pdeathsig(sig) else "watchdog"
    if os.getppid() != parent:  # died before the request: the kernel will not signal now
        os._exit(1)
    if how == "watchdog":
        threading.Thread(target=_watch_parent, args=(parent, interval), daemon=True,
                         name="imagenet_bench-parent-watch").start()
    return how


def dataloader_worker_init(parent: int, worker_id: int) -> None:
    """``worker_init_fn`` (bound to the main process's pid with ``functools.partial``).

    SIGTERM is ignored (SLURM signals every process of a job step; the main process
    checkpoints and stops the workers itself), and the worker dies with its parent.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    die_with_parent(parent)
