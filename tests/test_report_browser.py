"""The HTML report in a real browser (headless Chromium via Selenium): what a person would see.

Skipped with the reason where chromium, chromium-driver or selenium is
missing; failed instead when IMAGENET_BENCH_REQUIRE_SYSTEM=1 (CI installs them).
"""
import csv
import io
import os
import shutil
import time

import pytest

import report_helpers
from imagenet_bench.cache import locations
from imagenet_bench.cli import main as cli
from imagenet_bench.models import registry
from imagenet_bench.report import browser

pytestmark = pytest.mark.slow
SHIPPED = locations.shipped_dir()


@pytest.fixture(scope="module")
def driver():
    why = browser.missing()
    if why:
        if os.environ.get("IMAGENET_BENCH_REQUIRE_SYSTEM") == "1":
            pytest.fail(f"IMAGENET_BENCH_REQUIRE_SYSTEM=1 but no headless browser: {why}")
        pytest.skip(f"no headless browser: {why}")
    pytest.importorskip("plotly", reason="the HTML report needs plotly (extra [report])")
    d = browser.chromium(1400, 1000)
    yield d
    d.quit()


def severe_console_messages(driver):
    """The browser console's SEVERE entries since the last call."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _csv(capsys, *argv):
    assert cli.main(list(argv) + ["--format", "csv"]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def _js(driver, script):
    return driver.execute_script(script)


def _shown(driver, key):
    """The text of column ``key`` in every table row the page shows (values without intervals)."""
    return _js(driver, f"return Array.from(document.querySelectorAll('#results tbody tr')).map("
                       f"tr => {{ var td = tr.querySelector('td[data-key={key}]'); if (!td) return null;"
                       f" var v = td.querySelector('.v'); return (v || td).textContent; }})")


def _page_csv(driver):
    return list(csv.DictReader(io.StringIO(_js(driver, "return window.imagenetBenchReport.csv()"))))


def _drawn_points(driver):
    """{plot id: (points the page meant to draw, SVG markers drawn)}."""
    return {p[0]: (p[1], p[2]) for p in _js(driver, (
        "return window.imagenetBenchReport.plots.map(p => [p.id, p.points, document.querySelectorAll("
        "'#' + CSS.escape(p.id) + ' .scatterlayer .trace .points path.point').length])"))}


def _open(driver, path):
    seconds, timing = browser.open_report(driver, str(path))
    print(f"\n{path.name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in timing.items()))
    assert severe_console_messages(driver) == []
    assert _js(driver, "return performance.getEntriesByType('resource').length") == 0
    return seconds


def _check_sorting(driver, score_rows, key):
    """Click the header of ``key``: descending, then ascending; compare with the score CSV."""
    want = sorted((float(r[key]) for r in score_rows if r[key] != ""), reverse=True)
    header = driver.find_element("css selector", f"#results th[data-key={key}]")
    header.click()
    got = [float(v.replace("+", "")) for v in _shown(driver, key) if v]
    assert got == pytest.approx(want, abs=0.006)
    assert [float(r[key]) for r in _page_csv(driver) if r[key]] == pytest.approx(want, abs=1e-3)
    driver.find_element("css selector", f"#results th[data-key={key}]").click()
    got = [float(v.replace("+", "")) for v in _shown(driver, key) if v]
    assert got == pytest.approx(sorted(want), abs=0.006)


def _check_filter(driver, score_rows, word):
    box = driver.find_element("css selector", "#search")
    box.clear()
    box.send_keys(word)
    models = _shown(driver, "model")
    want = [r["model"] for r in score_rows if word in r["model"].lower()]
    assert 0 < len(models) == len(want) < len(score_rows)
    assert sorted(models) == sorted(want)
    assert len(_page_csv(driver)) == len(want)  # the export is of the filtered table
    box.clear()
    box.send_keys(" ")  # clear() fires no input event; typing does
    box.send_keys("\b")
    assert len(_shown(driver, "model")) == len(score_rows)


def _check_numbers(driver, score_rows):
    """Every shown top-1/top-5/published/Δ equals score's CSV, rounded as shown; the page's CSV
    export equals it to CSV precision."""
    page = {r["model"] + r["dataset"]: r for r in _page_csv(driver)}
    shown = dict(zip([m + d for m, d in zip(_shown(driver, "model"), _shown(driver, "dataset") or [])],
                     zip(_shown(driver, "acc1"), _shown(driver, "acc5"))))
    for s in score_rows:
        r = page[s["model"] + s["dataset"]]
        for key in ("acc1", "acc5", "published_acc1", "delta_acc1"):
            if s[key] == "":
                assert r.get(key, "") == "", (s["model"], key)
            else:
                assert float(r[key]) == pytest.approx(float(s[key]), abs=1e-3), (s["model"], key)
        if shown:
            assert shown[s["model"] + s["dataset"]] == (f"{float(s['acc1']):.2f}",
                                                        f"{float(s['acc5']):.2f}")


def _show_column(driver, key):
    driver.find_element("css selector", "#column-chooser summary").click()
    box = driver.find_element("css selector", f"#column-list input[data-key={key}]")
    if not box.is_selected():
        box.click()
    driver.find_element("css selector", "#column-chooser summary").click()


def _hover_names_model(driver, plot_id, models):
    """Moving the mouse onto a marker shows a hover label that names a model."""
    from selenium.webdriver.common.action_chains import ActionChains
    points = driver.find_elements("css selector", f"#{plot_id} .scatterlayer .points path.point")
    texts = []
    for point in points[:5]:  # a marker may sit under another one or under the legend
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
        ActionChains(driver).move_to_element(point).perform()
        texts.append(_js(driver, f"var h = document.querySelector('#{plot_id} .hoverlayer');"
                                 f" return h ? h.textContent : ''"))
        if any(m in texts[-1] for m in models):
            return
    raise AssertionError(f"no hover label named a model: {texts}")


def _check_columns_and_download(driver, folder):
    """The column chooser hides a column (table and export); the export button downloads the CSV
    of what is shown."""
    _show_column(driver, "recipe")
    assert driver.find_elements("css selector", "#results th[data-key=recipe]")
    driver.find_element("css selector", "#column-chooser summary").click()
    driver.find_element("css selector", "#column-list input[data-key=images]").click()
    driver.find_element("css selector", "#column-chooser summary").click()
    assert not driver.find_elements("css selector", "#results th[data-key=images]")
    shown = _js(driver, "return window.imagenetBenchReport.csv()")
    assert "images" not in shown.splitlines()[0].split(",") and "recipe" in shown.splitlines()[0]
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow",
                                                           "downloadPath": str(folder)})
    driver.find_element("css selector", "#export-csv").click()
    target = folder / "imagenet-bench-report.csv"
    for _ in range(100):
        if target.exists() and target.stat().st_size:
            break
        time.sleep(0.05)
    assert target.read_text(encoding="utf-8") == shown
    _show_column(driver, "images")


def test_report_of_the_34_shipped_models_in_chromium(driver, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert cli.main(["report", "--precomputed", SHIPPED, "-o", str(out)]) == 0
    capsys.readouterr()
    score_rows = _csv(capsys, "score", "--precomputed", SHIPPED, "--allow-mixed-datasets")
    pairs = _csv(capsys, "compare", "--precomputed", SHIPPED)
    seconds = _open(driver, out)
    print(f"34-model report: {out.stat().st_size / 1e6:.2f} MB, first render {seconds:.2f} s")

    assert len(score_rows) == 34
    assert len(driver.find_elements("css selector", "#results tbody tr")) == 34
    assert driver.find_element("css selector", "#row-count").text == "34 of 34 rows"
    _show_column(driver, "dataset")
    _check_numbers(driver, score_rows)
    _check_sorting(driver, score_rows, "delta_acc1")
    _check_sorting(driver, score_rows, "acc1")
    _check_filter(driver, score_rows, "resnet")
    _check_columns_and_download(driver, tmp_path)

    drawn = _drawn_points(driver)
    with_published = sum(r["published_acc1"] != "" for r in score_rows)
    with_params = sum(registry.spec_of(r["model"]).entry.params is not None for r in score_rows)
    assert drawn["plot-published"] == (with_published, with_published) and with_published == 34
    assert drawn["plot-params_m"] == (with_params, with_params)
    assert drawn["plot-pairs"] == (len(pairs), len(pairs)) and len(pairs) == 7
    assert all(want == got for want, got in drawn.values()), drawn
    _hover_names_model(driver, "plot-published", [r["model"] for r in score_rows])
    cells = driver.find_elements("css selector", "#pairs-table tbody tr")
    assert len(cells) == len(pairs)
    for tr, p in zip(cells, pairs):
        assert tr.text.split(" ")[0] == p["model_a"] and f"{float(p['diff']):+.2f}" in tr.text

    driver.execute_script("window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("IMAGENET_BENCH_SCREENSHOT"):
        shutil.copy(shot, os.environ["IMAGENET_BENCH_SCREENSHOT"])
    assert severe_console_messages(driver) == []


def test_report_of_a_mixed_set_folder_in_chromium(driver, tmp_path, capsys):
    folder = tmp_path / "mixed"
    expected = report_helpers.mixed_folder(folder, bad_files=False)
    score_rows = _csv(capsys, "score", "--precomputed", str(folder), "--allow-mixed-datasets")
    expected.update(report_helpers.bad_files(folder))
    out = tmp_path / "mixed.html"
    assert cli.main(["report", "--precomputed", str(folder), "-o", str(out)]) == 0
    capsys.readouterr()
    _open(driver, out)

    assert len(driver.find_elements("css selector", "#results tbody tr")) == expected["scored"] == 15
    _show_column(driver, "dataset")
    _check_numbers(driver, score_rows)
    _check_sorting(driver, score_rows, "acc1")
    _check_filter(driver, score_rows, "timm")
    sets = driver.find_elements("css selector", "#test-sets tbody tr")
    assert sorted(tr.text.split(" ")[0] for tr in sets) == sorted(report_helpers.SETS)

    skipped = driver.find_element("css selector", "#skipped-table").text
    for name, kind in expected["skipped"].items():
        assert name in skipped and kind in skipped

    drawn = _drawn_points(driver)
    assert all(want == got and want > 0 for want, got in drawn.values()), drawn
    models = {m for m, _ in report_helpers.MODELS}
    assert drawn["plot-er-imagenet-a"][1] == len(models)
    assert drawn["plot-er-imagenet-v2-matched-frequency"][1] == len(models)
    timed = sum(1 for r in score_rows if r["model"] in {m for m, _ in report_helpers.MODELS[::2]})
    assert drawn["plot-images_per_s"][1] == timed
    assert drawn["plot-published"][1] == sum(r["published_acc1"] != "" for r in score_rows)
    _hover_names_model(driver, "plot-er-imagenet-a", models)
    assert severe_console_messages(driver) == []
    driver.save_screenshot(str(tmp_path / "mixed.png"))
