"""Regenerate the timm data files of imagenet_bench from timm itself.

    python tools/gen_timm.py registry [--check]
    python tools/gen_timm.py results DIR --release v1.0.28 --commit SHA

``registry``: every pretrained tag of the installed timm (``timm.list_pretrained()``)
with its ``pretrained_cfg`` -> ``imagenet_bench/models/data/timm.json`` in the
catalog schema (no model is built). The recipe is timm's ``resolve_data_config``
of the tag (see :mod:`imagenet_bench.backends.timm_meta`); heads that are not
ImageNet-1k are listed with ``runnable: false`` and the reason; the published
top-1/top-5 is the ``results-imagenet.csv`` row at the entry's own input size and
crop_pct (from ``timm_results.json``, so convert the CSVs first).

``results``: timm's published CSVs (``results/results-imagenet.csv`` and the five
other test sets, read from DIR, e.g. ``git show v1.0.28:results/<file>`` of
huggingface/pytorch-image-models) -> ``imagenet_bench/models/data/timm_results.json``,
keyed by tag, with one row per (img_size, crop_pct) and the source recorded.

Both outputs are deterministic (sorted, one entry per line); ``--check``
compares instead of writing and exits 1 when the committed file is stale.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from typing import Dict, List

from imagenet_bench.cache import atomic
from imagenet_bench.models import catalog, timm_results

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "imagenet_bench", "models", "data")
REPO = "huggingface/pytorch-image-models"


def registry_text() -> str:
    """The text of ``timm.json`` for the installed timm."""
    import timm

    from imagenet_bench.backends import timm_meta
    head = {"generator": "tools/gen_timm.py registry", "library": "timm",
            "versions": {"timm": timm.__version__},
            "published": timm_results.source()}
    return catalog.dumps(head, "entries", timm_meta.entries())


def _number(text: str):
    text = (text or "").strip().replace(",", "")
    return float(text) if text else None


def results_text(directory: str, release: str, commit: str) -> str:
    """The text of ``timm_results.json`` from the CSV files in ``directory``."""
    table: Dict[str, Dict[tuple, Dict]] = {}
    for dataset, path in timm_results.DATASETS.items():
        file = os.path.join(directory, os.path.basename(path))
        if not os.path.isfile(file):
            raise SystemExit(f"{file}: missing; put timm's {path} there (git show {release}:{path})")
        with open(file, newline="", encoding="utf-8") as f:
            for n, rec in enumerate(csv.DictReader(f), start=2):
                key = (int(rec["img_size"]), float(rec["crop_pct"]))
                row = table.setdefault(rec["model"], {}).setdefault(key, {
                    "img_size": key[0], "crop_pct": key[1], "interpolation": rec["interpolation"],
                    "param_count_m": _number(rec["param_count"])})
                if f"{dataset}_top1" in row:
                    raise SystemExit(f"{file} line {n}: a second row for {rec['model']} at {key}")
                row[f"{dataset}_top1"], row[f"{dataset}_top5"] = _number(rec["top1"]), _number(rec["top5"])
    models = {name: [[row.get(c) for c in timm_results.COLUMNS] for _, row in sorted(rows.items())]
              for name, rows in sorted(table.items())}
    head = {"generator": "tools/gen_timm.py results",
            "source": {"repo": REPO, "release": release, "commit": commit,
                       "files": dict(timm_results.DATASETS)},
            "columns": list(timm_results.COLUMNS)}
    return catalog.dumps(head, "models", models)


def _write_or_check(path: str, text: str, check: bool, how: str) -> int:
    if check:
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                print(f"stale: {path}; run python tools/gen_timm.py {how}", file=sys.stderr)
                return 1
        return 0
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.write_text(path, text)
    print(f"wrote {path} ({text.count(chr(10))} lines)", file=sys.stderr)
    return 0


def main(argv: List[str] = None) -> int:
    """Write (or with ``--check`` compare) one data file; return the exit status."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    reg = sub.add_parser("registry", help="timm.json from the installed timm")
    reg.add_argument("--check", action="store_true", help="compare, do not write; exit 1 if stale")
    res = sub.add_parser("results", help="timm_results.json from timm's results CSVs")
    res.add_argument("directory", metavar="DIR", help="folder holding timm's results-*.csv files")
    res.add_argument("--release", required=True, help="timm release the CSVs were taken at (v1.0.28)")
    res.add_argument("--commit", required=True, help="full commit hash of that release")
    res.add_argument("--check", action="store_true", help="compare, do not write; exit 1 if stale")
    args = p.parse_args(argv)
    if args.what == "registry":
        return _write_or_check(os.path.join(DATA_DIR, "timm.json"), registry_text(), args.check,
                               "registry")
    return _write_or_check(os.path.join(DATA_DIR, "timm_results.json"),
                           results_text(args.directory, args.release, args.commit), args.check,
                           "results DIR --release ... --commit ...")


if __name__ == "__main__":
    sys.exit(main())
