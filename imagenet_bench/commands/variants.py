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

Variants that need calibration images (``onnx-int8``, ``openvino-int8``, ``quantized``) take the
first ``--calibration-split`` rows; those rows are then left out of every
row's scoring. The Keras parent process never imports Keras or TensorFlow.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from imagenet_bench.backends import runtimes as registry
from imagenet_bench.cache.locations import RUNS_DIR
from imagenet_bench.commands import _common, run_settings
from imagenet_bench.commands._common import add_framework_arg
from imagenet_bench.report import columns as report_columns
from imagenet_bench.report import tables as report
from imagenet_bench.commands.predict import check_model_options
from imagenet_bench.errors import BenchError, InputError

TIMING_FILE = "variants-timing.json"  # images/s of each cache's run, beside the caches


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
                                              f"({RUNS_DIR}/variants)",
                              default=os.path.join(RUNS_DIR, "variants"))
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit")
    _common.add_output_args(p)
    p.set_defaults(func=run)
    return p


def parse_variants(text: Optional[str], default: Sequence[str] = ()) -> List[str]:
    """The requested variant names in the registry's table order (``fp32`` is always the
    reference, not listed);
    ``default`` (the library's own list) when ``text`` is None."""
    if text is None:
        return list(default)
    names = [v.strip() for v in text.split(",") if v.strip() and v.strip() != "fp32"]
    unknown = [v for v in names if v not in registry.NAMES]
    if unknown:
        raise InputError(f"--variants: unknown {', '.join(repr(u) for u in unknown)}. Fix: choose "
                         f"from {', '.join(registry.NAMES[1:])}")
    return [v for v in registry.NAMES if v in names]  # the registry's table order


def variant_maker(cfg, calibration, cache_dir: str, batch_size: int):
    """The reference and variant backends of ``cfg``'s model, from its library's declared
    ``variants`` class (``TorchVariants``, ``KerasVariants``, a plugin's), imported now."""
    from imagenet_bench.models import libraries
    lib = libraries.get(cfg.framework)
    if lib.variants is None:
        raise InputError(f"verify variants: the {lib.name} library declares no variants. Fix: "
                         f"pick a model of a library that does "
                         f"({', '.join(x.name for x in libraries.libraries() if x.variants)})")
    return lib.import_adapter(lib.variants)(cfg, calibration=calibration, cache_dir=cache_dir,
                                            batch_size=batch_size)


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
    run_settings.check_ranges(args)
    cfg = config.build(args.name if args.model_factory else args.model, args.framework,
                       checkpoint=args.checkpoint, factory=args.model_factory,
                       **run_settings.build_options(args, leave=("checkpoint", "batch_size",
                                                                 "workers", "device")))
    from imagenet_bench.models import libraries
    if libraries.get(cfg.framework).capabilities.batching:  # else one image at a time
        from dataclasses import replace
        cfg = replace(cfg, device=args.device or "auto", batch_size=args.batch_size,
                      workers=args.workers)
    return cfg


def _default_variants(cfg) -> Tuple[str, ...]:
    """The default variant list of ``cfg``'s library (its variants class's ``DEFAULT``)."""
    from imagenet_bench.models import libraries
    lib = libraries.get(cfg.framework)
    return tuple(lib.import_adapter(lib.variants).DEFAULT) if lib.variants else ()


def _rows(args, cfg, valset, names, scored, calibration) -> Tuple[List[Dict], str]:
    """Run the reference and each variant; return the table rows and the reference's name."""
    from imagenet_bench.analysis import variants as av
    maker = variant_maker(cfg, calibration, args.cache_dir, args.batch_size)
    # all_probs on the reference too: its cache then keeps float32 top-5 probabilities (cache.store.save),
    # so |Δprob| is not the reference's float16 rounding (up to 2**-12 on p >= 0.5)
    ref, rate = run_one(valset, maker.build("fp32"), args, all_probs=True)
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

    parse_variants(args.variants)  # a misspelt variant fails before any model is built
    cfg = reference_config(args)
    names = parse_variants(args.variants, _default_variants(cfg))
    valset = datasets.discover(args.val_dir, args.dataset, devkit=args.devkit)
    if args.n is not None:
        valset = valset.select(datasets.spaced_rows(valset.num_images, args.n))
    calibrating = registry.calibrated(names)
    split = args.calibration_split if calibrating else 0
    scored = av.scoring_mask(valset.num_images, split)
    calibration = [(valset.image_ids[r], valset.paths[r]) for r in range(split)]
    # the runs' own lines (acc@1 per cache, a model factory's messages) go to stderr:
    # standard output carries only the table
    with contextlib.redirect_stdout(sys.stderr):
        rows, reference_name = _rows(args, cfg, valset, names, scored, calibration)
    ran = {r["variant"] for r in rows if r["status"] == "ok"}
    used = [v for v in calibrating if v in ran]
    held = ""
    if split:
        what = (f"calibrate {'/'.join(used)}" if used else
                f"were held out for {'/'.join(calibrating)} (skipped)")
        held = f"; rows 0-{split - 1} ({split} images) {what} and are excluded from every row"
    title = (f"verify variants: {reference_name} vs fp32, scored on "
             f"{int(scored.sum())} of {valset.num_images} images of {valset.root}{held}")
    _common.emit(report.render(rows, report_columns.VARIANTS, args.format, title=title), args.output)
    return 0
