"""Scoring at zoo scale: whole `imagenet-bench` processes against the numpy floor, same run.

Builds N valid caches (``store.save``, the package's own writer) under N
distinct real catalog ids (torchvision, Keras and timm weights, runnable ones first) over
the full 50,000-image validation list, synthetic predictions (each model right
at top-1 with its own probability), once, under ``--root`` (default
/tmp/imagenet_bench_scale). With ``--sets 7`` the same models also get caches
of the six shifted test sets (ImageNetV2 x3, -A and -R with their masked
top-5, -Sketch; same image counts as the real sets) in a second folder that
hard-links the val caches beside them; with ``--sets 76`` the shifted sets are
the 75 benchmark sets of ImageNet-C instead (``imagenet-c-<corruption>-<severity>``,
``--c-images`` images each, 50,000 as released), and ``robustness --corruptions
summary`` (the mCE table) is timed. ``--shipped`` measures the 34 shipped
2019 caches instead.

Then times, alternating and in fresh processes (interpreter start and imports
included, bytecode caching on), medians of ``--repeat`` runs:

* the numpy floor (``score_bench.BASELINE_CACHES``, the same script): a bare script
  that ``np.load``s ``top5_idx`` and ``labels`` of every file of the folder and
  prints top-1/top-5;
* ``score`` with the index cold (a fresh ``XDG_CACHE_HOME`` per run, holding only
  the remembered entry-point scan of ``models/entry_points.py``, as a user's first
  command in a new folder finds it), warm, and ``--no-index``;
* ``compare A B``, ``per-class M`` and ``errors`` (index warm);
* ``robustness`` over N models x 7 sets (``--corruptions summary`` over N models x
  76 sets), cold and warm, against the floor of all those files;
* that the index and ``--no-index`` give byte-identical tables;
* three bad files among the N (truncated, a NaN probability, empty): the time
  to the one error that lists them, with the index warm for the others and cold.

Wall, CPU (user + sys) and peak RSS per process (``os.wait4``). Goals (issue
#19) are printed beside the figures, with whether they hold in this run.

    nice -n 10 python benchmarks/scale_bench.py -n 1500 [--sets 7] [--repeat 3]
    nice -n 10 python benchmarks/scale_bench.py -n 100 --sets 76 --c-images 10000
    python benchmarks/scale_bench.py -n 34 100 1500 --repeat 3   # the three sizes of issue #19

Everything it makes (caches, indexes, the per-run ``XDG_CACHE_HOME`` folders) is
removed at the end unless ``--keep-caches``. A folder of caches kept by an earlier run
under the same ``--root`` is reused when its manifest (``.done``: the models, the test
sets and every file's size) matches this run's, and is never removed.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.cache import locations
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets, imagenet_c, imagenet_meta
from imagenet_bench.models import catalog, identity

#: the numpy floor script of benchmarks/score_bench.py (one floor for both benchmarks)
FLOOR = runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "score_bench.py"))["BASELINE_CACHES"]

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
CLI = [sys.executable, "-m", "imagenet_bench"]


# --- building the caches -----------------------------------------------------------------------

def model_ids(n: int) -> List[str]:
    """``n`` distinct catalog ids, frameworks interleaved, runnable weights first."""
    runnable = {e.model: e.runnable for e in catalog.entries()}
    by_fw = [sorted((e.model for e in catalog.entries(fw)), key=lambda m, fw=fw: (
        not runnable[m], m)) for fw in ("torch", "keras", "timm")]
    out: List[str] = []
    while len(out) < n and any(by_fw):
        for ids in by_fw:
            if ids and len(out) < n:
                out.append(ids.pop(0))
    if len(out) < n:
        raise SystemExit(f"the catalog has only {len(out)} ids")
    return out


def set_names(sets: int) -> List[str]:
    """The test sets of ``--sets``: val alone, val + the 6 shifted sets, or val + the 75
    benchmark sets of ImageNet-C."""
    if sets == 76:
        return [datasets.DEFAULT] + [imagenet_c.set_name(c, s) for c in imagenet_c.CORRUPTIONS
                                     for s in imagenet_c.SEVERITIES]
    return datasets.names()[:sets]


def _set_images(name: str, images: int = 0) -> Tuple[np.ndarray, List[str]]:
    """Labels and image ids of a test set (val: the real list; others: as many images, or
    ``images`` when given)."""
    if name == datasets.DEFAULT:
        blob = imagenet_meta.full_val_ids_blob()
        return np.asarray(imagenet_meta.full_val_classes()), blob.tobytes().decode().split("\n")
    spec = datasets.get(name)
    classes = np.asarray(spec.classes if spec.classes else range(1000))
    labels = np.sort(classes[np.arange(images or spec.num_images) % len(classes)])
    wnids = imagenet_meta.wnids()
    return labels, [f"{name}/{wnids[c]}/{i:06d}.jpg" for i, c in enumerate(labels)]


@functools.lru_cache(maxsize=None)
def _set_images_cached(name: str, images: int = 0):
    return _set_images(name, images)


def _near(rng, labels: np.ndarray, shape, pool: np.ndarray) -> np.ndarray:
    """Classes near each row's label in ``pool`` (how real confusions cluster: top-5s
    correlated with the label, which also keeps the files as compressible as real ones)."""
    pos = np.searchsorted(pool, labels)[:, None] + rng.integers(-6, 7, shape)
    return pool[np.clip(pos, 0, len(pool) - 1)].astype(np.int16)


def _one(job) -> str:
    folder, mid, k, name, images = job
    labels, ids = _set_images_cached(name, images)
    n = len(labels)
    rng = np.random.default_rng(k * 31 + len(name))
    p_right = 0.55 + 0.33 * ((k * 0.618) % 1.0) * (1.0 if name == datasets.DEFAULT else 0.7)
    every = np.arange(1000)
    top5 = _near(rng, labels, (n, 5), every)
    right = rng.random(n) < p_right
    top5[right, 0] = labels[right]
    probs = np.sort(rng.random((n, 5)).astype(np.float32), axis=1)[:, ::-1] * 0.5
    prov = {"model": mid, "framework": mid.split(":")[0], "weights": "synthetic",
            "preprocessing": {"mode": "synthetic"}, "library_versions": {}, "complete": True}
    if imagenet_c.parse(name):
        prov["recipe_overrides"] = {"resize": 224, "crop": 224}  # the benchmark protocol
    subset = None
    if name != datasets.DEFAULT:
        classes = datasets.get(name).classes
        prov["dataset"] = {"name": name, **({"class_subset": list(classes)} if classes else {})}
        if classes:
            sub = _near(rng, labels, (n, 5), np.asarray(classes))
            hit = rng.random(n) < p_right + 0.1
            sub[hit, 0] = labels[hit]
            subset = (sub, probs)
    p = cache.Predictions.build(top5, probs, labels, ids, prov, subset_top5=subset)
    path = os.path.join(folder, cache.cache_filename(identity.from_string(mid), n, p.fingerprint, name))
    cache.save(path, p)
    return path


#: in each built folder: what it holds (models, test sets, every file's size), written last
MANIFEST = ".done"
#: folders this process built (removed at the end unless --keep-caches; reused ones are kept)
BUILT: List[str] = []


def _wanted(ids: List[str], sets: List[str]) -> Dict:
    return {"format": 1, "models": ids, "sets": sets}


def reusable(folder: str, want: Dict) -> bool:
    """True when ``folder``'s manifest names the same models and sets and every file it
    lists is there with its size (a folder built by an earlier run: not built again)."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
            have = json.load(f)
        files = have.pop("files")
        return have == want and bool(files) and all(
            os.path.getsize(os.path.join(folder, name)) == size for name, size in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def write_manifest(folder: str, want: Dict) -> None:
    """Record what ``folder`` holds (:func:`reusable` checks it on the next run)."""
    files = {f: os.path.getsize(os.path.join(folder, f)) for f in sorted(os.listdir(folder))
             if f.endswith(".npz")}
    with open(os.path.join(folder, MANIFEST + ".tmp"), "w", encoding="utf-8") as f:
        json.dump(dict(want, files=files), f)
    os.replace(os.path.join(folder, MANIFEST + ".tmp"), os.path.join(folder, MANIFEST))


def build(root: str, n: int, sets: int, c_images: int = 0) -> Tuple[str, str]:
    """The val folder and (with ``sets`` 7 or 76) the all-sets folder under ``root``, built
    unless an earlier run's folder holds the same (``--root`` kept with ``--keep-caches``)."""
    val = os.path.join(root, f"val{n}")
    every = os.path.join(root, f"sets{n}" if sets < 76 else f"c{n}x{c_images}")
    ids = model_ids(n)
    shifted = set_names(sets)[1:]
    want_val, want_every = _wanted(ids, [datasets.DEFAULT]), _wanted(ids, set_names(sets))
    if sets == 76:
        want_every["images"] = c_images
    jobs = []
    if not reusable(val, want_val):
        os.makedirs(val, exist_ok=True)
        BUILT.append(val)
        jobs += [(val, m, k, datasets.DEFAULT, 0) for k, m in enumerate(ids)]
    if sets > 1 and not reusable(every, want_every):
        os.makedirs(every, exist_ok=True)
        BUILT.append(every)
        jobs += [(every, m, k, s, c_images) for k, m in enumerate(ids) for s in shifted]
    if not jobs:
        print(f"reusing the caches under {root} (their manifests match)", file=sys.stderr)
    if jobs:
        t = time.perf_counter()
        print(f"building {len(jobs)} caches under {root} ...", file=sys.stderr, flush=True)
        with Pool(2) as pool:
            for i, _ in enumerate(pool.imap_unordered(_one, jobs, chunksize=8)):
                if (i + 1) % 500 == 0:
                    print(f"  {i + 1}/{len(jobs)}", file=sys.stderr, flush=True)
        print(f"built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    if val in BUILT:
        write_manifest(val, want_val)
    if every in BUILT:
        for f in os.listdir(val):
            if f.endswith(".npz") and not os.path.exists(os.path.join(every, f)):
                os.link(os.path.join(val, f), os.path.join(every, f))
        write_manifest(every, want_every)
    return val, (every if sets > 1 else None)


# --- timing -------------------------------------------------------------------------------------

def timed(cmd: Sequence[str], env: Dict[str, str]) -> Tuple[float, float, float, bytes, bytes, int]:
    """(wall, CPU, RSS, out, err, rc) of one process, waited for with ``os.wait4`` (own rusage)."""
    t = time.perf_counter()
    p = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out_chunks, err_chunks = [], []

    def drain(stream, sink):
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            sink.append(chunk)
    threads = [threading.Thread(target=drain, args=(p.stdout, out_chunks)),
               threading.Thread(target=drain, args=(p.stderr, err_chunks))]
    for th in threads:
        th.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    for th in threads:
        th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    return (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, b"".join(out_chunks),
            b"".join(err_chunks), p.returncode)


class Bench:
    """Runs named commands alternately, ``repeat`` rounds, and keeps every measurement."""

    def __init__(self, repeat: int):
        self.repeat = repeat
        self.samples: Dict[str, List[Tuple[float, float, float]]] = {}
        self.outputs: Dict[str, bytes] = {}

    def rounds(self, commands: Dict[str, Tuple[List[str], callable]]) -> None:
        for _ in range(self.repeat):
            for name, (cmd, env_of) in commands.items():
                wall, cpu, rss, out, err, rc = timed(cmd, env_of())
                if rc != 0:
                    raise SystemExit(f"{name} failed (rc {rc}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
                self.samples.setdefault(name, []).append((wall, cpu, rss))
                self.outputs[name] = out

    def median(self, name: str) -> Tuple[float, float, float]:
        s = self.samples[name]
        return tuple(statistics.median(x[i] for x in s) for i in range(3))


def xdg(path: str):
    return lambda: dict(ENV, XDG_CACHE_HOME=path)


def fresh_xdg(root: str, seed: Optional[str] = None):
    """A fresh ``XDG_CACHE_HOME`` per run: no folder index. With ``seed`` (the warm one) it
    holds that one's remembered entry-point scan (models/entry_points.py), which a user's
    first command in a new folder finds too: the cold index is what is measured."""
    def env():
        d = tempfile.mkdtemp(prefix="cold-", dir=root)
        if seed is not None:
            src = os.path.join(seed, "imagenet_bench")
            os.makedirs(os.path.join(d, "imagenet_bench"))
            for f in os.listdir(src) if os.path.isdir(src) else ():
                if f.startswith("entry-points-"):
                    shutil.copy(os.path.join(src, f), os.path.join(d, "imagenet_bench", f))
        return dict(ENV, XDG_CACHE_HOME=d)
    return env


def table(bench: Bench, rows: List[Tuple[str, str, str]]) -> None:
    """rows: (label, sample name, goal text); ratio against the floor of that block."""
    print(f"{'command':44s} {'wall s':>7s} {'CPU s':>7s} {'RSS MB':>7s} {'/floor':>7s}  goal")
    floor = None
    for label, name, goal in rows:
        wall, cpu, rss = bench.median(name)
        if name.startswith("floor"):
            floor = wall
        ratio = f"{wall / floor:6.2f}x" if floor else ""
        print(f"{label:44s} {wall:7.2f} {cpu:7.2f} {rss:7.0f} {ratio:>7s}  {goal}")


def verdict(ok: bool, cpu_ok: Optional[bool] = None) -> str:
    """Whether a goal holds in wall time (and, when given, in CPU time: on a shared machine
    the wall time of a process waiting for a core says little about the program)."""
    text = "holds" if ok else "MISSED"
    if cpu_ok is not None and cpu_ok != ok:
        text += f" in wall time, {'holds' if cpu_ok else 'MISSED'} in CPU time"
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, nargs="+", default=[100],
                    help="numbers of models (val caches), one measurement each; 34 = the "
                         "34 shipped 2019 caches (nothing built)")
    ap.add_argument("--sets", type=int, default=1, choices=(1, 7, 76),
                    help="7: also time robustness over the models x 7 test sets; 76: robustness "
                         "--corruptions summary over the models x (val + 75 ImageNet-C sets)")
    ap.add_argument("--c-images", type=int, default=imagenet_c.IMAGES_PER_SET,
                    help="images per ImageNet-C set with --sets 76 (default 50,000, as released)")
    ap.add_argument("--shipped", action="store_true", help="the same as -n 34")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "imagenet_bench_scale"))
    ap.add_argument("--keep-caches", action="store_true",
                    help="keep the built caches under --root for the next run (default: the "
                         "run removes everything it made)")
    args = ap.parse_args(argv)
    sizes = ([34] if args.shipped else []) + [n for n in args.n if not (args.shipped and n == 34)]
    made_root = not os.path.exists(args.root)
    os.makedirs(args.root, exist_ok=True)
    t0 = time.perf_counter()
    try:
        for n in sizes:
            work = tempfile.mkdtemp(prefix="run-", dir=args.root)
            try:
                _measure(argparse.Namespace(**{**vars(args), "n": n, "shipped": n == 34}), work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            print()
    finally:
        if not args.keep_caches:
            for d in BUILT:
                shutil.rmtree(d, ignore_errors=True)
            if made_root:
                shutil.rmtree(args.root, ignore_errors=True)
    print(f"scale_bench: {time.perf_counter() - t0:.0f} s in all "
          f"({'caches kept under ' + args.root if args.keep_caches else 'nothing left behind'})")
    return 0


def _measure(args, work: str) -> int:
    if args.shipped:
        val, every, n = locations.shipped_dir(), None, 34
    else:
        val, every = build(args.root, args.n, args.sets, args.c_images)
        n = args.n
    warm = os.path.join(work, "warm")
    files = sorted(f for f in os.listdir(val) if f.endswith(".npz"))
    size = sum(os.path.getsize(os.path.join(val, f)) for f in files)
    print(f"{n} val caches ({len(files)} files, {size / 2**20:.0f} MiB) in {val}; "
          f"{args.repeat} rounds, alternating, medians; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the start")
    score = CLI + ["score", "--precomputed", val, "--format", "csv"]
    subprocess.run(score, env=xdg(warm)(), check=True, capture_output=True)  # make the warm index
    models = [line.split(",")[2] for line in subprocess.run(
        score, env=xdg(warm)(), capture_output=True, text=True).stdout.splitlines()[2:4]]
    a, b = models
    bench = Bench(args.repeat)
    compare = CLI + ["compare", a, b, "--precomputed", val, "--format", "csv"]
    per_class = CLI + ["per-class", a, "--precomputed", val]
    errors = CLI + ["errors", "--precomputed", val]
    bench.rounds({
        "floor": ([sys.executable, "-c", FLOOR, val], xdg(warm)),
        "score cold": (score, fresh_xdg(work, warm)),
        "score warm": (score, xdg(warm)),
        "score --no-index": (score + ["--no-index"], xdg(warm)),
        "compare warm": (compare, xdg(warm)),
        "per-class warm": (per_class, xdg(warm)),
        "errors warm": (errors, xdg(warm)),
    })
    fw, _, _ = bench.median("floor")
    cold, warm_s = bench.median("score cold"), bench.median("score warm")
    if args.shipped:
        goal_cold = goal_warm = f"<= 1.3x floor: {verdict(cold[0] <= 1.3 * fw)} cold, " \
                                f"{verdict(warm_s[0] <= 1.3 * fw)} warm"
    else:
        goal_cold = f"<= 1.2x floor: {verdict(cold[0] <= 1.2 * fw)}"
        small = warm_s[2] < 300
        goal_warm = (f"< 1 s and < 300 MB at 1,500: "
                     f"{verdict(warm_s[0] < 1 and small, warm_s[1] < 1 and small)}"
                     if n >= 1500 else "")
    rows = [("numpy floor (top5_idx + labels of every file)", "floor", ""),
            ("score, index cold", "score cold", goal_cold),
            ("score, index warm", "score warm", goal_warm),
            ("score --no-index", "score --no-index", "")]
    cw, pw, ew = bench.median("compare warm"), bench.median("per-class warm"), bench.median("errors warm")
    big = n >= 1500
    rows += [("compare A B (warm)", "compare warm", f"< 0.5 s: {verdict(cw[0] < 0.5)}" if big else ""),
             ("per-class M (warm)", "per-class warm", f"< 0.5 s: {verdict(pw[0] < 0.5)}" if big else ""),
             ("errors (warm)", "errors warm",
              f"< 3 s, < 500 MB: {verdict(ew[0] < 3 and ew[2] < 500)}" if big else "")]
    table(bench, rows)
    print(f"A = {a}, B = {b}, M = A")
    same = {}
    for name, cmd in (("score", score), ("compare", compare), ("per-class", per_class),
                      ("errors", errors)):
        plain = subprocess.run(cmd + ["--no-index"], env=xdg(warm)(), capture_output=True).stdout
        key = {"score": "score warm", "compare": "compare warm", "per-class": "per-class warm",
               "errors": "errors warm"}[name]
        same[name] = plain == bench.outputs[key] == bench.outputs.get("score cold" if name == "score" else key)
    print("index and --no-index give identical tables: "
          + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in same.items()))
    if every is not None:
        _robustness(args, every, work, n)
    if not args.shipped:
        _bad_files(val, work, n)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    return 0


def _robustness(args, every: str, work: str, n: int) -> None:
    warm = os.path.join(work, "warm-sets")
    mce = args.sets == 76
    cmd = CLI + ["robustness", "--precomputed", every, "--format", "csv"] + (
        ["--corruptions", "summary"] if mce else [])
    files = [f for f in os.listdir(every) if f.endswith(".npz")]
    size = sum(os.path.getsize(os.path.join(every, f)) for f in files)
    what = (f"robustness --corruptions summary: {n} models x (val + 75 ImageNet-C sets of "
            f"{args.c_images:,} images)" if mce else f"robustness: {n} models x {args.sets} sets")
    print(f"\n{what} ({len(files)} files, {size / 2**30:.1f} GiB)")
    subprocess.run(cmd, env=xdg(warm)(), check=True, capture_output=True)
    bench = Bench(max(1, args.repeat - 1))
    bench.rounds({"floor": ([sys.executable, "-c", FLOOR, every], xdg(warm)),
                  "robustness cold": (cmd, fresh_xdg(work, warm)),
                  "robustness warm": (cmd, xdg(warm))})
    rw = bench.median("robustness warm")
    goal = (f"< 2 s at 100 x 76: {verdict(rw[0] < 2, rw[1] < 2)}" if mce and n >= 100 else
            f"< 5 s at 1,500 x 7: {verdict(rw[0] < 5, rw[1] < 5)}" if n >= 1500 and not mce else "")
    table(bench, [("numpy floor (every file of every set)", "floor", ""),
                  ("robustness, index cold (each file read once)", "robustness cold", ""),
                  ("robustness, index warm", "robustness warm", goal)])
    _, _, _, out, err, _ = timed(cmd, xdg(warm)())
    plain = subprocess.run(cmd + ["--no-index"], env=xdg(warm)(), capture_output=True)
    print(f"index and --no-index give identical tables: robustness "
          f"{'yes' if plain.stdout == out == bench.outputs['robustness warm'] else 'NO'}; "
          f"stderr notes: {len(err.decode().splitlines())} line(s) for {n} models")
    for line in err.decode().splitlines():
        print(f"  {line[:160]}{' ...' if len(line) > 160 else ''}")


def _bad_files(val: str, work: str, n: int) -> None:
    """Three bad files among ``n``: time to the one error listing them."""
    bad = os.path.join(work, "bad")
    os.makedirs(bad)
    files = sorted(f for f in os.listdir(val) if f.endswith(".npz"))
    for f in files:
        os.link(os.path.join(val, f), os.path.join(bad, f))
    env = xdg(os.path.join(work, "warm-bad"))
    cmd = CLI + ["score", "--precomputed", bad]
    subprocess.run(cmd, env=env(), check=True, capture_output=True)  # index warm for every file
    victims = [files[len(files) // 3], files[2 * len(files) // 3], files[-5]]
    data = open(os.path.join(val, victims[0]), "rb").read()
    for v in victims:
        os.unlink(os.path.join(bad, v))
    with open(os.path.join(bad, victims[0]), "wb") as f:
        f.write(data[:len(data) // 2])  # truncated
    p = cache.load(os.path.join(val, victims[1]))
    p.top5_prob = p.top5_prob.astype(np.float32)
    p.top5_prob[17, 0] = np.nan
    arrays = {"top5_idx": p.top5_idx, "top5_prob": p.top5_prob, "labels": p.labels,
              "provenance": np.frombuffer(json.dumps(p.provenance).encode(), np.uint8)}
    np.savez(os.path.join(bad, victims[1]), **arrays)
    open(os.path.join(bad, victims[2]), "wb").close()  # empty
    for label, env_of in (("index warm for the others", env), ("index cold", fresh_xdg(work))):
        wall, cpu, rss, out, err, rc = timed(cmd, env_of())
        print(f"\n3 bad files among {n}, {label}: exit {rc} after {wall:.2f} s wall "
              f"({cpu:.2f} s CPU, {rss:.0f} MB); the error:")
        print("\n".join("  " + line for line in err.decode().splitlines()))


if __name__ == "__main__":
    sys.exit(main())
