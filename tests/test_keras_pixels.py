"""The shared pixels.py gives Keras exactly what load_img(target_size=...) gave the 2019 study."""
import numpy as np
import pytest

from keras_helpers import keras, skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from conftest import SUBSET, synthetic_image  # noqa: E402
from imagenet_bench.data import pixels  # noqa: E402
from imagenet_bench.models.registry import get_model  # noqa: E402


def _load_img_2019(path, s):
    return keras().utils.img_to_array(keras().utils.load_img(path, target_size=(s, s)))


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK", "P", "RGBA"])
@pytest.mark.parametrize("name", ["mobilenet", "xception", "nasnetlarge"])
def test_legacy2019_pixels_equal_keras_load_img(tmp_path, mode, name):
    spec = get_model(f"keras:{name}")
    s = spec.entry.input_size
    path = tmp_path / f"x.{'jpg' if mode in ('RGB', 'L', 'CMYK') else 'png'}"
    synthetic_image(3, (97, 61)).convert(mode).save(path)
    got = pixels.load(str(path), spec.recipe("legacy2019"))
    assert got.shape == (s, s, 3) and got.dtype == np.uint8
    assert np.array_equal(got.astype(np.float32), _load_img_2019(str(path), s))


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_legacy2019_pixels_equal_keras_load_img_on_real_photos():
    if not SUBSET.is_dir():
        pytest.skip(f"real val subset not found at {SUBSET} (../shared beside the repository)")
    recipe = get_model("keras:inceptionv3").recipe("legacy2019")
    for path in sorted(SUBSET.glob("*.JPEG"))[:20]:
        assert np.array_equal(pixels.load(str(path), recipe).astype(np.float32),
                              _load_img_2019(str(path), 299)), path.name


def test_reference_recipe_is_bicubic_shorter_side_then_centre_crop(tmp_path):
    spec = get_model("keras:xception")
    r = spec.recipe("reference")
    assert (r.resize, r.crop, r.interpolation, r.squash) == (342, 299, "bicubic", False)
    path = tmp_path / "wide.png"
    img = synthetic_image(5, (400, 300))
    img.save(path)
    from PIL import Image
    big = img.resize((456, 342), Image.BICUBIC)  # shorter side 300 -> 342
    left, top = int(round((456 - 299) / 2)), int(round((342 - 299) / 2))
    want = np.asarray(big.crop((left, top, left + 299, top + 299)))
    assert np.array_equal(pixels.load(str(path), r), want)
