"""The checks of a cache's arrays that :meth:`store.Predictions.validate` runs (numpy only).

Each function is given the arrays and a ``fail(msg, fix=...)`` callable that
raises the caller's error naming the file (:data:`checks.Fail`):

* :func:`check_top5` -- ``top5_idx``, ``top5_prob``, ``labels`` and ``missing``:
  shapes, dtypes, class indices and labels in range, finite probabilities;
* :func:`check_extras` -- the optional ``all_probs``, per-image figures and ``logits``;
* :func:`check_subset` -- the top-5 within a class subset (ImageNet-A/R) holds
  only classes of the provenance's ``dataset.class_subset``.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from imagenet_bench.cache.checks import Fail
from imagenet_bench.cache.naming import NUM_CLASSES, TOPK


def _any_nonfinite(prob: np.ndarray) -> bool:
    """True when ``prob`` holds a NaN or infinity (float16: from the exponent bits, 30x faster)."""
    if prob.dtype == np.float16:
        bits = prob.view(np.uint16)
        if bits.size == 0 or bits.max() < 0x7C00:  # all finite and >= 0: no temporary array
            return False
        return bool(((bits & 0x7C00) == 0x7C00).any())
    return not np.isfinite(prob).all()


def check_top5(idx: np.ndarray, prob: np.ndarray, labels: np.ndarray,
               missing: Optional[np.ndarray], fail: Fail) -> np.ndarray:
    """Check the ranked top-5, its probabilities, the labels and the missing flags (N rows
    each); return the missing flags (all False when the cache has none)."""
    if idx.ndim != 2 or idx.shape[1] != TOPK:
        fail(f"top5_idx has shape {idx.shape}, expected (N, {TOPK})")
    if not np.issubdtype(idx.dtype, np.integer):
        fail(f"top5_idx has dtype {idx.dtype}, expected an integer type")
    n = idx.shape[0]
    if prob.shape != idx.shape:
        fail(f"top5_prob has shape {prob.shape}, top5_idx has {idx.shape}")
    if not np.issubdtype(prob.dtype, np.floating):
        fail(f"top5_prob has dtype {prob.dtype}, expected a float type")
    if labels.shape != (n,):
        fail(f"labels has shape {labels.shape}, expected ({n},) to match top5_idx")
    if not np.issubdtype(labels.dtype, np.integer):
        fail(f"labels has dtype {labels.dtype}, expected an integer type")
    missing = missing if missing is not None else np.zeros(n, bool)
    if missing.dtype != np.bool_:
        fail(f"missing has dtype {missing.dtype}, expected bool (True = image unreadable)")
    if missing.shape != (n,):
        fail(f"missing has shape {missing.shape}, expected ({n},)")
    if idx.size and (idx.min() < 0 or idx.max() >= NUM_CLASSES):  # else nothing to look for
        bad = ~missing[:, None] & ((idx < 0) | (idx >= NUM_CLASSES))
        if bad.any():
            r = int(np.argwhere(bad)[0][0])
            fail(f"class index out of range 0-{NUM_CLASSES - 1} at row {r}: "
                 f"{idx[r].tolist()}")
    if n and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        r = int(np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))[0])
        fail(f"label out of range 0-{NUM_CLASSES - 1} at row {r}: {int(labels[r])}")
    if _any_nonfinite(prob):
        r = int(np.argwhere(~np.isfinite(prob))[0][0])
        fail(f"non-finite probability at row {r}: {prob[r].tolist()}")
    return missing


def check_extras(n: int, all_probs: Optional[np.ndarray],
                 per_image: Optional[Dict[str, np.ndarray]], logits: Optional[np.ndarray],
                 fail: Fail) -> None:
    """Check the shapes (and float dtypes) of the optional members of an ``n``-row cache."""
    if all_probs is not None and all_probs.shape != (n, NUM_CLASSES):
        fail(f"all_probs has shape {all_probs.shape}, expected ({n}, {NUM_CLASSES})")
    for name, arr in list((per_image or {}).items()) + [("logits", logits)]:
        want = (n, NUM_CLASSES) if name == "logits" else (n,)
        if arr is not None and (arr.shape != want or not np.issubdtype(arr.dtype, np.floating)):
            fail(f"{name} is {arr.dtype} {arr.shape}, expected float {want}")


def check_subset(provenance: Dict, sub_idx: np.ndarray, sub_prob: Optional[np.ndarray],
                 missing: np.ndarray, fail: Fail) -> None:
    """Check the top-5 within the dataset's class subset: (N, 5) arrays whose classes all
    belong to the provenance's ``dataset.class_subset`` (missing rows aside)."""
    n = missing.shape[0]
    subset = (provenance.get("dataset") or {}).get("class_subset") or []
    if sub_idx.shape != (n, TOPK) or getattr(sub_prob, "shape", None) != (n, TOPK):
        fail(f"subset_top5_idx/subset_top5_prob have shapes {sub_idx.shape}/"
             f"{getattr(sub_prob, 'shape', None)}, expected ({n}, {TOPK})")
    outside = ~missing[:, None] & ~np.isin(sub_idx, subset)
    if outside.any():
        r = int(np.argwhere(outside)[0][0])
        fail(f"subset_top5_idx row {r} ({sub_idx[r].tolist()}) holds classes outside the "
             f"provenance's dataset.class_subset")
