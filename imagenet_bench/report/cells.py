"""Table columns and cell values, shared by every report format (stdlib only)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

#: significant digits of floats in CSV and JSON: an accuracy over 50,000 images moves in steps
#: of 0.002 percentage points (5 significant digits), and p-values keep their magnitude
SIGNIFICANT = 6


@dataclass(frozen=True)
class Column:
    """One output column: row key, header, decimals for floats, and whether to show a sign;
    ``unit`` and ``meaning`` describe it (``Results.describe``; the formats ignore them)."""

    key: str
    header: str
    decimals: int = 2
    signed: bool = False
    fmt: Optional[str] = None  # text/markdown format spec for floats instead of decimals (".3g")
    unit: str = ""
    meaning: str = ""


@dataclass(frozen=True)
class Format:
    """One ``--format`` value, declared by its module in :mod:`imagenet_bench.report.formats`."""

    name: str  # the --format value
    help: str  # one line for --help
    render: Callable[[List[Dict], Sequence[Column]], str]  # (rows, columns) -> the table
    title: Optional[Callable[[str], str]] = None  # title -> its heading above the table; None: none


def cell(value, column: Column) -> str:
    """A value as the human-readable formats (text, markdown) show it: '' for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and column.fmt:
        return format(value, column.fmt)
    if isinstance(value, float):
        return f"{value:+.{column.decimals}f}" if column.signed else f"{value:.{column.decimals}f}"
    return str(value)


def is_num(v) -> bool:
    """True for a number (or a missing value) -- a right-aligned cell."""
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def plain(v):
    """A machine-readable value: numpy scalars unwrapped, NaN as None, floats to
    :data:`SIGNIFICANT` digits (CSV, TSV, JSON)."""
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) else float(f"{v:.{SIGNIFICANT}g}")
    return v
