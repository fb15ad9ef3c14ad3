"""Time `imagenet-bench compare` over the 34 reference models against a minimal numpy baseline.

Both run in this process, alternating, several times; the first (cold) call
of the command includes reading the ImageNet metadata, later calls reuse it.
The baseline does the least a script can: load the 7 keras/torch pairs' 28
files, take the 2019 top-1 rule and count the images only one model of each
pair gets right (no intervals, no p-values, no checks). One fresh-process
run of the command is timed as well, interpreter start and imports included.

    python benchmarks/compare_bench.py [--reference ../shared/reference/northcutt2019] [--repeat 5]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REF = os.path.join(HERE, "..", "..", "shared", "reference", "northcutt2019")
PAIRS = [("densenet121", "densenet121"), ("densenet169", "densenet169"),
         ("densenet201", "densenet201"), ("inceptionv3", "inception_v3"),
         ("resnet50", "resnet50"), ("vgg16", "vgg16"), ("vgg19", "vgg19")]


def baseline(root: str) -> list:
    """Minimal numpy: per pair, the counts of images only one model gets right."""
    import numpy as np

    def top1_right(sub, tag, name):
        stem = os.path.join(root, sub, f"{name}_{tag}_imagenet_top5")
        preds, probs = np.load(stem + "preds.npy"), np.load(stem + "probs.npy")
        labels = np.arange(len(preds)) // 50
        return preds[np.arange(len(preds)), probs.argmax(1)] == labels

    out = []
    for k, t in PAIRS:
        a = top1_right("keras_imagenet", "keras", k)
        b = top1_right("pytorch_imagenet", "pytorch", t)
        out.append((k, int((a & ~b).sum()), int((~a & b).sum())))
    return out


def command(root: str) -> None:
    """The real command, output discarded."""
    from imagenet_bench.cli import main as cli
    with contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["compare", "--precomputed", root, "--format", "csv"])
    if status != 0:
        raise SystemExit(f"imagenet-bench compare exited {status}")


def _time(fn, *args) -> float:
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def main(argv=None) -> int:
    """Print cold, warm and baseline times and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=DEFAULT_REF, help="2019-layout folder (68 files)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    root = os.path.abspath(args.reference)
    if not os.path.isdir(root):
        print(f"{root}: not found; pass --reference", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "imagenet_bench", "compare", "--precomputed", root],
                   check=True, stdout=subprocess.DEVNULL, cwd=os.path.join(HERE, ".."))
    fresh = time.perf_counter() - t0
    cold = _time(command, root)
    warm, base = [], []
    for _ in range(args.repeat):
        base.append(_time(baseline, root))
        warm.append(_time(command, root))
    from imagenet_bench.analysis import scorer
    load = statistics.median(_time(scorer.load_predictions, root) for _ in range(args.repeat))
    w, b = statistics.median(warm), statistics.median(base)
    print(f"imagenet-bench compare, 34 reference models, 7 pairs ({root})")
    print(f"  fresh process (python -m imagenet_bench compare): {fresh:.3f} s")
    print(f"  in process, first call:                       {cold:.3f} s")
    print(f"  in process, median of {args.repeat}:                   {w:.3f} s")
    print(f"    of which scorer.load_predictions (all 34):  {load:.3f} s")
    print(f"  minimal numpy baseline, median of {args.repeat}:       {b:.3f} s")
    print(f"  ratio command / baseline:                     {w / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
