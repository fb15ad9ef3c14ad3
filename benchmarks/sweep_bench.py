"""Shared decode in a sweep task against separate runs, on the 1,300 real val images.

Six small random-weight models that share one recipe (default: timm's test_* networks,
resize 168 bicubic, crop 160) are run three ways, alternating, in the same command:

* ``sweep``: one ``imagenet-bench sweep run-task`` process: each image decoded and
  resized once, the uint8 pixels handed to all six models (imagenet_bench.sweep.shared);
* ``predict x6``: six separate ``imagenet-bench predict`` processes (what a shell loop does);
* ``no-share``: one ``sweep run-task --no-share`` process: the six models one after the
  other, each decoding every image again (isolates the decode saving from process start-up).

Prints each wall time, the ratios sweep / predict x6 (goal <= 0.6) and sweep / no-share, the
time of one decode pass alone (DataLoader over all images, no model) and the decode share of
the no-share run. Every run writes fresh caches; the sweep's are checked equal to predict's.
Usage: ``python benchmarks/sweep_bench.py [--rounds 2] [--models M,M,...] [--workdir DIR]
[--images N] [--quick]`` (about 4 minutes per round on 2 quiet CPU cores; ``--quick``: one
round on the first 300 images. With fewer images the per-process start-up weighs more, so
the quick ratio is not the full run's; both print the image count.)
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBSET = os.path.join(ROOT, "..", "shared", "imagenet-val-subset")
MODELS = ["timm:test_convnext2.r160_in1k", "timm:test_convnext3.r160_in1k",
          "timm:test_efficientnet_ln.r160_in1k", "timm:test_byobnet.r160_in1k",
          "timm:test_vit.r160_in1k", "timm:test_efficientnet_gn.r160_in1k"]
GOAL = 0.6
SETTINGS = ["--weights", "none", "-b", "64"]


def cli(*args) -> float:
    """Wall seconds of ``python -m imagenet_bench ARGS`` (fails loudly)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "imagenet_bench", *args], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"imagenet-bench {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return time.perf_counter() - t0


def decode_pass(val: str, model: str) -> float:
    """Seconds to decode + resize + crop every image once with the model's DataLoader (no model)."""
    from imagenet_bench.models import libraries
    from imagenet_bench.data import datasets
    from imagenet_bench.sweep import plan as plans
    cfg = plans.build_config(model, "timm" if model.startswith("timm:") else "torch",
                             {"weights": "none", "batch_size": 64})
    backend = libraries.get(cfg.framework).from_config(cfg)
    vs = datasets.discover(val)
    _, load = backend.pixel_loader()
    jobs = [[(r, vs.paths[r]) for r in range(s, min(s + 64, vs.num_images))]
            for s in range(0, vs.num_images, 64)]
    t0 = time.perf_counter()
    n = sum(len(b.rows) for b in backend.batches(jobs, load=load))
    assert n == vs.num_images
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--workdir")
    ap.add_argument("--images", type=int, help="only the first N images (default: all 1,300)")
    ap.add_argument("--quick", action="store_true", help="--rounds 1 --images 300")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.images = 1, args.images or 300
    models = args.models.split(",")
    if not os.path.isdir(SUBSET):
        sys.exit(f"the real val subset is not at {SUBSET} (../shared beside the repository)")
    work = args.workdir or tempfile.mkdtemp(prefix="sweep_bench-")
    val = os.path.join(work, "val")
    if not os.path.isdir(val):
        os.makedirs(val)
        for f in sorted(f for f in os.listdir(SUBSET) if f.endswith(".JPEG"))[:args.images]:
            if f.endswith(".JPEG"):
                os.symlink(os.path.join(SUBSET, f), os.path.join(val, f))
    sw = os.path.join(work, "sw")
    shutil.rmtree(sw, ignore_errors=True)
    cli("sweep", "plan", sw, *(w for m in models for w in ("-m", m)), "--data", f"imagenet-val={val}", *SETTINGS,
        "--jobs-per-task", str(len(models)))
    times = {"sweep": [], "predict x6": [], "no-share": []}
    for r in range(args.rounds):
        for way in times:
            caches = os.path.join(sw, "caches")
            shutil.rmtree(caches, ignore_errors=True)
            out = os.path.join(work, "predict")
            shutil.rmtree(out, ignore_errors=True)
            if way == "predict x6":
                t = sum(cli("predict", val, "-m", m, *SETTINGS, "--cache-dir", out, "--no-progress")
                        for m in models)
            else:
                t = cli("sweep", "run-task", sw, "0", *(["--no-share"] if way == "no-share" else []))
            times[way].append(t)
            print(f"round {r + 1}: {way:<11} {t:7.1f} s", flush=True)
            if way == "predict x6":
                from imagenet_bench.cache.inspect import differences
                shutil.rmtree(caches, ignore_errors=True)
                cli("sweep", "run-task", sw, "0")
                for f in os.listdir(out):
                    d = differences(os.path.join(out, f), os.path.join(caches, f))
                    if d:
                        sys.exit(f"sweep cache {f} differs from predict's: {d}")
    best = {k: min(v) for k, v in times.items()}
    dec = decode_pass(val, models[0])
    print(f"\n{len(models)} models ({', '.join(models)}), {len(os.listdir(val))} images, "
          f"best of {args.rounds} rounds, {os.cpu_count()} CPUs")
    print(f"sweep task (shared decode): {best['sweep']:7.1f} s")
    print(f"6 separate predict runs:    {best['predict x6']:7.1f} s   ratio sweep/predict x6 = "
          f"{best['sweep'] / best['predict x6']:.2f} (goal <= {GOAL})")
    print(f"one process, no sharing:    {best['no-share']:7.1f} s   ratio sweep/no-share = "
          f"{best['sweep'] / best['no-share']:.2f}")
    print(f"one decode pass alone:      {dec:7.1f} s   decode share of the no-share run = "
          f"{len(models) * dec / best['no-share']:.0%}; of the sweep task = {dec / best['sweep']:.0%}")
    print("caches of the sweep equal those of the separate predict runs: yes")
    return 0 if best["sweep"] / best["predict x6"] <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
