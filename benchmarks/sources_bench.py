"""Read and decode the 1,300 real val images from a folder, WebDataset shards, parquet, a
save_to_disk folder and one tar, in the same run, alternating; each as a ratio to the folder.

The layouts are written from ``../shared/imagenet-val-subset`` by the builders the tests use
(``tests/source_layouts.py``: webdataset's ShardWriter with timm's ``_info.json``, datasets'
``to_parquet`` in the ILSVRC/imagenet-1k layout, ``save_to_disk``, tarfile), in a shuffled
storage order, so each source is read in the runner's row order (class, then file name), not
in storage order. Each round is a fresh child process: it discovers every source
(``datasets.discover``, timed apart), then decodes the same block of rows (``--block``) from
each source in turn, the first of each block rotating (``pixels.load``: resize
256, crop 224, single-threaded), so all meet the same machine load; images/s is the median of
the rounds. Peak resident memory (``VmHWM``) comes from one more child per source that
discovers and decodes it alone. Goal: >= 1.0x the folder's images/s for shards and parquet.
``snappy`` is the same parquet written with pyarrow's defaults (compressed pages, row groups
of 100): its images cannot be read in place, so each is read through its row group, the
groups decoded last held per process up to ``refs.GROUP_CACHE_BYTES``
(``--group-cache-mb`` sets it in the children: the 35.5 MB of the subset's image column fit the
default 256 MB, the 6.7 GB of full val do not; ``--group-cache-mb 1.5`` holds the same 4 % of
the subset's column that 256 MB holds of full val's, so it shows what full val would cost).

Usage: ``nice python benchmarks/sources_bench.py [--rounds 3] [--group-cache-mb MB]
[--workdir DIR]`` (about a minute on two busy cores).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBSET = ROOT.parent / "shared" / "imagenet-val-subset"
GOAL = 1.0

RSS_CHILD = """
import json, sys
from imagenet_bench.data import datasets, pixels
from imagenet_bench.data.sources import refs
from imagenet_bench.models.registry import Recipe
recipe = Recipe(resize=256, crop=224, squash=False, interpolation="bilinear", normalization="torch")
if sys.argv[2] != "default":
    refs.GROUP_CACHE_BYTES = int(float(sys.argv[2]) * 2 ** 20)
vs = datasets.discover(sys.argv[1])
for p in vs.paths:
    pixels.load(p, recipe)
hwm = [int(li.split()[1]) for li in open("/proc/self/status") if li.startswith("VmHWM:")][0]
print(json.dumps({"rss_mb": hwm / 1024}))
"""

SPEED_CHILD = """
import json, sys, time
from imagenet_bench.data import datasets, pixels
from imagenet_bench.data.sources import refs
from imagenet_bench.models.registry import Recipe
recipe = Recipe(resize=256, crop=224, squash=False, interpolation="bilinear", normalization="torch")
roots, block = json.loads(sys.argv[1]), int(sys.argv[2])
if sys.argv[3] != "default":
    refs.GROUP_CACHE_BYTES = int(float(sys.argv[3]) * 2 ** 20)
sets, disc = {}, {}
for kind, root in roots.items():
    t = time.perf_counter()
    sets[kind] = datasets.discover(root)
    disc[kind] = time.perf_counter() - t
secs = {k: 0.0 for k in roots}
n = sets["folder"].num_images
kinds = list(sets)
for b, start in enumerate(range(0, n, block)):  # the same rows from each source in turn
    for kind in kinds[b % len(kinds):] + kinds[:b % len(kinds)]:  # who goes first rotates
        vs = sets[kind]
        t = time.perf_counter()
        for p in vs.paths[start:start + block]:
            pixels.load(p, recipe)
        secs[kind] += time.perf_counter() - t
print(json.dumps({"n": n, "secs": secs, "discover": disc,
                  "same": len({vs.fingerprint for vs in sets.values()}) == 1}))
"""


def build(work: Path) -> dict:
    """The five layouts of the 1,300 images under ``work``."""
    import importlib.util  # the layout writers of the tests, loaded from their file
    spec = importlib.util.spec_from_file_location("source_layouts", ROOT / "tests" / "source_layouts.py")
    L = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(L)
    images = L.val_images(SUBSET, 1300)
    return {"folder": L.folder(images, work / "folder"), "wds": L.wds(images, work / "wds"),
            "parquet": L.parquet(images, work / "hf"), "arrow": L.arrow(images, work / "saved"),
            "snappy": L.parquet_snappy(images, work / "snappy"),
            "tar": L.tar(images, work / "one" / "val.tar")}


def child(code: str, *args: str) -> dict:
    """The JSON line a fresh child process prints."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    """Build, measure alternately, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--block", type=int, default=50, help="rows per source before switching")
    ap.add_argument("--group-cache-mb", default="default",
                    help="row-group bytes held per process (MB; default: the reader's own)")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args(argv)
    if not SUBSET.is_dir():
        print(f"{SUBSET} not found: the bench reads the 1,300 real val images there", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        roots = build(Path(tmp))
        names = json.dumps({k: str(v) for k, v in roots.items()})
        budget = args.group_cache_mb
        runs = [child(SPEED_CHILD, names, str(args.block), budget) for _ in range(args.rounds)]
        rate = {k: statistics.median(r["n"] / r["secs"][k] for r in runs) for k in roots}
        disc = {k: statistics.median(r["discover"][k] for r in runs) for k in roots}
        rss = {k: child(RSS_CHILD, str(v), budget)["rss_mb"] for k, v in roots.items()}
        print(f"{runs[0]['n']} real val images; {args.rounds} rounds (median), each one process "
              f"decoding the same {args.block} rows from each source in turn (pixels.load, resize "
              f"256, crop 224, row order); same fingerprint everywhere: "
              f"{all(r['same'] for r in runs)}")
        from imagenet_bench.data.sources import refs
        held = refs.GROUP_CACHE_BYTES / 2 ** 20 if budget == "default" else float(budget)
        column = sum(p.stat().st_size for p in roots["folder"].iterdir()) / 2 ** 20
        print(f"snappy: row groups of 100 images, up to {held:g} MB of them held per process "
              f"(the image column: {column:.1f} MB, {min(1.0, held / column):.0%} of it)")
        print(f"{'source':8s} {'images/s':>9s} {'x folder':>9s} {'discover s':>11s} {'peak RSS MB':>12s}")
        for kind in roots:
            print(f"{kind:8s} {rate[kind]:9.1f} {rate[kind] / rate['folder']:8.2f}x "
                  f"{disc[kind]:11.2f} {rss[kind]:12.0f}")
        low = [k for k in ("wds", "parquet") if rate[k] / rate["folder"] < GOAL]
        print(f"goal >= {GOAL:.1f}x the folder for shards and parquet: "
              f"{'met' if not low else 'NOT met by ' + ', '.join(low)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
