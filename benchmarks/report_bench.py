"""How long the HTML report of 1,500 models x 2 test sets takes to build and to open.

Writes 1,500 synthetic caches on ImageNet-val (``--val-images`` official val
ids) and 1,500 on ImageNetV2 MatchedFrequency (``--v2-images``), under real
catalog names (torchvision, Keras, timm; so published figures, params and
GFLOPs come from the catalog) with a recorded ``timing``, then measures, in
this run:

1. **build**: ``imagenet-bench report --precomputed DIR -o report.html`` as a
   fresh process (loading, scoring, robustness, compare, plots, writing), with
   ``imagenet-bench score --precomputed DIR --allow-mixed-datasets`` over the
   same folder as the baseline (the ratio is printed); both after one untimed
   ``score`` that builds the folder's index, and the report once more with
   ``--no-index`` (every file read and validated);
2. **first render** in headless Chromium (fresh browser, network off): from
   navigation start until every plot is drawn, as the page measures it
   (``data-rendered``), with the 34-model report of the shipped caches as the
   baseline.

Goals (issue 21): build < 30 s, first render < 5 s.

    python benchmarks/report_bench.py [--models 1500] [--keep DIR]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from imagenet_bench.cache import locations
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets, imagenet_meta
from imagenet_bench.models.identity import from_string
from imagenet_bench.models import registry
from imagenet_bench.report import browser

V2 = "imagenet-v2-matched-frequency"


def _models(n: int):
    names = registry.canonical_names()
    step = max(1, len(names) // n)
    picked = names[::step][:n]
    return picked + [n_ for n_ in names if n_ not in picked][:n - len(picked)]


def _ids(name: str, n: int, rng):
    if name == datasets.DEFAULT:
        wn = imagenet_meta.validation_wnids()
        nums = np.arange(1, n + 1)
        labels = np.array([imagenet_meta.wnid_to_index()[wn[i - 1]] for i in nums])
        return labels, [f"{wn[i - 1]}/{imagenet_meta.val_filename(int(i))}" for i in nums]
    labels = rng.integers(0, 1000, n)
    return labels, [f"{name}/{c}/{i:05d}.jpeg" for i, c in enumerate(labels)]


def write_caches(folder: str, models, sizes) -> None:
    rng = np.random.default_rng(0)
    images = {name: _ids(name, n, rng) for name, n in sizes.items()}
    for i, model in enumerate(models):
        skill = 0.3 + 0.6 * rng.random()
        for name, (labels, ids) in images.items():
            n = len(ids)
            right = rng.random(n) < skill * (1.0 if name == datasets.DEFAULT else 0.8)
            top5 = rng.integers(0, 1000, (n, 5))
            top5[:, 0] = np.where(right, labels, (labels + 1) % 1000)
            for j in range(1, 5):  # distinct columns
                top5[:, j] = np.where(top5[:, j] == top5[:, 0], (top5[:, j] + 7) % 1000, top5[:, j])
            probs = np.tile(np.array([0.5, 0.2, 0.1, 0.05, 0.01], np.float32), (n, 1))
            prov = {"model": model, "framework": model.split(":")[0], "weights": "random",
                    "preprocessing": {"mode": "test"}, "library_versions": {"numpy": np.__version__},
                    "complete": True, "dataset": {"name": name},
                    "timing": {"images_per_s": float(50 + 2000 * rng.random()), "images": n}}
            p = cache.Predictions.build(top5.astype(np.int16), probs, labels, ids, prov)
            cache.save(os.path.join(folder, cache.cache_filename(from_string(model), n, p.fingerprint, name)), p)


def _timed(argv):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "imagenet_bench", *argv], capture_output=True,
                          text=True)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    return took


def _render(path: str) -> float:
    driver = browser.chromium()
    try:
        seconds, timing = browser.open_report(driver, path, timeout=120)
        rows = driver.execute_script("return document.querySelectorAll('#results tbody tr').length")
        points = driver.execute_script(
            "return document.querySelectorAll('.scatterlayer .points path.point').length")
    finally:
        driver.quit()
    print(f"  {os.path.basename(path)}: {rows} table rows, {points} SVG markers drawn; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in timing.items()))
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=int, default=1500)
    ap.add_argument("--val-images", type=int, default=500)
    ap.add_argument("--v2-images", type=int, default=200)
    ap.add_argument("--keep", metavar="DIR", help="write the caches and reports here and keep them")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="report_bench.")
    folder = os.path.join(work, "caches")
    os.makedirs(folder, exist_ok=True)
    try:
        models = _models(args.models)
        if len(cache.find_caches(folder)) != 2 * len(models):
            start = time.perf_counter()
            write_caches(folder, models, {datasets.DEFAULT: args.val_images, V2: args.v2_images})
            print(f"wrote {2 * len(models)} caches in {time.perf_counter() - start:.1f} s "
                  f"({len(models)} models x {datasets.DEFAULT} {args.val_images} images, "
                  f"{V2} {args.v2_images} images)")
        big = os.path.join(work, "report.html")
        small = os.path.join(work, "report34.html")
        _timed(["score", "--precomputed", folder, "--allow-mixed-datasets"])  # builds the index
        score_s = _timed(["score", "--precomputed", folder, "--allow-mixed-datasets"])
        build_s = _timed(["report", "--precomputed", folder, "-o", big])
        cold_s = _timed(["report", "--precomputed", folder, "--no-index", "-o", big])
        _timed(["report", "--precomputed", locations.shipped_dir(), "-o", small])
        print(f"build:  report {build_s:.1f} s (goal < 30 s), score of the same folder "
              f"{score_s:.1f} s: ratio {build_s / score_s:.2f}; report --no-index {cold_s:.1f} s; "
              f"{os.path.getsize(big) / 1e6:.1f} MB ({os.path.getsize(small) / 1e6:.1f} MB for "
              f"the 34 shipped models)")
        why = browser.missing()
        if why:
            print(f"render: not measured ({why})")
            return
        base = _render(small)
        first = _render(big)
        print(f"render: {len(models)} models x 2 sets {first:.2f} s (goal < 5 s), 34-model "
              f"report {base:.2f} s: ratio {first / base:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
