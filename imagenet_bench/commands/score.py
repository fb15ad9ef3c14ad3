"""``imagenet-bench score``: rank every cached model by top-1 (numpy only)."""
from __future__ import annotations

import sys

from imagenet_bench.report import tables as report
from imagenet_bench.commands import score_analysis
from imagenet_bench.commands._common import (HelpFormatter, add_output_args, add_precomputed_args, add_protocol_arg,
                                              emit, loading, render, report_skipped)

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
    """Load, score and print the table (:func:`imagenet_bench.api.score`)."""
    from imagenet_bench import api

    preds = api.load(args.precomputed, allow_mixed_datasets=args.allow_mixed_datasets,
                     val_dir=args.val_dir, mixed_hint="--allow-mixed-datasets", **loading(args))
    table = api.score(preds, keep=args.keep, omit=args.omit, labels=args.labels,
                      protocol=args.protocol, ci=args.ci, confidence=args.confidence,
                      published=args.published, margin=args.margin,
                      allow_mixed_datasets=args.allow_mixed_datasets, calibration=args.calibration)
    if args.checkpoint_series:
        if args.calibration:
            from imagenet_bench.errors import InputError
            raise InputError("--checkpoint-series shows accuracy per checkpoint only. Fix: leave "
                             "--calibration out, or run `score --calibration` without the series")
        return _series(preds, table.rows, args)
    if args.plot:
        score_analysis.plot(table.rows, args)
    render(table, args.format, args.output)
    report_skipped(preds)
    return 0


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
