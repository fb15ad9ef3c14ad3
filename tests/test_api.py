"""The Python API: numpy-and-stdlib imports, typed results, the project's errors, and one
results document: score, compare, robustness, sweep collect, the report's data and the API
give the same numbers under the same keys."""
import contextlib
import io
import json
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import imagenet_bench as ib
from conftest import load_tool
from imagenet_bench.analysis import metrics, results, scorer
from imagenet_bench.cli.main import main
from imagenet_bench.errors import BenchError, InputError

ROOT = Path(__file__).resolve().parents[1]
golden = load_tool("golden")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The golden outputs' mixed val/A/V2 folder, its val caches, and a sweep over them."""
    return golden.build_folders(str(tmp_path_factory.mktemp("api")))


def _cli(*argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main([str(a) for a in argv]) == 0
    return out.getvalue()


@pytest.mark.slow  # a fresh interpreter
def test_import_loads_the_standard_library_only_and_the_api_numpy_only():
    code = ("import sys; base = set(sys.modules); import imagenet_bench; a = set(sys.modules); "
            "imagenet_bench.score; b = set(sys.modules); "
            "top = lambda s: sorted({m.split('.')[0] for m in s} - set(sys.stdlib_module_names)); "
            "print(top(a - base)); print(top(b - base))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""}).stdout.splitlines()
    assert out[0] == "['imagenet_bench']"
    assert set(eval(out[1])) <= {"imagenet_bench", "numpy"}, out[1]


def test_score_sweep_collect_report_data_and_api_agree_under_the_same_keys(folders):
    keys = ("acc1", "acc5", "acc1_low", "acc1_high", "acc5_low", "acc5_high", "published_acc1",
            "delta_acc1", "images")
    api = {(r["model"], r["test_set"]): r
           for r in ib.score(folders["mixed"], ci=True, allow_mixed_datasets=True)}
    test_set = {r["dataset"]: r["test_set"] for r in api.values()}  # dataset tag -> test set
    cli = {(r["model"], test_set[r["dataset"]]): r for r in json.loads(_cli(
        "score", "--precomputed", folders["mixed"], "--allow-mixed-datasets", "--ci", "--format",
        "json"))}
    sweep = {(r["model"], r["test_set"]): r for r in ib.sweep_collect(folders["sweep"])
             if r["status"] == "done"}
    report = {(r["model"], r["test_set"]): r for r in ib.report_data([folders["mixed"]]).rows}
    assert set(api) == set(cli) == set(sweep) == set(report) and len(api) == 15
    for key, row in api.items():
        for k in keys:
            want = row[k]
            for name, other in (("score --format json", cli), ("sweep collect", sweep),
                                ("report data", report)):
                got = other[key][k]
                if want is None or isinstance(want, int):
                    assert got == want, (name, key, k)
                else:  # the printed tables round: json to 6 significant digits, sweep to 4 decimals
                    assert got == pytest.approx(want, abs=1e-4, rel=1e-5), (name, key, k)


def _same(got, want, where):
    """Equal, or for floats equal to the 6 significant digits of a printed json table."""
    if want is None or isinstance(want, (str, int)):
        assert got == want, where
    else:
        assert got == pytest.approx(want, abs=1e-4, rel=1e-5), where


def test_compare_and_robustness_agree_with_score_the_report_data_and_the_cli(folders):
    """compare and robustness rows are the results document's: the command's json, the API's
    Results and the report's data hold the same numbers under the same keys, and each
    accuracy in them is the one score gives the same cache."""
    mixed = folders["mixed"]
    score = {(r["model"], r["test_set"]): r for r in ib.score(mixed, allow_mixed_datasets=True)}
    real = {r["model"]: r["real_acc1"] for r in ib.score(folders["val"], labels="real")}
    doc = ib.report_data([mixed])
    api = list(ib.compare(caches=mixed))
    cli = json.loads(_cli("compare", "--precomputed", mixed, "--format", "json"))
    report = {(r["model_a"], r["model_b"]): r for r in doc.pairs}
    assert [(r["model_a"], r["model_b"]) for r in api] == [(r["model_a"], r["model_b"])
                                                           for r in cli] == list(report)
    assert len(api) == 1  # the mixed folder's one keras/torch pair on the same images
    for row, printed in zip(api, cli):
        pair = report[(row["model_a"], row["model_b"])]
        for k, v in printed.items():
            _same(v, row[k], ("compare", k))
            _same(pair[k], row[k], ("report pairs", k))
        for side in ("a", "b"):
            measured = score[(row[f"model_{side}"], pair["test_set"])]
            assert row[f"acc_{side}"] == pytest.approx(measured["acc1"], abs=1e-9)
            assert row["images"] == measured["images"]
    api = {r["model"]: r for r in ib.robustness(mixed)}
    cli = {r["model"]: r for r in json.loads(_cli("robustness", "--precomputed", mixed,
                                                  "--format", "json"))}
    report = {r["model"]: r for r in doc.robustness.rows}
    assert set(api) == set(cli) == set(report) and len(api) == 5
    sets = doc.robustness.present
    assert sets == ["imagenet-val", "imagenet-v2-matched-frequency", "imagenet-a"]
    for model, printed in cli.items():
        for k, v in printed.items():
            _same(v, api[model][k], ("robustness", model, k))
            assert report[model][k] == api[model][k], ("report robustness", model, k)
        for name in sets:  # computed once, by the metric registry: the very same floats
            assert api[model][name] == score[(model, name)]["acc1"], (model, name)
        assert api[model]["imagenet-a-unmasked"] == score[(model, "imagenet-a")]["unmasked_acc1"]
        assert api[model]["real"] == real[model]


def test_results_render_like_the_command(folders):
    table = ib.score(folders["val"])
    assert table.to_csv() == _cli("score", "--precomputed", folders["val"], "--format", "csv")
    assert [r["model"] for r in json.loads(table.to_json())] == [r["model"] for r in table]
    assert repr(table).startswith("5 models ranked by top-1 on 24 images")
    assert "<table>" in table._repr_html_() and "timm:resnet50.a1_in1k" in table._repr_html_()
    acc1 = next(d for d in table.describe() if d["key"] == "acc1")
    assert acc1["unit"] == "%" and acc1["header"] == "acc@1" and "top-1" in acc1["meaning"]


@pytest.mark.slow  # importing pandas takes a second
def test_results_convert_to_pandas(folders):
    table = ib.score(folders["val"])
    df = table.to_pandas()
    assert list(df.columns) == table.columns and len(df) == len(table) == 5
    assert df["acc1"].tolist() == [r["acc1"] for r in table]


def test_load_finds_models_and_keeps_its_own_skipped_list(folders, tmp_path):
    import shutil
    bad = tmp_path / "bad"
    shutil.copytree(folders["val"], bad)
    (bad / "torch-x.IMAGENET1K_V1.val24-00000000.npz").write_bytes(b"not a zip")
    good = ib.load(folders["val"])
    with_bad = ib.load(str(bad), skip_bad=True)
    assert good.skipped == [] and len(with_bad.skipped) == 1 and len(with_bad) == len(good)
    assert scorer.Loaded().skipped == [] and scorer.Loaded().skipped is not scorer.Loaded().skipped
    assert good.find("torch:resnet50").model == "torch:resnet50.IMAGENET1K_V1"


def test_user_errors_raise_the_projects_errors_with_a_fix(folders, tmp_path):
    with pytest.raises(InputError, match=r"no such directory.*Fix:"):
        ib.score(str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match=r"different image lists.*allow_mixed_datasets=True"):
        ib.score(folders["mixed"])
    with pytest.raises(InputError, match=r"two model names or none.*Fix:"):
        ib.compare("torch:resnet50", caches=folders["val"])
    with pytest.raises(InputError, match=r"--confidence 2.0: must be between 0 and 1. Fix:"):
        ib.score(folders["val"], confidence=2.0)
    with pytest.raises(BenchError, match=r"in-memory model needs its preprocessing.*Fix:"):
        ib.predict(object(), folders["val"])


def test_every_result_column_is_declared_once_in_the_metric_registry(folders):
    from imagenet_bench.analysis import compare
    from imagenet_bench.data import datasets
    for table in metrics.TABLES:
        declared = metrics.columns(table)
        assert len(declared) == sum(len(m.COLUMNS) for m in metrics.modules(table))
        assert all(c.header and c.meaning for c in declared.values())
    rows = results.build(ib.load(folders["val"]), results.Options(
        labels="real", ci=True, published=True, extra=("costs", "timing", "recipe")))
    assert not {k for r in rows for k in r} - set(metrics.columns())
    preds = ib.load(folders["mixed"], allow_mixed_datasets=True)
    pairs, _ = compare.family_pairs(preds)
    rows = results.paired(pairs, results.Options(extra=("calibration",)))
    assert not {k for r in rows for k in r} - set(metrics.columns("compare"))
    keys = {k.format(set=n, masked_set=n) for k in metrics.columns("robustness")
            for n in datasets.names()}  # the robustness keys are templates of a test set
    rows = results.across_sets(preds).rows
    assert not {k for r in rows for k in r} - keys and any("er_imagenet-a" in r for r in rows)


def test_the_extending_example_metric_plugs_in(folders, monkeypatch):
    """docs/EXTENDING.md's "Adding a metric" example, taken from the page: one module and one
    line in MODULES put its column in the results document with its declaration."""
    import re
    import types
    text = (ROOT / "docs" / "EXTENDING.md").read_text(encoding="utf-8")
    code = re.search(r"# Adding a metric.*?```python\n(.*?)```", text, re.S).group(1)
    module = types.ModuleType("top1_error")
    exec(compile(code, "docs/EXTENDING.md", "exec"), module.__dict__)
    at = metrics.MODULES.index(metrics.accuracy) + 1
    monkeypatch.setattr(metrics, "MODULES", metrics.MODULES[:at] + (module,) + metrics.MODULES[at:])
    rows = results.build(ib.load(folders["val"]), results.Options(extra=("error",)))
    assert [r["err1"] for r in rows] == [100.0 - r["acc1"] for r in rows]
    assert metrics.column("err1").unit == "%" and "error" in metrics.extras()
    assert "err1" not in results.build(ib.load(folders["val"]))[0]


@pytest.mark.slow  # a sweep task runs in a child process
def test_sweep_plan_run_status_and_collect_from_python(tmp_path, capsys):
    from conftest import make_valset
    from imagenet_bench.analysis.scorer import correct
    from imagenet_bench.cache import store as cache
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    folder = str(tmp_path / "sw")
    plan = ib.sweep_plan(folder, ["torch:squeezenet1_1"], [("imagenet-val", str(val))],
                         settings={"weights": "none", "batch_size": 2, "threads": 1, "workers": 0})
    assert [j["model"] for j in plan["jobs"]] == ["torch:squeezenet1_1.IMAGENET1K_V1+random"]
    assert [r["state"] for r in ib.sweep_status(folder)] == ["pending"]
    status = ib.sweep_run(folder, parallel=1)
    assert [r["state"] for r in status] == ["done"]
    assert f"{plan['jobs'][0]['job']}: done (1 of 1)" in capsys.readouterr().out
    (row,) = ib.sweep_collect(folder)
    preds = cache.load(row["cache"])
    assert row["acc1"] == round(100 * correct(preds)[0].mean(), 4) and row["images"] == 4


def test_sweep_status_is_the_table_the_command_prints(folders):
    counts = ib.sweep_status(folders["sweep"], jobs=False)
    assert counts.columns == ["dataset", "done", "running", "failed", "pending"]
    total = counts[-1]
    assert total["dataset"] == "total" and total["done"] == sum(r["done"] for r in counts[:-1])
    assert _cli("sweep", "status", folders["sweep"]) == counts.render()
    jobs = ib.sweep_status(folders["sweep"])
    assert len(jobs) == sum(total[s] for s in ("done", "running", "failed", "pending"))
    assert _cli("sweep", "status", folders["sweep"], "--jobs", "--format", "csv") == jobs.to_csv()


@pytest.mark.parametrize("models, settings, message", [
    ([], {}, "sweep plan: no model. Fix: name models or patterns with -m"),
    (["torch:resnet50"], {"amp": "auto"}, "Fix: --amp bf16 or --amp fp16"),
])
def test_sweep_plan_refuses_what_the_command_refuses(tmp_path, models, settings, message):
    with pytest.raises(InputError, match=message):
        ib.sweep_plan(str(tmp_path / "sw"), models, [("imagenet-val", str(tmp_path))],
                      settings=settings)
    assert not (tmp_path / "sw").exists()


def test_every_column_of_the_other_tables_is_declared_once_with_its_meaning(folders):
    """compare, per-class, errors and robustness take their columns from one declaration per
    table (compare and robustness: the metric registry's, read by report.columns.declared;
    the others: report.columns.TABLES): no key twice in a table, every column described."""
    from imagenet_bench.report import columns
    for name in (*columns.TABLES, *columns.FROM_METRICS):
        declared = columns.declared(name)
        keys = [c.key for c in declared]
        assert len(keys) == len(set(keys)), name
        assert all(c.header and c.meaning for c in declared), name
    models = [r["model"] for r in ib.score(folders["val"])]
    for table in (ib.compare(models[0], models[1], folders["val"], ci=True),
                  ib.per_class(models[0], folders["val"], ci=True),
                  ib.errors(folders["val"], limit=3, show_real=True),
                  ib.robustness(folders["mixed"])):
        described = table.describe()
        assert [d["key"] for d in described] == table.columns
        assert all(d["meaning"] for d in described), [d["key"] for d in described if not d["meaning"]]
    low = next(d for d in ib.compare(models[0], models[1], folders["val"], ci=True).describe()
               if d["key"] == "diff_low")
    assert low == {"key": "diff_low", "header": "A-B 95% low", "unit": "points",
                   "meaning": "lower bound of the Newcombe paired interval"}


def test_models_report_and_errors_are_the_functions_and_their_modules(folders, tmp_path, monkeypatch):
    """The three API names that are also modules of the package stay callable after their
    modules are imported (the import system binds a submodule on its package), and reach the
    modules' attributes, also through dotted strings (monkeypatch, mock.patch)."""
    import imagenet_bench.errors
    import imagenet_bench.models.registry
    import imagenet_bench.report.columns
    from imagenet_bench import api
    assert [r["model"] for r in ib.models("torch:resnet50*")] == \
        [r["model"] for r in api.models("torch:resnet50*")]
    assert ib.errors(folders["val"], limit=2).rows == api.errors(folders["val"], limit=2).rows
    ib.report(str(tmp_path / "r.html"), [folders["val"]])
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert ib.models.registry is sys.modules["imagenet_bench.models.registry"]
    assert ib.report.columns is sys.modules["imagenet_bench.report.columns"]
    assert ib.errors.BenchError is imagenet_bench.errors.BenchError is sys.modules[
        "imagenet_bench.errors"].BenchError
    monkeypatch.setattr("imagenet_bench.models.registry.get_model", lambda *a, **k: "patched")
    assert sys.modules["imagenet_bench.models.registry"].get_model("x") == "patched"
    assert "pattern" in str(inspect.signature(ib.models)) and "fnmatch" in ib.models.__doc__
