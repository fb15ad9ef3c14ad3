"""timm's test-size rows (issue 22, item 2): ``+test-size`` runs a tag exactly as timm's
``resolve_data_config(..., use_test_size=True)`` + ``create_transform`` (validate.py's default),
``score --published`` takes timm's figure at that size, ``models --test-size`` lists the tags that
have one, and ``hf-hub:timm/NAME`` names the catalog entry.
"""
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis_helpers import preds_for, save_all
from imagenet_bench.analysis import published
from imagenet_bench.cli import main as cli
from imagenet_bench.models import catalog, registry, timm_results
from imagenet_bench.models import recipe as recipes
from imagenet_bench.models.identity import ModelId
from imagenet_bench.run import config as run_config

REPO = Path(__file__).resolve().parents[1]
DISTINCT = "timm:resnet18.a1_in1k"  # train 224 / crop_pct 0.95, test 288 / crop_pct 1.0
SQUASH = "timm:dm_nfnet_f0.dm_in1k"  # crop_mode squash; train 192 / 0.9, test 256 / 0.9
NO_TEST_SIZE = "timm:bat_resnext26ts.ch_in1k"  # runnable, no test_input_size / test_crop_pct


def _entry(model):
    return next(e for e in catalog.entries("timm") if e.model == model)


# --- the catalog states timm's test-time config -------------------------------------------------

def test_the_catalog_test_size_is_timms_use_test_size_config_for_every_tag():
    timm = pytest.importorskip("timm")
    from timm.data import resolve_data_config
    with_test = 0
    for e in catalog.entries("timm"):
        cfg = timm.models.get_pretrained_cfg(f"{e.architecture}.{e.weights}").to_dict()
        train = resolve_data_config({}, pretrained_cfg=cfg)
        test = resolve_data_config({}, pretrained_cfg=cfg, use_test_size=True)
        if test == train:
            assert (e.test_input_size, e.test_crop_pct) == (None, None), e.model
            continue
        with_test += 1
        assert (e.test_input_size, e.test_crop_pct) == (test["input_size"][1], test["crop_pct"]), e.model
        rec = recipes.test_size(e)
        assert rec == recipes.from_timm_config(test), e.model
    assert with_test == sum(1 for e in catalog.entries("timm") if e.test_input_size)
    assert with_test > 300  # timm's results publish both sizes for ~308 tags
    print(f"timm tags with a test size: {with_test}")


def test_other_catalogs_leave_the_optional_keys_out():
    assert all(e.test_input_size is None for e in catalog.entries("torch"))
    raw = json.loads(json.dumps({k: getattr(catalog.load("torchvision")[0], k)
                                 for k in catalog.KEYS if k not in catalog.OPTIONAL}))
    assert catalog.validate(raw, "here").test_crop_pct is None
    with pytest.raises(catalog.CatalogError, match="key 'test_input_size' has '288'"):
        catalog.validate(dict(raw, test_input_size="288"), "here")


# --- pixels: exactly timm's use_test_size transform, on real images -----------------------------

@pytest.fixture
def images(val_subset_dir):
    paths = sorted(glob.glob(os.path.join(str(val_subset_dir), "**", "*.JPEG"), recursive=True))
    assert len(paths) >= 1300
    return paths[::433][:3]


@pytest.fixture
def tb(monkeypatch):
    """The timm backend, with from_config building no network (only the transform is tested)."""
    pytest.importorskip("timm")
    torch = pytest.importorskip("torch")
    from imagenet_bench.backends import timm as backend
    monkeypatch.setattr(backend, "build", lambda name, weights, checkpoint: (
        torch.nn.Identity(), {"weights": "random(seed=0)"}))
    return backend


@pytest.mark.parametrize("model,options,timm_args", [
    (DISTINCT, {}, {}), (SQUASH, {}, {}), (DISTINCT, dict(crop_pct=0.9), {"crop_pct": 0.9})],
    ids=["center", "squash", "center-crop_pct"])
def test_pixels_equal_timms_use_test_size_transform(model, options, timm_args, images, tb):
    import timm
    from PIL import Image
    from timm.data import create_transform, resolve_data_config
    backend = tb.from_config(run_config.build(model + "+test-size", weights="none", workers=0,
                                              **options))
    cfg = timm.models.get_pretrained_cfg(model[5:]).to_dict()
    test_config = resolve_data_config(timm_args, pretrained_cfg=cfg, use_test_size=True)
    reference = create_transform(**test_config, is_training=False)
    train = create_transform(**resolve_data_config(timm_args, pretrained_cfg=cfg), is_training=False)
    for path in images:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        ours, theirs = backend.preprocess(path), reference(rgb).numpy()
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs), path
        plain = train(rgb).numpy()
        assert ours.shape != plain.shape or not np.array_equal(ours, plain)  # the test size acted
    prov = backend.provenance()
    assert prov["timm_use_test_size"] is True
    assert prov["timm_data_config"] == {k: list(v) if isinstance(v, tuple) else v
                                        for k, v in sorted(test_config.items())}
    assert prov["preprocessing"]["input_size"] == test_config["input_size"][1]
    want = f"{model}+random+test-size"
    if timm_args:  # an override on top of the test size is named by its recipe's digest
        want = f"{model}+random+recipe-{recipes.digest(recipes.from_timm_config(test_config))}+test-size"
    assert str(backend.config.model_id) == want


def test_the_run_config_recipe_is_the_test_size_recipe():
    cfg = run_config.build(DISTINCT + "+test-size", weights="none")
    assert cfg.test_size and cfg.model == f"{DISTINCT}+random+test-size"
    assert (cfg.recipe.crop, cfg.recipe.resize) == (288, 288)  # floor(288 / 1.0)
    plain = run_config.build(DISTINCT, weights="none")
    assert not plain.test_size and (plain.recipe.crop, plain.recipe.resize) == (224, 235)


# --- refusals: exit 2, naming the setting and the fix ------------------------------------------

def test_a_tag_without_a_test_size_is_refused(valdir, capsys):
    assert cli.main(["predict", "-m", NO_TEST_SIZE + "+test-size", "--weights", "none",
                     str(valdir)]) == 2
    err = capsys.readouterr().err
    assert f"{NO_TEST_SIZE}+test-size: {NO_TEST_SIZE} has no test size" in err
    assert "Fix: drop +test-size from the name" in err
    assert "`imagenet-bench models --test-size` lists the tags that have one" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["torch:resnet18.IMAGENET1K_V1+test-size",
                                  "keras:MobileNetV2.imagenet+test-size"])
def test_a_model_of_another_library_is_refused(name, valdir, capsys):
    assert cli.main(["predict", "-m", name, "--weights", "none", str(valdir)]) == 2
    err = capsys.readouterr().err
    lib = name.split(":")[0]
    assert f"+test-size runs a tag at the test_input_size/test_crop_pct of its pretrained_cfg, " \
           f"which the {lib} models do not have (offered by: timm)" in err
    assert "Fix: drop +test-size from the name, or pick a tag that has one" in err
    assert "Traceback" not in err


# --- published figures at the test size ----------------------------------------------------------

def test_the_published_figure_of_a_test_size_id_is_timms_row_at_that_size():
    entry = _entry(DISTINCT)
    (row,) = [r for r in timm_results.rows(DISTINCT)
              if r.img_size == entry.test_input_size and r.crop_pct == entry.test_crop_pct]
    fig = published.figure(DISTINCT + "+random+test-size")
    assert (fig.top1, fig.top5) == row.top["imagenet"]
    assert fig.top1 != entry.published_top1  # not the train-size figure
    assert "img_size 288, crop_pct 1.000" in fig.source
    sketch = published.figure(DISTINCT + "+test-size", "imagenet-sketch")
    assert (sketch.top1, sketch.top5) == row.top["sketch"] and "results-sketch.csv" in sketch.source


def test_score_published_on_a_test_size_cache_uses_the_test_size_figure(tmp_path, capsys):
    numbers = list(range(1, 21))
    labels = preds_for(numbers, np.zeros(20, int)).labels
    preds = preds_for(numbers, labels)
    test_recipe = recipes.test_size(_entry(DISTINCT)).as_dict()
    preds.provenance.update(model=DISTINCT + "+test-size", framework="timm",
                            preprocessing=dict(test_recipe, mode="timm"))
    train = preds_for(numbers, labels)
    train.provenance.update(model=DISTINCT, framework="timm",
                            preprocessing=dict(test_recipe, mode="timm"))
    save_all(tmp_path, [preds, train])
    assert cli.main(["score", "--precomputed", str(tmp_path), "--published", "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    row = rows[DISTINCT + "+test-size"]
    want = published.figure(DISTINCT + "+test-size")
    assert (row["published_acc1"], row["published_acc5"]) == (want.top1, want.top5)
    assert row["published_acc1"] != _entry(DISTINCT).published_top1
    assert "preprocessing" not in row["likely_reason"]  # its recipe is the test-size one
    plain = rows[DISTINCT]  # the same pixels under the plain id: measured against the train size
    assert plain["published_acc1"] == _entry(DISTINCT).published_top1
    assert "timm preprocessing (resize 288, centre crop 288" in plain["likely_reason"]


# --- models lists the tags -------------------------------------------------------------------------

def test_models_test_size_lists_exactly_the_tags_that_have_one(capsys):
    assert cli.main(["models", "--test-size", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    want = sorted(e.model for e in catalog.entries() if e.test_input_size)
    header = lines[0].split(",")
    assert header[-2:] == ["test_input_size", "test_crop_pct"]
    assert sorted(ln.split(",")[0] for ln in lines[1:]) == want
    assert cli.main(["models", "timm:resnet18.a1_in1k", "--test-size"]) == 0
    out = capsys.readouterr().out
    fig = published.figure(DISTINCT + "+test-size")
    assert "test size" in out and "288 (crop_pct 1)" in out and f"{fig.top1:.3f}" in out
    assert cli.main(["models", NO_TEST_SIZE, "--test-size"]) == 2
    assert "with a test size (--test-size)" in capsys.readouterr().err


def test_the_models_table_notes_each_tags_test_size(capsys):
    assert cli.main(["models", "timm:resnet18.*"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith(DISTINCT + " "))
    assert "test size 288 (crop_pct 1)" in line


# --- hf-hub:timm/NAME ------------------------------------------------------------------------------

def test_hf_hub_names_resolve_to_the_catalog_entry():
    mid, entry = registry.resolve("hf-hub:timm/resnet18.a1_in1k+test-size")
    assert mid == ModelId("timm", "resnet18", "a1_in1k", ("test-size",)) and entry.model == DISTINCT
    assert registry.resolve("HF-HUB:timm/ResNet18.A1_in1k")[1].model == DISTINCT
    # a repository of another organisation: the one entry whose weights it holds
    other = next(e for e in catalog.entries("timm")
                 if e.url and e.url.startswith("https://huggingface.co/")
                 and not e.url.startswith("https://huggingface.co/timm/"))
    assert registry.resolve("hf-hub:" + other.url[len("https://huggingface.co/"):])[1] == other
    cfg = run_config.build("hf-hub:timm/resnet18.a1_in1k+test-size", weights="none")
    assert cfg.model == f"{DISTINCT}+random+test-size"
    assert registry.get_model("hf-hub:timm/resnet18.a1_in1k").entry.model == DISTINCT


def test_an_unknown_hf_hub_name_is_refused_naming_the_spelling(valdir, capsys):
    assert cli.main(["predict", "-m", "hf-hub:timm/resnet18.nope", "--weights", "none",
                     str(valdir)]) == 2
    err = capsys.readouterr().err
    assert "no catalog entry has its weights in the Hugging Face hub repository " \
           "'timm/resnet18.nope'" in err
    assert "Fix: timm's own repositories are spelled hf-hub:timm/<arch>.<tag>" in err
    with pytest.raises(run_config.InputError, match="belongs to framework 'timm', not --framework torch"):
        registry.resolve("hf-hub:timm/resnet18.a1_in1k", "torch")


# --- end to end (slow: builds the network) ----------------------------------------------------------

@pytest.mark.slow
def test_predict_then_score_published_at_the_test_size(val_subset_dir, tmp_path):
    """``predict -m hf-hub:timm/NAME+test-size --weights none`` on 4 real images, then
    ``score --published``: the cache is named +test-size, records timm's use_test_size config,
    and is measured against timm's test-size figure."""
    pytest.importorskip("timm")
    from timm.data import resolve_data_config
    import timm
    val = tmp_path / "val"
    val.mkdir()
    for path in sorted(glob.glob(os.path.join(str(val_subset_dir), "*.JPEG")))[:4]:
        os.symlink(path, val / os.path.basename(path))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = [sys.executable, "-m", "imagenet_bench"]
    proc = subprocess.run(run + ["predict", "-m", "hf-hub:timm/resnet18.a1_in1k+test-size",
                                 "--weights", "none", "-j", "0", "--no-progress", "-o",
                                 str(tmp_path / "out"), str(val)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (cache_file,) = (tmp_path / "out").glob("*.npz")
    assert cache_file.name.startswith("timm-resnet18.a1_in1k+random+test-size")
    from imagenet_bench.cache import store
    prov = store.load(str(cache_file)).provenance
    cfg = timm.models.get_pretrained_cfg("resnet18.a1_in1k").to_dict()
    want = resolve_data_config({}, pretrained_cfg=cfg, use_test_size=True)
    assert prov["timm_data_config"] == {k: list(v) if isinstance(v, tuple) else v
                                        for k, v in sorted(want.items())}
    proc = subprocess.run(run + ["score", "--precomputed", str(tmp_path / "out"), "--published",
                                 "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    fig = published.figure(DISTINCT + "+test-size")
    assert row["published_acc1"] == fig.top1 and row["published_acc1"] != _entry(DISTINCT).published_top1
    assert "random weights" in row["likely_reason"] and "preprocessing" not in row["likely_reason"]
    print(json.dumps({k: row[k] for k in ("model", "acc1", "published_acc1", "likely_reason")}))
