"""``imagenet-bench robustness``: val, ReaL, ImageNetV2, -A, -R, -Sketch and effective robustness.

Reads every cache in ``--precomputed DIR`` (made by ``predict NAME=DIR``),
one row per model; see :mod:`imagenet_bench.analysis.robustness` for the
definitions. numpy and the standard library only (matplotlib for ``--plot``).
"""
from __future__ import annotations

import sys

from imagenet_bench.cache.locations import RUNS_DIR
from imagenet_bench.commands._common import (HelpFormatter, add_loading_args, add_output_args, add_plot_arg,
                                              add_protocol_arg, loading, render, report_skipped)


def add_parser(sub) -> None:
    """Register the ``robustness`` subcommand."""
    p = sub.add_parser(
        "robustness", help="top-1 on ImageNet val, ReaL, V2, A, R, Sketch and effective robustness",
        description="One row per model: top-1 (%) on each test set cached in --precomputed "
                    "(`predict NAME=DIR`), ReaL top-1 on val, each set's difference to "
                    "val (A and R: masked to their 200 classes, against full val and against "
                    "val restricted to the same 200 classes), and effective robustness: the "
                    "shifted top-1 above the linear fit of logit(shifted) on logit(val) across "
                    "the models present (Taori et al. 2020), in points.",
        formatter_class=HelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="models to list (framework:name); default all")
    p.add_argument("--precomputed", metavar="DIR", default=RUNS_DIR,
                   help=f"folder of caches of any of the test sets (default {RUNS_DIR}/, where "
                        f"predict writes)")
    add_plot_arg(p, "also draw shifted vs val top-1 (logit axes) with the fits")
    p.add_argument("--corruptions", choices=("summary", "grid"),
                   help="ImageNet-C instead: per model the clean error, mCE, relative mCE and the "
                        "unnormalised mean error (summary), or the corruption x severity errors "
                        "with each CE (grid). See docs/analysis.md")
    add_loading_args(p)
    add_protocol_arg(p)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Load every cache, build the table (:func:`imagenet_bench.api.robustness`, with
    ``--corruptions`` :func:`imagenet_bench.api.corruption`) and print it (and the plot)."""
    from imagenet_bench import api
    from imagenet_bench.data import datasets, imagenet_c
    preds = api.load(args.precomputed, allow_mixed_datasets=True, **loading(args))
    if args.corruptions:
        render(api.corruption(preds, args.corruptions, args.models), args.format, args.output)
        report_skipped(preds)
        return 0
    table = api.robustness(preds, args.models, protocol=args.protocol)
    render(table, args.format, args.output)
    if args.plot:
        from imagenet_bench.report import plots
        plots.robustness_scatter(table.rows, table.table.fits, args.plot,
                                 title="Effective robustness (logit axes)")
        print(f"wrote {args.plot}", file=sys.stderr)
    if any(imagenet_c.parse(datasets.name_of(p)) for p in preds):
        print("note: ImageNet-C caches present: --corruptions summary (mCE) or --corruptions grid "
              "(corruption x severity)", file=sys.stderr)
    report_skipped(preds)
    return 0
