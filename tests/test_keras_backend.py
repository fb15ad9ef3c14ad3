"""Keras backend: architectures with random weights, the compiled call, weights files."""
import numpy as np
import pytest

from keras_helpers import backend as kb, keras, skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from imagenet_bench.models.registry import get_model  # noqa: E402

from conftest import synthetic_image  # noqa: E402


def synthetic_images(folder, n):
    """``n`` small images of varied sizes and modes (RGB JPEG, greyscale PNG)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = synthetic_image(i, [(64, 48), (50, 90), (120, 120)][i % 3])
        path = folder / (f"{i}.png" if i % 2 else f"{i}.jpg")
        (img.convert("L") if i % 2 else img).save(path)
        paths.append(str(path))
    return paths


def _check_architecture(name, images):
    spec = get_model(f"keras:{name}")
    with kb().KerasBackend(spec, weights=None, preprocess="reference") as clf:
        assert clf.input_size == spec.entry.input_size
        xs = [clf.to_input(clf.preprocess(p)) for p in images]
        assert all(x.shape == (1, spec.entry.input_size, spec.entry.input_size, 3) for x in xs)
        probs = np.stack([clf.predict_one(x) for x in xs])
        ref = clf.keras_model.predict(np.concatenate(xs[:1]), verbose=0)[0]
    assert probs.shape == (len(images), 1000)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)
    # The compiled call and model.predict compute the same thing.
    np.testing.assert_allclose(probs[0], ref, rtol=1e-5, atol=1e-7)
    assert np.argsort(-probs[0])[:5].tolist() == np.argsort(-ref)[:5].tolist()
    if name != "mobilenet":  # random MobileNet outputs are exactly uniform (vanishing activations)
        assert (probs.max(1) - probs.min(1) > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mobilenet", "resnet50", "densenet121"])  # mobilenet: smoke only
def test_224_architectures_random_weights(name, tmp_path):
    _check_architecture(name, synthetic_images(tmp_path, 3))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["xception", "nasnetlarge"])
def test_299_and_331_architectures_random_weights(name, tmp_path):
    _check_architecture(name, synthetic_images(tmp_path, 2))


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_preprocess_is_the_modules_own_preprocess_input():
    pix = np.random.RandomState(1).randint(0, 256, (224, 224, 3)).astype(np.float32)
    for name, module in [("vgg16", keras().applications.vgg16),
                         ("mobilenetV2", keras().applications.mobilenet_v2),
                         ("densenet121", keras().applications.densenet)]:
        spec = get_model(f"keras:{name}")
        pre = kb()._preprocess_input(spec)
        assert pre is module.preprocess_input
        got = np.asarray(pre(pix[None].copy()))
        assert not np.array_equal(got, pix[None])  # caffe / tf / torch modes all change pixels


@pytest.mark.slow
def test_weights_saved_to_h5_load_back_with_identical_outputs(tmp_path):
    spec = get_model("keras:densenet121")  # random MobileNets output exactly uniform probabilities
    images = synthetic_images(tmp_path / "img", 3)
    wfile = tmp_path / "dn121.weights.h5"
    legacy = tmp_path / "dn121_legacy.h5"  # the layout of the files Keras Applications download
    with kb().KerasBackend(spec, weights=None, seed=123) as clf:
        clf.keras_model.save_weights(str(wfile))
        import h5py
        from keras.src.legacy.saving import legacy_h5_format
        with h5py.File(legacy, "w") as f:
            legacy_h5_format.save_weights_to_hdf5_group(f, clf.keras_model)
        xs = [clf.to_input(clf.preprocess(p)) for p in images]
        ref = np.stack([clf.predict_one(x) for x in xs])
    assert (ref.max(1) - ref.min(1) > 0).all()  # informative outputs, so equality means something
    for path in (wfile, legacy):
        # a different seed: any weight not loaded from the file would show
        with kb().KerasBackend(spec, weights=str(path), seed=7) as clf:
            got = np.stack([clf.predict_one(x) for x in xs])
            assert clf.provenance()["weights"].startswith(f"file:{path} sha256:")
        assert np.array_equal(got, ref), path.name


@pytest.mark.slow
def test_calibrate_batchnorm_makes_random_mobilenet_informative_and_files_agree(tmp_path):
    spec = get_model("keras:mobilenet")
    images = synthetic_images(tmp_path / "img", 6)
    with kb().KerasBackend(spec, weights=None, preprocess="legacy2019") as clf:
        xs = np.concatenate([clf.to_input(clf.preprocess(p)) for p in images])
        before = clf.keras_model.predict(xs[3:], verbose=0)
        assert (before.max(1) == before.min(1)).all()  # the problem: exactly uniform
        assert kb().calibrate_batchnorm(clf.keras_model, xs[:3]) == 27
        wfile = str(tmp_path / "mobilenet.informative.weights.h5")
        clf.keras_model.save_weights(wfile)
    # the two paths of the benchmark, both from the file: model.predict and the compiled call
    ref = kb().build_model(spec, wfile, seed=5).predict(xs[3:], verbose=0)
    with kb().KerasBackend(spec, weights=wfile, preprocess="legacy2019", seed=7) as clf:
        got = np.stack([clf.predict_one(x[None]) for x in xs[3:]])
    assert (ref.max(1) > 1.5 / ref.shape[1]).all()  # no longer uniform
    assert len({tuple(np.argsort(-p)[:5]) for p in ref}) == len(ref)  # a top-5 of its own per image
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)
    assert (np.argsort(-got, 1)[:, :5] == np.argsort(-ref, 1)[:, :5]).all()


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_library_versions_name_keras_and_tensorflow():
    v = kb().library_versions()
    assert v["keras"] == keras().__version__ and v["tensorflow"] and v["keras_backend"] == "tensorflow"
