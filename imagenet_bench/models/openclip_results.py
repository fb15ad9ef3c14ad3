"""open_clip's published zero-shot results, as the results tables of its library (standard library only).

open_clip publishes the zero-shot top-1 of each pretrained tag on 38 test sets
in ``docs/openclip_results.csv`` of mlfoundations/open_clip (CLIP_benchmark,
OpenAI's 80 templates; no top-5). ``tools/gen_openclip.py`` keeps the five
ImageNet sets and ObjectNet of it, taken at a named commit, as
``data/openclip_published.json``::

    {"repo", "file", "commit", "source", "columns": {table: CSV column},
     "models": {"openclip:ViT-B-32.laion2b_s34b_b79k": {"imagenet": 66.56, "v2": ..., ...}}}

This module is the library's ``Library.results_tables``: :func:`rows`,
:func:`describe`, :data:`DATASETS` and :data:`CAVEATS`, read by :mod:`imagenet_bench.analysis.published`.
Each tag has one row, at the input size of its catalog entry (open_clip
evaluates each tag at its own preprocessing only).
"""
from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Dict, List, NamedTuple, Optional, Tuple

#: published table (``DatasetSpec.published_table``) -> the CSV column it comes from; "real" (ReaL
#: labels) has none: every row has no figure there, and messages say so
DATASETS = {"imagenet": "ImageNet 1k", "v2": "ImageNet v2", "a": "ImageNet-A", "r": "ImageNet-R",
            "sketch": "ImageNet Sketch", "objectnet": "ObjectNet",
            "real": "openclip_results.csv (no ReaL-labels column)"}
#: table -> how its figures were made where that differs from what imagenet-bench scores (the
#: published comparison gives it as a likely reason)
CAVEATS = {"objectnet": "CLIP_benchmark's ObjectNetDataset: objectnet-1.0, the 113 classes that "
                        "overlap ImageNet, zero-shot over ObjectNet's 113 class names (imagenet-bench "
                        "masks the 1,000 ImageNet prompts to the mapped classes) and without the "
                        "2-px border crop: another classifier and input, a difference of a few "
                        "points is expected"}


class Row(NamedTuple):
    """The published figures of one tag."""

    img_size: int  # the input size of the tag's catalog entry (its only published setting)
    top: Dict[str, Tuple[Optional[float], Optional[float]]]  # table -> (top1, None) percent


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    res = resources.files("imagenet_bench.models").joinpath("data", "openclip_published.json")
    return json.loads(res.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _sizes() -> Dict[str, int]:
    res = resources.files("imagenet_bench.models").joinpath("data", "openclip.json")
    return {e["model"]: e["input_size"]
            for e in json.loads(res.read_text(encoding="utf-8"))["entries"]}


def rows(model: str) -> List[Row]:
    """The published row of ``openclip:ARCH.TAG`` (settings ignored): [] when none."""
    name = model.split("+", 1)[0]
    figs = _data()["models"].get(name)
    if figs is None or name not in _sizes():
        return []
    return [Row(_sizes()[name], {t: (figs.get(t), None) for t in DATASETS})]


def describe(row: Row, table: str = "imagenet") -> str:
    """The source text of a figure: the table, its column, repository and commit."""
    d = _data()
    return (f"zero-shot top-1, {d['repo']} {d['file']} column {DATASETS[table]!r} at commit "
            f"{d['commit'][:12]} (CLIP_benchmark; OpenAI's 80 templates)")
