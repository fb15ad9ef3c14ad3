"""A cache known from its folder index: metadata in memory, arrays read on first use (numpy).

:class:`IndexedPredictions` is what :func:`cache.folder.load_folder` returns
for a file whose row in the index (:mod:`imagenet_bench.cache.index`) is
trusted; :func:`derive` makes that row from a validated cache.
"""
from __future__ import annotations

import json
import os
import sqlite3
import zipfile
import zlib
from typing import Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.cache import derived, npz, per_image
from imagenet_bench.cache import index as folder_index
from imagenet_bench.cache import store
from imagenet_bench.cache.interface import Cache
from imagenet_bench.data import datasets

#: packed per-image flags of a row, in order
FLAGS = ("top1", "top5", "missing", "masked1", "masked5")

class Source:
    """What the indexed caches of one folder read lazily: the index, shared blobs."""

    def __init__(self, idx: folder_index.Index):
        self.idx = idx
        self.blobs: Dict[str, np.ndarray] = {}

    def blob(self, key: str, dtype) -> Optional[np.ndarray]:
        if key not in self.blobs:
            data = self.idx.blob(key)
            if data is None:
                return None
            arr = np.frombuffer(data, dtype=dtype)
            self.blobs[key] = npz.shared(arr) if dtype == np.uint8 else arr
        return self.blobs[key]

    def column(self, name: str, column: str) -> Optional[bytes]:
        try:
            return self.idx.column(name, column)
        except sqlite3.Error:
            return None  # the caller re-derives it from the file


def _lazy(member: str):
    def get(self):
        if member not in self._arrays:
            self._arrays[member] = self._read(member)
        return self._arrays[member]

    def put(self, value):
        self._arrays[member] = value
    return property(get, put, doc=f"``{member}``, read from the cache file when first used")


class IndexedPredictions(Cache):
    """A cache validated earlier (its row in the folder index): arrays read on first use.

    Implements the :class:`~imagenet_bench.cache.interface.Cache` interface as
    :class:`store.Predictions` does; ``correct_flags``, ``masked_flags``,
    ``top1_pred`` and ``val_restricted`` answer from the index without reading
    the file; :meth:`release` drops the arrays read so far.
    """

    top5_idx = _lazy("top5_idx")
    top5_prob = _lazy("top5_prob")
    subset_top5_idx = _lazy("subset_top5_idx")
    subset_top5_prob = _lazy("subset_top5_prob")
    all_probs = _lazy("all_probs")
    logits = _lazy("logits")

    @property
    def per_image(self) -> Optional[Dict[str, np.ndarray]]:
        """The per-image calibration members the file holds, read when first used."""
        if "per_image" not in self._arrays:
            names = [k for k in per_image.names(subset=True) if k in self._info["members"]]
            self._arrays["per_image"] = {k: self._read(k) for k in names} or None
        return self._arrays["per_image"]

    @per_image.setter
    def per_image(self, value):
        self._arrays["per_image"] = value

    def __init__(self, path: str, row: folder_index.Row, source: Source,  # noqa: D107
                 info: Optional[Dict] = None):
        self.path, self._name, self._bits, self._source = path, row.name, row.bits, source
        self._head = folder_index.read_head(row.head)
        self._info_text, self._info_dict = row.info, info
        self._prov: Optional[Dict] = None if info is None else info["provenance"]
        self._arrays: Dict[str, Optional[np.ndarray]] = {}

    @property
    def _info(self) -> Dict:
        """The row's info, parsed when first needed (listing a folder needs only its head)."""
        if self._info_dict is None:
            self._info_dict = json.loads(self._info_text)
        return self._info_dict

    @property
    def provenance(self) -> Dict:
        if self._prov is None:
            self._prov = self._info["provenance"]
        return self._prov

    @provenance.setter
    def provenance(self, value: Dict):
        self._prov = value

    @property
    def model(self) -> str:
        return self._head["model"] if self._prov is None else self._prov["model"]

    @property
    def framework(self) -> str:
        return self._head["framework"] if self._prov is None else self._prov["framework"]

    @property
    def fingerprint(self) -> str:
        return self._head["fingerprint"] if self._prov is None else self._prov["fingerprint"]

    @property
    def dataset_name(self) -> str:
        """The test set it was predicted on, from the row's head while its provenance is not
        parsed."""
        return self._head["dataset"] if self._prov is None else super().dataset_name

    def _flag_bits(self) -> bytes:
        """The row's packed flags: from the index, or re-derived from the file when damaged."""
        if not self._bits:
            self._bits = self._source.column(self._name, "bits") or b""
        if not self._bits:
            members: Dict[str, npz.Member] = {}
            preds = store.load(self.path, allow_incomplete=True, members=members)
            derived_row = derive(preds, members, os.stat(self.path), False)
            row = derived_row[0] if derived_row else _flags_only(preds)
            try:
                if derived_row:
                    self._source.idx.put([row], derived_row[1])
            except sqlite3.Error:
                pass
            self._bits = row.bits
        return self._bits

    def _read(self, member: str) -> Optional[np.ndarray]:
        m = self._info["members"].get(member)
        if m is None:
            return None
        try:
            with open(self.path, "rb") as fp:
                return npz.read_member(fp, member, npz.Member.from_list(m))
        except (OSError, ValueError, zipfile.BadZipFile, zlib.error) as e:
            raise store.CacheError(f"{self.path}: changed or damaged since it was indexed ({e}). "
                                   f"Fix: run the command again (it re-validates changed files), "
                                   f"or `imagenet-bench score --verify`") from None

    @property
    def labels(self) -> np.ndarray:
        return self._shared("labels", np.int16)

    @labels.setter
    def labels(self, value):
        self._arrays["labels"] = value

    @property
    def image_ids_blob(self) -> np.ndarray:
        if self._info.get("ids") is None:
            return store.stored_ids(self.provenance, self.path)
        return self._shared("ids", np.uint8)

    @image_ids_blob.setter
    def image_ids_blob(self, value):
        self._arrays["ids"] = value

    def _shared(self, what: str, dtype) -> np.ndarray:
        if what not in self._arrays:
            arr = self._source.blob(self._info[what], dtype)
            if arr is None:
                raise store.CacheError(f"{self.path}: its {what} are missing from the folder index "
                                       f"({self._source.idx.path}). Fix: run the command again, "
                                       f"or with --no-index")
            self._arrays[what] = arr
        return self._arrays[what]

    @property
    def missing(self) -> np.ndarray:
        return self._flag("missing")

    @missing.setter
    def missing(self, value):
        self._arrays["missing"] = value

    @property
    def num_images(self) -> int:
        return self._head["num_images"]

    def _flag(self, name: str) -> np.ndarray:
        if name in self._arrays:
            return self._arrays[name]
        n, i = self.num_images, FLAGS.index(name)
        size = (n + 7) // 8
        return derived.unpack(self._flag_bits()[i * size:(i + 1) * size], n)

    def correct_flags(self) -> Tuple[np.ndarray, np.ndarray]:
        """Per-image top-1 and top-5 correctness against the cache's own labels."""
        return self._flag("top1"), self._flag("top5")

    @property
    def has_subset(self) -> bool:
        """True when the file holds ``subset_top5_idx`` (ImageNet-A/R)."""
        return self._head["subset"]

    def masked_flags(self, k: int = 1) -> Optional[np.ndarray]:
        """Per-image masked top-``k`` correctness (ImageNet-A/R), or None without subset_top5_idx."""
        return self._flag(f"masked{k}") if self._head["subset"] else None

    def top1_pred(self) -> np.ndarray:
        """The top-1 class of every row (int16; -1 on missing rows)."""
        data = self._source.column(self._name, "top1")
        return self.top5_idx[:, 0] if data is None else np.frombuffer(data, dtype=np.int16)

    def val_restricted(self, dataset: str) -> Optional[List]:
        """``derived.val_restricted`` of this val cache for ``dataset``'s classes, if indexed."""
        return self._info.get("val200", {}).get(dataset)

    def with_all_probs(self) -> "IndexedPredictions":
        """Itself: ``all_probs`` is read from the file when first used."""
        return self

    def release(self) -> None:
        """Forget the arrays read so far (they are read again when next used)."""
        self._arrays.clear()
        self._bits = b""


def derive(preds: store.Predictions, members: Dict[str, npz.Member], st: os.stat_result,
            val_baselines: bool) -> Optional[Tuple[folder_index.Row, Dict[str, bytes], Dict]]:
    """The index row of a validated cache, the shared blobs it refers to and its info
    (None for a cache the index cannot hold: a tab or newline in its model id).

    ``val_baselines``: also keep, for a val cache, its top-1 on the classes of each
    masked set (done only when the folder holds caches of such a set)."""
    has_subset = preds.subset_top5_idx is not None
    labels = np.ascontiguousarray(preds.labels, dtype=np.int16).tobytes()
    blobs = {f"labels:{zlib.crc32(labels):08x}:{len(labels)}": labels}
    ids_key = None
    if "image_ids" in members:
        ids_key = f"ids:{preds.fingerprint}"
        blobs[ids_key] = preds.image_ids_blob.tobytes()
    info = {"provenance": preds.provenance, "num_images": preds.num_images,
            "members": {k: m.as_list() for k, m in members.items()},
            "labels": next(iter(blobs)), "ids": ids_key, "has_subset": has_subset}
    if val_baselines and datasets.name_of(preds) == datasets.DEFAULT and preds.num_images:
        info["val200"] = _val_baselines(preds, members)
    prov = preds.provenance
    dataset = datasets.name_of(preds)
    if any(c in str(v) for v in (prov["model"], prov["framework"], dataset) for c in "\t\n"):
        return None
    head = folder_index.make_head(prov["model"], prov["framework"], prov["fingerprint"],
                                  preds.num_images, prov["complete"], has_subset, dataset)
    cols = derived.columns(preds.top5_idx)
    row = folder_index.Row(os.path.basename(preds.path), folder_index.identity(st), head,
                           folder_index.info_json(info), _pack_flags(preds, cols.T),
                           cols[0].astype(np.int16, copy=False).tobytes())
    return row, blobs, info


def _pack_flags(preds: store.Predictions, top5_idx: Optional[np.ndarray] = None) -> bytes:
    """The packed per-image flags of :data:`FLAGS`, each ``ceil(N / 8)`` bytes (``top5_idx``:
    the cache's, as ``derived.columns(...).T``)."""
    same = preds.same_class
    top1, top5 = derived.correct(preds.top5_idx if top5_idx is None else top5_idx, preds.labels,
                                 preds.missing, same)
    missing = preds.missing if preds.missing is not None else np.zeros(preds.num_images, bool)
    flags = [top1, top5, missing]
    for k in (1, 5):
        flags.append(derived.masked_correct(preds.subset_top5_idx, preds.labels, missing, k, same)
                     if preds.subset_top5_idx is not None else np.zeros(preds.num_images, bool))
    return b"".join(derived.pack(f) for f in flags)


def _val_baselines(preds: store.Predictions, members: Dict[str, npz.Member]) -> Dict[str, List]:
    """For each set with a class subset: val top-1 on its classes (``derived.val_restricted``)."""
    probs = None
    if "all_probs" in members:
        with open(preds.path, "rb") as fp:
            probs = npz.read_member(fp, "all_probs", members["all_probs"])
    out = {}
    for name in datasets.names():
        classes = datasets.get(name).classes
        if classes:
            out[name] = list(derived.val_restricted(preds.top5_idx, preds.labels, preds.missing,
                                                    classes, probs))
    return out


def _flags_only(preds: store.Predictions) -> folder_index.Row:
    """A row holding only the packed flags of ``preds`` (for a cache the index cannot hold)."""
    return folder_index.Row("", "", "", "", _pack_flags(preds))


