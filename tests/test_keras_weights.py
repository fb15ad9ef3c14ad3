"""Offline ImageNet weights: the expected files, and errors that say where to put them."""
import time

import pytest

from keras_helpers import backend as kb, keras, skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from imagenet_bench.models import keras_weights  # noqa: E402
from imagenet_bench.errors import BenchError  # noqa: E402
from imagenet_bench.models.registry import get_model, list_models  # noqa: E402


def test_every_keras_model_has_a_weights_entry():
    names = {s.study.name for s in list_models(framework="keras", study2019=True)}
    assert names == set(keras_weights.IMAGENET_WEIGHTS)


class _Stop(Exception):
    pass


def _requested_download(monkeypatch, builder):
    """(file name, URL, cache_subdir) the application passes to get_file for weights='imagenet'."""
    from keras.src.utils import file_utils
    seen = {}

    def fake_get_file(fname, origin, **kw):
        seen.update(fname=fname, origin=origin, subdir=kw.get("cache_subdir"))
        raise _Stop()

    monkeypatch.setattr(file_utils, "get_file", fake_get_file)
    with pytest.raises(_Stop):
        builder(weights="imagenet")
    keras().backend.clear_session()
    return seen["fname"], seen["origin"], seen["subdir"]


@pytest.mark.slow
def test_mobilenetv2_download_target_is_what_keras_requests(monkeypatch):
    got = _requested_download(monkeypatch, keras().applications.MobileNetV2)
    assert got == keras_weights.IMAGENET_WEIGHTS["mobilenetV2"] + ("models",)


@pytest.mark.slow
def test_every_download_target_is_what_keras_requests(monkeypatch):
    # Builds all 13 architectures (get_file runs after the graph is built): ~40 s.
    for spec in list_models(framework="keras", study2019=True):
        got = _requested_download(monkeypatch, kb()._builder(spec))
        assert got == keras_weights.IMAGENET_WEIGHTS[spec.study.name] + ("models",), spec.study.name


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_missing_imagenet_weights_fail_fast_naming_path_url_and_flag(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    spec = get_model("keras:xception")
    t = time.monotonic()
    with pytest.raises(BenchError) as e:
        kb().build_model(spec, "imagenet")
    assert time.monotonic() - t < 5  # no download attempt, no hang
    msg = str(e.value)
    expected = tmp_path / "models" / "xception_weights_tf_dim_ordering_tf_kernels.h5"
    assert str(expected) in msg
    assert keras_weights.IMAGENET_WEIGHTS["xception"][1] in msg
    assert "--weights FILE" in msg and "KERAS_HOME" in msg


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_weights_file_that_does_not_exist(tmp_path):
    with pytest.raises(BenchError, match=r"--weights .*nope\.h5: no such file"):
        kb().build_model(get_model("keras:mobilenet"), str(tmp_path / "nope.h5"))


@pytest.mark.slow
def test_weights_file_of_another_architecture_is_refused(tmp_path):
    path = tmp_path / "mnv2.weights.h5"
    kb().build_model(get_model("keras:mobilenetV2"), None).save_weights(str(path))
    with pytest.raises(BenchError) as e:
        kb().build_model(get_model("keras:mobilenet"), str(path))
    assert "cannot be loaded into keras:MobileNet.imagenet" in str(e.value)
    assert str(path) in str(e.value)
