"""``--format text``: aligned columns for the terminal, numbers right-aligned."""
from __future__ import annotations

from typing import Dict, List, Sequence

from imagenet_bench.report.cells import Format, cell, is_num


def render(rows: List[Dict], cols: Sequence) -> str:
    """Header, a rule, then one line per row."""
    table = [[c.header for c in cols]] + [[cell(r.get(c.key), c) for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    numeric = [all(is_num(r.get(c.key)) for r in rows) for c in cols]
    out = []
    for j, line in enumerate(table):
        cells = [s.rjust(w) if num else s.ljust(w) for s, w, num in zip(line, widths, numeric)]
        out.append("  ".join(cells).rstrip())
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n"


FORMAT = Format("text", "aligned columns for the terminal", render, title=lambda t: f"{t}\n\n")
