"""``imagenet-bench sweep``: many models x many test sets, here or as a SLURM job array.

Subcommands (the work is in :mod:`imagenet_bench.sweep`): ``plan``, ``run``, ``run-task``,
``sbatch``, ``status``, ``collect``. See docs/sweep.md.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from imagenet_bench.commands import run_settings
from imagenet_bench.commands._common import (add_cache_dir_arg, add_framework_arg, add_output_args,
                                             deprecated, emit, render)
from imagenet_bench.errors import InputError, count
from imagenet_bench.report import formats

JOBS_PER_TASK = run_settings.Setting(
    "jobs_per_task", ("--jobs-per-task",), group="run", kwargs=dict(type=int, metavar="N"), low=1,
    default=8, help="jobs packed into one task (one SLURM array element)")


def add_parser(subparsers) -> None:
    """Register ``sweep`` and its subcommands."""
    p = subparsers.add_parser(
        "sweep", help="run many models on many test sets (here or on SLURM), resumable",
        description="Plan a sweep of (model, test set) jobs into a folder, run its tasks here or "
                    "as one SLURM job array, see where it stands, collect one results table. "
                    "Re-running `sweep run` does only what is not done. See docs/sweep.md.")
    sub = p.add_subparsers(dest="sweep_command", metavar="SUBCOMMAND")
    sub.required = True
    for add in (_add_plan, _add_run, _add_run_task, _add_sbatch, _add_status, _add_collect):
        add(sub)


def _add_plan(sub) -> None:
    pl = sub.add_parser("plan", help="select models and test sets; write DIR/plan.json",
                        description="Write the plan of a sweep into DIR: every (model, test set) "
                                    "job, tasks grouped by recipe and test set, done jobs marked; "
                                    "print the counts and the estimated cost.")
    pl.add_argument("folder", metavar="DIR", help="sweep folder (plan, status, logs; caches in "
                                                   "DIR/caches unless --cache-dir)")
    pl.add_argument("-m", "--model", dest="models", action="append", default=[], metavar="NAME",
                    help="fnmatch patterns or names, as `imagenet-bench models` takes them "
                         "('timm:convnext*', torch:resnet50.IMAGENET1K_V2); repeat or separate "
                         "by commas for several")
    pl.add_argument("old_models", nargs="*", metavar="MODEL", help=argparse.SUPPRESS,
                    action=deprecated("-m MODEL", lambda ns, v: setattr(ns, "models", [*ns.models, *v])))
    add_framework_arg(pl, "only this model library")
    pl.add_argument("--model-list", metavar="FILE", help="more names/patterns, one per line")
    pl.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                    help="leave out models matching PATTERN (repeatable)")
    pl.add_argument("--data", action="append", default=[], metavar="NAME=DIR", required=True,
                    help="a test set: NAME one of predict's test set names "
                         "(imagenet-val, imagenet-a, ...), DIR its folder; repeatable")
    add_cache_dir_arg(pl, "caches", "where the caches are written (default DIR/caches; may be an "
                                    "existing runs/ folder: its caches count as done)",
                      old=("--caches",))
    pl.add_argument(*JOBS_PER_TASK.flags, dest=JOBS_PER_TASK.dest, default=JOBS_PER_TASK.default,
                    help=JOBS_PER_TASK.help, **JOBS_PER_TASK.kwargs)
    _settings_args(pl)
    pl.set_defaults(func=run_plan)


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="re-plan and run what is not done (local processes or SLURM)")
    r.add_argument("folder", metavar="DIR")
    r.add_argument("--executor", choices=("local", "slurm"), default="local")
    r.add_argument("--parallel", type=int, default=1, metavar="N",
                   help="local: tasks run at once (CPU threads and GPUs divided among them)")
    r.add_argument("-j", dest="parallel", type=int, default=argparse.SUPPRESS, metavar="N",
                   action=deprecated("--parallel"), help=argparse.SUPPRESS)
    r.add_argument("--wait", action="store_true", help="slurm: wait until the array has left the "
                                                       "queue (squeue), then print the status")
    _slurm_args(r)
    r.set_defaults(func=run_run)


def _add_run_task(sub) -> None:
    t = sub.add_parser("run-task", help="run one task of the plan (for your own scheduler script)")
    t.add_argument("folder", metavar="DIR")
    t.add_argument("index", nargs="?", type=int, help="task index (e.g. $SLURM_ARRAY_TASK_ID)")
    t.add_argument("--plan", metavar="FILE", help="plan file (default DIR/plan.json)")
    t.add_argument("--job", action="append", metavar="JOB", help="run this job (an id from "
                                                                  "`sweep status`), repeatable")
    t.add_argument("--no-share", action="store_true",
                   help="decode the images again for every model (for comparison)")
    t.add_argument("--requeue-signal", choices=("USR1", "USR2"),
                   help="on this signal checkpoint, then `scontrol requeue` the job (SLURM)")
    t.add_argument("--progress", action="store_true", help="show progress bars")
    t.set_defaults(func=run_task_command)


def _add_sbatch(sub) -> None:
    s = sub.add_parser("sbatch", help="print an sbatch script running the plan as a job array")
    s.add_argument("folder", metavar="DIR")
    _slurm_args(s)
    s.set_defaults(func=run_sbatch)


def _add_status(sub) -> None:
    st = sub.add_parser("status", help="done / running / failed / pending per test set")
    st.add_argument("folder", metavar="DIR")
    st.add_argument("--jobs", action="store_true",
                    help="one row per job (model, test set, state, task, note, error) instead of "
                         "the counts per test set")
    add_output_args(st, "text", help_extra="; the jobs that need attention (failed, with the "
                                           "command that re-runs each; running; interrupted) "
                                           "follow on standard error")
    st.set_defaults(func=run_status)


def _add_collect(sub) -> None:
    c = sub.add_parser("collect", help="one results table of the sweep (CSV, JSON, timm's CSVs)")
    c.add_argument("folder", metavar="DIR")
    c.add_argument("--format", choices=(*formats.names(), "timm"), default="csv",
                   help=f"{'/'.join(formats.names())}: the long table; timm: one results-<set>.csv "
                        f"per test set with timm's columns, written into -o DIR")
    c.add_argument("-o", "--output", metavar="PATH", help="file (csv/json) or folder (timm)")
    c.add_argument("--calibration", action="store_true",
                   help="add the calibration columns (ece15 ... brier_ts, as `score --calibration`; "
                        "docs/analysis.md#calibration) to the long table")
    c.add_argument("--corruptions", choices=("summary", "grid"),
                   help="the ImageNet-C table of the sweep's caches instead (as `robustness "
                        "--corruptions`): per model mCE, relative mCE, mean error; or the "
                        "corruption x severity errors")
    c.set_defaults(func=run_collect)


def _settings_args(p: argparse.ArgumentParser) -> None:
    run_settings.add(p, "sweep plan", run_options=("save_all_probs", "skip_bad_images",
                                                   "checkpoint_every"))
    p.add_argument("--retry-oom", action="store_true",
                   help="after out of memory, retry the job with half the batch (recorded in "
                        "the cache's provenance as oom_retry)")


def _slurm_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SLURM (per array task)")
    g.add_argument("--partition")
    g.add_argument("--time", type=int, default=240, metavar="MINUTES", help="time limit per task")
    g.add_argument("--gpus", type=int, default=0, help="GPUs per task")
    g.add_argument("--cpus", type=int, help="CPUs per task")
    g.add_argument("--mem-gb", type=float, help="memory per task, GB")
    g.add_argument("--array-parallelism", type=int, default=64, metavar="N",
                   help="array tasks running at once")
    g.add_argument("--signal-delay", type=int, default=120, metavar="SECONDS",
                   help="seconds before the time limit at which SLURM signals the task (submitit: "
                        "USR2; sbatch script: USR1): it checkpoints and is requeued")
    g.add_argument("--sbatch-option", action="append", default=[], metavar="KEY=VALUE",
                   help="extra sbatch option, e.g. account=proj or qos=low (repeatable)")


# --- subcommands -------------------------------------------------------------------------

def _data(items) -> list:
    """``[(NAME, DIR), ...]`` of the ``--data NAME=DIR`` values."""
    data = []
    for item in items:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise InputError(f"--data {item}: expected NAME=DIR. Fix: e.g. --data "
                             f"imagenet-val=/data/val")
        data.append((name, folder))
    return data


def _replan(folder: str):
    """Re-plan DIR's stored request over the caches as they are now; (plan, plan file)."""
    from imagenet_bench.api import sweeps
    return sweeps.replan(folder)


def run_plan(args) -> int:
    """``sweep plan`` (:func:`imagenet_bench.api.sweep_plan`)."""
    from imagenet_bench import api
    from imagenet_bench.sweep import plan as plans
    data = _data(args.data)
    run_settings.check_ranges(args, extra=(JOBS_PER_TASK,))
    plan = api.sweep_plan(
        args.folder, [n for m in args.models for n in m.split(",") if n], data,
        framework=args.framework, exclude=args.exclude, model_list=args.model_list,
        caches=args.caches, settings={k: getattr(args, k) for k in plans.SETTINGS},
        options={k: getattr(args, k) for k in plans.OPTIONS}, jobs_per_task=args.jobs_per_task)
    sys.stdout.write(plans.summary(plan))
    print(f"plan: {os.path.join(args.folder, plans.PLAN_FILE)} (this version: "
          f"{plans.copy_path(plan, args.folder)})")
    print(f"next: imagenet-bench sweep run {args.folder} [--parallel N | --executor slurm ...]")
    return 0


def _slurm_kw(args) -> dict:
    opts = {}
    for item in args.sbatch_option:
        k, _, v = item.partition("=")
        if not k:
            raise InputError(f"--sbatch-option {item}: expected KEY=VALUE. Fix: e.g. "
                             f"--sbatch-option account=myproj")
        opts[k.lstrip("-")] = v
    return dict(partition=args.partition, time_min=args.time, gpus=args.gpus, cpus=args.cpus,
                mem_gb=args.mem_gb, array_parallelism=args.array_parallelism,
                signal_delay_s=args.signal_delay, sbatch_options=opts)


def run_run(args) -> int:
    """``sweep run``: re-plan, then run the tasks that have work (locally through
    :func:`imagenet_bench.api.sweep_run`), then print the status; 0 when every job is done."""
    from imagenet_bench import api
    if args.executor == "local":
        table = api.sweep_run(args.folder, parallel=args.parallel, jobs=False, log=sys.stdout.write)
    elif _submit(args) and not args.wait:
        return 0
    else:
        table = api.sweep_status(args.folder, jobs=False)
    from imagenet_bench.sweep.state import STATES
    sys.stdout.write(table.render() + "".join(f"{line}\n" for line in table.notes))
    total = table[-1]  # the ``total`` row of the counts per test set
    return 0 if total["done"] == sum(total[s] for s in STATES) else 2


def _submit(args) -> bool:
    """Re-plan and submit the tasks that have work as one SLURM job array (with ``--wait``,
    wait until it has left the queue); whether any task was submitted."""
    from imagenet_bench.sweep import executors
    from imagenet_bench.sweep import plan as plans
    plan, planfile = _replan(args.folder)
    sys.stdout.write(plans.summary(plan))
    tasks = [t["task"] for t in plan["tasks"]]
    if not tasks:
        print("nothing to run: every job is done")
        return False
    jobs = executors.submit_slurm(args.folder, planfile, tasks, run_task_entry, **_slurm_kw(args))
    array = jobs[0].job_id.split("_")[0]
    print(f"submitted {count(len(jobs), 'task')} as SLURM job array {array}; follow with "
          f"`imagenet-bench sweep status {args.folder}`")
    if args.wait:
        while subprocess.run(["squeue", "-h", "-j", array], capture_output=True,
                             text=True).stdout.strip():
            time.sleep(2)
    return True


def run_task_entry(folder: str, planfile: str, index: int, job_ids=None, share: bool = True,
                   progress: bool = False) -> int:
    """Run one task (what SLURM array tasks and `sweep run-task` call); 0 when every job is
    done, 2 when one failed."""
    from imagenet_bench.models import libraries
    from imagenet_bench.sweep import plan as plans
    from imagenet_bench.sweep.task import TaskRunner, jobs_of
    plan = plans.read(planfile or folder)
    jobs = jobs_of(plan, index, job_ids)
    counts = TaskRunner(folder, plan, libraries.get, share=share, progress=progress).run(jobs, index)
    print(f"task {index if index is not None else '(jobs)'}: {counts['done']} done, "
          f"{counts['failed']} failed, {counts['skipped']} held by another run", flush=True)
    return 2 if counts["failed"] else 0


def run_task_command(args) -> int:
    """``sweep run-task``."""
    from imagenet_bench.sweep import executors
    if args.index is None and not args.job:
        raise InputError("sweep run-task: no task or job given. Fix: give a task INDEX (e.g. "
                         "$SLURM_ARRAY_TASK_ID) or --job ID (ids from `imagenet-bench sweep status "
                         "DIR --jobs`)")
    try:
        with executors.preemptible(args.requeue_signal) as got:
            return run_task_entry(args.folder, args.plan, args.index, args.job,
                                  share=not args.no_share, progress=args.progress)
    except KeyboardInterrupt:
        if got:
            print("time limit near: checkpointed; requeueing this task", file=sys.stderr)
            executors.requeue_self()
        raise


def run_sbatch(args) -> int:
    """``sweep sbatch``: re-plan and print the script."""
    from imagenet_bench.sweep import executors
    plan, planfile = _replan(args.folder)
    if not plan["tasks"]:
        print("# nothing to run: every job is done", file=sys.stderr)
        return 0
    os.makedirs(os.path.join(args.folder, executors.LOGS_DIR), exist_ok=True)
    kw = _slurm_kw(args)
    sys.stdout.write(executors.sbatch_script(args.folder, planfile, len(plan["tasks"]), **kw))
    return 0


def run_status(args) -> int:
    """``sweep status`` (:func:`imagenet_bench.api.sweep_status`)."""
    from imagenet_bench import api
    table = api.sweep_status(args.folder, jobs=args.jobs)
    emit(table.render(args.format), args.output)
    for line in table.notes:
        print(line, file=sys.stderr)
    return 0


def run_collect(args) -> int:
    """``sweep collect`` (:func:`imagenet_bench.api.sweep_collect`)."""
    from imagenet_bench import api
    from imagenet_bench.sweep import collect
    if args.corruptions:
        if args.format == "timm":
            raise InputError("--corruptions with --format timm: timm has no ImageNet-C results "
                             "file. Fix: --format csv, json or text")
        from imagenet_bench.sweep import plan as plans
        caches = plans.read(args.folder)["caches"]
        if not os.path.isdir(caches):
            raise InputError(f"sweep collect {args.folder} --corruptions: no job of this sweep has "
                             f"run yet ({caches} does not exist). Fix: imagenet-bench sweep run "
                             f"{args.folder}")
        render(api.corruption(caches, args.corruptions), args.format, args.output)
        return 0
    if args.format != "timm":
        render(api.sweep_collect(args.folder, calibration=args.calibration), args.format, args.output)
        return 0
    from imagenet_bench.cache.atomic import write_text
    out = args.output or os.path.join(args.folder, "results-timm")
    os.makedirs(out, exist_ok=True)
    tables = api.sweep_timm_tables(args.folder)
    if not tables:
        raise InputError(f"sweep collect {args.folder} --format timm: no job of this sweep is done "
                         f"yet, so there is no results table to write. Fix: imagenet-bench sweep "
                         f"run {args.folder}")
    for name, table in tables.items():
        path = os.path.join(out, collect.TIMM_FILES.get(name, f"results-{name}.csv"))
        write_text(path, table.to_csv())
        print(f"wrote {path} ({count(len(table), 'model')})")
    for line in empty_diff_notes(tables, args.folder):
        print(line, file=sys.stderr)
    return 0


def empty_diff_notes(tables, folder: str) -> list:
    """A note for each shifted set of timm's tables whose diffs are all empty, saying why (no
    val row to compare with; for A and R, val caches without all 1,000 probabilities) and how
    to get them."""
    from imagenet_bench.sweep import collect
    notes = []
    for name, table in tables.items():
        if name == collect.VAL or not table or any(r.get("top1_diff") for r in table):
            continue
        if collect.VAL not in tables:
            why, fix = (f"no {collect.VAL} job is done", f"add --data {collect.VAL}=DIR to the "
                        f"plan and run it")
        elif name in collect.MASKED:
            why, fix = (f"timm's baseline of {name} is {collect.VAL} on its 200 classes, which "
                        f"needs val caches holding all 1,000 probabilities",
                        f"re-plan with --save-all-probs and `imagenet-bench sweep run {folder}` "
                        f"(the val jobs are predicted again)")
        else:
            why, fix = (f"none of its models has a {collect.VAL} row at the same image size",
                        f"run the same models on {collect.VAL}")
        notes.append(f"note: top1_diff/top5_diff/rank_diff of {name} left empty: {why}. Fix: {fix}")
    return notes
