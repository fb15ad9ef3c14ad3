"""``imagenet-bench predict``: run models over a validation directory and write caches.

One cache per model under ``-o DIR`` (default ``precomputed/``); resumable,
shardable under torchrun/SLURM (see :mod:`imagenet_bench.run.runner`).

The backend is chosen by ``--framework``: ``imagenet_bench.backends.torch`` or
``imagenet_bench.backends.keras.child``. A backend module provides
``from_args(spec, args) -> backend`` (the :mod:`runner` protocol).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from imagenet_bench.errors import BenchError, InputError

DEFAULT_OUT = "precomputed"


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
    p.add_argument("--framework", choices=tuple(BACKENDS), default="torch", help="backend (default torch)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", "-m", action="append", metavar="NAME",
                       help="registry model name; repeat or separate by commas for several")
    which.add_argument("--all", action="store_true", help="every registry model of the framework")
    which.add_argument("--model-factory", metavar="MODULE:CALLABLE",
                       help="custom torch model: a callable returning a module with 1,000 ImageNet "
                            "outputs (e.g. torchvision.models:resnet18 gives random weights)")
    p.add_argument("--name", help="name of the model in the cache (required with --model-factory)")
    p.add_argument("--weights", help="torchvision weights name (default: the registry's, IMAGENET1K_V1); "
                                     "'none' for random weights (seeded)")
    p.add_argument("--checkpoint", metavar="FILE", help="state_dict file to use instead of downloading "
                                                        "the weights")
    p.add_argument("--preprocess", choices=("reference", "legacy2019"), default="reference",
                   help="reference: each weight's own recipe (weights.transforms()); legacy2019: the "
                        "2019 study's Resize(256) + CenterCrop(224|299)")
    custom = p.add_argument_group("custom-model preprocessing (--model-factory)")
    custom.add_argument("--resize", type=int, default=256, help="shorter side before the crop (256)")
    custom.add_argument("--crop", type=int, default=224, help="centre crop side (224)")
    custom.add_argument("--mean", type=_floats, default=[0.485, 0.456, 0.406], metavar="M[,M,M]",
                        help="per-channel mean on [0,1] pixels, 1 or 3 comma-separated numbers "
                             "(default ImageNet's 0.485,0.456,0.406)")
    custom.add_argument("--std", type=_floats, default=[0.229, 0.224, 0.225], metavar="S[,S,S]",
                        help="per-channel std on [0,1] pixels, 1 or 3 comma-separated numbers "
                             "(default ImageNet's 0.229,0.224,0.225)")
    custom.add_argument("--interpolation", default="bilinear", help="nearest|bilinear|bicubic (bilinear)")
    p.add_argument("-o", "--out", default=DEFAULT_OUT, help=f"cache directory (default {DEFAULT_OUT}/)")
    p.add_argument("-b", "--batch-size", type=int, default=32, help="images per batch (32)")
    p.add_argument("-j", "--workers", type=int, help="DataLoader worker processes (default: CPU threads)")
    p.add_argument("--threads", type=int, help="torch CPU threads per process (default: cores / local procs)")
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cuda, cuda:N, mps or cpu")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision (autocast); faster on GPUs but changes the results")
    p.add_argument("--checkpoint-every", type=int, default=1000, metavar="N",
                   help="save partial results every N images (1000)")
    p.add_argument("--skip-bad-images", action="store_true",
                   help="record unreadable images as missing (counted wrong) instead of stopping")
    p.add_argument("--save-all-probs", action="store_true", help="also store all 1,000 probabilities (float16)")
    p.add_argument("--overwrite", action="store_true", help="replace caches made with other settings")
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit "
                                                   "(default: tensorflow-datasets package data)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _floats(text: str):
    """'0.5' or '0.485,0.456,0.406' -> list of floats (argparse type)."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 1 or 3 comma-separated numbers, got {text!r}") from None


#: framework name -> the module of its adapter (the runner's backend protocol, ``from_args``)
BACKENDS = {
    "torch": ("imagenet_bench.backends.torch", "torch"),
    "keras": ("imagenet_bench.backends.keras.child", "keras"),
    "timm": ("imagenet_bench.backends.timm", "timm"),
}


def backend_module(framework: str):
    """The adapter module of ``framework``, or a BenchError naming the extra to install."""
    if framework not in BACKENDS:
        raise BenchError(f"--framework {framework}: no such backend; choose one of "
                         f"{', '.join(sorted(BACKENDS))}")
    name, extra = BACKENDS[framework]
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("imagenet_bench"):
            raise BenchError(f"--framework {framework}: this installation has no {e.name} module") from None
        raise BenchError(f"--framework {framework} needs {e.name}, which is not installed. "
                         f"Fix: pip install 'imagenet_bench[{extra}]'") from None


def run(args) -> int:
    """Predict with every requested model; exit 2 if any model failed."""
    from imagenet_bench.data import dataset
    from imagenet_bench.models import registry
    from imagenet_bench.run import runner

    if args.model_factory and not args.name:
        raise InputError("--model-factory needs --name (the model's name in the cache and table)")
    if args.model_factory and args.framework != "torch":
        raise InputError("--model-factory is for --framework torch")
    names = [n for m in (args.model or []) for n in m.split(",") if n]
    if args.name and not args.model_factory and (args.all or len(names) > 1):
        raise InputError("--name names one model; it cannot be used with --all or several --model")
    if args.batch_size < 1:
        raise InputError(f"--batch-size {args.batch_size}: must be at least 1")
    valset = dataset.discover(args.val_dir, devkit=args.devkit)
    module = backend_module(args.framework)
    if args.model_factory:
        specs = [None]
    elif args.all:
        # a backend with its own model list (timm: every tag of the installed timm) provides list_specs
        specs = getattr(module, "list_specs", lambda: registry.list_models(framework=args.framework))()
    else:
        specs = []
        lookup = getattr(module, "lookup", registry.get_model)  # timm resolves its own tags
        for name in names:
            try:
                specs.append(lookup(name, args.framework))
            except KeyError as e:
                raise InputError(str(e.args[0])) from None
    options = runner.RunOptions(out_dir=args.out, checkpoint_every=args.checkpoint_every,
                                skip_bad_images=args.skip_bad_images, save_all_probs=args.save_all_probs,
                                overwrite=args.overwrite, progress=not args.no_progress)
    failures = []
    for spec in specs:
        label = spec.qualname if spec else f"{args.framework}:{args.name}"
        try:
            backend = module.from_args(spec, args)
            runner.run(valset, backend, options)
        except BenchError as e:
            if len(specs) == 1:
                raise
            print(f"imagenet-bench predict: {label}: error: {e}", file=sys.stderr)
            failures.append(label)
    if failures:
        print(f"{len(failures)} of {len(specs)} models failed: {', '.join(failures)}", file=sys.stderr)
        return 2
    return 0
