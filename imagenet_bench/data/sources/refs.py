"""Images that are not files: a byte range of a shard, or a row of a parquet/arrow table.

A test set read from a source keeps, in ``ValSet.paths``, one of these
references where a folder layout keeps a file path. They are small frozen
dataclasses of strings and integers, so they pickle into DataLoader workers
and survive a fork; :func:`imagenet_bench.data.pixels.load_rgb` opens any
object with an ``open()`` method returning a binary file. ``str()`` names the
file and the member or row, for messages.

Each process keeps its open shard descriptors (:data:`_FDS`, read with
``os.pread``, so processes forked with them share nothing but the
descriptor) and the image columns of the table row groups it read last
(:data:`_GROUPS`, least recently used dropped first once they hold more than
:data:`GROUP_CACHE_BYTES`; a single larger group is still held alone). Rows
come in the runner's order (class, then file name) while a table is stored in
its own order, so a batch touches many row groups, each decoded once while it
stays held. Memory stays at one tar member, or at most that budget of row
groups, per process. Standard library only; pyarrow is imported by
:meth:`Row.open` when a table is read.
"""
from __future__ import annotations

import io
import os
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

_FDS: Dict[Tuple[int, str], int] = {}  # (pid, file) -> descriptor opened by that process
#: bytes of decoded row-group image columns one process keeps (a DataLoader worker each)
GROUP_CACHE_BYTES = 256 * 2 ** 20
#: (file, group, column) -> (image bytes column, the memory map its buffers live in or None)
_GROUPS: "OrderedDict[Tuple[str, int, str], Tuple[Any, Any]]" = OrderedDict()


def read_range(file: str, offset: int, size: int) -> bytes:
    """``size`` bytes of ``file`` at ``offset`` (an OSError when the file is shorter)."""
    key = (os.getpid(), file)
    fd = _FDS.get(key)
    if fd is None:
        fd = _FDS[key] = os.open(file, os.O_RDONLY)
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise OSError(f"{file} ends {size - len(data)} bytes before the end of this member "
                      f"(the shard is truncated)")
    return data


@dataclass(frozen=True)
class Member:
    """An image stored whole in a file at a byte range (a tar member, an uncompressed value)."""

    file: str  # absolute path of the shard
    name: str  # member name (what messages show)
    offset: int  # first byte of the image in the file
    size: int  # bytes of the image

    def open(self) -> io.BytesIO:
        """The image's bytes as a binary file."""
        return io.BytesIO(read_range(self.file, self.offset, self.size))

    def __str__(self) -> str:
        return f"{self.file}:{self.name}"


@dataclass(frozen=True)
class Row:
    """An image in a row of a parquet or arrow table (``group``: row group / record batch)."""

    file: str  # absolute path of the .parquet or .arrow file
    kind: str  # "parquet" or "arrow"
    group: int  # row group (parquet) or record batch (arrow) holding the row
    row: int  # row inside that group
    column: str  # the image column (a struct with ``bytes``)
    first: int = 0  # row of the file where the group starts (for messages)

    def open(self) -> io.BytesIO:
        """The image's bytes as a binary file (its row group decoded once while held)."""
        value = _group(self.file, self.kind, self.group, self.column)[self.row].as_py()
        if value is None:
            raise OSError("the row holds no image bytes (null)")
        return io.BytesIO(value)

    def __str__(self) -> str:
        return f"{self.file}: row {self.first + self.row}"


def _group(file: str, kind: str, group: int, column: str):
    """The image bytes column of a row group, from :data:`_GROUPS` or read (then the least
    recently used groups are dropped until the rest fit :data:`GROUP_CACHE_BYTES`)."""
    key = (file, group, column)
    held = _GROUPS.get(key)
    if held is not None:
        _GROUPS.move_to_end(key)
        return held[0]
    held = _GROUPS[key] = _read_group(file, kind, group, column)
    while len(_GROUPS) > 1 and sum(c.nbytes for c, _ in _GROUPS.values()) > GROUP_CACHE_BYTES:
        _GROUPS.popitem(last=False)
    return held[0]


def _read_group(file: str, kind: str, group: int, column: str):
    """(the ``bytes`` child of ``column`` in one row group / record batch of ``file``, the
    memory map its buffers live in, kept open with it, or None)."""
    import pyarrow as pa
    if kind == "parquet":
        import pyarrow.parquet as pq
        table = pq.ParquetFile(file).read_row_group(group, columns=[f"{column}.bytes"])
        return table.column(column).combine_chunks().field("bytes"), None
    source = pa.memory_map(file)  # arrow IPC stream, as datasets.save_to_disk writes it
    for i, batch in enumerate(pa.ipc.open_stream(source)):
        if i == group:
            return batch.column(column).field("bytes"), source
    raise OSError(f"{file} has no record batch {group}")


@dataclass(frozen=True)
class Sample:
    """One image of a sample source, as its reader found it."""

    ref: Any  # a refs.Member or refs.Row
    where: str  # shard and member, or file and row (for messages)
    key: str  # unique in the source (sample key, or file/row)
    name: Optional[str]  # the original file name where the source keeps one
    label: Optional[int]  # the source's own label (class index in the source's order)
    wnid: Optional[str] = None  # a wnid the source states beside the name (parquet _<wnid>)
