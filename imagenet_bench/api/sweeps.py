"""Sweeps and the HTML report from Python: sweep_plan, sweep_run, sweep_status, sweep_collect,
report (the commands of the same names)."""
from __future__ import annotations

import os
from typing import Dict, Optional, Sequence, Tuple

from imagenet_bench.api.table import Results
from imagenet_bench.report.tables import Column


def sweep_plan(folder: str, models: Sequence[str], data: Sequence[Tuple[str, str]], *,
               caches: Optional[str] = None, settings: Optional[Dict] = None, **options) -> Dict:
    """Plan a sweep of ``models`` over the test sets ``data`` (``[(NAME, DIR), ...]``) in
    ``folder`` and write its plan; returns the plan (``imagenet-bench sweep plan``).
    ``settings``: the run settings of every job (predict's option names: ``weights``,
    ``batch_size``, ``img_size`` ...)."""
    from imagenet_bench.sweep import plan as plans
    request = plans.Request(models=list(models), data=[tuple(d) for d in data],
                            settings=dict(settings or {}), caches=caches, **options)
    plan = plans.build(request, folder)
    plans.write(plan, folder)
    return plan


def replan(folder: str) -> Tuple[Dict, str]:
    """Re-plan the folder's stored request over the caches as they are now (jobs done since
    are done); (plan, the plan file written)."""
    from imagenet_bench.sweep import plan as plans
    plan = plans.build(plans.request_of(plans.read(folder)), folder)
    return plan, plans.write(plan, folder)


def sweep_run(folder: str, *, parallel: int = 1) -> Results:
    """Re-plan, run the jobs that are not done, ``parallel`` tasks at a time locally,
    and return :func:`sweep_status` (``imagenet-bench sweep run --parallel N``)."""
    from imagenet_bench.sweep import executors
    plan, planfile = replan(folder)
    tasks = [t["task"] for t in plan["tasks"]]
    if tasks:
        executors.run_local(folder, planfile, tasks, parallel)
    return sweep_status(folder)


def sweep_status(folder: str) -> Results:
    """One row per job: model, test set, state, task, note, error (``sweep status --jobs``)."""
    from imagenet_bench.sweep import plan as plans
    from imagenet_bench.sweep import state
    data = state.summary(folder, plans.read(folder))
    return Results(data["jobs"], [Column(k, k) for k in state.JOB_COLUMNS],
                   title=f"sweep {data['sweep']}", notes=state.notes(data))


def sweep_collect(folder: str, *, calibration: bool = False) -> Results:
    """The sweep's long table (``imagenet-bench sweep collect``): one row per job, the results
    document's keys (with ``calibration`` also ``collect.CALIBRATION``, as ``score
    --calibration`` computes them); :func:`sweep_timm_tables` gives timm's format."""
    from imagenet_bench.sweep import collect
    from imagenet_bench.sweep import plan as plans
    rows = collect.rows(plans.read(folder), folder, with_calibration=calibration)
    keys = collect.COLUMNS + (collect.CALIBRATION if calibration else ())
    return Results(rows, [Column(k, k) for k in keys])


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
