"""Tar files read in place: the member index of one tar, and a single tar of a folder layout.

:func:`index` lists the regular members of an uncompressed tar with the byte
range of each, reading only the 512-byte headers (ustar, GNU long names and
pax ``path``/``size`` records, the formats ``tarfile``, GNU tar and
``webdataset`` write) and seeking over the data. It does not use ``tarfile``:
that module parses each header in Python objects at ~0.25 ms a member (pax
archives have two headers a member), 40 s for the 150,000 members of
ImageNet val's shards at every discovery, and it stops quietly at a corrupt
header after the first member. Every header's checksum is checked, and a tar
cut short or corrupt is refused naming the last good member. The WebDataset
reader (:mod:`.wds`) builds on it.

A single tar of a folder layout (``val.tar`` holding ``n01440764/...JPEG``, or
the flat official files, under one optional top folder) is a :class:`TarTree`:
the folder-layout rules of :mod:`imagenet_bench.data.layouts` run on its
member names exactly as on a folder, so ids, rows, labels and fingerprint are
the folder's. Nothing is extracted: each image is a :class:`~.refs.Member`.
Standard library only.
"""
from __future__ import annotations

import os
import posixpath
from typing import Dict, Iterator, List, Tuple

from imagenet_bench.data.sources.refs import Member
from imagenet_bench.errors import InputError

BLOCK = 512
READER = "imagenet_bench.data.sources.tar (tar headers, byte ranges)"


def index(path: str) -> List[Member]:
    """The regular members of the uncompressed tar ``path``, in archive order, as byte ranges."""
    try:
        return list(iter_members(path))
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e}). Fix: check the file and "
                         f"its permissions") from None


def iter_members(path: str) -> Iterator[Member]:
    """Walk the headers of ``path`` (ustar, GNU long names, pax ``path``/``size`` records)."""
    end = os.path.getsize(path)
    pos, last, long_name, pax = 0, None, None, {}
    with open(path, "rb") as f:
        while True:
            f.seek(pos)
            block = f.read(BLOCK)
            if len(block) < BLOCK:
                raise _cut(path, last, pos, end, "ends without the end-of-archive blocks")
            if block == ZERO:
                return
            if _number(block[148:156]) != sum(block[:148]) + 256 + sum(block[156:]):
                raise _bad(path, last, pos)
            size, kind, data = _number(block[124:136]), block[156:157], pos + BLOCK
            if kind in (b"x", b"L"):  # pax extended header / GNU long name: about the next one
                f.seek(data)
                raw = f.read(size)
                if len(raw) < size:
                    raise _cut(path, last, pos, end, "ends inside a header")
                if kind == b"x":
                    pax = _pax(raw)
                else:
                    long_name = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                pos = data + -(-size // BLOCK) * BLOCK
                continue
            name = pax.get("path") or long_name or _ustar_name(block)
            size = int(pax.get("size", size))
            pos = data + -(-size // BLOCK) * BLOCK
            if data + size > end:
                raise InputError(f"{path}: truncated: member {name} needs {size:,} bytes from byte "
                                 f"{data:,}; the file ends at byte {end:,}. Fix: download the "
                                 f"shard again")
            if kind in (b"0", b"\0", b"7"):
                last = name
                yield Member(path, name, data, size)
            long_name, pax = None, {}


ZERO = bytes(BLOCK)


def _number(field: bytes) -> int:
    """A header number: octal text, or base-256 (first byte 0x80) for large values."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        return -1  # never a checksum or size: reported as a corrupt header


def _ustar_name(block: bytes) -> str:
    """The name of a ustar header (its ``prefix`` field joined in front, POSIX ustar only)."""
    name = block[:100].split(b"\0", 1)[0]
    if block[257:263] == b"ustar\0":
        prefix = block[345:500].split(b"\0", 1)[0]
        if prefix:
            name = prefix + b"/" + name
    return name.decode("utf-8", "surrogateescape")


def _pax(raw: bytes) -> Dict[str, str]:
    """The ``path`` and ``size`` records of a pax header (``"%d key=value\n"`` each)."""
    out, i = {}, 0
    while i < len(raw):
        length = raw[i:].split(b" ", 1)[0]
        if not length.isdigit() or int(length) < 1:
            break
        record = raw[i + len(length) + 1:i + int(length) - 1]
        key, _, value = record.partition(b"=")
        if key in (b"path", b"size"):
            out[key.decode()] = value.decode("utf-8", "surrogateescape")
        i += int(length)
    return out


def _cut(path: str, last, at: int, end: int, what: str) -> InputError:
    after = f"after member {last}" if last else "before its first member"
    return InputError(f"{path}: truncated {after}: the archive {what} at byte {at:,} (the file "
                      f"ends at byte {end:,}). Fix: download the shard again")


def _bad(path: str, last, at: int) -> InputError:
    after = f"after member {last}" if last else "at its start"
    hint = " (a compressed .tar.gz must be unpacked to .tar first)" if at == 0 else ""
    return InputError(f"{path}: truncated or corrupt: the block at byte {at:,} ({after}) is not a "
                      f"tar header (its checksum is wrong). Fix: download the shard again{hint}")


class TarTree:
    """A folder layout inside one tar: top-level folders and image files, and each one's member."""

    def __init__(self, path: str):
        from imagenet_bench.data.layouts import is_image_file
        self.file = path
        members = [m for m in index(path) if is_image_file(posixpath.basename(m.name))]
        names = [m.name.lstrip("./") if m.name.startswith("./") else m.name for m in members]
        tops = {n.split("/", 1)[0] for n in names if "/" in n}
        self.prefix = ""
        if len(tops) == 1 and all("/" in n for n in names):  # one top folder (val/...): look inside
            top = tops.pop()
            if all(n.count("/") >= 2 for n in names) or not _is_class(top):
                self.prefix = top + "/"
        self.members: Dict[str, Member] = {}
        for n, m in zip(names, members):
            rel = n[len(self.prefix):]
            if rel in self.members:
                raise InputError(f"{path}: member {n} appears twice. Fix: rebuild the tar with "
                                 f"each image once")
            self.members[rel] = m

    def top(self) -> Tuple[List[str], List[str]]:
        """(folders, image files) at the top of the layout, sorted."""
        folders = sorted({r.split("/", 1)[0] for r in self.members if "/" in r})
        files = sorted(r for r in self.members if "/" not in r)
        return folders, files

    def images(self, folder: str) -> List[str]:
        """Sorted image names directly inside ``folder``."""
        pre = folder + "/"
        return sorted(r[len(pre):] for r in self.members if r.startswith(pre) and "/" not in r[len(pre):])

    def path(self, rel: str) -> Member:
        """The image at ``rel`` (``folder/name`` or ``name``)."""
        return self.members[rel]

    def where(self, rel: str) -> str:
        """How messages name the image at ``rel``."""
        return f"{self.file}:{self.prefix}{rel}"


def _is_class(name: str) -> bool:
    """A folder name of a class layout (wnid or class index)."""
    return name.isdigit() or (name.startswith("n") and name[1:].isdigit() and len(name) == 9)
