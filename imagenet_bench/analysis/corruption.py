"""ImageNet-C: corruption errors and the mCE as the paper defines it (numpy only).

Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations" (ICLR 2019, arXiv:1903.12261), section 4. With
E_{s,c}(f) the top-1 error of model f on corruption c at severity s:

* ``CE_c = sum_s E_{s,c}(f) / sum_s E_{s,c}(AlexNet)`` (in percent);
* ``mCE`` = the mean of CE_c over the 15 benchmark corruptions
  (:data:`data.imagenet_c.CORRUPTIONS`; the 4 extra ones are shown, never averaged in);
* relative ``CE_c = sum_s (E_{s,c}(f) - E_clean(f)) / sum_s (E_{s,c}(AlexNet) - E_clean(AlexNet))``
  and relative mCE their mean; ``E_clean(f)`` is the model's own ImageNet val error;
* the *unnormalised* mean error (the mean of E_{s,c} over the 15 x 5 sets, what
  the benchmark's ``test.py`` prints as "mCE (unnormalized)") is shown beside it,
  labelled as such.

AlexNet's errors ship as package data (``data/_info/imagenet_c_alexnet.json``,
sources named there). A corruption with any severity missing gives no CE, and
any benchmark corruption without a CE gives no mCE (never a mean over fewer):
the ``missing`` list says which. The functions on dicts of errors are pure; the
table of caches is :func:`build`.
"""
from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from imagenet_bench.analysis import scorer
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets, imagenet_c
from imagenet_bench.errors import InputError

Errors = Dict[str, Sequence[float]]  # corruption -> the errors (fractions) at severities 1-5
_ALEXNET = os.path.join(os.path.dirname(os.path.abspath(datasets.__file__)), "_info",
                        "imagenet_c_alexnet.json")


@functools.lru_cache(maxsize=None)
def alexnet() -> Dict:
    """The shipped AlexNet reference: ``errors`` (corruption -> 5 errors), ``clean_error``,
    their ``source`` and ``clean_source``."""
    with open(_ALEXNET, encoding="utf-8") as f:
        return json.load(f)


def _complete(values) -> bool:
    return (values is not None and len(values) == len(imagenet_c.SEVERITIES)
            and all(v is not None and math.isfinite(v) for v in values))


def corruption_error(errors: Sequence[float], reference: Sequence[float],
                     clean: float = 0.0, reference_clean: float = 0.0) -> Optional[float]:
    """``100 * sum_s (E_s - clean) / sum_s (R_s - reference_clean)``: CE (clean 0) or relative
    CE of one corruption; None when a severity is missing."""
    if not (_complete(errors) and _complete(reference)):
        return None
    return 100.0 * sum(e - clean for e in errors) / sum(r - reference_clean for r in reference)


def mce(errors: Errors, reference: Optional[Errors] = None, clean: Optional[float] = None,
        reference_clean: Optional[float] = None) -> Tuple[Optional[float], List[str]]:
    """``(mCE %, missing corruptions)`` over the 15 benchmark corruptions: the mean of their
    CE (relative CE when ``clean`` is given). The mCE is None when any is missing."""
    ref = alexnet()["errors"] if reference is None else reference
    ref_clean = alexnet()["clean_error"] if reference_clean is None else reference_clean
    ces, missing = [], []
    for c in imagenet_c.CORRUPTIONS:
        ce = (corruption_error(errors.get(c), ref.get(c)) if clean is None else
              corruption_error(errors.get(c), ref.get(c), clean, ref_clean))
        (missing.append(c) if ce is None else ces.append(ce))
    return (None if missing else sum(ces) / len(ces)), missing


def mean_error(errors: Errors) -> Optional[float]:
    """The unnormalised mean error (%) over the 15 benchmark corruptions x 5 severities; None
    when any is missing."""
    values = [errors.get(c) for c in imagenet_c.CORRUPTIONS]
    if not all(_complete(v) for v in values):
        return None
    return 100.0 * sum(sum(v) for v in values) / (len(values) * len(imagenet_c.SEVERITIES))


# --- the table of caches ------------------------------------------------------------------------

@dataclass
class Table:
    """Per model: the summary row and the corruption x severity errors (%)."""

    summary: List[Dict]  # model, protocol, clean_error, mce, relative_mce, mean_error, missing
    grid: List[Dict]  # model, corruption, s1 ... s5 (error %), ce, relative_ce
    notes: List[str]


def base_name(model: str) -> str:
    """The model's id without the ``+recipe-<sha8>`` an ImageNet-C protocol gives its runs."""
    head, *settings = model.split("+")
    return "+".join([head] + [s for s in settings if not s.startswith("recipe-")])


def group(preds: Sequence[cache.Predictions]) -> Tuple[Dict[str, Dict[Tuple[str, int], cache.Predictions]],
                                                       Dict[str, cache.Predictions]]:
    """``({model: {(corruption, severity): cache}}, {model: val cache})`` keyed by
    :func:`base_name` (a val cache under the model's own recipe before one under another);
    other sets' caches are left out."""
    by_model: Dict[str, Dict[Tuple[str, int], cache.Predictions]] = {}
    val: Dict[str, cache.Predictions] = {}
    for p in preds:
        name = datasets.name_of(p)
        key = imagenet_c.parse(name)
        if key is not None:
            cell = by_model.setdefault(base_name(p.qualname), {})
            if key in cell:
                raise InputError(f"{p.where()} and {cell[key].where()}: two caches of "
                                 f"{base_name(p.qualname)} on {name}. Fix: keep one of the two")
            cell[key] = p
        elif name == datasets.DEFAULT and (base_name(p.qualname) not in val
                                           or p.qualname == base_name(p.qualname)):
            val[base_name(p.qualname)] = p  # the model's own recipe first
    return by_model, val


def protocol(preds: cache.Predictions) -> str:
    """The ImageNet-C protocol a cache was predicted under (its recorded recipe overrides)."""
    return imagenet_c.protocol_of(preds.provenance.get("recipe_overrides") or {})


def build(preds: Sequence[cache.Predictions], error_of) -> Table:
    """The ImageNet-C table of every model with ImageNet-C caches in ``preds``;
    ``error_of(cache)`` is its top-1 error in percent."""
    by_model, val = group(preds)
    ref = alexnet()
    summary, grid, notes = [], [], []

    def fraction(p: cache.Predictions) -> float:
        try:
            return error_of(p) / 100.0
        finally:
            scorer.release(p)  # an indexed cache drops the flags it read
    for model in sorted(by_model):
        cells = by_model[model]
        errors = {c: [fraction(cells[(c, s)]) if (c, s) in cells else None
                      for s in imagenet_c.SEVERITIES] for c in imagenet_c.CORRUPTIONS + imagenet_c.EXTRA}
        clean_cache = val.get(model)
        clean = None if clean_cache is None else fraction(clean_cache)
        value, missing = mce(errors)
        rel = mce(errors, clean=clean)[0] if clean is not None else None
        runs = {p.qualname: p for p in cells.values()}  # one protocol per run id (+recipe-<sha8>)
        protocols = sorted({protocol(p) for p in runs.values()})
        summary.append({"model": model, "protocol": ", ".join(protocols),
                        "clean_error": None if clean is None else 100.0 * clean,
                        "mce": value, "relative_mce": rel, "mean_error": mean_error(errors),
                        "sets": len(cells), "missing": ", ".join(missing)})
        for c in imagenet_c.CORRUPTIONS + imagenet_c.EXTRA:
            if all(e is None for e in errors[c]):
                continue
            row = {"model": model, "corruption": c}
            row.update({f"s{s}": None if e is None else 100.0 * e
                        for s, e in zip(imagenet_c.SEVERITIES, errors[c])})
            bench = c in imagenet_c.CORRUPTIONS
            row["ce"] = corruption_error(errors[c], ref["errors"][c]) if bench else None
            row["relative_ce"] = (corruption_error(errors[c], ref["errors"][c], clean,
                                                   ref["clean_error"])
                                  if bench and clean is not None else None)
            grid.append(row)
        if missing:
            notes.append(f"{model}: no mCE: {len(missing)} of the 15 benchmark corruptions lack "
                         f"some severity ({', '.join(missing[:4])}"
                         f"{' ...' if len(missing) > 4 else ''}); never a mean over fewer")
        if clean is None:
            notes.append(f"{model}: no relative mCE: no imagenet-val cache of {model} (its clean "
                         f"error); predict imagenet-val with the same model")
        if len(protocols) > 1:
            notes.append(f"{model}: its ImageNet-C caches mix protocols ({', '.join(protocols)})")
    return Table(summary, grid, notes)
