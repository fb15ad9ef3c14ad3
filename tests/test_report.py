"""imagenet-bench report: the document's numbers are score's, compare's and robustness'; one file."""
import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import report_helpers
from imagenet_bench.cli import main as cli
from imagenet_bench.report import html_data

pytest.importorskip("plotly", reason="the HTML report needs plotly (extra [report])")


def _csv(capsys, *argv):
    assert cli.main(list(argv) + ["--format", "csv"]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """The mixed-set folder: score/robustness CSVs of its good caches, then the bad files, then
    the report."""
    folder = tmp_path_factory.mktemp("mixed")
    expected = report_helpers.mixed_folder(folder, bad_files=False)
    good = {"score": _run_csv("score", "--precomputed", str(folder), "--allow-mixed-datasets"),
            "robustness": _run_csv("robustness", "--precomputed", str(folder))}
    expected.update(report_helpers.bad_files(folder))
    out = folder.parent / "mixed-report.html"
    _, err = _run(["report", "--precomputed", str(folder), "-o", str(out)])
    return folder, out, expected, good, err


def _run(argv):
    """(stdout, stderr) of the command ``argv`` run in this process; it must succeed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    assert code == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


def _run_csv(*argv):
    return list(csv.DictReader(io.StringIO(_run([*argv, "--format", "csv"])[0])))


def _page_data(path):
    text = Path(path).read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1).replace("<\\/", "</")), text


def test_mixed_folder_rows_are_the_score_csv_and_bad_files_are_listed(mixed):
    _, out, expected, good, stderr = mixed
    data, _ = _page_data(out)
    assert len(data["rows"]) == expected["scored"] == len(good["score"])
    page = {(r["model"], r["dataset"]): r for r in data["rows"]}
    for s in good["score"]:
        r = page[(s["model"], s["dataset"])]
        for key in ("acc1", "acc5", "published_acc1", "delta_acc1", "unmasked_acc1"):
            if s.get(key) in (None, ""):
                assert r.get(key) is None, (s["model"], key)
            else:
                assert r[key] == pytest.approx(float(s[key]), abs=1e-3), (s["model"], key)
    for name, kind in expected["skipped"].items():
        line = next(x for x in stderr.splitlines() if name in x)
        assert line.startswith("not scored: ") and f": {kind}" in line, line


def test_mixed_folder_effective_robustness_is_the_robustness_csv(mixed):
    _, out, _, good, _ = mixed
    _, text = _page_data(out)
    m = re.search(r'<script type="application/json" id="report-plots">(.*?)</script>', text, re.S)
    plots = {p["id"]: p for p in json.loads(m.group(1).replace("<\\/", "</"))}
    for name in ("imagenet-a", "imagenet-v2-matched-frequency"):
        fig = plots[f"plot-er-{name}"]["figure"]
        er = {t: c[2] for tr in fig["data"] if tr.get("mode") == "markers"
              for t, c in zip(tr["text"], tr["customdata"])}
        want = {r["model"]: float(r[f"er_{name}"]) for r in good["robustness"]}
        assert er.keys() == want.keys()
        for model, value in want.items():
            assert er[model] == pytest.approx(value, abs=1e-3)


def test_report_is_one_file_with_nothing_fetched_from_outside(mixed):
    _, out, _, _, _ = mixed
    _, text = _page_data(out)
    assert not re.search(r"<script[^>]+src=", text) and not re.search(r"<link[^>]+href=", text)
    assert "cdn.plot.ly" not in text.split("<script>")[0]  # nothing before the inlined code
    leftovers = [f for f in os.listdir(out.parent) if f.startswith(".") and f.endswith(".tmp")]
    assert leftovers == []


def test_header_names_tool_sets_fingerprints_and_command(tmp_path, capsys):
    report_helpers.mixed_folder(tmp_path / "c", bad_files=False)
    doc = html_data.build([str(tmp_path / "c")], command="imagenet-bench report -o x.html")
    sets = {s["name"]: s for s in doc.header["test_sets"]}
    assert set(sets) == set(report_helpers.SETS)
    from imagenet_bench.analysis import scorer
    for p in scorer.load_predictions(str(tmp_path / "c"), allow_mixed=True):
        from imagenet_bench.data import datasets
        assert sets[datasets.name_of(p)]["fingerprint"] == p.fingerprint
    assert doc.header["tool"].startswith("imagenet_bench ")
    assert doc.header["command"] == "imagenet-bench report -o x.html"
    assert doc.skipped == []


def test_errors_name_the_fix(tmp_path, capsys):
    assert cli.main(["report", "--precomputed", str(tmp_path / "nope"), "-o",
                     str(tmp_path / "r.html")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert cli.main(["report", "-o", str(tmp_path / "r.txt")]) == 2
    assert "ending in .html" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["report", "--precomputed", str(tmp_path / "empty"), "-o",
                     str(tmp_path / "r.html")]) == 2
    assert "no complete prediction cache found" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_without_plotly_the_report_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    report_helpers.mixed_folder(tmp_path / "c", bad_files=False)
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    assert cli.main(["report", "--precomputed", str(tmp_path / "c"), "-o",
                     str(tmp_path / "r.html")]) == 2
    assert "pip install 'imagenet_bench[report]'" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_only_the_report_command_imports_plotly(tmp_path):
    code = ("import sys; from imagenet_bench.cli import main as m; "
            f"m.main(['score', '--precomputed', {str(tmp_path)!r}, '--allow-mixed-datasets']); m.main(['--help'])")
    report_helpers.mixed_folder(tmp_path, bad_files=False)
    code = code.replace("m.main(['--help'])", "print('plotly' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "False", proc.stderr


def test_pareto_front_keeps_only_undominated_points():
    from imagenet_bench.report.html_figures import pareto_front
    pts = [(1, 50), (2, 40), (3, 60), (4, 60), (5, 70), (0.5, 10)]
    assert pareto_front(pts) == [(0.5, 10), (1, 50), (3, 60), (5, 70)]
    speed = [(100, 50), (200, 40), (50, 60), (300, 45)]  # images/s: higher is better
    assert pareto_front(speed, cost_up=False) == [(50, 60), (100, 50), (300, 45)]


@pytest.mark.slow
def test_a_built_wheel_carries_the_report_script_and_styles(built_wheel):
    from conftest import run_from_site
    names, site = built_wheel
    assert {"imagenet_bench/report/assets/report.js", "imagenet_bench/report/assets/report.css"} <= names
    code = ("from imagenet_bench.report import html; import imagenet_bench; "
            "print(imagenet_bench.__file__); "
            "print(len(html._asset('report.js')), len(html._asset('report.css')))")
    where, sizes = run_from_site(site, code)
    assert where.startswith(str(site))
    assert all(int(n) > 1000 for n in sizes.split())
