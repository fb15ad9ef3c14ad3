"""``--format markdown``: a GitHub-flavoured Markdown table, numbers right-aligned."""
from __future__ import annotations

from typing import Dict, List, Sequence

from imagenet_bench.report.cells import Format, cell, is_num


def render(rows: List[Dict], cols: Sequence) -> str:
    """Header row, alignment row, one row per row (``|`` in a cell escaped)."""
    numeric = [all(is_num(r.get(c.key)) for r in rows) for c in cols]
    out = ["| " + " | ".join(c.header for c in cols) + " |",
           "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    for r in rows:
        out.append("| " + " | ".join(cell(r.get(c.key), c).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(out) + "\n"


FORMAT = Format("markdown", "a Markdown table", render, title=lambda t: f"**{t}**\n\n")
