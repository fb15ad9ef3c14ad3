"""ImageNet-C from Python: :func:`corruption` (``imagenet-bench robustness --corruptions``,
``sweep collect --corruptions``). numpy and the standard library only."""
from __future__ import annotations

from typing import Sequence

from imagenet_bench.api.scoring import Caches, load
from imagenet_bench.api.table import Results
from imagenet_bench.cache import locations
from imagenet_bench.errors import InputError, count
from imagenet_bench.report import columns as report_columns

TABLES = ("summary", "grid")


def corruption(caches: Caches = None, table: str = "summary", models: Sequence[str] = ()) -> Results:
    """The ImageNet-C table of ``caches``: ``table="summary"`` one row per model (clean error,
    mCE, relative mCE, the unnormalised mean error), ``"grid"`` the corruption x severity
    errors with each corruption's CE (Hendrycks & Dietterich 2019, AlexNet-normalised;
    docs/analysis.md). ``models``: only these (any spelling of their names)."""
    from imagenet_bench.analysis import corruption as corr, robustness
    from imagenet_bench.data import imagenet_c
    if table not in TABLES:
        raise InputError(f"corruptions={table!r}: no such table. Fix: choose one of "
                         f"{', '.join(TABLES)}")
    preds = load(caches if caches is not None else locations.RUNS_DIR, allow_mixed_datasets=True)
    found = corr.build(preds, lambda p: 100.0 - robustness.top1(p))
    if not found.summary:
        raise InputError(f"{preds.where}: no ImageNet-C caches (test sets "
                         f"imagenet-c-<corruption>-<severity>). Fix: predict them, e.g. "
                         f"`imagenet-bench sweep plan DIR -m MODEL --data imagenet-c=DIR`, or "
                         f"leave --corruptions out")
    if models:
        wanted = {corr.base_name(m) for m in models}
        found.summary = [r for r in found.summary if r["model"] in wanted]
        found.grid = [r for r in found.grid if r["model"] in wanted]
    ref = corr.alexnet()
    title = (f"ImageNet-C of {count(len(found.summary), 'model')} ({preds.where}): top-1 error (%); "
             f"CE_c = sum_s E_s,c / sum_s E_s,c(AlexNet); mCE = mean CE over the 15 benchmark "
             f"corruptions; relative: clean errors subtracted (clean: the model's imagenet-val "
             f"cache under its own recipe; AlexNet {100 * ref['clean_error']:.3f}%); mean err: "
             f"the unnormalised mean over 15 x 5 sets. Protocol: "
             f"{'; '.join(f'{k}: {v}' for k, v in imagenet_c.PROTOCOLS.items())}")
    rows, cols = ((found.summary, report_columns.CORRUPTION_SUMMARY) if table == "summary"
                  else (found.grid, report_columns.CORRUPTION_GRID))
    out = Results(rows, cols, title=title,
                  notes=[f"note: {n}" for n in found.notes + _subset_notes(preds)])
    out.table = found
    return out


def _subset_notes(preds) -> list:
    """One note when an ImageNet-C cache covers fewer images than its set (50,000 each)."""
    from imagenet_bench.data import datasets
    partial = sorted({p.num_images for p in preds if datasets.name_of(p).startswith("imagenet-c-")
                      and p.num_images != datasets.get(datasets.name_of(p)).num_images})
    if not partial:
        return []
    return [f"ImageNet-C caches of {', '.join(f'{n:,}' for n in partial)} images, not the 50,000 "
            f"of each set: CE and mCE are not comparable to published full-set figures"]

