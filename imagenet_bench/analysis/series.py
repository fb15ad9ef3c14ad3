"""Checkpoint series: the caches of ``predict --checkpoint DIR`` as one table (numpy and stdlib only).

Each cache ``predict`` writes for a file of a series records
``checkpoint_series`` in its provenance (:mod:`imagenet_bench.run.series`):
the folder or pattern, the file, its sha256 and its position. :func:`series_rows`
groups scored caches by (series, architecture and settings other than the
checkpoint, test set), orders each group by position (natural order of the
file names) and marks the best checkpoint: highest acc@1, then acc@5, the
earliest on a tie.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets


def _base_model(qualname: str) -> str:
    """The model id without its ``+ckpt-<sha8>`` setting (what the checkpoints share)."""
    head, *settings = qualname.split("+")
    return "+".join([head] + [s for s in settings if not s.startswith("ckpt-")])


def series_rows(preds: Sequence[cache.Predictions], rows: Sequence[Dict]) -> Tuple[List[Dict], int]:
    """``(series rows, caches not in a series)``.

    ``rows`` are the result rows (:func:`imagenet_bench.analysis.results.build`) of ``preds``
    (matched by model id and test set). Each series row: ``series`` (the folder
    or pattern), ``model`` (the cache's own id, ``+ckpt-<sha8>`` included: the name every
    command takes), ``test_set``, ``position``, ``checkpoint`` (file name, and the names of
    files with the same bytes), ``sha8``, ``acc1``, ``acc5``, ``images``,
    ``best`` ("*" on the best checkpoint of its series) and ``delta_best``
    (acc@1 minus the best's)."""
    by_model = {(r["model"], r["test_set"]): r for r in rows}
    groups: Dict[Tuple[str, str, str], List[Dict]] = {}
    outside = 0
    for p in preds:
        rec = p.provenance.get("checkpoint_series")
        row = by_model.get((p.qualname, datasets.name_of(p)))
        if not isinstance(rec, dict) or row is None:
            outside += 1
            continue
        key = (str(rec.get("source")), _base_model(p.qualname), row["test_set"])
        copies = rec.get("copies") or []
        name = str(rec.get("name")) + (f" (= {', '.join(copies)})" if copies else "")
        groups.setdefault(key, []).append({
            "series": key[0], "model": p.qualname, "test_set": key[2],
            "position": int(rec.get("position", 0)), "checkpoint": name,
            "sha8": str(rec.get("sha256", ""))[:8], "acc1": row["acc1"], "acc5": row["acc5"],
            "images": row["images"]})
    out: List[Dict] = []
    for key in sorted(groups):  # (one series: rows of one shared id, ordered by position)
        group = sorted(groups[key], key=lambda r: r["position"])
        best = max(group, key=lambda r: (r["acc1"], r["acc5"], -r["position"]))
        for r in group:
            r["best"] = "*" if r is best else ""
            r["delta_best"] = r["acc1"] - best["acc1"]
        out += group
    return out, outside


def describe(table: Sequence[Dict]) -> List[str]:
    """One line per series of :func:`series_rows`' table: what it is and its best checkpoint."""
    out = []
    def key(r):
        return r["series"], _base_model(r["model"]), r["test_set"]
    for k in dict.fromkeys(key(r) for r in table):
        group = [r for r in table if key(r) == k]
        best = next(r for r in group if r["best"])
        out.append(f"{len(group)} checkpoint{'s' if len(group) != 1 else ''} of {k[0]} on "
                   f"{k[2]}, best #{best['position']} {best['checkpoint']}: {best['model']} "
                   f"(acc@1 {best['acc1']:.2f}%)")
    return out
