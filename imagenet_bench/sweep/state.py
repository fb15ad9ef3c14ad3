"""Where a sweep stands, read from its folder alone (stdlib only).

Each task writes ``<sweep>/status/<job>.json`` atomically when a job starts, fails, is
interrupted or finishes (``state``: running | failed | interrupted | done; the one-line
``error``; ``host``, ``pid``, ``task``; the batch size it ran with). ``sweep status``
combines them with the plan and the caches: a job is *done* when its cache exists (the
cache is the truth: it is written atomically, and only complete), *failed* when its
last status says so, *running* when its last status says so and its process is alive
(checked for this host; a process on another host is taken at its word), else
*pending*. No scheduler is asked, so this works without SLURM accounting and after the
jobs are gone. The summary is a table like every command's (:func:`render`, any report
format), with the jobs that need attention as :func:`notes`.
"""
from __future__ import annotations

import json
import os
import socket
import time
from typing import Dict, List, Optional, Tuple

from imagenet_bench.cache.atomic import write_text
from imagenet_bench.report import tables

STATUS_DIR = "status"
STATES = ("done", "running", "failed", "pending")


def status_path(folder: str, job: str) -> str:
    """``<sweep>/status/<job>.json``."""
    return os.path.join(folder, STATUS_DIR, f"{job}.json")


def write(folder: str, job: str, state: str, **info) -> None:
    """Record ``state`` (and ``info``) of ``job`` atomically."""
    rec = {"job": job, "state": state, "host": socket.gethostname(), "pid": os.getpid(),
           "time": round(time.time(), 3), **info}
    os.makedirs(os.path.join(folder, STATUS_DIR), exist_ok=True)
    write_text(status_path(folder, job), json.dumps(rec, sort_keys=True) + "\n")


def read(folder: str, job: str) -> Optional[Dict]:
    """The last status of ``job`` (None if it never started or the file is unreadable)."""
    try:
        with open(status_path(folder, job), encoding="utf-8") as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) else None


def _alive(rec: Dict) -> bool:
    if rec.get("host") != socket.gethostname():
        return True  # another node: trust it
    try:
        pid = int(rec.get("pid", -1))
        os.kill(pid, 0)
    except (OSError, ValueError, TypeError):
        return False
    try:  # a killed process nobody has reaped yet (a zombie) is gone too
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def one_line(text: str, limit: int = 300) -> str:
    """The first non-empty line of an error message, at most ``limit`` characters."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()] or [""]
    return lines[0] if len(lines[0]) <= limit else lines[0][:limit - 3] + "..."


def job_state(folder: str, plan: Dict, job: Dict) -> Dict:
    """``{"job", "model", "dataset", "state", "error", "note", "task"}`` of one planned job."""
    out = {"job": job["job"], "model": job["model"], "dataset": job["dataset"],
           "task": job.get("task"), "error": None, "note": None}
    cache = os.path.join(plan["caches"], job["cache"])
    rec = read(folder, job["job"])
    if os.path.exists(cache):
        out["state"] = "done"
    elif rec and rec.get("state") == "failed":
        out["state"], out["error"] = "failed", rec.get("error")
    elif rec and rec.get("state") == "running" and _alive(rec):
        out["state"], out["note"] = "running", f"on {rec.get('host')} (pid {rec.get('pid')})"
    else:
        out["state"] = "pending"
        if rec and rec.get("state") in ("running", "interrupted"):
            out["note"] = "interrupted; resumes from its checkpoint" if os.path.exists(
                cache[:-4] + ".partial.npz") else "interrupted"
    return out


def summary(folder: str, plan: Dict) -> Dict:
    """Counts per dataset and the failed jobs: the data of ``sweep status``."""
    rows = [job_state(folder, plan, j) for j in plan["jobs"]]
    per = {name: {s: 0 for s in STATES} for name in plan["datasets"]}
    for r in rows:
        per[r["dataset"]][r["state"]] += 1
    total = {s: sum(p[s] for p in per.values()) for s in STATES}
    return {"sweep": os.path.abspath(folder), "caches": plan["caches"], "datasets": per,
            "total": total, "jobs": rows,
            "failed": [r for r in rows if r["state"] == "failed"],
            "running": [r for r in rows if r["state"] == "running"]}


def rerun_command(folder: str, job: str) -> str:
    """The command that runs one job again."""
    return f"imagenet-bench sweep run-task {folder} --job {job}"


#: the columns of ``sweep status``: per test set (and a ``total`` row), or per job (``--jobs``)
COUNT_COLUMNS = ("dataset",) + STATES
JOB_COLUMNS = ("job", "model", "dataset", "state", "task", "note", "error")


def rows(data: Dict, jobs: bool = False) -> Tuple[List[Dict], Tuple[str, ...]]:
    """``(rows, column keys)`` of the summary ``data``: one row per test set plus ``total``,
    or with ``jobs`` one row per planned job."""
    if jobs:
        return data["jobs"], JOB_COLUMNS
    counts = [dict(dataset=name, **c) for name, c in data["datasets"].items()]
    return counts + [dict(dataset="total", **data["total"])], COUNT_COLUMNS


def render(data: Dict, fmt: str = "text", jobs: bool = False) -> str:
    """``sweep status`` in report format ``fmt`` (the registry's, as every command's)."""
    found, keys = rows(data, jobs)
    return tables.render(found, [tables.Column(k, k) for k in keys], fmt,
                         title=f"sweep {data['sweep']} (caches in {data['caches']})")


def notes(data: Dict) -> List[str]:
    """What needs attention: running jobs, failed ones with the command that re-runs each,
    interrupted ones, and the command that runs what is not done."""
    lines = [f"running: {r['job']} {r['note']}" for r in data["running"]]
    for r in data["failed"]:
        lines.append(f"failed: {r['job']}: {r['error']}\n  re-run: "
                     f"{rerun_command(data['sweep'], r['job'])}")
    lines += [f"pending: {r['job']} ({r['note']})" for r in data["jobs"]
              if r["state"] == "pending" and r["note"]]
    if data["total"]["pending"] or data["total"]["failed"]:
        lines.append(f"to run what is not done: imagenet-bench sweep run {data['sweep']}")
    return lines
