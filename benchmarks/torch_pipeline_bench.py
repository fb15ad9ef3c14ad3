"""End-to-end prediction throughput against the bare forward pass, in one run.

* **end to end**: ``runner.run`` over N real validation images (decode,
  resize/crop in DataLoader workers, uint8 -> device, normalise, forward,
  softmax, top-5, checkpoints, atomic cache write), images/s over its wall time;
* **forward only**: the same model, same threads, on pre-made float tensors of
  the same batch size, images/s.

The two are measured alternately ``--repeat`` times (the machines are shared)
and the medians compared; the goal is a ratio >= 0.85 for resnet18 on 2 cores.
Peak memory: max RSS of this process and of its (worker) children.

    python benchmarks/torch_pipeline_bench.py [--model resnet18] [--images 256] [--workers 1]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VAL = os.path.join(HERE, "..", "..", "shared", "imagenet-val-subset")


def forward_only(backend, n: int) -> float:
    """images/s of the model alone on pre-made normalised tensors (same batch size)."""
    import torch

    bs = backend.batch_size
    x = torch.randn(bs, 3, backend.recipe.crop, backend.recipe.crop)
    with torch.inference_mode():
        backend.module(x)  # warm-up
        t = time.perf_counter()
        done = 0
        while done < n:
            backend.module(x)
            done += bs
        return done / (time.perf_counter() - t)


def end_to_end(backend, valset, out_dir: str) -> float:
    """images/s of a full run (cache written) over ``valset``."""
    from imagenet_bench.run import runner

    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the acc@1 line of random weights is noise here
        runner.run(valset, backend, runner.RunOptions(out_dir=out_dir, progress=False, overwrite=True,
                                                      shard=runner.Shard(), log=lambda m: None))
    seconds = time.perf_counter() - t
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))
    return valset.num_images / seconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--val", default=DEFAULT_VAL, help="validation images (default ../shared subset)")
    p.add_argument("--model", default="resnet18")
    p.add_argument("--images", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: backend's)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)

    from imagenet_bench.data import datasets
    from imagenet_bench.models import registry
    from imagenet_bench.backends import torch as torch_backend

    vs = datasets.discover(args.val)
    vs = vs.select(range(min(args.images, vs.num_images)))
    backend = torch_backend.from_spec(registry.get_model(args.model, "torch"), weights="none",
                                      batch_size=args.batch_size, workers=args.workers,
                                      threads=args.threads)
    print(f"{args.model}: {vs.num_images} images of {args.val}, batch {backend.batch_size}, "
          f"{backend.workers} workers, {backend.threads} torch threads, device {backend.device}, "
          f"{os.cpu_count()} CPUs")
    fwd, e2e = [], []
    with tempfile.TemporaryDirectory() as out:
        for i in range(args.repeat):
            fwd.append(forward_only(backend, vs.num_images))
            e2e.append(end_to_end(backend, vs, out))
            print(f"  round {i + 1}: forward {fwd[-1]:.1f} img/s, end to end {e2e[-1]:.1f} img/s")
    f, e = statistics.median(fwd), statistics.median(e2e)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"median forward only: {f:.1f} img/s; end to end: {e:.1f} img/s; ratio {e / f:.2f} "
          f"(goal >= 0.85)")
    print(f"peak memory (max RSS): main process {own:.0f} MiB, largest worker {kids:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
