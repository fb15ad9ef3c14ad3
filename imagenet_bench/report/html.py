"""One self-contained HTML page from a :class:`~imagenet_bench.report.html_data.Document`.

The plots are Plotly figures (SVG ``scatter`` traces, never ``scattergl``)
drawn by plotly.js, which the ``plotly`` wheel ships and :func:`render`
inlines: the page opens from ``file://`` with no network. Plotly is imported
only here, and only by ``imagenet-bench report`` (extra ``[report]``). The
table (sort, filter, column chooser, CSV export) and the plot start-up are
``assets/report.js``; styles ``assets/report.css``.
"""
from __future__ import annotations

import html
import json
import math
from importlib import resources
from typing import Dict, List, Optional, Sequence, Tuple

from imagenet_bench.analysis import robustness
from imagenet_bench.cache import atomic
from imagenet_bench.data import imagenet_c
from imagenet_bench.errors import BenchError
from imagenet_bench.models import libraries
from imagenet_bench.models.identity import ModelId
from imagenet_bench.report.html_data import Document

#: table columns: key, header, kind (text | int | num | acc: value with its interval | flag),
#: decimals, shown by default
COLUMNS: List[Dict] = [dict(key=k, header=h, kind=kind, decimals=d, visible=v, signed=s)
                       for k, h, kind, d, v, s in (
    ("model", "model", "text", 0, True, False),
    ("framework", "framework", "text", 0, True, False),
    ("test_set", "test set", "text", 0, True, False),
    ("images", "images", "int", 0, True, False),
    ("acc1", "top-1 % [95% CI] (A/R: masked to 200 classes)", "acc", 2, True, False),
    ("acc5", "top-5 % [95% CI] (A/R: masked)", "acc", 2, True, False),
    ("unmasked_acc1", "unmasked top-1 % (A/R, 1,000 classes)", "num", 2, True, False),
    ("published_acc1", "published top-1", "num", 2, True, False),
    ("delta_acc1", "Δ top-1", "num", 2, True, True),
    ("published_acc5", "published top-5", "num", 2, False, False),
    ("delta_acc5", "Δ top-5", "num", 2, False, True),
    ("below_published", "flag", "flag", 0, True, False),
    ("likely_reason", "likely reason / note", "text", 0, True, False),
    ("params_m", "params (M)", "num", 1, True, False),
    ("gflops", "GFLOPs", "num", 2, True, False),
    ("images_per_s", "images/s", "num", 1, True, False),
    ("ece15", "ECE (15 equal-width bins)", "num", 4, True, False),
    ("ece100", "ECE (100 equal-mass bins)", "num", 4, False, False),
    ("nll", "NLL", "num", 4, False, False),
    ("brier", "Brier", "num", 4, False, False),
    ("temperature", "temperature", "num", 4, False, False),
    ("ece15_ts", "ECE-15 after temperature", "num", 4, False, False),
    ("recipe", "recipe", "text", 0, False, False),
    ("rank1", "rank", "int", 0, False, False),
    ("missing", "unreadable", "int", 0, False, False),
    ("dataset", "dataset tag", "text", 0, False, False),
)]
#: columns shown only when some row has them: A/R's unmasked top-1, `report --calibration`'s
OPTIONAL = ("unmasked_acc1", "ece15", "ece100", "nll", "brier", "temperature", "ece15_ts")
ROW_KEYS = [c["key"] for c in COLUMNS] + ["masked_acc1"] + [
    f"{k}_{e}" for k in ("acc1", "acc5", "masked_acc1") for e in ("low", "high")]
OTHER_COLOR = "#8e6c8a"  # a library that declares no colour (Library.color)
SET_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "triangle-down", "star"]
MAX_ERROR_BARS = 300  # above this many points the intervals are in the hover label only
COSTS = (("params_m", "parameters (millions)"), ("gflops", "GFLOPs per image"),
         ("images_per_s", "images per second (recorded timing)"))


def _plotly():
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
    go, _ = _plotly()
    sets = [s["name"] for s in doc.header["test_sets"]]
    out = [_published_figure(go, doc.rows, sets)]
    out += [_cost_figure(go, doc.rows, sets, key, label) for key, label in COSTS]
    out += _robustness_figures(go, doc)
    out.append(_pairs_figure(go, doc.pairs))
    out.append(_reliability_figure(go, doc.rows))
    out.append(_corruption_figure(go, doc))
    return [f for f in out if f is not None]


def _plain(v):
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    return v


def _json_script(element_id: str, obj) -> str:
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _asset(name: str) -> str:
    return resources.files("imagenet_bench.report").joinpath("assets", name).read_text(encoding="utf-8")


def _e(v) -> str:
    return html.escape(str(v))


def _header_html(doc: Document) -> str:
    h = doc.header
    libs = ", ".join(f"{lib} {' / '.join(v)}" for lib, v in h["libraries"].items()) or "none recorded"
    sets = "".join(f"<tr><td>{_e(s['name'])}</td><td>{_e(s['title'])}</td><td>{s['images']:,}</td>"
                   f"<td>{s['caches']}</td><td><code>{_e(s['fingerprint'])}</code></td></tr>"
                   for s in h["test_sets"])
    return (f'<header><h1>ImageNet accuracy report</h1><dl class="meta">'
            f"<dt>made by</dt><dd>{_e(h['tool'])}</dd>"
            f"<dt>command</dt><dd><code id=\"command\">{_e(h['command'])}</code></dd>"
            f"<dt>libraries in the caches</dt><dd id=\"libraries\">{_e(libs)}</dd>"
            f"<dt>results</dt><dd>{len(doc.rows)} model × test set rows, "
            f"{len(doc.skipped)} files not scored</dd></dl>"
            f'<table class="sets" id="test-sets"><thead><tr><th>test set</th><th>what</th>'
            f"<th>images</th><th>caches</th><th>fingerprint (sha256 of the image ids)</th></tr>"
            f"</thead><tbody>{sets}</tbody></table></header>")


def _pairs_html(pairs: Sequence[Dict]) -> str:
    if not pairs:
        return "<p>No architecture has Keras and PyTorch caches on the same images.</p>"
    body = "".join(
        f"<tr><td>{_e(p['model_a'])}</td><td>{_e(p['model_b'])}</td><td>{_e(p['test_set'])}</td>"
        f"<td class=n>{p['images']:,}</td><td class=n>{p['acc_a']:.2f}</td><td class=n>{p['acc_b']:.2f}</td>"
        f"<td class=n>{p['diff']:+.2f} [{p['diff_low']:+.2f}, {p['diff_high']:+.2f}]</td>"
        f"<td class=n>{_e(p['p_text'])}</td></tr>" for p in pairs)
    return ('<table class="plain" id="pairs-table"><thead><tr><th>Keras</th><th>PyTorch</th>'
            '<th>test set</th><th>images</th><th>Keras top-1</th><th>PyTorch top-1</th>'
            '<th>difference [95% CI]</th><th>McNemar p</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _skipped_html(doc: Document) -> str:
    if not doc.skipped:
        return '<p id="skipped-none">Every file found was scored.</p>'
    body = "".join(f"<tr><td><code>{_e(s.path)}</code></td><td>{_e(s.reason)}</td></tr>"
                   for s in doc.skipped)
    return (f'<table class="plain" id="skipped-table"><thead><tr><th>file</th><th>why it was not '
            f"scored</th></tr></thead><tbody>{body}</tbody></table>")


def render(doc: Document) -> str:
    """The whole page as one string: data, plotly.js, the table script and styles inlined."""
    _, offline = _plotly()
    figs = figures(doc)
    rows = [{k: _plain(r.get(k)) for k in ROW_KEYS if r.get(k) is not None} for r in doc.rows]
    shown = {k for r in rows for k in r}  # a column no row has (unmasked@1, calibration) is hidden
    columns = [dict(c, visible=c["visible"] and (c["key"] in shown or c["key"] not in OPTIONAL))
               for c in COLUMNS]
    if doc.header.get("protocol") == "unmasked":  # A/R scored over the 1,000 classes: say so
        columns = [dict(c, header=c["header"].replace("(A/R: masked to 200 classes)",
                                                      "(A/R: unmasked, --protocol unmasked)")
                        .replace("(A/R: masked)", "(A/R: unmasked)")) for c in columns]
    plots = [{"id": f["id"], "points": f["points"], "figure": json.loads(f["figure"].to_json())}
             for f in figs]
    data = {"rows": rows, "columns": columns,
            "test_sets": [s["name"] for s in doc.header["test_sets"]],
            "frameworks": sorted({r["framework"] for r in doc.rows})}
    plot_divs = "".join(f'<div class="plot" id="{f["id"]}"></div>' for f in figs)
    notes = "".join(f"<li>{_e(n)}</li>" for n in doc.notes)
    return "".join([
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>ImageNet accuracy report</title>",
        f"<style>{_asset('report.css')}</style></head><body>",
        _header_html(doc),
        '<section><h2>Results</h2><div class="controls">',
        '<input type="search" id="search" placeholder="search model names…" aria-label="search model names">',
        '<select id="filter-set" aria-label="test set"><option value="">all test sets</option></select>',
        '<select id="filter-framework" aria-label="framework"><option value="">all frameworks</option></select>',
        '<label><input type="checkbox" id="filter-flagged"> flagged only</label>',
        '<details id="column-chooser"><summary>columns</summary><div id="column-list"></div></details>',
        '<button type="button" id="export-csv">export CSV (as filtered)</button>',
        '<span id="row-count"></span></div>',
        '<div class="table-wrap"><table id="results"><thead></thead><tbody></tbody></table></div></section>',
        f"<section><h2>Plots</h2><p class=hint>Hover a point for the model. {len(figs)} plots.</p>"
        f'<div class="plots">{plot_divs}</div></section>',
        f"<section><h2>Keras vs PyTorch (paired, same images)</h2>{_pairs_html(doc.pairs)}</section>",
        f"<section><h2>Not scored</h2>{_skipped_html(doc)}</section>",
        f'<section><h2>Notes</h2><ul id="notes">{notes or "<li>none</li>"}</ul></section>',
        _json_script("report-data", data),
        _json_script("report-plots", plots),
        f"<script>{offline.get_plotlyjs()}</script>",
        f"<script>{_asset('report.js')}</script>",
        "</body></html>"])


def write(doc: Document, path: str) -> int:
    """Write the page of ``doc`` to ``path`` atomically; its size in bytes."""
    text = render(doc)
    atomic.write_text(path, text)
    return len(text.encode("utf-8"))
