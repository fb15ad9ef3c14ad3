"""ReaL labels: re-assessed ImageNet validation labels (numpy and stdlib only).

Method: L. Beyer, O. J. Hénaff, A. Kolesnikov, X. Zhai, A. van den Oord,
"Are we done with ImageNet?", arXiv:2006.07159 (2020). Human raters gave
each validation image a *set* of plausible classes; a prediction is ReaL-
correct when it lies in that set. The 3,163 images whose set is empty (no
class applies, or the raters could not agree) are left out, so ReaL accuracy
on the full set is over 46,837 images.

The 50,000 label sets ship in the ``timm`` wheel as package data
(``timm/data/_info/imagenet_real_labels.json``), one list per validation
file in file-number order: entry ``k`` belongs to
``ILSVRC2012_val_{k+1:08d}.JPEG``. They are read without importing timm (or
torch), and mapped to a cache's rows through the row's image identity, so the
row order (ImageFolder order, a subset, the 2019 layout) does not matter.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Dict, Sequence, Tuple

import numpy as np

from imagenet_bench.data import imagenet_meta
from imagenet_bench.errors import BenchError



@dataclass(frozen=True)
class PackageData:
    """A data file shipped inside an installed distribution, located without importing it."""

    package: str  # the importable package that holds the file
    path: str  # the file, relative to the package's folder
    install: str  # how to get it: the text of the fix when it is missing

    def locate(self) -> str:
        """The file's path; a :class:`BenchError` naming the package and the fix otherwise."""
        return imagenet_meta.package_file(self.package, self.path, self.install)


REAL_JSON = "data/_info/imagenet_real_labels.json"
#: where the ReaL label sets come from: the data source, declared once (nothing else here
#: knows which distribution ships them, and no code of that library is imported)
SOURCE = PackageData("timm", REAL_JSON, "pip install 'imagenet_bench[analysis]' (or pip install timm)")
REFERENCE = ('Beyer et al., "Are we done with ImageNet?", arXiv:2006.07159 (2020); '
             f"labels from {SOURCE.package}'s package data")
_PAD = -2  # never a class index and never the -1 of a missing row

_ROWS_CACHE: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}


class RealLabelsError(BenchError, ValueError):
    """ReaL labels cannot be applied to these images; the message says why and what to do."""


@functools.lru_cache(maxsize=None)
def real_label_table() -> np.ndarray:
    """The ReaL sets as an int16 array (50000, W), padded with -2; row k is file k+1."""
    path = SOURCE.locate()
    try:
        with open(path, encoding="utf-8") as f:
            sets = json.load(f)
    except (OSError, ValueError) as e:
        raise RealLabelsError(f"{path}: cannot be read ({e}). Fix: reinstall {SOURCE.package}") from None
    if not isinstance(sets, list) or len(sets) != imagenet_meta.NUM_VAL_IMAGES:
        raise RealLabelsError(f"{path}: expected a list of {imagenet_meta.NUM_VAL_IMAGES} label "
                              f"lists, got {type(sets).__name__} of length {len(sets)}. "
                              f"Fix: reinstall {SOURCE.package}")
    width = max(len(s) for s in sets)
    table = np.full((len(sets), width), _PAD, dtype=np.int16)
    for k, labels in enumerate(sets):
        table[k, :len(labels)] = labels
    return table


def rows_for(image_ids: Sequence[str], fingerprint: str = "") -> Tuple[np.ndarray, np.ndarray]:
    """ReaL sets for a cache's rows: ``(sets (N, W) int16 padded with -2, has_label bool (N,))``.

    Each image id is mapped through its official file number
    (``imagenet_meta.val_number``). An id that is not an official validation
    file name raises :class:`RealLabelsError` naming it. Results are memoised
    by ``fingerprint`` when one is given.
    """
    if fingerprint and fingerprint in _ROWS_CACHE:
        return _ROWS_CACHE[fingerprint]
    table = real_label_table()
    numbers = np.fromiter((imagenet_meta.val_number(i) for i in image_ids), dtype=np.int64,
                          count=len(image_ids))
    bad = np.flatnonzero((numbers < 1) | (numbers > table.shape[0]))
    if bad.size:
        raise RealLabelsError(
            f"image {image_ids[int(bad[0])]!r} (row {int(bad[0])}) is not an official ImageNet "
            f"2012 validation file (ILSVRC2012_val_XXXXXXXX.JPEG, 1-50000), so it has no ReaL "
            f"label. Fix: leave out --labels real to score against the cache's own labels, or "
            f"run on images that keep their official file names")
    sets = table[numbers - 1]
    has = (sets != _PAD).any(axis=1)
    if fingerprint:
        _ROWS_CACHE[fingerprint] = (sets, has)
    return sets, has


#: id of a memoised ``sets`` array -> (that array, its columns as contiguous rows)
_COLUMNS: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}


def _columns(sets: np.ndarray) -> np.ndarray:
    """``sets`` transposed to contiguous rows (one per set position), once per memoised array."""
    hit = _COLUMNS.get(id(sets))
    if hit is not None and hit[0] is sets:
        return hit[1]
    cols = np.ascontiguousarray(sets.T)
    if any(sets is v[0] for v in _ROWS_CACHE.values()):
        _COLUMNS[id(sets)] = (sets, cols)
    return cols


def real_correct(preds, k: int = 1) -> Tuple[np.ndarray, np.ndarray]:
    """Per-row ReaL correctness of ``preds`` (a :class:`cache.Predictions`).

    Returns ``(correct, valid)``: ``correct[i]`` is True when one of the top
    ``k`` predictions of row ``i`` lies in its ReaL set; ``valid[i]`` is False
    for images with an empty set (they are left out of ReaL accuracy).
    Unreadable (missing) rows count as wrong.
    """
    cached = _ROWS_CACHE.get(preds.fingerprint)  # skips decoding the ids again
    sets, valid = cached if cached else rows_for(preds.image_ids, preds.fingerprint)
    if k == 1:  # an indexed cache answers from its index, not the file
        top = preds.top1_pred()[:, None]
    else:
        top = preds.top5_idx[:, :k].astype(np.int16)
    hit = np.zeros(len(sets), dtype=bool)
    columns = _columns(sets)
    for c in range(top.shape[1]):  # a set member at a time: 10x faster than one 3-D any()
        pred = np.ascontiguousarray(top[:, c])
        for members in columns:  # the padding (-2) is never a prediction (-1 on missing rows)
            hit |= members == pred
    if preds.missing is not None:
        hit &= ~preds.missing
    return hit & valid, valid
