"""Which caches a comparison pairs, and the model selectors every command shares (numpy only).

A paired comparison needs two caches over the *same* images (same fingerprint,
:func:`check_same_images`); its rows are the results document's
(:func:`imagenet_bench.analysis.results.paired`, the metric
:mod:`imagenet_bench.analysis.metrics.paired`: McNemar's exact test, Newcombe's paired
interval). :func:`family_pairs` pairs every architecture present in both frameworks
(``registry.paired_families``, by base weights whatever the run settings) among
a list of loaded predictions, and the same weights in two libraries that a library
declares (``registry.declared_pairs``: an HF port and its original, same settings).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from imagenet_bench.models import registry
from imagenet_bench.errors import BenchError


class CompareError(BenchError, ValueError):
    """Two predictions cannot be compared; the message names both files and the fix."""


class NoSuchModel(CompareError):
    """No cache of the model a name designates; the message lists the ids present."""


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
