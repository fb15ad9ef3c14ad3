"""The test library's results tables (Library.results_tables): published.json (standard library)."""
import json
import os
from typing import NamedTuple

DATASETS = {"imagenet": "val", "v2": "v2", "a": "A", "r": "R", "sketch": "sketch", "real": "ReaL"}
CAVEATS = {}  # its figures are made as imagenet-bench scores them
_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published.json")


class Row(NamedTuple):
    """The figures of one tag, at its one input size."""

    img_size: int
    top: dict


def rows(model):
    """The row of ``model`` (settings ignored), or []."""
    with open(_FILE, encoding="utf-8") as f:
        data = json.load(f)
    figs = data["models"].get(model.split("+", 1)[0])
    return [Row(32, {t: (figs.get(t), None) for t in DATASETS})] if figs else []


def describe(row, table="imagenet"):
    """Where a figure comes from."""
    return f"test figures of tests/plugins/openclip_tiny ({table})"
