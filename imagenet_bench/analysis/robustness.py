"""Robustness table: each model on ImageNet val and the shifted test sets (numpy only).

The table's shape (:class:`Table`, :func:`group`, :func:`csv_keys`) and its arithmetic (the
logit-linear fit, :func:`val_restricted`); the rows are the results document's
(:func:`imagenet_bench.analysis.results.across_sets`, the metrics of
``analysis.metrics.ACROSS_SETS``). One row per model (caches from ``predict NAME=DIR``, any
mix of sets in one folder):

* ``imagenet-val`` top-1 and ``real`` (ReaL top-1 on the same val cache,
  :mod:`data.real_labels`, when timm's package data and official file names
  allow it);
* top-1 on each shifted set present. For ImageNet-A and -R, ``imagenet-a`` /
  ``imagenet-r`` are **masked** (the model's prediction restricted to the
  set's 200 classes, the protocol of the papers that introduced them, from the
  cache's ``subset_top5_idx``) and ``imagenet-a-unmasked`` / ``-r-unmasked``
  the plain 1,000-class top-1;
* differences to val: ``delta_<set>`` = set - full val; for A and R also
  ``delta_<set>_val200`` = masked set - val restricted to the same 200 classes
  (images of those classes, predictions masked to them: timm's "clean" baseline),
  whose value is ``val200_<set>``;
* effective robustness ``er_<set>`` (Taori et al., "Measuring Robustness to
  Natural Distribution Shifts in Image Classification", NeurIPS 2020): fit
  ``logit(shifted top-1) = a + b * logit(val top-1)`` by least squares across the
  models present (at least 3, at two val accuracies or more: otherwise the fit is
  degenerate, and the note says so), and report each model's shifted top-1 minus
  the fit's prediction mapped back to accuracy, in percentage points. The measured
  value is moved inwards exactly as the fit's input is (0 and 100 % by half an
  image, :func:`clamp`), so a model on the fit line gets 0.00 at 0 % too.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.analysis import scorer
from imagenet_bench.cache import derived
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets
from imagenet_bench.errors import InputError

VAL = datasets.DEFAULT
#: shifted sets in table order
SHIFTED = [s.name for s in datasets.shifted()]
#: sets scored with predictions restricted to their class subset
MASKED = tuple(n for n in SHIFTED if datasets.get(n).masked)
MIN_MODELS_FOR_FIT = 3


@dataclass(frozen=True)
class Fit:
    """The logit-linear baseline of one shifted set: logit(shift) = intercept + slope * logit(val)."""

    dataset: str
    slope: float
    intercept: float
    models: int  # models the fit was made from

    def predict(self, val_acc: float, num_images: int = 0) -> float:
        """Shifted top-1 (%) the baseline expects at val top-1 ``val_acc`` (%)."""
        return 100.0 * _sigmoid(self.intercept + self.slope * logit(val_acc, num_images))


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def clamp(acc: float, num_images: int = 0) -> float:
    """A top-1 accuracy in percent as a fraction, 0 and 100 % moved half an image inwards
    (``0.5 / num_images``; 1e-6 without a count) so its logit stays finite."""
    eps = 0.5 / num_images if num_images else 1e-6
    return min(max(acc / 100.0, eps), 1.0 - eps)


def logit(acc: float, num_images: int = 0) -> float:
    """logit of a top-1 accuracy in percent, moved inwards by :func:`clamp`."""
    p = clamp(acc, num_images)
    return float(np.log(p / (1.0 - p)))


def linear_fit(x: Sequence[float], y: Sequence[float]) -> Tuple[float, float]:
    """Least-squares ``(slope, intercept)`` of ``y = intercept + slope * x``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    xc = x - x.mean()
    slope = float((xc * (y - y.mean())).sum() / (xc * xc).sum())
    return slope, float(y.mean() - slope * x.mean())


def effective_robustness(val: Dict[str, float], shifted: Dict[str, float], dataset: str,
                         n_val: int = 0, n_shift: int = 0
                         ) -> Tuple[Dict[str, float], Optional[Fit]]:
    """``({model: effective robustness in points}, fit)`` over the models in both dicts.

    ``val``/``shifted`` map model -> top-1 (%). With fewer than
    :data:`MIN_MODELS_FOR_FIT` models (or all val accuracies equal) there is no
    fit: ``({}, None)``.
    """
    models = sorted(m for m in shifted if m in val)
    xs = [logit(val[m], n_val) for m in models]
    if len(models) < MIN_MODELS_FOR_FIT or np.ptp(xs) == 0:
        return {}, None
    slope, intercept = linear_fit(xs, [logit(shifted[m], n_shift) for m in models])
    fit = Fit(dataset, slope, intercept, len(models))
    return {m: 100.0 * clamp(shifted[m], n_shift) - fit.predict(val[m], n_val)
            for m in models}, fit


def no_fit_reason(val: Dict[str, float], shifted: Dict[str, float], dataset: str) -> str:
    """Why :func:`effective_robustness` made no fit for ``dataset`` (too few models, or all at
    one val accuracy: a degenerate fit), for the table's note."""
    models = sorted(m for m in shifted if m in val)
    if len(models) >= MIN_MODELS_FOR_FIT:
        return (f"no effective robustness for {dataset}: the fit is degenerate, all "
                f"{len(models)} models with both caches have the same imagenet-val top-1 "
                f"({val[models[0]]:.2f} %), so no line through them is defined. Fix: add models "
                f"of other val accuracies to the folder")
    return (f"no effective robustness for {dataset}: it needs {MIN_MODELS_FOR_FIT} or more "
            f"models with both imagenet-val and {dataset} caches ({len(models)} here). Fix: "
            f"predict more models on both sets into the folder")


# --- per-cache accuracies ----------------------------------------------------------------------

def top1(preds: cache.Predictions) -> float:
    """Plain top-1 (%) over all rows (missing rows wrong)."""
    return 100.0 * float(scorer.correct(preds)[0].mean()) if preds.num_images else float("nan")


def val_restricted(val: cache.Predictions, classes: Sequence[int], dataset: str = ""
                   ) -> Tuple[float, Optional[float], int, int]:
    """Val top-1 on the images of ``classes`` only: ``(unmasked %, masked % or None, images,
    undetermined)`` (:func:`cache.derived.val_restricted`; read from the folder index when
    it holds them for ``dataset``).

    The masked prediction (top-1 among ``classes``) is the first of the cached
    top-5 that lies in ``classes``; a row whose top-5 holds none of them is
    *undetermined* unless the cache has ``all_probs`` (``--save-all-probs``). The
    masked accuracy is returned only when every row is determined.
    """
    known = val.val_restricted(dataset) if dataset else None
    if known is not None:
        unmasked, masked, n, undetermined = known
        return unmasked, masked, int(n), int(undetermined)
    val = val.with_all_probs()  # read from its file on demand, when it has them
    return derived.val_restricted(val.top5_idx, val.labels, val.missing, classes, val.all_probs)


# --- the table -------------------------------------------------------------------------------

@dataclass
class Table:
    """Rows (one dict per model), the datasets present, the fits and notes for the user."""

    rows: List[Dict]
    present: List[str]  # datasets with at least one cache, table order
    fits: Dict[str, Fit]
    notes: List[str]
    protocol: str = scorer.DEFAULT_PROTOCOL  # how the A/R columns were scored


def group(preds: Sequence[cache.Predictions]) -> Dict[str, Dict[str, cache.Predictions]]:
    """``{dataset: {model: cache}}``; caches of one set must cover the same images."""
    by_set: Dict[str, List[cache.Predictions]] = {}
    for p in preds:
        by_set.setdefault(datasets.name_of(p), []).append(p)
    out: Dict[str, Dict[str, cache.Predictions]] = {}
    for name, ps in by_set.items():
        fps = sorted({p.fingerprint for p in ps}, key=lambda fp: [p.fingerprint for p in ps].index(fp))
        if len(fps) > 1:
            examples = "; ".join(f"{next(p.where() for p in ps if p.fingerprint == fp)} "
                                 f"({next(p.num_images for p in ps if p.fingerprint == fp)} images)"
                                 for fp in fps[:3])
            raise InputError(f"{name} caches: the caches cover different image lists "
                             f"({len(fps)} fingerprints, e.g. {examples}), so their accuracies "
                             f"are not comparable. Fix: keep the caches of one folder of {name} "
                             f"in --precomputed (predict every model on the same images)")
        scorer.check_same_images(ps)  # one cache per model
        out[name] = {p.qualname: p for p in ps}
    return out


def resolve(preds: Sequence[cache.Predictions], name: str, names: List[str]) -> str:
    """The id of the model ``name`` designates, by the rules of every selector
    (:func:`analysis.compare.resolve_name`: a base name finds its only run, ``+random`` included)."""
    from imagenet_bench.analysis.compare import NoSuchModel, resolve_name
    try:
        return resolve_name(preds, name)
    except NoSuchModel:
        raise InputError(f"no cache of {name}; models present: {', '.join(names)}. "
                         f"Fix: name models as framework:name, e.g. {names[0]}") from None


def note_for(kind: str, models: List[str]) -> str:
    """One note for every model it applies to: ``kind`` with ``{models}`` filled in."""
    shown = ", ".join(models[:3]) + (f" and {len(models) - 3} more" if len(models) > 3 else "")
    return kind.format(models=f"{len(models)} model{'s' if len(models) != 1 else ''} ({shown})")


def csv_keys(table: Table) -> List[str]:
    """The CSV columns: model, one per dataset present (+ real, + unmasked A/R), er_<set>."""
    keys = ["model"]
    for name in table.present:
        keys.append(name)
        if name == VAL and any(r.get("real") is not None for r in table.rows):
            keys.append("real")
        if name in MASKED:
            keys.append(f"{name}-unmasked")
    return keys + [f"er_{n}" for n in table.present if n in table.fits]
