"""``imagenet-bench compare``: paired McNemar comparison of models (numpy only)."""
from __future__ import annotations

from imagenet_bench.analysis import stats
from imagenet_bench.errors import InputError
from imagenet_bench.commands._common import (HelpFormatter, add_output_args, add_precomputed_args, add_protocol_arg,
                                              loading, render, report_skipped)


def add_parser(sub) -> None:
    """Register the ``compare`` subcommand."""
    p = sub.add_parser(
        "compare", help="paired test of two models on the same images (McNemar exact)",
        description="Compare models scored on the same images (same fingerprint): the "
                    "accuracy difference with Newcombe's paired interval (built from Wilson "
                    "intervals), the counts of images only one model gets right, and McNemar's "
                    "exact two-sided test. Without model names, pairs every architecture that "
                    "exists in both frameworks (keras vs torch), one row per pair.",
        formatter_class=HelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="two models as framework:name (e.g. keras:resnet50 torch:resnet50)")
    add_precomputed_args(p)
    p.add_argument("--labels", choices=("original", "real"), default="original",
                   help="'real': correctness against the ReaL label sets (Beyer et al. 2020, "
                        "'Are we done with ImageNet?', arXiv:2006.07159), images without a "
                        "ReaL label left out")
    p.add_argument("--top", type=int, choices=(1, 5), default=1,
                   help="compare top-1 or top-5 correctness")
    p.add_argument("--ci", action="store_true",
                   help="also show each model's accuracy with its Wilson interval (the "
                        "difference always has its interval)")
    p.add_argument("--confidence", type=float, default=stats.DEFAULT_CONFIDENCE,
                   help="confidence level of the difference interval")
    p.add_argument("--calibration", action="store_true",
                   help="also each model's ECE (15 equal-width, 100 equal-mass bins) on the rows "
                        "after the first 20 %% and ECE(A) - ECE(B) with a paired bootstrap "
                        "interval (1,000 resamples of the images, seed 0; docs/analysis.md)")
    add_protocol_arg(p)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Load the caches, compare (:func:`imagenet_bench.api.compare`) and print the table."""
    from imagenet_bench import api

    if args.models and len(args.models) != 2:
        raise InputError(f"compare takes two model names or none; got {len(args.models)}: "
                         f"{' '.join(args.models)}. Fix: e.g. `compare keras:resnet50 "
                         f"torch:resnet50`, or no names to pair every shared architecture")
    preds = api.load(args.precomputed, allow_mixed_datasets=True, val_dir=args.val_dir,
                     **loading(args))
    a, b = args.models or (None, None)
    table = api.compare(a, b, preds, labels=args.labels, top=args.top, ci=args.ci,
                        confidence=args.confidence, protocol=args.protocol,
                        calibration=args.calibration)
    render(table, args.format, args.output)
    report_skipped(preds)
    return 0
