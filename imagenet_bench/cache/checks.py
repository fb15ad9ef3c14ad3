"""Checks made on files before and after numpy reads them (numpy and stdlib only).

Everything here refuses bad input *before* it costs memory or produces a
wrong number:

* :func:`open_check` -- the path is a readable regular file, not empty, not a
  directory or a broken link, and of the kind expected (``.npy`` vs ``.npz``);
* :func:`inspect_npz` -- every member's npy header (shape, dtype) is read from
  the zip archive and checked against the expected shapes *before* any array
  is allocated, with caps on rows and on the compression ratio (zip bombs);
* :func:`read_npy` -- the same for a single ``.npy`` file, then the read;
* :func:`check_provenance_types` -- JSON provenance fields of the right type.

The checks of a cache's image ids (unique, UTF-8, labels that agree with the
wnid of each id) are in :mod:`imagenet_bench.cache.image_ids`.

Every failure is a :class:`~imagenet_bench.errors.BenchError` subclass whose
message names the file, the problem and the fix. ``docs/checks.md`` lists them.
"""
from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from typing import Callable, Dict, Optional, Sequence, Tuple, Type

import numpy as np
from numpy.lib import format as npy_format

from imagenet_bench.cache import npz
from imagenet_bench.errors import BenchError

#: most rows a cache or checkpoint may declare (ImageNet-1k train is 1.28 M images)
MAX_ROWS = 2_000_000
#: a zip member this much larger than its compressed bytes (and > MIN_BOMB_BYTES) is a zip bomb
MAX_COMPRESSION_RATIO = 100
MIN_BOMB_BYTES = 16 << 20
#: byte blobs (image ids, JSON provenance) may hold this much per row, plus BLOB_SLACK
BLOB_BYTES_PER_ROW = 4096
BLOB_SLACK = 64 << 20

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"

Fail = Callable[[str, str], None]


def _gib(n: int) -> str:
    if n < 1 << 20:
        return f"{n:,} bytes"
    return f"{n / (1 << 30):.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.1f} MiB"


def open_check(path: str, kind: str, error: Type[BenchError], what: str = "file",
               fix: Optional[str] = None, shown: Optional[str] = None) -> None:
    """Refuse ``path`` unless it is a readable, non-empty regular file of ``kind`` ('npz'|'npy').

    Catches the cases numpy reports with a traceback or a misleading message:
    a broken symbolic link, a directory, a file without read permission, an
    empty file, and a ``.npy`` named ``.npz`` (or the reverse). ``fix`` replaces
    the default advice for a file whose content is wrong; ``shown`` is how the
    file is named in messages (default: the path).
    """
    name, path = shown or path, path
    if os.path.islink(path) and not os.path.exists(path):
        raise error(f"{name}: is a broken symbolic link (to {os.readlink(path)}). "
                    f"Fix: restore the file it points to, or remove the link")
    if os.path.isdir(path):
        raise error(f"{name}: is a directory, not a file. Fix: give the path of the file itself "
                    f"(or move the directory out of the way)")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except PermissionError:
        raise error(f"{name}: is unreadable (permission denied). Fix: make it readable by "
                    f"this user (check its owner and mode with `ls -l {path}`); the file itself "
                    f"may be fine") from None
    except FileNotFoundError:
        raise error(f"{name}: no such file. Fix: check the path") from None
    except OSError as e:
        raise error(f"{name}: cannot be opened ({e.strerror or e}). Fix: check the path and "
                    f"the file system") from None
    if not head:
        as_what = f" as a {what}" if kind == "npz" else ""
        raise error(f"{name}: cannot be read{as_what}: it is empty (0 bytes), perhaps from an "
                    f"interrupted copy. "
                    f"Fix: {fix or f'copy or re-create the {what}'}")
    if kind == "npz" and head.startswith(NPY_MAGIC):
        raise error(f"{name}: is a single-array .npy file named .npz, not an .npz archive. "
                    f"Fix: {fix or f'give the {what} its right name, or re-create it'}")
    if kind == "npy" and head.startswith(ZIP_MAGIC):
        raise error(f"{name}: is an .npz (zip) archive named .npy, not a single .npy array. "
                    f"Fix: {fix or 'save the array with numpy.save, or give the file its right name'}")
    if kind == "npz" and not head.startswith(ZIP_MAGIC):
        raise error(f"{name}: cannot be read as a {what} (not a zip archive; first bytes "
                    f"{head!r}). Fix: {fix or 're-create it'}")
    if kind == "npy" and not head.startswith(NPY_MAGIC):
        raise error(f"{name}: is not a .npy file (first bytes {head!r}). "
                    f"Fix: {fix or 'save the array with numpy.save'}")


def read_header(fp) -> Tuple[Tuple[int, ...], np.dtype, int]:
    """(shape, dtype, header length) of the npy stream ``fp``, reading only its header."""
    shape, _, dtype, header_len = read_header_order(fp)
    return shape, dtype, header_len


#: the header numpy writes for a plain array; anything else goes through numpy's own parser
_PLAIN_HEADER = re.compile(r"\{'descr': '([<>|=][a-z]\d{1,2})', 'fortran_order': (False|True), "
                           r"'shape': \(((?:\d+, ?)*\d*)\), \} *\n\Z")
#: simple dtype strings numpy would accept for such a header
_PLAIN_DESCR = re.compile(r"[<>|=][biuf]\d{1,2}\Z")


def read_header_order(fp) -> Tuple[Tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, header length) of the npy stream ``fp``.

    The header numpy writes for a plain array is matched by a regular
    expression (the cheap pass over 1,500 caches parses 6,000 headers); any
    other header is parsed by numpy, which refuses what it must.
    """
    head = fp.read(10)
    if len(head) == 10 and head[:6] == NPY_MAGIC and head[6] == 1 and head[7] == 0:
        size = int.from_bytes(head[8:10], "little")
        text = fp.read(size)
        m = _PLAIN_HEADER.match(text.decode("latin1")) if len(text) == size else None
        if m and _PLAIN_DESCR.match(m.group(1)):
            shape = tuple(int(d) for d in m.group(3).replace(" ", "").split(",") if d)
            return shape, m.group(2) == "True", np.dtype(m.group(1)), 10 + size
        return _numpy_header(io.BytesIO(head + text))  # not a plain header: numpy decides
    return _numpy_header(_Prefixed(head, fp))


class _Prefixed:
    """A stream that yields ``head`` then the rest of ``fp`` (numpy's parser reads it whole)."""

    def __init__(self, head: bytes, fp):
        self.head, self.fp, self.pos = head, fp, 0

    def read(self, n: int = -1) -> bytes:
        out = self.head[:n] if n >= 0 else self.head
        self.head = self.head[len(out):]
        if n < 0 or len(out) < n:
            out += self.fp.read(-1 if n < 0 else n - len(out))
        self.pos += len(out)
        return out

    def tell(self) -> int:
        return self.pos


def _numpy_header(fp) -> Tuple[Tuple[int, ...], bool, np.dtype, int]:
    version = npy_format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
    else:  # (3, 0): utf-8 header, same layout as 2.0
        shape, fortran, dtype = npy_format.read_array_header_2_0(fp)  # same layout, utf-8 header
    return tuple(int(d) for d in shape), bool(fortran), np.dtype(dtype), fp.tell()


def _nbytes(shape: Sequence[int], dtype: np.dtype) -> int:
    n = 1
    for d in shape:
        n *= d
    return n * dtype.itemsize


def _read_headers(path: str, fail: Callable[[str], None]):
    """The zip entries of the ``.npy`` members of ``path`` and each one's npy header (shape,
    Fortran order, dtype, header length); a zip bomb or an unreadable archive ``fail``."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = {i.filename[:-4]: i for i in z.infolist() if i.filename.endswith(".npy")}
            headers: Dict[str, Tuple[Tuple[int, ...], bool, np.dtype, int]] = {}
            for name, info in infos.items():
                if info.file_size > MIN_BOMB_BYTES and \
                        info.file_size > MAX_COMPRESSION_RATIO * max(1, info.compress_size):
                    fail(f"member {name} inflates from {_gib(info.compress_size)} to "
                         f"{_gib(info.file_size)}: a zip bomb")
                with z.open(info) as fp:
                    headers[name] = read_header_order(fp)
    except BenchError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            zlib.error) as e:  # zlib: a damaged deflated member (cache format 2)
        fail(f"{type(e).__name__}: {e}")
    return infos, headers


def _check_member(name: str, shape: Tuple[int, ...], dtype: np.dtype, data_bytes: int,
                  rows: int, trailing: Dict[str, Tuple[int, ...]], blobs: Sequence[str],
                  fail: Callable[[str], None]) -> None:
    """Check one member's header (see :func:`inspect_npz`); ``data_bytes``: the bytes its
    entry holds after the header."""
    cap = BLOB_BYTES_PER_ROW * rows + BLOB_SLACK
    if dtype.hasobject:
        fail(f"member {name} holds Python objects (pickled data), which are never loaded")
    size = _nbytes(shape, dtype)
    if name in trailing and shape != (rows, *trailing[name]):
        fail(f"{name} has shape {shape}, expected {(rows, *trailing[name])} (from its header)")
    elif name in blobs and (len(shape) != 1 or size > cap):
        fail(f"member {name} declares shape {shape} ({_gib(size)}), expected a 1-D blob "
             f"of at most {_gib(cap)}")
    elif name not in trailing and size > cap:
        fail(f"member {name} declares {_gib(size)}, more than {_gib(cap)}")
    if data_bytes < size:
        fail(f"member {name} declares {_gib(size)} of data but holds "
             f"{_gib(max(0, data_bytes))}: truncated or forged")


def inspect_npz(path: str, error: Type[BenchError], rows_member: str,
                trailing: Dict[str, Tuple[int, ...]], blobs: Sequence[str] = (),
                max_rows: int = MAX_ROWS, what: str = "cache",
                fix: str = "delete it and re-create it, or move it out of the folder",
                members: Optional[Dict[str, "npz.Member"]] = None
                ) -> Dict[str, Tuple[Tuple[int, ...], np.dtype]]:
    """Read every member's npy header of ``path`` and check it before anything is loaded.

    ``rows_member`` gives the row count N (its first dimension). A member named
    in ``trailing`` must have shape ``(N, *trailing[name])``; a member in
    ``blobs`` is 1-D with at most ``BLOB_BYTES_PER_ROW * N + BLOB_SLACK``
    bytes; any other member at most that many bytes too. Every member must hold
    the bytes its header declares, no member may need pickling, and no member
    may inflate more than :data:`MAX_COMPRESSION_RATIO` times beyond
    :data:`MIN_BOMB_BYTES`. Returns ``{name: (shape, dtype)}``. ``what`` and
    ``fix`` word the error message. ``members``, when given, is filled with
    each member's :class:`npz.Member` (where its bytes lie, its header), so
    the arrays can then be read without parsing the archive or a header again
    (:func:`npz.read_member`).
    """
    open_check(path, "npz", error, what, fix)

    def fail(msg: str) -> None:
        raise error(f"{path}: cannot be read as a {what} ({msg}). Fix: {fix}")

    infos, headers = _read_headers(path, fail)
    rows = headers[rows_member][0][0] if rows_member in headers and headers[rows_member][0] else 0
    if members is not None:
        members.update({name: npz.Member.of(infos[name], *h) for name, h in headers.items()})
    if rows > max_rows:
        fail(f"{rows_member} declares {rows:,} rows, more than the {max_rows:,} this reader accepts")
    out = {}
    for name, (shape, _, dtype, header_len) in headers.items():
        _check_member(name, shape, dtype, infos[name].file_size - header_len, rows, trailing,
                      blobs, fail)
        out[name] = (shape, dtype)
    return out


def read_npy(path: str, error: Type[BenchError], what: str,
             expected: Optional[Callable[[Tuple[int, ...]], Optional[str]]] = None) -> np.ndarray:
    """Check the header of ``.npy`` file ``path``, then read it (no pickles).

    ``expected(shape)`` returns a complaint (or None) about the declared shape,
    so a file declaring a huge array is refused before it is read.
    """
    open_check(path, "npy", error, what, shown=f"{what} {path}")
    try:
        with open(path, "rb") as f:
            shape, dtype, header_len = read_header(f)
    except (ValueError, OSError, EOFError) as e:
        raise error(f"{what} {path}: cannot be read as a .npy array ({e}). "
                    f"Fix: save the array with numpy.save") from None
    if dtype.hasobject:
        raise error(f"{what} {path}: holds Python objects (pickled data), which are never loaded. "
                    f"Fix: save a plain numeric array with numpy.save")
    complaint = expected(shape) if expected else None
    if complaint:
        raise error(f"{what} {path}: declares shape {shape} {dtype}; {complaint}")
    size, on_disk = _nbytes(shape, dtype), os.path.getsize(path) - header_len
    if on_disk < size:
        raise error(f"{what} {path}: declares {_gib(size)} of data but holds {_gib(max(0, on_disk))}: "
                    f"truncated. Fix: copy the file again")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise error(f"{what} {path}: cannot be read as a .npy array ({e}). "
                    f"Fix: save the array with numpy.save") from None


# --- provenance and ids ----------------------------------------------------------------------

#: provenance key -> (allowed JSON types, what it must be)
PROVENANCE_TYPES = {
    "format_version": ((int,), "an integer"),
    "model": ((str,), "a non-empty string"),
    "framework": ((str,), "a non-empty string"),
    "weights": ((str,), "a string"),
    "preprocessing": ((dict, str), "an object or a string"),
    "library_versions": ((dict,), "an object"),
    "fingerprint": ((str,), "a 64-digit hex string"),
    "num_images": ((int,), "an integer"),
    "complete": ((bool,), "true or false"),
}


def check_provenance_types(prov, fail: Fail) -> None:
    """Call ``fail(msg, fix)`` unless ``prov`` is a dict whose known fields have JSON types.

    Strict: ``"false"`` is not a bool, ``True`` is not an int, ``1.0`` is not an
    int, and numpy scalars are refused (they are not what JSON gives back).
    """
    fix = "re-create it with `imagenet-bench predict` or `imagenet-bench import`"
    if not isinstance(prov, dict):
        fail(f"provenance is {type(prov).__name__} ({prov!r:.40}), expected a JSON object", fix)
    for key, (types, desc) in PROVENANCE_TYPES.items():
        if key not in prov:
            continue
        v = prov[key]
        ok = type(v) in types and not (bool not in types and isinstance(v, bool))
        if ok and key in ("model", "framework") and not v:
            ok = False
        if ok and key == "fingerprint":
            ok = len(v) == 64 and all(c in "0123456789abcdef" for c in v)
        if ok and key == "num_images":
            ok = v >= 0
        if not ok:
            fail(f"provenance field {key!r} is {v!r:.60} ({type(v).__module__}.{type(v).__name__}), "
                 f"expected {desc}", fix)
