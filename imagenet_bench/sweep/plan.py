"""The sweep plan: which (model, test set) jobs, packed into tasks, written as versioned JSON.

``build(request)`` selects catalog models the way ``imagenet-bench models`` matches
them (fnmatch patterns, case-insensitive, over the canonical id, the architecture and
the aliases; a name without wildcards is resolved like ``predict -m``), builds one
:class:`~imagenet_bench.run.config.RunConfig` per model with the sweep's settings, and
discovers each test set once. Every (model, dataset) job gets its cache path; jobs
with a valid cache of their settings (``state.cache_verdicts``) are marked done, the
others are packed into tasks: jobs of one
dataset and one *pixel group* (the same decode + resize + crop: framework family,
resize, crop, squash, interpolation, antialias; mean/std are applied per model on the
device) in model order, at most ``jobs_per_task`` per task. The plan is deterministic:
the same request over the same caches gives the same bytes (no clock, no host). The file
records the paths inside the sweep folder (its caches, a test set kept there) relative to
it, so a moved or copied folder keeps working; :func:`read` makes them absolute again.

Standard library only (the catalog, ``run.config.build`` and dataset discovery are), but
the cost estimate (:mod:`imagenet_bench.sweep.cost`), which reads the cache folder through
its index (numpy).
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Tuple

from imagenet_bench.cache.atomic import write_text
from imagenet_bench.cache.naming import cache_filename
from imagenet_bench.errors import BenchError, InputError, count
from imagenet_bench.models import catalog, registry
from imagenet_bench.sweep import cost, plan_shape, state

PLAN_VERSION = 1
PLAN_FILE = "plan.json"
PLANS_DIR = "plans"  # content-addressed copies: a running task keeps reading its own plan
DEFAULT_JOBS_PER_TASK = 8
SHOW_SKIPPED = 12  # left-out entries listed by `sweep plan` (all are in the plan file)
WILDCARDS = "*?["
#: run settings a sweep applies to every job (names of ``run.config.build`` keywords)
SETTINGS = ("weights", "preprocess", "resize", "crop", "img_size", "crop_pct", "interpolation",
            "mean", "std", "amp",
            "batch_size", "device", "workers", "threads")
#: settings only a library with batching takes (Capabilities.batching; Keras runs one image at a
#: time on its own device)
TORCH_ONLY = ("batch_size", "device", "workers")
#: run options of every job (``runner.RunOptions`` fields) and of the task (retry_oom)
OPTIONS = ("save_all_probs", "skip_bad_images", "checkpoint_every", "retry_oom")


class PlanError(BenchError):
    """A plan file that cannot be read (missing, damaged, another version)."""


@dataclass
class Request:
    """What the user asked for; stored in the plan so that ``sweep run`` can re-plan it."""

    models: List[str]  # fnmatch patterns or exact names
    data: List[Tuple[str, str]]  # (dataset name, folder)
    framework: Optional[str] = None
    exclude: List[str] = field(default_factory=list)
    settings: Dict = field(default_factory=dict)  # SETTINGS given (None left out)
    options: Dict = field(default_factory=dict)  # OPTIONS
    jobs_per_task: int = DEFAULT_JOBS_PER_TASK
    caches: str = ""  # cache folder (absolute); default <sweep>/caches

    def as_dict(self) -> Dict:
        """JSON form (lists, sorted keys when dumped)."""
        d = asdict(self)
        d["data"] = [list(x) for x in self.data]
        return d


# --- selection ---------------------------------------------------------------------------

def _names(e: catalog.WeightsEntry) -> Tuple[str, ...]:
    return (e.model, e.architecture) + e.aliases


def select(patterns: List[str], framework: Optional[str] = None, exclude: Optional[List[str]] = None
           ) -> Tuple[List, List[Tuple[str, str]], Dict[str, List[str]]]:
    """(runnable catalog entries in model order, [(model, reason)] of matched entries left out,
    {entry model: the names to run it as}).

    A pattern with ``* ? [`` is an fnmatch pattern as in ``imagenet-bench models``; other
    names resolve like ``predict -m`` (default weights for a bare architecture). A name that carries run
    settings (``timm:NAME+test-size``, ``openclip:NAME+templates-simple``) keeps them, as
    ``predict -m`` does, and is a job of its own beside the same entry named plainly or
    matched by a pattern (which run as the catalog model)."""
    found: Dict[str, catalog.WeightsEntry] = {}
    named: Dict[str, List[str]] = {}
    for pattern in patterns:
        if any(c in pattern for c in WILDCARDS):
            hits = catalog.match(pattern, framework)
            if not hits:
                where = f" in framework {framework!r}" if framework else ""
                raise InputError(f"sweep plan: no model matches {pattern!r}{where}. Fix: check it "
                                 f"with `imagenet-bench models '{pattern}'` (fnmatch, "
                                 f"case-insensitive, e.g. 'timm:convnext*')")
            spelled = [(e, e.model) for e in hits]
        else:
            mid, entry = registry.resolve(pattern, framework)
            spelled = [(entry, str(mid) if mid.settings else entry.model)]
        for e, name in spelled:
            found[e.model] = e
            if name not in named.setdefault(e.model, []):
                named[e.model].append(name)
    for pattern in exclude or []:
        pat = pattern.lower()
        found = {m: e for m, e in found.items()
                 if not any(fnmatch.fnmatchcase(n.lower(), pat) for n in _names(e))}
    entries = [found[m] for m in sorted(found)]
    skipped = [(e.model, e.not_runnable_reason or "not runnable") for e in entries
               if not e.runnable]
    runnable = [e for e in entries if e.runnable]
    return runnable, skipped, {e.model: sorted(named[e.model]) for e in runnable}


def read_model_list(path: str) -> List[str]:
    """Names of a ``--model-list`` file: one per line; blank lines and ``#`` comments skipped."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise InputError(f"--model-list {path}: cannot be read ({e.strerror or e}). Fix: give a "
                         f"text file with one model name or pattern per line") from None
    names = [ln.split("#", 1)[0].strip() for ln in lines]
    names = [n for n in names if n]
    if not names:
        raise InputError(f"--model-list {path}: names no model. Fix: one model name or pattern "
                         f"per line (e.g. torch:resnet50.IMAGENET1K_V2, 'timm:convnext*')")
    return names


# --- the plan ----------------------------------------------------------------------------

def pixel_group(config) -> str:
    """The decode + resize + crop a job's backend applies (jobs with the same string share it)."""
    from imagenet_bench.models import libraries
    if not libraries.get(config.framework).capabilities.batching:  # one image at a time (Keras)
        return config.framework
    r = {k: v for k, v in config.recipe.as_dict().items()
         if k not in ("mean", "std", "normalization")}
    return f"{config.framework}:" + ",".join(f"{k}={r[k]}" for k in sorted(r))


def build_config(name: str, framework: str, settings: Dict, dataset: str = ""):
    """The RunConfig of one model under the sweep's settings (raises InputError); on an
    ImageNet-C set, under its benchmark protocol (:func:`data.imagenet_c.recipe_options`)."""
    from imagenet_bench.data import imagenet_c
    from imagenet_bench.models import libraries
    from imagenet_bench.run import config as run_config
    batching = libraries.get(framework).capabilities.batching
    kw = {k: v for k, v in settings.items() if v is not None
          and (batching or k not in TORCH_ONLY)}
    cfg = run_config.build(name, framework, **kw)
    opts = imagenet_c.recipe_options(dataset, imagenet_c.DEFAULT_PROTOCOL, cfg.recipe.crop)
    return cfg if opts is None else run_config.build(name, framework, **{**kw, **opts})


def build(request: Request, folder: str) -> Dict:
    """The plan (a JSON-able dict) of ``request`` for the sweep folder ``folder``."""
    from imagenet_bench.data import datasets

    if request.settings.get("amp") == "auto":
        raise InputError("--amp alone picks the dtype from the device the job lands on; a sweep "
                         "plans its cache names up front. Fix: --amp bf16 or --amp fp16")
    request.data = [(name, os.path.abspath(root)) for name, root in request.data]
    if not request.data:
        raise InputError("sweep plan: no test set. Fix: --data NAME=DIR (NAME one of "
                         f"{', '.join(datasets.names())}), repeatable")
    caches = os.path.abspath(request.caches or os.path.join(folder, "caches"))
    entries, skipped, named = select(request.models, request.framework, request.exclude)
    if not entries and not skipped and request.exclude:
        raise InputError(f"sweep plan: --exclude {' '.join(request.exclude)} leaves out every "
                         f"model that {' '.join(request.models)} matches. Fix: narrow the "
                         f"--exclude patterns, or name more models")
    configs = []  # (the name a task builds the job's config from, the config)
    for e in entries:
        for name in named[e.model]:
            try:
                configs.append((name, build_config(name, e.framework, request.settings)))
            except InputError as err:
                skipped.append((name, str(err)))
    if not configs:
        why = f": {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        why = why.rstrip(".")
        fix = "" if "Fix:" in why else (" Fix: name models that `imagenet-bench models` lists "
                                        "as runnable")
        raise InputError(f"sweep plan: none of the selected models can run{why}.{fix}")
    sets, seen = {}, set()
    data = [(n, d) for name, root in request.data for n, d in datasets.expand(name, root)]
    for name, root in data:
        if name in seen:
            raise InputError(f"--data {name}=...: given twice. Fix: one folder per test set")
        seen.add(name)
        valset = datasets.discover(root, name)
        sets[name] = {"dir": valset.root, "images": valset.num_images,
                      "fingerprint": valset.fingerprint}
    datasets.check_family_counts(sets)
    jobs = []
    verdicts = state.cache_verdicts(caches, bool(request.options.get("save_all_probs")))
    order = {n: i for i, (n, _) in enumerate(data)}
    for name in sorted(sets, key=order.get):
        ds = sets[name]
        for spelled, cfg in configs:
            if datasets.get(name).family:  # a family's own protocol (ImageNet-C: its crop)
                cfg = build_config(spelled, cfg.framework, request.settings, name)
            fname = cache_filename(cfg.model_id, ds["images"], ds["fingerprint"], name)
            job = {"job": fname[:-4], "model": cfg.model, "name": spelled,
                   "framework": cfg.framework, "architecture": cfg.model_id.arch,
                   "dataset": name, "images": ds["images"], "cache": fname,
                   "group": pixel_group(cfg), "task": None}
            job["done"] = state.verdict(job, ds["fingerprint"], verdicts, caches)[0] == "done"
            jobs.append(job)
    tasks = pack(jobs, request.jobs_per_task, order)
    return {"plan_version": PLAN_VERSION, "generator": "imagenet-bench sweep plan",
            "request": request.as_dict(), "caches": caches, "datasets": sets,
            "skipped": [{"model": m, "reason": r} for m, r in sorted(skipped)],
            "jobs": jobs, "tasks": tasks}


def pack(jobs: List[Dict], per_task: int, dataset_order: Dict[str, int]) -> List[Dict]:
    """Tasks of the jobs not done: one dataset and one pixel group each, ``per_task`` jobs at
    most, in (dataset, group, model) order. Sets each job's ``task``."""
    groups: Dict[Tuple, List[Dict]] = {}
    for j in jobs:
        if not j["done"]:
            groups.setdefault((dataset_order[j["dataset"]], j["group"]), []).append(j)
    tasks = []
    for key in sorted(groups):
        members = sorted(groups[key], key=lambda j: j["model"])
        for i in range(0, len(members), max(1, per_task)):
            chunk = members[i:i + max(1, per_task)]
            for j in chunk:
                j["task"] = len(tasks)
            tasks.append({"task": len(tasks), "dataset": chunk[0]["dataset"], "group": key[1],
                          "jobs": [j["job"] for j in chunk]})
    return tasks


def dumps(plan: Dict) -> str:
    """The plan's canonical text (sorted keys, one job per line block)."""
    return json.dumps(plan, sort_keys=True, indent=1) + "\n"


def digest(plan: Dict) -> str:
    """First 10 hex digits of the sha256 of the plan's text."""
    return hashlib.sha256(dumps(plan).encode()).hexdigest()[:10]


def _relative(path: str, folder: str) -> str:
    """``path`` relative to ``folder`` when it lies inside it, else absolute."""
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    rel = os.path.relpath(path, folder)
    return path if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def _map_paths(plan: Dict, convert) -> Dict:
    """A copy of ``plan`` with ``convert`` applied to each path it records (caches, test sets)."""
    out = json.loads(json.dumps(plan))
    out["caches"] = convert(out["caches"])
    for ds in out["datasets"].values():
        ds["dir"] = convert(ds["dir"])
    req = out["request"]
    if req.get("caches"):
        req["caches"] = convert(req["caches"])
    req["data"] = [[name, convert(d)] for name, d in req["data"]]
    return out


def portable(plan: Dict, folder: str) -> Dict:
    """``plan`` as written into ``folder``: paths inside the folder relative to it."""
    return _map_paths(plan, lambda p: _relative(p, folder))


def copy_path(plan: Dict, folder: str) -> str:
    """The path of ``plan``'s content-addressed copy ``folder/plans/plan-<sha>.json``."""
    return os.path.join(folder, PLANS_DIR, f"plan-{digest(portable(plan, folder))}.json")


def write(plan: Dict, folder: str) -> str:
    """Write ``folder/plan.json`` and its content-addressed copy ``plans/plan-<sha>.json``
    (atomically; paths inside the folder relative to it); return the copy's path (what tasks
    are started with)."""
    text = dumps(portable(plan, folder))
    copy = copy_path(plan, folder)
    os.makedirs(os.path.dirname(copy), exist_ok=True)
    if not os.path.exists(copy):
        write_text(copy, text)
    write_text(os.path.join(folder, PLAN_FILE), text)
    return copy


def sweep_folder(path: str) -> str:
    """The sweep folder of a plan file (``DIR/plan.json`` or ``DIR/plans/plan-<sha>.json``)."""
    where = os.path.dirname(os.path.abspath(path))
    return os.path.dirname(where) if os.path.basename(where) == PLANS_DIR else where


def read(path: str) -> Dict:
    """A plan file (``DIR`` means ``DIR/plan.json``), its paths made absolute; PlanError naming
    the file, what is wrong or missing, and the fix."""
    if os.path.isdir(path):
        path = os.path.join(path, PLAN_FILE)
    folder = sweep_folder(path)
    fix = (f"Fix: run `imagenet-bench sweep plan {folder} MODEL... --data NAME=DIR` for this "
           f"folder (the caches already made count as done)")
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except FileNotFoundError:
        raise PlanError(f"{path}: no sweep plan here. {fix}") from None
    except (OSError, ValueError) as e:
        raise PlanError(f"{path}: cannot be read as a sweep plan ({e}). {fix}") from None
    if not isinstance(plan, dict) or plan.get("plan_version") != PLAN_VERSION:
        got = plan.get("plan_version") if isinstance(plan, dict) else None
        what = "no plan_version" if got is None else f"plan version {got}"
        raise PlanError(f"{path}: {what}, this imagenet_bench reads plan version "
                        f"{PLAN_VERSION}. {fix}")
    missing = plan_shape.missing_parts(plan)
    if missing:
        raise PlanError(f"{path}: not a whole sweep plan of version {PLAN_VERSION}: it lacks "
                        f"{', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}. {fix}")
    unknown = sorted(set(plan["request"]) - set(Request.__dataclass_fields__))
    if unknown:
        raise PlanError(f"{path}: its request holds {', '.join(unknown)}, unknown to this "
                        f"imagenet_bench (a plan of another version). {fix}")
    return _map_paths(plan, lambda p: p if os.path.isabs(p) else os.path.normpath(
        os.path.join(folder, p)))


def request_of(plan: Dict) -> Request:
    """The :class:`Request` stored in a plan (to re-plan it)."""
    r = dict(plan["request"])
    r["data"] = [tuple(x) for x in r["data"]]
    return Request(**r)


def job_index(plan: Dict) -> Dict[str, Dict]:
    """job id -> job."""
    return {j["job"]: j for j in plan["jobs"]}


def summary(plan: Dict) -> str:
    """Counts and the estimated cost, as ``sweep plan`` prints them."""
    jobs = plan["jobs"]
    todo = [j for j in jobs if not j["done"]]
    models = len({j["model"] for j in jobs})
    lines = [f"{count(models, 'model')} x {count(len(plan['datasets']), 'test set')} = "
             f"{count(len(jobs), 'job')}: {len(jobs) - len(todo):,} done, {len(todo):,} to run in "
             f"{count(len(plan['tasks']), 'task')}"]
    for name, ds in plan["datasets"].items():
        n = [j for j in todo if j["dataset"] == name]
        lines.append(f"  {name}: {count(ds['images'], 'image')} in {ds['dir']}; {count(len(n), 'job')} to run")
    if plan["skipped"]:
        lines.append(f"{count(len(plan['skipped']), 'matched entry', 'matched entries')} left out:")
        lines += [f"  {s['model']}: {s['reason']}" for s in plan["skipped"][:SHOW_SKIPPED]]
        if len(plan["skipped"]) > SHOW_SKIPPED:
            lines.append(f"  ... {len(plan['skipped']) - SHOW_SKIPPED} more (all with their reason "
                         f"under \"skipped\" in the plan file)")
    lines.append(cost.estimate(todo, plan["caches"]))
    return "\n".join(lines) + "\n"
