"""The shape of a sweep plan file of this version: what :func:`missing_parts` checks before
a plan is used (standard library only), so a file of an incomplete shape is refused naming
what it lacks instead of failing later on a missing key."""
from __future__ import annotations

from typing import Dict, List

#: what a plan of this version holds: top-level keys and their types, then the keys of each
#: job, test set, task and of the request
SHAPE = {"request": dict, "caches": str, "datasets": dict, "jobs": list, "tasks": list,
         "skipped": list}
JOB_KEYS = ("job", "model", "name", "framework", "architecture", "dataset", "images", "cache",
            "group", "done", "task")
DATASET_KEYS = ("dir", "images", "fingerprint")
TASK_KEYS = ("task", "dataset", "group", "jobs")
REQUEST_KEYS = ("models", "data")


def missing_parts(plan: Dict) -> List[str]:
    """What a plan dict lacks for this version ("jobs", "jobs[3].cache", ...); [] when whole."""
    missing = [f"{k} ({t.__name__})" for k, t in SHAPE.items() if not isinstance(plan.get(k), t)]
    if missing:
        return missing
    parts = [("request", [plan["request"]], REQUEST_KEYS),
             ("datasets", list(plan["datasets"].values()), DATASET_KEYS),
             ("jobs", plan["jobs"], JOB_KEYS), ("tasks", plan["tasks"], TASK_KEYS)]
    for where, items, keys in parts:
        for i, item in enumerate(items):
            lacks = [k for k in keys if not isinstance(item, dict) or k not in item]
            if lacks:
                at = where if where == "request" else f"{where}[{i}]"
                return [f"{at}.{k}" for k in lacks]
    data = plan["request"]["data"]
    if not isinstance(data, list) or not all(
            isinstance(d, list) and len(d) == 2 and all(isinstance(x, str) for x in d) for d in data):
        return ["request.data as [[NAME, DIR], ...]"]
    paths = [plan["caches"]] + [d.get("dir") for d in plan["datasets"].values()]
    if not all(isinstance(p, str) for p in paths):
        return ["datasets[...].dir as a path"]
    unknown = {j["dataset"] for j in plan["jobs"]} - set(plan["datasets"])
    return [f"datasets.{d}" for d in sorted(unknown)]
