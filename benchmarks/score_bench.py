"""Whole-process `imagenet-bench score` against bare numpy scripts over the same files.

Three ratios, each measured in this run with fresh Python processes
(interpreter start and imports included), commands alternating, medians of
``--repeat`` runs:

1. ``imagenet-bench score`` (no arguments: the 34 shipped caches of
   precomputed/northcutt2019) / a bare numpy script that loads the same
   ``.npz`` files' ``top5_idx`` and ``labels`` and prints top-1/top-5;
2. ``imagenet-bench score --precomputed REF`` on the raw 2019 layout / a bare
   numpy script applying the 2019 rule (``top5preds[i, argmax(top5probs[i])]``)
   to the same 68 ``.npy`` files (skipped when REF is absent);
3. ``imagenet-bench --help`` / ``python -c pass``.

Goals: ratios 1 and 2 at most 1.3; ``--help`` under 0.3 s.

The children run with bytecode caching on, as after a normal install
(``PYTHONDONTWRITEBYTECODE`` is removed from their environment: without
``.pyc`` files every run would recompile the package's modules). Wall time
is what is compared; CPU time (user + sys) is printed beside it because on a
shared machine it varies less.

    python benchmarks/score_bench.py [--reference ../shared/reference/northcutt2019] [--repeat 7]
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

from imagenet_bench.cache import locations

DEFAULT_REF = os.path.join(locations.repository_root(), "..", "shared", "reference",
                           "northcutt2019")

# The least a script can do with the shipped caches: load what the score needs, print.
BASELINE_CACHES = r"""
import glob, os, sys
import numpy as np
out = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.npz"))):
    with np.load(path) as z:
        idx, labels = z["top5_idx"], z["labels"]
    out.append((os.path.basename(path), 100 * (idx[:, 0] == labels).mean(),
                100 * (idx == labels[:, None]).any(1).mean()))
out.sort(key=lambda r: -r[1])
print("\n".join(f"{n},{a:.3f},{b:.3f}" for n, a, b in out))
"""

# The least a script can do with the 2019 layout: load every pair, 2019 top-1 rule, top-5.
BASELINE_2019 = r"""
import glob, os, sys
import numpy as np
root = sys.argv[1]
out = []
for preds_path in sorted(glob.glob(os.path.join(root, "*_imagenet", "*_top5preds.npy"))):
    preds = np.load(preds_path)
    probs = np.load(preds_path.replace("top5preds", "top5probs"))
    labels = np.arange(len(preds)) // 50
    top1 = preds[np.arange(len(preds)), probs.argmax(1)] == labels
    top5 = (preds == labels[:, None]).any(1)
    out.append((os.path.basename(preds_path), 100 * top1.mean(), 100 * top5.mean()))
out.sort(key=lambda r: -r[1])
print("\n".join(f"{n},{a:.3f},{b:.3f}" for n, a, b in out))
"""


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(cmd):
    """(wall, cpu) seconds of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=ENV)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _pair(a, b, repeat: int):
    """(median wall, median cpu, wall ratios of each alternating pair) of ``a`` and ``b``."""
    _time(a), _time(b)
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(_time(a))
        tb.append(_time(b))
    med = lambda ts, i: statistics.median(t[i] for t in ts)  # noqa: E731
    ratios = sorted(x[0] / y[0] for x, y in zip(ta, tb))
    return (med(ta, 0), med(ta, 1), ratios), (med(tb, 0), med(tb, 1))


def _report(what: str, ours, base, base_name: str, goal: str) -> None:
    print(f"{what}: {ours[0]:.3f} s / {base_name} {base[0]:.3f} s = {ours[0] / base[0]:.2f}x "
          f"({goal}); CPU {ours[1]:.3f} s / {base[1]:.3f} s = {ours[1] / base[1]:.2f}x; "
          f"pairwise wall ratios {ours[2][0]:.2f}-{ours[2][-1]:.2f}")


def main(argv=None) -> int:
    """Run the three comparisons and print medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=DEFAULT_REF,
                    help="2019-layout folder (default: ../shared/reference/northcutt2019 "
                         "beside the checkout)")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per command (default: 7)")
    args = ap.parse_args(argv)
    tool = shutil.which("imagenet-bench", path=os.path.dirname(sys.executable))
    tool = [tool] if tool else [sys.executable, "-m", "imagenet_bench"]
    shipped = locations.shipped_dir()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}; {' '.join(tool)}; median of {args.repeat} runs each")

    ours, base = _pair(tool + ["score", "--format", "csv"],
                       [sys.executable, "-c", BASELINE_CACHES, shipped], args.repeat)
    _report("score, shipped caches (34)", ours, base, "bare numpy over the same .npz",
            "goal <= 1.3x")
    if os.path.isdir(args.reference):
        ours, base = _pair(tool + ["score", "--precomputed", args.reference, "--format", "csv"],
                           [sys.executable, "-c", BASELINE_2019, args.reference], args.repeat)
        _report("score, raw 2019 layout (68 files)", ours, base, "bare numpy 2019 rule",
                "goal <= 1.3x")
    else:
        print(f"raw 2019 layout: skipped, {args.reference} not found (pass --reference)")
    ours, base = _pair(tool + ["--help"], [sys.executable, "-c", "pass"], args.repeat)
    _report("imagenet-bench --help", ours, base, "python -c pass",
            f"goal < 0.3 s: {'met' if ours[0] < 0.3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
