"""The results of a sweep as one long table, and as timm's results CSVs (numpy + stdlib).

:func:`rows` gives one row per planned (model, test set) job: the job's status and,
for a done job, the columns of the results document (:func:`analysis.results.build`, keys
and meanings in :mod:`analysis.metrics`): top-1/top-5 (percent, 4 decimals) with 95%
Wilson intervals (ImageNet-A/-R: within their 200 classes, as their published figures are),
the recipe fields, params and GFLOPs from the catalog, the published figure for that test
set and the difference, images/s (end to end, model-only), device and library versions
from the cache's ``timing`` and provenance. :func:`timm_tables` gives one table per dataset with the columns of timm's
``results-*.csv`` and, for shifted sets, ``top1_diff, top5_diff, rank_diff`` computed as
timm's ``results/generate_csv_results.py`` does: rows sorted by (top1 desc, top5 desc,
model), each matched with the base table's row of the same model and img_size (A and R:
the ``-clean`` figures, i.e. ImageNet-val restricted to their 200 classes with the output
masked to them, computed from val caches made with ``--save-all-probs``; the other sets:
val), diffs as signed ``%.3f`` text and the rank difference ``+k`` / ``-k`` / ``0``.
"""
from __future__ import annotations

import os
from dataclasses import replace
from typing import Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.analysis import results
from imagenet_bench.analysis.metrics import Options, costs, published_figure
from imagenet_bench.cache import store as cache
from imagenet_bench.cache.naming import top5_within
from imagenet_bench.models import libraries

VAL = "imagenet-val"
#: calibration figures of each done job (analysis.calibration_rows.cache_row: on the rows after the
#: first 20 %, ImageNet-A/-R masked as their top-1 is; empty where the cache cannot give them)
CALIBRATION = ("ece15", "ece100", "nll", "brier", "temperature", "ece15_ts", "ece100_ts",
               "nll_ts", "brier_ts")
MASKED = ("imagenet-a", "imagenet-r")
#: the long table's columns, in order: the job's status, the rest the results document's keys
COLUMNS = ("model", "test_set", "status", "images", "acc1", "acc1_low", "acc1_high", "acc5",
           "acc5_low", "acc5_high", "resize", "crop", "crop_mode", "interpolation", "mean",
           "std", "params", "gflops", "published_acc1", "published_acc5", "delta_acc1",
           "published_source", "images_per_s", "model_images_per_s", "device", "batch_size",
           "library_versions", "cache")
#: the results document's options of the long table; its percentages, rounded to 4 decimals
OPTIONS = Options(ci=True, extra=("costs", "timing", "recipe"))
ROUNDED = ("acc1", "acc1_low", "acc1_high", "acc5", "acc5_low", "acc5_high", "delta_acc1")
TIMM_COLUMNS = ("model", "img_size", "top1", "top1_err", "top5", "top5_err", "param_count",
                "crop_pct", "interpolation")
DIFF_COLUMNS = ("top1_diff", "top5_diff", "rank_diff")
#: timm's results file of each dataset
TIMM_FILES = {VAL: "results-imagenet.csv",
              "imagenet-v2-matched-frequency": "results-imagenetv2-matched-frequency.csv",
              "imagenet-v2-threshold0.7": "results-imagenetv2-threshold0.7.csv",
              "imagenet-v2-top-images": "results-imagenetv2-top-images.csv",
              "imagenet-a": "results-imagenet-a.csv", "imagenet-r": "results-imagenet-r.csv",
              "imagenet-sketch": "results-sketch.csv"}


def folder_caches(caches: str) -> Dict[str, cache.Predictions]:
    """file name -> the caches of the folder ``caches``, through its folder index
    (``cache/folder.load_folder``: metadata from the index, arrays read when first used;
    bad files left out, as ``sweep status`` reports their jobs)."""
    from imagenet_bench.cache.folder import load_folder
    if not os.path.isdir(caches):
        return {}
    return {os.path.basename(p.path): p for p in load_folder(caches, skip_bad=True).preds}


def rows(plan: Dict, folder: str, with_calibration: bool = False) -> List[Dict]:
    """One row per planned job (state from the sweep folder), in plan order; the done jobs'
    columns from the results document of their caches; with ``with_calibration``
    also the :data:`CALIBRATION` figures of each done job."""
    from imagenet_bench.sweep import state

    loaded = folder_caches(plan["caches"])
    verdicts = state.verdicts_of(plan)
    states = [state.job_state(folder, plan, job, verdicts)["state"] for job in plan["jobs"]]
    done = [loaded.get(job["cache"]) or cache.load(os.path.join(plan["caches"], job["cache"]))
            for job, st in zip(plan["jobs"], states) if st == "done"]
    options = replace(OPTIONS, extra=OPTIONS.extra + ("calibration",)) if with_calibration \
        else OPTIONS
    columns = COLUMNS + (CALIBRATION if with_calibration else ())
    measured = iter(results.build(done, options, ranked=False))
    out = []
    for job, st in zip(plan["jobs"], states):
        row = dict.fromkeys(columns)
        row.update(costs.of_model(job["model"]))
        row.update(published_figure.of_model(job["model"], job["dataset"]))
        if st == "done":
            got = next(measured)
            row.update({k: got[k] for k in columns if k in got})
            row.update({k: round(row[k], 4) for k in ROUNDED if row[k] is not None})
        row.update(model=job["model"], test_set=job["dataset"], status=st, images=job["images"])
        out.append({k: row[k] for k in columns})
    return out


# --- timm's format ------------------------------------------------------------------------

def _timm_name(model: str) -> str:
    """The name in timm's results CSVs: ``arch.tag`` (with ``+settings``) for the models of a
    library that publishes such tables (``Library.results_tables``: timm's own), the canonical
    id otherwise."""
    framework, _, rest = model.partition(":")
    lib = libraries.find(framework)
    return rest if lib is not None and lib.results_tables else model


def _timm_row(row: Dict, prov: Dict) -> Dict:
    rec = prov.get("preprocessing") or {}
    cfg = prov.get("timm_data_config") or {}
    crop = rec.get("input_size", rec.get("crop"))
    crop_pct = cfg.get("crop_pct", rec.get("crop_pct"))
    if crop_pct is None and rec.get("resize"):
        crop_pct = rec["crop"] / rec["resize"]
    if rec.get("squash"):
        crop_pct = 1.0
    params = row["params"]
    return {"model": _timm_name(row["model"]), "img_size": crop,
            "top1": round(row["acc1"], 3), "top1_err": round(100 - row["acc1"], 3),
            "top5": round(row["acc5"], 3), "top5_err": round(100 - row["acc5"], 3),
            "param_count": f"{params / 1e6:,.2f}" if params else "",
            "crop_pct": f"{crop_pct:.3f}" if crop_pct is not None else "",
            "interpolation": rec.get("interpolation", "")}


def _sort(table: List[Dict]) -> List[Dict]:
    return sorted(table, key=lambda r: (-r["top1"], -r["top5"], r["model"]))


def _signed(x: float) -> str:
    return f"+{x:.3f}" if x >= 0 else f"-{abs(x):.3f}"


def add_diffs(test: List[Dict], base: List[Dict]) -> None:
    """timm's ``diff``: top1_diff, top5_diff, rank_diff of each test row against ``base``."""
    base = _sort(base)
    where = {(r["model"], r["img_size"]): i for i, r in enumerate(base)}
    for rank, r in enumerate(test):
        b = where.get((r["model"], r["img_size"]))
        if b is None:
            r.update(top1_diff="", top5_diff="", rank_diff="")
            continue
        r["top1_diff"] = _signed(r["top1"] - base[b]["top1"])
        r["top5_diff"] = _signed(r["top5"] - base[b]["top5"])
        r["rank_diff"] = "0" if rank == b else (f"-{rank - b}" if rank > b else f"+{b - rank}")


def clean_accuracy(preds: cache.Predictions, dataset: str) -> Optional[Tuple[float, float]]:
    """timm's ``-clean`` figure: val's images of ``dataset``'s 200 classes, output masked to
    them (needs the cache's all-class probabilities); None without them."""
    from imagenet_bench.data import datasets
    full = cache.load(preds.path, with_all_probs=True) if preds.path else preds
    if full.all_probs is None:
        return None
    classes = np.asarray(datasets.get(dataset).classes)
    keep = np.isin(full.labels, classes) & ~full.missing
    if not keep.any():
        return None
    idx, _ = top5_within(full.all_probs[keep].astype(np.float32), classes)
    hit = idx == full.labels[keep][:, None]
    return 100.0 * hit[:, 0].mean(), 100.0 * hit.any(axis=1).mean()


def timm_tables(plan: Dict, long_rows: List[Dict]) -> Dict[str, List[Dict]]:
    """dataset -> rows in timm's results-CSV format (done jobs only), sorted as timm sorts."""
    tables: Dict[str, List[Dict]] = {}
    provs: Dict[Tuple[str, str], Dict] = {}
    loaded: Dict[str, Dict[str, cache.Predictions]] = {}
    for row in long_rows:
        if row["status"] != "done":
            continue
        where, name = os.path.split(row["cache"])
        if where not in loaded:
            loaded[where] = folder_caches(where)
        preds = loaded[where].get(name) or cache.load(row["cache"])
        provs[(row["model"], row["test_set"])] = preds
        tables.setdefault(row["test_set"], []).append(_timm_row(row, preds.provenance))
    tables = {d: _sort(t) for d, t in tables.items()}
    val = tables.get(VAL, [])
    for name, table in tables.items():
        if name == VAL:
            continue
        base = val
        if name in MASKED:
            base = []
            for row in val:
                model = next(m for (m, d) in provs if d == VAL and _timm_name(m) == row["model"])
                got = clean_accuracy(provs[(model, VAL)], name)
                if got is not None:
                    base.append(dict(row, top1=round(got[0], 3), top5=round(got[1], 3)))
        add_diffs(table, base)
    return tables


def timm_columns(dataset: str) -> Tuple[str, ...]:
    """timm's columns of ``dataset``'s file."""
    return TIMM_COLUMNS + (() if dataset == VAL else DIFF_COLUMNS)
