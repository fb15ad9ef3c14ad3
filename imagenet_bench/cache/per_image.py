"""Per-image figures a cache keeps beside its top-5 so NLL and Brier are exact (numpy only).

Computed once, by the runner, from the full probability vector of each image
(and its logits when the backend gives them), stored float32, one value per
row, NaN on rows that were never predicted (``missing``):

* ``label_logp``    log p(label) of the 1,000-class softmax (from the logits when
  the run has them: ``z_y - logsumexp(z)``; else ``log`` of the float32
  probability, -inf where that underflowed to 0)
* ``prob_sq_sum``   sum over the 1,000 classes of p^2
* ``subset_mass``   sum of p over the dataset's class subset (ImageNet-A/-R only)
* ``subset_sq_sum`` sum of p^2 over that subset (ImageNet-A/-R only)

For a test set with many-to-one labels (ObjectNet: ``groups`` of ImageNet
classes that each stand for one class of the set), the figures are those of the
distribution with each group merged (its probabilities summed into one class):
``label_logp`` is log p(label's group) and the sums of squares are over merged
classes, so NLL and Brier score the same "right" as accuracy does.

With them, NLL = -mean(label_logp) and Brier = mean(prob_sq_sum - 2 p_y + 1),
and the same figures of the distribution renormalised to the subset (the
masked protocol) follow from the subset sums (``analysis.calibration.nll_brier``).
Caches of format 3 made by ``predict`` hold them; older caches and imported
top-5 outputs do not (their NLL and Brier are left empty, with a note).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Tuple

import numpy as np

#: members of every cache predict writes (format 3)
MEMBERS: Tuple[str, ...] = ("label_logp", "prob_sq_sum")
#: members of a cache of a test set with a class subset (ImageNet-A/-R)
SUBSET_MEMBERS: Tuple[str, ...] = ("subset_mass", "subset_sq_sum")


def names(subset: bool) -> Tuple[str, ...]:
    """The per-image members of a cache with (``subset``) or without a class subset."""
    return MEMBERS + (SUBSET_MEMBERS if subset else ())


def empty(n: int, subset: bool) -> Dict[str, np.ndarray]:
    """NaN-filled per-image arrays for ``n`` rows (rows not predicted stay NaN)."""
    return {k: np.full(n, np.nan, np.float32) for k in names(subset)}


def merged(values: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """(n, 1000) ``values`` with each group's columns summed into its smallest index and its
    other columns set to 0 (a copy)."""
    out = np.array(values, dtype=np.float64)
    for g in groups:
        g = sorted(int(i) for i in g)
        out[:, g[0]] = out[:, g].sum(axis=1)
        out[:, g[1:]] = 0.0
    return out


def from_probs(probs: np.ndarray, labels: np.ndarray, logits: Optional[np.ndarray] = None,
               subset: Optional[Sequence[int]] = None,
               groups: Optional[Sequence[Sequence[int]]] = None) -> Dict[str, np.ndarray]:
    """The per-image figures of one batch: ``probs`` (n, 1000) softmax, ``labels`` (n,),
    ``logits`` (n, 1000) when the backend gives them, ``subset`` the dataset's classes,
    ``groups`` its many-to-one groups (each label the smallest index of its group)."""
    p = np.asarray(probs, dtype=np.float64)
    rows, y = np.arange(p.shape[0]), np.asarray(labels, dtype=np.int64)
    if groups:
        p = merged(p, groups)
    if logits is not None:
        z = np.asarray(logits, dtype=np.float64)
        top = z.max(axis=1)
        e = np.exp(z - top[:, None])
        if groups:  # log of the group's summed exp (0 only where all of it underflowed)
            with np.errstate(divide="ignore"):
                logp = np.log(merged(e, groups)[rows, y]) - np.log(e.sum(axis=1))
        else:
            logp = z[rows, y] - top - np.log(e.sum(axis=1))
    else:
        with np.errstate(divide="ignore"):
            logp = np.log(p[rows, y])
    out = {"label_logp": logp, "prob_sq_sum": (p * p).sum(axis=1)}
    if subset is not None:
        sub = p[:, np.asarray(subset, dtype=np.int64)]
        out.update(subset_mass=sub.sum(axis=1), subset_sq_sum=(sub * sub).sum(axis=1))
    return {k: v.astype(np.float32) for k, v in out.items()}
