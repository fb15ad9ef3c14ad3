"""Test sets that are not a folder of image files: the readers, ONE registry, detection.

``discover`` (:mod:`imagenet_bench.data.datasets`) asks :func:`open_source`
what ``root`` is. A plain folder of images gives None (the folder layouts,
unchanged). Otherwise the kind is forced by a prefix (``wds:``, ``parquet:``,
``arrow:``, ``tar:``) or detected from what is on disk, and its reader gives
either a folder layout inside one tar (:class:`.tar.TarTree`, kind ``tar``) or
a list of :class:`Sample` (``wds``, ``parquet``, ``arrow``) that :mod:`.rows`
puts in rows. Every image becomes a reference of :mod:`.refs` that
:mod:`imagenet_bench.data.pixels` opens; nothing is extracted to disk.

:data:`KINDS` is the registry: kind -> (module, what it reads). Copies that
cannot give the images the tool scores (FFCV ``.beton`` files, re-encoded and
resized) are refused here. Standard library only.
"""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from imagenet_bench.data.sources import arrow, parquet, tar, wds
from imagenet_bench.data.sources.refs import Row, Sample
from imagenet_bench.errors import InputError

#: kind -> (reader module, what it reads)
KINDS: Dict[str, tuple] = {
    "wds": (wds, "WebDataset shards: a folder of .tar shards, a brace pattern, or timm's "
                 "_info.json folder"),
    "parquet": (parquet, "Hugging Face parquet export (image.bytes/image.path + label)"),
    "arrow": (arrow, "datasets.save_to_disk folder (arrow files)"),
    "tar": (tar, "one .tar holding a folder layout"),
}


@dataclass
class Source:
    """What a reader found at ``root``: a tar layout (``tree``) or samples, and its files."""

    kind: str
    root: str  # how to name it again: "<kind>:<absolute path or pattern>"
    files: List[str]
    reader: str
    tree: Any = None  # kind "tar": a TarTree
    samples: List[Sample] = field(default_factory=list)
    folder: str = ""  # folder of the set's own files (classnames.txt)

    def record(self, identity: str) -> Dict[str, Any]:
        """The provenance record (``dataset.source`` of a cache)."""
        refs = list(self.tree.members.values()) if self.tree is not None else [
            s.ref for s in self.samples]
        size = uniform_size(refs)
        return {"kind": self.kind, "reader": self.reader, "root": self.root,
                "files": [{"name": f, "bytes": os.path.getsize(f)} for f in self.files],
                "identity": identity,
                "access": "row groups" if any(isinstance(r, Row) for r in refs) else "byte ranges",
                **({"uniform_size": size} if size else {})}


#: images sampled for the size check, the fewest that may support a claim, the largest side
SIZE_SAMPLE, SIZE_MIN, SMALL = 16, 8, 256


def uniform_size(refs: List[Any]) -> Optional[str]:
    """``"227x227"`` when every image of an even sample of ``refs`` has that one small size
    (a resized copy, like a pre-scaled subset: announced with the run); else None. Reads the
    image headers only; an unreadable image is left for the run to report."""
    from PIL import Image
    spread = not any(isinstance(r, Row) for r in refs[:1])  # a Row costs its row group: stay in one
    picks = refs[::max(1, len(refs) // SIZE_SAMPLE) if spread else 1][:SIZE_SAMPLE]
    sizes = set()
    for ref in picks:
        try:
            with ref.open() as f:
                sizes.add(Image.open(f).size)
        except (OSError, ValueError, SyntaxError):
            return None
    if len(picks) < SIZE_MIN or len(sizes) != 1:
        return None
    w, h = sizes.pop()
    return f"{w}x{h}" if max(w, h) <= SMALL else None


def split_prefix(root: str):
    """(forced kind or None, the path) of ``wds:/data/x`` style roots."""
    head, sep, rest = root.partition(":")
    if sep and head in KINDS:
        return head, rest
    return None, root


def detect(path: str) -> Optional[str]:
    """The kind of what is at ``path`` (None: a folder of image files); refuses FFCV files."""
    if path.endswith(".beton") or (os.path.isdir(path) and glob.glob(os.path.join(path, "*.beton"))):
        raise InputError(f"{path}: an FFCV .beton file: its images are re-encoded (and usually "
                         f"resized) copies, and accuracy measured on them is not comparable "
                         f"(FFCV's README warns it will drop). Fix: point at the original images "
                         f"(a folder, WebDataset shards, parquet or a tar)")
    if "{" in path:
        return "wds"
    if any(c in path for c in "*?["):
        return "parquet" if path.endswith(".parquet") else None
    if os.path.isfile(path):
        if path.endswith(".tar"):
            return "wds" if _has_labels(path) else "tar"
        return {"parquet": "parquet", "arrow": "arrow"}.get(path.rsplit(".", 1)[-1])
    if not os.path.isdir(path):
        return None
    names = set(os.listdir(path))
    if names & {"_info.json", "info.json"}:
        return "wds"
    if "state.json" in names or any(n.endswith(".arrow") for n in names):
        return "arrow"
    if any(n.endswith(".parquet") for n in names) or glob.glob(os.path.join(path, "data", "*.parquet")):
        return "parquet"
    tars = sorted(n for n in names if n.endswith(".tar"))
    if not tars and os.path.isdir(os.path.join(path, "test")):
        tars = sorted(os.path.join("test", n) for n in os.listdir(os.path.join(path, "test"))
                      if n.endswith(".tar"))
    if tars and not _has_images(path, names):
        if len(tars) == 1 and not _has_labels(os.path.join(path, tars[0])):
            return "tar"
        return "wds"
    return None


def _has_images(path: str, names) -> bool:
    from imagenet_bench.data.layouts import is_image_file
    return any(is_image_file(n) or os.path.isdir(os.path.join(path, n)) and n != "test"
               for n in names)


def _has_labels(tar_path: str) -> bool:
    """True when the tar's first members include a ``.cls`` label (a WebDataset shard)."""
    try:
        for i, m in enumerate(tar.iter_members(tar_path)):
            if m.name.endswith(".cls"):
                return True
            if i >= 16:
                break
    except (InputError, OSError):
        return False  # the reader names what is wrong with it
    return False


def open_source(root: str) -> Optional[Source]:
    """The source at ``root`` read by its kind's reader, or None for a folder of images."""
    kind, path = split_prefix(root)
    kind = kind or detect(path)
    if kind is None:
        return None
    mod = KINDS[kind][0]
    absolute = path if "{" in path or any(c in path for c in "*?[") else os.path.abspath(path)
    if kind == "tar":
        if not os.path.isfile(path):
            tars = glob.glob(os.path.join(path, "*.tar"))
            if len(tars) != 1:
                raise InputError(f"tar:{path}: expected one .tar file, found {len(tars)}. Fix: "
                                 f"give the path of the tar itself")
            absolute = os.path.abspath(tars[0])
        return Source(kind, f"tar:{absolute}", [absolute],
                      tar.READER, tree=mod.TarTree(absolute))
    samples, files, folder = mod.samples(path)
    if not samples:
        raise InputError(f"{root}: the {KINDS[kind][1]} holds no images. Fix: point at the test "
                         f"set's files")
    return Source(kind, f"{kind}:{absolute}", files, mod.READER, samples=samples, folder=folder)
