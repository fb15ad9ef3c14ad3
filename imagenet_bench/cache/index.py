"""The derived index of a cache folder: one SQLite file per folder (stdlib ``sqlite3``).

What a command would otherwise re-read and re-check in every cache file,
kept once per file identity: each cache's provenance, where its arrays lie
in the file (:class:`npz.Member`), its per-image correctness packed to bits
(top-1, top-5, missing, masked top-1 for ImageNet-A/R), its top-1 classes
(int16), the val baselines of the masked sets, and the labels and image ids
(stored once per distinct content). ``cache/folder.py`` decides what to
trust; this module only stores and returns rows.

Where: ``$XDG_CACHE_HOME/imagenet_bench/index/`` (default ``~/.cache``), file
``<sha256 of the folder's real path>.<INDEX_VERSION>-<package version>.sqlite3``
beside ``<hash>.folder`` (the folder's path, for pruning). Never inside a
caches folder: those may be read-only, shared or on NFS, where SQLite's
locking is unsafe.

Concurrency: WAL journal (readers never wait for a writer), writes in short
``BEGIN IMMEDIATE`` transactions with a busy timeout, so two commands
refreshing one folder at once serialise only their commits and never see a
half-written row. Rows are whole (one ``INSERT OR REPLACE``) and each carries
a CRC-32 of its content, checked on every read: a damaged row is re-derived
from its file, a damaged or foreign file is deleted and rebuilt. The index
is never required: any SQLite failure makes the command read the caches
themselves (as ``--no-index`` does) instead of failing.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from typing import Dict, Iterable, List, NamedTuple, Optional

from imagenet_bench import __version__

#: bump when what a row holds, or the checks behind it, change
INDEX_VERSION = 5
#: seconds a writer waits for another process's commit before giving up on that write
BUSY_TIMEOUT = 20.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS caches (
    name TEXT PRIMARY KEY,      -- file name inside the folder
    identity TEXT NOT NULL,     -- st_dev:st_ino:st_size:st_mtime_ns:st_ctime_ns
    head TEXT NOT NULL,         -- what listing needs, tab-separated (see HEAD), no JSON to parse
    info TEXT NOT NULL,         -- JSON: provenance, members, keys of labels/ids, derived figures
    crc INTEGER NOT NULL        -- CRC-32 of identity, head and info
);
CREATE TABLE IF NOT EXISTS arrays (  -- apart, so listing the caches reads no array
    name TEXT PRIMARY KEY,
    bits BLOB NOT NULL,         -- packed per-image flags (see folder.FLAGS)
    bits_crc INTEGER NOT NULL,
    top1 BLOB NOT NULL,         -- int16 top-1 class per image
    top1_crc INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL, crc INTEGER NOT NULL);
"""


#: fields of a row's ``head``
HEAD = ("model", "framework", "fingerprint", "num_images", "complete", "subset", "dataset")


class Row(NamedTuple):
    """One indexed cache file (``bits`` and ``top1`` are read separately, when needed)."""

    name: str
    identity: str
    head: str
    info: str
    bits: bytes = b""
    top1: bytes = b""


def make_head(model: str, framework: str, fingerprint: str, num_images: int, complete: bool,
              subset: bool, dataset: str) -> str:
    """The ``head`` text of a row (tabs and newlines in a model id or dataset name are
    refused upstream)."""
    return "\t".join([model, framework, fingerprint, str(num_images), str(int(complete)),
                      str(int(subset)), dataset])


def read_head(head: str) -> Dict:
    """The fields of a ``head`` text."""
    out: Dict = dict(zip(HEAD, head.split("\t")))
    out.update(num_images=int(out["num_images"]), complete=out["complete"] == "1",
               subset=out["subset"] == "1")
    return out


def meta_crc(identity: str, head: str, info: str) -> int:
    """CRC-32 of a row's identity, head and info."""
    return zlib.crc32(info.encode(), zlib.crc32(head.encode(), zlib.crc32(identity.encode())))


def identity(st: os.stat_result) -> str:
    """A file's identity: the fields git's index uses to notice a rewrite in place."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def index_root() -> str:
    """``$XDG_CACHE_HOME/imagenet_bench/index`` (``~/.cache`` when the variable is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "imagenet_bench", "index")


def folder_key(folder: str) -> str:
    """The hash of a folder's real path that names its index."""
    return hashlib.sha256(os.path.realpath(folder).encode("utf-8", "surrogateescape")).hexdigest()[:32]


def index_path(folder: str) -> str:
    """Where the index of ``folder`` lives for this version of imagenet_bench."""
    return os.path.join(index_root(), f"{folder_key(folder)}.{INDEX_VERSION}-{__version__}.sqlite3")


class Index:
    """The index of one folder. Every method may raise ``sqlite3.Error``; callers fall back."""

    def __init__(self, folder: str):
        self.folder = os.path.realpath(folder)
        self.path = index_path(folder)
        self._db: Optional[sqlite3.Connection] = None

    # -- opening -----------------------------------------------------------------------------
    def open(self) -> "Index":
        """Connect, creating the file (or re-creating a damaged one) as needed."""
        os.makedirs(index_root(), exist_ok=True)
        fresh = not os.path.exists(self.path)
        try:
            self._connect()
        except sqlite3.OperationalError:
            raise  # locked too long, read-only, disk full: not damage; the caller reads the files
        except sqlite3.DatabaseError:  # not a database, malformed: rebuilt
            self._recreate()
        if fresh:
            self._note_folder()
            prune()
        return self

    def _connect(self) -> None:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            db.execute("PRAGMA page_size=32768")  # before the first table: fewer overflow pages
            # derived data: a crash costs a rebuild, never a fsync; set before the switch to
            # WAL, which otherwise syncs a new file's journal, folder and database (4 fsyncs)
            db.execute("PRAGMA synchronous=OFF")
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('folder', ?)", (self.folder,))
            found = dict(db.execute("SELECT key, value FROM meta"))
            if found.get("folder") != self.folder:
                raise sqlite3.DatabaseError(f"index of another folder ({found.get('folder')})")
        except BaseException:
            db.close()
            raise
        self._db = db

    def _recreate(self) -> None:
        """Delete a damaged index file (and its WAL) and start an empty one."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(self.path + suffix)
            except FileNotFoundError:
                pass
        self._connect()

    def _note_folder(self) -> None:
        path = self.path.split(".", 1)[0] + ".folder"
        try:  # temp file + rename, no fsync: pruning later is a nicety, not a requirement
            with open(f"{path}.{os.getpid()}.tmp", "w", encoding="utf-8") as f:
                f.write(self.folder + "\n")
            os.replace(f"{path}.{os.getpid()}.tmp", path)
        except OSError:
            pass

    def close(self) -> None:
        """Close the connection (if open)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- reading -----------------------------------------------------------------------------
    def rows(self) -> Dict[str, Row]:
        """Every intact row by file name, without its arrays (rows failing their CRC are
        left out, to be re-derived)."""
        return {name: Row(name, ident, head, info) for name, ident, head, info, crc in
                self._db.execute("SELECT name, identity, head, info, crc FROM caches")
                if meta_crc(ident, head, info) == crc}

    def column(self, name: str, column: str) -> Optional[bytes]:
        """The ``bits`` or ``top1`` of a row, or None when absent or failing its CRC."""
        assert column in ("bits", "top1")
        hit = self._db.execute(f"SELECT {column}, {column}_crc FROM arrays WHERE name = ?",
                               (name,)).fetchone()
        if hit is None or zlib.crc32(hit[0]) != hit[1]:
            return None
        return bytes(hit[0])

    def blob(self, key: str) -> Optional[bytes]:
        """A shared blob (labels, image ids) by key, or None when absent or damaged."""
        hit = self._db.execute("SELECT data, crc FROM blobs WHERE key = ?", (key,)).fetchone()
        if hit is None or zlib.crc32(hit[0]) != hit[1]:
            return None
        return bytes(hit[0])

    # -- writing -----------------------------------------------------------------------------
    def put(self, rows: Iterable[Row], blobs: Dict[str, bytes]) -> None:
        """Store ``rows`` and the blobs they refer to, in one short transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for key, data in blobs.items():
                db.execute("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)", (key, data, zlib.crc32(data)))
            rows = list(rows)
            db.executemany("INSERT OR REPLACE INTO caches VALUES (?, ?, ?, ?, ?)",
                           [(r.name, r.identity, r.head, r.info, meta_crc(r.identity, r.head, r.info))
                            for r in rows])
            db.executemany("INSERT OR REPLACE INTO arrays VALUES (?, ?, ?, ?, ?)",
                           [(r.name, r.bits, zlib.crc32(r.bits), r.top1, zlib.crc32(r.top1))
                            for r in rows])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def forget(self, names: Iterable[str]) -> None:
        """Drop the rows of files that are no longer in the folder."""
        names = list(names)
        if names:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM caches WHERE name = ?", [(n,) for n in names])
            self._db.executemany("DELETE FROM arrays WHERE name = ?", [(n,) for n in names])
            self._db.execute("COMMIT")


def info_json(info: Dict) -> str:
    """The JSON text of a row's ``info`` (sorted keys: equal content, equal CRC)."""
    return json.dumps(info, sort_keys=True, allow_nan=True)


def prune() -> List[str]:
    """Delete the indexes of folders that no longer exist, and of other index versions.

    Returns the file names removed. Failures are ignored: pruning is housekeeping.
    """
    root = index_root()
    try:
        names = os.listdir(root)
    except OSError:
        return []
    current = f".{INDEX_VERSION}-{__version__}.sqlite3"
    doomed = set()
    for name in names:
        key = name.split(".", 1)[0]
        if name.endswith(".folder"):
            try:
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    folder = f.read().rstrip("\n")
            except OSError:
                continue
            if not os.path.isdir(folder):
                doomed.update(n for n in names if n.split(".", 1)[0] == key)
        elif ".sqlite3" in name and not name.split(".sqlite3")[0].endswith(current[:-8]):
            doomed.add(name)  # another version's index (and its -wal, -shm)
    removed = []
    for name in sorted(doomed):
        try:
            os.unlink(os.path.join(root, name))
            removed.append(name)
        except OSError:
            pass
    return removed
