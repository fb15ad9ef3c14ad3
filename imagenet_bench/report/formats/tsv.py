"""``--format tsv``: tab-separated values (spreadsheets, ``cut -f``, pandas ``sep="\\t"``).

Row keys as the header, full-precision numbers as in CSV; a tab or newline
inside a value (a free-text reason) becomes a space, so every line has one
field per column and the file needs no quoting.
"""
from __future__ import annotations

from typing import Dict, List, Sequence

from imagenet_bench.report.cells import Format, plain


def _field(value) -> str:
    value = plain(value)  # NaN -> None
    if value is None:
        return ""
    return " ".join(str(value).replace("\t", " ").splitlines())


def render(rows: List[Dict], cols: Sequence) -> str:
    """One header line of keys, one line per row."""
    lines = ["\t".join(c.key for c in cols)]
    lines += ["\t".join(_field(r.get(c.key)) for c in cols) for r in rows]
    return "\n".join(lines) + "\n"


FORMAT = Format("tsv", "tab-separated values, keys as the header", render)
