"""The image-id blob of a cache: its summary, its checks, and the implicit full-val list.

A cache's ``image_ids`` member is one UTF-8 blob of newline-joined ids
(numpy and stdlib only here):

* :func:`ids_summary` -- count and sha256 of a blob, once per shared blob;
* :func:`check_ids` -- unique, valid UTF-8 ids, and labels that agree with
  the wnid at the start of each id;
* the *implicit* list: a cache over the full validation set in ImageFolder
  order stores no ids (provenance ``"image_list": FULL_VAL_LIST``). Its blob
  is rebuilt from the package data only when a command uses the ids
  (:func:`full_val_blob`); validating such a cache needs only the constants
  below and :func:`full_val_labels_agree`, which ``tests/test_cache.py``
  checks against the package data.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.data import imagenet_meta

Fail = Callable[[str, str], None]

#: provenance ``image_list`` of a cache over the full validation set in ImageFolder order,
#: whose ids are not stored but rebuilt from the package data
FULL_VAL_LIST = "imagenet2012-val-imagefolder"
#: sha256 of :func:`imagenet_meta.full_val_ids_blob` (the fingerprint of every full-val cache)
FULL_VAL_FINGERPRINT = "dc1395be7727d421ee079b005ea91fccada3ffd3409c4d8f61f043e6fb62c04f"
#: rows of the implicit list; row ``i`` is of class ``i // IMAGES_PER_CLASS``
FULL_VAL_IMAGES = imagenet_meta.NUM_VAL_IMAGES
IMAGES_PER_CLASS = imagenet_meta.IMAGES_PER_CLASS


_IDS_SUMMARY: Dict[int, Tuple[np.ndarray, int, str]] = {}


def ids_summary(blob: np.ndarray) -> Tuple[int, str]:
    """``(number of ids, sha256 hex)`` of an image-id blob.

    Memoised for read-only blobs (those ``store.load`` shares between caches of
    the same dataset, and the 2019 reader's), so 34 caches over one image
    list hash it once.
    """
    hit = _IDS_SUMMARY.get(id(blob))
    if hit is not None and hit[0] is blob:
        return hit[1], hit[2]
    count = int(np.count_nonzero(blob == 10)) + 1 if blob.size else 0
    sha = hashlib.sha256(blob.tobytes()).hexdigest()
    if not blob.flags.writeable:
        _IDS_SUMMARY[id(blob)] = (blob, count, sha)
    return count, sha


def wnids_or_none() -> Optional[List[str]]:
    """The sorted ImageNet-1k wnids for the label check, or None where the package data is absent."""
    try:
        return imagenet_meta.wnids()
    except imagenet_meta.MetadataError:
        return None


def full_val_blob() -> np.ndarray:
    """The ids of the full validation set in ImageFolder order (read-only, from package data).

    Their parse is handed to :func:`remember_ids` (the ids are valid and
    unique by construction; row ``i`` is of class ``i // 50``).
    """
    blob = imagenet_meta.full_val_ids_blob()
    remember_ids(blob, imagenet_meta.wnids(), imagenet_meta.full_val_classes())
    return blob


def is_full_val(blob: np.ndarray) -> bool:
    """True when ``blob`` holds the ids of the full validation set in ImageFolder order."""
    if blob.size != imagenet_meta.full_val_ids_blob().size:
        return False
    return blob is imagenet_meta.full_val_ids_blob() or ids_summary(blob)[1] == FULL_VAL_FINGERPRINT


def full_val_labels_agree(labels: np.ndarray) -> bool:
    """True when row ``i`` of ``labels`` is class ``i // 50`` (what :func:`check_ids` finds
    against the implicit list's wnids)."""
    per_class = np.asarray(labels).reshape(-1, IMAGES_PER_CLASS)
    return bool((per_class == np.arange(per_class.shape[0])[:, None]).all())


def id_starts(blob: np.ndarray) -> np.ndarray:
    """Byte offsets at which each newline-separated id of ``blob`` starts."""
    return np.concatenate([[0], np.flatnonzero(blob == 10) + 1]).astype(np.int64)


#: per image-id blob: (row of the first byte that is not UTF-8 or None, first duplicate or None,
#: rows with a wnid prefix, their class indices);
#: the 34 caches of one table share one blob, so it is parsed once
_ID_MEMO: Dict[Tuple[int, int], Tuple] = {}


#: id of a read-only blob (shared by the caches of one image list) -> (blob, hash of its bytes)
_BLOB_HASH: Dict[int, Tuple[np.ndarray, int]] = {}


def _blob_hash(blob: np.ndarray) -> int:
    """hash of ``blob``'s bytes, computed once per read-only (shared) blob."""
    hit = _BLOB_HASH.get(id(blob))
    if hit is not None and hit[0] is blob:
        return hit[1]
    h = hash(blob.tobytes())
    if not blob.flags.writeable:
        _BLOB_HASH[id(blob)] = (blob, h)
    return h


def _parse_ids(blob: np.ndarray, wnids: Optional[Sequence[str]]) -> Tuple:
    key = (blob.size, _blob_hash(blob), len(wnids or ()))
    hit = _ID_MEMO.get(key)  # get: the folder loader reads files in threads
    if hit is not None:
        return hit
    raw = blob.tobytes()
    try:
        raw.decode("utf-8")
        bad_utf8 = None
    except UnicodeDecodeError as e:
        bad_utf8 = raw.count(b"\n", 0, e.start)  # the row holding the first bad byte
    ids = raw.split(b"\n") if blob.size else []
    dup = None
    if len(set(ids)) != len(ids):
        seen = set()
        for r, i in enumerate(ids):
            if i in seen:
                dup = (r, i.decode("utf-8", "replace"))
                break
            seen.add(i)
    rows = cls = np.zeros(0, np.int64)
    if wnids and blob.size:
        starts = id_starts(blob)
        ok = np.flatnonzero(starts + 10 <= blob.size)
        ok = ok[blob[starts[ok] + 9] == ord("/")]
        if ok.size:
            prefix = blob[starts[ok][:, None] + np.arange(9)].view("S9").ravel()
            table = np.array([w.encode() for w in wnids], dtype="S9")
            pos = np.clip(np.searchsorted(table, prefix), 0, len(table) - 1)
            known = table[pos] == prefix
            rows, cls = ok[known], pos[known].astype(np.int64)
    if len(_ID_MEMO) > 16:
        _ID_MEMO.clear()
    _ID_MEMO[key] = found = (bad_utf8, dup, rows, cls)
    return found


def remember_ids(blob: np.ndarray, wnids: Sequence[str], classes: np.ndarray) -> None:
    """Record what :func:`check_ids` would find in ``blob``, an id list built rather than read.

    For ids made from package data (``imagenet_meta.full_val_ids_blob``): valid
    UTF-8 and unique by construction, row ``i`` of class ``classes[i]``. The
    label check then runs against them without parsing 50,000 ids again.
    """
    key = (blob.size, _blob_hash(blob), len(wnids))
    _ID_MEMO[key] = (None, None, np.arange(len(classes), dtype=np.int64),
                     np.asarray(classes, dtype=np.int64))


def check_ids(blob: np.ndarray, labels: np.ndarray, wnids: Optional[Sequence[str]], fail: Fail) -> None:
    """Refuse duplicate image ids, and labels that disagree with an id's leading wnid.

    ``wnids`` is the sorted ImageNet-1k wnid list (class index = position), or
    None to skip the label check. Ids that do not start with ``<wnid>/`` are
    not label-checked (custom datasets).
    """
    bad_utf8, dup, rows, cls = _parse_ids(blob, wnids)
    if bad_utf8 is not None:
        fail(f"image id of row {bad_utf8} is not valid UTF-8", "re-create it with `imagenet-bench predict`")
    if dup:
        fail(f"image id {dup[1]!r} appears more than once (again at row {dup[0]}); each row must "
             f"be a different image",
             "re-create it with `imagenet-bench predict` from a validation directory")
    if rows.size == 0:
        return
    wrong = np.flatnonzero(labels[rows].astype(np.int64) != cls)
    if wrong.size:
        r = int(rows[wrong[0]])
        image_id = bytes(blob[id_starts(blob)[r]:]).split(b"\n", 1)[0].decode("utf-8", "replace")
        fail(f"{wrong.size} label(s) disagree with the wnid of their image id, e.g. row {r}: "
             f"label {int(labels[r])} but {image_id} is class {int(cls[wrong[0]])} "
             f"(labels altered?)",
             "re-create it with `imagenet-bench predict`; to score other labels use "
             "`imagenet-bench score --labels FILE.npy`")
