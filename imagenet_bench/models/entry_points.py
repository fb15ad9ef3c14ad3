"""The entry points of a group, remembered between runs while no distribution changed (stdlib only).

``importlib.metadata.entry_points`` imports ``email``, ``csv``, ``pathlib``
and ``zipfile`` and reads every installed distribution: 30-50 ms of every
command that looks a model library up (``score`` does, for the published
figures), for a few lines of text. :func:`entry_points` remembers what that
scan found, in ``$XDG_CACHE_HOME/imagenet_bench/entry-points-<hash of sys.path>.json``
(``~/.cache`` when the variable is unset), beside a *stamp*: path, size and
``mtime_ns`` of every ``entry_points.txt`` of a ``*.dist-info`` or
``*.egg-info`` folder on ``sys.path`` (the folders ``importlib.metadata``
reads them from), and of every ``sys.path`` entry that is not a folder (a zip
file, not looked into). A run that finds the same stamp (about 1 ms of
``scandir`` and ``stat``) uses the remembered entry points; a distribution
installed, removed, upgraded or edited changes the stamp, and the scan is done
again. The cache is never required: when it cannot be read or written, the
scan is all there is.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
import os
import sys
from typing import List, NamedTuple, Optional

#: bump when what the cache file holds changes
_FORMAT = 1


class Dist(NamedTuple):
    """The distribution an entry point comes from (what error messages name)."""

    name: str
    version: str


class EntryPoint(NamedTuple):
    """One entry point: ``name = value`` (``"module:attr"``), from distribution ``dist``."""

    name: str
    value: str
    dist: Optional[Dist]

    def load(self):
        """The object ``value`` names, imported now (as ``importlib.metadata.EntryPoint.load``)."""
        module, _, attrs = self.value.partition(":")
        obj = importlib.import_module(module.strip())
        return functools.reduce(getattr, filter(None, attrs.strip().split(".")), obj)


def stamp() -> List[list]:
    """``[path, size, mtime_ns]`` of every file the entry points on ``sys.path`` are read from
    (and of every non-folder ``sys.path`` entry), sorted."""
    out = []
    for entry in sys.path:
        root = os.path.abspath(entry or ".")
        try:
            children = list(os.scandir(root))
        except NotADirectoryError:
            children = None
        except OSError:  # missing: nothing is read from it
            continue
        if children is None:
            files = [root]
        else:
            files = [os.path.join(c.path, "entry_points.txt") for c in children
                     if c.name.lower().endswith((".dist-info", ".egg-info"))]
            if root.lower().endswith(".egg"):
                files.append(os.path.join(root, "EGG-INFO", "entry_points.txt"))
        for path in files:
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.append([path, st.st_size, st.st_mtime_ns])
    return sorted(out)


def cache_path() -> str:
    """The cache file of this interpreter's ``sys.path``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    key = hashlib.sha256("\n".join([sys.executable, *sys.path]).encode("utf-8", "surrogateescape"))
    return os.path.join(base, "imagenet_bench", f"entry-points-{key.hexdigest()[:16]}.json")


def _scan(group: str) -> List[EntryPoint]:
    import importlib.metadata
    out = []
    for ep in importlib.metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        out.append(EntryPoint(ep.name, ep.value, Dist(dist.name, dist.version) if dist else None))
    return out


def entry_points(group: str) -> List[EntryPoint]:
    """The entry points of ``group``, in the order ``importlib.metadata`` lists them."""
    now, path = stamp(), cache_path()
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data["format"] == _FORMAT and data["stamp"] == now and group in data["groups"]:
            return [EntryPoint(n, v, Dist(*d) if d else None) for n, v, d in data["groups"][group]]
        groups = data["groups"] if data["format"] == _FORMAT and data["stamp"] == now else {}
    except (OSError, ValueError, KeyError, TypeError):
        groups = {}
    found = _scan(group)
    groups[group] = [[ep.name, ep.value, list(ep.dist) if ep.dist else None] for ep in found]
    try:  # temp file + rename: a reader sees the old file or the new one, never half of one
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": _FORMAT, "stamp": now, "groups": groups}, f)
        os.replace(tmp, path)
    except OSError:
        pass
    return found
