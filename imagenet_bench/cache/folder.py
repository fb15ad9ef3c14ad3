"""Every cache of a folder, through its index: the one loading function of the scoring path.

:func:`load_folder` is what ``score``, ``compare``, ``per-class``, ``errors``
and ``robustness`` (through ``analysis.scorer.load_predictions``), the HTML
report and the sweep's ``collect`` read caches with:

1. list the folder's ``*.npz`` caches and ``stat`` each one;
2. a file whose identity (device, inode, size, ``mtime_ns``, ``ctime_ns``)
   matches its row in the folder index (:mod:`imagenet_bench.cache.index`) is
   trusted as validated: it becomes an :class:`IndexedPredictions`, whose
   metadata is in memory and whose arrays are read only when a command uses
   them (correctness from the index's bits, ``top5_idx`` straight from the
   file, never ``top5_prob`` unless asked for);
3. every other file goes through the cheap pass first (``checks.inspect_npz``:
   size, zip directory, every npy header), all of them before any full read,
   then the full validation of today (``store.load``), and its row is written;
4. every bad file is listed in one error (name, what is wrong, the fix); with
   ``skip_bad`` the others are returned and the bad ones are in
   :attr:`Folder.skipped` for the command to list at the end.

``use_index=False`` (``--no-index``) reads every file as step 3 does, with
no index at all; ``verify=True`` (``score --verify``) re-validates every file
and rewrites its row. Any failure of the index itself (a damaged file, a
read-only cache directory, a lock held too long) falls back to reading the
files: the index is never required.
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple


from imagenet_bench.cache import checks, npz
from imagenet_bench.cache import index as folder_index
from imagenet_bench.cache import store
from imagenet_bench.cache.indexed import IndexedPredictions, Source, derive
from imagenet_bench.errors import count, debugging

#: files read (in threads) and rows written per index transaction
BATCH = 32
#: threads reading files in full (zlib and numpy release the GIL)
THREADS = min(4, os.cpu_count() or 1)
#: fewer files than this are read in the calling thread (no pool, no concurrent.futures
#: import); from 34 files on, 2 threads cut a cold `score`'s wall time by a fifth at the
#: same CPU time (benchmarks/scale_bench.py -n 34, when a core is free)
THREADED_FROM = 8


@dataclass
class Folder:
    """The caches of one folder: ``preds`` (usable), ``skipped`` (bad, with ``skip_bad``)."""

    directory: str
    preds: List[store.Predictions]
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (path, message)
    indexed: int = 0  # files whose row was trusted
    validated: int = 0  # files read and validated in full


def _has_subset(prov) -> bool:
    ds = prov.get("dataset") if isinstance(prov, dict) else None
    return isinstance(ds, dict) and bool(ds.get("class_subset"))


def _provenance(path: str, members: Dict[str, npz.Member]):
    """The provenance of a file that passed the cheap pass (None if unreadable: the full
    read reports that)."""
    try:
        with open(path, "rb") as fp:
            return json.loads(npz.read_member(fp, "provenance", members["provenance"]).tobytes())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, zlib.error):
        return None


def _bad_files_error(directory: str, bad: List[Tuple[str, str]], good: int) -> store.CacheError:
    if len(bad) == 1:
        tail = (f" (or pass --skip-bad to use the other {good} and list this one at the end)"
                if good else "")
        return store.CacheError(bad[0][1] + tail)
    lines = "\n".join(f"  {os.path.basename(p)}: {m.split(': ', 1)[-1] if m.startswith(p) else m}"
                      for p, m in bad)
    return store.CacheError(
        f"{len(bad)} of the {len(bad) + good} cache files in {directory} cannot be used:\n{lines}\n"
        f"Fix: repair or remove each (its line says how), or pass --skip-bad to use the other "
        f"{good} and list these at the end")


def _open_index(directory: str) -> Optional[folder_index.Index]:
    try:
        return folder_index.Index(directory).open()
    except (sqlite3.Error, OSError):
        return None


def _index_rows(directory: str, paths: List[str], use_index: bool):
    """The folder index (None when off, absent or failing) and its rows by file name."""
    idx = _open_index(directory) if use_index and paths else None
    rows: Dict[str, folder_index.Row] = {}
    if idx is not None:
        try:
            rows = idx.rows()
        except sqlite3.OperationalError:
            idx = None  # e.g. locked too long: read the files, leave the index alone
        except sqlite3.DatabaseError:  # damaged: rebuilt
            try:
                idx._recreate()
            except (sqlite3.Error, OSError):
                idx = None
    return idx, rows


def _trust_indexed(paths: List[str], rows: Dict[str, folder_index.Row], source: Optional[Source],
                   verify: bool, allow_incomplete: bool, found: Dict[str, store.Predictions]):
    """Put in ``found`` every file whose identity matches its row; the others to read (with
    their ``stat``), and whether a trusted row is of a class subset (ImageNet-A/R)."""
    todo: List[Tuple[str, Optional[os.stat_result]]] = []
    masked_sets = False
    for path in paths:
        name = os.path.basename(path)
        try:
            st = os.stat(path)
        except OSError:
            st = None  # the cheap pass names the problem
        row = rows.get(name)
        if (not verify and st is not None and row is not None and source is not None
                and row.identity == folder_index.identity(st)):
            head = folder_index.read_head(row.head)
            masked_sets = masked_sets or head["subset"]
            if head["complete"] or allow_incomplete:
                found[path] = IndexedPredictions(path, row, source)
                continue
        todo.append((path, st))
    return todo, masked_sets


def _cheap_pass(todo, bad: List[Tuple[str, str]], masked_sets: bool):
    """Every file's zip directory and npy headers, before any full read: the files that pass
    (with their members), and ``masked_sets`` or whether one of them is of a class subset
    (its provenance is read only while none is known yet); the others go to ``bad``."""
    checked = []
    for path, st in todo:
        members: Dict[str, npz.Member] = {}
        try:
            checks.inspect_npz(path, store.CacheError, "top5_idx", store.MEMBER_SHAPES,
                               blobs=("image_ids", "provenance"), members=members)
            checked.append((path, st, members))
        except store.CacheError as e:
            bad.append((path, str(e)))
            continue
        masked_sets = masked_sets or _has_subset(_provenance(path, members))
    return checked, masked_sets


def _full_reads(checked, found: Dict[str, store.Predictions], bad: List[Tuple[str, str]],
                source: Optional[Source], masked_sets: bool,
                allow_incomplete: bool) -> Optional[Source]:
    """Read and validate the ``checked`` files in full (in threads from
    :data:`THREADED_FROM` files), a batch at a time, writing each batch's rows to the index;
    the usable ones go to ``found``, the others to ``bad``. Returns the index source (None
    once writing to it failed)."""
    pending: List[Tuple[folder_index.Row, Dict[str, bytes], store.Predictions]] = []
    def full_read(job):  # in a thread: inflating, CRCs and numpy checks release the GIL
        path, st, members = job
        try:
            preds = store.load(path, allow_incomplete=True, members=members)
        except store.CacheError as e:
            return path, None, str(e), None
        row = derive(preds, members, st, masked_sets) if index_on and st is not None else None
        return path, preds, None, row

    index_on = source is not None
    pool = None
    if THREADS > 1 and len(checked) >= THREADED_FROM:
        from concurrent.futures import ThreadPoolExecutor  # (and logging): only when used
        pool = ThreadPoolExecutor(THREADS)
    try:
        for start in range(0, len(checked), BATCH):  # a batch at a time: bounded memory
            batch = checked[start:start + BATCH]
            for path, preds, error, row in (pool.map if pool else map)(full_read, batch):
                if error is not None:
                    bad.append((path, error))
                    continue
                if row is not None and source is not None:
                    pending.append((*row, preds))
                if preds.provenance["complete"] or allow_incomplete:
                    found[path] = preds
                else:
                    try:
                        preds.validate()  # raises today's message: resume the run
                    except store.CacheError as e:
                        bad.append((path, str(e)))
            if source is not None:
                source = _flush(pending, found, source)
            pending.clear()
    finally:
        if pool is not None:
            pool.shutdown()
    return _flush(pending, found, source) if source is not None else None


def load_folder(directory: str, use_index: bool = True, verify: bool = False,
                skip_bad: bool = False, allow_incomplete: bool = False) -> Folder:
    """The caches of ``directory`` (see the module docstring), sorted by file name.

    Raises :class:`store.CacheError` listing every bad file unless ``skip_bad``.
    """
    paths = store.find_caches(directory)
    idx, rows = _index_rows(directory, paths, use_index)
    source = Source(idx) if idx is not None else None
    found: Dict[str, store.Predictions] = {}
    # masked_sets: does the folder hold caches of ImageNet-A/R (a class subset)?
    todo, masked_sets = _trust_indexed(paths, rows, source, verify, allow_incomplete, found)
    bad: List[Tuple[str, str]] = []
    checked, masked_sets = _cheap_pass(todo, bad, masked_sets)
    source = _full_reads(checked, found, bad, source, masked_sets, allow_incomplete)
    if source is not None:
        try:
            source.idx.forget(set(rows) - {os.path.basename(p) for p in paths})
        except sqlite3.Error:
            pass
    if bad and not skip_bad:
        raise _bad_files_error(directory, sorted(bad), len(found))
    preds_list = [found[p] for p in paths if p in found]
    loaded = Folder(directory, preds_list, sorted(bad), indexed=len(paths) - len(todo),
                    validated=len(checked))
    if debugging():
        print(f"debug: {directory}: {count(len(paths), 'cache file')}: {loaded.indexed:,} trusted from "
              f"the folder index, {loaded.validated:,} validated in full", file=sys.stderr)
    return loaded


def _flush(pending, found: Dict[str, store.Predictions], source: Optional[Source]) -> Optional[Source]:
    """Write the pending rows; their caches become indexed (arrays freed). None: index failed."""
    if not pending:
        return source
    rows = [r for r, _, _, _ in pending]
    blobs: Dict[str, bytes] = {}
    for _, b, _, _ in pending:
        blobs.update(b)
    try:
        source.idx.put(rows, blobs)
    except sqlite3.Error:
        pending.clear()
        return None  # keep the loaded caches as they are; write no more rows
    for row, _, info, preds in pending:
        if preds.path in found:
            found[preds.path] = IndexedPredictions(preds.path, row._replace(top1=b""), source, info)
    pending.clear()
    return source
