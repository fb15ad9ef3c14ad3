"""OS file locks on what a run writes, so two runs never write the same cache (stdlib only).

Each process of a run holds an exclusive ``fcntl.flock`` on
``<its checkpoint file>.lock`` from before it reads its checkpoint until it
has written its results. The lock file records who holds it (pid, host, start
time, command line), so a second run on the same files is refused with a
message naming the running one. Shards of one run (torchrun, SLURM) lock
different checkpoint files and so run side by side.

The kernel drops a lock when its process dies (even by SIGKILL), so a stale
lock file never blocks a later run -- provided no other process shares the
locked descriptor. An ``flock`` belongs to the open file description, and
``fork()`` copies every descriptor (``O_CLOEXEC`` only acts at ``exec``), so a
forked DataLoader worker would hold the lock as long as it lives (a restart
right after a SIGKILL would then be refused for seconds). Hence the descriptor is
non-inheritable (closed at ``exec``: spawned Keras children, subprocesses) and
closed in every forked child by an ``os.register_at_fork`` hook, before any
code of the child runs; closing a copy leaves the parent's lock in place.
(POSIX ``fcntl`` record locks are not inherited by ``fork``, but they do not
conflict within one process and are dropped when *any* descriptor of the file
is closed by it; OFD locks are per open file description, like ``flock``.)
The children also end with their parent: :mod:`imagenet_bench.run.children`. ``flock`` works across hosts on NFSv4 and
Lustre (with ``-o flock``); on file systems without it, locking is skipped
with a warning rather than refusing to run.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
from typing import Callable, Iterator, Optional

from imagenet_bench.errors import BenchError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not locked
    fcntl = None


#: descriptors of the locks this process holds (closed in forked children)
_HELD: set = set()


def _close_in_child() -> None:
    """``os.register_at_fork`` hook: a forked child holds none of its parent's locks."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


def _release(fd: int) -> None:
    _HELD.discard(fd)
    os.close(fd)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)


class RunLockedError(BenchError):
    """Another process holds the lock on the files this run would write."""


def _holder(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            info = json.loads(f.read() or "{}")
    except (OSError, ValueError):
        info = {}
    if not isinstance(info, dict) or "pid" not in info:
        return "another process (its details are not recorded yet)"
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return (f"pid {info.get('pid')} on host {info.get('host')}, started {started}: "
            f"{info.get('command', '?')}")


@contextlib.contextmanager
def hold(target: str, log: Optional[Callable[[str], None]] = None) -> Iterator[str]:
    """Hold an exclusive lock on ``target + '.lock'`` for the ``with`` block; yield the lock path.

    Raises :class:`RunLockedError` naming the holder when another process has it.
    The lock file is removed on exit.
    """
    lock = target + ".lock"
    if fcntl is None:
        yield lock
        return
    os.makedirs(os.path.dirname(os.path.abspath(lock)), exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        os.set_inheritable(fd, False)
        _HELD.add(fd)  # from the moment it exists: a fork in another thread must not keep it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            _release(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunLockedError(
                    f"another run is writing the same files: {_holder(lock)} (lock {lock}). "
                    f"Fix: wait for it to finish (its cache will then be reused), or give this "
                    f"run another output folder with -o") from None
            if e.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                if log:
                    log(f"warning: the file system of {lock} has no file locks; "
                        f"concurrent runs on the same cache are not detected")
                yield lock
                return
            raise
        # the holder before us may have removed the file after we opened it: lock the live file
        try:
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        _release(fd)
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                "command": " ".join(sys.argv)[:300]}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        yield lock
    finally:
        with contextlib.suppress(OSError):
            os.remove(lock)  # while still locked, so no one locks the old file after us
        _release(fd)
