"""``imagenet-bench import``: convert the 2019 output layout to project caches."""
from __future__ import annotations

import os
import sys

from imagenet_bench.cache import locations
from imagenet_bench.errors import InputError
from imagenet_bench.commands._common import add_cache_dir_arg, add_val_dir_arg
from imagenet_bench.report import tables as report


def add_parser(sub) -> None:
    """Register the ``import`` subcommand."""
    p = sub.add_parser(
        "import", help="convert 2019-layout outputs (keras_imagenet/, pytorch_imagenet/) "
                       "to project caches",
        description="Read DIR/keras_imagenet/*_top5preds.npy and DIR/pytorch_imagenet/... as "
                    "published by the 2019 Keras-vs-PyTorch benchmark, sort each row's top-5 by "
                    "descending probability (stable: ties keep the file's column order, as "
                    "imagenet_bench.cache.northcutt2019 says) and write one .npz cache per model.")
    p.add_argument("directory", metavar="DIR", help="folder with the 2019 layout")
    add_cache_dir_arg(p, "output", f"where the caches are written (default: {locations.RUNS_DIR})",
                      default=locations.RUNS_DIR, old=("-o", "--output"))
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing caches (default: keep them and say so)")
    add_val_dir_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Convert every model found; skip (and say so) caches that already exist."""
    from imagenet_bench.cache import northcutt2019
    from imagenet_bench.cache import store as cache

    if not os.path.isdir(args.directory) or not northcutt2019.is_2019_layout(args.directory):
        raise InputError(f"{args.directory}: no keras_imagenet/ or pytorch_imagenet/ folder. "
                         f"Fix: point at the folder that holds them")
    preds = northcutt2019.load_directory(args.directory, val_dir=args.val_dir)
    if not preds:
        raise InputError(f"{args.directory}: no *_top5preds.npy files in its keras_imagenet/ or "
                         f"pytorch_imagenet/ folders. Fix: point at the 2019 study's output "
                         f"folder (the one holding keras_imagenet/ and pytorch_imagenet/)")
    written = skipped = 0
    for p in preds:
        path = os.path.join(args.output, cache.cache_filename(p.model_id, p.num_images,
                                                              p.fingerprint))
        if os.path.exists(path) and not args.overwrite:
            skipped += 1
            continue
        cache.save(path, p)
        written += 1
    print(f"wrote {report.plural(written, 'cache')} to {args.output}"
          + (f", kept {skipped} existing (use --overwrite to replace)" if skipped else ""),
          file=sys.stderr)
    return 0
