"""``imagenet-bench verify variants``: the same weights run every way, paired against the reference.

Runs the reference (fp32, eager, the framework's default backend: PyTorch
batches of ``-b N``; Keras on TensorFlow one image at a time) and each chosen
variant over the same images, each through :func:`imagenet_bench.run.runner.run`
(cached, resumable; one cache per variant under ``--cache-dir``, named
``<model>+<variant>``), then prints one row per variant
(:mod:`imagenet_bench.analysis.variants`): accuracies, Δtop-1 with its paired
interval, flips each way, McNemar's exact p, top-5 agreement, |Δprob| on the
reference's top-1 class and images/s. A variant that cannot run here is a
``skipped: <reason>`` row.

Variants that need calibration images (``onnx-int8``, ``quantized``) take the
first ``--calibration-split`` rows; those rows are then left out of every
row's scoring. The Keras parent process never imports Keras or TensorFlow.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
from typing import Dict, List, Optional, Tuple

from imagenet_bench.models.identity import VARIANTS
from imagenet_bench.cache.locations import RUNS_DIR
from imagenet_bench.commands import _common
from imagenet_bench.report import columns as report_columns
from imagenet_bench.report import tables as report
from imagenet_bench.commands.predict import _floats, check_model_options
from imagenet_bench.errors import BenchError, InputError

CALIBRATED = ("onnx-int8", "quantized")
KERAS_DEFAULT = ("batchN", "keras-jax", "keras-torch")
KERAS_BACKENDS = {"keras-tensorflow": "tensorflow", "keras-jax": "jax", "keras-torch": "torch"}
TIMING_FILE = "variants-timing.json"  # images/s of each cache's run, beside the caches


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``verify variants`` (on ``verify``'s sub-parsers)."""
    p = subparsers.add_parser(
        "variants", help="same weights, every way of running them: paired table against fp32",
        description="Run the reference (fp32) and each variant of the same weights on the same "
                    "images (each cached and resumable), then print top-1/top-5, delta top-1 "
                    "with its Newcombe paired 95% interval, flips each way, McNemar exact p, "
                    "top-5 agreement, |delta prob| on the reference's top-1 class and images/s.")
    p.add_argument("val_dir", metavar="VAL_DIR", help="validation images: wnid folders or flat files")
    p.add_argument("--framework", choices=("torch", "keras", "timm"),
                   help="look the name up in this framework only (default: the name decides)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", "-m", help="registry model (torch:resnet50, keras:MobileNet, "
                                             "timm:resnet50.a1_in1k, ...; see `imagenet-bench models`)")
    which.add_argument("--model-factory", metavar="MODULE:CALLABLE",
                       help="custom torch model (a callable returning a module with 1,000 outputs)")
    p.add_argument("--name", help="name of a --model-factory model (its id is custom:NAME)")
    p.add_argument("--variants", metavar="LIST",
                   help=f"comma-separated, from {', '.join(VARIANTS[1:])} (default torch: "
                        f"batch1..quantized; keras: {', '.join(KERAS_DEFAULT)})")
    p.add_argument("--n", type=int, help="use N images evenly spaced over VAL_DIR (default all)")
    p.add_argument("--calibration-split", type=int, default=100, metavar="N",
                   help="first N rows calibrate onnx-int8/quantized and are left out of every "
                        "row's scoring (100; only when such a variant is chosen)")
    p.add_argument("--weights", help="'none' for random weights; torch: another weights tag; "
                                     "keras: a .weights.h5 file")
    p.add_argument("--checkpoint", metavar="FILE", help="weights file instead of the download")
    p.add_argument("--preprocess", choices=("reference", "legacy2019"),
                   help="preprocessing recipe (reference)")
    custom = p.add_argument_group("recipe overrides (as in predict; a --model-factory model starts "
                                  "from resize 256, crop 224, bilinear, ImageNet mean/std)")
    custom.add_argument("--resize", type=int, help="shorter side before the centre crop")
    custom.add_argument("--crop", type=int, help="centre crop side")
    custom.add_argument("--mean", type=_floats, metavar="M[,M,M]", help="per-channel mean on [0,1] pixels")
    custom.add_argument("--std", type=_floats, metavar="S[,S,S]", help="per-channel std on [0,1] pixels")
    custom.add_argument("--interpolation", choices=("nearest", "bilinear", "bicubic", "lanczos"),
                        help="resize filter")
    p.add_argument("-b", "--batch-size", type=int, default=32,
                   help="N of the batched runs (torch reference, keras batchN) (32)")
    p.add_argument("-j", "--workers", type=int, help="torch DataLoader workers (default: CPU threads)")
    p.add_argument("--threads", type=int, help="CPU threads per process")
    p.add_argument("--device", help="torch device: auto (default), cuda, cuda:N, mps or cpu")
    p.add_argument("--cache-dir", default=os.path.join(RUNS_DIR, "variants"), metavar="DIR",
                   help=f"where the caches (and ONNX exports) go ({RUNS_DIR}/variants)")
    p.add_argument("--overwrite", action="store_true", help="replace caches made with other settings")
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit")
    _common.add_dataset_arg(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _common.add_output_args(p)
    p.set_defaults(func=run)
    return p


def parse_variants(text: Optional[str], framework: str) -> List[str]:
    """The requested variant names in order (``fp32`` is always the reference, not listed)."""
    if text is None:
        if framework == "keras":
            return list(KERAS_DEFAULT)
        from imagenet_bench.backends.torch_variants import DEFAULT
        return list(DEFAULT)
    names = [v.strip() for v in text.split(",") if v.strip() and v.strip() != "fp32"]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise InputError(f"--variants: unknown {', '.join(repr(u) for u in unknown)}; choose from "
                         f"{', '.join(VARIANTS[1:])}")
    return list(dict.fromkeys(names))


class KerasVariants:
    """Reference (TensorFlow, one image at a time) and variants of a Keras model, each in a child process."""

    def __init__(self, config, batch_size: int):
        """``config``: the reference's RunConfig; ``batch_size``: N of ``batchN``."""
        self.config, self.batch_size = config, int(batch_size)
        self.reference_name = config.model

    def skip_reason(self, variant: str) -> Optional[str]:
        """Why ``variant`` cannot run for a Keras model here, or None."""
        if variant == "keras-tensorflow":
            return "the reference runs on the TensorFlow backend"
        if variant == "batch1":
            return "the Keras reference already runs one image at a time; see batchN"
        if variant in KERAS_BACKENDS:
            mod = KERAS_BACKENDS[variant]
            if importlib.util.find_spec(mod) is None:
                return f"{mod} not installed (pip install 'imagenet_bench[variants]')"
            return None
        if variant != "batchN":
            return "PyTorch-only variant; this is a Keras model"
        return None

    def build(self, variant: str):
        """The child-process backend of ``variant`` ("fp32" = the reference)."""
        from imagenet_bench.analysis import variants as av
        from dataclasses import replace
        from imagenet_bench.backends.keras.parent import KerasProcessBackend
        cfg = self.config
        if variant != "fp32":
            mid = cfg.model_id.with_settings(av.variant_setting(variant, self.batch_size))
            cfg = replace(cfg, model_id=mid, batch_size=self.batch_size if variant == "batchN" else None)
        return KerasProcessBackend(cfg, keras_backend=KERAS_BACKENDS.get(variant))


def _timing(cache_dir: str) -> Dict:
    path = os.path.join(cache_dir, TIMING_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def run_one(valset, backend, args, all_probs: bool) -> Tuple[object, Optional[float]]:
    """Run ``backend`` through the runner (cached, resumable); return (predictions, images/s).

    images/s is this call's rate, or the one recorded when the cache was made
    (``variants-timing.json`` beside the caches).
    """
    from imagenet_bench.cache import atomic
    from imagenet_bench.cache import store as cache
    from imagenet_bench.run import runner
    opts = runner.RunOptions(out_dir=args.cache_dir, save_all_probs=all_probs, overwrite=args.overwrite,
                             progress=not args.no_progress, shard=runner.Shard())
    try:
        result = runner.run(valset, backend, opts)
    finally:
        if hasattr(backend, "close"):
            backend.close()
    key = os.path.basename(result.cache_path)
    timing = _timing(args.cache_dir)
    if result.images_done:
        timing[key] = {"images_per_s": result.images_done / max(result.seconds, 1e-9),
                       "images": result.images_done}
        atomic.write_text(os.path.join(args.cache_dir, TIMING_FILE), json.dumps(timing, indent=1))
    rate = timing.get(key, {}).get("images_per_s")
    return cache.load(result.cache_path, with_all_probs=all_probs), rate


def reference_config(args):
    """The reference's RunConfig from the command line (checked as ``predict`` checks it)."""
    from imagenet_bench.run import config

    check_model_options(args)
    if args.batch_size < 1:
        raise InputError(f"--batch-size {args.batch_size}: must be at least 1")
    cfg = config.build(args.name if args.model_factory else args.model, args.framework,
                       weights=args.weights, checkpoint=args.checkpoint, preprocess=args.preprocess,
                       resize=args.resize, crop=args.crop, interpolation=args.interpolation,
                       mean=args.mean, std=args.std, factory=args.model_factory,
                       threads=args.threads)
    if cfg.framework in ("torch", "timm"):  # the Keras reference runs one image at a time
        from dataclasses import replace
        cfg = replace(cfg, device=args.device or "auto", batch_size=args.batch_size,
                      workers=args.workers)
    return cfg


def _rows(args, cfg, valset, names, scored, calibration) -> Tuple[List[Dict], str]:
    """Run the reference and each variant; return the table rows and the reference's name."""
    from imagenet_bench.analysis import variants as av
    if cfg.framework == "keras":
        maker = KerasVariants(cfg, args.batch_size)
    else:
        from imagenet_bench.backends.torch_variants import TorchVariants
        maker = TorchVariants(cfg, calibration, args.cache_dir)
    ref, rate = run_one(valset, maker.build("fp32"), args, all_probs=False)
    rows = [av.accuracy_row("fp32", ref, scored, rate)]
    for v in names:
        reason = maker.skip_reason(v)
        if reason is None:
            try:
                preds, rate = run_one(valset, maker.build(v), args, all_probs=True)
                rows.append(av.paired_row(v, ref, preds, scored, rate))
                continue
            except BenchError as e:
                reason = str(e)
        print(f"verify variants: {v}: skipped: {reason}", file=sys.stderr)
        rows.append(av.skipped_row(v, reason))
    return rows, maker.reference_name


def run(args) -> int:
    """Run the reference and every variant; print the table; 0 when done."""
    from imagenet_bench.analysis import variants as av
    from imagenet_bench.data import datasets

    parse_variants(args.variants, "torch")  # a misspelt variant fails before any model is built
    cfg = reference_config(args)
    names = parse_variants(args.variants, cfg.framework)
    valset = datasets.discover(args.val_dir, args.dataset, devkit=args.devkit)
    if args.n is not None:
        valset = valset.select(datasets.spaced_rows(valset.num_images, args.n))
    split = args.calibration_split if any(v in CALIBRATED for v in names) else 0
    scored = av.scoring_mask(valset.num_images, split)
    calibration = [(valset.image_ids[r], valset.paths[r]) for r in range(split)]
    # the runs' own lines (acc@1 per cache, a model factory's messages) go to stderr:
    # standard output carries only the table
    with contextlib.redirect_stdout(sys.stderr):
        rows, reference_name = _rows(args, cfg, valset, names, scored, calibration)
    held = (f"; rows 0-{split - 1} ({split} images) calibrate {'/'.join(c for c in CALIBRATED if c in names)}"
            f" and are excluded from every row" if split else "")
    title = (f"verify variants: {reference_name} vs fp32, scored on "
             f"{int(scored.sum())} of {valset.num_images} images of {valset.root}{held}")
    _common.emit(report.render(rows, report_columns.VARIANTS, args.format, title=title), args.output)
    return 0
