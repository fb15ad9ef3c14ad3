"""Compact, deterministic ``.npz`` files (numpy and stdlib only).

:func:`write` is ``np.savez_compressed`` with two differences: members named
in ``stored`` are written uncompressed (the top-5 float16 probabilities
barely deflate, 17.0 MB -> 15.5 MB over the 34 shipped models, and inflating
them costs more than reading them), and every member gets the same fixed timestamp, so the
same arrays always give the same bytes (a re-run of ``imagenet-bench import``
leaves ``git status`` clean). ``np.load`` reads the result as any ``.npz``.

:func:`shared` keeps one copy of a blob that many files hold byte for byte
(the image ids of one dataset), so the checks that memoise by blob run once.

:class:`Member` records where a member's bytes lie and what its npy header
says (filled in by ``checks.inspect_npz``, kept in the folder index);
:func:`read_member` then reads that one array with a seek, one read and one
inflate, checked against the member's CRC-32, parsing neither the archive's
directory nor the header again.
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from typing import IO, Dict, Iterable, List, Mapping, NamedTuple, Tuple

import numpy as np

#: fixed member timestamp (the zip format's earliest date)
_EPOCH = (1980, 1, 1, 0, 0, 0)
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zip local file header, 30 bytes
#: (-1, size, itemsize) -> [(bytes, shared read-only array), ...]
_BLOBS: Dict[Tuple[int, int, int], List[Tuple[bytes, np.ndarray]]] = {}


def write(f: IO[bytes], arrays: Mapping[str, np.ndarray], stored: Iterable[str] = ()) -> None:
    """Write ``arrays`` as an ``.npz`` to the binary file ``f`` (deflated unless in ``stored``)."""
    stored = set(stored)
    with zipfile.ZipFile(f, "w") as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


class Member(NamedTuple):
    """One ``.npy`` member of an archive: where its bytes lie and its header's content."""

    offset: int  # of its local file header
    method: int  # zipfile.ZIP_STORED or ZIP_DEFLATED
    compress_size: int
    size: int
    crc: int
    shape: Tuple[int, ...]
    fortran: bool
    dtype: str  # numpy dtype string, e.g. '<i2'
    header_len: int  # bytes of npy header before the data

    @classmethod
    def of(cls, info: zipfile.ZipInfo, shape, fortran: bool, dtype, header_len: int) -> "Member":
        """From the archive's directory entry and the parsed npy header."""
        return cls(info.header_offset, info.compress_type, info.compress_size, info.file_size,
                   info.CRC, tuple(shape), bool(fortran), np.dtype(dtype).str, header_len)

    @classmethod
    def from_list(cls, values) -> "Member":
        """From :meth:`as_list` (JSON)."""
        v = list(values)
        v[5] = tuple(v[5])
        return cls(*v)

    def as_list(self) -> list:
        """JSON-ready values."""
        return [self.offset, self.method, self.compress_size, self.size, self.crc,
                list(self.shape), self.fortran, self.dtype, self.header_len]


def read_member(fp: IO[bytes], name: str, m: Member) -> np.ndarray:
    """The array of member ``m`` (named ``name`` in errors) of the open archive ``fp``.

    Read-only (it shares the inflated bytes). Raises :class:`zipfile.BadZipFile`
    for a moved, truncated or altered member (CRC-32 checked, as zipfile does).
    """
    fp.seek(m.offset)
    header = fp.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for member {name}")
    fields = _LOCAL_HEADER.unpack(header)
    fp.seek(fields[-2] + fields[-1], 1)  # file name and extra field
    data = fp.read(m.compress_size)
    if len(data) != m.compress_size:
        raise zipfile.BadZipFile(f"member {name} is truncated")
    if m.method == zipfile.ZIP_DEFLATED:
        data = zlib.decompress(data, -15, max(1, m.size))
    elif m.method != zipfile.ZIP_STORED:
        raise zipfile.BadZipFile(f"member {name}: unsupported compression method {m.method}")
    if len(data) != m.size or zlib.crc32(data) != m.crc:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {name!r}")
    count = 1
    for d in m.shape:
        count *= d
    arr = np.frombuffer(data, dtype=np.dtype(m.dtype), count=count, offset=m.header_len)
    if m.fortran:
        return arr.reshape(m.shape[::-1]).T
    return arr.reshape(m.shape)


def shared(blob: np.ndarray) -> np.ndarray:
    """``blob``, or an equal read-only array already returned (one copy per distinct content)."""
    seen = _BLOBS.setdefault((-1, blob.size, blob.dtype.itemsize), [])
    raw = blob.tobytes()
    for known_raw, known in seen:
        if known_raw == raw:
            return known
    blob = np.array(blob)
    blob.flags.writeable = False
    seen.append((raw, blob))
    return blob
