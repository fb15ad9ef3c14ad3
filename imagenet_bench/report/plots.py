"""Figures for a paper (matplotlib, the optional ``analysis`` extra).

matplotlib is imported inside the functions, with the non-interactive Agg
backend, so importing this module costs nothing and the scorer path never
loads it. Input rows are the score table's row dicts (``model``,
``framework``, ``acc1`` and, when present, ``acc1_low``/``acc1_high`` and
``published_acc1``).
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence

from imagenet_bench.cache.atomic import atomic_path
from imagenet_bench.errors import BenchError
from imagenet_bench.models import libraries

#: the colour of a model library that declares none (each declares its own: Library.color)
OTHER_COLOUR = "#777777"


def _colour(framework: str) -> str:
    return libraries.color(framework, OTHER_COLOUR)


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise BenchError("--plot needs matplotlib. Fix: pip install 'imagenet_bench[analysis]'") \
            from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _finish(plt, fig, ax, path: str, title: str) -> str:
    """Title, layout, atomic save (format from the extension), close; return ``path``."""
    if title:
        ax.set_title(title)
    fig.tight_layout()
    ext = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    supported = fig.canvas.get_supported_filetypes()
    if ext not in supported:
        plt.close(fig)
        raise BenchError(f"--plot {path}: matplotlib cannot write .{ext} files. Fix: end the "
                         f"file name in one of {', '.join('.' + e for e in sorted(supported))}")
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _legend(ax, frameworks: Sequence[str]) -> None:
    from matplotlib.patches import Patch
    handles = [Patch(color=_colour(f), label=f) for f in frameworks]
    ax.legend(handles=handles, loc="lower right", frameon=False)


def accuracy_bars(rows: Sequence[Dict], path: str, title: str = "", key: str = "acc1") -> str:
    """Horizontal bar chart of ``key`` accuracy per model, sorted, coloured by framework.

    Error bars show ``<key>_low``/``<key>_high`` when the rows carry them.
    Writes ``path`` atomically (format from its extension) and returns it.
    """
    rows = sorted((r for r in rows if r.get(key) is not None), key=lambda r: r[key])
    if not rows:
        raise BenchError(f"nothing to plot: no row has a {key!r} value. Fix: point "
                         f"--precomputed at a folder with caches")
    plt = _pyplot()
    values = [r[key] for r in rows]
    colours = [_colour(r.get("framework", "")) for r in rows]
    fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.24 * len(rows)))
    ys = range(len(rows))
    xerr = None
    if all(f"{key}_low" in r for r in rows):
        xerr = [[v - r[f"{key}_low"] for v, r in zip(values, rows)],
                [r[f"{key}_high"] - v for v, r in zip(values, rows)]]
    ax.barh(list(ys), values, color=colours, xerr=xerr, capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "black"})
    ax.set_yticks(list(ys))
    ax.set_yticklabels([r["model"] for r in rows], fontsize=8)
    low = min(values) if xerr is None else min(r[f"{key}_low"] for r in rows)
    ax.set_xlim(max(0.0, low - 5.0), min(100.0, max(values) + 3.0))
    label = {"acc1": "top-1", "acc5": "top-5", "real_acc1": "ReaL top-1"}.get(key, key)
    ax.set_xlabel(f"{label} accuracy (%)" + ("; error bars: Wilson interval" if xerr else ""))
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    _legend(ax, sorted({r.get("framework", "") for r in rows}))
    return _finish(plt, fig, ax, path, title)


def published_scatter(rows: Sequence[Dict], path: str, title: str = "",
                      label_beyond: float = 2.0) -> str:
    """Measured top-1 (y) against published top-1 (x), one point per model, with y = x.

    Points below the diagonal measure worse than documented; those more than
    ``label_beyond`` points off it are labelled. Rows without a
    ``published_acc1`` are skipped. Writes ``path`` atomically.
    """
    pts: List[Dict] = [r for r in rows if r.get("published_acc1") is not None
                       and r.get("acc1") is not None]
    if not pts:
        raise BenchError("nothing to plot: no model has a published top-1 figure. Fix: include "
                         "catalog models (`imagenet-bench models` lists their published figures)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    xs = [r["published_acc1"] for r in pts]
    ys = [r["acc1"] for r in pts]
    lo = min(xs + ys) - 2.0
    hi = max(xs + ys) + 2.0
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--", label="measured = published")
    for fw in sorted({r.get("framework", "") for r in pts}):
        sel = [r for r in pts if r.get("framework", "") == fw]
        yerr = None
        if all("acc1_low" in r for r in sel):
            yerr = [[r["acc1"] - r["acc1_low"] for r in sel], [r["acc1_high"] - r["acc1"] for r in sel]]
        ax.errorbar([r["published_acc1"] for r in sel], [r["acc1"] for r in sel], yerr=yerr,
                    fmt="o", ms=4, color=_colour(fw), label=fw, capsize=2,
                    elinewidth=0.8)
    placed: List[tuple] = []
    for r in sorted(pts, key=lambda r: r["acc1"]):
        x, y = r["published_acc1"], r["acc1"]
        if abs(y - x) < label_beyond:
            continue
        # stagger labels of points that sit close together so they stay readable
        near = sum(1 for px, py in placed if abs(px - x) < 1.5 and abs(py - y) < 1.0)
        placed.append((x, y))
        ax.annotate(r["model"], (x, y), fontsize=6, xytext=(4, -3 + 7 * near),
                    textcoords="offset points")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("published top-1 (%)")
    ax.set_ylabel("measured top-1 (%)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    return _finish(plt, fig, ax, path, title)


def companion_path(path: str, suffix: str) -> str:
    """``table.png`` -> ``table.<suffix>.png``: where a second figure of the same run goes."""
    stem, ext = os.path.splitext(path)
    return f"{stem}.{suffix}{ext or '.png'}"


def robustness_scatter(rows: Sequence[Dict], fits: Dict, path: str, title: str = "") -> str:
    """Shifted top-1 (y) against ImageNet-val top-1 (x) on logit axes, one panel per shifted
    set in ``fits`` (:class:`analysis.robustness.Fit`), with the fitted baseline and y = x.
    Points above the baseline line are effectively robust. Writes ``path`` atomically."""
    if not fits:
        raise BenchError("nothing to plot: no shifted set has a baseline fit (it needs 3 or more "
                         "models with imagenet-val and that set). Fix: predict 3 or more models "
                         "on imagenet-val and on the shifted set into one folder")
    import numpy as np
    plt = _pyplot()
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter
    fig, axes = plt.subplots(1, len(fits), figsize=(4.2 * len(fits), 4.2), squeeze=False)
    for ax, (name, fit) in zip(axes[0], fits.items()):
        pts = [(r["imagenet-val"] / 100, r[name] / 100) for r in rows
               if r.get("imagenet-val") is not None and r.get(name) is not None]
        xs, ys = np.clip(np.array(pts).T, 1e-3, 1 - 1e-3)
        grid = np.linspace(max(1e-3, xs.min() * 0.9), min(1 - 1e-3, 1 - (1 - xs.max()) * 0.5), 100)
        ax.plot(grid, [fit.predict(100 * g) / 100 for g in grid], color="#0072B2", lw=1,
                label=f"fit: slope {fit.slope:.2f}, {fit.models} models")
        ax.plot(grid, grid, color="black", lw=0.8, ls="--", label="y = x")
        ax.plot(xs, ys, "o", ms=4, color="#D55E00")
        ticks = [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
        for axis, scale in ((ax.xaxis, ax.set_xscale), (ax.yaxis, ax.set_yscale)):
            scale("logit")
            axis.set_major_locator(FixedLocator(ticks))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{100 * v:g}"))
            axis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("ImageNet val top-1 (%)")
        ax.set_ylabel(f"{name} top-1 (%)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(loc="upper left", frameon=False, fontsize=7)
    return _finish(plt, fig, axes[0][0], path, title)


def reliability_diagram(rows: Sequence[Dict], path: str, title: str = "") -> str:
    """Reliability diagrams, one panel per row that has ``reliability`` (per equal-width bin:
    accuracy against mean confidence, the gap to y = x shaded, image counts below), with its
    ECE in the panel's title. Writes ``path`` atomically."""
    pts = [r for r in rows if r.get("reliability")]
    if not pts:
        raise BenchError("nothing to plot: no model has a calibration figure (its caches hold no "
                         "top-label confidence for the evaluated rows). Fix: --protocol unmasked "
                         "for ImageNet-A/-R caches made before cache format 3, or predict them "
                         "again")
    import math
    plt = _pyplot()
    cols = min(4, len(pts))
    nrows = math.ceil(len(pts) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(3.3 * cols, 3.5 * nrows), squeeze=False)
    for ax in axes.flat[len(pts):]:
        ax.axis("off")
    for ax, r in zip(axes.flat, pts):
        rel = r["reliability"]
        width = rel["upper"][0] - rel["lower"][0]
        full = [(lo, a, c, k) for lo, a, c, k in zip(rel["lower"], rel["accuracy"],
                                                     rel["confidence"], rel["count"]) if k]
        colour = _colour(r.get("framework", ""))
        ax.bar([lo for lo, *_ in full], [a for _, a, _, _ in full], width=width, align="edge",
               color=colour, alpha=0.8, edgecolor="black", lw=0.4, label="accuracy")
        ax.bar([lo for lo, *_ in full], [c - a for _, a, c, _ in full],
               bottom=[a for _, a, _, _ in full], width=width, align="edge", color="none",
               edgecolor="#C00000", hatch="///", lw=0.4, label="gap to confidence")
        ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("confidence (top label)", fontsize=8)
        ax.set_ylabel("accuracy", fontsize=8)
        ax.tick_params(labelsize=7)
        ece = r.get("ece15")
        ax.set_title(f"{r['model']}\nECE-15 {ece:.4f}, {r.get('calibration_images', 0):,} images"
                     if ece is not None else r["model"], fontsize=7)
    axes.flat[0].legend(loc="upper left", frameon=False, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9, y=1.01)
    return _finish(plt, fig, axes.flat[0], path, "")
