"""``imagenet-bench per-class``: top-1 accuracy of a model on each class (numpy only)."""
from __future__ import annotations


from imagenet_bench.analysis import stats
from imagenet_bench.commands._common import (HelpFormatter, add_output_args, add_precomputed_args, add_protocol_arg,
                                              loading, render, report_skipped)


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
    """Load the named models and write their per-class table (:func:`imagenet_bench.api.per_class`)."""
    from imagenet_bench import api
    preds = api.load(args.precomputed, allow_mixed_datasets=True, val_dir=args.val_dir,
                     **loading(args))
    table = api.per_class(args.models, preds, ci=args.ci, confidence=args.confidence,
                          sort=args.sort, protocol=args.protocol)
    render(table, args.format, args.output)
    report_skipped(preds)
    return 0
