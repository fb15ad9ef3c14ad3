"""``api.predict`` of a Keras model object: saved to ``<cache_dir>/keras-models/<hash>.keras``,
loaded by the Keras child process with ``keras.models.load_model``, run with the recipe given.

The slow tests share one tiny random-weight Keras model (32x32 input, 1000-class softmax) run
once on 8 real validation images; its cache's top-5 are checked against the model's own
``model.predict`` on inputs preprocessed here with PIL and numpy. The fast tests need no Keras:
a Keras model is recognised by its class's module, so plain objects stand in for one.
"""
import os
import shutil

import numpy as np
import pytest
from PIL import Image

import imagenet_bench as ib
from conftest import VAL_SUBSET
from imagenet_bench.backends.keras import saved
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.models.recipe import Recipe

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
RECIPE = Recipe(resize=36, crop=32, squash=False, interpolation="bilinear",
                normalization="torch", mean=MEAN, std=STD)


def _fake_keras(module="keras.src.models.functional"):
    return type("Functional", (), {"__module__": module})()


# ----------------------------------------------------------------------------- fast
def test_a_keras_model_object_needs_a_recipe_and_a_name(tmp_path):
    with pytest.raises(InputError, match=r"needs its preprocessing and a name\. Fix: pass "
                                         r"recipe=Recipe"):
        ib.predict(_fake_keras(), str(tmp_path), name="mine", cache_dir=str(tmp_path / "o"))


@pytest.mark.parametrize("options, named", [
    (dict(img_size=224), "img_size"), (dict(weights="none"), "weights"),
    (dict(batch_size=8), "batch_size"), (dict(device="cpu"), "device")])
def test_a_keras_model_object_refuses_the_options_of_a_named_model(tmp_path, options, named):
    with pytest.raises(InputError, match=rf" {named}=\.\.\.\): these options do not apply to "
                                         rf"this model object.*, one image at a time\. Fix: leave"):
        ib.predict(_fake_keras(), str(tmp_path), recipe=RECIPE, name="mine",
                   cache_dir=str(tmp_path / "o"), **options)


def test_a_keras_2_model_is_refused_naming_keras_3(tmp_path):
    with pytest.raises(InputError, match=r"tf_keras\.src\.engine\.Functional is not a Keras 3 "
                                         r"model.*Fix: build the model with Keras 3"):
        ib.predict(_fake_keras("tf_keras.src.engine"), str(tmp_path), recipe=RECIPE, name="m",
                   cache_dir=str(tmp_path / "o"))


def test_outputs_that_are_not_probabilities_are_refused():
    probs = np.full((2, 1000), 1e-3, np.float32)
    saved.check_probabilities(probs, "custom:m+keras-00000000")  # rows sum to 1: accepted
    logits = np.random.default_rng(0).normal(size=(2, 1000)).astype(np.float32)
    with pytest.raises(InputError, match=r"custom:m\+keras-00000000: the model's outputs are not "
                                         r"probabilities .*Fix: end the model with a softmax"):
        saved.check_probabilities(logits, "custom:m+keras-00000000")


# ----------------------------------------------------------------------------- slow
@pytest.fixture(scope="module")
def keras():
    from keras_helpers import keras as keras_module, skip_without_keras
    skip_without_keras()
    return keras_module()  # after the Keras backend: triton before TensorFlow


def _tiny(keras, side=32, classes=1000, seed=0):
    """Conv + pooling + softmax with weights wide enough that the top-5 are far apart."""
    keras.utils.set_random_seed(seed)
    init = keras.initializers.RandomNormal(stddev=1.0, seed=seed)
    inp = keras.Input((side, side, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu", kernel_initializer=init)(inp)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, keras.layers.Dense(classes, activation="softmax",
                                               kernel_initializer=init)(x))


def _input(path):
    """RECIPE written out: shorter side to 36 (bilinear, torchvision's rounding), centre 32x32
    crop, [0, 1], then (x - mean) / std per channel."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    size = (36, int(36 * h / w)) if w <= h else (int(36 * w / h), 36)
    img = img.resize(size, Image.BILINEAR)
    left, top = int(round((size[0] - 32) / 2.0)), int(round((size[1] - 32) / 2.0))
    x = np.asarray(img.crop((left, top, left + 32, top + 32)), np.float32) / 255
    return (x - np.float32(MEAN)) / np.float32(STD)


@pytest.fixture(scope="module")
def run(keras, tmp_path_factory):
    if not VAL_SUBSET.is_dir():
        pytest.skip(f"real val subset not found at {VAL_SUBSET}")
    work = tmp_path_factory.mktemp("keras_saved")
    val = work / "val"
    val.mkdir()
    for f in sorted(VAL_SUBSET.glob("*.JPEG"))[:8]:
        shutil.copy(f, val)
    model = _tiny(keras)
    out = str(work / "runs")
    preds = ib.predict(model, str(val), recipe=RECIPE, name="tiny", cache_dir=out, progress=False)
    return model, val, out, preds


@pytest.mark.slow
def test_the_cache_holds_the_models_own_top5_on_the_recipes_inputs(run):
    model, val, out, preds = run
    assert preds.model.startswith("custom:tiny+keras-") and preds.num_images == 8
    (kept,) = os.listdir(os.path.join(out, saved.MODELS_DIR))
    digest = saved.content_digest(os.path.join(out, saved.MODELS_DIR, kept))
    assert preds.model == f"custom:tiny+keras-{digest[:8]}" and kept == f"{digest[:16]}.keras"
    assert preds.provenance["weights"] == f"saved keras model sha256:{digest}"
    assert preds.provenance["parameters"] == model.count_params()
    assert preds.provenance["backend"] == "keras"
    x = np.stack([_input(val / i.rsplit("/", 1)[-1]) for i in preds.image_ids])  # wnid/FILE
    want = model.predict(x, verbose=0)
    top5 = np.argsort(-want, axis=1)[:, :5]
    ranked = np.log(-np.sort(-want, axis=1)[:, :6])
    assert np.all(np.diff(ranked, axis=1) < -1e-4)  # no near-ties: the ranks are meaningful
    assert (preds.top5_idx == top5).all()
    # the cache keeps probabilities as float16: 11 significant bits, steps of 2**-24 below 2**-14
    np.testing.assert_allclose(preds.top5_prob, np.take_along_axis(want, top5, 1), rtol=2 ** -10,
                               atol=2 ** -24)


@pytest.mark.slow
def test_a_rerun_resumes_and_a_changed_model_gets_another_id(run):
    model, val, out, preds = run
    mtime = os.stat(preds.path).st_mtime_ns
    again = ib.predict(model, str(val), recipe=RECIPE, name="tiny", cache_dir=out, progress=False)
    assert again.path == preds.path and os.stat(preds.path).st_mtime_ns == mtime
    assert (again.top5_idx == preds.top5_idx).all()
    weights = model.get_weights()
    model.set_weights([weights[0] + 1] + weights[1:])  # the same model, one kernel changed
    try:
        changed = saved.config(model, "tiny", RECIPE, out)
    finally:
        model.set_weights(weights)
    assert str(changed.model_id) != preds.model
    assert str(changed.model_id).startswith("custom:tiny+keras-")
    assert str(saved.config(model, "tiny", RECIPE, out).model_id) == preds.model


@pytest.mark.slow
def test_a_model_that_disagrees_with_the_recipe_or_imagenet_is_refused_before_it_runs(keras, tmp_path):
    out = str(tmp_path / "runs")
    with pytest.raises(InputError, match=r"output shape is \(None, 10\); ImageNet predictions "
                                         r"need one output of 1000 classes.*Fix: end the model"):
        ib.predict(_tiny(keras, classes=10), str(tmp_path), recipe=RECIPE, name="m", cache_dir=out)
    with pytest.raises(InputError, match=r"inputs of shape \(None, 64, 64, 3\), but the recipe "
                                         r"makes \(32, 32, 3\) images.*Fix: give a recipe"):
        ib.predict(_tiny(keras, side=64), str(tmp_path), recipe=RECIPE, name="m", cache_dir=out)

    class Scaled(keras.Model):  # a constructor argument Keras cannot serialise, no get_config
        def __init__(self, scale):
            super().__init__()
            self.dense, self.scale = keras.layers.Dense(1000, activation="softmax"), scale

        def call(self, x):
            return self.dense(keras.ops.mean(x, axis=(1, 2)) * self.scale.value)

    model = Scaled(type("Box", (), {"value": 2.0})())
    model(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(InputError, match=r"Keras cannot save this model to a \.keras file.*"
                                         r"NotImplementedError.*Fix: give its classes a get_config"):
        ib.predict(model, str(tmp_path), recipe=RECIPE, name="m", cache_dir=out)
    assert os.listdir(os.path.join(out, saved.MODELS_DIR)) == []  # nothing half-written


@pytest.mark.slow
def test_a_model_the_child_cannot_rebuild_is_a_project_error(keras, tmp_path):
    class Pooled(keras.Model):  # saves, but a fresh process does not know the class
        def __init__(self, **kw):
            super().__init__(**kw)
            self.dense = keras.layers.Dense(1000, activation="softmax")

        def call(self, x):
            return self.dense(keras.ops.mean(x, axis=(1, 2)))

    model = Pooled()
    model(np.zeros((1, 32, 32, 3), np.float32))
    with pytest.raises(BenchError, match=r"keras\.models\.load_model cannot load the saved model "
                                         r".*Could not locate class 'Pooled'.*Fix: build the model "
                                         r"from built-in Keras layers"):
        ib.predict(model, str(tmp_path), recipe=RECIPE, name="m", cache_dir=str(tmp_path / "r"))


@pytest.mark.slow
def test_a_model_without_its_softmax_is_refused_when_it_runs(keras, tmp_path):
    """Logits would be scored as probabilities: the child checks every output it returns."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1000)(x))
    val = tmp_path / "val"
    val.mkdir()
    shutil.copy(sorted(VAL_SUBSET.glob("*.JPEG"))[0], val)
    with pytest.raises(BenchError, match=r"custom:logits\+keras-[0-9a-f]{8}: the model's outputs "
                                         r"are not probabilities.*Fix: end the model with a softmax"):
        ib.predict(model, str(val), recipe=RECIPE, name="logits", cache_dir=str(tmp_path / "r"),
                   progress=False)
    assert not list((tmp_path / "r").glob("*.npz"))


@pytest.mark.slow
def test_a_recipe_normalization_that_names_no_preprocess_input_is_refused(keras):
    from imagenet_bench.backends.keras import child
    bad = Recipe(resize=36, crop=32, squash=False, interpolation="bilinear",
                 normalization="keras.applications.no_such_model")
    with pytest.raises(BenchError, match=r"normalization 'keras\.applications\.no_such_model': no "
                                         r"module of that name with a preprocess_input function\. "
                                         r"Fix: normalization='torch'"):
        child.normalizer(bad)


@pytest.mark.slow
def test_a_script_without_a_main_guard_is_told_to_add_one(keras, tmp_path):
    import subprocess
    import sys
    from keras_helpers import REPO
    val = tmp_path / "val"
    val.mkdir()
    for f in sorted(VAL_SUBSET.glob("*.JPEG"))[:2]:
        shutil.copy(f, val)
    script = tmp_path / "run.py"  # module-level code: the spawned worker runs it again
    script.write_text(
        "import keras\nimport imagenet_bench as ib\nfrom imagenet_bench.models.recipe import Recipe\n"
        "inputs = keras.Input((32, 32, 3))\n"
        "x = keras.layers.GlobalAveragePooling2D()(inputs)\n"
        "model = keras.Model(inputs, keras.layers.Dense(1000, activation='softmax')(x))\n"
        "recipe = Recipe(resize=36, crop=32, squash=False, interpolation='bilinear', "
        "normalization='keras.applications.mobilenet_v2')\n"
        f"ib.predict(model, {str(val)!r}, recipe=recipe, name='tiny', "
        f"cache_dir={str(tmp_path / 'out')!r}, progress=False)\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "died while starting" in done.stderr
    assert 'from a Python script, call predict under `if __name__ == "__main__":`' in done.stderr
