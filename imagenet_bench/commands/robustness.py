"""``imagenet-bench robustness``: val, ReaL, ImageNetV2, -A, -R, -Sketch and effective robustness.

Reads every cache in ``--precomputed DIR`` (made by ``predict --dataset NAME``),
one row per model; see :mod:`imagenet_bench.analysis.robustness` for the
definitions. numpy and the standard library only (matplotlib for ``--plot``).
"""
from __future__ import annotations

import sys

from imagenet_bench.cache.locations import RUNS_DIR
from imagenet_bench.commands._common import (HelpFormatter, add_loading_args, add_output_args,
                                              add_protocol_arg, emit, loading, report_skipped)
from imagenet_bench.report import columns as report_columns
from imagenet_bench.errors import InputError
from imagenet_bench.report import tables as report


def add_parser(sub) -> None:
    """Register the ``robustness`` subcommand."""
    p = sub.add_parser(
        "robustness", help="top-1 on ImageNet val, ReaL, V2, A, R, Sketch and effective robustness",
        description="One row per model: top-1 (%) on each test set cached in --precomputed "
                    "(`predict --dataset NAME`), ReaL top-1 on val, each set's difference to "
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
    p.add_argument("--plot", metavar="FILE",
                   help="also draw shifted vs val top-1 (logit axes) with the fits (.png/.pdf/.svg)")
    p.add_argument("--corruptions", choices=("summary", "grid"),
                   help="ImageNet-C instead: per model the clean error, mCE, relative mCE and the "
                        "unnormalised mean error (summary), or the corruption x severity errors "
                        "with each CE (grid). See docs/analysis.md")
    add_loading_args(p)
    add_protocol_arg(p)
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Load every cache, build the table and print it (and the plot)."""
    from imagenet_bench.analysis import robustness, scorer
    from imagenet_bench.data import datasets, imagenet_c
    preds = scorer.load_predictions(args.precomputed, allow_mixed=True, **loading(args))
    if args.corruptions:
        return corruption_tables(preds, args.corruptions, args.precomputed, args.format,
                                 args.output, args.models)
    table = robustness.build(preds, args.models, protocol=args.protocol)
    fits = "; ".join(f"{n}: logit(acc) = {f.intercept:+.3f} {f.slope:+.3f}*logit(val) "
                     f"({f.models} models)" for n, f in table.fits.items())
    title = (f"Top-1 (%) of {len(table.rows)} models on {', '.join(table.present)} "
             f"({args.precomputed}); {_protocol_words(args.protocol)}; Δ: minus val (val200: val "
             f"images of the same 200 classes, {args.protocol}); ER: effective robustness (points)"
             + (f"\nbaselines: {fits}" if fits else ""))
    for note in table.notes:
        print(f"note: {note}", file=sys.stderr)
    emit(report.render(table.rows, report_columns.robustness(table, args.format), args.format, title=title),
         args.output)
    if args.plot:
        from imagenet_bench.report import plots
        plots.robustness_scatter(table.rows, table.fits, args.plot,
                                 title="Effective robustness (logit axes)")
        print(f"wrote {args.plot}", file=sys.stderr)
    if any(imagenet_c.parse(datasets.name_of(p)) for p in preds):
        print("note: ImageNet-C caches present: --corruptions summary (mCE) or --corruptions grid "
              "(corruption x severity)", file=sys.stderr)
    report_skipped(preds)
    return 0


def corruption_tables(preds, which: str, where: str, fmt: str, output, models=()) -> int:
    """Print the ImageNet-C ``which`` table ("summary" or "grid", analysis.corruption) of the
    caches ``preds`` read from ``where`` (``robustness`` and ``sweep collect``)."""
    from imagenet_bench.analysis import corruption, robustness
    from imagenet_bench.data import imagenet_c
    table = corruption.build(preds, lambda p: 100.0 - robustness.top1(p))
    if not table.summary:
        raise InputError(f"{where}: no ImageNet-C caches (--dataset "
                         f"imagenet-c-<corruption>-<severity>). Fix: predict them, e.g. "
                         f"`imagenet-bench sweep plan --data imagenet-c=DIR ...`, or drop --corruptions")
    if models:
        wanted = {corruption.base_name(m) for m in models}
        table.summary = [r for r in table.summary if r["model"] in wanted]
        table.grid = [r for r in table.grid if r["model"] in wanted]
    ref = corruption.alexnet()
    title = (f"ImageNet-C of {len(table.summary)} models ({where}): top-1 error (%); "
             f"CE_c = sum_s E_s,c / sum_s E_s,c(AlexNet); mCE = mean CE over the 15 benchmark "
             f"corruptions; relative: clean errors subtracted (clean: the model's imagenet-val "
             f"cache under its own recipe; AlexNet {100 * ref['clean_error']:.3f}%); mean err: "
             f"the unnormalised mean over 15 x 5 sets. Protocol: "
             f"{'; '.join(f'{k}: {v}' for k, v in imagenet_c.PROTOCOLS.items())}")
    for note in table.notes:
        print(f"note: {note}", file=sys.stderr)
    rows, cols = ((table.summary, report_columns.CORRUPTION_SUMMARY) if which == "summary"
                  else (table.grid, report_columns.CORRUPTION_GRID))
    emit(report.render(rows, cols, fmt, title=title), output)
    report_skipped(preds)
    return 0


def _protocol_words(protocol: str) -> str:
    if protocol == "masked":
        return "A/R masked to their 200 classes (--protocol masked; --protocol unmasked for the 1,000-class prediction)"
    return "A/R unmasked: the 1,000-class prediction (--protocol unmasked)"
