"""The report formats: an explicit registry, one module per format (stdlib only).

Each module of this package declares ``FORMAT = Format(...)``
(:class:`imagenet_bench.report.cells.Format`): its ``--format`` name, a
one-line help, how it renders rows under columns, and how a title goes above
the table (``None``: the format carries no title, e.g. CSV). :data:`MODULES`
lists them, in the order of the choices. Adding a format is one module here,
its tests, and one line in :data:`MODULES`; every command's ``--format``
offers it (``commands/_common.add_output_args``).
"""
from __future__ import annotations

import functools
from typing import Dict, List

from imagenet_bench.report.cells import Format
from imagenet_bench.report.formats import csv_table, json_table, markdown, text, tsv

#: the format modules, in the order of the --format choices
MODULES = (
    text,
    csv_table,
    markdown,
    json_table,
    tsv,
)


@functools.lru_cache(maxsize=None)
def registered() -> Dict[str, Format]:
    """Every format the modules of :data:`MODULES` declare, by name, in that order."""
    out: Dict[str, Format] = {}
    for module in MODULES:
        fmt = getattr(module, "FORMAT", None)
        if not isinstance(fmt, Format):
            raise TypeError(f"{module.__name__}: a report format module declares FORMAT = Format(...)")
        if fmt.name in out:
            raise TypeError(f"report format {fmt.name!r} declared twice")
        out[fmt.name] = fmt
    return out


def names() -> List[str]:
    """The ``--format`` choices, in order."""
    return list(registered())


def get(name: str) -> Format:
    """The format called ``name``; ValueError naming the choices otherwise."""
    try:
        return registered()[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(names())}") from None
