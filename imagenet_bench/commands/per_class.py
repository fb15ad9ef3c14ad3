"""``imagenet-bench per-class``: top-1 accuracy of a model on each class (numpy only)."""
from __future__ import annotations


from imagenet_bench.report import columns as report_columns
from imagenet_bench.report import tables as report
from imagenet_bench.analysis import stats
from imagenet_bench.errors import InputError
from imagenet_bench.commands._common import (HelpFormatter, add_output_args, add_precomputed_args, add_protocol_arg,
                                              emit, loading, protocol_title, report_skipped)


def add_parser(sub) -> None:
    """Register the ``per-class`` subcommand."""
    p = sub.add_parser(
        "per-class", help="top-1 accuracy of a model on each class (wnid and class name)",
        description="Per-class top-1 accuracy of one or more models, one row per model and "
                    "class, with the wnid and the class name.",
        formatter_class=HelpFormatter)
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="models as framework:name (e.g. torch:resnet50)")
    add_precomputed_args(p)
    p.add_argument("--ci", action="store_true",
                   help="add a Wilson score interval per class (50 images per class on the "
                        "full validation set, so the intervals are wide)")
    p.add_argument("--confidence", type=float, default=stats.DEFAULT_CONFIDENCE,
                   help="confidence level of the intervals")
    p.add_argument("--sort", choices=("class", "accuracy"), default="class",
                   help="row order: class index, or lowest accuracy first")
    add_protocol_arg(p)
    add_output_args(p, default_format="csv")
    p.set_defaults(func=run)


def run(args) -> int:
    """Load the named models and write their per-class table."""
    from imagenet_bench.analysis import compare, errors_view, scorer

    if not 0.0 < args.confidence < 1.0:
        raise InputError(f"--confidence {args.confidence}: must be between 0 and 1. Fix: e.g. "
                         f"--confidence 0.95")
    preds = scorer.load_predictions(args.precomputed, allow_mixed=True, val_dir=args.val_dir, **loading(args))
    rows, chosen = [], []
    for name in args.models:
        p = compare.find_model(preds, name)
        chosen.append(p)
        rows += errors_view.per_class_rows(p, scorer.protocol_correct(p, args.protocol)[0],
                                           ci=args.ci, confidence=args.confidence,
                                           protocol=args.protocol)
    if args.sort == "accuracy":
        rows.sort(key=lambda r: (r["top1"], r["model"], r["class"]))
    columns = report_columns.per_class(f"{100 * args.confidence:g}%" if args.ci else None, rows)
    title = (f"Per-class top-1 (%) of {', '.join(args.models)} ({args.precomputed})"
             + protocol_title(chosen, args.protocol))
    emit(report.render(rows, columns, args.format, title=title), args.output)
    report_skipped(preds)
    return 0
