"""The report formats: a registry, one module per format (stdlib only).

Each module of this package declares ``FORMAT = Format(...)``: its ``--format``
name, a one-line help, its place in the choices (``order``), how it renders
rows under columns, and how a title goes above the table (``None``: the format
carries no title, e.g. CSV). The registry is what the modules declare
(:func:`registered`), found with :mod:`pkgutil` -- so adding a format is one
module here plus its tests, and every command's ``--format`` offers it
(``commands/_common.add_output_args``).
"""
from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence


@dataclass(frozen=True)
class Format:
    """One ``--format`` value."""

    name: str  # the --format value
    help: str  # one line for --help
    order: int  # position among the choices (lowest first)
    render: Callable[[List[Dict], Sequence], str]  # (rows, columns) -> the table
    title: Optional[Callable[[str], str]] = None  # title -> its heading above the table; None: none


@functools.lru_cache(maxsize=None)
def registered() -> Dict[str, Format]:
    """Every format this package's modules declare, by name, in ``order``."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if not isinstance(fmt, Format):
            raise TypeError(f"{module.__name__}: a report format module declares FORMAT = Format(...)")
        found.append(fmt)
    names = [f.name for f in found]
    if len(set(names)) != len(names):
        raise TypeError(f"report formats declared twice: {sorted(n for n in names if names.count(n) > 1)}")
    return {f.name: f for f in sorted(found, key=lambda f: (f.order, f.name))}


def names() -> List[str]:
    """The ``--format`` choices, in order."""
    return list(registered())


def get(name: str) -> Format:
    """The format called ``name``; ValueError naming the choices otherwise."""
    try:
        return registered()[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(names())}") from None
