"""Where the tasks of a plan run: processes here, a SLURM job array (submitit), a script.

* :func:`run_local`: each task as ``imagenet-bench sweep run-task`` in a process of its
  own, ``parallel`` at a time (``LOCAL_RANK``/``LOCAL_WORLD_SIZE`` set, so CPU threads and
  GPUs are divided among them); logs in ``<sweep>/logs/task-<i>.log``.
* :func:`submit_slurm`: the tasks as ONE job array through submitit (``map_array``). The
  callable (:class:`SlurmTask`) is checkpointable: SLURM sends submitit's signal
  (``USR2``, ``signal_delay_s`` before the time limit; ``#SBATCH --signal=USR2@S``) -> the
  running job checkpoints exactly as on SIGTERM -> submitit requeues the array task, which
  resumes mid-model. ``scancel`` sends SIGTERM (submitit itself ignores it; the task turns
  it into a checkpoint and stops, exit 143); the next ``sweep run`` submits what is left.
* :func:`sbatch_script`: the same as a plain script for ``sbatch`` (``$SLURM_ARRAY_TASK_ID``
  picks the task; ``--signal=B:USR1@S`` + ``--requeue``: the task checkpoints and requeues
  itself with ``scontrol requeue``).

The cache folder (and the sweep folder next to it) is the only state the tasks share:
each cache is written under an ``flock`` on its checkpoint (:mod:`imagenet_bench.run.locks`),
which NFSv4 and Lustre (mounted with ``-o flock``) honour across nodes; on NFSv3 without
``lockd``, or another file system without locks, a warning is printed and two sweeps
over one folder could write the same cache at once (each write stays atomic, so the cache
is one of two equal results, never a mix). No SLURM accounting (``sacct``/slurmdbd) is
used: state comes from the sweep folder (:mod:`.state`).
"""
from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from imagenet_bench.errors import BenchError
from imagenet_bench.run.signals import Terminated, terminate_as_interrupt
from imagenet_bench.sweep import state

LOGS_DIR = "logs"


def task_command(folder: str, planfile: str, index) -> List[str]:
    """The command line that runs one task."""
    return [sys.executable, "-m", "imagenet_bench", "sweep", "run-task", folder, str(index),
            "--plan", planfile]


class JobLines:
    """One line per job of ``jobs`` as it ends ("done" or "failed" with its error, "k of n"),
    read from the jobs' status records that differ from the ones found when it was made."""

    def __init__(self, folder: str, jobs: Sequence[str], log: Callable[[str], None]):
        self.folder, self.pending, self.log = folder, list(jobs), log
        self.total, self.polled = len(self.pending), 0.0
        self.before = {job: state.read(folder, job) for job in self.pending}

    def poll(self) -> None:
        """Report the jobs that ended since the last call (at most once a second)."""
        if not self.pending or time.time() - self.polled < 1.0:
            return
        self.polled = time.time()
        for job in list(self.pending):
            rec = state.read(self.folder, job) or {}
            if rec.get("state") in ("done", "failed") and rec != self.before[job]:
                self.pending.remove(job)
                error = f": {rec.get('error')}" if rec["state"] == "failed" else ""
                self.log(f"{job}: {rec['state']} ({self.total - len(self.pending)} of "
                         f"{self.total}){error}")


def run_local(folder: str, planfile: str, tasks: List[int], parallel: int = 1,
              log: Callable[[str], None] = print, jobs: Sequence[str] = ()) -> Dict[int, int]:
    """Run ``tasks`` as local processes, ``parallel`` at once, with a line for each of ``jobs``
    as it ends; {task: exit status}."""
    os.makedirs(os.path.join(folder, LOGS_DIR), exist_ok=True)
    waiting, running, status = list(tasks), {}, {}
    parallel = max(1, int(parallel))
    lines = JobLines(folder, jobs, log)
    try:
        with terminate_as_interrupt():
            while waiting or running:
                while waiting and len(running) < parallel:
                    slot = min(set(range(parallel)) - {s for _, s, _ in running.values()})
                    i = waiting.pop(0)
                    out = open(os.path.join(folder, LOGS_DIR, f"task-{i}.log"), "ab")
                    env = dict(os.environ, LOCAL_RANK=str(slot), LOCAL_WORLD_SIZE=str(parallel))
                    proc = subprocess.Popen(task_command(folder, planfile, i), stdout=out,
                                            stderr=subprocess.STDOUT, env=env)
                    running[i] = (proc, slot, out)
                    log(f"task {i}: started (pid {proc.pid}; log {out.name})")
                for i, (proc, slot, out) in list(running.items()):
                    if proc.poll() is not None:
                        out.close()
                        status[i] = proc.returncode
                        del running[i]
                        log(f"task {i}: exit {proc.returncode}")
                lines.poll()
                time.sleep(0.2)
            lines.polled = 0.0
            lines.poll()
    except KeyboardInterrupt:
        for proc, _, out in running.values():
            proc.send_signal(signal.SIGTERM)  # each task checkpoints its running job
        for i, (proc, _, out) in running.items():
            status[i] = proc.wait()
            out.close()
        raise
    return status


# --- SLURM ------------------------------------------------------------------------------

@contextlib.contextmanager
def preemptible(signame: Optional[str]) -> Iterator[List[int]]:
    """Inside the block SIGTERM, and the signal ``signame`` (``USR1``/``USR2``) when given,
    raise :class:`Terminated` (the running job checkpoints); yields a list that holds the
    signal number once ``signame`` arrived. The previous handler of ``signame`` is restored."""
    got: List[int] = []
    sig = getattr(signal, f"SIG{signame}") if signame else None

    def on_signal(signum, frame):
        got.append(signum)
        raise Terminated()
    previous = signal.signal(sig, on_signal) if sig else None
    try:
        with terminate_as_interrupt():
            yield got
    finally:
        if sig:
            signal.signal(sig, previous)


def requeue_self() -> None:
    """``scontrol requeue`` this SLURM (array) job; BenchError when not under SLURM."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        raise BenchError("--requeue-signal: not running under SLURM (no SLURM_JOB_ID). Fix: leave "
                         "--requeue-signal out outside a SLURM job")
    subprocess.run(["scontrol", "requeue", job], check=False, timeout=60)


class SlurmTask:
    """The callable submitit runs for one array task: ``run_task(folder, planfile, index)``
    with submitit's preemption signal turned into a checkpoint, then submitit's own handler
    (which calls :meth:`checkpoint` and requeues the task)."""

    def __init__(self, folder: str, planfile: str, run_task: Callable[[str, str, int], int]):
        self.folder, self.planfile, self.run_task = folder, planfile, run_task

    def __call__(self, index: int) -> int:
        """Run task ``index``; re-raise the preemption after checkpointing."""
        import submitit
        signame = submitit.JobEnvironment.USR_SIG if hasattr(submitit, "JobEnvironment") else "USR2"
        sig = getattr(signal, f"SIG{signame}")
        submitit_handler = signal.getsignal(sig)
        try:
            with preemptible(signame) as got:
                return self.run_task(self.folder, self.planfile, index)
        except KeyboardInterrupt:
            if got and callable(submitit_handler):
                submitit_handler(sig, None)  # checkpoint() below, scontrol requeue, exit
            raise

    def checkpoint(self, index: int):
        """What submitit requeues: this same task (it resumes from the caches' checkpoints)."""
        import submitit
        return submitit.helpers.DelayedSubmission(self, index)


def submit_slurm(folder: str, planfile: str, tasks: List[int], run_task: Callable,
                 partition: Optional[str] = None, time_min: int = 240, gpus: int = 0,
                 cpus: Optional[int] = None, mem_gb: Optional[float] = None,
                 array_parallelism: int = 64, signal_delay_s: int = 120,
                 sbatch_options: Optional[Dict[str, str]] = None) -> List:
    """Submit ``tasks`` as one SLURM job array with submitit; returns the submitit jobs."""
    try:
        import submitit
    except ModuleNotFoundError:
        raise BenchError("--executor slurm needs submitit, which is not installed. Fix: pip install "
                         "'imagenet_bench[slurm]' (or use `imagenet-bench sweep sbatch`)") from None
    ex = submitit.SlurmExecutor(folder=os.path.join(folder, "slurm"), max_num_timeout=10)
    params = dict(time=int(time_min), array_parallelism=int(array_parallelism),
                  signal_delay_s=int(signal_delay_s), job_name="imagenet-bench-sweep",
                  additional_parameters=dict(sbatch_options or {}))
    if partition:
        params["partition"] = partition
    if gpus:
        params["gpus_per_node"] = int(gpus)
    if cpus:
        params["cpus_per_task"] = int(cpus)
    if mem_gb:
        params["mem"] = f"{int(mem_gb * 1024)}M"
    ex.update_parameters(**params)
    try:
        return ex.map_array(SlurmTask(os.path.abspath(folder), planfile, run_task), list(tasks))
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        raise BenchError(f"--executor slurm: sbatch failed ({e}). Fix: run on a SLURM login node "
                         f"(sbatch in PATH, the cluster reachable: `sinfo`)") from None


def sbatch_script(folder: str, planfile: str, num_tasks: int, partition: Optional[str] = None,
                  time_min: int = 240, gpus: int = 0, cpus: Optional[int] = None,
                  mem_gb: Optional[float] = None, array_parallelism: int = 64,
                  signal_delay_s: int = 120, sbatch_options: Optional[Dict[str, str]] = None) -> str:
    """A ready ``sbatch`` script running the plan's tasks as an array (``$SLURM_ARRAY_TASK_ID``)."""
    folder = os.path.abspath(folder)
    lines = ["#!/bin/bash", "# imagenet-bench sweep: one array task per task of the plan",
             "#SBATCH --job-name=imagenet-bench-sweep",
             f"#SBATCH --array=0-{num_tasks - 1}%{array_parallelism}",
             f"#SBATCH --time={int(time_min)}",
             f"#SBATCH --output={folder}/{LOGS_DIR}/slurm-%A_%a.log",
             "# USR1 to this script SECONDS before the time limit: checkpoint, then requeue",
             f"#SBATCH --signal=B:USR1@{int(signal_delay_s)}", "#SBATCH --requeue"]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if gpus:
        lines.append(f"#SBATCH --gpus-per-node={int(gpus)}")
    if cpus:
        lines.append(f"#SBATCH --cpus-per-task={int(cpus)}")
    if mem_gb:
        lines.append(f"#SBATCH --mem={int(mem_gb * 1024)}M")
    for k, v in sorted((sbatch_options or {}).items()):
        lines.append(f"#SBATCH --{k}" + (f"={v}" if v not in (None, "") else ""))
    cmd = task_command(folder, planfile, "$SLURM_ARRAY_TASK_ID")
    quoted = " ".join(shlex.quote(c) if c != "$SLURM_ARRAY_TASK_ID" else '"$SLURM_ARRAY_TASK_ID"'
                      for c in cmd)
    lines += [f"mkdir -p {shlex.quote(os.path.join(folder, LOGS_DIR))}",
              f"exec {quoted} --requeue-signal USR1", ""]
    return "\n".join(lines)
