"""THE results document: every result row, every column from the metric registry.

The one builder of result rows, in three shapes, each running the metric modules of one
tuple of :mod:`imagenet_bench.analysis.metrics` that the options ask for:

* :func:`build`: one row per cache (:data:`metrics.MODULES`), ranked by top-1 (then top-5,
  framework, model): ``score`` (every format), the HTML report's rows, ``sweep collect`` (its
  long table and timm's format), ``imagenet_bench.score``;
* :func:`paired`: one row per pair of caches over the same images (:data:`metrics.PAIRED`):
  ``compare``, the report's Keras-vs-PyTorch pairs, ``imagenet_bench.compare``;
* :func:`across_sets`: one row per model across test sets (:data:`metrics.ACROSS_SETS`), from
  each test set's :func:`build` rows: ``robustness``, the report's robustness figures,
  ``imagenet_bench.robustness``.

numpy and the standard library only.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

from imagenet_bench.analysis import metrics, robustness, scorer
from imagenet_bench.analysis.metrics import Context, Options
from imagenet_bench.data import datasets
from imagenet_bench.errors import BenchError, InputError

__all__ = ["Options", "across_sets", "build", "check_options", "paired"]


def check_options(options: Options) -> Options:
    """``options`` when their values are valid; InputError naming the option otherwise."""
    scorer.check_protocol(options.protocol)
    if not 0.0 < options.confidence < 1.0:
        raise InputError(f"--confidence {options.confidence}: must be between 0 and 1. Fix: "
                         f"pass a level such as 0.95")
    unknown = set(options.extra) - set(metrics.extras())
    if unknown:
        raise InputError(f"extra={sorted(unknown)}: unknown metric groups. Fix: choose among "
                         f"{', '.join(metrics.extras())}")
    return options


def build(preds: Sequence, options: Options = Options(), ranked: bool = True) -> List[Dict]:
    """The result rows of ``preds`` (caches) under ``options``: ranked by top-1 (then top-5,
    framework, model), or with ``ranked=False`` one per cache in the order of ``preds``.

    Every row holds the columns of every metric that applies (see
    :func:`imagenet_bench.analysis.metrics.columns` for their keys, units and meanings).
    """
    context = Context(check_options(options))
    rows: List[Dict] = [{} for _ in preds]
    order = list(range(len(preds)))
    for module in metrics.MODULES:
        if module.applies(options):
            module.add([rows[i] for i in order], [preds[i] for i in order], context)
        if module is metrics.accuracy:  # later metrics see the rows in table order
            order.sort(key=lambda i: (-rows[i]["acc1"], -rows[i]["acc5"], rows[i]["framework"],
                                      rows[i]["model"]))
    for p in preds:
        scorer.release(p)
    return [rows[i] for i in order] if ranked else rows


def _run(modules, rows: List[Dict], items: Sequence, context: Context) -> List[Dict]:
    """Let every module of ``modules`` that the options ask for add its columns to ``rows``."""
    for module in modules:
        if module.applies(context.options):
            module.add(rows, items, context)
    return rows


def paired(pairs: Sequence[Tuple], options: Options = Options()) -> List[Dict]:
    """The comparison rows of ``pairs`` (``(a, b)`` caches over the same images), one per
    pair in order: the columns of :data:`metrics.PAIRED` (``options.labels``: None or "real";
    ``options.top``: 1 or 5; ``"calibration"`` in ``options.extra``: the ECE of both)."""
    context = Context(check_options(options))
    return _run(metrics.PAIRED, [{} for _ in pairs], pairs, context)


def across_sets(preds: Sequence, models: Sequence[str] = (),
                protocol: str = scorer.DEFAULT_PROTOCOL) -> robustness.Table:
    """The robustness table of ``preds`` (caches of any test sets): each test set's result
    rows (:func:`build`, ImageNet-A/-R under ``protocol``; val with ReaL where its images
    have ReaL labels), arranged one row per model by :data:`metrics.ACROSS_SETS`. Rows of
    ``models`` only when given (the effective-robustness fits use every model present)."""
    context = Context(check_options(Options(protocol=protocol)))
    sets = robustness.group(preds)
    names = sorted({m for ms in sets.values() for m in ms})
    chosen = [robustness.resolve(preds, m, names) for m in models]
    present = [n for n in datasets.names()
               if n in sets and (n == robustness.VAL or n in robustness.SHIFTED)]
    for name in present:
        context.results[name] = _set_rows(name, list(sets[name].values()), context)
    rows = _run(metrics.ACROSS_SETS, [{"model": m} for m in names],
                [{n: ms[m] for n, ms in sets.items() if m in ms} for m in names], context)
    if chosen:
        rows = [next(r for r in rows if r["model"] == m) for m in chosen]
    notes = context.notes + scorer.set_notes(preds)
    return robustness.Table(rows, present, context.fits, notes, protocol)


def _set_rows(name: str, caches: List, context: Context) -> Dict[str, Dict]:
    """``{model: result row}`` of one test set's caches (val: with ReaL where it applies,
    else a note naming the models)."""
    options = context.options
    if name == robustness.VAL:
        why = _no_real(caches[0])
        if why is None:
            options = replace(options, labels=metrics.base.REAL)
        else:
            context.notes.append(robustness.note_for(
                f"no ReaL column for {{models}}: {why}", sorted(p.qualname for p in caches)))
    return {row["model"]: row for row in build(caches, options, ranked=False)}


def _no_real(val) -> Optional[str]:
    """Why the val caches (one image list, ``val`` among them) have no ReaL labels; None
    when they have."""
    from imagenet_bench.data import real_labels
    try:
        real_labels.rows_for(val.image_ids, val.fingerprint)
    except BenchError as e:
        return str(e)
    return None
