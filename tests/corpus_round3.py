"""Round 3 of the bad-input corpus (registered into :data:`corpus.CASES`; run by tests/test_corpus.py).

The sweep's state against its caches (changed settings, moved and copied folders, damaged,
foreign and partial caches, Ctrl-C and kill during a run, odd plan files, collect of a partial
sweep), report/score/collect over mixed, overlapping and bad folders, checkpoint series
(copies, non-checkpoint files, ids), recipe and normalisation values, names across commands,
``--skip-bad``/``--no-index``; where a message names a fix that can run here, ``check`` runs it.
No model runs except where marked slow (squeezenet with random weights, or corpus's tiny one).
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import List, Tuple

from corpus import Setup, cache_dir, case, good_preds, protected, small_valset
from imagenet_bench.cache import store as cache
from imagenet_bench.models.identity import from_string

MODEL = "torch:squeezenet1_1"


def _cli(argv) -> Tuple[int, str]:
    """Run the CLI in-process; (exit status, stdout + stderr)."""
    from imagenet_bench.cli import main as cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue() + err.getvalue()


def _sweep(root: Path, *extra: str, models=(MODEL,), done: int = 1, **fake) -> Tuple[Path, dict]:
    """A planned sweep over a small val set with its first ``done`` jobs finished (caches written
    as a finished job writes them); (folder, plan)."""
    from imagenet_bench.sweep import plan as plans
    from sweep_helpers import fake_cache
    val = small_valset(root)
    folder = root / "sw"
    rc, text = _cli(["sweep", "plan", folder, *models, "--data", f"imagenet-val={val}",
                     "--weights", "none", "-b", "2", "--workers", "0", "--threads", "1",
                     "--checkpoint-every", "2", *extra])
    assert rc == 0, text
    plan = plans.read(str(folder))
    for job in plan["jobs"][:done]:
        fake_cache(plan, job, **fake)
    return folder, plan


def _status(folder: Path) -> dict:
    """The total row of ``sweep status --format json``."""
    rc, text = _cli(["sweep", "status", folder, "--format", "json"])
    assert rc == 0, text
    rows = json.loads(text[:text.rindex("]") + 1])
    return {k: v for k, v in next(r for r in rows if r["dataset"] == "total").items() if k != "dataset"}


def _expect_status(folder: Path, **want):
    def check(_: str) -> None:
        got = _status(folder)
        assert all(got[k] == v for k, v in want.items()), got
    return check


def _plan_file(root: Path, content) -> Setup:
    (root / "plan.json").write_text(content if isinstance(content, str) else json.dumps(content))
    return Setup(argv=["sweep", "status", str(root)])


def _jobs(folder: Path) -> List[dict]:
    rc, text = _cli(["sweep", "status", folder, "--jobs", "--format", "json"])
    return json.loads(text[:text.rindex("]") + 1])


# --- sweep: state against caches ------------------------------------------------------------------

@case("sweep", "correct")
def sweep_save_all_probs_added_to_a_finished_sweep(root: Path) -> Setup:
    folder, plan = _sweep(root)
    val = plan["datasets"]["imagenet-val"]["dir"]
    return Setup(argv=["sweep", "plan", str(folder), MODEL, "--data", f"imagenet-val={val}",
                       "--weights", "none", "--save-all-probs"], rc=0,
                 messages=[r"1 job: 0 done, 1 to run in 1 task"], check=_expect_status(folder, pending=1))


@case("sweep", "correct")
def sweep_all_probs_cache_is_done_under_save_all_probs(root: Path) -> Setup:
    folder, plan = _sweep(root, "--save-all-probs", save_all_probs=True)
    return Setup(argv=["sweep", "status", str(folder)], rc=0, check=_expect_status(folder, done=1))


@case("sweep", "correct")
def sweep_plain_run_after_save_all_probs_cache(root: Path) -> Setup:
    folder, plan = _sweep(root, save_all_probs=True)  # more than asked for: done
    return Setup(argv=["sweep", "status", str(folder)], rc=0, check=_expect_status(folder, done=1))


@case("sweep", "correct")
def sweep_moved_folder_keeps_its_state(root: Path) -> Setup:
    folder, _ = _sweep(root)
    moved = root / "moved" / "sw"
    moved.parent.mkdir()
    shutil.move(str(folder), str(moved))
    return Setup(argv=["sweep", "status", str(moved)], rc=0, protect=protected(moved / "caches"),
                 check=_expect_status(moved, done=1, pending=0))


@case("sweep", "correct")
def sweep_copied_folder_collects_figures(root: Path) -> Setup:
    folder, _ = _sweep(root)
    copy = root / "copy"
    shutil.copytree(folder, copy)

    def check(text: str) -> None:
        (row,) = json.loads(text[:text.rindex("]") + 1])
        assert row["status"] == "done" and row["acc1"] == 100.0 and row["cache"].startswith(str(copy))
    return Setup(argv=["sweep", "collect", str(copy), "--format", "json"], rc=0, check=check)


@case("sweep", "handled")
def sweep_cache_damaged_after_finishing(root: Path) -> Setup:
    folder, plan = _sweep(root)
    path = Path(plan["caches"]) / plan["jobs"][0]["cache"]
    path.write_bytes(path.read_bytes()[:300])
    return Setup(argv=["sweep", "status", str(folder)], rc=0,
                 messages=[re.escape(str(path)), r"Fix: imagenet-bench sweep run-task .* --job"],
                 check=_expect_status(folder, failed=1, done=0))


@case("sweep", "handled")
def sweep_cache_emptied_after_finishing(root: Path) -> Setup:
    folder, plan = _sweep(root)
    (Path(plan["caches"]) / plan["jobs"][0]["cache"]).write_bytes(b"")
    return Setup(argv=["sweep", "status", str(folder), "--jobs"], rc=0,
                 messages=[r"failed", r"re-run|run-task"], check=_expect_status(folder, failed=1))


@case("sweep", "handled")
def sweep_plan_after_damage_puts_the_job_back(root: Path) -> Setup:
    folder, plan = _sweep(root)
    (Path(plan["caches"]) / plan["jobs"][0]["cache"]).write_bytes(b"PK\x03\x04 not a zip")
    val = plan["datasets"]["imagenet-val"]["dir"]
    return Setup(argv=["sweep", "plan", str(folder), MODEL, "--data", f"imagenet-val={val}",
                       "--weights", "none"], rc=0, messages=[r"0 done, 1 to run"])


@case("sweep", "handled")
def sweep_foreign_cache_under_the_jobs_name(root: Path) -> Setup:
    folder, plan = _sweep(root, done=0)
    from sweep_helpers import fake_cache
    fake_cache(plan, plan["jobs"][0], model="torch:alexnet.IMAGENET1K_V1")
    return Setup(argv=["sweep", "status", str(folder)], rc=0,
                 messages=[r"holds the predictions of torch:alexnet"], check=_expect_status(folder, failed=1))


@case("sweep", "handled")
def sweep_incomplete_cache_under_the_final_name(root: Path) -> Setup:
    folder, plan = _sweep(root, done=0)
    from sweep_helpers import fake_cache
    path = fake_cache(plan, plan["jobs"][0])
    p = cache.load(str(path))
    cache.save(str(path), dataclasses.replace(p, provenance=dict(p.provenance, complete=False)))
    return Setup(argv=["sweep", "status", str(folder)], rc=0, messages=[r"failed: "],
                 check=_expect_status(folder, failed=1))


@case("sweep", "handled")
def sweep_partial_left_by_a_kill(root: Path) -> Setup:
    from imagenet_bench.sweep import state
    folder, plan = _sweep(root, done=0)
    job = plan["jobs"][0]
    Path(plan["caches"]).mkdir(parents=True, exist_ok=True)
    cache.save(str(Path(plan["caches"]) / (job["cache"][:-4] + ".partial.npz")), good_preds(4, "x"))
    state.write(str(folder), job["job"], "running", task=0)
    rec = json.loads(Path(state.status_path(str(folder), job["job"])).read_text())
    rec["pid"] = 2 ** 22 + 17  # no such process: killed with SIGKILL
    Path(state.status_path(str(folder), job["job"])).write_text(json.dumps(rec))
    return Setup(argv=["sweep", "status", str(folder)], rc=0,
                 messages=[r"interrupted; resumes from its checkpoint",
                           r"to run what is not done: imagenet-bench sweep run"],
                 check=_expect_status(folder, pending=1, running=0))


@case("sweep", "handled")
def sweep_status_record_says_done_without_cache(root: Path) -> Setup:
    from imagenet_bench.sweep import state
    folder, plan = _sweep(root, done=0)
    state.write(str(folder), plan["jobs"][0]["job"], "done", task=0)
    return Setup(argv=["sweep", "status", str(folder)], rc=0, check=_expect_status(folder, done=0, pending=1))


@case("sweep", "correct")
def sweep_plan_json_done_flag_is_not_trusted(root: Path) -> Setup:
    folder, plan = _sweep(root, done=0)
    text = (folder / "plan.json").read_text().replace('"done": false', '"done": true')
    (folder / "plan.json").write_text(text)
    return Setup(argv=["sweep", "status", str(folder)], rc=0, check=_expect_status(folder, done=0, pending=1))


@case("sweep", "handled")
def sweep_collect_of_a_partial_sweep(root: Path) -> Setup:
    folder, _ = _sweep(root, models=(MODEL, "torch:alexnet"), done=1)

    def check(text: str) -> None:
        rows = json.loads(text[:text.rindex("]") + 1])
        assert sorted(r["status"] for r in rows) == ["done", "pending"]
        assert [r["acc1"] for r in rows if r["status"] == "pending"] == [None]
    return Setup(argv=["sweep", "collect", str(folder), "--format", "json"], rc=0, check=check)


@case("sweep", "refused")
def sweep_collect_timm_with_nothing_done(root: Path) -> Setup:
    folder, _ = _sweep(root, done=0)
    return Setup(argv=["sweep", "collect", str(folder), "--format", "timm", "-o", str(root / "t")],
                 messages=[r"no job of this sweep is done yet.*Fix: imagenet-bench sweep run"])


@case("sweep", "correct")
def sweep_collect_timm_writes_the_done_jobs(root: Path) -> Setup:
    folder, _ = _sweep(root, models=(MODEL, "torch:alexnet"), done=2)
    out = root / "t"

    def check(_: str) -> None:
        lines = (out / "results-imagenet.csv").read_text().splitlines()
        assert lines[0].startswith("model,img_size,top1") and len(lines) == 3
    return Setup(argv=["sweep", "collect", str(folder), "--format", "timm", "-o", str(out)], rc=0,
                 messages=[r"results-imagenet.csv \(2 models\)"], check=check)


@case("sweep", "correct")
def sweep_replan_gives_the_same_bytes(root: Path) -> Setup:
    folder, plan = _sweep(root)
    val = plan["datasets"]["imagenet-val"]["dir"]
    argv = ["sweep", "plan", str(folder), MODEL, "--data", f"imagenet-val={val}", "--weights",
            "none", "-b", "2", "--workers", "0", "--threads", "1", "--checkpoint-every", "2"]
    _cli(argv)  # over the caches as they are now
    before = (folder / "plan.json").read_bytes()

    def check(_: str) -> None:
        assert (folder / "plan.json").read_bytes() == before
    return Setup(argv=argv, rc=0, messages=[r"1 done, 0 to run"], check=check)


@case("sweep", "correct")
def sweep_run_with_everything_done_runs_nothing(root: Path) -> Setup:
    folder, _ = _sweep(root)
    return Setup(argv=["sweep", "run", str(folder)], rc=0,
                 messages=[r"nothing to run: every job is done"], protect=protected(folder / "caches"))


# --- sweep: odd plan files ------------------------------------------------------------------------

@case("sweep", "refused")
def sweep_plan_with_only_its_version(root: Path) -> Setup:
    s = _plan_file(root, {"plan_version": 1})
    s.messages, s.absent = [r"lacks request \(dict\), caches \(str\)"], [r"KeyError"]
    return s


@case("sweep", "refused")
def sweep_plan_not_json(root: Path) -> Setup:
    s = _plan_file(root, "{not json")
    s.messages = [r"cannot be read as a sweep plan"]
    return s


@case("sweep", "refused")
def sweep_plan_a_list(root: Path) -> Setup:
    s = _plan_file(root, [1, 2])
    s.messages, s.absent = [r"no plan_version, this imagenet_bench reads plan version 1"], [r"None"]
    return s


@case("sweep", "refused")
def sweep_plan_of_a_later_version(root: Path) -> Setup:
    s = _plan_file(root, {"plan_version": 2, "jobs": []})
    s.messages = [r"plan version 2, this imagenet_bench reads plan version 1"]
    return s


@case("sweep", "refused")
def sweep_plan_job_without_cache(root: Path) -> Setup:
    folder, plan = _sweep(root, done=0)
    data = json.loads((folder / "plan.json").read_text())
    del data["jobs"][0]["cache"]
    (folder / "plan.json").write_text(json.dumps(data))
    return Setup(argv=["sweep", "collect", str(folder)], messages=[r"lacks jobs\[0\]\.cache"])


@case("sweep", "refused")
def sweep_plan_job_of_an_unplanned_set(root: Path) -> Setup:
    folder, plan = _sweep(root, done=0)
    data = json.loads((folder / "plan.json").read_text())
    data["jobs"][0]["dataset"] = "imagenet-a"
    (folder / "plan.json").write_text(json.dumps(data))
    return Setup(argv=["sweep", "status", str(folder)], messages=[r"lacks datasets\.imagenet-a"])


@case("sweep", "refused")
def sweep_plan_request_without_models(root: Path) -> Setup:
    folder, plan = _sweep(root, done=0)
    data = json.loads((folder / "plan.json").read_text())
    del data["request"]["models"]
    (folder / "plan.json").write_text(json.dumps(data))
    return Setup(argv=["sweep", "run", str(folder)], messages=[r"lacks request\.models"])


@case("sweep", "refused")
def sweep_folder_without_plan(root: Path) -> Setup:
    (root / "empty").mkdir()
    return Setup(argv=["sweep", "collect", str(root / "empty")], messages=[r"no sweep plan here"])


@case("sweep", "refused")
def sweep_exclude_everything(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=["sweep", "plan", str(root / "sw"), "torch:resnet1*", "--exclude", "*",
                       "--data", f"imagenet-val={val}"],
                 messages=[r"--exclude \* leaves out every model that torch:resnet1\* matches"])


@case("sweep", "refused")
def sweep_run_task_unknown_job(root: Path) -> Setup:
    folder, _ = _sweep(root, done=0)
    return Setup(argv=["sweep", "run-task", str(folder), "--job", "nosuch"],
                 messages=[r"--job nosuch: no such job in this sweep's plan"])


@case("sweep", "refused")
def sweep_data_given_twice(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=["sweep", "plan", str(root / "sw"), MODEL, "--data", f"imagenet-val={val}",
                       "--data", f"imagenet-val={val}"], messages=[r"given twice"])


@case("sweep", "refused")
def sweep_mean_on_the_0_255_scale(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=["sweep", "plan", str(root / "sw"), MODEL, "--data", f"imagenet-val={val}",
                       "--mean", "123.68,116.78,103.94"],
                 messages=[r"none of the selected models can run", r"--mean 123\.68,116\.78,103\.94: "
                           r"values are applied to pixels on the 0-1 scale"])


@case("sweep", "handled")
def sweep_failed_job_keeps_its_whole_fix(root: Path) -> Setup:
    from imagenet_bench.sweep import state
    folder, plan = _sweep(root, done=0)
    fix = "Fix: download https://example.org/w.pth to /root/.cache/torch/w.pth"
    state.write(str(folder), plan["jobs"][0]["job"], "failed", task=0,
                error=state.one_line("weights missing: " + "detail " * 80 + "\n" + fix))
    return Setup(argv=["sweep", "status", str(folder)], rc=0, messages=[re.escape(fix), r"re-run: "])


@case("sweep", "handled", slow=True)
def sweep_ctrl_c_during_run_task_then_resume(root: Path) -> Setup:
    from unittest import mock

    from imagenet_bench.run import checkpoint
    folder, plan = _sweep(root, done=0)
    real = checkpoint.State.save

    def save_then_stop(self, path):
        real(self, path)
        raise KeyboardInterrupt
    with mock.patch.object(checkpoint.State, "save", save_then_stop):
        rc, text = _cli(["sweep", "run-task", folder, "0"])
    assert rc == 130, text
    notes = [j["note"] for j in _jobs(folder)]
    assert notes == ["interrupted; resumes from its checkpoint"], notes
    return Setup(argv=["sweep", "run-task", str(folder), "0"], rc=0, messages=[r"resum", r"1 done, 0 failed"],
                 check=_expect_status(folder, done=1))


@case("sweep", "handled", slow=True)
def sweep_damaged_cache_fix_command_runs(root: Path) -> Setup:
    folder, plan = _sweep(root)
    path = Path(plan["caches"]) / plan["jobs"][0]["cache"]
    path.write_bytes(path.read_bytes()[:100])
    rc, text = _cli(["sweep", "status", folder])
    fix = re.search(r"Fix: (imagenet-bench sweep run-task \S+ --job \S+)", text).group(1)
    return Setup(argv=fix.split()[1:], rc=0, messages=[r"predicting again to replace a damaged cache"],
                 check=_expect_status(folder, done=1, failed=0))


# --- report, score, compare, collect over folders -----------------------------------------------

@case("report", "refused")
def report_same_folder_twice(root: Path) -> Setup:
    d = cache_dir(root)
    return Setup(argv=["report", "--precomputed", str(d), "--precomputed", str(d), "-o",
                       str(root / "r.html")], messages=[r"are the same folder\. Fix: give it once"])


@case("report", "refused")
def report_folder_through_a_link_and_directly(root: Path) -> Setup:
    d = cache_dir(root)
    os.symlink(d, root / "link")
    return Setup(argv=["report", "--precomputed", str(d), "--precomputed", str(root / "link"), "-o",
                       str(root / "r.html")], messages=[r"are the same folder"])


@case("report", "refused")
def report_folder_inside_another(root: Path) -> Setup:
    d = cache_dir(root)
    (d / "sub").mkdir()
    shutil.copy(next(d.glob("*.npz")), d / "sub")
    return Setup(argv=["report", "--precomputed", str(root), "--precomputed", str(d / "sub"), "-o",
                       str(root / "r.html")],
                 messages=[r"sub is inside --precomputed .*searched recursively.*Fix: give \S+ alone"])


@case("report", "refused")
def report_folder_of_one_partial_run(root: Path) -> Setup:
    d = root / "pre"
    d.mkdir()
    p = good_preds(4, "torch:good")
    name = cache.cache_filename(from_string("torch:good"), 4, p.fingerprint)
    cache.save(str(d / (name[:-4] + ".partial.npz")), p)
    return Setup(argv=["report", "--precomputed", str(d), "-o", str(root / "r.html")],
                 messages=[r"checkpoint of a run that has not finished", r"again to resume it"],
                 absent=[r"could not be read"])


@case("report", "handled")
def report_damaged_file_beside_good_ones(root: Path) -> Setup:
    d = cache_dir(root)
    (d / "torch-bad.val4-00000000.npz").write_bytes(b"garbage")
    return Setup(argv=["report", "--precomputed", str(d), "-o", str(root / "r.html")], rc=0,
                 protect=[p for p in protected(d) if "good" in p.name],
                 messages=[r"not scored: \S*torch-bad\S*: damaged"])


@case("report", "refused")
def score_precomputed_twice(root: Path) -> Setup:
    d = cache_dir(root)
    return Setup(argv=["score", "--precomputed", str(d), "--precomputed", str(root)],
                 messages=[r"--precomputed: given twice", r"imagenet-bench report --precomputed A "
                           r"--precomputed B` reads several folders"])


@case("report", "refused")
def compare_precomputed_twice(root: Path) -> Setup:
    d = cache_dir(root)
    return Setup(argv=["compare", "--precomputed", str(d), "--precomputed", str(d)],
                 messages=[r"given twice .*Fix: give --precomputed once"])


@case("report", "refused")
def robustness_format_twice(root: Path) -> Setup:
    d = cache_dir(root)
    return Setup(argv=["robustness", "--precomputed", str(d), "--format", "csv", "--format", "json"],
                 messages=[r"--format: given twice \(csv and json\)"])


@case("report", "refused")
def score_folder_of_one_partial_run(root: Path) -> Setup:
    d = root / "pre"
    d.mkdir()
    cache.save(str(d / "torch-good.val4-00000000.partial.npz"), good_preds(4, "torch:good"))
    return Setup(argv=["score", "--precomputed", str(d)],
                 messages=[r"the checkpoint of a run that has not finished\. Fix: run the same "
                           r"`imagenet-bench predict` command again to resume"],
                 absent=[r"no \*\.npz files"])


@case("report", "refused")
def score_skip_bad_with_every_file_bad(root: Path) -> Setup:
    d = root / "pre"
    d.mkdir()
    (d / "torch-a.val4-00000000.npz").write_bytes(b"x")
    return Setup(argv=["score", "--precomputed", str(d), "--skip-bad"],
                 messages=[r"no complete prediction cache; the \.npz files here are torch-a"],
                 absent=[r"no \*\.npz files"])


@case("report", "correct")
def score_no_index_equals_indexed(root: Path) -> Setup:
    d = cache_dir(root)
    rc, indexed = _cli(["score", "--precomputed", d, "--format", "csv"])

    def check(text: str) -> None:
        assert text.strip() == indexed.strip()
    return Setup(argv=["score", "--precomputed", str(d), "--format", "csv", "--no-index"], rc=0,
                 check=check)


@case("report", "refused")
def score_damaged_after_indexing(root: Path) -> Setup:
    d = cache_dir(root)
    _cli(["score", "--precomputed", d])  # indexed
    path = next(d.glob("*.npz"))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, new mtime: the index notices
    path.write_bytes(bytes(data))
    return Setup(argv=["score", "--precomputed", str(d)], messages=[re.escape(path.name)])


# --- checkpoint series -----------------------------------------------------------------------------

def _series_caches(root: Path, names=("epoch_1.pt", "epoch_2.pt")) -> Path:
    """Caches of a checkpoint series as predict writes them (no model run)."""
    d = root / "pre"
    d.mkdir()
    for i, name in enumerate(names, 1):
        sha = f"{i:08x}" * 8
        p = good_preds(4, f"custom:tiny+ckpt-{sha[:8]}+recipe-4b0dd80c", correct_rows=range(i))
        p.provenance["checkpoint_series"] = {"source": str(root / "run"), "file": str(root / name),
                                             "name": name, "sha256": sha, "position": i}
        cache.save(str(d / cache.cache_filename(p.model_id, 4, p.fingerprint)), p)
    return d


@case("series", "correct")
def series_ids_printed_are_taken_by_per_class(root: Path) -> Setup:
    d = _series_caches(root)

    def check(text: str) -> None:
        import csv
        ids = [r["model"] for r in csv.DictReader(io.StringIO(text[text.index("model,"):]))]
        assert len(ids) == 2
        for name in ids:
            rc, out = _cli(["per-class", "--precomputed", d, name, "--format", "csv"])
            assert rc == 0, out
    return Setup(argv=["score", "--precomputed", str(d), "--checkpoint-series", "--format", "csv"],
                 rc=0, check=check)


@case("series", "correct")
def series_title_names_the_best_by_its_own_id(root: Path) -> Setup:
    d = _series_caches(root)
    return Setup(argv=["score", "--precomputed", str(d), "--checkpoint-series"], rc=0,
                 messages=[r"2 checkpoints of \S+run on imagenet-val, best #2 epoch_2\.pt: "
                           r"custom:tiny\+ckpt-00000002\+recipe-4b0dd80c"])


@case("series", "refused")
def series_score_on_caches_of_no_series(root: Path) -> Setup:
    d = cache_dir(root)
    return Setup(argv=["score", "--precomputed", str(d), "--checkpoint-series"],
                 messages=[r"no cache belongs to a checkpoint series"])


def _training_run(root: Path, copy: bool = False, extra=()) -> Path:
    import torch

    import corpus
    run = root / "run"
    run.mkdir()
    torch.manual_seed(1)
    torch.save(corpus.tiny_model().state_dict(), run / "epoch_1.pt")
    if copy:
        shutil.copy(run / "epoch_1.pt", run / "model_best.pt")
    for name, data in extra:
        (run / name).write_bytes(data)
    return run


@case("series", "handled", slow=True)
def series_byte_copy_named_and_evaluated_once(root: Path) -> Setup:
    import corpus
    val = small_valset(root)
    run = _training_run(root, copy=True)
    return Setup(argv=corpus.predict_argv(val, root / "out", "--checkpoint", str(run)), rc=0,
                 messages=[r"model_best\.pt has the same bytes as epoch_1\.pt",
                           r"1 of 1 distinct checkpoints evaluated",
                           r"model_best\.pt = epoch_1\.pt"])


@case("series", "handled", slow=True)
def series_non_checkpoint_files_beside_one(root: Path) -> Setup:
    import corpus
    val = small_valset(root)
    run = _training_run(root, extra=[("train.log", b"epoch 1 loss 2.3\n"), ("config.yaml", b"lr: 0.1\n")])
    return Setup(argv=corpus.predict_argv(val, root / "out", "--checkpoint", str(run)), rc=0,
                 messages=[r"skipped \S*config\.yaml: not a loadable state dict",
                           r"1 of 3 checkpoints evaluated", r"2 skipped"])


@case("series", "handled", slow=True)
def series_checkpoint_of_another_architecture(root: Path) -> Setup:
    import torch

    import corpus
    val = small_valset(root)
    run = _training_run(root)
    torch.save(torch.nn.Linear(5, 10).state_dict(), run / "other_arch.pt")
    return Setup(argv=corpus.predict_argv(val, root / "out", "--checkpoint", str(run)), rc=0,
                 messages=[r"skipped \S*other_arch\.pt: not a loadable state dict of custom:tiny"])


# --- recipe and normalisation values (refused before any image is read: the folder is absent) ---

def _predict_opts(root: Path, *opts: str) -> List[str]:
    return ["predict", "-m", "torch:resnet18", "--weights", "none", *opts, str(root / "absent")]


def _recipe_case(opts, message):
    def build(root: Path) -> Setup:
        return Setup(argv=_predict_opts(root, *opts), messages=[message], absent=[r"absent"])
    return build


for _name, _opts, _msg in [
    ("mean_on_the_0_255_scale", ("--mean", "123.68,116.78,103.94"),
     r"--mean 123\.68,116\.78,103\.94: .*0-1 scale.*--mean 0\.485,0\.458,0\.4076"),
    ("std_on_the_0_255_scale", ("--std", "58.4,57.1,57.4"), r"--std 58\.4,57\.1,57\.4: .*0-1 scale"),
    ("mean_negative", ("--mean", "-0.5"), r"--mean -0\.5,-0\.5,-0\.5: .*must lie in 0-1"),
    ("std_above_one", ("--std", "2"), r"--std 2,2,2: .*must lie in 0-1"),
    ("std_zero", ("--std", "0"), r"--std 0\.0,0\.0,0\.0: every value must be above 0"),
    ("mean_two_values", ("--mean", "0.5,0.5"), r"--mean takes 1 or 3 numbers, got 2"),
    ("crop_larger_than_resize", ("--resize", "200", "--crop", "224"),
     r"--resize 200 and --crop 224: the crop \(224 px\) is larger than the resized shorter side \(200 px\)"),
    ("crop_larger_than_the_models_resize", ("--crop", "320"),
     r"--crop 320: the crop \(320 px\) is larger than the resized shorter side \(256 px\)"),
    ("crop_pct_above_one_in_centre_mode", ("--img-size", "224", "--crop-pct", "1.2"),
     r"--img-size 224 and --crop-pct 1\.2: the crop \(224 px\) is larger"),
    ("mean_given_twice", ("--mean", "0.5", "--mean", "0.4"), r"--mean: given twice \(\[0\.5\] and \[0\.4\]\)"),
    ("resize_given_twice", ("--resize", "256", "--resize", "288"), r"--resize: given twice \(256 and 288\)"),
]:
    _build = _recipe_case(_opts, _msg)
    _build.__name__ = f"recipe_{_name}"
    case("option", "refused")(_build)


def _built(**kw):
    def call():
        from imagenet_bench.run import config
        cfg = config.build("torch:resnet18", weights="none", **kw)
        print(f"built {cfg.model_id} {cfg.recipe.as_dict()}")
    return call


@case("option", "correct")
def recipe_resize_equal_to_crop(root: Path) -> Setup:
    return Setup(call=_built(resize=224, crop=224), rc=0,
                 messages=[r"built torch:resnet18\.IMAGENET1K_V1\+random\+recipe-\w+ .*'resize': 224"])


@case("option", "correct")
def recipe_mean_and_std_on_the_pixel_scale(root: Path) -> Setup:
    return Setup(call=_built(mean=[0.5], std=[0.5]), rc=0,
                 messages=[r"'mean': \[0\.5, 0\.5, 0\.5\], 'std': \[0\.5, 0\.5, 0\.5\]"])


@case("option", "correct")
def recipe_std_of_one(root: Path) -> Setup:
    return Setup(call=_built(mean=[0.0], std=[1.0]), rc=0, messages=[r"'std': \[1\.0, 1\.0, 1\.0\]"])


# --- names across commands, files given where a folder belongs --------------------------------

@case("names", "handled")
def verify_bare_name_looked_up_in_every_library(root: Path) -> Setup:
    return Setup(argv=["verify", "determinism", "-m", "resnet18", str(root / "absent")],
                 messages=[r"-m resnet18 taken as torch:resnet18\.IMAGENET1K_V1", r"absent does not exist"],
                 absent=[r"keras:ResNet"])


@case("names", "refused")
def verify_unknown_bare_name_points_at_names_containing_it(root: Path) -> Setup:
    def check(text: str) -> None:
        fix = re.search(r"Fix: `imagenet-bench (models '\*resnet1\*')`", text).group(1)
        rc, out = _cli(["models", "*resnet1*", "--format", "csv"])
        assert rc == 0 and "torch:resnet18.IMAGENET1K_V1" in out, (fix, out[:500])
    return Setup(argv=["verify", "determinism", "-m", "resnet1", str(root / "absent")],
                 messages=[r"no model library has a model named resnet1"], check=check)


@case("names", "refused")
def models_test_size_in_a_library_without_one(root: Path) -> Setup:
    def check(text: str) -> None:
        assert re.search(r"Fix: --framework timm", text)
        rc, out = _cli(["models", "--test-size", "--framework", "timm", "--format", "csv"])
        assert rc == 0 and out.count("\n") > 10
    return Setup(argv=["models", "--test-size", "--framework", "torch"],
                 messages=[r"no model in framework 'torch' with a test size \(--test-size\): only the "
                           r"weights of timm record one"],
                 absent=[r"None", r"'\*\*'"], check=check)


@case("names", "refused")
def models_pattern_matching_nothing_suggests_nothing_empty(root: Path) -> Setup:
    return Setup(argv=["models", "qqqzzz"], messages=[r"no model matches 'qqqzzz'"], absent=[r"try '\*"])


@case("names", "refused")
def models_suggestion_matches_something(root: Path) -> Setup:
    def check(text: str) -> None:
        pattern = re.search(r"Fix: try '([^']+)'", text).group(1)
        rc, out = _cli(["models", pattern, "--format", "csv"])
        assert rc == 0 and "resnet50" in out
    return Setup(argv=["models", "resnet5"], messages=[r"no model matches 'resnet5'"], check=check)


@case("names", "correct")
def sweep_status_ids_resolve_as_predict_names(root: Path) -> Setup:
    folder, _ = _sweep(root, models=("torch:resnet18", "squeezenet1_1"), done=2)

    def check(_: str) -> None:
        from imagenet_bench.models import registry
        for job in _jobs(folder):
            mid, entry = registry.resolve(job["model"])  # a +random id: the same run settings
            assert str(mid) == job["model"] and job["model"].startswith(entry.model + "+random")
    return Setup(argv=["sweep", "status", str(folder)], rc=0, check=check)


@case("image", "refused")
def predict_on_a_tar_without_images(root: Path) -> Setup:
    import tarfile
    note = root / "readme.txt"
    note.write_text("not an image\n")
    tar = root / "val.tar"
    with tarfile.open(tar, "w") as t:
        t.add(note, arcname="readme.txt")
    return Setup(argv=["predict", "-m", "torch:resnet18", "--weights", "none", str(tar)],
                 messages=[r"no images found in tar:\S*val\.tar", r"Fix: point at"],
                 absent=[r"does not exist", r"not a folder"])


@case("image", "refused")
def predict_on_a_plain_file(root: Path) -> Setup:
    f = root / "images.txt"
    f.write_text("a\n")
    return Setup(argv=["predict", "-m", "torch:resnet18", "--weights", "none", str(f)],
                 messages=[r"images\.txt is a file, not a folder"])


@case("image", "refused")
def predict_on_a_missing_folder(root: Path) -> Setup:
    return Setup(argv=["predict", "-m", "torch:resnet18", "--weights", "none", str(root / "nope")],
                 messages=[r"nope does not exist\. Fix:"], absent=[r"not a directory"])



def _sweep_cases_in_the_slow_tier() -> None:
    """The sweep cases build a sweep each (~0.15 s): they run in the slow tier; the fast tier
    checks the same faults once in tests/test_sweep_state.py."""
    from corpus import CASES
    for c in CASES:
        if c.build.__module__ == __name__ and c.kind == "sweep":
            c.slow = True


_sweep_cases_in_the_slow_tier()
