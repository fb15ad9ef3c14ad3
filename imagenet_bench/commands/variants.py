"""``imagenet-bench verify variants``: the same weights run every way, paired against the reference.

Parses the command line, calls :func:`imagenet_bench.api.verify_variants` (which runs the
reference and each variant, cached and resumable) and renders its table. See
:mod:`imagenet_bench.api.variants`.
"""
from __future__ import annotations

import argparse
import sys

from imagenet_bench.api.variants import CACHE_DIR
from imagenet_bench.backends import runtimes as registry
from imagenet_bench.commands import _common, run_settings
from imagenet_bench.commands._common import add_framework_arg
from imagenet_bench.commands.predict import check_model_options


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``verify variants`` (on ``verify``'s sub-parsers)."""
    p = subparsers.add_parser(
        "variants", help="same weights, every way of running them: paired table against fp32",
        description="Run the reference (fp32) and each variant of the same weights on the same "
                    "images (each cached and resumable), then print top-1/top-5, delta top-1 "
                    "with its Newcombe paired 95% interval, flips each way, McNemar exact p, "
                    "top-5 agreement, |delta prob| on the reference's top-1 class and images/s.")
    _common.add_test_set_arg(p)
    add_framework_arg(p, "look the name up in this model library only (default: the name decides)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", "-m", help="registry model (torch:resnet50, keras:MobileNet, "
                                             "any library's name; see `imagenet-bench models`)")
    which.add_argument("--model-factory", metavar="MODULE:CALLABLE",
                       help="custom torch model (a callable returning a module with 1,000 outputs)")
    p.add_argument("--name", help="name of a --model-factory model (its id is custom:NAME)")
    p.add_argument("--variants", metavar="LIST",
                   help=f"comma-separated, from {', '.join(registry.NAMES[1:])} (default: the model "
                        f"library's own list; torch: batch1..quantized; keras: batchN, keras-jax, "
                        f"keras-torch)")
    p.add_argument("--n", type=int, help="use N images evenly spaced over VAL_DIR (default all)")
    p.add_argument("--calibration-split", type=int, default=100, metavar="N",
                   help="first N rows calibrate onnx-int8/openvino-int8/quantized and are left out of every "
                        "row's scoring (100; only when such a variant is chosen)")
    run_settings.add(p, "verify variants", run_options=("overwrite", "no_progress"))
    _common.add_cache_dir_arg(p, "cache_dir", f"where the caches (and ONNX exports) are written "
                                              f"({CACHE_DIR})",
                              default=CACHE_DIR)
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit")
    _common.add_output_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    """Run the reference and every variant (:func:`imagenet_bench.api.verify_variants`); print
    the table (standard output) and a note per skipped variant (standard error); 0 when done."""
    from imagenet_bench import api
    check_model_options(args)
    run_settings.check_ranges(args)
    table = api.verify_variants(
        args.name if args.model_factory else args.model, args.val_dir, variants=args.variants,
        framework=args.framework, factory=args.model_factory, n=args.n,
        calibration_split=args.calibration_split, cache_dir=args.cache_dir, dataset=args.dataset,
        devkit=args.devkit, overwrite=args.overwrite, progress=not args.no_progress,
        **run_settings.build_options(args, leave=()))
    for line in table.notes:
        print(line, file=sys.stderr)
    _common.emit(table.render(args.format), args.output)
    return 0
