"""The Keras half of the model catalog: counts, preprocessing modes, weights files, staleness."""

import numpy as np
import pytest

from keras_helpers import keras, skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from imagenet_bench.models import catalog, keras_weights, registry  # noqa: E402
from test_catalog import committed, load_generator, skip_unless_versions  # noqa: E402


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_keras_counts_come_from_the_library():
    import inspect
    builders = {n for n in dir(keras().applications)
                if inspect.isfunction(getattr(keras().applications, n))
                and "include_top" in inspect.signature(getattr(keras().applications, n)).parameters}
    entries = catalog.load("keras")
    assert builders and {e.architecture for e in entries} == builders
    assert len(entries) == len(builders) and all(e.weights == "imagenet" for e in entries)


def _expected(mode, x, mean, std):
    """What preprocess_input does in each mode, from its definition (keras imagenet_utils)."""
    if mode == "caffe":  # RGB -> BGR, minus the ImageNet BGR mean, no scaling
        return x[..., ::-1] - np.array([103.939, 116.779, 123.68], np.float32)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        return (x / 255.0 - np.array(mean, np.float32)) / np.array(std, np.float32)
    return x


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_keras_preprocessing_mode_is_what_the_modules_preprocess_input_does():
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype(np.float32)
    modes = set()
    for e in catalog.load("keras"):
        module = keras(e.preprocess_module)  # imported after the Keras backend, as all of keras
        got = np.asarray(module.preprocess_input(x.copy()))
        np.testing.assert_allclose(got, _expected(e.preprocessing, x, e.mean, e.std),
                                   rtol=1e-5, atol=1e-4, err_msg=e.model)
        modes.add(e.preprocessing)
    assert modes == {"caffe", "tf", "torch", "none"}


def test_keras_weights_files_agree_with_keras_weights_for_the_2019_models():
    for spec in registry.list_models(framework="keras", study2019=True):
        (e,) = [e for e in catalog.load("keras") if e.architecture.lower() == spec.study.name.lower()]
        assert (e.file_name, e.url) == keras_weights.IMAGENET_WEIGHTS[spec.study.name], spec.study.name


@pytest.mark.slow
def test_keras_json_is_what_the_generator_writes_today():
    # builds each of the 40 applications once (download stubbed out): ~2-3 min on 2 cores
    skip_unless_versions("keras", ("keras", "tensorflow"))
    gen = load_generator()
    assert gen.dumps(gen.keras_document()) == committed("keras"), \
        "data/keras.json is stale: run python tools/gen_registry.py --only keras"


@pytest.mark.slow
@pytest.mark.parametrize("entry", [e for e in catalog.load("keras") if e.runnable],
                         ids=lambda e: e.architecture)
def test_every_keras_architecture_builds_with_random_weights_and_gives_1000_classes(entry):
    import gc
    module, name = entry.builder.split(":")
    model = getattr(keras(module), name)(weights=None)
    assert model.input_shape[1:3] in ((entry.input_size,) * 2, (None, None)), entry.model
    x = np.random.default_rng(0).uniform(0, 255, (1, entry.input_size, entry.input_size, 3))
    out = np.asarray(model(x.astype(np.float32), training=False))
    assert out.shape == (1, 1000), entry.model
    del model
    keras().backend.clear_session()
    gc.collect()
