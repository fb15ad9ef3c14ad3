"""Sweeps and the HTML report from Python: sweep_plan, sweep_run, sweep_status, sweep_collect,
report (the commands of the same names)."""
from __future__ import annotations

import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from imagenet_bench.api.table import Results
from imagenet_bench.report.tables import Column


def sweep_plan(folder: str, models: Sequence[str], data: Sequence[Tuple[str, str]], *,
               framework: Optional[str] = None, exclude: Sequence[str] = (),
               model_list: Optional[str] = None, caches: Optional[str] = None,
               settings: Optional[Dict] = None, options: Optional[Dict] = None,
               jobs_per_task: Optional[int] = None) -> Dict:
    """Plan a sweep of ``models`` (names or fnmatch patterns, plus those of the file
    ``model_list``, minus those matching ``exclude``) over the test sets ``data``
    (``[(NAME, DIR), ...]``) in ``folder`` and write its plan; returns the plan
    (``imagenet-bench sweep plan``; ``plans.summary(plan)`` is what it prints).
    ``caches``: where the caches go (default ``folder/caches``). ``settings``: the run settings
    of every job (predict's option names: ``weights``, ``batch_size``, ``img_size`` ...);
    ``options``: ``save_all_probs``, ``skip_bad_images``, ``checkpoint_every``, ``retry_oom``;
    ``jobs_per_task``: jobs packed into one task (default ``plans.DEFAULT_JOBS_PER_TASK``)."""
    from imagenet_bench.errors import InputError
    from imagenet_bench.sweep import plan as plans
    names = list(models) + (plans.read_model_list(model_list) if model_list else [])
    if not names:
        raise InputError("sweep plan: no model. Fix: name models or patterns with -m (e.g. -m "
                         "'timm:convnext*' -m torch:resnet50) or --model-list FILE")
    settings = {k: v for k, v in (settings or {}).items() if v is not None}
    if settings.get("amp") == "auto":
        raise InputError("--amp auto: a sweep names its jobs' caches when it is planned, here, not "
                         "on the machine that runs them, so it cannot pick the dtype for their "
                         "device. Fix: --amp bf16 or --amp fp16")
    request = plans.Request(models=names, data=[tuple(d) for d in data], framework=framework,
                            exclude=list(exclude), settings=settings, options=dict(options or {}),
                            jobs_per_task=jobs_per_task or plans.DEFAULT_JOBS_PER_TASK,
                            caches=os.path.abspath(caches) if caches else "")
    plan = plans.build(request, folder)
    plans.write(plan, folder)
    return plan


def replan(folder: str) -> Tuple[Dict, str]:
    """Re-plan the folder's stored request over the caches as they are now (jobs done since
    are done); (plan, the plan file written)."""
    from imagenet_bench.sweep import plan as plans
    plan = plans.build(plans.request_of(plans.read(folder)), folder)
    return plan, plans.write(plan, folder)


def sweep_run(folder: str, *, parallel: int = 1, jobs: bool = True,
              log: Optional[Callable[[str], None]] = None) -> Results:
    """Re-plan, run the jobs that are not done, ``parallel`` tasks at a time locally,
    and return :func:`sweep_status` (``imagenet-bench sweep run --parallel N``). ``log``
    receives the plan's summary (and "nothing to run" when every job is done) before the
    tasks run, as the command prints them."""
    from imagenet_bench.sweep import executors
    from imagenet_bench.sweep import plan as plans
    plan, planfile = replan(folder)
    log = log or (lambda text: None)
    log(plans.summary(plan))
    tasks = [t["task"] for t in plan["tasks"]]
    if tasks:
        executors.run_local(folder, planfile, tasks, parallel,
                            jobs=[j["job"] for j in plan["jobs"] if not j["done"]])
    else:
        log("nothing to run: every job is done\n")
    return sweep_status(folder, jobs=jobs)


def sweep_status(folder: str, *, jobs: bool = True) -> Results:
    """One row per job: job, model, test set, state, task, note, error (``sweep status
    --jobs``); with ``jobs=False`` the counts per test set and a ``total`` row (``sweep
    status``). ``notes``: the jobs that need attention and the command that runs the rest."""
    from imagenet_bench.sweep import plan as plans
    from imagenet_bench.sweep import state
    data = state.summary(folder, plans.read(folder))
    found, keys = state.rows(data, jobs)
    return Results(found, [Column(k, k) for k in keys], title=state.title(data),
                   notes=state.notes(data))


def sweep_collect(folder: str, *, calibration: bool = False) -> Results:
    """The sweep's long table (``imagenet-bench sweep collect``): one row per job, the results
    document's keys (with ``calibration`` also ``collect.CALIBRATION``, as ``score
    --calibration`` computes them); :func:`sweep_timm_tables` gives timm's format."""
    from imagenet_bench.sweep import collect
    from imagenet_bench.sweep import plan as plans
    plan = plans.read(folder)
    rows = collect.rows(plan, folder, with_calibration=calibration)
    keys = collect.COLUMNS + (collect.CALIBRATION if calibration else ())
    return Results(rows, [Column(k, k) for k in keys], notes=_mapped_set_notes(plan))


def _mapped_set_notes(plan: Dict) -> List[str]:
    """The protocol and accounting of the sets with a mapped class subset (ObjectNet) among the
    sweep's caches, one note a line (A/R keep their documented masked default unlabelled here)."""
    from imagenet_bench.analysis import scorer
    from imagenet_bench.data import datasets
    from imagenet_bench.sweep import collect
    mapped = [p for p in collect.folder_caches(plan["caches"]).values()
              if datasets.name_of(p) in datasets.DATASETS
              and datasets.get(datasets.name_of(p)).mapped_subset]
    names = sorted({datasets.name_of(p) for p in mapped})
    lines = [f"{n}: predictions masked to the {scorer.subset_size(mapped, n)} ImageNet classes its "
             f"mappings map to (masked, as `score` by default; `score --protocol unmasked` gives "
             f"the 1,000-class prediction)" for n in names] + scorer.set_notes(mapped)
    return [f"note: {line}" for line in lines]


def sweep_timm_tables(folder: str) -> Dict[str, Results]:
    """``{test set: table}`` in timm's results-CSV format (``sweep collect --format timm``);
    ``collect.TIMM_FILES`` names each table's file."""
    from imagenet_bench.sweep import collect
    from imagenet_bench.sweep import plan as plans
    plan = plans.read(folder)
    tables = collect.timm_tables(plan, collect.rows(plan, folder))
    return {name: Results(t, [Column(k, k) for k in collect.timm_columns(name)])
            for name, t in tables.items()}


def report_data(folders: Sequence[str] = (), *, use_index: bool = True, verify: bool = False,
                protocol: str = "masked", command: str = "", calibration: bool = False):
    """The HTML report's document (rows, robustness, pairs, skipped files, header) of every
    cache under ``folders`` (default: the shipped caches; ``calibration``: the calibration
    columns of every row, which reads every cache's probabilities); see :func:`report`."""
    from imagenet_bench.cache import locations
    from imagenet_bench.report import html_data
    return html_data.build(list(folders) or [locations.shipped_dir()], command=command,
                           use_index=use_index, verify=verify, protocol=protocol,
                           with_calibration=calibration)


def report(output: str, folders: Sequence[str] = (), *, use_index: bool = True,
           verify: bool = False, protocol: str = "masked", command: str = "",
           calibration: bool = False):
    """Write the one-file HTML report of ``folders`` to ``output`` (``imagenet-bench report``;
    needs plotly); returns its document (:func:`report_data`)."""
    from imagenet_bench.errors import InputError
    if not str(output).lower().endswith((".html", ".htm")):
        raise InputError(f"-o {output}: the report is an HTML page. Fix: give a file name "
                         f"ending in .html, e.g. -o report.html")
    from imagenet_bench.report import html
    doc = report_data(folders, use_index=use_index, verify=verify, protocol=protocol,
                      command=command, calibration=calibration)
    doc.size = html.write(doc, os.fspath(output))
    return doc
