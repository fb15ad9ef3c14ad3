"""``imagenet-bench models``: list every pretrained classifier of the catalog (stdlib only)."""
from __future__ import annotations

import sys
from dataclasses import asdict

from imagenet_bench.errors import InputError, count
from imagenet_bench.analysis import published
from imagenet_bench.models import catalog, libraries
from imagenet_bench.models import recipe as recipes
from imagenet_bench.report import tables as report
from imagenet_bench.api.catalog import CSV_KEYS, csv_row, named
from imagenet_bench.commands._common import HelpFormatter, add_framework_arg, add_output_args, emit

TABLE = [
    report.Column("model", "model"), report.Column("input_size", "input"),
    report.Column("resize", "resize"), report.Column("interpolation", "interp"),
    report.Column("preprocessing", "norm"), report.Column("published_top1", "top-1", 3),
    report.Column("published_top5", "top-5", 3), report.Column("params_m", "params (M)", 1),
    report.Column("note", "note"),
]
#: ``--test-size``: the test-time recipe and timm's published figure at it, before the note
TEST_TABLE = TABLE[:-1] + [
    report.Column("test_size", "test size"), report.Column("test_top1", "test top-1", 3),
    report.Column("test_top5", "test top-5", 3), TABLE[-1]]


def add_parser(sub) -> None:
    """Register the ``models`` subcommand."""
    p = sub.add_parser(
        "models", help="list every pretrained classifier the tool knows, with its recipe",
        description="List the model catalog (every classification weight of each installed model "
                    "library, generated from the libraries' own metadata): canonical "
                    "name, input size, resize/crop/interpolation, normalisation and the published "
                    "accuracy with its source. The `model` column is the name every other "
                    "command accepts.",
        formatter_class=HelpFormatter)
    p.add_argument("pattern", nargs="?",
                   help="a model name as any command takes it (torch:resnet18, keras:ResNet50, "
                        "a cache's id such as torch:resnet18.IMAGENET1K_V1+random: its weights' "
                        "entry), or an fnmatch pattern over the model name, architecture and "
                        "aliases, case-insensitive, e.g. 'resnet*', 'keras:*' or "
                        "'ResNet50_Weights.*'")
    add_framework_arg(p, "only this model library", described=True)
    p.add_argument("--test-size", action="store_true",
                   help="only the tags with a test-time size (timm's test_input_size/"
                        "test_crop_pct, run as NAME+test-size), with the published figure at it")
    add_output_args(p, help_extra="; text/markdown: a readable subset of the columns, "
                                  "json: every field, csv/tsv: the CSV columns")
    p.set_defaults(func=run)


def _test_size(e: catalog.WeightsEntry) -> str:
    return f"{e.test_input_size} (crop_pct {e.test_crop_pct:g})" if e.test_input_size else ""


def _test_row(e: catalog.WeightsEntry) -> dict:
    fig = published.figure(f"{e.model}+{recipes.TEST_SIZE}")
    return dict(_table_row(e), test_size=_test_size(e), test_top1=fig.top1, test_top5=fig.top5)


def _table_row(e: catalog.WeightsEntry) -> dict:
    notes = ([] if e.runnable else [f"not runnable: {e.not_runnable_reason}"]) + \
            ([e.not_runnable_reason] if e.runnable and e.not_runnable_reason else []) + \
            ([f"test size {_test_size(e)}"] if e.test_input_size else []) + \
            ([f"quantized ({e.quantized_backend})"] if e.quantized_backend else []) + \
            (["default"] if e.is_default and libraries.get(e.framework).capabilities.weights_tags
             else [])
    return {"model": e.model, "input_size": e.input_size,
            "resize": f"{e.resize}->{e.crop}" if e.resize else f"{e.crop} ({e.crop_mode})",
            "interpolation": e.interpolation, "preprocessing": e.preprocessing,
            "published_top1": e.published_top1, "published_top5": e.published_top5,
            "params_m": e.params / 1e6 if e.params else None, "note": ", ".join(notes)}


def _no_match(args) -> str:
    """Why nothing matched (the pattern, the framework, --test-size, each named only when
    given) and a fix that does match something."""
    pattern = args.pattern
    what = f"no model matches '{pattern}'" if pattern else "no model"
    where = f" in framework '{args.framework}'" if args.framework else ""
    if args.test_size:
        where += " with a test size (--test-size)"
        sized = sorted({e.framework for e in catalog.match("*") if e.test_input_size})
        record = f"only the weights of {' and '.join(sized) or 'no library'} record one"
        if sized and args.framework and args.framework not in sized:
            return (f"{what}{where}: {record}. Fix: --framework {sized[0]}, or leave --test-size "
                    f"out")
        if catalog.match(pattern or "*", args.framework):
            return (f"{what}{where}: {record}, and not those. Fix: leave --test-size out to "
                    f"list them")
    if pattern:
        wider = f"*{pattern.split('+')[0]}*"
        if not args.test_size and catalog.match(wider, args.framework):
            return (f"{what}{where} (an fnmatch pattern, case-insensitive, over names such as "
                    f"torch:resnet50.IMAGENET1K_V2). Fix: try '{wider}'")
        if args.framework and catalog.match(pattern):
            return f"{what}{where}. Fix: leave --framework out (other libraries have it)"
    return (f"{what}{where}. Fix: run `imagenet-bench models` without a pattern to list every "
            f"name")


def run(args) -> int:
    """Print the catalog entries that match ``args.pattern`` and ``args.framework``."""
    found, notes = named(args.pattern, args.framework)
    for note in notes:
        print(note, file=sys.stderr)
    found = [e for e in found if e.test_input_size or not args.test_size]
    if not found and (args.pattern or "").lower().startswith("custom:"):
        raise InputError(f"{args.pattern!r} is the id of a --model-factory model: such models are "
                         f"not in the catalog. Fix: `imagenet-bench score --precomputed DIR` lists "
                         f"the caches of custom models; `imagenet-bench models` lists the catalog")
    if not found:
        raise InputError(_no_match(args))
    if args.format == "json":
        keys = catalog.KEYS
        text = report.render([asdict(e) for e in found], [report.Column(k, k) for k in keys],
                             "json")
    elif args.format in ("text", "markdown"):
        rows = [_test_row(e) for e in found] if args.test_size else [_table_row(e) for e in found]
        text = report.render(rows, TEST_TABLE if args.test_size else TABLE, args.format,
                             title=count(len(found), "model"))
    else:  # the machine-readable formats: csv, tsv, ...
        text = report.render([csv_row(e) for e in found],
                             [report.Column(k, k) for k in CSV_KEYS], args.format)
    emit(text, args.output)
    return 0
