"""The HTML report's figures (Plotly): measured vs published, top-1 against costs with Pareto
fronts, effective robustness, Keras-vs-PyTorch pairs, the reliability diagram and the
ImageNet-C heat map, each from the report's :class:`~imagenet_bench.report.html_data.Document`.
plotly is imported inside :func:`plotly_modules` only (extra ``[report]``)."""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

from imagenet_bench.analysis import robustness
from imagenet_bench.data import imagenet_c
from imagenet_bench.errors import BenchError
from imagenet_bench.models import libraries
from imagenet_bench.models.identity import ModelId
from imagenet_bench.report.html_data import Document

OTHER_COLOR = "#8e6c8a"  # a library that declares no colour (Library.color)
SET_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "triangle-down", "star"]
MAX_ERROR_BARS = 300  # above this many points the intervals are in the hover label only
COSTS = (("params_m", "parameters (millions)"), ("gflops", "GFLOPs per image"),
         ("images_per_s", "images per second (recorded timing)"))


def plotly_modules():
    """plotly's graph_objects and offline modules; BenchError naming the extra without them."""
    try:
        import plotly.graph_objects as go
        import plotly.offline
    except ImportError:
        raise BenchError("the HTML report needs plotly. Fix: pip install 'imagenet_bench[report]' "
                         "(or pip install plotly)") from None
    return go, plotly.offline


def _round(v, digits: int = 4):
    return None if v is None else round(float(v), digits)


def _color(framework: str) -> str:
    return libraries.color(framework, OTHER_COLOR)


def pareto_front(points: Sequence[Tuple[float, float]], cost_up: bool = True) -> List[Tuple[float, float]]:
    """The points no other point beats on both axes: higher y at lower x (``cost_up``) or at
    higher x (``cost_up=False``, e.g. images/s), in order of x."""
    front: List[Tuple[float, float]] = []
    best = -math.inf
    for x, y in sorted(points, key=lambda p: (p[0], -p[1]), reverse=not cost_up):
        if y > best:
            front.append((x, y))
            best = y
    return sorted(front)


def _groups(rows: Sequence[Dict], sets: Sequence[str]):
    """((framework, test set), rows) in a stable order."""
    keys = sorted({(r["framework"], r["test_set"]) for r in rows},
                  key=lambda k: (k[0], list(sets).index(k[1]) if k[1] in sets else 99))
    return [(k, [r for r in rows if (r["framework"], r["test_set"]) == k]) for k in keys]


def _marker(go, fw: str, test_set: str, sets: Sequence[str]):
    i = list(sets).index(test_set) if test_set in sets else 0
    return go.scatter.Marker(color=_color(fw), size=8, opacity=0.8,
                             symbol=SET_SYMBOLS[i % len(SET_SYMBOLS)],
                             line=dict(width=0.5, color="#333"))


def _layout(title: str, x: str, y: str, **kw) -> Dict:
    kw.setdefault("height", 460)
    kw.setdefault("margin", dict(l=60, r=40, t=40, b=40))
    return dict(title=dict(text=title, x=0.02, font=dict(size=14)), hovermode="closest",
                modebar=dict(orientation="v"),
                xaxis=dict(title=dict(text=x), **kw.pop("xaxis", {})),
                yaxis=dict(title=dict(text=y), **kw.pop("yaxis", {})),
                legend=dict(font=dict(size=10), orientation="h", x=0, y=-0.18, yanchor="top"),
                template="plotly_white", **kw)


def _published_figure(go, rows, sets) -> Optional[Dict]:
    pts = [r for r in rows if r.get("published_acc1") is not None and r.get("measured_acc1") is not None]
    if not pts:
        return None
    bars = len(pts) <= MAX_ERROR_BARS
    fig = go.Figure(layout=_layout("Measured vs published top-1" + (" (95% intervals)" if bars else ""),
                                   "published top-1 (%)", "measured top-1 (%; A/R: masked)"))
    for (fw, ts), rs in _groups(pts, sets):
        key = "masked_acc1" if any(r["measured_acc1"] == r.get("masked_acc1") for r in rs) else "acc1"
        fig.add_trace(go.Scatter(
            x=[r["published_acc1"] for r in rs], y=[_round(r["measured_acc1"]) for r in rs], mode="markers",
            name=f"{fw} · {ts}", marker=_marker(go, fw, ts, sets),
            text=[f"{r['model']} · {ts}" for r in rs],
            customdata=[[_round(r.get("delta_acc1")), _round(r.get(f"{key}_low")),
                         _round(r.get(f"{key}_high"))] for r in rs],
            error_y=dict(type="data", symmetric=False, thickness=1, width=0, visible=bars,
                         array=[_round(r.get(f"{key}_high", r["measured_acc1"]) - r["measured_acc1"])
                                for r in rs] if bars else None,
                         arrayminus=[_round(r["measured_acc1"] - r.get(f"{key}_low", r["measured_acc1"]))
                                     for r in rs] if bars else None),
            hovertemplate="<b>%{text}</b><br>published %{x:.2f}<br>measured %{y:.2f} "
                          "[%{customdata[1]:.2f}, %{customdata[2]:.2f}]<br>Δ %{customdata[0]:+.2f}"
                          "<extra></extra>"))
    values = [v for r in pts for v in (r["published_acc1"], r["measured_acc1"])]
    lo, hi = min(values), max(values)
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="measured = published",
                             line=dict(color="#444", dash="dash", width=1), hoverinfo="skip"))
    return dict(id="plot-published", figure=fig, points=len(pts))


def _cost_figure(go, rows, sets, key: str, label: str) -> Optional[Dict]:
    pts = [r for r in rows if r.get(key) is not None]
    if not pts:
        return None
    cost_up = key != "images_per_s"
    fig = go.Figure(layout=_layout(f"Top-1 vs {label.split(' (')[0]} (lines: Pareto fronts)",
                                   label, "top-1 (%; A/R: masked)", xaxis=dict(type="log", dtick="D2")))
    for (fw, ts), rs in _groups(pts, sets):
        fig.add_trace(go.Scatter(
            x=[_round(r[key]) for r in rs], y=[_round(r["measured_acc1"]) for r in rs], mode="markers",
            name=f"{fw} · {ts}", marker=_marker(go, fw, ts, sets), legendgroup=f"{fw}{ts}",
            text=[f"{r['model']} · {ts}" for r in rs],
            hovertemplate=f"<b>%{{text}}</b><br>{label} %{{x:.3g}}<br>top-1 %{{y:.2f}}<extra></extra>"))
        front = pareto_front([(r[key], r["measured_acc1"]) for r in rs], cost_up)
        fig.add_trace(go.Scatter(
            x=[p[0] for p in front], y=[p[1] for p in front], mode="lines", legendgroup=f"{fw}{ts}",
            name=f"{fw} · {ts} front", showlegend=False, hoverinfo="skip",
            line=dict(color=_color(fw), width=1.5, shape="hv" if cost_up else "vh")))
    return dict(id=f"plot-{key}", figure=fig, points=len(pts))


def _logit_axis(accs: Sequence[float], n: int) -> Dict:
    ticks = [p for p in (0.1, 0.5, 1, 2, 5, 10, 20, 30, 50, 70, 80, 90, 95, 98, 99, 99.5, 99.9)
             if min(accs) - 5 <= p <= max(accs) + 5] or [min(accs), max(accs)]
    return dict(tickvals=[robustness.logit(p, n) for p in ticks], ticktext=[f"{p:g}" for p in ticks])


def _robustness_figures(go, doc: Document) -> List[Dict]:
    table = doc.robustness
    if table is None or not table.fits:
        return []
    images = {s["name"]: s["images"] for s in doc.header["test_sets"]}
    framework = {r["model"]: r["framework"] for r in doc.rows}  # the score rows of the same caches
    n_val = images.get(robustness.VAL, 0)
    out = []
    for name, fit in table.fits.items():
        rs = [r for r in table.rows if r.get(robustness.VAL) is not None and r.get(name) is not None]
        n_set = images.get(name, 0)
        fig = go.Figure(layout=_layout(
            f"Effective robustness: {name} vs val", "ImageNet-val top-1 (%, logit axis)",
            f"{name} top-1 (%, logit axis)",
            xaxis=_logit_axis([r[robustness.VAL] for r in rs], n_val),
            yaxis=_logit_axis([r[name] for r in rs], n_set)))
        fig.add_annotation(text=f"fit: logit({name}) = {fit.intercept:+.3f} {fit.slope:+.3f}·logit(val)"
                                f", {fit.models} models", xref="paper", yref="paper", x=1, y=0,
                           xanchor="right", yanchor="bottom", showarrow=False,
                           font=dict(size=11, color="#555"))
        for fw in sorted({framework[r["model"]] for r in rs}):
            sub = [r for r in rs if framework[r["model"]] == fw]
            fig.add_trace(go.Scatter(
                x=[_round(robustness.logit(r[robustness.VAL], n_val), 5) for r in sub],
                y=[_round(robustness.logit(r[name], n_set), 5) for r in sub], mode="markers", name=fw,
                marker=go.scatter.Marker(color=_color(fw), size=8, opacity=0.8),
                text=[r["model"] for r in sub],
                customdata=[[_round(r[robustness.VAL]), _round(r[name]), _round(r.get(f"er_{name}"))]
                            for r in sub],
                hovertemplate="<b>%{text}</b><br>val %{customdata[0]:.2f}<br>"
                              f"{name} %{{customdata[1]:.2f}}<br>effective robustness "
                              "%{customdata[2]:+.2f} points<extra></extra>"))
        xs = [robustness.logit(r[robustness.VAL], n_val) for r in rs]
        x0, x1 = min(xs), max(xs)
        fig.add_trace(go.Scatter(x=[x0, x1], y=[fit.intercept + fit.slope * x for x in (x0, x1)],
                                 mode="lines", name="fitted line", hoverinfo="skip",
                                 line=dict(color="#444", dash="dash", width=1)))
        out.append(dict(id=f"plot-er-{name}", figure=fig, points=len(rs)))
    return out


def _pairs_figure(go, pairs: Sequence[Dict]) -> Optional[Dict]:
    if not pairs:
        return None
    labels = [pair_label(*p["ids"]) for p in pairs]
    fig = go.Figure(layout=_layout(
        "Keras − PyTorch top-1, same images (95% interval)", "difference (points)", "",
        height=max(300, 26 * len(pairs) + 130), margin=dict(l=200, r=40, t=40, b=50)))
    fig.add_trace(go.Scatter(
        x=[p["diff"] for p in pairs], y=labels, mode="markers", name="pairs",
        marker=go.scatter.Marker(color="#2e86ab", size=9),
        error_x=dict(type="data", symmetric=False, thickness=1.5,
                     array=[p["diff_high"] - p["diff"] for p in pairs],
                     arrayminus=[p["diff"] - p["diff_low"] for p in pairs]),
        text=[f"{p['model_a']} − {p['model_b']}" for p in pairs],
        customdata=[[p["p_text"], p["images"]] for p in pairs],
        hovertemplate="<b>%{text}</b><br>difference %{x:+.2f} points<br>McNemar p %{customdata[0]}"
                      "<br>%{customdata[1]} images<extra></extra>"))
    fig.add_vline(x=0, line=dict(color="#888", width=1))
    return dict(id="plot-pairs", figure=fig, points=len(pairs))


def _reliability_figure(go, rows: Sequence[Dict]) -> Optional[Dict]:
    """Reliability diagram: accuracy against mean confidence per equal-width bin, one line per
    cache (``analysis.calibration.reliability`` of the rows after the first 20 %)."""
    pts = [r for r in rows if r.get("reliability")]
    if not pts:
        return None
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="accuracy = confidence",
                             line=dict(color="black", dash="dash", width=1)))
    for r in pts:
        rel = r["reliability"]
        xs = [c for c, k in zip(rel["confidence"], rel["count"]) if k]
        ys = [a for a, k in zip(rel["accuracy"], rel["count"]) if k]
        fig.add_trace(go.Scatter(
            x=[_round(v) for v in xs], y=[_round(v) for v in ys], mode="lines+markers",
            name=f"{r['model']} ({r['test_set']})", line=dict(color=_color(r["framework"]), width=1),
            marker=dict(size=4), hovertemplate=f"{r['model']}<br>ECE-15 {r['ece15']:.4f}<br>"
                                               "confidence %{x}<br>accuracy %{y}<extra></extra>"))
    fig.update_layout(**_layout("Reliability (15 equal-width bins, rows after the first 20 %)",
                                "mean confidence (top label)", "accuracy"))
    return dict(id="plot-reliability", figure=fig, points=sum(len(t.x) for t in fig.data[1:]))


def pair_label(a: Optional[ModelId], b: Optional[ModelId]) -> str:
    """``densenet121 +legacy2019`` (the torch architecture, and the run settings of each side)
    of the keras model ``a`` and the torch model ``b``."""
    if a is None or b is None:
        return f"{a} − {b}"
    if a.settings == b.settings:
        return b.arch + "".join(f" +{s}" for s in a.settings)
    return f"{b.arch} (keras {'+'.join(a.settings) or 'ref'}, torch {'+'.join(b.settings) or 'ref'})"


def _corruption_figure(go, doc: Document) -> Optional[Dict]:
    """ImageNet-C heat map: per model (rows) and corruption (columns) the top-1 error (%) over
    its five severities, CE and the per-severity errors on hover; the mCE in each row's label."""
    table = doc.corruption
    if table is None or not table.grid:
        return None
    models = [r["model"] for r in table.summary]
    corruptions = [c for c in imagenet_c.CORRUPTIONS + imagenet_c.EXTRA
                   if any(g["corruption"] == c for g in table.grid)]
    cell = {(g["model"], g["corruption"]): g for g in table.grid}
    sev = [f"s{s}" for s in imagenet_c.SEVERITIES]

    def mean(g):
        vals = [g[k] for k in sev if g[k] is not None] if g else []
        return _round(sum(vals) / len(vals)) if vals else None
    labels = [f"{r['model']} (mCE {r['mce']:.1f})" if r["mce"] is not None else
              f"{r['model']} (no mCE)" for r in table.summary]
    fig = go.Figure(layout=_layout(
        "ImageNet-C: top-1 error (%) per corruption, mean over severities 1-5", "corruption", "",
        height=max(300, 28 * len(models) + 160), margin=dict(l=260, r=40, t=40, b=110)))
    fig.add_trace(go.Heatmap(
        x=corruptions, y=labels, colorscale="Reds", colorbar=dict(title=dict(text="error %")),
        z=[[mean(cell.get((m, c))) for c in corruptions] for m in models],
        customdata=[[[_round((cell.get((m, c)) or {}).get("ce")),
                      " / ".join("" if (cell.get((m, c)) or {}).get(k) is None
                                 else f"{cell[(m, c)][k]:.1f}" for k in sev)]
                     for c in corruptions] for m in models],
        hovertemplate="%{y}<br>%{x}: mean error %{z:.2f}%<br>CE %{customdata[0]}<br>"
                      "severities 1-5: %{customdata[1]}<extra></extra>"))
    return dict(id="plot-imagenet-c", figure=fig, points=len(models) * len(corruptions))


def figures(doc: Document) -> List[Dict]:
    """Every plot of the page: ``id``, ``figure`` (plotly Figure), ``points`` (markers drawn)."""
    go, _ = plotly_modules()
    sets = [s["name"] for s in doc.header["test_sets"]]
    out = [_published_figure(go, doc.rows, sets)]
    out += [_cost_figure(go, doc.rows, sets, key, label) for key, label in COSTS]
    out += _robustness_figures(go, doc)
    out.append(_pairs_figure(go, doc.pairs))
    out.append(_reliability_figure(go, doc.rows))
    out.append(_corruption_figure(go, doc))
    return [f for f in out if f is not None]
