"""``imagenet-bench score``: rank every cached model by top-1 (numpy only)."""
from __future__ import annotations

import sys

from imagenet_bench.report import columns as report_columns
from imagenet_bench.report import tables as report
from imagenet_bench.commands import score_analysis
from imagenet_bench.commands._common import (HelpFormatter, add_output_args, add_precomputed_args, add_protocol_arg,
                                              emit, loading, protocol_title, report_skipped)

def add_parser(sub) -> None:
    """Register the ``score`` subcommand."""
    p = sub.add_parser(
        "score", help="rank all cached models by top-1/top-5 accuracy",
        description="Score cached predictions (project .npz caches or the 2019 layout with "
                    "keras_imagenet/ and pytorch_imagenet/ folders) and rank the models. "
                    "Imports neither torch nor tensorflow.",
        formatter_class=HelpFormatter)
    add_precomputed_args(p)
    p.add_argument("--keep", metavar="FILE.npy",
                   help="score only these images (integer indices, or a boolean mask)")
    p.add_argument("--omit", metavar="FILE.npy",
                   help="leave these images out (integer indices, or a boolean mask)")
    p.add_argument("--labels", metavar="FILE.npy",
                   help=score_analysis.LABELS_HELP)
    p.add_argument("--allow-mixed-datasets", action="store_true",
                   help="list caches over different image lists in one table (not comparable)")
    p.add_argument("--checkpoint-series", action="store_true",
                   help="the caches of `predict --checkpoint DIR` as series: one row per checkpoint "
                        "in order, the best marked (*) and every acc@1 against it")
    p.add_argument("--verify", action="store_true",
                   help="re-validate every cache file in full, whatever the folder index says, "
                        "and refresh the index")
    add_protocol_arg(p)
    score_analysis.add_arguments(p)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Load, score and print the table."""
    from imagenet_bench.analysis import scorer

    preds = scorer.load_predictions(args.precomputed, allow_mixed=args.allow_mixed_datasets,
                                    val_dir=args.val_dir, **loading(args))
    options = scorer.ScoreOptions(keep=args.keep, omit=args.omit,
                                  labels=score_analysis.custom_labels_file(args),
                                  protocol=args.protocol)
    rows = scorer.score(preds, options)
    if args.checkpoint_series:
        if args.calibration:
            from imagenet_bench.errors import InputError
            raise InputError("--checkpoint-series shows accuracy per checkpoint only. Fix: leave "
                             "--calibration out, or run `score --calibration` without the series")
        return _series(preds, rows, args)
    columns = report_columns.score(rows, mixed=args.allow_mixed_datasets,
                                   custom_labels=bool(options.labels))
    score_analysis.extend(rows, preds, args, columns)
    emit(table(args.precomputed, preds, rows, columns, args.format, protocol=args.protocol), args.output)
    report_skipped(preds)
    return 0


def table(directory: str, preds, rows, columns=None, fmt: str = "text",
          protocol: str = "masked") -> str:
    """The ``score`` table of ``rows`` (scored from ``preds``, read from ``directory``) in
    ``fmt``; notes on subsets and missing published figures go to stderr. ``columns``:
    :func:`report.columns.score` of the rows by default; ``protocol`` (how A/R rows were
    scored) labels the title."""
    from imagenet_bench.data import datasets

    if columns is None:
        columns = report_columns.score(rows)
    sizes = sorted({r["images"] for r in rows})
    title = (f"{report.plural(len(rows), 'model')} ranked by top-1 on "
             f"{', '.join(map(str, sizes))} image{'s' if sizes != [1] else ''} "
             f"({directory})" + protocol_title(preds, protocol))
    partial = [p for p in preds if p.num_images != datasets.get(datasets.name_of(p)).num_images]
    if partial:
        name = datasets.name_of(partial[0])
        whole = ("the 50,000-image validation set" if name == datasets.DEFAULT
                 else f"the {datasets.get(name).num_images:,} images of {name}")
        print(f"note: a cache covers a subset, not {whole}; its accuracies are not comparable "
              f"to published full-set figures", file=sys.stderr)
    for note in dict.fromkeys(r["published_note"] for r in rows
                              if r["published_acc1"] is None and r["test_set"] != datasets.DEFAULT):
        print(f"note: published@1 left empty: {note}", file=sys.stderr)
    return report.render(rows, columns, fmt, title=title)


SERIES_COLUMNS = [
    report.Column("model", "model"), report.Column("position", "#"),
    report.Column("checkpoint", "checkpoint"), report.Column("sha8", "sha256"),
    report.Column("acc1", "acc@1"), report.Column("acc5", "acc@5"),
    report.Column("delta_best", "Δbest@1", signed=True), report.Column("best", "best"),
    report.Column("images", "images"),
]


def _series(preds, rows, args) -> int:
    """``score --checkpoint-series``: one table of every checkpoint series in the folder."""
    from imagenet_bench.analysis import series
    from imagenet_bench.errors import InputError

    table, outside = series.series_rows(preds, rows)
    if not table:
        raise InputError(f"{args.precomputed}: no cache belongs to a checkpoint series. Fix: make "
                         f"one with `imagenet-bench predict --model M --checkpoint DIR VAL_DIR`")
    title = "; ".join(series.describe(table))
    columns = list(SERIES_COLUMNS)
    if len({r["test_set"] for r in table}) > 1:
        columns.insert(1, report.Column("test_set", "test set"))
    emit(report.render(table, columns, args.format, title=title), args.output)
    if outside:
        print(f"note: {report.plural(outside, 'cache')} in {args.precomputed} not part of a "
              f"checkpoint series left out", file=sys.stderr)
    report_skipped(preds)
    return 0
