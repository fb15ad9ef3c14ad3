"""Speed of each `verify variants` variant relative to the fp32 reference, measured in the same run.

The images are decoded once (the reference backend's own preprocessing);
each variant's backend (built exactly as ``verify variants`` builds it) is
warmed up on one batch -- so ``compile`` and ONNX session start-up are not
counted -- and then timed over the same pixel batches with its own batch
size. fp32 is timed first and last; the ratio is against the mean of the two,
and the two are printed so the drift of a shared machine shows::

    python benchmarks/variants.py --model-factory imagenet_bench.backends.torch:efficientnet_lite0 \\
        --name efficientnet_lite0 --mean 0.498 --std 0.502 --n 128 ../shared/imagenet-val-subset

Takes the options of ``imagenet-bench verify variants`` (``--variants``,
``--n`` -- default here 128 --, ``-b``, ``--calibration-split``, ...).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time


def _parse(argv):
    from imagenet_bench.commands import variants
    root = argparse.ArgumentParser(prog="benchmarks/variants.py", description=__doc__.split("\n\n")[0])
    sub = root.add_subparsers(dest="command")
    variants.add_parser(sub)
    args = root.parse_args(["variants", *argv])
    if args.n is None:
        args.n = 128
    return args


def _rate(backend, batches, n_images) -> float:
    backend.predict(batches[0][:backend.batch_size])  # warm-up (compile, session start)
    t = time.perf_counter()
    for b in batches:
        for s in range(0, len(b), backend.batch_size):
            backend.predict(b[s:s + backend.batch_size])
    return n_images / (time.perf_counter() - t)


def main(argv=None) -> int:
    """Print images/s of fp32 and of each variant, and the ratio to fp32."""
    import numpy as np
    from imagenet_bench.api import variants as api_variants
    from imagenet_bench.commands import run_settings
    from imagenet_bench.data.datasets import spaced_rows as pick_rows
    from imagenet_bench.data import datasets
    from imagenet_bench.backends import runtimes as variants

    args = _parse(sys.argv[1:] if argv is None else argv)
    model = args.name if args.model_factory else args.model
    cfg = api_variants.reference_config(model, args.framework, factory=args.model_factory,
                                        **run_settings.build_options(args, leave=()))
    names = api_variants.parse_variants(args.variants, api_variants.default_variants(cfg))
    valset = datasets.discover(args.val_dir)
    valset = valset.select(pick_rows(valset.num_images, args.n))
    split = args.calibration_split if variants.calibrated(names) else 0
    calibration = [(valset.image_ids[r], valset.paths[r]) for r in range(split)]
    tmp = tempfile.TemporaryDirectory(prefix="variants_bench_")
    maker = api_variants.variant_maker(cfg, calibration, tmp.name, args.batch_size)

    ref = maker.build("fp32")
    px = np.stack([ref.preprocess(p) for p in valset.paths[split:]])
    batches = [px[s:s + args.batch_size] for s in range(0, len(px), args.batch_size)]
    first = _rate(ref, batches, len(px))
    results = []
    for v in names:
        reason = maker.skip_reason(v)
        if reason:
            results.append((v, None, f"skipped: {reason}"))
            continue
        backend = maker.build(v)
        try:
            results.append((v, _rate(backend, batches, len(px)), ""))
        finally:
            if hasattr(backend, "close"):
                backend.close()
    last = _rate(ref, batches, len(px))
    if hasattr(ref, "close"):
        ref.close()
    tmp.cleanup()
    base = (first + last) / 2
    print(f"{maker.reference_name}: {len(px)} images of {valset.root} (decoded once), "
          f"batches of {args.batch_size}; fp32 {first:.1f} img/s first, {last:.1f} img/s last")
    print(f"{'variant':<14} {'img/s':>8} {'vs fp32':>8}")
    print(f"{'fp32':<14} {base:8.1f} {1.0:7.2f}x")
    for v, rate, note in results:
        print(f"{v:<14} {rate:8.1f} {rate / base:7.2f}x" if rate else f"{v:<14} {'':>8} {'':>8}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
