"""A sweep's state is its caches: done exactly when a valid cache of the job's settings exists,
whatever the plan remembers; a moved folder keeps working; a changed output setting makes the
job pending; a damaged cache is a failed job naming the file and the command that re-runs it;
a plan file of an incomplete shape is refused naming what it lacks. No model runs here: the
caches are written as a finished job writes them (``sweep_helpers.fake_cache``)."""
import json
import shutil

import pytest

from conftest import make_valset
from imagenet_bench.cli.main import main
from imagenet_bench.sweep import plan as plans
from imagenet_bench.sweep import state
from sweep_helpers import fake_cache

MODEL = "torch:squeezenet1_1"


@pytest.fixture(scope="module")
def val(tmp_path_factory):
    return make_valset(tmp_path_factory.mktemp("val") / "val", num_classes=2, per_class=2)


def _plan(tmp_path, val, *extra):
    folder = tmp_path / "sw"
    assert main(["sweep", "plan", str(folder), MODEL, "--data", f"imagenet-val={val}",
                 "--weights", "none", *extra]) == 0
    return folder, plans.read(str(folder))


def _finished(tmp_path, val, capsys, *extra, **kw):
    folder, plan = _plan(tmp_path, val, *extra)
    path = fake_cache(plan, plan["jobs"][0], **kw)
    capsys.readouterr()
    return folder, plan, path


def _status(folder, capsys):
    assert main(["sweep", "status", str(folder), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    total = [r for r in json.loads(out) if r["dataset"] == "total"][0]
    return {k: v for k, v in total.items() if k != "dataset"}, err


def test_save_all_probs_added_to_a_finished_sweep_makes_its_job_pending(tmp_path, val, capsys):
    folder, _, _ = _finished(tmp_path, val, capsys)
    assert _status(folder, capsys)[0]["done"] == 1
    assert main(["sweep", "plan", str(folder), MODEL, "--data", f"imagenet-val={val}",
                 "--weights", "none", "--save-all-probs"]) == 0
    assert "1 job: 0 done, 1 to run in 1 task" in capsys.readouterr().out
    total, err = _status(folder, capsys)
    assert total["pending"] == 1 and total["done"] == 0
    assert main(["sweep", "status", str(folder), "--jobs", "--format", "json"]) == 0
    (job,) = json.loads(capsys.readouterr().out)
    assert "lacks the 1,000 probabilities per image that --save-all-probs asks for" in job["note"]


def test_a_cache_with_all_probs_counts_as_done_under_save_all_probs(tmp_path, val, capsys):
    folder, plan = _plan(tmp_path, val, "--save-all-probs")
    fake_cache(plan, plan["jobs"][0], save_all_probs=True)
    capsys.readouterr()
    assert _status(folder, capsys)[0]["done"] == 1


def test_a_moved_sweep_folder_keeps_its_state_and_figures(tmp_path, val, capsys):
    folder, _, _ = _finished(tmp_path, val, capsys)
    text = (folder / "plan.json").read_text()
    assert str(folder) not in text and '"caches": "caches"' in text  # relative inside
    moved = tmp_path / "elsewhere" / "sweep"
    moved.parent.mkdir()
    shutil.move(str(folder), str(moved))
    assert _status(moved, capsys)[0]["done"] == 1
    assert main(["sweep", "collect", str(moved), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "done" and row["acc1"] == 100.0
    assert row["cache"].startswith(str(moved))
    copy = tmp_path / "copy"  # a copy keeps working beside the original
    shutil.copytree(moved, copy)
    assert _status(copy, capsys)[0]["done"] == 1


def test_a_cache_damaged_after_its_job_finished_is_a_failed_job_naming_file_and_rerun(
        tmp_path, val, capsys):
    folder, _, path = _finished(tmp_path, val, capsys)
    path.write_bytes(path.read_bytes()[:200])
    total, err = _status(folder, capsys)
    assert total["failed"] == 1 and total["done"] == 0
    assert str(path) in err and f"imagenet-bench sweep run-task {folder.resolve()} --job" in err
    assert "Fix:" in err
    # re-planning (what `sweep run` does first) puts it back in a task
    assert main(["sweep", "plan", str(folder), MODEL, "--data", f"imagenet-val={val}",
                 "--weights", "none"]) == 0
    assert "0 done, 1 to run" in capsys.readouterr().out


def test_a_file_holding_another_model_under_the_jobs_name_is_not_done(tmp_path, val, capsys):
    folder, plan = _plan(tmp_path, val)
    fake_cache(plan, plan["jobs"][0], model="torch:alexnet.IMAGENET1K_V1")
    capsys.readouterr()
    total, err = _status(folder, capsys)
    assert total["failed"] == 1 and "holds the predictions of torch:alexnet" in err


@pytest.mark.parametrize("content, lacks", [
    ({"plan_version": 1}, "request (dict), caches (str), datasets (dict), jobs (list)"),
    ({"plan_version": 1, "request": {"models": []}, "caches": "c", "datasets": {}, "jobs": [],
      "tasks": [], "skipped": []}, "request.data"),
    ({"plan_version": 1, "request": {"models": [], "data": []}, "caches": "c", "datasets": {},
      "jobs": [{"job": "x"}], "tasks": [], "skipped": []}, "jobs[0].model"),
])
def test_a_plan_of_incomplete_shape_is_refused_naming_what_it_lacks(tmp_path, capsys, content, lacks):
    (tmp_path / "plan.json").write_text(json.dumps(content))
    for sub in ("status", "collect", "run"):
        assert main(["sweep", sub, str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert lacks in err and "Fix: run `imagenet-bench sweep plan" in err, err
        assert "KeyError" not in err and "internal error" not in err


def test_a_plan_of_another_version_says_so_without_python_reprs(tmp_path, capsys):
    (tmp_path / "plan.json").write_text(json.dumps({"jobs": []}))
    assert main(["sweep", "status", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no plan_version, this imagenet_bench reads plan version 1" in err and "None" not in err


def test_exclude_everything_names_the_patterns_and_the_fix(tmp_path, val, capsys):
    assert main(["sweep", "plan", str(tmp_path / "sw"), "torch:resnet1*", "--exclude", "*",
                 "--data", f"imagenet-val={val}"]) == 2
    err = capsys.readouterr().err
    assert "--exclude * leaves out every model that torch:resnet1* matches" in err
    assert "Fix: narrow the --exclude patterns" in err


def test_a_long_failure_keeps_its_fix():
    msg = "weights missing: " + "x" * 3000 + "\nFix: download https://example/w.pth to ~/.cache/w.pth"
    line = state.one_line(msg)
    assert line.endswith("Fix: download https://example/w.pth to ~/.cache/w.pth")
    assert len(line) <= 2000 and "\n" not in line
    assert state.one_line("a\n  b\n\nFix: c") == "a b Fix: c"


def test_a_plan_whose_request_data_is_not_pairs_is_refused(tmp_path, capsys):
    plan = {"plan_version": 1, "request": {"models": [], "data": ["val"]}, "caches": "c",
            "datasets": {}, "jobs": [], "tasks": [], "skipped": []}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    assert main(["sweep", "status", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lacks request.data as [[NAME, DIR], ...]" in err and "Fix:" in err


def test_collect_timm_says_why_a_shifted_sets_diffs_are_empty():
    from imagenet_bench.commands.sweep import empty_diff_notes
    row = {"model": "m", "top1": 50.0, "top1_diff": ""}
    val = {"model": "m", "top1": 70.0}
    a = empty_diff_notes({"imagenet-val": [val], "imagenet-a": [dict(row)]}, "sw")
    assert len(a) == 1 and "needs val caches holding all 1,000 probabilities" in a[0]
    assert "Fix: re-plan with --save-all-probs and `imagenet-bench sweep run sw`" in a[0]
    (no_val,) = empty_diff_notes({"imagenet-sketch": [dict(row)]}, "sw")
    assert "no imagenet-val job is done" in no_val and "Fix: add --data imagenet-val=DIR" in no_val
    assert empty_diff_notes({"imagenet-val": [val], "imagenet-sketch": [dict(row, top1_diff="-20.000")]},
                            "sw") == []


def test_a_plan_whose_request_has_unknown_keys_is_refused(tmp_path, val, capsys):
    folder, _ = _plan(tmp_path, val)
    data = json.loads((folder / "plan.json").read_text())
    data["request"]["gpus_per_job"] = 2
    (folder / "plan.json").write_text(json.dumps(data))
    assert main(["sweep", "run", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "its request holds gpus_per_job, unknown to this imagenet_bench" in err
    assert "Fix: run `imagenet-bench sweep plan" in err and "TypeError" not in err


def test_the_local_run_prints_a_line_as_each_job_ends(tmp_path):
    from imagenet_bench.sweep import executors, state
    folder = str(tmp_path)
    state.write(folder, "old", "done")  # ended before this run: not reported
    lines = []
    watch = executors.JobLines(folder, ["a", "b", "old"], lines.append)
    state.write(folder, "a", "running")
    watch.poll()
    assert lines == []
    state.write(folder, "a", "done")
    state.write(folder, "b", "failed", error="BenchError: no weights. Fix: fetch them")
    watch.polled = 0.0
    watch.poll()
    assert lines == ["a: done (1 of 3)", "b: failed (2 of 3): BenchError: no weights. Fix: fetch them"]
