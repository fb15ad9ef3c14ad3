"""Per-image figures derived from a cache's arrays (numpy only).

The one place where a cache's correctness is computed: ``analysis.scorer``
calls :func:`correct` and :func:`masked_correct` on loaded arrays, and the
folder index (:mod:`imagenet_bench.cache.index`) stores their results,
packed to bits, when it validates a file, so a later command reads 6 KB of
bits per 50,000 images instead of inflating ``top5_idx``.

:func:`val_restricted` (the val baseline of ImageNet-A/R, see
``analysis.robustness``) is computed here for the same reason: the index
keeps its four numbers per val cache and per masked set.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.cache.naming import top5_within


def correct(top5_idx: np.ndarray, labels: np.ndarray,
            missing: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-row top-1 and top-5 correctness (bool arrays); ``missing`` rows are never correct."""
    labels = np.asarray(labels)
    cols = np.ascontiguousarray(top5_idx.T)  # a no-op for columns() output (see there)
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
                   missing: Optional[np.ndarray] = None, k: int = 1) -> np.ndarray:
    """Per row: is the label among the top-``k`` (1 or 5) within the dataset's class subset?
    (missing rows False)"""
    hit = (subset_top5_idx[:, :k] == np.asarray(labels)[:, None]).any(axis=1)
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
