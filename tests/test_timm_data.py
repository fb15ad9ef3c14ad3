"""timm's data in the registry: published tables, the generated entries, and their recipes.

The recipe test is the transform-equality check of the timm route: the
backend applies timm's own ``create_transform`` (nothing re-implemented), so
what must hold is that the recipe the registry states for every runnable
entry is what timm's transform actually does (its Resize size, crop,
interpolation, crop mode and Normalize mean/std).
"""
import functools
import json
import math
import os

import pytest

from imagenet_bench.models import timm_results

from conftest import load_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "imagenet_bench", "models", "data")


@functools.lru_cache(maxsize=None)
def _doc(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        return json.load(f)


def _entries():
    return _doc("timm.json")["entries"]


def _gen():
    return load_tool("gen_timm")


# --- published figures (standard library) ---------------------------------------------------

def test_results_name_their_release_commit_and_files():
    src = timm_results.source()
    assert src["repo"] == "huggingface/pytorch-image-models"
    assert src["release"].startswith("v") and len(src["commit"]) == 40
    assert set(src["files"]) == set(timm_results.DATASETS)


def test_a_tag_has_one_row_per_size_and_crop_and_each_is_found_both_ways():
    rows = timm_results.rows("timm:resnet50.a1_in1k")
    assert len({(r.img_size, r.crop_pct) for r in rows}) == len(rows) >= 2
    for row in rows:
        by_crop = timm_results.find("resnet50.a1_in1k", row.img_size, crop_pct=row.crop_pct)
        by_resize = timm_results.find("resnet50.a1_in1k+random", row.img_size,
                                      resize=math.floor(row.img_size / row.crop_pct))
        assert by_crop == by_resize == row
        top1, top5 = row.top["imagenet"]
        assert 0 < top1 < top5 <= 100
        source = timm_results.describe(row)
        assert f"img_size {row.img_size}" in source and timm_results.source()["commit"][:8] in source
        assert "results-imagenet-real.csv" in timm_results.describe(row, "real")


def test_unpublished_setting_or_model_gives_none():
    assert timm_results.find("timm:resnet50.a1_in1k", 999, 0.95) is None
    assert timm_results.find("timm:no_such_model.x", 224, 0.875) is None
    assert timm_results.rows("timm:no_such_model.x") == []


def test_crop_pct_written_with_three_decimals_still_matches():
    # timm's crop_pct 0.8975 (inception_resnet_v2.tf_in1k) is printed 0.897 in the CSVs
    (row,) = timm_results.rows("timm:inception_resnet_v2.tf_in1k")
    assert row.crop_pct == 0.897
    assert timm_results.find("timm:inception_resnet_v2.tf_in1k", 299, crop_pct=0.8975) == row
    assert timm_results.find("timm:inception_resnet_v2.tf_in1k", 299, crop_pct=0.8955) is None


def test_every_entry_with_a_figure_carries_the_row_of_its_own_recipe():
    with_figures = [e for e in _entries() if e["published_top1"] is not None]
    for e in with_figures:
        row = timm_results.find(e["model"], e["input_size"], resize=e["resize"])
        assert row is not None and row.top["imagenet"] == (e["published_top1"], e["published_top5"]), e["model"]
        assert row.interpolation == e["interpolation"], e["model"]
    assert len(with_figures) > 1200


def _write_csvs(folder, rows, extra=()):
    header = "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation\n"
    for path in timm_results.DATASETS.values():
        with open(folder / os.path.basename(path), "w", encoding="utf-8") as f:
            f.write(header + "".join(rows) + "".join(extra))


def test_converter_keys_rows_by_size_and_crop_and_reads_thousands(tmp_path):
    _write_csvs(tmp_path, ['big.t,560,89.790,10.210,98.990,1.010,"1,014.45",1.000,bicubic\n',
                           "r.a,288,81.2,18.8,95.1,4.9,25.56,1.000,bicubic\n",
                           "r.a,224,80.4,19.6,94.6,5.4,25.56,0.950,bicubic\n"])
    doc = json.loads(_gen().results_text(str(tmp_path), "v9.9.9", "f" * 40))
    assert doc["source"]["release"] == "v9.9.9" and doc["columns"] == list(timm_results.COLUMNS)
    assert [r[:4] for r in doc["models"]["r.a"]] == [[224, 0.95, "bicubic", 25.56], [288, 1.0, "bicubic", 25.56]]
    assert doc["models"]["big.t"][0][3] == 1014.45
    assert doc["models"]["r.a"][0][4:6] == [80.4, 94.6] and doc["models"]["r.a"][0][-2:] == [80.4, 94.6]


def test_converter_refuses_a_duplicate_row_and_a_missing_file(tmp_path):
    row = "r.a,224,80.4,19.6,94.6,5.4,25.56,0.950,bicubic\n"
    _write_csvs(tmp_path, [row], extra=[row])
    with pytest.raises(SystemExit, match=r"line 3: a second row for r.a at \(224, 0.95\)"):
        _gen().results_text(str(tmp_path), "v1", "f" * 40)
    _write_csvs(tmp_path, [row])
    os.remove(tmp_path / "results-sketch.csv")
    with pytest.raises(SystemExit, match="results-sketch.csv: missing"):
        _gen().results_text(str(tmp_path), "v1", "f" * 40)


# --- the generated entries ------------------------------------------------------------------

#: the registry schema of the brief (models/catalog.py validates the same keys once merged)
SCHEMA = ["framework", "architecture", "weights", "model", "aliases", "is_default", "builder",
          "input_size", "resize", "crop", "crop_mode", "interpolation", "mean", "std", "preprocessing",
          "preprocess_module", "num_classes", "label_set", "runnable", "not_runnable_reason",
          "published_top1", "published_top5", "source", "params", "gflops", "recipe", "url",
          "file_name", "quantized_backend", "float_counterpart",
          "test_input_size", "test_crop_pct"]  # the optional keys, written by the timm generator


def test_entries_follow_the_schema_and_refuse_non_1k_heads_with_a_reason():
    entries = _entries()
    assert all(list(e) == SCHEMA for e in entries)
    commit = timm_results.source()["commit"][:8]
    assert [e["model"] for e in entries] == sorted({e["model"] for e in entries})
    for e in entries:
        assert e["model"] == f"timm:{e['architecture']}.{e['weights']}" == "timm:" + e["builder"][5:] + "." + e["weights"]
        assert e["runnable"] == (e["num_classes"] == 1000 and e["label_set"] == "imagenet-1k")
        assert (e["not_runnable_reason"] is None) == e["runnable"]
        assert (e["source"] is None) == (e["published_top1"] is None), e["model"]
        if e["source"]:
            assert commit in e["source"]
    by_id = {e["model"]: e for e in entries}
    assert "imagenet-22k head (21841 classes)" in by_id["timm:convnext_base.fb_in22k"]["not_runnable_reason"]
    assert "no classifier head" in by_id["timm:vit_base_patch16_224.dino"]["not_runnable_reason"]
    assert "512 outputs" in by_id["timm:vit_base_patch16_clip_224.openai"]["not_runnable_reason"]
    defaults = {}
    for e in entries:
        defaults[e["architecture"]] = defaults.get(e["architecture"], 0) + e["is_default"]
    assert set(defaults.values()) == {1}


def test_catalog_loader_accepts_the_file():
    catalog = pytest.importorskip("imagenet_bench.models.catalog",
                                  reason="models/catalog.py (branch registry) not merged yet")
    loaded = catalog.load("timm")
    assert len(loaded) == len(_entries())


@pytest.fixture(scope="module")
def timm_installed():
    timm = pytest.importorskip("timm", reason="timm is not installed")
    return timm


def test_every_runnable_entry_states_timms_own_transform(timm_installed):
    """Registry recipe == timm's create_transform(resolve_data_config(pretrained_cfg)), all 1k entries."""
    from timm.data import create_transform, resolve_data_config
    from timm.data.transforms import CenterCropOrPad, ResizeKeepRatio
    from timm.models import get_pretrained_cfg
    from torchvision import transforms as T
    if timm_installed.__version__ != _doc("timm.json")["versions"]["timm"]:
        pytest.skip(f"timm.json was generated from timm {_doc('timm.json')['versions']['timm']}, "
                    f"installed is {timm_installed.__version__}")
    checked = 0
    for e in _entries():
        if not e["runnable"]:
            continue
        cfg = get_pretrained_cfg(e["model"][len("timm:"):])
        steps = create_transform(**resolve_data_config({}, pretrained_cfg=cfg.to_dict())).transforms
        (resize, crop), norm = steps[:2], steps[-1]
        if e["crop_mode"] == "center":
            assert type(resize) is T.Resize and resize.size in (e["resize"], [e["resize"]]), e["model"]
            assert type(crop) is T.CenterCrop
        elif e["crop_mode"] == "squash":
            assert type(resize) is T.Resize and tuple(resize.size) == (e["resize"],) * 2, e["model"]
            assert type(crop) is T.CenterCrop
        else:
            assert e["crop_mode"] == "border" and isinstance(resize, ResizeKeepRatio)
            assert isinstance(crop, CenterCropOrPad)
        interp = getattr(resize.interpolation, "value", resize.interpolation)
        assert interp == e["interpolation"], e["model"]
        assert tuple(crop.size) == (e["crop"], e["crop"]) == (e["input_size"],) * 2, e["model"]
        assert norm.mean.tolist() == pytest.approx(e["mean"], abs=1e-7)
        assert norm.std.tolist() == pytest.approx(e["std"], abs=1e-7)
        checked += 1
    assert checked == sum(e["runnable"] for e in _entries()) > 1000


def test_committed_timm_json_is_what_the_generator_writes_for_this_timm(timm_installed):
    listed = _doc("timm.json")["versions"]["timm"]
    if timm_installed.__version__ != listed:
        pytest.skip(f"timm.json was generated from timm {listed}; installed is "
                    f"{timm_installed.__version__} (regenerate with python tools/gen_timm.py registry)")
    with open(os.path.join(DATA, "timm.json"), encoding="utf-8") as f:
        committed = f.read()
    assert _gen().registry_text() == committed, "stale: run python tools/gen_timm.py registry"
