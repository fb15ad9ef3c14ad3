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

from imagenet_bench.commands._common import add_framework_arg, add_output_args, emit
from imagenet_bench.errors import InputError, count
from imagenet_bench.report import formats


def add_parser(subparsers) -> None:
    """Register ``sweep`` and its subcommands."""
    p = subparsers.add_parser(
        "sweep", help="run many models on many test sets (here or on SLURM), resumable",
        description="Plan a sweep of (model, test set) jobs into a folder, run its tasks here or "
                    "as one SLURM job array, see where it stands, collect one results table. "
                    "Re-running `sweep run` does only what is not done. See docs/sweep.md.")
    sub = p.add_subparsers(dest="sweep_command", metavar="SUBCOMMAND")
    sub.required = True
    pl = sub.add_parser("plan", help="select models and test sets; write DIR/plan.json",
                        description="Write the plan of a sweep into DIR: every (model, test set) "
                                    "job, tasks grouped by recipe and test set, done jobs marked; "
                                    "print the counts and the estimated cost.")
    pl.add_argument("folder", metavar="DIR", help="sweep folder (plan, status, logs; caches in "
                                                   "DIR/caches unless --caches)")
    pl.add_argument("models", nargs="*", metavar="MODEL",
                    help="fnmatch patterns or names, as `imagenet-bench models` takes them "
                         "('timm:convnext*', torch:resnet50.IMAGENET1K_V2)")
    add_framework_arg(pl, "only this model library")
    pl.add_argument("--model-list", metavar="FILE", help="more names/patterns, one per line")
    pl.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                    help="leave out models matching PATTERN (repeatable)")
    pl.add_argument("--data", action="append", default=[], metavar="NAME=DIR", required=True,
                    help="a test set: NAME one of the --dataset names of predict "
                         "(imagenet-val, imagenet-a, ...), DIR its folder; repeatable")
    pl.add_argument("--caches", metavar="DIR", help="cache folder (default DIR/caches; may be an "
                                                    "existing runs/ folder: its caches count as done)")
    pl.add_argument("--jobs-per-task", type=int, default=8, metavar="N",
                    help="jobs packed into one task (one SLURM array element)")
    _settings_args(pl)
    pl.set_defaults(func=run_plan)

    r = sub.add_parser("run", help="re-plan and run what is not done (local processes or SLURM)")
    r.add_argument("folder", metavar="DIR")
    r.add_argument("--executor", choices=("local", "slurm"), default="local")
    r.add_argument("-j", "--parallel", type=int, default=1, metavar="N",
                   help="local: tasks run at once (CPU threads and GPUs divided among them)")
    r.add_argument("--wait", action="store_true", help="slurm: wait until the array has left the "
                                                       "queue (squeue), then print the status")
    _slurm_args(r)
    r.set_defaults(func=run_run)

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

    s = sub.add_parser("sbatch", help="print an sbatch script running the plan as a job array")
    s.add_argument("folder", metavar="DIR")
    _slurm_args(s)
    s.set_defaults(func=run_sbatch)

    st = sub.add_parser("status", help="done / running / failed / pending per test set")
    st.add_argument("folder", metavar="DIR")
    st.add_argument("--jobs", action="store_true",
                    help="one row per job (model, test set, state, task, note, error) instead of "
                         "the counts per test set")
    add_output_args(st, "text", help_extra="; the jobs that need attention (failed, with the "
                                           "command that re-runs each; running; interrupted) "
                                           "follow on standard error")
    st.set_defaults(func=run_status)

    c = sub.add_parser("collect", help="one results table of the sweep (CSV, JSON, timm's CSVs)")
    c.add_argument("folder", metavar="DIR")
    c.add_argument("--format", choices=(*formats.names(), "timm"), default="csv",
                   help=f"{'/'.join(formats.names())}: the long table; timm: one results-<set>.csv "
                        f"per test set with timm's columns, written into -o DIR")
    c.add_argument("-o", "--output", metavar="PATH", help="file (csv/json) or folder (timm)")
    c.add_argument("--corruptions", choices=("summary", "grid"),
                   help="the ImageNet-C table of the sweep's caches instead (as `robustness "
                        "--corruptions`): per model mCE, relative mCE, mean error; or the "
                        "corruption x severity errors")
    c.set_defaults(func=run_collect)


def _settings_args(p: argparse.ArgumentParser) -> None:
    from imagenet_bench.commands.predict import _floats
    g = p.add_argument_group("run settings of every job (as predict's options)")
    g.add_argument("--weights", help="'none': seeded random weights (id +random)")
    g.add_argument("--preprocess", choices=("reference", "legacy2019"))
    g.add_argument("--resize", type=int)
    g.add_argument("--crop", type=int)
    g.add_argument("--img-size", type=int, metavar="N",
                   help="timm's spelling (validate.py): image size N, each model's crop_pct kept "
                        "unless --crop-pct or --resize is given")
    g.add_argument("--crop-pct", type=float, metavar="F",
                   help="timm's crop fraction: resize side floor(image size / F)")
    g.add_argument("--interpolation", choices=("nearest", "bilinear", "bicubic", "lanczos"))
    g.add_argument("--mean", type=_floats, metavar="M[,M,M]")
    g.add_argument("--std", type=_floats, metavar="S[,S,S]")
    g.add_argument("--amp", choices=("bf16", "fp16"), help="torch/timm autocast dtype (id +bf16/+fp16)")
    g.add_argument("-b", "--batch-size", type=int, help="torch/timm images per batch (default 32)")
    g.add_argument("--device", help="torch/timm device (auto, cpu, cuda, cuda:N, mps)")
    g.add_argument("--workers", type=int, help="torch/timm DataLoader workers per task")
    g.add_argument("--threads", type=int, help="CPU threads per task")
    g.add_argument("--save-all-probs", action="store_true", help="store all 1,000 probabilities")
    g.add_argument("--skip-bad-images", action="store_true",
                   help="record unreadable images as missing instead of failing the job")
    g.add_argument("--checkpoint-every", type=int, default=1000, metavar="N")
    g.add_argument("--retry-oom", action="store_true",
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

def _request(args):
    from imagenet_bench.sweep import plan as plans
    names = list(args.models) + (plans.read_model_list(args.model_list) if args.model_list else [])
    if not names:
        raise InputError("sweep plan: no model. Fix: name models or patterns (e.g. 'timm:convnext*' "
                         "torch:resnet50) or --model-list FILE")
    data = []
    for item in args.data:
        name, sep, folder = item.partition("=")
        if not sep or not name or not folder:
            raise InputError(f"--data {item}: expected NAME=DIR (e.g. imagenet-val=/data/val)")
        data.append((name, folder))
    for option, value in (("--jobs-per-task", args.jobs_per_task), ("--batch-size", args.batch_size),
                          ("--checkpoint-every", args.checkpoint_every), ("--resize", args.resize),
                          ("--crop", args.crop), ("--img-size", args.img_size),
                          ("--threads", args.threads)):
        if value is not None and value < 1:
            raise InputError(f"{option} {value}: must be at least 1")
    settings = {k: getattr(args, k) for k in plans.SETTINGS if getattr(args, k) is not None}
    options = {k: getattr(args, k) for k in plans.OPTIONS}
    return plans.Request(models=names, data=data, framework=args.framework, exclude=args.exclude,
                         settings=settings, options=options, jobs_per_task=args.jobs_per_task,
                         caches=os.path.abspath(args.caches) if args.caches else "")


def _replan(folder: str):
    """Re-plan DIR's stored request over the caches as they are now; (plan, plan file)."""
    from imagenet_bench.sweep import plan as plans
    plan = plans.build(plans.request_of(plans.read(folder)), folder)
    return plan, plans.write(plan, folder)


def run_plan(args) -> int:
    """``sweep plan``."""
    from imagenet_bench.sweep import plan as plans
    plan = plans.build(_request(args), args.folder)
    path = plans.write(plan, args.folder)
    sys.stdout.write(plans.summary(plan))
    print(f"plan: {os.path.join(args.folder, plans.PLAN_FILE)} (this version: {path})")
    print(f"next: imagenet-bench sweep run {args.folder} [-j N | --executor slurm ...]")
    return 0


def _slurm_kw(args) -> dict:
    opts = {}
    for item in args.sbatch_option:
        k, _, v = item.partition("=")
        if not k:
            raise InputError(f"--sbatch-option {item}: expected KEY=VALUE (e.g. account=myproj)")
        opts[k.lstrip("-")] = v
    return dict(partition=args.partition, time_min=args.time, gpus=args.gpus, cpus=args.cpus,
                mem_gb=args.mem_gb, array_parallelism=args.array_parallelism,
                signal_delay_s=args.signal_delay, sbatch_options=opts)


def run_run(args) -> int:
    """``sweep run``: re-plan, then run the tasks that have work."""
    from imagenet_bench.sweep import executors, state
    from imagenet_bench.sweep import plan as plans
    plan, planfile = _replan(args.folder)
    sys.stdout.write(plans.summary(plan))
    tasks = [t["task"] for t in plan["tasks"]]
    if not tasks:
        print("nothing to run: every job is done")
    elif args.executor == "local":
        executors.run_local(args.folder, planfile, tasks, args.parallel)
    else:
        jobs = executors.submit_slurm(args.folder, planfile, tasks, run_task_entry, **_slurm_kw(args))
        array = jobs[0].job_id.split("_")[0]
        print(f"submitted {count(len(jobs), 'task')} as SLURM job array {array}; follow with "
              f"`imagenet-bench sweep status {args.folder}`")
        if args.wait:
            while subprocess.run(["squeue", "-h", "-j", array], capture_output=True,
                                 text=True).stdout.strip():
                time.sleep(2)
    if args.executor == "slurm" and not args.wait and tasks:
        return 0
    data = state.summary(args.folder, plans.read(args.folder))
    sys.stdout.write(state.render(data) + "".join(f"{line}\n" for line in state.notes(data)))
    return 0 if data["total"]["done"] == len(plan["jobs"]) else 2


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
        raise InputError("sweep run-task: give a task INDEX (e.g. $SLURM_ARRAY_TASK_ID) or --job ID")
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
    """``sweep status``."""
    from imagenet_bench.sweep import plan as plans
    from imagenet_bench.sweep import state
    data = state.summary(args.folder, plans.read(args.folder))
    emit(state.render(data, args.format, jobs=args.jobs), args.output)
    for line in state.notes(data):
        print(line, file=sys.stderr)
    return 0


def run_collect(args) -> int:
    """``sweep collect``."""
    from imagenet_bench.report import tables as report
    from imagenet_bench.sweep import collect
    from imagenet_bench.sweep import plan as plans
    plan = plans.read(args.folder)
    if args.corruptions:
        from imagenet_bench.analysis import scorer
        from imagenet_bench.commands.robustness import corruption_tables
        if args.format == "timm":
            raise InputError("--corruptions with --format timm: timm has no ImageNet-C results "
                             "file. Fix: --format csv, json or text")
        preds = scorer.load_predictions(plan["caches"], allow_mixed=True)
        return corruption_tables(preds, args.corruptions, plan["caches"], args.format, args.output)
    rows = collect.rows(plan, args.folder)
    if args.format != "timm":
        cols = [report.Column(k, k) for k in collect.COLUMNS]
        emit(report.render(rows, cols, args.format), args.output)
        return 0
    from imagenet_bench.cache.atomic import write_text
    out = args.output or os.path.join(args.folder, "results-timm")
    os.makedirs(out, exist_ok=True)
    for name, table in collect.timm_tables(plan, rows).items():
        cols = [report.Column(k, k) for k in collect.timm_columns(name)]
        path = os.path.join(out, collect.TIMM_FILES.get(name, f"results-{name}.csv"))
        write_text(path, report.render(table, cols, "csv"))
        print(f"wrote {path} ({count(len(table), 'model')})")
    return 0
