"""Peak memory of refusing bomb inputs, against the same command without the bad file.

Each scenario runs in a fresh child process (``python -c``) and reports its
peak resident memory (``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` would
carry over the parent's peak across fork+exec on Linux):

* ``score`` on a folder with one real-sized cache (50,000 rows) -- the baseline --
  then the same folder plus a zip-bomb cache whose ``provenance`` member
  inflates to 5.9 GB (issue 10 measured 5.9 GB of memory for this), and plus a
  cache whose npy header declares 4e9 rows (40 GB);
* ``pixels.load`` of a normal photo-sized JPEG -- the baseline -- then of a
  20000x20000 PNG (PIL decompression bomb, 50 kB on disk) and of a 20000x1
  strip that the 256-pixel resize would blow up to 5,120,000x256 (5.7 GB in
  issue 10).

Prints each peak and its difference to the baseline; the goal is <= 500 MB.
Usage: ``python benchmarks/bomb_memory.py [--workdir DIR]`` (Linux; about 30 s,
most of it deflating the 5.9 GB of zeros into the 25 MB bomb file).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np

GOAL_MB = 500

SCORE = """
import sys
from imagenet_bench.cli import main as cli
rc = cli.main(["score", "--precomputed", sys.argv[1]])
hwm = [int(li.split()[1]) for li in open("/proc/self/status") if li.startswith("VmHWM:")][0]
print("RSS", hwm / 1024, "RC", rc)
"""
IMAGE = """
import sys
from imagenet_bench.data import pixels
from imagenet_bench.models.registry import Recipe
recipe = Recipe(resize=256, crop=224, squash=False, interpolation="bilinear", normalization="torch")
try:
    pixels.load(sys.argv[1], recipe)
    rc = 0
except pixels.BadImageError as e:
    print(e, file=sys.stderr)
    rc = 2
hwm = [int(li.split()[1]) for li in open("/proc/self/status") if li.startswith("VmHWM:")][0]
print("RSS", hwm / 1024, "RC", rc)
"""


def child(code: str, arg: str) -> tuple:
    """(peak RSS in MB, exit status of the command, seconds, stderr's last line) of one child."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True)
    line = [li for li in r.stdout.splitlines() if li.startswith("RSS")][-1].split()
    last = (r.stderr.strip().splitlines() or [""])[-1]
    return float(line[1]), int(line[3]), time.perf_counter() - t0, last


def real_cache(folder: str) -> None:
    """A valid 50,000-row cache (random predictions) in ``folder``."""
    from imagenet_bench.cache import store as cache
    from imagenet_bench.data import imagenet_meta
    from imagenet_bench.models.identity import from_string
    ids = imagenet_meta.full_val_image_ids()
    labels = np.arange(len(ids)) // 50
    rng = np.random.default_rng(0)
    top5 = rng.integers(0, 1000, (len(ids), 5))
    probs = np.sort(rng.random((len(ids), 5)).astype(np.float32), axis=1)[:, ::-1]
    prov = {"model": "real", "framework": "torch", "weights": "random", "preprocessing": "test",
            "library_versions": {}, "complete": True}
    p = cache.Predictions.build(top5, probs, labels, ids, prov)
    cache.save(os.path.join(folder, cache.cache_filename(from_string("torch:real"), len(ids), p.fingerprint)), p)


def zip_bomb_cache(path: str, inflated: int = 5_900_000_000) -> None:
    """A cache whose provenance member inflates to ``inflated`` bytes of zeros (deflated, ~6 MB)."""
    from numpy.lib import format as npy_format
    head = io.BytesIO()
    npy_format.write_array_header_1_0(head, {"descr": "|u1", "fortran_order": False, "shape": (inflated,)})
    small = {"top5_idx": np.zeros((4, 5), np.int16), "top5_prob": np.zeros((4, 5), np.float32),
             "labels": np.zeros(4, np.int16), "missing": np.zeros(4, bool),
             "image_ids": np.frombuffer(b"a\nb\nc\nd", np.uint8)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, arr in small.items():
            buf = io.BytesIO()
            np.save(buf, arr)
            z.writestr(name + ".npy", buf.getvalue())
        with z.open("provenance.npy", "w", force_zip64=True) as f:
            f.write(head.getvalue())
            chunk, left = bytes(64 << 20), inflated
            while left > 0:
                f.write(chunk[:min(left, len(chunk))])
                left -= len(chunk)


def header_bomb_cache(path: str) -> None:
    """A cache whose top5_idx header declares 4e9 x 5 int16 (40 GB) over a few bytes."""
    from numpy.lib import format as npy_format
    head = io.BytesIO()
    npy_format.write_array_header_1_0(head, {"descr": "<i2", "fortran_order": False,
                                             "shape": (4_000_000_000, 5)})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("top5_idx.npy", head.getvalue() + bytes(64))


def _corpus():
    """tests/corpus.py as a module, loaded from its file (no sys.path edit)."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus.py")
    spec = importlib.util.spec_from_file_location("imagenet_bench_test_corpus", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", help="folder for the files (default: a temporary folder)")
    args = ap.parse_args()
    png_bytes = _corpus().png_bytes  # the corpus's PNG writer: no pixels allocated
    from PIL import Image

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        base = os.path.join(tmp, "base")
        os.makedirs(base)
        real_cache(base)
        rows = []
        b_rss, b_rc, b_s, _ = child(SCORE, base)
        rows.append(("score: one 50,000-row cache (baseline)", b_rss, None, b_rc, b_s, ""))
        for label, make in (("score: + zip-bomb cache (5.9 GB inflated)", zip_bomb_cache),
                            ("score: + header declaring 40 GB", header_bomb_cache)):
            folder = os.path.join(tmp, make.__name__)  # the bomb sorts after the real cache,
            # so the real one is loaded first, as in the baseline
            os.makedirs(folder)
            real_cache(folder)
            t0 = time.perf_counter()
            make(os.path.join(folder, "torch-zz-bomb.val4-0.npz"))
            print(f"built {label} in {time.perf_counter() - t0:.1f} s "
                  f"({os.path.getsize(os.path.join(folder, 'torch-zz-bomb.val4-0.npz')):,} bytes)",
                  file=sys.stderr)
            rss, rc, s, msg = child(SCORE, folder)
            rows.append((label, rss, rss - b_rss, rc, s, msg))

        photo = os.path.join(tmp, "photo.JPEG")
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (375, 500, 3), dtype=np.uint8)).save(photo)
        i_rss, i_rc, i_s, _ = child(IMAGE, photo)
        rows.append(("image: 500x375 JPEG (baseline)", i_rss, None, i_rc, i_s, ""))
        for label, data in (("image: 20000x20000 PNG (decompression bomb)", png_bytes(20000, 20000)),
                            ("image: 20000x1 PNG strip", png_bytes(20000, 1, 8))):
            path = os.path.join(tmp, "bomb.JPEG")
            with open(path, "wb") as f:
                f.write(data)
            rss, rc, s, msg = child(IMAGE, path)
            rows.append((label, rss, rss - i_rss, rc, s, msg))

    print(f"{'scenario':48} {'peak MB':>8} {'+MB':>8} {'exit':>4} {'s':>5}")
    worst = 0.0
    for label, rss, diff, rc, s, msg in rows:
        d = "" if diff is None else f"{diff:+8.1f}"
        worst = max(worst, diff or 0.0)
        print(f"{label:48} {rss:8.1f} {d:>8} {rc:4d} {s:5.1f}")
        if msg:
            print(f"    {msg[:160]}")
    print(json.dumps({"worst_extra_mb": round(worst, 1), "goal_mb": GOAL_MB, "ok": worst <= GOAL_MB}))
    return 0 if worst <= GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
