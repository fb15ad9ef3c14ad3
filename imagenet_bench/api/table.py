"""``Results``: the table every API call returns (rows of dicts; numpy and stdlib only).

Iterable rows, ``len``, indexing, ``.columns`` (keys), ``.describe()`` (key, header, unit and
meaning of every column the metric registry declares), ``.to_csv()`` / ``.to_json()`` (the
text the CLI's ``--format csv|json`` prints, written atomically when given a path),
``.to_pandas()`` (when pandas is installed), a readable ``repr`` (the CLI's text table) and
``_repr_html_`` for notebooks.
"""
from __future__ import annotations

import html
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from imagenet_bench.report import tables as report


class Results:
    """A table of result rows under named columns (see the module docstring)."""

    def __init__(self, rows: Sequence[Dict], columns: Optional[Sequence[report.Column]] = None,
                 title: str = "", notes: Sequence[str] = (),
                 columns_for: Optional[Callable[[str], Sequence[report.Column]]] = None):
        """``columns``: the table's columns (default: every key of the rows); ``columns_for``:
        the columns of each ``--format`` where they differ by format (compare, robustness)."""
        self.rows: List[Dict] = list(rows)
        self._columns_for = columns_for
        keys = list(dict.fromkeys(k for r in self.rows for k in r))
        self._columns = list(columns) if columns is not None else [report.Column(k, k) for k in keys]
        self.title = title
        self.notes = list(notes)  # what the CLI prints on standard error beside the table

    @property
    def columns(self) -> List[str]:
        """The column keys, in table order."""
        return [c.key for c in self._columns]

    def __iter__(self) -> Iterator[Dict]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i) -> Dict:
        return self.rows[i]

    def describe(self) -> List[Dict]:
        """Key, header, unit and meaning of each column: the column's declaration (the metric
        registry's, read by ``report.columns``, or the table's in ``report.columns.TABLES``),
        else the results table's in the metric registry for its key."""
        from imagenet_bench.analysis import metrics
        declared = metrics.columns()
        out = []
        for c in self._columns:
            d = c if c.meaning else declared.get(c.key)
            out.append({"key": c.key, "header": c.header, "unit": d.unit if d else "",
                        "meaning": d.meaning if d else ""})
        return out

    def render(self, fmt: str = "text") -> str:
        """The table as the CLI prints it with ``--format fmt``."""
        columns = self._columns_for(fmt) if self._columns_for else self._columns
        return report.render(self.rows, columns, fmt, title=self.title or None)

    def _write(self, fmt: str, path: Optional[str]) -> str:
        text = self.render(fmt)
        if path is not None:
            from imagenet_bench.cache import atomic
            atomic.write_text(path, text)
        return text

    def to_csv(self, path: Optional[str] = None) -> str:
        """The CSV text (keys as header); written atomically to ``path`` when given."""
        return self._write("csv", path)

    def to_json(self, path: Optional[str] = None) -> str:
        """The JSON text (a list of objects); written atomically to ``path`` when given."""
        return self._write("json", path)

    def to_pandas(self):
        """A ``pandas.DataFrame`` of the rows under :attr:`columns` (needs pandas)."""
        try:
            import pandas
        except ImportError:
            from imagenet_bench.errors import BenchError
            raise BenchError("Results.to_pandas needs pandas, which is not installed. Fix: pip "
                             "install pandas (or use .to_csv() / .to_json() / the rows)") from None
        return pandas.DataFrame([{k: r.get(k) for k in self.columns} for r in self.rows],
                                columns=self.columns)

    def __repr__(self) -> str:
        return self.render("text").rstrip("\n")

    def _repr_html_(self) -> str:
        columns = self._columns_for("text") if self._columns_for else self._columns
        head = "".join(f"<th>{html.escape(c.header)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c.key)))}</td>"
                                        for c in columns) + "</tr>" for r in self.rows)
        title = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(v) -> str:
    if v is None:
        return ""
    return f"{v:.2f}" if isinstance(v, float) else str(v)
