"""timm's published accuracy tables, keyed by tag, image size and crop_pct (standard library only).

timm measures every pretrained tag on ImageNet-val and five other test sets
and publishes the figures in the ``results/`` CSVs of its repository
(``results-imagenet.csv``, ``-real``, ``v2-matched-frequency``, ``-a``, ``-r``,
``results-sketch.csv``), often at two resolutions per tag (the train and the
test ``input_size``/``crop_pct`` of its ``pretrained_cfg``).
``tools/gen_timm.py results DIR`` converts those files, taken at a named
release, into ``data/timm_results.json``::

    {"source": {"repo", "release", "commit", "files": {dataset: path}},
     "columns": ["img_size", "crop_pct", "interpolation", "param_count_m",
                 "imagenet_top1", "imagenet_top5", "real_top1", ...],
     "models": {"resnet50.a1_in1k": [[224, 0.95, "bicubic", 25.56, 81.2, 95.1, ...], ...]}}

The CSVs write crop_pct with three decimals (timm's 0.8975 appears as
0.897), so a row matches a crop_pct within :data:`CROP_TOLERANCE`.
"""
from __future__ import annotations

import functools
import json
import math
from importlib import resources
from typing import Dict, List, NamedTuple, Optional, Tuple

#: test sets of timm's tables, in the order of the columns; value: CSV file in timm's repository
DATASETS = {
    "imagenet": "results/results-imagenet.csv",
    "real": "results/results-imagenet-real.csv",
    "v2": "results/results-imagenetv2-matched-frequency.csv",
    "a": "results/results-imagenet-a.csv",
    "r": "results/results-imagenet-r.csv",
    "sketch": "results/results-sketch.csv",
}
#: table -> how its figures differ from what imagenet-bench scores: none (same protocol)
CAVEATS: Dict[str, str] = {}
#: leading columns of every row, then ``<dataset>_top1``, ``<dataset>_top5`` per dataset
KEY_COLUMNS = ("img_size", "crop_pct", "interpolation", "param_count_m")
COLUMNS = KEY_COLUMNS + tuple(f"{d}_{k}" for d in DATASETS for k in ("top1", "top5"))
CROP_TOLERANCE = 0.0005 + 1e-9  # the CSVs round crop_pct to 3 decimals


class Row(NamedTuple):
    """One published measurement setting of one tag."""

    img_size: int  # square input side timm evaluated at
    crop_pct: float  # centre-crop fraction, as the CSV writes it (3 decimals)
    interpolation: str  # resize filter timm used
    param_count_m: Optional[float]  # parameters, millions
    top: Dict[str, Tuple[Optional[float], Optional[float]]]  # dataset -> (top1, top5) percent


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    res = resources.files("imagenet_bench.models").joinpath("data", "timm_results.json")
    return json.loads(res.read_text(encoding="utf-8"))


def source() -> Dict:
    """Where the figures come from: ``repo``, ``release``, ``commit``, ``files``."""
    return dict(_data()["source"])


def _key(model: str) -> str:
    """``timm:resnet50.a1_in1k+random`` / ``resnet50.a1_in1k`` -> ``resnet50.a1_in1k``."""
    name = model.split("+", 1)[0]
    return name.split(":", 1)[1] if name.startswith("timm:") else name


def rows(model: str) -> List[Row]:
    """Every published row of a timm tag (``timm:arch.tag`` or ``arch.tag``), smallest size first."""
    data = _data()
    cols = data["columns"]
    out = []
    for values in data["models"].get(_key(model), []):
        rec = dict(zip(cols, values))
        top = {d: (rec.get(f"{d}_top1"), rec.get(f"{d}_top5")) for d in DATASETS}
        out.append(Row(rec["img_size"], rec["crop_pct"], rec["interpolation"], rec["param_count_m"], top))
    return out


def find(model: str, img_size: int, crop_pct: Optional[float] = None,
         resize: Optional[int] = None) -> Optional[Row]:
    """The row of ``model`` measured at ``img_size`` with ``crop_pct`` (or, without it, with the
    resize ``floor(img_size / crop_pct)`` that the run used); None when timm published none."""
    for row in rows(model):
        if row.img_size != img_size:
            continue
        if crop_pct is not None and abs(row.crop_pct - crop_pct) <= CROP_TOLERANCE:
            return row
        if crop_pct is None and resize is not None and math.floor(img_size / row.crop_pct) == resize:
            return row
    return None


def describe(row: Row, dataset: str = "imagenet") -> str:
    """The source text of one row's figures (repository, release, commit, file, setting)."""
    src = source()
    return (f"timm {src['files'][dataset]} at {src['repo']} {src['release']} "
            f"(commit {src['commit'][:8]}), img_size {row.img_size}, crop_pct {row.crop_pct:.3f}, "
            f"{row.interpolation}")
