"""A local sweep SIGKILLed mid-model resumes mid-model, and its caches equal separate
`predict` runs (arrays and provenance but shards/timing)."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from imagenet_bench.cache import store as cache
from imagenet_bench.cache.inspect import differences
from imagenet_bench.sweep import plan as plans
from sweep_helpers import cli, env, real_sets, status_jobs, status_total, wait_for

N = 16


@pytest.mark.slow
def test_local_sweep_sigkilled_mid_model_resumes_and_equals_separate_predicts(tmp_path):
    pytest.importorskip("timm")
    val, _ = real_sets(tmp_path, N)
    models = ["torch:squeezenet1_1", "torch:resnet50", "timm:test_vit.r160_in1k",
              "timm:test_vit2.r160_in1k"]
    settings = ["--weights", "none", "-b", "2", "--threads", "1", "--workers", "0"]
    sw = tmp_path / "sw"
    cli("sweep", "plan", sw, *models, "--data", f"imagenet-val={val}", *settings,
        "--checkpoint-every", "2")
    plan = plans.read(str(sw))  # its paths made absolute (the file keeps them relative)
    job = next(j for j in plan["jobs"] if j["model"].startswith("torch:resnet50"))
    partial = os.path.join(plan["caches"], job["cache"][:-4] + ".partial.npz")
    proc = subprocess.Popen([sys.executable, "-m", "imagenet_bench", "sweep", "run", str(sw), "-j", "1"],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_for(lambda: os.path.exists(partial) or proc.poll() is not None, 600,
                 f"a checkpoint of {job['job']}", poll=0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its task process, mid-model
        proc.wait()
    with np.load(partial) as z:
        kept = int(z["done"].sum())
    assert 0 < kept < N, kept
    assert next(x for x in status_jobs(sw) if x["job"] == job["job"])["state"] == "pending"
    print(f"SIGKILL mid-model: {kept} of {N} images of {job['model']} checkpointed; "
          f"status {status_total(sw)}")
    cli("sweep", "run", sw, "-j", "1")
    assert status_total(sw) == {"done": 4, "running": 0, "failed": 0, "pending": 0}
    logs = "".join(p.read_text() for p in (sw / "logs").iterdir())
    assert f"resuming from {partial}: {kept} of {N} images already done" in logs
    assert cache.load(os.path.join(plan["caches"], job["cache"])).provenance["timing"]["images"] == N - kept
    for m in models:
        cli("predict", val, "-m", m, *settings, "-o", tmp_path / "ref", "--no-progress")
    for j in plan["jobs"]:
        diff = differences(str(tmp_path / "ref" / j["cache"]), os.path.join(plan["caches"], j["cache"]))
        assert diff == [], (j["job"], diff)
    print(f"equality: the resumed sweep's {len(plan['jobs'])} caches equal separate predict runs")
