"""Sweeps: plan (selection, grouping, determinism, done jobs), status, shared decode equal to
separate runs, one failing model fails only its job, --retry-oom, collect, submitit's debug
executor, the sbatch script."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import make_valset
from sweep_helpers import fake_cache
from imagenet_bench.cache import store as cache
from imagenet_bench.cache.inspect import differences
from imagenet_bench.cli.main import main
from imagenet_bench.errors import InputError
from imagenet_bench.sweep import plan as plans
from imagenet_bench.sweep import state

ROOT = Path(__file__).resolve().parents[1]
TORCH2 = ["torch:squeezenet1_1", "torch:mobilenet_v3_small"]
SETTINGS = dict(weights="none", batch_size=4, threads=1, workers=0)


def _request(val, models=TORCH2, **kw):
    settings = dict(SETTINGS, **kw.pop("settings", {}))
    return plans.Request(models=list(models), data=[("imagenet-val", str(val))], settings=settings,
                         options={"checkpoint_every": 4, **kw.pop("options", {})}, **kw)


# --- plan -------------------------------------------------------------------------------------

def test_select_patterns_names_exclude_and_not_runnable(tmp_path):
    runnable, skipped, _ = plans.select(["torch:resnet1*", "torch:quantized_*", "keras:MobileNetV2"],
                                     exclude=["*resnet101*"])
    models = [e.model for e in runnable]
    assert "torch:resnet18.IMAGENET1K_V1" in models and "keras:MobileNetV2.imagenet" in models
    assert not any("resnet101" in m for m in models)
    assert all(m.startswith(("torch:resnet1", "torch:quantized_", "keras:")) for m in models)
    assert models == sorted(models)
    with pytest.raises(InputError, match="no model matches 'torch:nosuch\\*'"):
        plans.select(["torch:nosuch*"])


def test_plan_groups_by_recipe_and_dataset_marks_done_and_is_deterministic(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    sketch = make_valset(tmp_path / "sketch", num_classes=2, per_class=2)
    req = _request(val, models=TORCH2 + ["timm:test_vit.r160_in1k", "timm:test_resnet.r160_in1k",
                                         "keras:MobileNetV2"], jobs_per_task=1)
    req.data.append(("imagenet-sketch", str(sketch)))
    folder = tmp_path / "sw"
    plan = plans.build(req, str(folder))
    assert len(plan["jobs"]) == 10 and all(not j["done"] for j in plan["jobs"])
    # each task: one dataset, one pixel group; the two torch models share a group
    for t in plan["tasks"]:
        jobs = [j for j in plan["jobs"] if j["job"] in t["jobs"]]
        assert {j["dataset"] for j in jobs} == {t["dataset"]} and {j["group"] for j in jobs} == {t["group"]}
    groups = {j["model"]: j["group"] for j in plan["jobs"] if j["dataset"] == "imagenet-val"}
    assert groups["torch:squeezenet1_1.IMAGENET1K_V1+random"] == \
        groups["torch:mobilenet_v3_small.IMAGENET1K_V1+random"]
    assert groups["timm:test_vit.r160_in1k+random"] != groups["timm:test_resnet.r160_in1k+random"]
    assert len(plan["tasks"]) == 10  # jobs_per_task=1
    again = plans.build(plans.request_of(plan), str(folder))
    assert plans.dumps(again) == plans.dumps(plan)  # same request, same bytes
    # a cache present -> done, out of the tasks
    first = plan["jobs"][0]
    fake_cache(plan, first)
    replanned = plans.build(req, str(folder))
    done = [j for j in replanned["jobs"] if j["done"]]
    assert [j["job"] for j in done] == [first["job"]] and done[0]["task"] is None
    assert len(replanned["tasks"]) == 9


def test_plan_command_prints_counts_and_refuses_bad_input(tmp_path, capsys):
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    lst = tmp_path / "models.txt"
    lst.write_text("# torch models\ntorch:squeezenet1_1\n\n")
    assert main(["sweep", "plan", str(tmp_path / "sw"), "keras:NoSuch*", "--model-list", str(lst),
                 "--data", f"imagenet-val={val}", "--weights", "none"]) == 2
    assert "no model matches 'keras:NoSuch*'" in capsys.readouterr().err
    assert main(["sweep", "plan", str(tmp_path / "sw"), "--model-list", str(lst),
                 "--data", f"imagenet-val={val}", "--weights", "none"]) == 0
    out = capsys.readouterr().out
    assert "1 model x 1 test set = 1 job: 0 done, 1 to run in 1 task" in out
    assert "cost: 4 images to predict (1 job)" in out
    assert main(["sweep", "plan", str(tmp_path / "sw"), "torch:resnet18", "--data", "val"]) == 2
    assert "--data val: expected NAME=DIR" in capsys.readouterr().err
    assert main(["sweep", "plan", str(tmp_path / "sw"), "torch:resnet18", "--data",
                 f"imagenet-val={val}", "--amp", "bf16", "--resize", "0"]) == 2
    assert "--resize 0: must be at least 1" in capsys.readouterr().err
    assert main(["sweep", "plan", str(tmp_path / "sw"), "timm:test_vit*", "--data",
                 f"imagenet-val={val}", "--preprocess", "legacy2019"]) == 2
    assert "none of the selected models can run: timm:test_vit" in capsys.readouterr().err
    (tmp_path / "sw2").mkdir()
    assert main(["sweep", "status", str(tmp_path / "sw2")]) == 2
    assert "no sweep plan here. Fix: run `imagenet-bench sweep plan " in capsys.readouterr().err


def test_timm_models_refusing_legacy2019_are_left_out_with_the_reason(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=1, per_class=2)
    plan = plans.build(_request(val, models=["torch:squeezenet1_1", "timm:test_vit.r160_in1k"],
                                settings={"preprocess": "legacy2019"}), str(tmp_path / "sw"))
    assert [j["model"].split("+")[0] for j in plan["jobs"]] == ["torch:squeezenet1_1.IMAGENET1K_V1"]
    assert plan["skipped"][0]["model"] == "timm:test_vit.r160_in1k"
    assert "legacy2019 is not offered by the timm library" in plan["skipped"][0]["reason"]


# --- running a task -------------------------------------------------------------------------

def _adapter(framework):
    from imagenet_bench.models import libraries
    return libraries.get(framework)


def _run_separately(plan, out):
    """Each job as its own runner.run with its own backend (what separate predicts do)."""
    from imagenet_bench.data import datasets
    from imagenet_bench.run import runner
    req = plans.request_of(plan)
    for job in plan["jobs"]:
        cfg = plans.build_config(job["name"], job["framework"], req.settings)
        ds = plan["datasets"][job["dataset"]]
        runner.run(datasets.discover(ds["dir"], job["dataset"]), _adapter(cfg.framework).from_config(cfg),
                   runner.RunOptions(out_dir=str(out), checkpoint_every=4, progress=False))


@pytest.mark.slow  # two models over real images, twice: seconds
@pytest.mark.parametrize("models", [TORCH2, ["timm:test_vit.r160_in1k", "timm:test_vit2.r160_in1k"]])
def test_shared_decode_equals_separate_runs_and_decodes_once(tmp_path, models):
    pytest.importorskip(models[0].split(":")[0])
    from imagenet_bench.sweep.task import TaskRunner
    val = make_valset(tmp_path / "val", num_classes=2, per_class=3)
    folder = tmp_path / "sw"
    plan = plans.build(_request(val, models=models), str(folder))
    plans.write(plan, str(folder))
    assert len(plan["tasks"]) == 1
    logs = []
    for t in plan["tasks"]:
        counts = TaskRunner(str(folder), plan, _adapter, log=logs.append).run(
            [plans.job_index(plan)[j] for j in t["jobs"]], t["task"])
        assert counts == {"done": 2, "failed": 0, "skipped": 0}
    # per task: 6 images decoded once, served to the second model
    assert logs.count("shared decode: 6 images decoded once, 6 served from memory to later models") == 1
    _run_separately(plan, tmp_path / "ref")
    for job in plan["jobs"]:
        assert differences(str(tmp_path / "ref" / job["cache"]), os.path.join(plan["caches"], job["cache"])) == []
        timing = cache.load(os.path.join(plan["caches"], job["cache"])).provenance["timing"]
        assert timing["images"] == 6 and timing["batch_size"] == 4 and timing["images_per_s"] > 0
    data = state.summary(str(folder), plan)
    assert data["total"] == {"done": 2, "running": 0, "failed": 0, "pending": 0}


class _Flaky:
    """An adapter whose squeezenet raises CUDA's out-of-memory message above batch 2 and whose
    mobilenet cannot be built."""

    def __init__(self, module):
        self.module = module

    def from_config(self, cfg):
        if "mobilenet" in cfg.model:
            raise RuntimeError("weights file truncated\nsecond line of detail")
        backend = self.module.from_config(cfg)
        if "squeezenet1_1" not in cfg.model:
            return backend
        real = backend.forward

        def forward(x):
            if x.shape[0] > 2:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return real(x)
        backend.forward = forward
        return backend


@pytest.mark.slow  # two sweep tasks with a failing model: seconds
@pytest.mark.parametrize("retry", [False, True])
def test_a_failing_model_fails_only_its_job_and_retry_oom_halves_the_batch(tmp_path, retry, capsys):
    from imagenet_bench.sweep.task import TaskRunner
    val = make_valset(tmp_path / "val", num_classes=2, per_class=3)
    folder = tmp_path / "sw"
    plan = plans.build(_request(val, models=TORCH2 + ["torch:squeezenet1_0"],
                                options={"retry_oom": retry}), str(folder))
    plans.write(plan, str(folder))
    jobs = [plans.job_index(plan)[j] for t in plan["tasks"] for j in t["jobs"]]
    counts = TaskRunner(str(folder), plan, lambda fw: _Flaky(_adapter(fw)), log=lambda m: None).run(jobs, 0)
    data = state.summary(str(folder), plan)
    failed = {r["model"].split(".")[0]: r["error"] for r in data["failed"]}
    assert failed["torch:mobilenet_v3_small"] == "RuntimeError: weights file truncated second line of detail"
    squeeze = next(j for j in jobs if "squeezenet1_1" in j["model"])
    if retry:
        assert counts == {"done": 2, "failed": 1, "skipped": 0}
        prov = cache.load(os.path.join(plan["caches"], squeeze["cache"])).provenance
        assert prov["oom_retry"] == {"requested_batch_size": 4, "batch_size": 2}
        assert prov["batch_size"] == 2
    else:
        assert counts == {"done": 1, "failed": 2, "skipped": 0}
        assert failed["torch:squeezenet1_1"].startswith("RuntimeError: CUDA out of memory")
    assert os.path.exists(os.path.join(plan["caches"], next(j for j in jobs if "squeezenet1_0" in j["model"])["cache"]))
    assert main(["sweep", "status", str(folder)]) == 0
    out, err = capsys.readouterr()
    total_line = next(line.split() for line in out.splitlines() if line.startswith("total"))
    assert total_line == ["total", "2" if retry else "1", "0", "1" if retry else "2", "0"], out
    assert "failed: torch-mobilenet_v3_small.IMAGENET1K_V1+random.val6-" in err
    assert f"re-run: imagenet-bench sweep run-task {folder} --job torch-mobilenet_v3_small" in err
    assert main(["sweep", "status", str(folder), "--format", "json"]) == 0
    (total,) = [r for r in json.loads(capsys.readouterr().out) if r["dataset"] == "total"]
    assert total == {"dataset": "total", "done": 2 if retry else 1, "running": 0,
                     "failed": 1 if retry else 2, "pending": 0}
    assert main(["sweep", "status", str(folder), "--jobs", "--format", "tsv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["job", "model", "dataset", "state", "task", "note", "error"]
    states = sorted(line.split("\t")[3] for line in lines[1:])
    assert states == sorted(["done"] * (2 if retry else 1) + ["failed"] * (1 if retry else 2))


def test_status_counts_running_only_while_its_process_lives(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=1, per_class=2)
    folder = tmp_path / "sw"
    plan = plans.build(_request(val, models=["torch:squeezenet1_1"]), str(folder))
    job = plan["jobs"][0]
    state.write(str(folder), job["job"], "running", task=0)
    assert state.job_state(str(folder), plan, job)["state"] == "running"  # this process
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    rec = json.loads(Path(state.status_path(str(folder), job["job"])).read_text())
    rec["pid"] = int(dead)
    Path(state.status_path(str(folder), job["job"])).write_text(json.dumps(rec))
    got = state.job_state(str(folder), plan, job)
    assert got["state"] == "pending" and got["note"] == "interrupted"


# --- executors --------------------------------------------------------------------------------

def test_submitit_debug_executor_runs_the_slurm_callable(tmp_path):
    submitit = pytest.importorskip("submitit")
    from imagenet_bench.commands.sweep import run_task_entry
    from imagenet_bench.sweep.executors import SlurmTask
    val = make_valset(tmp_path / "val", num_classes=1, per_class=3)
    folder = tmp_path / "sw"
    plan = plans.build(_request(val, models=["torch:squeezenet1_1"]), str(folder))
    planfile = plans.write(plan, str(folder))
    ex = submitit.DebugExecutor(folder=str(tmp_path / "submitit"))
    job = ex.submit(SlurmTask(str(folder), planfile, run_task_entry), 0)
    assert job.result() == 0
    assert os.path.exists(os.path.join(plan["caches"], plan["jobs"][0]["cache"]))
    delayed = SlurmTask(str(folder), planfile, run_task_entry).checkpoint(0)
    assert delayed.args == (0,)  # requeued: the same task, resumed from the checkpoints


def test_preemption_signal_raises_terminated_and_is_restored():
    from imagenet_bench.run.signals import Terminated
    from imagenet_bench.sweep.executors import preemptible
    before = signal.getsignal(signal.SIGUSR2)
    with pytest.raises(Terminated):
        with preemptible("USR2") as got:
            os.kill(os.getpid(), signal.SIGUSR2)
            for _ in range(1000):
                pass
    assert got == [signal.SIGUSR2]
    assert signal.getsignal(signal.SIGUSR2) == before


def test_sbatch_script_runs_each_array_task(tmp_path, capsys):
    val = make_valset(tmp_path / "val", num_classes=1, per_class=2)
    folder = tmp_path / "sw"
    assert main(["sweep", "plan", str(folder), "torch:squeezenet1_1", "torch:resnet18",
                 "--data", f"imagenet-val={val}", "--weights", "none", "--jobs-per-task", "1"]) == 0
    capsys.readouterr()
    assert main(["sweep", "sbatch", str(folder), "--partition", "gpu", "--gpus", "1", "--time", "90",
                 "--sbatch-option", "account=proj"]) == 0
    script = capsys.readouterr().out
    lines = script.splitlines()
    for want in ("#SBATCH --array=0-1%64", "#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1",
                 "#SBATCH --time=90", "#SBATCH --account=proj", "#SBATCH --signal=B:USR1@120",
                 "#SBATCH --requeue"):
        assert want in lines
    assert lines[-1].startswith("exec ") and '"$SLURM_ARRAY_TASK_ID"' in lines[-1]
    assert lines[-1].endswith("--requeue-signal USR1")


# --- collect ----------------------------------------------------------------------------------

def test_timm_diffs_are_computed_as_timm_does():
    from imagenet_bench.sweep.collect import add_diffs
    base = [{"model": "a", "img_size": 224, "top1": 80.0, "top5": 95.0},
            {"model": "b", "img_size": 224, "top1": 70.0, "top5": 90.0},
            {"model": "c", "img_size": 224, "top1": 60.0, "top5": 85.0}]
    test = [{"model": "b", "img_size": 224, "top1": 50.5, "top5": 80.0},  # rank 0, base rank 1
            {"model": "a", "img_size": 224, "top1": 40.25, "top5": 79.0},  # rank 1, base rank 0
            {"model": "c", "img_size": 256, "top1": 30.0, "top5": 70.0}]  # other size: no match
    add_diffs(test, base)
    assert [(r["top1_diff"], r["top5_diff"], r["rank_diff"]) for r in test] == [
        ("-19.500", "-10.000", "+1"), ("-39.750", "-16.000", "-1"), ("", "", "")]


def test_collect_long_table_and_timm_files(tmp_path, capsys):
    from imagenet_bench.analysis.scorer import correct
    from imagenet_bench.sweep.task import TaskRunner
    val = make_valset(tmp_path / "val", num_classes=2, per_class=3)
    folder = tmp_path / "sw"
    plan = plans.build(_request(val, models=TORCH2), str(folder))
    plans.write(plan, str(folder))
    TaskRunner(str(folder), plan, _adapter, log=lambda m: None).run(
        [j for j in plan["jobs"] if "squeezenet" in j["model"]], 0)
    capsys.readouterr()
    assert main(["sweep", "collect", str(folder), "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    done = rows["torch:squeezenet1_1.IMAGENET1K_V1+random"]
    preds = cache.load(done["cache"])
    assert done["status"] == "done" and done["acc1"] == round(100 * correct(preds)[0].mean(), 4)
    assert done["acc1_low"] <= done["acc1"] <= done["acc1_high"]
    assert done["params"] == 1235496 and done["crop"] == 224 and done["resize"] == 256
    assert done["images_per_s"] == preds.provenance["timing"]["images_per_s"]
    assert "torch=" in done["library_versions"] and done["published_acc1"] is not None
    assert done["delta_acc1"] == round(done["acc1"] - done["published_acc1"], 4)
    assert rows["torch:mobilenet_v3_small.IMAGENET1K_V1+random"]["status"] == "pending"
    # collect read the caches through the folder index: a second look trusts its row
    from imagenet_bench.cache.folder import load_folder
    assert load_folder(plan["caches"]).indexed == 1
    # the cost estimate of another sweep over these caches uses squeezenet's measured img/s
    other = _request(val, models=["torch:squeezenet1_1"], caches=plan["caches"])
    other.data = [("imagenet-sketch", str(val))]
    text = plans.summary(plans.build(other, str(tmp_path / "sw2")))
    assert f"1 job has a measured rate in {plan['caches']}: about" in text, text
    assert main(["sweep", "collect", str(folder), "--format", "timm", "-o", str(tmp_path / "t")]) == 0
    text = (tmp_path / "t" / "results-imagenet.csv").read_text().splitlines()
    assert text[0] == "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation"
    assert text[1].startswith("torch:squeezenet1_1.IMAGENET1K_V1+random,224,") and \
        text[1].endswith(",1.24,0.875,bilinear")


def test_timm_format_diffs_a_against_the_clean_val_200_figures_and_sketch_against_val(tmp_path):
    """A/R rows diff against val restricted to their 200 classes with the output masked to them
    (timm's ``-clean`` files); Sketch rows against plain val."""
    from conftest import make_preds, write_caches
    from imagenet_bench.data import datasets
    from imagenet_bench.sweep.collect import timm_tables
    a_classes = list(datasets.get("imagenet-a").classes)
    inside, other_a = a_classes[0], a_classes[1]
    outside = next(c for c in range(1000) if c not in a_classes)
    # val: 4 images of A classes + 2 of another class; every image's global top-1 is `outside`,
    # so plain val top-1 is 1/3 (the 2 `outside` images). Masked to A's 200 classes, images 0-1
    # rank their label first and images 2-3 rank `other_a` first: clean top-1 = 2/4 = 50%.
    labels = [inside, inside, inside, inside, outside, outside]
    probs = np.full((6, 1000), 1e-4, np.float32)
    probs[:, outside] = 0.5
    probs[[0, 1], inside], probs[[0, 1], other_a] = 0.3, 0.1
    probs[[2, 3], inside], probs[[2, 3], other_a] = 0.1, 0.3
    top5 = np.argsort(-probs, axis=1)[:, :5]
    val = make_preds(top5, labels, model="timm:m.x", framework="timm",
                     probs=np.take_along_axis(probs, top5, 1))
    val.all_probs = probs.astype(np.float16)
    # ImageNet-A: 4 images, 1 right within the 200 classes -> top-1 25%
    a_top5 = np.asarray([[inside] + a_classes[2:6]] + [a_classes[2:7]] * 3)
    a = make_preds(a_top5, [inside] * 4, model="timm:m.x", framework="timm",
                   dataset={"name": "imagenet-a", "class_subset": a_classes}, ids=[f"imagenet-a/{inside}/img{i}.jpg" for i in range(4)])
    a.subset_top5_idx, a.subset_top5_prob = a_top5.astype(np.int16), a.top5_prob.copy()
    sketch = make_preds(a_top5, [inside] * 4, model="timm:m.x", framework="timm",
                        dataset={"name": "imagenet-sketch"}, ids=[f"sketch/{inside}/img{i}.jpg" for i in range(4)])
    paths = write_caches(tmp_path, [val, a, sketch])
    rows = [{"model": "timm:m.x", "test_set": d, "status": "done", "cache": p, "params": 1e6,
             "acc1": t1, "acc5": t5} for d, p, t1, t5 in
            (("imagenet-val", paths[0], 100 / 3, 100.0), ("imagenet-a", paths[1], 25.0, 25.0),
             ("imagenet-sketch", paths[2], 25.0, 25.0))]
    tables = timm_tables({}, rows)
    assert (tables["imagenet-a"][0]["top1_diff"], tables["imagenet-a"][0]["top5_diff"]) == \
        ("-25.000", "-75.000")  # against the clean 50% / 100%, not val's 33.3% / 100%
    assert tables["imagenet-sketch"][0]["top1_diff"] == "-8.333"  # against val's 33.333%
    assert tables["imagenet-a"][0]["rank_diff"] == "0"


def test_plan_takes_img_size_and_crop_pct_for_every_job(tmp_path, capsys):
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    assert main(["sweep", "plan", str(tmp_path / "sw"), "timm:test_vit.r160_in1k",
                 "torch:squeezenet1_1", "--data", f"imagenet-val={val}", "--weights", "none",
                 "--img-size", "96", "--crop-pct", "0.8"]) == 0
    plan = plans.read(str(tmp_path / "sw"))
    assert plan["request"]["settings"]["img_size"] == 96
    assert len(plan["jobs"]) == 2 and all("+recipe-" in j["model"] for j in plan["jobs"])
    for j in plan["jobs"]:
        recipe = plans.build_config(j["model"].split("+")[0], j["model"].split(":")[0],
                                    plan["request"]["settings"]).recipe.as_dict()
        assert (recipe.get("crop", recipe.get("input_size")), recipe["resize"]) == (96, 120), j
    assert main(["sweep", "plan", str(tmp_path / "sw"), "torch:squeezenet1_1", "--data",
                 f"imagenet-val={val}", "--img-size", "0"]) == 2
    assert "--img-size 0: must be at least 1" in capsys.readouterr().err


def test_a_name_with_run_settings_keeps_them_in_its_job(tmp_path):
    """`sweep plan timm:NAME+test-size` runs the tag at timm's test size, as `predict -m` does: the
    job's cache id carries the setting and the task builds the config with it (it was dropped);
    the same tag named plainly is a job of its own."""
    from imagenet_bench.run import config as run_config
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    assert main(["sweep", "plan", str(tmp_path / "sw"), "timm:resnet18.a1_in1k+test-size",
                 "timm:resnet18.a1_in1k", "--data", f"imagenet-val={val}", "--weights", "none"]) == 0
    plan = plans.read(str(tmp_path / "sw"))
    by_model = {j["model"]: j for j in plan["jobs"]}
    for name in ("timm:resnet18.a1_in1k+test-size", "timm:resnet18.a1_in1k"):
        alone = run_config.build(name, weights="none")  # what predict -m NAME --weights none runs
        job = by_model.pop(alone.model)
        task = plans.build_config(job["name"], job["framework"], plan["request"]["settings"])
        assert (task.model_id, task.recipe) == (alone.model_id, alone.recipe), name
    assert not by_model
    crops = {j["model"]: plans.build_config(j["name"], "timm", plan["request"]["settings"]).recipe.crop
             for j in plan["jobs"]}
    assert sorted(crops.values()) == [224, 288], crops  # resnet18.a1_in1k: train 224, test 288
