"""Calibration figures of caches: one cache's row, two caches' paired row (numpy only).

The numbers are :mod:`imagenet_bench.analysis.calibration`'s pure functions;
this module picks what they are given from a cache under the accuracy
protocol (ImageNet-A/-R masked to their classes and renormalised over them)
and the Minderer split. ``score --calibration``, ``compare --calibration``,
``report --calibration`` and ``sweep collect --calibration`` all call it, so
they show the same figures. Definitions: docs/analysis.md ("Calibration").
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np

from imagenet_bench.analysis.calibration import (
    BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED, bootstrap_difference, ece_mass, ece_width, fit_temperature,
    mass_edge_ties, nll_brier, reliability, scaled_figures, split_rows, width_edge_ties)

#: how every calibration figure is computed, in one line for the output
PROTOCOL = ("top-label confidence; every figure on the rows after the first 20 % in row order "
            "(Minderer et al. 2021), the temperature T fitted by NLL on the first 20 % "
            "(Guo et al. 2017); ECE-15w: 15 equal-width bins (Guo et al. 2017), ECE-100m: 100 "
            "equal-mass bins (Minderer et al. 2021), L1; Brier summed over classes; ties: rows "
            "on a bin edge; unreadable images left out; ImageNet-A/-R and ObjectNet under --protocol "
            "masked: the softmax renormalised over the set's classes; ObjectNet: right = any "
            "ImageNet class of the label's group, NLL and Brier of the groups merged "
            "(docs/analysis.md)")
#: the figures of a calibration row, in table order (``_ts``: after temperature scaling)
FIGURES = ("ece15", "ece100", "nll", "brier", "temperature", "ece15_ts", "ece100_ts", "nll_ts",
           "brier_ts")


def _subset_columns(preds) -> np.ndarray:
    return np.asarray(sorted((preds.provenance.get("dataset") or {}).get("class_subset") or []),
                      dtype=np.int64)


def cache_inputs(preds, protocol: str = "masked") -> Dict:
    """What calibration needs of one cache under ``protocol`` (ImageNet-A/-R: masked to the
    set's classes and renormalised over them, as accuracy is; see docs/analysis.md).

    Returns ``conf`` (top-label confidence, NaN where unknown), ``correct``, ``keep`` (rows
    with a prediction), ``top1`` and ``masked`` (bool), and ``notes``.
    """
    from imagenet_bench.analysis.scorer import has_subset, protocol_correct
    masked = protocol == "masked" and has_subset(preds)
    correct = protocol_correct(preds, protocol)[0]
    keep = ~np.asarray(preds.missing, dtype=bool)
    extra = preds.per_image or {}
    notes = []
    if masked:
        top1 = preds.subset_top5_idx[:, 0]
        if "subset_mass" in extra:
            conf = preds.subset_top5_prob[:, 0].astype(np.float64) / extra["subset_mass"]
        else:
            conf = np.full(preds.num_images, np.nan)
            notes.append("no per-image probability mass of the set's classes (a cache made before "
                         "format 3): the masked confidence is unknown")
    else:
        top1 = preds.top5_idx[:, 0]
        conf = preds.top5_prob[:, 0].astype(np.float64)
    return {"conf": conf, "correct": correct, "keep": keep, "top1": top1, "masked": masked,
            "notes": notes}


def cache_row(preds, protocol: str = "masked", logits: Optional[np.ndarray] = None) -> Dict:
    """The calibration figures of one cache (:data:`FIGURES`, ``None`` where not computable,
    the reason in ``calibration_note``), on the rows after the first 20 % (row order);
    the temperature is fitted on those first 20 % (``logits``: the cache's, when it has them).
    Also ``calibration_images``, ``ties15``/``ties100`` (:func:`width_edge_ties`,
    :func:`mass_edge_ties`) and ``reliability`` (:func:`reliability`)."""
    inp = cache_inputs(preds, protocol)
    fit, ev = split_rows(preds.num_images)
    rows = np.arange(preds.num_images)[ev]
    rows = rows[inp["keep"][ev]]
    conf, ok = inp["conf"][rows], inp["correct"][rows]
    row: Dict = {k: None for k in FIGURES}
    notes = list(inp["notes"])
    row["calibration_images"] = int(rows.size)
    if rows.size and np.isfinite(conf).all():
        row.update(ece15=ece_width(conf, ok), ece100=ece_mass(conf, ok),
                   ties15=width_edge_ties(conf), ties100=mass_edge_ties(conf),
                   reliability=reliability(conf, ok))
    extra = preds.per_image or {}
    names = ("label_logp", "prob_sq_sum") + (("subset_mass", "subset_sq_sum") if inp["masked"] else ())
    if all(k in extra for k in names):
        vals = [np.asarray(extra[k], np.float64)[rows] for k in names]
        if not any(np.isnan(v).any() for v in vals):  # -inf: a probability that underflowed
            row["nll"], row["brier"] = nll_brier(*vals)
        else:
            notes.append("per-image log-probabilities incomplete (a run resumed from a checkpoint "
                         "made before format 3): NLL and Brier left empty")
    else:
        notes.append("NLL and Brier need the per-image log-probability and sum of squares "
                     "that `predict` stores from cache format 3 on (this cache holds top-5 only)")
    if logits is None:
        notes.append("no logits (`predict --save-logits`): no temperature scaling")
    elif preds.same_class is not None:
        notes.append("many-to-one labels (ObjectNet): no temperature scaling (a fit on single "
                     "labelled classes would not score the groups that count as right)")
    elif rows.size:
        scaled = _scaled_row(preds, inp, logits, fit, rows)
        notes += [scaled.pop("calibration_note")] if "calibration_note" in scaled else []
        row.update(scaled)
    row["calibration_note"] = "; ".join(notes)
    return row


def _scaled_row(preds, inp: Dict, logits: np.ndarray, fit: slice, rows: np.ndarray) -> Dict:
    """Temperature fitted on the ``fit`` rows, figures of the scaled softmax on ``rows``."""
    labels = np.asarray(preds.labels, dtype=np.int64)
    top1 = np.asarray(inp["top1"], dtype=np.int64)
    if inp["masked"]:
        cols = _subset_columns(preds)
        logits = np.asarray(logits)[:, cols]
        labels, top1 = np.searchsorted(cols, labels), np.searchsorted(cols, np.maximum(top1, 0))
    fit_rows = np.arange(preds.num_images)[fit]
    fit_rows = fit_rows[inp["keep"][fit]]
    t = fit_temperature(np.asarray(logits)[fit_rows], labels[fit_rows])
    if math.isnan(t) or math.isinf(t):
        why = ("every image of the first 20 % has its label as top-1, so the NLL has no "
               "minimum (T -> 0)" if math.isnan(t) else "the NLL of the first 20 % falls "
               "until T -> infinity (the uniform distribution: the labels' logits are not "
               "above their rows' mean)")
        return {"calibration_note": f"no temperature: {why}"}
    s = scaled_figures(np.asarray(logits)[rows], labels[rows], top1[rows], t)
    ok = inp["correct"][rows]
    nll, brier = nll_brier(s["label_logp"], s["prob_sq_sum"])
    return {"temperature": t, "ece15_ts": ece_width(s["conf"], ok),
            "ece100_ts": ece_mass(s["conf"], ok), "nll_ts": nll, "brier_ts": brier}


def paired_row(a, b, protocol: str = "masked", confidence: float = 0.95,
               samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> Dict:
    """ECE of caches ``a`` and ``b`` (same images) on the rows after the first 20 % that both
    predicted, and ECE(a) - ECE(b) with its paired bootstrap interval, for both binnings:
    ``ece15_a``, ``ece15_b``, ``ece15_diff``, ``ece15_diff_low``/``_high``, ``ece100_...``."""
    ia, ib = cache_inputs(a, protocol), cache_inputs(b, protocol)
    _, ev = split_rows(a.num_images)
    rows = np.arange(a.num_images)[ev]
    rows = rows[(ia["keep"] & ib["keep"])[ev]]
    conf_a, conf_b = ia["conf"][rows], ib["conf"][rows]
    out: Dict = {"calibration_images": int(rows.size)}
    if not rows.size or not (np.isfinite(conf_a).all() and np.isfinite(conf_b).all()):
        out["calibration_note"] = "; ".join(ia["notes"] + ib["notes"]) or "no rows to compare"
        return out
    ok_a, ok_b = ia["correct"][rows], ib["correct"][rows]
    out.update(ece15_a=ece_width(conf_a, ok_a), ece15_b=ece_width(conf_b, ok_b),
               ece100_a=ece_mass(conf_a, ok_a), ece100_b=ece_mass(conf_b, ok_b))
    diffs = bootstrap_difference(conf_a, ok_a, conf_b, ok_b, confidence, samples, seed)
    for name, key in (("ece15", "width"), ("ece100", "mass")):
        out[f"{name}_diff"], out[f"{name}_diff_low"], out[f"{name}_diff_high"] = diffs[key]
    return out
