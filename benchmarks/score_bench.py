"""Time `imagenet-bench score` against a minimal numpy script on the same 68 files.

Both run as fresh Python processes (interpreter start and imports included),
alternating, several times; the medians and their ratio are printed. The
goal is a ratio <= 2 and well under 1 s of wall time.

    python benchmarks/score_bench.py [--reference ../shared/reference/northcutt2019] [--repeat 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REF = os.path.join(HERE, "..", "..", "shared", "reference", "northcutt2019")

# The least a script can do: load every pair, take the 2019 top-1 rule and top-5, print.
BASELINE = r"""
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
print("\n".join(f"{n},{a:.2f},{b:.2f}" for n, a, b in out))
"""


def _time(cmd) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main(argv=None) -> int:
    """Run both commands alternately and print medians and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", default=DEFAULT_REF, help="2019-layout folder (68 files)")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    if not os.path.isdir(args.reference):
        print(f"{args.reference}: not found; pass --reference", file=sys.stderr)
        return 2
    cli = [sys.executable, "-m", "imagenet_bench", "score", "--precomputed", args.reference,
           "--format", "csv"]
    base = [sys.executable, "-c", BASELINE, args.reference]
    _time(cli), _time(base)  # warm the page cache
    t_cli, t_base = [], []
    for _ in range(args.repeat):
        t_cli.append(_time(cli))
        t_base.append(_time(base))
    m_cli, m_base = statistics.median(t_cli), statistics.median(t_base)
    print(f"imagenet-bench score (34 models): median {m_cli:.3f} s over {args.repeat} runs")
    print(f"minimal numpy script           : median {m_base:.3f} s over {args.repeat} runs")
    print(f"ratio: {m_cli / m_base:.2f} (goal <= 2.0; wall goal < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
