"""``--format json``: a list of objects, one per row, keyed by the column keys."""
from __future__ import annotations

import json
from typing import Dict, List, Sequence

from imagenet_bench.report.cells import Format, plain


def render(rows: List[Dict], cols: Sequence) -> str:
    """Indented JSON; NaN becomes null."""
    keys = [c.key for c in cols]
    return json.dumps([{k: plain(r.get(k)) for k in keys} for r in rows], indent=2) + "\n"


FORMAT = Format("json", "a JSON list of objects", render)
