"""One model identity through score, compare and predict (the bugs of issue 9, and run settings)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from analysis_helpers import preds_for, save_all
from imagenet_bench.models.identity import from_string
from imagenet_bench.cli import main as cli
from imagenet_bench.errors import InputError
from imagenet_bench.models import registry
from imagenet_bench.run import config as run_config

NUMBERS = list(range(1, 21))
LABELS = preds_for(NUMBERS, np.zeros(20, int)).labels


def _cache(model, right, preprocessing=None):
    """A cache of canonical id ``model`` over 20 real validation ids, top-1 right on ``right``."""
    top1 = np.where(np.isin(np.arange(20), list(right)), LABELS, (LABELS + 1) % 1000)
    preds = preds_for(NUMBERS, top1)
    preds.provenance.update(model=model, framework=model.split(":")[0],
                            preprocessing=preprocessing or {"mode": "test"})
    return preds


# --- bug 1: score --published on variant caches ------------------------------------------------

def test_score_published_finds_the_figures_of_legacy2019_and_other_weights_caches(tmp_path, capsys):
    legacy = registry.get_model("torch:inception_v3").recipe("legacy2019").as_dict()
    save_all(tmp_path, [
        _cache("torch:inception_v3.IMAGENET1K_V1+legacy2019", range(15),
               preprocessing=dict(legacy, mode="legacy2019")),
        _cache("torch:resnet50.IMAGENET1K_V2", range(16),
               preprocessing=registry.get_model("torch:resnet50.IMAGENET1K_V2").recipe().as_dict()),
        _cache("torch:resnet50.IMAGENET1K_V2+bf16", range(16)),
        _cache("custom:mine", range(3))])
    assert cli.main(["score", "--precomputed", str(tmp_path), "--published", "--format", "json"]) == 0
    rows = {r["model"]: r for r in json.loads(capsys.readouterr().out)}
    inc = rows["torch:inception_v3.IMAGENET1K_V1+legacy2019"]
    assert inc["published_acc1"] == pytest.approx(77.294)  # the figure of its base weights
    assert "legacy2019 preprocessing (resize 256, centre crop 299" in inc["likely_reason"]
    v2 = rows["torch:resnet50.IMAGENET1K_V2"]
    assert v2["published_acc1"] == pytest.approx(80.858)  # V2's own figure, not V1's 76.13
    assert v2["published_acc5"] == pytest.approx(95.434)
    assert "20 images, not the 50,000" in v2["likely_reason"] and "recipe" not in v2["likely_reason"]
    bf16 = rows["torch:resnet50.IMAGENET1K_V2+bf16"]
    assert bf16["published_acc1"] == pytest.approx(80.858)
    assert "autocast bfloat16" in bf16["likely_reason"]
    assert rows["custom:mine"]["likely_reason"] == "not in the registry: no published figure"


def test_caches_written_before_identities_are_scored_under_their_canonical_id(tmp_path, capsys):
    old = preds_for(NUMBERS, LABELS)  # helper spelling -> canonical; then write an old-style cache
    old.provenance["model"] = "inception_v3.legacy2019"
    save_all(tmp_path, [old])
    assert cli.main(["score", "--precomputed", str(tmp_path), "--published", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["model"] == "torch:inception_v3.IMAGENET1K_V1+legacy2019"
    assert row["published_acc1"] == pytest.approx(77.294)


# --- bug 2: compare pairs a legacy2019 run ------------------------------------------------------

def test_compare_pairs_a_legacy2019_keras_run_with_a_torch_reference_run(tmp_path, capsys):
    keras = _cache("keras:ResNet50.imagenet+legacy2019", range(12))
    torch_ref = _cache("torch:resnet50.IMAGENET1K_V1", range(3, 18))
    torch_v2 = _cache("torch:resnet50.IMAGENET1K_V2", range(20))  # other weights: not this family pair
    save_all(tmp_path, [keras, torch_ref, torch_v2])
    assert cli.main(["compare", "--precomputed", str(tmp_path), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["model_a"], row["model_b"]) == ("keras:ResNet50.imagenet+legacy2019",
                                                "torch:resnet50.IMAGENET1K_V1")
    assert (row["only_a"], row["only_b"]) == (3, 6)
    # named with the 2019-style short names: the only run of each weights is found
    assert cli.main(["compare", "keras:resnet50", "torch:resnet50", "--precomputed", str(tmp_path),
                     "--format", "json"]) == 0
    (named,) = json.loads(capsys.readouterr().out)
    assert named["model_a"] == "keras:ResNet50.imagenet+legacy2019"


def test_compare_prefers_runs_with_the_same_settings(tmp_path, capsys):
    save_all(tmp_path, [_cache("keras:VGG16.imagenet+legacy2019", range(5)),
                        _cache("torch:vgg16.IMAGENET1K_V1+legacy2019", range(6)),
                        _cache("torch:vgg16.IMAGENET1K_V1", range(7))])
    assert cli.main(["compare", "--precomputed", str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["model_a"], r["model_b"]) for r in rows] == [
        ("keras:VGG16.imagenet+legacy2019", "torch:vgg16.IMAGENET1K_V1+legacy2019")]
    # a name without settings is its plain run when there is one ...
    assert cli.main(["compare", "keras:vgg16", "torch:vgg16", "--precomputed", str(tmp_path),
                     "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["model_b"] == "torch:vgg16.IMAGENET1K_V1"
    # ... and ambiguous when there are only variants
    other = tmp_path / "variants"
    save_all(other, [_cache("keras:VGG16.imagenet", range(5)),
                     _cache("torch:vgg16.IMAGENET1K_V1+legacy2019", range(6)),
                     _cache("torch:vgg16.IMAGENET1K_V1+bf16", range(7))])
    assert cli.main(["compare", "keras:vgg16", "torch:vgg16", "--precomputed", str(other)]) == 2
    err = capsys.readouterr().err
    assert "several runs" in err and "torch:vgg16.IMAGENET1K_V1+bf16" in err


def test_the_2019_outputs_are_legacy2019_runs_of_the_weights_they_used():
    from analysis_helpers import REFERENCE
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} not found")
    from imagenet_bench.cache import northcutt2019
    from imagenet_bench.data.imagenet_meta import full_val_image_ids
    n = 50000
    preds = northcutt2019.read_model(
        "keras", "mobilenetV2", str(REFERENCE / "keras_imagenet/mobilenetV2_keras_imagenet_top5preds.npy"),
        str(REFERENCE / "keras_imagenet/mobilenetV2_keras_imagenet_top5probs.npy"),
        np.arange(n) // 50, np.frombuffer("\n".join(full_val_image_ids()).encode(), np.uint8), "f" * 64)
    assert preds.qualname == "keras:MobileNetV2.imagenet+legacy2019"
    assert preds.provenance["name_2019"] == "mobilenetV2"


# --- run settings name the run ------------------------------------------------------------------

def test_every_run_setting_changes_the_identity(tmp_path):
    plain = run_config.build("torch:resnet50", "torch")
    assert plain.model == "torch:resnet50.IMAGENET1K_V1" and plain.recipe == plain.spec.recipe()
    same = run_config.build("torch:resnet50", "torch", resize=256, crop=224, interpolation="bilinear")
    assert same.model == plain.model  # the entry's own values: the same run
    crop = run_config.build("torch:resnet50", "torch", crop=200)
    assert crop.model.startswith("torch:resnet50.IMAGENET1K_V1+recipe-") and crop.recipe.crop == 200
    assert crop.overrides == {"crop": 200}
    assert run_config.build("torch:resnet50", "torch", mean=[0.5], std=[0.5]).model != crop.model
    assert run_config.build("inception_v3", "torch", preprocess="legacy2019").model == \
        "torch:inception_v3.IMAGENET1K_V1+legacy2019"
    assert run_config.build("torch:resnet50", amp="bf16").model == "torch:resnet50.IMAGENET1K_V1+bf16"
    assert run_config.build("torch:resnet50", amp="fp16").model == "torch:resnet50.IMAGENET1K_V1+fp16"
    assert run_config.build("torch:resnet50", weights="none").model == "torch:resnet50.IMAGENET1K_V1+random"
    ckpt = tmp_path / "fine_tuned.pth"
    ckpt.write_bytes(b"weights")
    import hashlib
    sha8 = hashlib.sha256(b"weights").hexdigest()[:8]
    assert run_config.build("torch:resnet50", checkpoint=str(ckpt)).model == \
        f"torch:resnet50.IMAGENET1K_V1+ckpt-{sha8}"
    assert run_config.build("torch:resnet50", weights="IMAGENET1K_V2").model == "torch:resnet50.IMAGENET1K_V2"
    regnet = run_config.build("regnet_x_400mf")  # outside 2019: the library's DEFAULT, resolved
    assert regnet.model == "torch:regnet_x_400mf.IMAGENET1K_V2" and regnet.recipe.resize == 232
    assert run_config.build("alexnet+legacy2019+bf16").model == "torch:alexnet.IMAGENET1K_V1+bf16+legacy2019"
    custom = run_config.build("mine", factory="pkg:fn", mean=[0.498], std=[0.502])
    assert custom.model.startswith("custom:mine+recipe-") and custom.framework == "torch"


@pytest.mark.parametrize("kw, expected", [
    (dict(amp="bf16"), "--amp: the Keras backend runs float32 only"),
    (dict(mean=[0.5]), "normalises with keras.applications"),
    (dict(crop=200), "takes 224x224 inputs"),
    (dict(batch_size=8), "--batch-size: the Keras backend runs one image at a time"),
    (dict(device="cuda"), "--device cuda"),
])
def test_options_the_keras_backend_cannot_honour_are_errors(kw, expected):
    with pytest.raises(InputError, match=expected):
        run_config.build("keras:MobileNet", **kw)


@pytest.mark.parametrize("argv, expected", [
    (["--model-factory", "torchvision.models:resnet18", "--name", "r", "--weights", "none"],
     "a --model-factory model comes with the weights its callable gives"),
    (["-m", "keras:VGG16", "--weights", "a.h5", "--checkpoint", "b.h5"], "give the weights file once"),
    (["-m", "torch:resnet50.IMAGENET1K_V2", "--preprocess", "legacy2019"], "34 models only"),
    (["-m", "keras:VGG16", "--amp"], "--amp: the Keras backend runs float32 only"),
    (["-m", "torch:resnet50", "--std", "0"], "--std 0.0,0.0,0.0: every value must be above 0. Fix:"),
    (["-m", "torch:resnet50+ckpt-12345678"], "setting +ckpt-12345678 cannot be requested by name"),
])
def test_predict_refuses_what_it_cannot_honour(argv, expected, tmp_path, capsys):
    assert cli.main(["predict", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_predict_refuses_a_non_classifier_entry_with_the_catalog_reason(tmp_path, capsys):
    assert cli.main(["predict", str(tmp_path), "-m", "torch:vgg16.IMAGENET1K_FEATURES"]) == 2
    err = capsys.readouterr().err
    reason = registry.resolve("torch:vgg16.IMAGENET1K_FEATURES")[1].not_runnable_reason
    assert reason in err and "Traceback" not in err


# --- the Keras parent never imports TensorFlow; offline weights name their file -------------------

def _parent_run(tmp_path, *argv):
    """`predict` in a fresh interpreter; prints whether tensorflow/keras got imported there."""
    code = ("import sys\nfrom imagenet_bench.cli import main as cli\n"
            f"rc = cli.main({list(argv)!r})\n"
            "print('RC', rc, 'TF', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n")
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "kh"), PYTHONPATH=os.getcwd())
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)


def test_keras_predict_parent_side_imports_no_tensorflow_and_names_the_weights_file(tmp_path):
    from conftest import make_valset
    val = make_valset(tmp_path / "val", num_classes=1, per_class=1)
    res = _parent_run(tmp_path, "predict", str(val), "-m", "keras:MobileNetV2", "-o", str(tmp_path / "o"))
    assert "RC 2 TF []" in res.stdout, res.stderr
    path = tmp_path / "kh" / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    assert str(path) in res.stderr and "Traceback" not in res.stderr
    assert ("https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5") in res.stderr


@pytest.mark.slow
def test_keras_predict_runs_in_the_child_only(tmp_path):
    """A whole Keras run (random weights): the model is built in the child, never in the parent."""
    from conftest import make_valset
    from imagenet_bench.cache import store as cache
    val = make_valset(tmp_path / "val", num_classes=1, per_class=2)
    res = _parent_run(tmp_path, "predict", str(val), "-m", "mobilenet", "--weights", "none",
                      "--no-progress", "-o", str(tmp_path / "o"))
    assert "RC 0 TF []" in res.stdout, res.stderr
    (path,) = cache.find_caches(str(tmp_path / "o"))
    assert os.path.basename(path).startswith("keras-MobileNet.imagenet+random.val2-")
    assert cache.load(path).provenance["backend"] == "keras"


# --- predict: run settings give their own caches; any runnable entry runs with its own recipe ----

FAST = ["--weights", "none", "-b", "4", "-j", "0", "--no-progress"]


def _caches(out):
    from imagenet_bench.cache import store as cache
    return {cache.load(p).model: cache.load(p) for p in cache.find_caches(str(out))}


@pytest.mark.parametrize("name, canonical", [
    ("torch:mobilenet_v3_small", "torch:mobilenet_v3_small.IMAGENET1K_V1"),
    ("shufflenet_v2_x0_5", "torch:shufflenet_v2_x0_5.IMAGENET1K_V1"),
])
def test_predict_runs_entries_outside_2019_with_their_own_recipe(name, canonical, tmp_path):
    pytest.importorskip("torch")
    from conftest import make_valset
    from imagenet_bench.cache import store as cache
    from imagenet_bench.data import datasets
    valdir = make_valset(tmp_path / "val", num_classes=1, per_class=2)  # one batch: fast
    assert cli.main(["predict", str(valdir), "-m", name, *FAST, "-o", str(tmp_path)]) == 0
    vs = datasets.discover(str(valdir))
    expected = tmp_path / cache.cache_filename(from_string(f"{canonical}+random"), vs.num_images, vs.fingerprint)
    assert cache.find_caches(str(tmp_path)) == [str(expected)]
    used = cache.load(str(expected)).provenance["preprocessing"]
    entry = registry.resolve(canonical)[1]
    assert (used["resize"], used["crop"], used["interpolation"]) == (entry.resize, entry.crop,
                                                                     entry.interpolation)
    assert used["mean"] == pytest.approx(list(entry.mean)) and used["std"] == pytest.approx(list(entry.std))


@pytest.mark.slow
def test_overrides_amp_and_checkpoint_runs_each_get_their_own_cache(tmp_path, valdir, capsys):
    torch = pytest.importorskip("torch")
    import torchvision
    base = ["predict", str(valdir), "-m", "squeezenet1_1", "-b", "4", "-j", "0", "--no-progress",
            "-o", str(tmp_path / "o")]
    ckpt = tmp_path / "tuned.pth"
    torch.manual_seed(1)
    torch.save(torchvision.models.squeezenet1_1().state_dict(), ckpt)
    for extra in (["--weights", "none"], ["--weights", "none", "--crop", "200", "--interpolation",
                                          "bicubic"], ["--weights", "none", "--amp", "bf16"],
                  ["--weights", "none", "--checkpoint", str(ckpt)]):
        assert cli.main(base + extra) == 0, capsys.readouterr().err
    caches = _caches(tmp_path / "o")
    import hashlib
    sha8 = hashlib.sha256(ckpt.read_bytes()).hexdigest()[:8]
    plain = "torch:squeezenet1_1.IMAGENET1K_V1"
    assert set(caches) == {f"{plain}+random", f"{plain}+bf16+random", f"{plain}+ckpt-{sha8}"} | {
        m for m in caches if m.startswith(f"{plain}+random+recipe-")}
    assert len(caches) == 4
    (over,) = [p for m, p in caches.items() if "+recipe-" in m]
    assert over.provenance["recipe_overrides"] == {"crop": 200, "interpolation": "bicubic"}
    assert (over.provenance["preprocessing"]["crop"], over.provenance["preprocessing"]["resize"]) == (200, 256)
    assert caches[f"{plain}+bf16+random"].provenance["precision"] == "bf16"
    assert caches[f"{plain}+ckpt-{sha8}"].provenance["weights_sha256"] == hashlib.sha256(
        ckpt.read_bytes()).hexdigest()
    assert not np.array_equal(caches[f"{plain}+random"].top5_prob, caches[f"{plain}+ckpt-{sha8}"].top5_prob)


@pytest.mark.slow  # a real download attempt: quick where DNS fails at once, slow where it times out
def test_offline_torchvision_weights_name_file_url_and_folder(tmp_path, valdir, monkeypatch, capsys):
    """No mock: this machine cannot reach download.pytorch.org, so the real download fails."""
    pytest.importorskip("torch")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    rc = cli.main(["predict", str(valdir), "-m", "torch:squeezenet1_1", "-o", str(tmp_path / "o")])
    if rc == 0:
        pytest.skip("download.pytorch.org is reachable here: this test needs a machine without it")
    err = capsys.readouterr().err
    where = tmp_path / "th" / "hub" / "checkpoints" / "squeezenet1_1-b8a52dc0.pth"
    assert f"Expected file: {where}" in err and "Traceback" not in err
    assert "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth" in err
