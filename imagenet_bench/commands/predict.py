"""``imagenet-bench predict``: run models over a validation directory and write caches.

One cache per model under ``--cache-dir DIR`` (default ``runs/``, see
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
from imagenet_bench.commands import _common, run_settings
from imagenet_bench.commands._common import add_framework_arg
from imagenet_bench.errors import BenchError, InputError


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``predict``."""
    p = subparsers.add_parser(
        "predict", help="predict the validation set with pretrained models and cache the top-5",
        description="Predict every image of the test set DIR (one folder per wnid, or the flat official "
                    "files) with one or more models; write one cache per model; print acc@1/acc@5. "
                    "Interrupted runs resume; under torchrun or SLURM each process takes a shard.")
    add_arguments(p)
    p.set_defaults(func=run)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The predict options (shared with scripts/imagenet_pytorch_get_predictions.py)."""
    _common.add_test_set_arg(p)
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
    p.add_argument("--checkpoints", metavar="GLOB",
                   help="the checkpoint files matching GLOB ('runs/exp1/epoch_*.pth'), as a series")
    _common.add_cache_dir_arg(p, "out", f"where the caches are written (default {RUNS_DIR}/)",
                              default=RUNS_DIR, old=("-o", "--out"))
    run_settings.add(p, "predict", run_options=("checkpoint_every", "skip_bad_images",
                                                "save_all_probs", "save_logits", "overwrite", "no_progress"))
    p.add_argument("--corruption-protocol", choices=("benchmark", "model-crop"), default="benchmark",
                   help="ImageNet-C sets: benchmark (default; the benchmark's test.py: no resize, "
                        "centre crop 224) or model-crop (the 224 image resized to the model's own "
                        "crop). See docs/datasets.md")
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit "
                                                   "(default: the validation labels shipped with imagenet_bench)")


def check_model_options(args) -> None:
    """Refuse --model-factory without --name (or with another framework), and --name without it
    (``predict`` and ``verify variants`` choose a model the same way)."""
    if args.model_factory and not args.name:
        raise InputError("--model-factory needs --name (the model's name in the cache and table). "
                         "Fix: add --name NAME, e.g. --name my_resnet")
    if args.model_factory:
        from imagenet_bench.models import libraries
        try:
            libraries.for_factory(args.framework)
        except BenchError as e:
            raise InputError(str(e)) from None
    if args.name and not args.model_factory:
        raise InputError("--name names a --model-factory model; a registry model is named by its "
                         "identity (e.g. torch:resnet50.IMAGENET1K_V1). Fix: leave --name out, "
                         "or use it with --model-factory MODULE:CALLABLE")


def configs(args) -> list:
    """One :class:`RunConfig` per requested model, built once from the command line."""
    from imagenet_bench.models import registry
    from imagenet_bench.run import config, series

    check_model_options(args)
    names = [n for m in (args.model or []) for n in m.split(",") if n]
    run_settings.check_ranges(args)
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
        raise InputError(f"--{given[0].replace('_', '-')} on {args.dataset}: ImageNet-C "
                         f"sets are read under --corruption-protocol ({args.corruption_protocol}), "
                         f"which sets the resize and crop. Fix: drop --{given[0].replace('_', '-')}, "
                         f"or pick the protocol with --corruption-protocol")
    return build(**opts)


def _build_options(args) -> dict:
    """``config.build``'s keyword options from the command line (all but the checkpoint)."""
    return dict(run_settings.build_options(args), factory=args.model_factory)


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
    from imagenet_bench.run.backend import build
    libs = {cfg.framework: libraries.get(cfg.framework) for cfg in runs}
    for lib in libs.values():  # a missing package before any image is read
        lib.import_adapter()
    if args.save_logits:
        from imagenet_bench.api.running import check_logits
        check_logits(runs)
    options = runner.RunOptions(out_dir=args.out, checkpoint_every=args.checkpoint_every,
                                skip_bad_images=args.skip_bad_images, save_all_probs=args.save_all_probs,
                                save_logits=args.save_logits,
                                overwrite=args.overwrite, progress=not args.no_progress)
    if runs and runs[0].series is not None:
        lib = libs[runs[0].framework]
        return series.run(runs, lambda cfg: build(lib, cfg), lambda b: runner.run(valset, b, options))
    failures = []
    for cfg in runs:
        try:
            runner.run(valset, build(libs[cfg.framework], cfg), options)
        except BenchError as e:
            if len(runs) == 1:
                raise
            print(f"imagenet-bench predict: {cfg.model}: error: {e}", file=sys.stderr)
            failures.append(cfg.model)
    if failures:
        print(f"{len(failures)} of {len(runs)} models failed: {', '.join(failures)}", file=sys.stderr)
        return 2
    return 0
