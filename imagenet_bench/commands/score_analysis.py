"""Analysis options of ``imagenet-bench score`` (numpy only; matplotlib lazily for --plot).

Kept out of ``score.py`` so the two evolve separately: ``add_arguments``
adds ``--ci``, ``--confidence``, ``--published``, ``--margin`` and
``--plot``; the values come from the results document
(:func:`imagenet_bench.api.score`), and ``plot`` draws the figures.
"""
from __future__ import annotations

import sys
from typing import Dict, List

from imagenet_bench.analysis import published
from imagenet_bench.analysis import stats
from imagenet_bench.commands._common import add_plot_arg

REAL = "real"
LABELS_HELP = ("custom labels: FILE.npy with one class index per scored image (extra columns), "
               "or 'real' for ReaL top-1 beside the original (Beyer et al. 2020, 'Are we done "
               "with ImageNet?', arXiv:2006.07159; label sets from timm's package data, images "
               "with an empty set left out)")


def add_arguments(parser) -> None:
    """Add the analysis options to the ``score`` parser."""
    g = parser.add_argument_group("analysis")
    g.add_argument("--ci", action="store_true",
                   help="show a Wilson score interval beside every accuracy (low/high columns)")
    g.add_argument("--confidence", type=float, default=stats.DEFAULT_CONFIDENCE,
                   help="confidence level of the intervals")
    g.add_argument("--published", action="store_true",
                   help="add the documented acc@5, its difference, a flag where the measured "
                        "acc@1 is more than --margin below the published figure, and the likely "
                        "reason where the cache records it")
    g.add_argument("--margin", type=float, default=published.DEFAULT_MARGIN,
                   help="percentage points below the published acc@1 that raise the flag")
    g.add_argument("--calibration", action="store_true",
                   help="add ECE (15 equal-width and 100 equal-mass bins), NLL, Brier and, for "
                        "caches with logits, the fitted temperature and the figures after it, on "
                        "the rows after the first 20 %% (docs/analysis.md); with --plot also "
                        "reliability diagrams (FILE.reliability.png)")
    add_plot_arg(g, "draw acc@1 of every model with its interval as a bar chart coloured by "
                    "framework; with --published also the measured-vs-published scatter "
                    "(FILE.published.png for FILE.png)")


def plot(rows: List[Dict], args) -> None:
    """``--plot``: the accuracy bars (and with ``--published`` the measured-vs-published
    scatter); says on stderr what it wrote."""
    from imagenet_bench.report import plots
    pct = f"{100 * args.confidence:g}%"
    for row in rows:  # the error bars: the interval of score --ci
        if "acc1_low" not in row:
            stats.add_interval(row, "acc1", args.confidence)
    plots.accuracy_bars(rows, args.plot, title=f"ImageNet top-1 with {pct} Wilson intervals")
    print(f"wrote {args.plot}", file=sys.stderr)
    if args.published:
        path = plots.companion_path(args.plot, "published")
        plots.published_scatter(rows, path, title="Measured vs published top-1")
        print(f"wrote {path}", file=sys.stderr)
    if args.calibration:
        path = plots.companion_path(args.plot, "reliability")
        plots.reliability_diagram(rows, path, title="Reliability (15 equal-width bins, "
                                                        "rows after the first 20 %)")
        print(f"wrote {path}", file=sys.stderr)
