"""Tar files read in place: the member index of one tar, and a single tar of a folder layout.

:func:`index` lists the regular members of an uncompressed tar with the byte
range of each (``tarfile`` reads the 512-byte headers and seeks over the
data), and refuses a tar that is cut short or corrupt: the standard library
stops quietly at a bad header after the first member, so the end-of-archive
blocks are checked too. The WebDataset reader (:mod:`.wds`) builds on it.

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
import tarfile
from typing import Dict, List, Tuple

from imagenet_bench.data.sources.refs import Member, read_range
from imagenet_bench.errors import InputError

BLOCK = 512


def index(path: str) -> List[Member]:
    """The regular members of the uncompressed tar ``path``, in archive order, as byte ranges."""
    members: List[Member] = []
    try:
        with tarfile.open(path, "r:") as tf:
            for m in tf:
                if m.isfile():
                    members.append(Member(path, m.name, m.offset_data, m.size))
    except tarfile.ReadError as e:
        where = f"after member {members[-1].name}" if members else "at its first header"
        raise InputError(f"{path}: truncated or corrupt {where} ({e}). Fix: download the shard "
                         f"again (a compressed .tar.gz must be unpacked to .tar first)") from None
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e.strerror or e}). Fix: check the file and "
                         f"its permissions") from None
    _check_end(path, members)
    return members


def _check_end(path: str, members: List[Member]) -> None:
    """Refuse a tar whose data or end-of-archive blocks are missing or not zero."""
    size = os.path.getsize(path)
    last = members[-1] if members else None
    end = -(-(last.offset + last.size) // BLOCK) * BLOCK if last else 0
    after = f"after member {last.name}" if last else "at its start"
    if last and last.offset + last.size > size:
        raise InputError(f"{path}: truncated: member {last.name} needs {last.size:,} bytes from "
                         f"byte {last.offset:,}, the file has {size:,}. Fix: download the shard "
                         f"again")
    try:
        tail = read_range(path, end, 2 * BLOCK)
    except OSError:
        tail = b""
    if tail != bytes(2 * BLOCK):
        what = "ends without the end-of-archive blocks" if len(tail) < 2 * BLOCK else \
            "holds a header that is not a tar header"
        raise InputError(f"{path}: truncated or corrupt: the archive {what} at byte {end:,} "
                         f"({after}). Fix: download the shard again")


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
