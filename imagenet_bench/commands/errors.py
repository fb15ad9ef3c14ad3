"""``imagenet-bench errors``: the images most models get wrong (numpy only)."""
from __future__ import annotations

import argparse

from imagenet_bench.errors import InputError
from imagenet_bench.commands._common import (HelpFormatter, add_output_args, add_precomputed_args, add_protocol_arg,
                                              deprecated, loading, render, report_skipped)



def add_parser(sub) -> None:
    """Register the ``errors`` subcommand."""
    p = sub.add_parser(
        "errors", help="list the images most models get wrong (label-error candidates)",
        description="Rank the scored images by how many models miss them at top-1 and list "
                    "the classes they predict instead. Images that every model gets wrong "
                    "the same way are often mislabelled: a starting point for finding label "
                    "errors. All caches must cover the same images.",
        formatter_class=HelpFormatter)
    add_precomputed_args(p)
    p.add_argument("--limit", type=int, default=100, help="list at most this many images")
    p.add_argument("--min-wrong", type=int, default=1,
                   help="list only images at least this many models get wrong")
    p.add_argument("--labels", choices=("original", "real"), default="original",
                   help="real: add each image's ReaL label set (Beyer et al. 2020, "
                        "arXiv:2006.07159; needs timm's package data)")
    p.add_argument("--show-real", dest="labels", nargs=0, const="real", help=argparse.SUPPRESS,
                   action=deprecated("--labels real"))
    add_protocol_arg(p)
    add_output_args(p, default_format="csv")
    p.set_defaults(func=run)


def run(args) -> int:
    """Load the caches, rank the images (:func:`imagenet_bench.api.errors`) and write the table."""
    from imagenet_bench import api
    if args.limit < 1 or args.min_wrong < 1:
        raise InputError(f"--limit {args.limit} / --min-wrong {args.min_wrong}: both must be >= 1. "
                         f"Fix: pass 1 or more, or leave them out for the defaults")
    preds = api.load(args.precomputed, val_dir=args.val_dir, mixed_hint=None, **loading(args))
    table = api.errors(preds, limit=args.limit, min_wrong=args.min_wrong,
                       show_real=args.labels == "real", protocol=args.protocol)
    render(table, args.format, args.output)
    report_skipped(preds)
    return 0
