"""Loading caches and the tables computed from them: models, load, score, compare, robustness,
per_class, errors (numpy and stdlib only). Each returns a :class:`~imagenet_bench.api.table.Results`
(or a :class:`~imagenet_bench.analysis.scorer.Loaded` collection) and raises the project's
:class:`~imagenet_bench.errors.BenchError` types; options have the CLI's names and defaults.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Union

from imagenet_bench.analysis import metrics, results, scorer, stats
from imagenet_bench.analysis.scorer import Loaded
from imagenet_bench.api.table import Results
from imagenet_bench.cache import locations
from imagenet_bench.errors import InputError
from imagenet_bench.report import columns as report_columns
from imagenet_bench.report import tables as report

Caches = Union[str, os.PathLike, Sequence]  # a folder, several folders, or loaded caches


class Collection(Loaded):
    """The caches :func:`load` read: a list, with ``.find(name)``, ``.skipped`` (bad files
    left out by ``skip_bad``: (path, message) pairs) and ``.where`` (the folders)."""

    def find(self, name: str):
        """The one cache of model ``name`` (any spelling a command takes); InputError naming
        the models there when none or several match."""
        from imagenet_bench.analysis import compare as comparing
        return comparing.find_model(self, name)


def load(folders: Caches = None, *, allow_mixed_datasets: bool = False,
         val_dir: Optional[str] = None, use_index: bool = True, verify: bool = False,
         skip_bad: bool = False, mixed_hint: Optional[str] = "allow_mixed_datasets=True"
         ) -> Collection:
    """The caches of one folder or several (default: the shipped 34 models of 2019), as a
    :class:`Collection` with ``.find(name)`` and ``.skipped`` (bad files left out by
    ``skip_bad``). Caches over different image lists are refused unless
    ``allow_mixed_datasets`` (the error names ``mixed_hint``, the option that allows it)."""
    if isinstance(folders, Collection):
        return folders
    if isinstance(folders, Loaded):
        out = Collection(folders, where=folders.where)
        out.skipped = list(folders.skipped)
        return out
    if folders is None:
        folders = [locations.shipped_dir()]
    elif isinstance(folders, (str, os.PathLike)):
        folders = [folders]
    out = Collection()
    for folder in folders:
        part = scorer.load_predictions(os.fspath(folder), allow_mixed=True, val_dir=val_dir,
                                       use_index=use_index, verify=verify, skip_bad=skip_bad)
        out += part
        out.skipped += part.skipped
    scorer.check_same_images(out, allow_mixed_datasets, mixed_hint)
    out.where = ", ".join(os.fspath(f) for f in folders)
    return out


def _pct(confidence: float) -> str:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"--confidence {confidence}: must be between 0 and 1, e.g. 0.95. "
                         f"Fix: pass a level such as 0.95")
    return f"{100 * confidence:g}%"


def score(caches: Caches = None, *, keep: Optional[str] = None, omit: Optional[str] = None,
          labels: Optional[str] = None, protocol: str = scorer.DEFAULT_PROTOCOL,
          ci: bool = False, confidence: float = stats.DEFAULT_CONFIDENCE,
          published: bool = False, margin: float = metrics.base.DEFAULT_MARGIN,
          allow_mixed_datasets: bool = False, val_dir: Optional[str] = None,
          calibration: bool = False) -> Results:
    """Every cache ranked by top-1: ``imagenet-bench score`` (the results document of
    :func:`imagenet_bench.analysis.results.build`); ``labels``: a .npy file or "real";
    ``calibration``: ECE (both binnings), NLL, Brier and temperature scaling
    (docs/analysis.md#calibration)."""
    preds = load(caches, allow_mixed_datasets=allow_mixed_datasets, val_dir=val_dir)
    options = results.Options(keep=keep, omit=omit, labels=labels, protocol=protocol, ci=ci,
                              confidence=confidence, published=published, margin=margin,
                              extra=("calibration",) if calibration else ())
    rows = results.build(preds, options)
    columns = report_columns.score_table(rows, options, mixed=allow_mixed_datasets)
    notes = _score_notes(preds, rows) + (_calibration_notes(rows) if calibration else [])
    return Results(rows, columns, title=_score_title(preds, rows, protocol), notes=notes)


def _calibration_notes(rows) -> List[str]:
    """The calibration protocol, then each reason a figure is empty with its cache count."""
    from imagenet_bench.analysis import calibration_rows
    counts: Dict[str, int] = {}
    for row in rows:
        for note in filter(None, (row.get("calibration_note") or "").split("; ")):
            counts[note] = counts.get(note, 0) + 1
    return [f"note: calibration: {calibration_rows.PROTOCOL}"] + [
        f"note: {report.plural(n, 'cache')}: {note}" for note, n in counts.items()]


def _score_title(preds, rows, protocol) -> str:
    sizes = sorted({r["images"] for r in rows})
    return (f"{report.plural(len(rows), 'model')} ranked by top-1 on "
            f"{', '.join(map(str, sizes))} image{'s' if sizes != [1] else ''} "
            f"({preds.where})" + protocol_title(preds, protocol))


def _score_notes(preds, rows):
    from imagenet_bench.data import datasets
    notes = []
    partial = [p for p in preds if p.num_images != datasets.get(datasets.name_of(p)).num_images]
    if partial:
        name = datasets.name_of(partial[0])
        whole = ("the 50,000-image validation set" if name == datasets.DEFAULT
                 else f"the {datasets.get(name).num_images:,} images of {name}")
        notes.append(f"note: a cache covers a subset, not {whole}; its accuracies are not "
                     f"comparable to published full-set figures")
    notes += [f"note: published@1 left empty: {note}" for note in dict.fromkeys(
        r["published_note"] for r in rows
        if r["published_acc1"] is None and r["test_set"] != datasets.DEFAULT)]
    return notes


def protocol_title(preds, protocol: str) -> str:
    """The title line that labels the protocol when ``preds`` hold ImageNet-A/-R caches."""
    label = scorer.protocol_label(preds, protocol)
    return f"\n{label}" if label else ""


def compare(a: Optional[str] = None, b: Optional[str] = None, caches: Caches = None, *,
            labels: str = "original", top: int = 1, ci: bool = False,
            confidence: float = stats.DEFAULT_CONFIDENCE,
            protocol: str = scorer.DEFAULT_PROTOCOL, val_dir: Optional[str] = None,
            calibration: bool = False) -> Results:
    """Paired comparison of models ``a`` and ``b`` (McNemar exact, Newcombe interval), or
    without names every keras/torch pair of one architecture: ``imagenet-bench compare``;
    ``calibration``: also each model's ECE (both binnings) and A-B with a paired bootstrap
    interval. The rows are :func:`imagenet_bench.analysis.results.paired`'s."""
    from imagenet_bench.analysis import compare as comparing
    if (a is None) != (b is None):
        raise InputError(f"compare takes two model names or none; got {a or b!r} alone. Fix: "
                         f"e.g. compare('keras:resnet50', 'torch:resnet50'), or no names to "
                         f"pair every shared architecture")
    pct = _pct(confidence)
    preds = load(caches, allow_mixed_datasets=True, val_dir=val_dir)
    notes = []
    if a is not None:
        pairs = [(comparing.find_model(preds, a), comparing.find_model(preds, b))]
    else:
        pairs, absent = comparing.family_pairs(preds)
        if not pairs:
            raise InputError(f"{preds.where}: no architecture has predictions from both "
                             f"frameworks (looked for {', '.join(absent)}). Fix: predict the "
                             f"same architecture with --framework keras and --framework torch")
        if absent:
            notes.append(f"note: not in {preds.where}: {', '.join(absent)}")
    options = results.Options(labels=None if labels == "original" else labels, top=top,
                              protocol=protocol, confidence=confidence,
                              extra=("calibration",) if calibration else ())
    rows = results.paired(pairs, options)
    extra = _calibration_columns(rows, pct, notes) if calibration else []
    what = f"{'ReaL ' if labels == 'real' else ''}top-{top}"
    title = (f"Paired comparison of {what} accuracy (%): difference with Newcombe {pct} interval, "
             f"McNemar exact two-sided p ({preds.where})"
             + protocol_title([p for pair in pairs for p in pair], protocol))
    return Results(rows, report_columns.compare("json", pct, ci, rows) + extra, title=title,
                   notes=notes,
                   columns_for=lambda fmt: report_columns.compare(fmt, pct, ci, rows) + extra)


def _calibration_columns(rows, pct: str, notes: List[str]):
    """The notes of the pairs' calibration figures (why a pair has none, how they are made);
    the columns they add."""
    from imagenet_bench.analysis import calibration, calibration_rows
    for row in rows:
        if row.get("calibration_note"):
            notes.append(f"note: {row['model_a']} vs {row['model_b']}: {row['calibration_note']}")
    notes.append(f"note: calibration: {calibration_rows.PROTOCOL}; A-B interval: paired "
                 f"percentile bootstrap, {calibration.BOOTSTRAP_SAMPLES} resamples of the images, "
                 f"seed {calibration.BOOTSTRAP_SEED}")
    return report_columns.compare_calibration(pct)


def robustness(caches: Caches = None, models: Sequence[str] = (), *,
               protocol: str = scorer.DEFAULT_PROTOCOL) -> Results:
    """Top-1 on every test set cached, the differences to val and effective robustness:
    ``imagenet-bench robustness`` (the rows of :func:`imagenet_bench.analysis.results.across_sets`);
    the fits are in ``.table.fits``."""
    preds = load(caches if caches is not None else locations.RUNS_DIR, allow_mixed_datasets=True)
    table = results.across_sets(preds, list(models), protocol=protocol)
    fits = "; ".join(f"{n}: logit(acc) = {f.intercept:+.3f} {f.slope:+.3f}*logit(val) "
                     f"({f.models} models)" for n, f in table.fits.items())
    words = ("A/R masked to their 200 classes (--protocol masked; --protocol unmasked for the "
             "1,000-class prediction)" if protocol == "masked"
             else "A/R unmasked: the 1,000-class prediction (--protocol unmasked)")
    title = (f"Top-1 (%) of {len(table.rows)} models on {', '.join(table.present)} "
             f"({preds.where}); {words}; Δ: minus val (val200: val images of the same 200 "
             f"classes, {protocol}); ER: effective robustness (points)"
             + (f"\nbaselines: {fits}" if fits else ""))
    out = Results(table.rows, report_columns.robustness(table, "json"), title=title,
                  notes=[f"note: {n}" for n in table.notes],
                  columns_for=lambda fmt: report_columns.robustness(table, fmt))
    out.table = table
    return out


def per_class(models: Union[str, Sequence[str]], caches: Caches = None, *, ci: bool = False,
              confidence: float = stats.DEFAULT_CONFIDENCE, sort: str = "class",
              protocol: str = scorer.DEFAULT_PROTOCOL, val_dir: Optional[str] = None) -> Results:
    """Top-1 of each model on each class (``sort``: "class" or "accuracy"):
    ``imagenet-bench per-class``."""
    from imagenet_bench.analysis import compare as comparing, errors_view
    pct = _pct(confidence)
    names = [models] if isinstance(models, str) else list(models)
    preds = load(caches, allow_mixed_datasets=True, val_dir=val_dir)
    rows, chosen = [], []
    for name in names:
        p = comparing.find_model(preds, name)
        chosen.append(p)
        rows += errors_view.per_class_rows(p, scorer.protocol_correct(p, protocol)[0], ci=ci,
                                           confidence=confidence, protocol=protocol)
    if sort == "accuracy":
        rows.sort(key=lambda r: (r["top1"], r["model"], r["class"]))
    title = (f"Per-class top-1 (%) of {', '.join(names)} ({preds.where})"
             + protocol_title(chosen, protocol))
    return Results(rows, report_columns.per_class(pct if ci else None, rows), title=title)


def errors(caches: Caches = None, *, limit: int = 100, min_wrong: int = 1,
           show_real: bool = False, protocol: str = scorer.DEFAULT_PROTOCOL,
           val_dir: Optional[str] = None) -> Results:
    """The images most models get wrong at top-1: ``imagenet-bench errors``."""
    from imagenet_bench.analysis import errors_view
    if limit < 1 or min_wrong < 1:
        raise InputError(f"--limit {limit} / --min-wrong {min_wrong}: both must be >= 1. Fix: "
                         f"pass 1 or more")
    preds = load(caches, val_dir=val_dir, mixed_hint=None)
    if isinstance(caches, Loaded):
        scorer.check_same_images(preds, False, None)
    rows = errors_view.hard_example_rows(preds, limit=limit, min_wrong=min_wrong,
                                         with_real=show_real, protocol=protocol)
    title = (f"{report.plural(len(rows), 'image')} most of the "
             f"{report.plural(len(preds), 'model')} get wrong at top-1 "
             f"({preds.where})" + protocol_title(preds, protocol))
    return Results(rows, report_columns.hard_examples(show_real, rows), title=title)
