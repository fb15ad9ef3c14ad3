"""``imagenet-bench compare``: paired McNemar comparison of models (numpy only)."""
from __future__ import annotations

import sys

from imagenet_bench.report import columns as report_columns
from imagenet_bench.report import tables as report
from imagenet_bench.analysis import stats
from imagenet_bench.errors import InputError
from imagenet_bench.commands._common import (HelpFormatter, add_output_args, add_precomputed_args, add_protocol_arg,
                                              emit, loading, protocol_title, report_skipped)


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
    """Load the caches, build one row per pair and print the table."""
    from imagenet_bench.analysis import compare, scorer

    if args.models and len(args.models) != 2:
        raise InputError(f"compare takes two model names or none; got {len(args.models)}: "
                         f"{' '.join(args.models)}. Fix: e.g. `compare keras:resnet50 "
                         f"torch:resnet50`, or no names to pair every shared architecture")
    if not 0.0 < args.confidence < 1.0:
        raise InputError(f"--confidence {args.confidence}: must be between 0 and 1, e.g. 0.95")
    preds = scorer.load_predictions(args.precomputed, allow_mixed=True, val_dir=args.val_dir, **loading(args))
    if args.models:
        pairs = [(compare.find_model(preds, args.models[0]),
                  compare.find_model(preds, args.models[1]))]
    else:
        pairs, absent = compare.family_pairs(preds)
        if not pairs:
            raise InputError(f"{args.precomputed}: no architecture has predictions from both "
                             f"frameworks (looked for {', '.join(absent)}). Fix: predict the "
                             f"same architecture with --framework keras and --framework torch")
        if absent:
            print(f"note: not in {args.precomputed}: {', '.join(absent)}", file=sys.stderr)
    rows = [compare.compare_predictions(a, b, args.labels, args.top, args.confidence,
                                        protocol=args.protocol) for a, b in pairs]
    pct = f"{100 * args.confidence:g}%"
    columns = report_columns.compare(args.format, pct, args.ci, rows)
    if args.calibration:
        from imagenet_bench.analysis import calibration, calibration_rows
        for row, (a, b) in zip(rows, pairs):
            row.update(calibration_rows.paired_row(a, b, args.protocol, args.confidence))
            if row.get("calibration_note"):
                print(f"note: {row['model_a']} vs {row['model_b']}: {row['calibration_note']}",
                      file=sys.stderr)
        columns += report_columns.compare_calibration(pct)
        print(f"note: calibration: {calibration_rows.PROTOCOL}; A-B interval: paired percentile "
              f"bootstrap, {calibration.BOOTSTRAP_SAMPLES} resamples of the images, seed "
              f"{calibration.BOOTSTRAP_SEED}", file=sys.stderr)
    what = f"{'ReaL ' if args.labels == 'real' else ''}top-{args.top}"
    title = (f"Paired comparison of {what} accuracy (%): difference with Newcombe {pct} interval, "
             f"McNemar exact two-sided p ({args.precomputed})"
             + protocol_title([p for pair in pairs for p in pair], args.protocol))
    emit(report.render(rows, columns, args.format, title=title), args.output)
    report_skipped(preds)
    return 0
