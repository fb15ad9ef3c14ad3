"""Run one task of a plan: its jobs one after another, pixels shared, failures kept to their job.

``run_task(folder, plan, jobs, adapter)`` runs each job with :func:`runner.run` (so every
job checkpoints, resumes mid-model after any kill, and takes the cache lock: two sweeps
never write one cache at once). A job whose cache exists is skipped. A job that raises
(missing weights, an unreadable image, out of memory, a bug in a model) is recorded as
failed with its one-line error and the task goes on; with ``retry_oom`` an out-of-memory
error retries the job with half the batch (down to 1), recorded in the cache's provenance
as ``oom_retry`` and in the job's status, so a resumed task starts at the batch that
worked. A job is skipped only when a valid cache of its settings exists
(``state.cache_verdicts``); a damaged cache is predicted again and replaced (the log
names the file and what was wrong). Ctrl-C / SIGTERM (and SLURM's signals, :mod:`.executors`) stop the task after the
running job has checkpointed; they are never recorded as failures.
"""
from __future__ import annotations

import dataclasses
import gc
import os
import sys
import traceback
from typing import Callable, Dict, List, Optional

from imagenet_bench.errors import BenchError
from imagenet_bench.run import backend as run_backend
from imagenet_bench.run import checkpoint, runner
from imagenet_bench.run.locks import RunLockedError
from imagenet_bench.sweep import plan as plans
from imagenet_bench.sweep import state
from imagenet_bench.sweep.shared import Shared


def is_out_of_memory(e: BaseException) -> bool:
    """True for torch's OutOfMemoryError and the 'out of memory' RuntimeErrors of CUDA/MPS."""
    return type(e).__name__ == "OutOfMemoryError" or (
        isinstance(e, (RuntimeError, MemoryError)) and "out of memory" in str(e).lower())


def release_memory() -> None:
    """Collect garbage and return cached GPU memory before the next model is built."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def jobs_of(plan: Dict, index: Optional[int] = None, job_ids: Optional[List[str]] = None) -> List[Dict]:
    """The jobs of task ``index`` (or the named jobs); BenchError naming what exists."""
    jobs = plans.job_index(plan)
    if job_ids:
        unknown = [j for j in job_ids if j not in jobs]
        if unknown:
            raise BenchError(f"--job {unknown[0]}: no such job in this sweep's plan. Fix: see "
                             f"`imagenet-bench sweep status DIR --format json` for the job ids")
        return [jobs[j] for j in job_ids]
    if index is None or not 0 <= index < len(plan["tasks"]):
        raise BenchError(f"task {index}: this plan has tasks 0-{len(plan['tasks']) - 1} "
                         f"({len(plan['tasks'])} tasks). Fix: give an index in that range" if
                         plan["tasks"] else f"task {index}: every job of this plan is done")
    return [jobs[j] for j in plan["tasks"][index]["jobs"]]


class TaskRunner:
    """The state of one task while it runs (test sets discovered once, pixel stores)."""

    def __init__(self, folder: str, plan: Dict, adapter: Callable, share: bool = True,
                 progress: bool = False, log: Callable[[str], None] = None):
        self.folder, self.plan, self.adapter, self.progress = folder, plan, adapter, progress
        self.share = share
        self.log = log or (lambda m: print(m, file=sys.stderr, flush=True))
        self.request = plans.request_of(plan)
        self.valsets: Dict[str, object] = {}
        self.verdicts: Dict[str, tuple] = {}

    def valset(self, name: str):
        """The test set ``name`` as planned; BenchError when its folder changed since."""
        if name not in self.valsets:
            from imagenet_bench.data import datasets
            ds = self.plan["datasets"][name]
            vs = datasets.discover(ds["dir"], name)
            if vs.fingerprint != ds["fingerprint"]:
                raise BenchError(f"{ds['dir']}: the images of {name} changed since the sweep was "
                                 f"planned ({vs.num_images:,} images now, {ds['images']:,} then). "
                                 f"Fix: re-plan with `imagenet-bench sweep run {self.folder}`")
            self.valsets[name] = vs
        return self.valsets[name]

    def run(self, jobs: List[Dict], task: Optional[int] = None) -> Dict[str, int]:
        """Run ``jobs`` in order; returns {"done": n, "failed": n, "skipped": n}."""
        counts = {"done": 0, "failed": 0, "skipped": 0}
        self.verdicts = state.verdicts_of(self.plan)
        with Shared(enabled=self.share) as shared:
            for job in jobs:
                counts[self.run_job(job, shared, task)] += 1
            decoded, served = shared.counts()
        if served:
            self.log(f"shared decode: {decoded:,} images decoded once, {served:,} served "
                     f"from memory to later models")
        return counts

    def run_job(self, job: Dict, shared: Shared, task: Optional[int]) -> str:
        """Run one job; returns "done", "failed" or "skipped" (another run holds its cache)."""
        caches = self.plan["caches"]
        fingerprint = self.plan["datasets"][job["dataset"]]["fingerprint"]
        verdict, why = state.verdict(job, fingerprint, self.verdicts, caches)
        if verdict == "done":
            state.write(self.folder, job["job"], "done", task=task)
            return "done"
        if verdict == "failed":
            self.log(f"{job['job']}: predicting again to replace a damaged cache: {why}")
        settings = dict(self.request.settings)
        opts = self.request.options
        last = state.read(self.folder, job["job"]) or {}
        batch = last.get("batch_size") if last.get("requested_batch_size") else None
        requested = last.get("requested_batch_size")
        while True:
            info = {"task": task, "model": job["model"], "dataset": job["dataset"]}
            if batch:
                info.update(batch_size=batch, requested_batch_size=requested)
            state.write(self.folder, job["job"], "running", **info)
            backend = wrapped = None
            try:
                valset = self.valset(job["dataset"])
                cfg = plans.build_config(job["name"], job["framework"], settings, job["dataset"])
                if batch:
                    cfg = dataclasses.replace(cfg, batch_size=batch)
                if cfg.model != job["model"]:
                    raise BenchError(f"{job['name']} is now {cfg.model}, planned as {job['model']}. "
                                     f"Fix: re-plan with `imagenet-bench sweep run {self.folder}`")
                backend = run_backend.check(self.adapter(cfg.framework).from_config(cfg),
                                            cfg.framework)
                extra = {"oom_retry": {"requested_batch_size": requested,
                                       "batch_size": backend.batch_size}} if batch else None
                wrapped = shared.wrap(backend, valset, extra)
                runner.run(valset, wrapped, self._run_options(overwrite=verdict == "failed"))
                state.write(self.folder, job["job"], "done", **info)
                return "done"
            except KeyboardInterrupt:
                state.write(self.folder, job["job"], "interrupted", **info)
                raise
            except RunLockedError as e:
                self.log(f"{job['job']}: skipped, {e}")
                state.write(self.folder, job["job"], "interrupted", note=state.one_line(e), **info)
                return "skipped"
            except Exception as e:  # one model's failure fails only its job
                size = (backend.batch_size if backend is not None else None) or batch
                if is_out_of_memory(e) and opts.get("retry_oom") and size and size > 1:
                    requested, batch = requested or size, max(1, size // 2)
                    self.log(f"{job['job']}: out of memory at batch {size}; retrying at {batch}")
                    checkpoint.remove(os.path.join(caches, job["cache"][:-4] + ".partial.npz"))
                    continue
                self._failed(job, e, info)
                return "failed"
            finally:
                del wrapped, backend
                release_memory()

    def _run_options(self, overwrite: bool) -> runner.RunOptions:
        """How the runner writes a job's cache: the plan's options, this task's progress and log."""
        opts = self.request.options
        return runner.RunOptions(
            out_dir=self.plan["caches"], checkpoint_every=int(opts.get("checkpoint_every") or 1000),
            skip_bad_images=bool(opts.get("skip_bad_images")),
            save_all_probs=bool(opts.get("save_all_probs")), progress=self.progress,
            log=self.log, overwrite=overwrite)

    def _failed(self, job: Dict, e: Exception, info: Dict) -> None:
        """Record ``job`` as failed with ``e`` in one line (the traceback in the log when ``e`` is
        not a project error: a bug or a library's failure, not a user's input)."""
        error = state.one_line(f"{type(e).__name__}: {e}" if not isinstance(e, BenchError)
                               else str(e))
        if not isinstance(e, BenchError):
            self.log("".join(traceback.format_exception(type(e), e, e.__traceback__)))
        self.log(f"{job['job']}: failed: {error}")
        state.write(self.folder, job["job"], "failed", error=error, **info)
