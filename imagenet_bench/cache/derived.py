"""Per-image figures derived from a cache's arrays (numpy only).

The one place where a cache's correctness is computed: ``analysis.scorer``
calls :func:`correct` and :func:`masked_correct` on loaded arrays, and the
folder index (:mod:`imagenet_bench.cache.index`) stores their results,
packed to bits, when it validates a file, so a later command reads 6 KB of
bits per 50,000 images instead of inflating ``top5_idx``.

:func:`val_restricted` (the val baseline of ImageNet-A/R, see
``analysis.robustness``) is computed here for the same reason: the index
keeps its four numbers per val cache and per masked set.

Many-to-one labels (ObjectNet: several ImageNet classes map to one ObjectNet
class): the cache's provenance ``dataset.same_class`` lists the groups, and
:func:`same_class_table` turns them into a table sending every index of a group
to the group's smallest index (every other index to itself); correctness then
compares ``table[prediction]`` with ``table[label]``, so a prediction of any
class of the label's group is right. :func:`correct` and :func:`masked_correct`
take that table, so every figure computed from them (score, robustness,
calibration, the folder index's flags) agrees.
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.cache.naming import NUM_CLASSES, top5_within


def same_class_table(provenance: Optional[Dict]) -> Optional[np.ndarray]:
    """The many-to-one table of a cache's provenance (``dataset.same_class``: name -> ImageNet
    indices), int16 of 1001 entries (the last, index -1 of a missing row, stays -1); None when
    the cache has no such groups (every class is its own)."""
    ds = (provenance or {}).get("dataset") if isinstance(provenance, dict) else None
    groups = ds.get("same_class") if isinstance(ds, dict) else None
    if not groups:
        return None
    table = np.arange(NUM_CLASSES + 1, dtype=np.int16)
    table[NUM_CLASSES] = -1
    for indices in groups.values():
        idx = np.asarray(sorted(int(i) for i in indices), dtype=np.int64)
        table[idx] = idx[0]
    return table


def correct(top5_idx: np.ndarray, labels: np.ndarray,
            missing: Optional[np.ndarray] = None,
            same: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-row top-1 and top-5 correctness (bool arrays); ``missing`` rows are never correct.
    ``same``: a :func:`same_class_table` (a prediction of any class of the label's group is
    right)."""
    labels = np.asarray(labels)
    cols = np.ascontiguousarray(top5_idx.T)  # a no-op for columns() output (see there)
    if same is not None:
        cols, labels = same[cols], same[labels]
    top1 = cols[0] == labels
    top5 = top1.copy()
    for j in range(1, cols.shape[0]):  # column by column: several times faster than .any(axis=1)
        top5 |= cols[j] == labels
    if missing is not None and missing.any():
        top1 &= ~missing
        top5 &= ~missing
    return top1, top5


def columns(top5_idx: np.ndarray) -> np.ndarray:
    """``top5_idx`` as (k, N) contiguous columns: comparing a contiguous column is twice as
    fast as a strided one, so the copy pays for itself. ``columns(a).T`` is ``a``'s values,
    and :func:`correct` uses it without copying again."""
    return np.ascontiguousarray(top5_idx.T)


def masked_correct(subset_top5_idx: np.ndarray, labels: np.ndarray,
                   missing: Optional[np.ndarray] = None, k: int = 1,
                   same: Optional[np.ndarray] = None) -> np.ndarray:
    """Per row: is the label among the top-``k`` (1 or 5) within the dataset's class subset?
    (missing rows False; ``same``: a :func:`same_class_table`, as in :func:`correct`)"""
    top, labels = subset_top5_idx[:, :k], np.asarray(labels)
    if same is not None:
        top, labels = same[top], same[labels]
    hit = (top == labels[:, None]).any(axis=1)
    return hit if missing is None else hit & ~missing


def val_restricted(top5_idx: np.ndarray, labels: np.ndarray, missing: np.ndarray,
                   classes: Sequence[int], all_probs: Optional[np.ndarray] = None
                   ) -> Tuple[float, Optional[float], int, int]:
    """Val top-1 on the images of ``classes`` only: ``(unmasked %, masked % or None, images,
    undetermined)``.

    The masked prediction (top-1 among ``classes``) is the first of the cached
    top-5 that lies in ``classes``; a row whose top-5 holds none of them is
    *undetermined* unless ``all_probs`` (``--save-all-probs``) is given. The
    masked accuracy is returned only when every row is determined.
    """
    table = np.zeros(1001, dtype=bool)  # class -> in ``classes``; index -1 (a missing row) -> False
    table[np.asarray(classes, dtype=np.int64)] = True
    rows = np.flatnonzero(table[labels])
    if rows.size == 0:
        return float("nan"), None, 0, 0
    lab = labels[rows]
    ok = ~missing[rows]
    unmasked = 100.0 * float(((top5_idx[rows, 0] == lab) & ok).mean())
    if all_probs is not None:
        pred = top5_within(all_probs[rows].astype(np.float32), classes)[0][:, 0]
        return unmasked, 100.0 * float(((pred == lab) & ok).mean()), int(rows.size), 0
    inside = table[top5_idx[rows]]
    first = np.argmax(inside, axis=1)
    determined = inside.any(axis=1) | ~ok
    pred = top5_idx[rows, first]
    undetermined = int((~determined).sum())
    if undetermined:
        return unmasked, None, int(rows.size), undetermined
    return unmasked, 100.0 * float(((pred == lab) & ok).mean()), int(rows.size), 0


def pack(flags: np.ndarray) -> bytes:
    """A bool array as bits (``np.packbits``)."""
    return np.packbits(np.asarray(flags, dtype=bool)).tobytes()


def unpack(data: bytes, n: int) -> np.ndarray:
    """The ``n`` bools :func:`pack` made ``data`` from."""
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=n).view(bool)
