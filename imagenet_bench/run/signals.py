"""SIGTERM handled like Ctrl-C, so preemption (SLURM, Kubernetes) keeps finished work (stdlib only).

Inside :func:`terminate_as_interrupt` a SIGTERM raises :class:`Terminated`, a
``KeyboardInterrupt``: the run loop checkpoints what it has finished, as it
does for Ctrl-C, and the command line exits with status 143 (128 + 15), the
status a process killed by SIGTERM reports. Under SLURM, ask for the signal
ahead of the time limit with ``sbatch --signal=TERM@60`` (or ``srun
--signal=TERM@60``); Kubernetes sends SIGTERM and waits
``terminationGracePeriodSeconds`` before SIGKILL.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

#: exit status after SIGTERM (128 + signal number), as a shell reports it
EXIT_TERMINATED = 128 + signal.SIGTERM
#: exit status after Ctrl-C
EXIT_INTERRUPTED = 128 + signal.SIGINT


class Terminated(KeyboardInterrupt):
    """SIGTERM was received; handled wherever Ctrl-C is."""


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` inside the block (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
