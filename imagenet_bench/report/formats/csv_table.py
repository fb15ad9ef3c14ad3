"""``--format csv``: comma-separated, row keys as the header, full-precision numbers."""
from __future__ import annotations

import csv
import io
from typing import Dict, List, Sequence

from imagenet_bench.report.cells import Format, plain


def render(rows: List[Dict], cols: Sequence) -> str:
    """RFC 4180 CSV (``\\n`` line ends); a missing value is an empty field."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.key for c in cols])
    for r in rows:
        w.writerow(["" if r.get(c.key) is None else plain(r[c.key]) for c in cols])
    return buf.getvalue()


FORMAT = Format("csv", "comma-separated values, keys as the header", render)
