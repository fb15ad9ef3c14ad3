"""Framework-free scoring of cached predictions (numpy only).

``load_predictions`` reads a directory of caches (or of the 2019 layout); the
per-image correctness (plain, under the A/R protocol, against custom labels),
image subsets (``keep``/``omit``) and ranks that the metrics of
:mod:`imagenet_bench.analysis.metrics` compute result rows from, with errors
that name the file and both lengths when something does not fit.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.cache import checks, derived, folder, locations
from imagenet_bench.cache import store as cache
from imagenet_bench.cache import northcutt2019
from imagenet_bench.data import datasets
from imagenet_bench.models import registry
from imagenet_bench.errors import InputError


class Loaded(list):
    """The predictions of a folder (a list), with the bad files left out by ``skip_bad``
    (``skipped``: (path, message) pairs) and the folders they came from (``where``)."""

    def __init__(self, preds=(), where: str = ""):
        super().__init__(preds)
        self.skipped: List[Tuple[str, str]] = []
        self.where = where


def load_predictions(directory: str, allow_mixed: bool = False,
                     val_dir: Optional[str] = None,
                     mixed_hint: Optional[str] = "--allow-mixed-datasets",
                     use_index: bool = True, verify: bool = False,
                     skip_bad: bool = False) -> Loaded:
    """Every complete cache in ``directory`` (project caches and/or the 2019 layout).

    Project caches are read through the folder index (:func:`cache.folder.load_folder`:
    ``use_index=False`` reads every file, ``verify`` re-validates every file,
    ``skip_bad`` leaves bad files out, listed in the result's ``skipped``,
    instead of refusing them all in one error).

    2019-layout rows are the full validation set in ImageFolder order (label
    ``i // 50``) unless ``val_dir`` is given: then the image ids and labels of
    that validation directory (:func:`datasets.discover`) are used.

    Raises :class:`InputError` when the directory is missing or holds no
    predictions, and when the caches cover different image lists (different
    fingerprints) unless ``allow_mixed``; ``mixed_hint`` is the calling
    command's option that allows it (None: it has none).
    """
    if os.path.isfile(directory):
        raise InputError(f"{directory} is a file, not a directory. Fix: pass the folder that "
                         f"holds the .npz caches")
    if not os.path.isdir(directory):
        if os.path.abspath(directory) == locations.shipped_dir():
            raise InputError(f"{directory}: the shipped 2019 outputs are not here (this "
                             f"imagenet_bench is not installed from a checkout of the repository). "
                             f"Fix: pip install -e . in a clone, or pass --precomputed DIR")
        raise InputError(f"{directory}: no such directory. Fix: pass the folder holding the "
                         f".npz caches (--precomputed DIR; in Python, the folder itself) (`imagenet-bench predict` writes them "
                         f"to {locations.RUNS_DIR}/ unless given --cache-dir DIR)")
    found = folder.load_folder(directory, use_index=use_index, verify=verify, skip_bad=skip_bad)
    preds = Loaded((upgrade_identity(p) for p in found.preds), where=directory)
    preds.skipped = list(found.skipped)
    if northcutt2019.is_2019_layout(directory):
        preds += northcutt2019.load_directory(directory, val_dir=val_dir)
    partial = sorted(f for f in os.listdir(directory) if f.endswith(".partial.npz"))
    if not preds and (partial or found.skipped):
        what = [f"{os.path.basename(p)}: {m}" for p, m in found.skipped[:3]] + [
            f"{f}: the checkpoint of a run that has not finished" for f in partial[:3]]
        raise InputError(
            f"{directory}: no complete prediction cache; the .npz files here are "
            f"{'; '.join(what)}. Fix: run the same `imagenet-bench predict` command again to "
            f"resume each unfinished run from its checkpoint (and mend or remove a damaged file)")
    if not preds:
        raise InputError(
            f"{directory}: no prediction caches found (no *.npz files, no keras_imagenet/ or "
            f"pytorch_imagenet/ folders). Fix: make some with `imagenet-bench predict "
            f"--framework torch --model resnet18 VAL_DIR --cache-dir {directory}`, convert 2019 "
            f"outputs with `imagenet-bench import DIR --cache-dir {directory}`, or try "
            f"`imagenet-bench demo`")
    check_same_images(preds, allow_mixed, mixed_hint)
    return preds


def upgrade_identity(preds: cache.Predictions) -> cache.Predictions:
    """Give a cache written before model identities its canonical id (in memory only)."""
    if ":" not in preds.model:
        preds.provenance["model"] = registry.upgrade_name(preds.framework, preds.model)
    return preds


def check_same_images(preds: Sequence[cache.Predictions], allow_mixed: bool = False,
                      mixed_hint: Optional[str] = "--allow-mixed-datasets") -> None:
    """Refuse to put caches over different image lists in one table (unless allowed)."""
    by_fp: Dict[str, List[cache.Predictions]] = {}
    for p in preds:
        by_fp.setdefault(p.fingerprint, []).append(p)
    if len(by_fp) > 1 and not allow_mixed:
        groups = "; ".join(
            f"{len(ps)} cache(s) over {ps[0].num_images} images, fingerprint {fp[:12]} "
            f"(e.g. {ps[0].where()})" for fp, ps in by_fp.items())
        anyway = f", or pass {mixed_hint} to list them together anyway" if mixed_hint else ""
        raise InputError(f"the caches cover different image lists: {groups}. Their accuracies "
                         f"are not comparable. Fix: put each dataset's caches in a folder of "
                         f"its own and point --precomputed at one{anyway}")
    seen: Dict[Tuple[str, str], str] = {}
    for p in preds:
        key = (p.qualname, p.fingerprint)
        if key in seen:
            raise InputError(f"{p.qualname} appears twice for the same images: {seen[key]} and "
                             f"{p.where()}. Fix: keep one of the two files")
        seen[key] = p.where()


def load_index_file(path: str, n: int, what: str) -> np.ndarray:
    """Read a ``--keep``/``--omit`` file: integer indices (or a boolean mask of length n)."""
    arr = _load_npy(path, what, max_len=n)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise InputError(f"{what} {path}: boolean mask of length {arr.size}, but the caches "
                             f"hold {n} images. Fix: make a mask with one entry per image")
        return np.flatnonzero(arr)
    if not np.issubdtype(arr.dtype, np.integer) or arr.ndim != 1:
        raise InputError(f"{what} {path}: expected a 1-D array of integer image indices, got "
                         f"dtype {arr.dtype} shape {arr.shape}. Fix: save integer row indices "
                         f"(or a boolean mask) with numpy.save")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = int(arr[(arr < 0) | (arr >= n)][0])
        raise InputError(f"{what} {path}: index {bad} is outside 0..{n - 1} (the caches hold "
                         f"{n} images). Fix: use indices of the scored image list")
    if np.unique(arr).size != arr.size:
        raise InputError(f"{what} {path}: repeated indices. Fix: list each image once")
    return arr.astype(np.int64)


def _load_npy(path: str, what: str, max_len: Optional[int] = None) -> np.ndarray:
    """Read a user's ``.npy`` option file after checking its header (1-D, at most ``max_len``)."""
    def expected(shape):
        if len(shape) != 1:
            return "expected a 1-D array. Fix: save a 1-D array with numpy.save"
        if max_len is not None and shape[0] > max_len:
            return (f"more entries than the {max_len} images. Fix: give at most one entry "
                    f"per image")
        return None
    return checks.read_npy(path, InputError, what, expected)


def select_rows(n: int, keep: Optional[np.ndarray] = None,
                omit: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """Sorted row indices scored after applying ``keep`` then ``omit`` (index arrays).

    None when neither is given: every row, without building (and gathering
    through) an index array.
    """
    if keep is None and omit is None:
        return None
    rows = np.arange(n) if keep is None else np.sort(keep)
    if omit is not None:
        rows = rows[~np.isin(rows, omit)]
    return rows


def load_custom_labels(path: str, n_scored: int) -> np.ndarray:
    """Read ``--labels FILE.npy``: one class index 0-999 per scored image."""
    arr = _load_npy(path, "--labels", max_len=n_scored)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"--labels {path}: expected a 1-D integer array, got dtype {arr.dtype} "
                         f"shape {arr.shape}. Fix: save one integer class index per image with "
                         f"numpy.save")
    if arr.size != n_scored:
        raise InputError(f"--labels {path} has {arr.size} labels but {n_scored} images are "
                         f"scored. Fix: give one label per scored image (after --keep/--omit)")
    if arr.size and (arr.min() < 0 or arr.max() >= cache.NUM_CLASSES):
        bad = int(np.flatnonzero((arr < 0) | (arr >= cache.NUM_CLASSES))[0])
        raise InputError(f"--labels {path}: value {int(arr[bad])} at position {bad} is not a "
                         f"class index 0-999. Fix: use class indices of sorted wnid order")
    return arr.astype(np.int64)


def correct(preds: cache.Predictions, labels: Optional[np.ndarray] = None,
            rows: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-image top-1 and top-5 correctness (bool arrays) over ``rows``.

    ``labels`` (one per selected row) replace the cache's labels when given.
    Missing images (``preds.missing``: never predicted or unreadable) are never
    correct, whatever their rows hold.
    """
    if labels is None:  # the cache's own labels: an indexed cache answers from its index
        top1, top5 = preds.correct_flags()
        return (top1, top5) if rows is None else (top1[rows], top5[rows])
    idx = preds.top5_idx if rows is None else preds.top5_idx[rows]
    if labels is None:
        labels = preds.labels if rows is None else preds.labels[rows]
    missing = preds.missing
    if missing is not None and rows is not None:
        missing = missing[rows]
    return derived.correct(idx, labels, missing, preds.same_class)


#: how ImageNet-A/-R caches are scored: "masked" (the prediction restricted to the set's 200
#: classes, the published protocol; the default) or "unmasked" (the 1,000-class prediction)
PROTOCOLS = ("masked", "unmasked")
DEFAULT_PROTOCOL = "masked"


def check_protocol(protocol: str) -> str:
    """``protocol`` if it is one of :data:`PROTOCOLS`, else an :class:`InputError` naming them."""
    if protocol not in PROTOCOLS:
        raise InputError(f"--protocol {protocol!r}: not a protocol. Fix: --protocol "
                         f"{' or --protocol '.join(PROTOCOLS)}")
    return protocol


def protocol_correct(preds: cache.Predictions, protocol: str = DEFAULT_PROTOCOL,
                     rows: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-image top-1 and top-5 correctness under ``protocol`` (see :data:`PROTOCOLS`).

    Caches of a class-subset test set (ImageNet-A/-R, :func:`has_subset`) are scored
    masked to their classes unless ``protocol`` is "unmasked"; every other cache is
    scored as :func:`correct` does, whatever the protocol.
    """
    if check_protocol(protocol) == "masked" and has_subset(preds):
        top1, top5 = masked_correct(preds, 1), masked_correct(preds, 5)
        return (top1, top5) if rows is None else (top1[rows], top5[rows])
    return correct(preds, rows=rows)


def protocol_label(preds: Sequence[cache.Predictions], protocol: str = DEFAULT_PROTOCOL) -> str:
    """The words that label a table holding ImageNet-A/-R caches with its protocol ("" when
    none of ``preds`` is of such a set)."""
    sets = sorted({datasets.name_of(p) for p in preds if has_subset(p)})
    if not sets:
        return ""
    fixed = [n for n in sets if not _mapped(n)]
    mapped = [n for n in sets if n not in fixed]
    if check_protocol(protocol) == "masked":
        words = ([f"{', '.join(fixed)}: predictions masked to the set's 200 classes"] if fixed
                 else []) + [f"{n}: predictions masked to the {subset_size(preds, n)} ImageNet "
                             f"classes its mappings map to" for n in mapped]
        label = (f"{'; '.join(words)} (--protocol masked, the default; --protocol unmasked for "
                 f"the 1,000-class prediction)")
    else:
        label = (f"{', '.join(sets)}: the unmasked 1,000-class prediction (--protocol unmasked; "
                 f"published figures are masked, --protocol masked)")
    return "\n".join([label] + set_notes(preds))


def subset_size(preds: Sequence[cache.Predictions], name: str) -> int:
    """The size of the class subset the caches of set ``name`` record."""
    p = next(p for p in preds if datasets.name_of(p) == name)
    return len((p.provenance.get("dataset") or {}).get("class_subset") or [])


def _mapped(name: str) -> bool:
    """True for a set whose class subset comes from the user's mapping files (ObjectNet)."""
    spec = datasets.DATASETS.get(name)
    return spec is not None and spec.mapped_subset


def set_notes(preds: Sequence[cache.Predictions]) -> List[str]:
    """The accounting sentence each test set's reader recorded (ObjectNet: images counted,
    classes, the border), once per distinct sentence, for the notes of a table."""
    out: List[str] = []
    for p in preds:
        if _mapped(datasets.name_of(p)):
            acc = (p.provenance.get("dataset") or {}).get("accounting") or {}
            line = acc.get("sentence") or f"{datasets.name_of(p)}: no accounting recorded"
            if line not in out:
                out.append(line)
    return out


def masked_correct(preds: cache.Predictions, k: int = 1) -> np.ndarray:
    """Per row: is the label among the top-``k`` (1 or 5) within the dataset's class subset?
    (missing rows False)

    Uses the cache's ``subset_top5_idx`` (written by ``predict`` for ImageNet-A/R).
    """
    if not has_subset(preds):
        raise InputError(f"{preds.where()}: no top-5 within the class subset (subset_top5_idx), "
                         f"so the masked accuracy cannot be computed. Fix: predict again with "
                         f"`imagenet-bench predict -m MODEL {datasets.name_of(preds)}=DIR`")
    return preds.masked_flags(k)


def release(preds: cache.Predictions) -> None:
    """Let an indexed cache drop the arrays it read (they are read again if used again)."""
    preds.release()


def has_subset(preds: cache.Predictions) -> bool:
    """True when the cache holds the top-5 within its dataset's class subset (A/R)."""
    return preds.has_subset


def competition_ranks(values: Sequence[float]) -> List[int]:
    """Rank 1 = highest; equal values share the best rank ("1224" ranking)."""
    vals = np.asarray(values, dtype=float)
    return [int((vals > v).sum()) + 1 for v in vals]
