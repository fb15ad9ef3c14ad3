"""Where a sweep stands, read from its folder alone (stdlib only).

Each task writes ``<sweep>/status/<job>.json`` atomically when a job starts, fails, is
interrupted or finishes (``state``: running | failed | interrupted | done; the one-line
``error``; ``host``, ``pid``, ``task``; the batch size it ran with). ``sweep status``
combines them with the plan and the caches: a job is *done* exactly when a valid cache of
its settings exists (:func:`cache_verdicts`, read through the folder index: the cache is
the truth, whatever the plan or a status file remembers; a cache that lacks what a
setting asks for, such as ``--save-all-probs``'s probabilities, leaves its job pending;
a damaged one makes its job *failed*, naming the file), *failed* when its last status
says so, *running* when its last status says so and its process is alive (checked for
this host; a process on another host is taken at its word), else *pending*. No scheduler is asked, so this works without SLURM accounting and after the
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


def one_line(text: str, limit: int = 2000) -> str:
    """An error message on one line (its lines joined); beyond ``limit`` characters the middle
    is cut, never its ``Fix:`` sentence (the command or file that mends it)."""
    text = " ".join(ln.strip() for ln in str(text).splitlines() if ln.strip())
    if len(text) <= limit:
        return text
    head, fix, tail = text.rpartition("Fix:")
    if not fix or len(tail) + 8 > limit:
        return text[:limit - 3] + "..."
    return head[:limit - len(tail) - 9].rstrip() + " ... Fix:" + tail


def cache_verdicts(caches: str, save_all_probs: bool = False) -> Dict[str, Tuple]:
    """cache file name -> (state, why) for every cache file in the folder ``caches``, read
    through its folder index (``cache/folder.load_folder``: a file validated before and
    unchanged since costs a ``stat``): ``("done", None)`` for a valid complete cache,
    ``("pending", why)`` for one that lacks the all-class probabilities ``save_all_probs``
    asks for, ``("failed", message)`` for a damaged or incomplete file (the message names it);
    a valid file's verdict also carries its model id and image fingerprint (:func:`verdict`
    checks them against the job)."""
    from imagenet_bench.cache.folder import load_folder
    if not os.path.isdir(caches):
        return {}
    loaded = load_folder(caches, skip_bad=True)
    out: Dict[str, Tuple] = {}
    for preds in loaded.preds:
        name, held = os.path.basename(preds.path), (preds.model, preds.fingerprint)
        if save_all_probs and not (preds.provenance or {}).get("save_all_probs"):
            out[name] = ("pending", "its cache lacks the 1,000 probabilities per image that "
                                    "--save-all-probs asks for; it is predicted again") + held
        else:
            out[name] = ("done", None) + held
    for path, message in loaded.skipped:
        out[os.path.basename(path)] = ("failed", one_line(message))
    return out


def verdict(job: Dict, fingerprint: str, verdicts: Dict, caches: str) -> Tuple[str, Optional[str]]:
    """(state, why) of ``job``'s cache among ``verdicts`` (None when it has no file): a valid
    file holding another model or other images is a failed job, as a damaged one is."""
    found = verdicts.get(job["cache"])
    if found is None:
        return None, None
    state, why = found[:2]
    if len(found) > 2 and (found[2], found[3]) != (job["model"], fingerprint):
        path = os.path.join(caches, job["cache"])
        return "failed", (f"{path} holds the predictions of {found[2]} on images "
                          f"{found[3]}, not of {job['model']} on images {fingerprint} (a file "
                          f"renamed or copied over it)")
    return state, why


def verdicts_of(plan: Dict) -> Dict[str, Tuple[str, Optional[str]]]:
    """:func:`cache_verdicts` of the plan's cache folder under its settings."""
    options = (plan.get("request") or {}).get("options") or {}
    return cache_verdicts(plan["caches"], bool(options.get("save_all_probs")))


def damaged_fix(folder: str, job: str) -> str:
    """The fix of a job whose cache is damaged: the command that predicts it again."""
    return (f"Fix: {rerun_command(folder, job)} predicts it again and replaces the file (or "
            f"`imagenet-bench sweep run {folder}` with every job not done)")


def job_state(folder: str, plan: Dict, job: Dict, verdicts: Optional[Dict] = None) -> Dict:
    """``{"job", "model", "dataset", "state", "error", "note", "task"}`` of one planned job
    (``verdicts``: :func:`verdicts_of` the plan, computed once for many jobs)."""
    out = {"job": job["job"], "model": job["model"], "dataset": job["dataset"],
           "task": job.get("task"), "error": None, "note": None}
    cache = os.path.join(plan["caches"], job["cache"])
    rec = read(folder, job["job"])
    found, why = verdict(job, plan["datasets"][job["dataset"]]["fingerprint"],
                         verdicts_of(plan) if verdicts is None else verdicts, plan["caches"])
    if found == "done":
        out["state"] = "done"
    elif found == "failed":
        out["state"], out["error"] = "failed", f"{why} {damaged_fix(folder, job['job'])}"
    elif rec and rec.get("state") == "failed":
        out["state"], out["error"] = "failed", rec.get("error")
    elif rec and rec.get("state") == "running" and _alive(rec):
        out["state"], out["note"] = "running", f"on {rec.get('host')} (pid {rec.get('pid')})"
    else:
        out["state"], out["note"] = "pending", why
        if rec and rec.get("state") in ("running", "interrupted"):
            out["note"] = "interrupted; resumes from its checkpoint" if os.path.exists(
                cache[:-4] + ".partial.npz") else "interrupted"
    return out


def summary(folder: str, plan: Dict) -> Dict:
    """Counts per dataset and the failed jobs: the data of ``sweep status``."""
    verdicts = verdicts_of(plan)
    rows = [job_state(folder, plan, j, verdicts) for j in plan["jobs"]]
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


def title(data: Dict) -> str:
    """The title of ``sweep status``'s table: the sweep folder and where its caches are."""
    return f"sweep {data['sweep']} (caches in {data['caches']})"


def notes(data: Dict) -> List[str]:
    """What needs attention: running jobs, failed ones with the command that re-runs each,
    interrupted ones, and the command that runs what is not done."""
    lines = [f"running: {r['job']} {r['note']}" for r in data["running"]]
    for r in data["failed"]:
        rerun = "" if rerun_command(data["sweep"], r["job"]) in (r["error"] or "") else (
            f"\n  re-run: {rerun_command(data['sweep'], r['job'])}")
        lines.append(f"failed: {r['job']}: {r['error']}{rerun}")
    lines += [f"pending: {r['job']} ({r['note']})" for r in data["jobs"]
              if r["state"] == "pending" and r["note"]]
    if data["total"]["pending"] or data["total"]["failed"]:
        lines.append(f"to run what is not done: imagenet-bench sweep run {data['sweep']}")
    return lines
