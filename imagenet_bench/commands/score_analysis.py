"""Analysis options of ``imagenet-bench score`` (numpy only; matplotlib lazily for --plot).

Kept out of ``score.py`` so the two evolve separately: ``add_arguments``
adds ``--ci``, ``--confidence``, ``--published``, ``--margin`` and
``--plot``; ``custom_labels_file`` tells a ``--labels FILE.npy`` from
``--labels real``; ``extend`` adds interval, published-vs-measured and ReaL
columns to the lead's rows and column list, and draws the figures.
"""
from __future__ import annotations

import sys
from typing import Dict, List, Optional, Sequence

from imagenet_bench.analysis import published
from imagenet_bench.report import columns as report_columns
from imagenet_bench.report import tables as report
from imagenet_bench.analysis import stats
from imagenet_bench.errors import InputError

REAL = "real"
LABELS_HELP = ("custom labels: FILE.npy with one class index per scored image (extra columns), "
               "or 'real' for ReaL top-1 beside the original (Beyer et al. 2020, 'Are we done "
               "with ImageNet?', arXiv:2006.07159; label sets from timm's package data, images "
               "with an empty set left out)")


def add_arguments(parser) -> None:
    """Add the analysis options to the ``score`` parser."""
    g = parser.add_argument_group("analysis")
    g.add_argument("--ci", action="store_true",
                   help="show a Wilson score interval beside every accuracy (low/high columns)")
    g.add_argument("--confidence", type=float, default=stats.DEFAULT_CONFIDENCE,
                   help="confidence level of the intervals")
    g.add_argument("--published", action="store_true",
                   help="add the documented acc@5, its difference, a flag where the measured "
                        "acc@1 is more than --margin below the published figure, and the likely "
                        "reason where the cache records it")
    g.add_argument("--margin", type=float, default=published.DEFAULT_MARGIN,
                   help="percentage points below the published acc@1 that raise the flag")
    g.add_argument("--calibration", action="store_true",
                   help="add ECE (15 equal-width and 100 equal-mass bins), NLL, Brier and, for "
                        "caches with logits, the fitted temperature and the figures after it, on "
                        "the rows after the first 20 %% (docs/analysis.md); with --plot also "
                        "reliability diagrams (FILE.reliability.png)")
    g.add_argument("--plot", metavar="FILE.png",
                   help="draw acc@1 of every model with its interval as a bar chart coloured by "
                        "framework; with --published also the measured-vs-published scatter "
                        "(FILE.published.png). Needs matplotlib")


def custom_labels_file(args) -> Optional[str]:
    """The ``--labels`` value when it names a custom-label file (not ``real``)."""
    labels = getattr(args, "labels", None)
    return None if labels in (None, REAL) else labels


def _insert_after(columns: List[report.Column], key: str, new: Sequence[report.Column]) -> None:
    at = next((i + 1 for i, c in enumerate(columns) if c.key == key), len(columns))
    columns[at:at] = list(new)


add_interval = stats.add_interval  # the interval columns of a score row (also the HTML report's)


def _interval_columns(key: str, header: str) -> List[report.Column]:
    return [report.Column(f"{key}_low", f"{header} low"),
            report.Column(f"{key}_high", f"{header} high")]


def _by_row(rows: Sequence[Dict], preds: Sequence) -> List:
    """The predictions each score row came from (rows carry framework, model, dataset tag)."""
    from imagenet_bench.cache.store import dataset_tag
    from imagenet_bench.data import datasets

    index = {(p.framework, p.qualname, dataset_tag(p.num_images, p.fingerprint, datasets.name_of(p))): p
             for p in preds}
    return [index[(r["framework"], r["model"], r["dataset"])] for r in rows]


def add_real_columns(rows: List[Dict], preds: Sequence, args) -> None:
    """ReaL top-1 (``real_acc1``) and its image count for every row, over the scored images."""
    from imagenet_bench.analysis import scorer
    from imagenet_bench.data import real_labels

    selected: Dict[str, object] = {}  # fingerprint -> scored rows
    for row, p in zip(rows, _by_row(rows, preds)):
        if p.fingerprint not in selected:
            keep = scorer.load_index_file(args.keep, p.num_images, "--keep") if args.keep else None
            omit = scorer.load_index_file(args.omit, p.num_images, "--omit") if args.omit else None
            selected[p.fingerprint] = scorer.select_rows(p.num_images, keep, omit)
        sel = selected[p.fingerprint]
        if sel is None:
            sel = slice(None)
        correct, valid = real_labels.real_correct(p)
        row["real_acc1"] = 100.0 * correct[sel].sum() / max(1, valid[sel].sum())
        row["real_images"] = int(valid[sel].sum())
    for row, rank in zip(rows, scorer.competition_ranks([r["real_acc1"] for r in rows])):
        row["real_rank1"] = rank


def extend(rows: List[Dict], preds: Sequence, args, columns: List[report.Column]) -> None:
    """Add the requested analysis values to ``rows`` and their columns to ``columns`` (in place)."""
    conf = args.confidence
    if not 0.0 < conf < 1.0:
        raise InputError(f"--confidence {conf}: must be between 0 and 1, e.g. 0.95")
    pct = f"{100 * conf:g}%"
    if args.labels == REAL:
        add_real_columns(rows, preds, args)
        _insert_after(columns, "acc5", [report.Column("real_acc1", "ReaL@1"),
                                        report.Column("real_rank1", "ReaL rank"),
                                        report.Column("real_images", "ReaL images")])
    if args.ci or args.plot:
        for row in rows:
            for key in ("acc1", "acc5", "real_acc1", "custom_acc1", "custom_acc5"):
                add_interval(row, key, conf)
    if args.ci:
        for key, header in (("acc1", "acc@1"), ("acc5", "acc@5"), ("real_acc1", "ReaL@1"),
                            ("custom_acc1", "custom acc@1"), ("custom_acc5", "custom acc@5")):
            if any(key in r for r in rows):
                _insert_after(columns, key, _interval_columns(key, f"{header} {pct}"))
    if args.published:
        from imagenet_bench.data import datasets
        for row, p in zip(rows, _by_row(rows, preds)):
            full = datasets.get(row["test_set"]).num_images
            row.update(published.compare_to_published(row, p, args.margin, full_images=full))
        _insert_after(columns, "delta_acc1", report_columns.PUBLISHED)
        if args.labels == REAL:
            for row in rows:
                fig = published.figure(row["model"], published.REAL)
                row["published_real_acc1"] = fig.top1
                row["delta_real_acc1"] = (row["real_acc1"] - fig.top1
                                          if fig.top1 is not None else None)
            _insert_after(columns, "real_images", [
                report.Column("published_real_acc1", "published ReaL@1"),
                report.Column("delta_real_acc1", "ΔReaL@1", signed=True)])
    if getattr(args, "calibration", False):
        add_calibration(rows, preds, args, columns)
    if args.plot:
        _plot(rows, args)


def add_calibration(rows: List[Dict], preds: Sequence, args, columns: List[report.Column]) -> None:
    """The calibration figures of every row (``analysis.calibration_rows.cache_row``) and their
    columns; the protocol and the notes go to stderr."""
    from imagenet_bench.analysis import calibration_rows
    from imagenet_bench.cache.store import read_logits
    if args.keep or args.omit or custom_labels_file(args) or args.labels == REAL:
        raise InputError("--calibration: the calibration figures are those of every image of a "
                         "cache (split by row order) against its own labels. Fix: leave "
                         "--keep/--omit/--labels out of a --calibration run")
    notes: Dict[str, List[str]] = {}
    for row, p in zip(rows, _by_row(rows, preds)):
        row.update(calibration_rows.cache_row(p, args.protocol, read_logits(p)))
        for note in filter(None, row["calibration_note"].split("; ")):
            notes.setdefault(note, []).append(row["model"])
    _insert_after(columns, columns[-1].key, report_columns.CALIBRATION)
    print(f"note: calibration: {calibration_rows.PROTOCOL}", file=sys.stderr)
    for note, models in notes.items():
        print(f"note: {report.plural(len(models), 'cache')}: {note}", file=sys.stderr)


def _plot(rows: List[Dict], args) -> None:
    from imagenet_bench.report import plots
    fig_rows = rows  # the model column is the canonical id
    pct = f"{100 * args.confidence:g}%"
    plots.accuracy_bars(fig_rows, args.plot, title=f"ImageNet top-1 with {pct} Wilson intervals")
    print(f"wrote {args.plot}", file=sys.stderr)
    if args.published:
        path = plots.companion_path(args.plot, "published")
        plots.published_scatter(fig_rows, path, title="Measured vs published top-1")
        print(f"wrote {path}", file=sys.stderr)
    if getattr(args, "calibration", False):
        path = plots.companion_path(args.plot, "reliability")
        plots.reliability_diagram(fig_rows, path, title="Reliability (15 equal-width bins, "
                                                        "rows after the first 20 %)")
        print(f"wrote {path}", file=sys.stderr)
