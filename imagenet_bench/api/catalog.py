"""The model catalog as the API and ``imagenet-bench models`` list it (stdlib only)."""
from __future__ import annotations

from typing import List, Optional, Tuple

from imagenet_bench.api.table import Results
from imagenet_bench.models import catalog
from imagenet_bench.report import tables as report

#: CSV columns, in this order (the first fourteen are fixed by the issue that introduced them)
CSV_KEYS = ("model", "framework", "architecture", "weights", "input_size", "resize", "crop",
            "interpolation", "mean", "std", "published_top1", "published_top5", "params",
            "source", "preprocessing", "crop_mode", "num_classes", "runnable", "test_input_size",
            "test_crop_pct")

def _numbers(values) -> str:
    return "" if values is None else " ".join(repr(v) for v in values)


def csv_row(e: catalog.WeightsEntry) -> dict:
    """The CSV cells of one entry (mean/std as space-separated numbers, '' where not applicable)."""
    row = {k: getattr(e, k) for k in CSV_KEYS}
    row["mean"], row["std"] = _numbers(e.mean), _numbers(e.std)
    row["runnable"] = "yes" if e.runnable else "no"
    return row


def named(pattern: Optional[str], framework: Optional[str] = None
          ) -> Tuple[List[catalog.WeightsEntry], List[str]]:
    """``(entries, notes)``: the entries ``pattern`` designates: the entry a model name resolves
    to (as ``predict`` and every selector resolve it, run settings such as ``+random`` dropped)
    first, then the entries it fnmatches. Empty when it is neither."""
    from imagenet_bench.errors import BenchError
    from imagenet_bench.models import registry
    found = catalog.match(pattern, framework)
    if not pattern or any(c in pattern for c in "*?["):
        return found, []
    try:
        mid, entry = registry.resolve(pattern, framework)
    except BenchError:  # not a name (or one of several frameworks'): the pattern alone
        return found, []
    notes = [f"note: {'+'.join(('',) + tuple(mid.settings))} is a run setting, not a catalog "
             f"entry; listing the weights of {mid.base}"] if mid.settings else []
    return [entry] + [e for e in found if e.model != entry.model], notes


def models(pattern: Optional[str] = None, *, framework: Optional[str] = None) -> Results:
    """The catalog entries a model name or fnmatch ``pattern`` designates (``imagenet-bench
    models``): one row per pretrained weights with its recipe and published accuracy."""
    found, notes = named(pattern, framework)
    return Results([csv_row(e) for e in found], [report.Column(k, k) for k in CSV_KEYS],
                   title=report.plural(len(found), "model"), notes=notes)
