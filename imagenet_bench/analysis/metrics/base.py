"""What every metric module shares: the column declaration, the options, the context."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.analysis import published, scorer, stats

REAL = "real"  # the ``labels`` value that asks for ReaL accuracy
DEFAULT_MARGIN = published.DEFAULT_MARGIN  # points below the published top-1 that flag a row


@dataclass(frozen=True)
class Column:
    """One result column: ``key`` in every row, dict, CSV and JSON; ``header`` in text tables;
    ``unit`` ("%", "points", "images", "" ...); ``meaning`` one sentence; ``signed``: a
    difference, shown with its sign."""

    key: str
    header: str
    unit: str = ""
    meaning: str = ""
    signed: bool = False
    decimals: int = 2  # decimals of a float in text tables


@dataclass(frozen=True)
class Options:
    """What the results hold (the options of ``score``, with the CLI's names and defaults).

    ``keep``/``omit``: .npy of image indices (or a boolean mask); ``labels``: a .npy of one
    class index per scored image, or "real" for ReaL labels; ``protocol``: how ImageNet-A/-R
    is scored; ``ci``: Wilson intervals at ``confidence``; ``published``: the published
    figure's top-5, the flag (below by more than ``margin`` points) and the likely reason;
    ``extra``: further metric groups ("costs", "timing", "recipe", "calibration"); ``top``:
    the top-k (1 or 5) of a paired comparison (``compare --top``).
    """

    keep: Optional[str] = None
    omit: Optional[str] = None
    labels: Optional[str] = None
    protocol: str = scorer.DEFAULT_PROTOCOL
    ci: bool = False
    confidence: float = stats.DEFAULT_CONFIDENCE
    published: bool = False
    margin: float = DEFAULT_MARGIN
    extra: Tuple[str, ...] = ()
    top: int = 1

    @property
    def custom_labels(self) -> Optional[str]:
        """The custom-label file (``labels`` that is not "real")."""
        return None if self.labels in (None, REAL) else self.labels


@dataclass
class Context:
    """The options and what the metrics share: the scored rows per image list (``keep`` and
    ``omit`` read once per list); for the rows of one model across test sets also each set's
    result rows (``results``: {test set: {model: row}}, in table order), the notes for the
    user and the effective-robustness fits (``fits``: {test set: robustness.Fit})."""

    options: Options
    _selected: Dict[Tuple[int, str], Optional[np.ndarray]] = field(default_factory=dict)
    results: Dict[str, Dict[str, Dict]] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    fits: Dict[str, object] = field(default_factory=dict)

    def rows(self, preds) -> Optional[np.ndarray]:
        """The scored row indices of ``preds`` (None: every row)."""
        n, o = preds.num_images, self.options
        key = (n, preds.fingerprint)
        if key not in self._selected:
            keep = scorer.load_index_file(o.keep, n, "--keep") if o.keep else None
            omit = scorer.load_index_file(o.omit, n, "--omit") if o.omit else None
            self._selected[key] = scorer.select_rows(n, keep, omit)
        return self._selected[key]


def bounds(key: str, header: str, unit: str, what: str, signed: bool = False,
           decimals: int = 2) -> Tuple[Column, Column]:
    """The two bounds of ``key``'s interval: ``<key>_low``/``_high``, headers ``<header> {pct}
    low``/``high`` (``{pct}``: the confidence level, filled by the table)."""
    return tuple(Column(f"{key}_{end}", f"{header} {{pct}} {end}", unit,
                        f"{'lower' if end == 'low' else 'upper'} bound of the {what} interval",
                        signed, decimals)
                 for end in ("low", "high"))


def percent(flags: np.ndarray) -> float:
    """100 x the mean of a bool array (count / size: the same float as ``.mean()``, faster)."""
    return 100.0 * (np.count_nonzero(flags) / flags.size) if flags.size else float("nan")


def add_ranks(rows, metric: str, name: str) -> None:
    """``name`` = the competition rank of ``metric`` among ``rows`` (1 = highest)."""
    for row, rank in zip(rows, scorer.competition_ranks([r[metric] for r in rows])):
        row[name] = rank
