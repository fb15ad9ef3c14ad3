"""Render table rows (dicts) as aligned text, CSV, Markdown or JSON (stdlib only)."""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

FORMATS = ("text", "csv", "markdown", "json")
#: significant digits of floats in CSV and JSON: an accuracy over 50,000 images moves in steps
#: of 0.002 percentage points (5 significant digits), and p-values keep their magnitude
SIGNIFICANT = 6


def plural(n: int, word: str) -> str:
    """``1 model``, ``2 models`` (regular plurals only)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class Column:
    """One output column: row key, header, decimals for floats, and whether to show a sign."""

    key: str
    header: str
    decimals: int = 2
    signed: bool = False
    fmt: Optional[str] = None  # text/markdown format spec for floats instead of decimals (".3g")


def _cell(value, decimals: int, signed: bool = False, fmt: Optional[str] = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and fmt:
        return format(value, fmt)
    if isinstance(value, float):
        return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    return str(value)


def _text(rows: List[Dict], cols: Sequence[Column]) -> str:
    table = [[c.header for c in cols]] + [[_cell(r.get(c.key), c.decimals, c.signed, c.fmt) for c in cols]
                                          for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    numeric = [all(_is_num(r.get(c.key)) for r in rows) for c in cols]
    out = []
    for j, line in enumerate(table):
        cells = [s.rjust(w) if num else s.ljust(w) for s, w, num in zip(line, widths, numeric)]
        out.append("  ".join(cells).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"


def _is_num(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _markdown(rows: List[Dict], cols: Sequence[Column]) -> str:
    numeric = [all(_is_num(r.get(c.key)) for r in rows) for c in cols]
    out = ["| " + " | ".join(c.header for c in cols) + " |",
           "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    for r in rows:
        out.append("| " + " | ".join(_cell(r.get(c.key), c.decimals, c.signed, c.fmt).replace("|", "\\|")
                                     for c in cols) + " |")
    return "\n".join(out) + "\n"


def _csv(rows: List[Dict], cols: Sequence[Column]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.key for c in cols])
    for r in rows:
        w.writerow(["" if r.get(c.key) is None else
                    _plain(r[c.key])
                    for c in cols])
    return buf.getvalue()


def _json(rows: List[Dict], cols: Sequence[Column]) -> str:
    keys = [c.key for c in cols]
    return json.dumps([{k: _plain(r.get(k)) for k in keys} for r in rows], indent=2) + "\n"


def _plain(v):
    """A JSON/CSV value: numpy scalars unwrapped, NaN as None, floats to :data:`SIGNIFICANT` digits."""
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    if isinstance(v, float):
        return None if math.isnan(v) else float(f"{v:.{SIGNIFICANT}g}")
    return v


_RENDER: Dict[str, Callable[[List[Dict], Sequence[Column]], str]] = {
    "text": _text, "csv": _csv, "markdown": _markdown, "json": _json}


def render(rows: List[Dict], columns: Sequence[Column], fmt: str = "text",
           title: Optional[str] = None) -> str:
    """Render ``rows`` in format ``fmt``; ``title`` is printed above text/markdown tables."""
    if fmt not in _RENDER:
        raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
    body = _RENDER[fmt](rows, columns)
    if title and fmt in ("text", "markdown"):
        body = (f"{title}\n\n" if fmt == "text" else f"**{title}**\n\n") + body
    return body
