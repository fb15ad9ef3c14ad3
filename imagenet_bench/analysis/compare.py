"""Paired comparison of two models scored on the same images (numpy only).

For two models with per-image correctness vectors over the *same* images
(same fingerprint), the 2x2 table (both right / only A / only B / neither)
gives:

* McNemar's exact test of equal accuracy (:func:`stats.mcnemar_exact`);
* the accuracy difference A - B with Newcombe's paired interval
  (:func:`stats.paired_difference_interval`);
* the counts of images only one of the two gets right.

:func:`family_pairs` pairs every architecture present in both frameworks
(``registry.paired_families``, by base weights whatever the run settings) among
a list of loaded predictions, and the same weights in two libraries that a library
declares (``registry.declared_pairs``: an HF port and its original, same settings).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.data import real_labels
from imagenet_bench.models import registry
from imagenet_bench.analysis import stats
from imagenet_bench.errors import BenchError
from imagenet_bench.analysis.scorer import DEFAULT_PROTOCOL, has_subset, protocol_correct


class CompareError(BenchError, ValueError):
    """Two predictions cannot be compared; the message names both files and the fix."""


class NoSuchModel(CompareError):
    """No cache of the model a name designates; the message lists the ids present."""


def paired_row(name_a: str, correct_a: np.ndarray, name_b: str, correct_b: np.ndarray,
               valid: Optional[np.ndarray] = None,
               confidence: float = stats.DEFAULT_CONFIDENCE) -> Dict:
    """One comparison row from two boolean correctness vectors over the same images.

    ``valid`` (optional bool mask) restricts the comparison to some images
    (e.g. those with a ReaL label). Accuracies and the difference are in
    percent, each with its Wilson interval (``acc_a_low`` ...); ``p_value`` is McNemar's exact two-sided p-value (``log10_p`` its
    log10, finite where ``p_value`` underflows; ``p_text`` formatted).
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise CompareError(f"{name_a} has {a.shape[0]} rows, {name_b} has {b.shape[0]}; "
                           f"a paired comparison needs the same images. Fix: compare caches of "
                           f"the same test set (`imagenet-bench score` lists each cache's images)")
    if valid is not None:
        a, b = a[valid], b[valid]
    n = int(a.size)
    both = int(np.count_nonzero(a & b))
    only_a = int(np.count_nonzero(a)) - both
    only_b = int(np.count_nonzero(b)) - both
    neither = n - both - only_a - only_b
    diff, low, high = stats.paired_difference_interval(both, only_a, only_b, neither, confidence)
    test = stats.mcnemar_exact(only_a, only_b)
    (a_lo, b_lo), (a_hi, b_hi) = stats.wilson_interval(
        np.array([both + only_a, both + only_b]), np.array([n, n]), confidence)
    return {
        "model_a": name_a,
        "model_b": name_b,
        "images": n,
        "acc_a": 100.0 * (both + only_a) / n if n else float("nan"),
        "acc_b": 100.0 * (both + only_b) / n if n else float("nan"),
        "acc_a_low": 100.0 * a_lo, "acc_a_high": 100.0 * a_hi,
        "acc_b_low": 100.0 * b_lo, "acc_b_high": 100.0 * b_hi,
        "diff": 100.0 * diff,
        "diff_low": 100.0 * low,
        "diff_high": 100.0 * high,
        "only_a": only_a,
        "only_b": only_b,
        "p_value": test.p_value,
        "log10_p": test.log10_p,
        "p_text": stats.format_p(test.p_value, test.log10_p),
    }


def check_same_images(a, b) -> None:
    """Raise :class:`CompareError` unless predictions ``a`` and ``b`` cover the same images."""
    if a.fingerprint != b.fingerprint:
        raise CompareError(
            f"{a.qualname} ({a.where()}, fingerprint {a.fingerprint[:12]}, {a.num_images} images) "
            f"and {b.qualname} ({b.where()}, fingerprint {b.fingerprint[:12]}, {b.num_images} "
            f"images) were not scored on the same images, so a paired test does not apply. "
            f"Fix: predict both models on the same image list (same directory, same subset)")


def family_pairs(preds: Sequence) -> Tuple[List[Tuple[object, object]], List[str]]:
    """(keras, torch) prediction pairs for every architecture present in both frameworks.

    Caches pair by family and base weights (``keras:ResNet50.imagenet`` with
    ``torch:resnet50.IMAGENET1K_V1``), whatever their run settings: a
    ``+legacy2019`` run pairs with a reference run, and the row's model names
    show the settings. Where both sides have a run with the same settings,
    those are paired (one row per shared setting set); otherwise every
    keras/torch combination is. Copies over several datasets pair on a shared
    fingerprint, preferring the most images. Returns ``(pairs, absent)``:
    ``absent`` names the registry pairs that lack one side in ``preds``.
    """
    by_base: Dict[str, List] = {}
    for p in preds:
        mid = p.model_id
        if mid is not None:
            by_base.setdefault(str(mid.base), []).append((mid.settings, p))
    pairs, absent = [], []
    for keras_spec, torch_spec in registry.paired_families():
        ks, ts = by_base.get(str(keras_spec.id), []), by_base.get(str(torch_spec.id), [])
        combos = [(kset, tset, k, t) for kset, k in ks for tset, t in ts if k.fingerprint == t.fingerprint]
        same = [c for c in combos if c[0] == c[1]]
        best: Dict[Tuple, Tuple] = {}
        for kset, tset, k, t in (same or combos):
            key = (kset, tset)
            if key not in best or k.num_images > best[key][0].num_images:
                best[key] = (k, t)
        if best:
            pairs += [best[key] for key in sorted(best)]
        elif ks and ts:  # both present but never on the same images: say so loudly
            check_same_images(ks[0][1], ts[0][1])
        else:
            absent.append(f"{keras_spec.id} vs {torch_spec.id}")
    for a_id, b_id in registry.declared_pairs():  # the same weights in two libraries
        pairs += [(a, b) for sa, a in by_base.get(a_id, []) for sb, b in by_base.get(b_id, [])
                  if sa == sb and "random" not in sa and a.fingerprint == b.fingerprint]
    return pairs, absent


def resolve_name(preds: Sequence, name: str) -> str:
    """The id (``qualname``) among ``preds`` that ``name`` designates, by the rules every
    selector shares (``compare``, ``per-class``, ``robustness``); a clear error if absent or
    ambiguous.

    ``name`` is any registry spelling (``keras:resnet50``, ``torch:inception_v3+legacy2019``)
    or a cache's exact id. Without settings, a name matches its plain run, or
    the only run of those weights there is (a ``+random`` run, a 2019 ``+legacy2019`` output).
    """
    have = {p.qualname for p in preds}
    if name in have:  # a cache's exact id: no catalog lookup
        return name
    try:
        mid, _ = registry.resolve(name)
        qual, base = str(mid), str(mid.base)
    except registry.AmbiguousNameError:
        raise
    except BenchError:  # not a registry name: a custom model's id, matched as written
        qual, base = name, None
    if qual in have:
        return qual
    if base is not None and qual == base:
        variants = {p.qualname for p in preds
                    if p.model_id is not None and str(p.model_id.base) == base}
        if len(variants) > 1:
            raise CompareError(f"{name!r} has several runs in the directory: "
                               f"{', '.join(sorted(variants))}. Fix: name one of them in full")
        if variants:
            return variants.pop()
    listed = ", ".join(sorted(have)) or "none"
    raise NoSuchModel(f"no predictions for {name!r} in the directory (found: {listed}). "
                       f"Fix: name a model that has a cache, e.g. {min(have) if have else 'torch:resnet50'}")


def find_model(preds: Sequence, name: str):
    """The predictions ``name`` designates (:func:`resolve_name`); an error if absent, ambiguous
    or present on several image sets."""
    qual = resolve_name(preds, name)
    hits = [p for p in preds if p.qualname == qual]
    if len({p.fingerprint for p in hits}) > 1:
        files = "; ".join(f"{p.where()} ({p.fingerprint[:12]})" for p in hits)
        raise CompareError(f"{hits[0].qualname} has predictions on several image sets ({files}). "
                           f"Fix: point --precomputed at a directory holding one of them")
    return hits[0]


def correctness(preds, labels: str = "original", k: int = 1, protocol: str = DEFAULT_PROTOCOL):
    """Per-image correctness of ``preds`` at top-``k`` and the mask of images that count.

    ``labels="original"``: the cache's labels, every image counts; ImageNet-A/-R caches
    are scored under ``protocol`` (:data:`scorer.PROTOCOLS`, masked by default).
    ``labels="real"``: ReaL sets (Beyer et al. 2020); images with an empty set do not count.
    """
    if k not in (1, 5):
        raise CompareError(f"--top {k}: not a top-k this tool scores. Fix: --top 1 or --top 5")
    if labels == "real":
        return real_labels.real_correct(preds, k)
    if labels != "original":
        raise CompareError(f"--labels {labels!r}: not a label source of compare. Fix: --labels "
                           f"original or --labels real")
    top1, top5 = protocol_correct(preds, protocol)
    return (top1 if k == 1 else top5), None


def compare_predictions(a, b, labels: str = "original", k: int = 1,
                        confidence: float = stats.DEFAULT_CONFIDENCE,
                        protocol: str = DEFAULT_PROTOCOL) -> Dict:
    """The paired comparison row of predictions ``a`` and ``b`` (same images required); a
    row of ImageNet-A/-R caches carries the ``protocol`` it was scored under."""
    check_same_images(a, b)
    correct_a, valid = correctness(a, labels, k, protocol)
    correct_b, _ = correctness(b, labels, k, protocol)
    row = paired_row(a.qualname, correct_a, b.qualname, correct_b, valid, confidence)
    if labels == "original" and (has_subset(a) or has_subset(b)):
        row["protocol"] = protocol
    return row
