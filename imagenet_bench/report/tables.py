"""Render table rows (dicts) in any registered report format (stdlib only).

The formats are :mod:`imagenet_bench.report.formats`' registry (text, csv,
markdown, json, tsv: one module each); columns and cells are
:mod:`imagenet_bench.report.cells`'.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from imagenet_bench.report import formats
from imagenet_bench.report.cells import SIGNIFICANT, Column  # noqa: F401 (the table API)


def plural(n: int, word: str) -> str:
    """``1 model``, ``2 models`` (regular plurals only)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render(rows: List[Dict], columns: Sequence[Column], fmt: str = "text",
           title: Optional[str] = None) -> str:
    """Render ``rows`` in format ``fmt``; ``title`` goes above the table in the formats that
    carry one (text, markdown)."""
    f = formats.get(fmt)
    body = f.render(rows, columns)
    if title and f.title is not None:
        body = f.title(title) + body
    return body
