"""Helpers of the sweep tests that run real processes (a local sweep, a SLURM job array)."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SUBSET

ROOT = Path(__file__).resolve().parents[1]


def skip_or_fail(reason: str):
    """Skip with ``reason``; FAIL instead where IMAGENET_BENCH_REQUIRE_SYSTEM=1 (CI)."""
    if os.environ.get("IMAGENET_BENCH_REQUIRE_SYSTEM") == "1":
        pytest.fail(f"IMAGENET_BENCH_REQUIRE_SYSTEM=1 and {reason}")
    pytest.skip(reason)


def require_slurm():
    """A SLURM cluster that answers (sbatch in PATH, a node idle or busy in sinfo)."""
    if shutil.which("sbatch") is None:
        skip_or_fail("sbatch is not installed (apt-get install slurm-wlm munge)")
    r = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or not any(s.strip("*~#") in ("idle", "mix", "alloc", "comp")
                                    for s in r.stdout.split()):
        skip_or_fail(f"no SLURM cluster answers (sinfo: {(r.stderr or r.stdout).strip()[:200]}); "
                     f"start one with `sudo tools/slurm-local/start.sh`")


def env():
    """The environment of a child imagenet-bench process (this checkout first on the path)."""
    e = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
             OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "SLURM_PROCID",
                "SLURM_NTASKS", "SLURM_JOB_ID"):
        e.pop(var, None)
    return e


def cli(*args, timeout=900, check=True):
    """Run ``python -m imagenet_bench ARGS``; return the CompletedProcess."""
    r = subprocess.run([sys.executable, "-m", "imagenet_bench", *map(str, args)], env=env(),
                       capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"imagenet-bench {' '.join(map(str, args))} exited {r.returncode}:\n"
                             f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def status_total(sw) -> dict:
    """The ``total`` row of ``sweep status SW --format json``: {state: count}."""
    rows = json.loads(cli("sweep", "status", sw, "--format", "json").stdout)
    (total,) = [r for r in rows if r["dataset"] == "total"]
    return {k: v for k, v in total.items() if k != "dataset"}


def status_jobs(sw) -> list:
    """``sweep status SW --jobs --format json``: one object per job."""
    return json.loads(cli("sweep", "status", sw, "--jobs", "--format", "json").stdout)


def real_sets(root: Path, n: int):
    """``n`` real val images flat (imagenet-val) and the same images in wnid folders as an
    ImageNet-Sketch copy; returns (val dir, sketch dir)."""
    if not SUBSET.is_dir():
        pytest.skip(f"real val subset not found at {SUBSET} (../shared beside the repository)")
    from imagenet_bench.data import imagenet_meta
    wnids = imagenet_meta.validation_wnids()
    files = sorted(p for p in SUBSET.iterdir() if p.suffix == ".JPEG")[:n]
    val, sketch = root / "val", root / "sketch"
    val.mkdir(parents=True)
    for f in files:
        shutil.copy(f, val / f.name)
        wnid = wnids[imagenet_meta.val_number(f.name) - 1]
        (sketch / wnid).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, sketch / wnid / f.name)
    return val, sketch


def wait_for(pred, timeout: float, what: str, poll: float = 0.1):
    """Poll ``pred()`` until true; fail naming ``what`` after ``timeout`` seconds."""
    t0 = time.time()
    while not pred():
        if time.time() - t0 > timeout:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def fake_cache(plan: dict, job: dict, save_all_probs: bool = False, model=None) -> Path:
    """A valid cache of ``job`` written where the sweep expects it, without running a model
    (every image predicted as its own label; ``model`` another id to hold instead)."""
    import numpy as np

    from conftest import make_preds
    from imagenet_bench.cache import store as cache
    from imagenet_bench.data import datasets
    ds = plan["datasets"][job["dataset"]]
    vs = datasets.discover(ds["dir"], job["dataset"])
    labels = np.asarray(vs.labels, np.int16)
    top5 = np.stack([labels] + [(labels + k) % 1000 for k in (1, 2, 3, 4)], axis=1)
    extra = {"dataset": {"name": job["dataset"]}} if job["dataset"] != "imagenet-val" else {}
    preds = make_preds(top5, labels, model=model or job["model"], framework=job["framework"],
                       ids=vs.image_ids, save_all_probs=save_all_probs, **extra)
    os.makedirs(plan["caches"], exist_ok=True)
    return Path(cache.save(os.path.join(plan["caches"], job["cache"]), preds))
