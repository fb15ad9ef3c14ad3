"""``imagenet-bench predict``: run models over a validation directory and write caches.

One cache per model under ``-o DIR`` (default ``runs/``, see
:mod:`imagenet_bench.cache.locations`); resumable,
shardable under torchrun/SLURM (see :mod:`imagenet_bench.run.runner`).

The options become one typed :class:`~imagenet_bench.run.config.RunConfig` per
model (built once, here); the model's library (:mod:`imagenet_bench.models.libraries`,
registered through entry points) turns it into a backend with
``from_config(config)`` (the :mod:`runner` protocol), imported only then.
"""
from __future__ import annotations

import argparse
import functools
import sys

from imagenet_bench.cache.locations import RUNS_DIR
from imagenet_bench.commands import _common
from imagenet_bench.commands._common import add_framework_arg
from imagenet_bench.errors import BenchError, InputError


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``predict``."""
    p = subparsers.add_parser(
        "predict", help="predict the validation set with pretrained models and cache the top-5",
        description="Predict every image of VAL_DIR (one folder per wnid, or the flat official "
                    "files) with one or more models; write one cache per model; print acc@1/acc@5. "
                    "Interrupted runs resume; under torchrun or SLURM each process takes a shard.")
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The predict options (shared with scripts/imagenet_pytorch_get_predictions.py)."""
    p.add_argument("val_dir", metavar="VAL_DIR", help="validation images: wnid folders or flat files")
    _common.add_dataset_arg(p)
    add_framework_arg(p, "look names up in this model library only (default: the name decides; "
                         "torch for --all, the library that runs custom models for --model-factory)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", "-m", action="append", metavar="NAME",
                       help="registry model (torch:resnet50, torch:resnet50.IMAGENET1K_V2, "
                            "ResNet50_Weights.IMAGENET1K_V2, keras:MobileNetV2, a 2019 name; see "
                            "`imagenet-bench models`); repeat or separate by commas for several")
    which.add_argument("--all", action="store_true",
                       help="the 2019 study's models of the framework (21 torch, 13 keras)")
    which.add_argument("--model-factory", metavar="MODULE:CALLABLE",
                       help="custom torch model: a callable returning a module with 1,000 ImageNet "
                            "outputs (e.g. torchvision.models:resnet18 gives random weights)")
    p.add_argument("--name", help="name of a --model-factory model (its id is custom:NAME)")
    p.add_argument("--weights", help="'none' for random weights (seeded; the id gets +random); torch: "
                                     "another weights tag of the architecture; keras: a .h5 file")
    p.add_argument("--checkpoint", metavar="FILE|DIR",
                   help="weights file to use instead of downloading them (the id gets +ckpt-<sha8 "
                        "of the file>); a folder: every checkpoint file in it, in natural order, "
                        "one cache each (a series: `score --checkpoint-series`)")
    p.add_argument("--checkpoints", metavar="GLOB",
                   help="the checkpoint files matching GLOB ('runs/exp1/epoch_*.pth'), as a series")
    p.add_argument("--preprocess", choices=("reference", "legacy2019"),
                   help="reference (default): each weight's own recipe from the registry; legacy2019: "
                        "the 2019 study's pipeline (torch Resize(256) + CenterCrop(224|299); keras "
                        "nearest squash), id +legacy2019")
    custom = p.add_argument_group(
        "recipe overrides (any model; the id gets +recipe-<sha8>; a --model-factory model starts "
        "from resize 256, crop 224, bilinear, ImageNet mean/std)")
    custom.add_argument("--resize", type=int, help="shorter side before the centre crop")
    custom.add_argument("--crop", type=int, help="centre crop side")
    custom.add_argument("--mean", type=_floats, metavar="M[,M,M]",
                        help="per-channel mean on [0,1] pixels, 1 or 3 comma-separated numbers")
    custom.add_argument("--std", type=_floats, metavar="S[,S,S]",
                        help="per-channel std on [0,1] pixels, 1 or 3 comma-separated numbers")
    custom.add_argument("--img-size", type=int, metavar="N",
                        help="timm's spelling (validate.py): image size N, the model's crop_pct kept "
                             "(the resize scales with it) unless --crop-pct or --resize is given")
    custom.add_argument("--crop-pct", type=float, metavar="F",
                        help="timm's crop fraction: resize side floor(image size / F)")
    custom.add_argument("--interpolation", choices=("nearest", "bilinear", "bicubic", "lanczos"),
                        help="resize filter")
    p.add_argument("--corruption-protocol", choices=("benchmark", "model-crop"), default="benchmark",
                   help="ImageNet-C sets: benchmark (default; the benchmark's test.py: no resize, "
                        "centre crop 224) or model-crop (the 224 image resized to the model's own "
                        "crop). See docs/datasets.md")
    p.add_argument("-o", "--out", default=RUNS_DIR, help=f"cache directory (default {RUNS_DIR}/)")
    p.add_argument("-b", "--batch-size", type=int, help="images per batch (torch: 32)")
    p.add_argument("-j", "--workers", type=int, help="DataLoader worker processes (default: CPU threads)")
    p.add_argument("--threads", type=int, help="torch CPU threads per process (default: cores / local procs)")
    p.add_argument("--device", help="torch: auto (default: cuda > mps > cpu), cuda, cuda:N, mps or cpu")
    p.add_argument("--amp", nargs="?", const="auto", choices=("bf16", "fp16", "auto"),
                   help="torch mixed precision (autocast) in bf16 or fp16 (alone: fp16 on CUDA, "
                        "bf16 elsewhere); changes the results, so the id gets +bf16/+fp16")
    p.add_argument("--checkpoint-every", type=int, default=1000, metavar="N",
                   help="save partial results every N images")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="record unreadable images as missing (counted wrong) instead of stopping")
    p.add_argument("--save-all-probs", action="store_true", help="also store all 1,000 probabilities (float16)")
    p.add_argument("--overwrite", action="store_true", help="replace caches made with other settings")
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit "
                                                   "(default: the validation labels shipped with imagenet_bench)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _floats(text: str):
    """'0.5' or '0.485,0.456,0.406' -> list of floats (argparse type)."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 1 or 3 comma-separated numbers, got {text!r}") from None


def check_model_options(args) -> None:
    """Refuse --model-factory without --name (or with another framework), and --name without it
    (``predict`` and ``verify variants`` choose a model the same way)."""
    if args.model_factory and not args.name:
        raise InputError("--model-factory needs --name (the model's name in the cache and table)")
    if args.model_factory:
        from imagenet_bench.models import libraries
        try:
            libraries.for_factory(args.framework)
        except BenchError as e:
            raise InputError(str(e)) from None
    if args.name and not args.model_factory:
        raise InputError("--name names a --model-factory model; a registry model is named by its "
                         "identity (e.g. torch:resnet50.IMAGENET1K_V1)")


def configs(args) -> list:
    """One :class:`RunConfig` per requested model, built once from the command line."""
    from imagenet_bench.models import registry
    from imagenet_bench.run import config, series

    check_model_options(args)
    names = [n for m in (args.model or []) for n in m.split(",") if n]
    for option, value, low in (("--batch-size", args.batch_size, 1), ("--crop", args.crop, 1),
                               ("--resize", args.resize, 1), ("--threads", args.threads, 1),
                               ("--img-size", args.img_size, 1),
                               ("--workers", args.workers, 0),
                               ("--checkpoint-every", args.checkpoint_every, 1)):
        if value is not None and value < low:
            raise InputError(f"{option} {value}: must be at least {low}. Fix: pass {option} {low} "
                             f"or more, or leave it out for the default")
    if args.model_factory:
        names = [args.name]
    elif args.all:
        names = [str(s.id) for s in registry.list_models(framework=args.framework or "torch",
                                                           study2019=True)]
        if not names:
            have = sorted({s.id.framework for s in registry.list_models(study2019=True)})
            raise InputError(f"--all --framework {args.framework}: selects no model (--all is the "
                             f"2019 study's models, which are {' and '.join(have)} models). Fix: "
                             f"--all --framework {' or '.join(have)}, or name models with -m NAME")
    elif not names:
        raise InputError(f"--model {' '.join(repr(m) for m in args.model)}: no model name given. "
                         f"Fix: -m NAME (e.g. -m torch:resnet50; `imagenet-bench models` lists "
                         f"them), several as -m A,B")
    if series.is_series(args.checkpoint, args.checkpoints):
        if len(names) != 1:
            raise InputError(f"--checkpoint DIR / --checkpoints: a series is one architecture's "
                             f"checkpoints; {len(names)} models were given. Fix: pass one --model "
                             f"(or --model-factory)")
        return series.configs(functools.partial(config.build, names[0], args.framework),
                              args.checkpoint, args.checkpoints, **_build_options(args))
    return [_corruption_protocol(args, functools.partial(
        config.build, name, args.framework, checkpoint=args.checkpoint, **_build_options(args)))
        for name in names]


def _corruption_protocol(args, build):
    """The config ``build()`` makes, under ``--corruption-protocol`` on an ImageNet-C set (its
    recipe options replace the model's resize and crop)."""
    from imagenet_bench.data import imagenet_c
    cfg = build()
    opts = imagenet_c.recipe_options(args.dataset, args.corruption_protocol, cfg.recipe.crop)
    if opts is None:
        return cfg
    given = [o for o in ("resize", "crop", "img_size", "crop_pct") if getattr(args, o) is not None]
    if given:
        raise InputError(f"--{given[0].replace('_', '-')} with --dataset {args.dataset}: ImageNet-C "
                         f"sets are read under --corruption-protocol ({args.corruption_protocol}), "
                         f"which sets the resize and crop. Fix: drop --{given[0].replace('_', '-')}, "
                         f"or pick the protocol with --corruption-protocol")
    return build(**opts)


def _build_options(args) -> dict:
    """``config.build``'s keyword options from the command line (all but the checkpoint)."""
    return dict(weights=args.weights, preprocess=args.preprocess, resize=args.resize,
                crop=args.crop, interpolation=args.interpolation, mean=args.mean, std=args.std,
                img_size=args.img_size, crop_pct=args.crop_pct, amp=args.amp,
                factory=args.model_factory, device=args.device, batch_size=args.batch_size,
                workers=args.workers, threads=args.threads)


def run(args) -> int:
    """Predict with every requested model; exit 2 if any model failed."""
    from imagenet_bench.data import datasets
    from imagenet_bench.run import runner, series

    datasets.get(args.dataset)  # an unknown --dataset before anything is loaded
    runs = configs(args)
    runner.check_writable(args.out)  # before any data or model is loaded
    # the images and their layout before a framework is imported (layout errors come in a second)
    valset = datasets.discover(args.val_dir, args.dataset, devkit=args.devkit)
    from imagenet_bench.models import libraries
    adapters = {cfg.framework: libraries.get(cfg.framework).import_adapter() for cfg in runs}
    options = runner.RunOptions(out_dir=args.out, checkpoint_every=args.checkpoint_every,
                                skip_bad_images=args.skip_bad_images, save_all_probs=args.save_all_probs,
                                overwrite=args.overwrite, progress=not args.no_progress)
    if runs and runs[0].series is not None:
        return series.run(runs, adapters[runs[0].framework], lambda b: runner.run(valset, b, options))
    failures = []
    for cfg in runs:
        try:
            runner.run(valset, adapters[cfg.framework](cfg), options)
        except BenchError as e:
            if len(runs) == 1:
                raise
            print(f"imagenet-bench predict: {cfg.model}: error: {e}", file=sys.stderr)
            failures.append(cfg.model)
    if failures:
        print(f"{len(failures)} of {len(runs)} models failed: {', '.join(failures)}", file=sys.stderr)
        return 2
    return 0
