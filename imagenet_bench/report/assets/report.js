/* imagenet-bench report: the results table (sort, filter, column chooser, CSV export) and the
   Plotly plots. Data: <script type="application/json" id="report-data"> and id="report-plots". */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var plots = JSON.parse(document.getElementById("report-plots").textContent);
  var columns = data.columns;
  var state = { query: "", testSet: "", framework: "", flagged: false, sortKey: null, sortDir: 1 };

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  function number(v, c) {
    var s = v.toFixed(c.decimals);
    return c.signed && v > 0 ? "+" + s : s;
  }

  function cell(row, c) {
    var v = row[c.key];
    if (v === undefined || v === null) return "";
    if (c.kind === "flag") return v ? '<span class="flag">below</span>' : "";
    if (c.kind === "acc") {
      var lo = row[c.key + "_low"], hi = row[c.key + "_high"];
      var ci = lo === undefined ? "" : ' <span class="ci">[' + lo.toFixed(c.decimals) + ", " +
        hi.toFixed(c.decimals) + "]</span>";
      return '<span class="v">' + number(v, c) + "</span>" + ci;
    }
    if (c.kind === "num") return number(v, c);
    if (c.kind === "int") return v.toLocaleString("en-US");
    if (c.key === "likely_reason" || c.key === "recipe") return '<span title="' + esc(v) + '">' + esc(v) + "</span>";
    return esc(v);
  }

  function compare(a, b) {  // missing values last whatever the direction
    var ma = a === undefined || a === null, mb = b === undefined || b === null;
    if (ma || mb) return ma && mb ? 0 : (ma ? 1 : -1) * state.sortDir;
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "boolean") return (a ? 1 : 0) - (b ? 1 : 0);
    return String(a).localeCompare(String(b));
  }

  /** The rows as filtered and sorted now. */
  function filtered() {
    var words = state.query.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = data.rows.filter(function (r) {
      var name = r.model.toLowerCase();
      return (!state.testSet || r.test_set === state.testSet) &&
        (!state.framework || r.framework === state.framework) &&
        (!state.flagged || r.below_published === true) &&
        words.every(function (w) { return name.indexOf(w) >= 0; });
    });
    if (state.sortKey) {
      var k = state.sortKey;
      rows = rows.slice().sort(function (a, b) { return compare(a[k], b[k]) * state.sortDir; });
    }
    return rows;
  }

  function visible() { return columns.filter(function (c) { return c.visible; }); }

  function render() {
    var cols = visible();
    var head = "<tr>" + cols.map(function (c) {
      var sorted = state.sortKey === c.key;
      var aria = sorted ? (state.sortDir > 0 ? "ascending" : "descending") : "none";
      return '<th data-key="' + c.key + '" aria-sort="' + aria + '" class="' +
        (c.kind === "text" ? "t" : "n") + (sorted ? " sorted" : "") + '" title="sort by ' +
        esc(c.header) + '">' + esc(c.header) + (sorted ? (state.sortDir > 0 ? " ▲" : " ▼") : "") + "</th>";
    }).join("") + "</tr>";
    var rows = filtered();
    var body = rows.map(function (r) {
      return "<tr" + (r.below_published ? ' class="below"' : "") + ">" + cols.map(function (c) {
        return '<td class="' + (c.kind === "text" ? "t" : "n") + '" data-key="' + c.key + '">' +
          cell(r, c) + "</td>";
      }).join("") + "</tr>";
    }).join("");
    var table = document.getElementById("results");
    table.tHead.innerHTML = head;
    table.tBodies[0].innerHTML = body;
    document.getElementById("row-count").textContent =
      rows.length + " of " + data.rows.length + " rows";
  }

  function csvField(v) {
    if (v === undefined || v === null) return "";
    var s = typeof v === "boolean" ? (v ? "True" : "False") : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  /** CSV of the filtered, sorted rows and the shown columns (intervals as _low/_high columns). */
  function csv() {
    var keys = [];
    visible().forEach(function (c) {
      keys.push(c.key);
      if (c.kind === "acc") keys.push(c.key + "_low", c.key + "_high");
    });
    var lines = [keys.join(",")];
    filtered().forEach(function (r) {
      lines.push(keys.map(function (k) { return csvField(r[k]); }).join(","));
    });
    return lines.join("\n") + "\n";
  }

  function download() {
    var blob = new Blob([csv()], { type: "text/csv" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "imagenet-bench-report.csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  function options(id, values) {
    var sel = document.getElementById(id);
    values.forEach(function (v) {
      var o = document.createElement("option");
      o.value = v; o.textContent = v; sel.appendChild(o);
    });
  }

  function setup() {
    options("filter-set", data.test_sets);
    options("filter-framework", data.frameworks);
    var list = document.getElementById("column-list");
    columns.forEach(function (c) {
      var label = document.createElement("label");
      label.innerHTML = '<input type="checkbox" data-key="' + c.key + '"' +
        (c.visible ? " checked" : "") + "> " + esc(c.header);
      list.appendChild(label);
    });
    list.addEventListener("change", function (e) {
      var key = e.target.getAttribute("data-key");
      columns.forEach(function (c) { if (c.key === key) c.visible = e.target.checked; });
      render();
    });
    document.getElementById("search").addEventListener("input", function (e) {
      state.query = e.target.value; render();
    });
    document.getElementById("filter-set").addEventListener("change", function (e) {
      state.testSet = e.target.value; render();
    });
    document.getElementById("filter-framework").addEventListener("change", function (e) {
      state.framework = e.target.value; render();
    });
    document.getElementById("filter-flagged").addEventListener("change", function (e) {
      state.flagged = e.target.checked; render();
    });
    document.getElementById("results").tHead.addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (!th) return;
      var key = th.getAttribute("data-key");
      var col = columns.filter(function (c) { return c.key === key; })[0];
      if (state.sortKey === key) state.sortDir = -state.sortDir;
      else { state.sortKey = key; state.sortDir = col.kind === "text" ? 1 : -1; }
      render();
    });
    document.getElementById("export-csv").addEventListener("click", download);
    render();
  }

  function inView(p) {
    var box = document.getElementById(p.id).getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight;
  }

  function draw(p) {
    var config = { displaylogo: false, responsive: true,
                   modeBarButtonsToRemove: ["sendDataToCloud"] };
    return Plotly.newPlot(p.id, p.figure.data, p.figure.layout, config).then(function () {
      document.getElementById(p.id).setAttribute("data-drawn", "1");
    });
  }

  function later() { return new Promise(function (done) { setTimeout(done, 0); }); }

  /** The plots in the window first (then the page is first rendered), the others one by one
   *  after it, yielding to the browser between two plots so the page stays responsive. */
  function drawPlots() {
    var first = plots.filter(inView), rest = plots.filter(function (p) { return !inView(p); });
    return Promise.all(first.map(draw)).then(function () {
      document.body.setAttribute("data-first-render", String(performance.now()));
      return rest.reduce(function (chain, p) {
        return chain.then(later).then(function () { return draw(p); });
      }, Promise.resolve());
    });
  }

  var started = performance.now();
  window.imagenetBenchReport = { csv: csv, filtered: filtered, render: render, state: state,
                                 plots: plots.map(function (p) { return { id: p.id, points: p.points }; }) };
  setup();
  document.body.setAttribute("data-script-started", String(started));
  document.body.setAttribute("data-table-rendered", String(performance.now()));
  drawPlots().then(function () {
    document.body.setAttribute("data-rendered", String(performance.now()));
  }, function (err) {
    document.body.setAttribute("data-render-error", String(err));
    throw err;
  });
})();
