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
from typing import Dict, List, Sequence

from imagenet_bench.cache import atomic
from imagenet_bench.report.html_data import Document
from imagenet_bench.report.html_figures import figures, plotly_modules  # noqa: F401 (figures: the page's API)

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
    _, offline = plotly_modules()
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
