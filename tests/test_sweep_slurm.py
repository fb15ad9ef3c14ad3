"""A real SLURM cluster (tools/slurm-local/ in CI): a sweep of 10 jobs (torch, timm, Keras;
val and an ImageNet-Sketch copy of real images) submitted as one job array through submitit;
one running task is scancelled mid-model; `sweep run` again finishes it; `sweep status` says
all done; every cache equals a local sequential run (arrays and provenance but shards/timing).
No SLURM accounting: the cluster runs without slurmdbd. Also: the script `sweep sbatch` prints,
submitted as it is with sbatch."""
import os
import re
import subprocess

import numpy as np
import pytest

from imagenet_bench.cache import store as cache
from imagenet_bench.cache.inspect import differences
from imagenet_bench.sweep import plan as plans
from sweep_helpers import cli, env as _env, real_sets, require_slurm, status_jobs, status_total, wait_for

MODELS = ["torch:squeezenet1_1", "torch:resnet50", "timm:test_vit.r160_in1k",
          "timm:test_resnet.r160_in1k", "keras:MobileNetV2"]
N = 16


def _queue(array: str) -> str:
    return subprocess.run(["squeue", "-h", "-j", array, "-o", "%i %t"], capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.slow
def test_slurm_array_scancel_mid_model_then_rerun_equals_a_local_sequential_run(tmp_path):
    require_slurm()
    for module in ("submitit", "timm", "keras"):
        pytest.importorskip(module)
    sacct = subprocess.run(["sacct", "-n"], capture_output=True, text=True)
    print(f"sacct (accounting): exit {sacct.returncode}: {(sacct.stderr or sacct.stdout).strip()[:120]}")
    val, sketch = real_sets(tmp_path, N)
    common = [*MODELS, "--data", f"imagenet-val={val}", "--data", f"imagenet-sketch={sketch}",
              "--weights", "none", "-b", "2", "--checkpoint-every", "2", "--jobs-per-task", "2",
              "--threads", "1", "--workers", "0"]
    sw = tmp_path / "sw"
    cli("sweep", "plan", sw, *common)
    plan = plans.read(str(sw))  # its paths made absolute (the file keeps them relative)
    assert len(plan["jobs"]) == 10 and len(plan["tasks"]) == 8
    slurm = ["--executor", "slurm", "--array-parallelism", "2", "--time", "30", "--cpus", "1",
             "--signal-delay", "60"]
    r = cli("sweep", "run", sw, *slurm)
    array = re.search(r"submitted 8 tasks as SLURM job array (\d+)", r.stdout).group(1)
    print(f"submitted: job array {array}, 8 tasks, 10 jobs")
    # the resnet50 job on val: cancel its task once its first checkpoint is written
    job = next(j for j in plan["jobs"] if j["model"].startswith("torch:resnet50")
               and j["dataset"] == "imagenet-val")
    partial = os.path.join(plan["caches"], job["cache"][:-4] + ".partial.npz")
    wait_for(lambda: os.path.exists(partial), 900, f"a checkpoint of {job['job']}")
    target = f"{array}_{job['task']}"
    print(f"queue before scancel: {_queue(array)!r}")
    subprocess.run(["scancel", target], check=True)
    print(f"scancel {target} (task {job['task']}: {plan['tasks'][job['task']]['jobs']})")
    wait_for(lambda: not _queue(array), 1200, f"job array {array} to leave the queue", poll=1)
    with np.load(partial) as z:
        kept = int(z["done"].sum())
    assert 0 < kept < N, f"cancelled mid-model: {kept} of {N} images checkpointed"
    print(f"cancelled mid-model: {kept} of {N} images of {job['model']} checkpointed")
    total = status_total(sw)
    print(f"status after scancel: {total}")
    cancelled = next(x for x in status_jobs(sw) if x["job"] == job["job"])
    assert cancelled["state"] == "pending" and cancelled["note"] == \
        "interrupted; resumes from its checkpoint"
    assert total["failed"] == 0 and total["done"] >= 8
    # again: only the cancelled task's unfinished jobs are submitted; the job resumes
    r = cli("sweep", "run", sw, *slurm, "--wait")
    assert "submitted 1 task as SLURM job array" in r.stdout, r.stdout
    total = status_total(sw)
    print(f"status after sweep run again: {total}")
    assert total == {"done": 10, "running": 0, "failed": 0, "pending": 0}
    resumed = cache.load(os.path.join(plan["caches"], job["cache"])).provenance["timing"]
    assert resumed["images"] == N - kept  # only the images after the checkpoint were predicted
    # a local sequential run of the same request
    ref = tmp_path / "ref"
    cli("sweep", "plan", ref, *common)
    cli("sweep", "run", ref, "-j", "1")
    for j in plan["jobs"]:
        diff = differences(os.path.join(ref, "caches", j["cache"]), os.path.join(plan["caches"], j["cache"]))
        assert diff == [], (j["job"], diff)
    print(f"equality: all {len(plan['jobs'])} caches of the SLURM sweep equal the local "
          f"sequential run (every array; provenance but shards/timing)")


@pytest.mark.slow
def test_slurm_preemption_signal_checkpoints_and_submitit_requeues_the_task(tmp_path):
    """submitit's USR2 (what SLURM sends --signal-delay seconds before the time limit): the
    running job checkpoints, submitit requeues the same array task, which resumes mid-model
    and finishes without another `sweep run`."""
    require_slurm()
    pytest.importorskip("submitit")
    n = 48  # enough work left after the first checkpoint for the signal to land mid-model
    val, _ = real_sets(tmp_path, n)
    common = ["torch:resnet50", "--data", f"imagenet-val={val}", "--weights", "none", "-b", "2",
              "--checkpoint-every", "2", "--threads", "1", "--workers", "0"]
    sw = tmp_path / "sw"
    cli("sweep", "plan", sw, *common)
    plan = plans.read(str(sw))  # its paths made absolute (the file keeps them relative)
    job = plan["jobs"][0]
    r = cli("sweep", "run", sw, "--executor", "slurm", "--time", "30", "--cpus", "1")
    array = re.search(r"SLURM job array (\d+)", r.stdout).group(1)
    partial = os.path.join(plan["caches"], job["cache"][:-4] + ".partial.npz")
    wait_for(lambda: os.path.exists(partial) and _queue(array), 900, f"a checkpoint of {job['job']}")
    target = _queue(array).split()[0]  # one task: submitit submits a plain job, no array
    sent = subprocess.run(["scancel", "--signal=USR2", target], capture_output=True, text=True)
    assert sent.returncode == 0, f"scancel --signal=USR2 {target}: {sent.stderr}"
    print(f"sent USR2 to job {target} (submitit's preemption signal) after its first checkpoint")
    wait_for(lambda: not _queue(array), 900, f"job array {array} to finish", poll=1)
    total = status_total(sw)
    assert total["done"] == 1, total
    timing = cache.load(os.path.join(plan["caches"], job["cache"])).provenance["timing"]
    log = "".join(p.read_text(errors="replace") for p in (sw / "slurm").glob("*.err"))
    assert "Caught signal SIGUSR2" in log and "resuming from" in log, log[-3000:]
    assert timing["images"] < n  # the requeued task predicted only what was left
    print(f"requeued by submitit, resumed: {n - timing['images']} of {n} images came from the "
          f"checkpoint")
    ref = tmp_path / "ref"
    cli("sweep", "plan", ref, *common)
    cli("sweep", "run", ref, "-j", "1")
    assert differences(os.path.join(ref, "caches", job["cache"]), os.path.join(plan["caches"], job["cache"])) == []


@pytest.mark.slow
def test_the_script_sweep_sbatch_prints_runs_every_task_under_real_sbatch(tmp_path):
    """`sweep sbatch` prints a script for users with their own scheduler setup: submitted as it
    is to the real SLURM, its array tasks ($SLURM_ARRAY_TASK_ID) finish every job, and the
    caches equal a local run."""
    require_slurm()
    val, _ = real_sets(tmp_path, 4)
    common = ["torch:squeezenet1_1", "torch:mobilenet_v3_small", "--data", f"imagenet-val={val}",
              "--weights", "none", "-b", "2", "--jobs-per-task", "1", "--threads", "1",
              "--workers", "0"]
    sw = tmp_path / "sw"
    cli("sweep", "plan", sw, *common)
    plan = plans.read(str(sw))  # its paths made absolute (the file keeps them relative)
    script = tmp_path / "sweep.sbatch"
    script.write_text(cli("sweep", "sbatch", sw, "--cpus", "1", "--time", "20").stdout)
    r = subprocess.run(["sbatch", "--parsable", "--wait", str(script)], capture_output=True,
                       text=True, timeout=1200, cwd=tmp_path,
                       env=_env())
    assert r.returncode == 0, f"sbatch --wait exited {r.returncode}: {r.stdout} {r.stderr}"
    array = r.stdout.strip().split(";")[0]
    print(f"sbatch {script.name}: job array {array}, {len(plan['tasks'])} tasks, finished")
    total = status_total(sw)
    assert total == {"done": 2, "running": 0, "failed": 0, "pending": 0}, total
    logs = sorted((sw / "logs").glob(f"slurm-{array}_*.log"))
    assert len(logs) == len(plan["tasks"]), [p.name for p in logs]
    ref = tmp_path / "ref"
    cli("sweep", "plan", ref, *common)
    cli("sweep", "run", ref, "-j", "1")
    for j in plan["jobs"]:
        assert differences(os.path.join(ref, "caches", j["cache"]),
                           os.path.join(plan["caches"], j["cache"])) == [], j["job"]
    print(f"status {total}; both caches equal a local run; logs {[p.name for p in logs]}")
