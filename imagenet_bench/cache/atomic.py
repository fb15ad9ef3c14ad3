"""File helpers: atomic writes (temporary file beside the target, then rename) and file hashes."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from typing import Iterator, Optional

from imagenet_bench.errors import BenchError


class DiskFullError(BenchError, OSError):
    """No space (or quota) left while writing a result; the message names the path and the size."""


@contextlib.contextmanager
def atomic_path(path: str, needed: Optional[int] = None) -> Iterator[str]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    The temporary file is fsynced before the rename, so a crash leaves either
    the old file or the complete new one, never a torn file. On error the
    temporary file is removed and ``path`` is untouched. A full disk (ENOSPC,
    EDQUOT) becomes a :class:`DiskFullError` naming ``path`` and ``needed``
    bytes (when the caller knows them).
    """
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path} is a directory; give a file name")
    base = os.path.basename(path)
    import tempfile  # here: the scoring path, which never writes, need not import it

    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise _as_users(e, path, None) from None
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(disk_full_message(path, needed)) from None
        if isinstance(e, OSError) and not isinstance(e, BenchError):
            raise _as_users(e, path, tmp) from None
        raise


def _as_users(e: OSError, path: str, tmp: Optional[str]) -> OSError:
    """``e`` naming ``path`` (the file the user asked for) instead of the hidden temporary file
    or one of the folders above it, when it named one of those (same class and errno)."""
    named = e.filename
    hidden = named is not None and (
        named == tmp or os.path.basename(str(named)).startswith(f".{os.path.basename(path)}.")
        or os.path.abspath(path).startswith(os.path.abspath(str(named)) + os.sep))
    if named is not None and not hidden:
        return e
    why = e.strerror or str(e)
    if named is not None and os.path.abspath(path).startswith(os.path.abspath(str(named)) + os.sep):
        why = (f"a file is in the way where a folder is needed: {named}"
               if isinstance(e, (FileExistsError, NotADirectoryError)) else f"{why}: {named}")
    try:
        return type(e)(e.errno, why, path)
    except TypeError:  # an OSError subclass with another signature
        return OSError(e.errno, why, path)


def _size(n: int) -> str:
    if n < 1 << 20:
        return f"{n:,} bytes"
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def disk_full_message(path: str, needed: Optional[int] = None) -> str:
    """Message for ENOSPC while writing ``path``: where, how much is needed and how much is free."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        st = os.statvfs(folder)
        free = _size(st.f_bavail * st.f_frsize)
    except OSError:
        free = "unknown"
    need = f"about {_size(needed)} needed, " if needed else ""
    return (f"{path}: no space left on the device while writing it ({need}{free} free in "
            f"{folder}). Nothing finished was lost: the previous file and any checkpoint are "
            f"unchanged. Fix: free space there, or write elsewhere (-o), then run the same "
            f"command again")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)


def write_bytes(path: str, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def file_sha256(path: str) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
