"""pixels: decoding, colour modes, resize/crop geometry, bad files; equality with torchvision."""
import os

import numpy as np
import pytest
from PIL import Image

from conftest import SUBSET, normalize, synthetic_image, torchvision_recipe
from imagenet_bench.data import pixels
from imagenet_bench.models.recipe import Recipe
from imagenet_bench.models.registry import get_model

REF = Recipe(resize=256, crop=224, squash=False, interpolation="bilinear", normalization="torch")


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "RGBA", "RGB"])
def test_any_mode_becomes_rgb(tmp_path, mode):
    img = synthetic_image(1, (90, 70)).convert(mode)
    path = tmp_path / ("x.jpg" if mode in ("L", "CMYK", "RGB") else "x.png")
    img.save(path)
    out = pixels.load(str(path), REF)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    assert np.array_equal(out, np.asarray(pixels.apply_recipe(Image.open(path).convert("RGB"), REF)))


def test_geometry_matches_torchvision_rounding():
    assert pixels.resized_size(500, 375, 256) == (341, 256)
    assert pixels.resized_size(375, 500, 256) == (256, 341)
    assert pixels.resized_size(227, 227, 342) == (342, 342)


def test_crop_larger_than_image_is_black_padded_like_2019():
    img = Image.new("RGB", (341, 256), (200, 100, 50))
    out = np.asarray(pixels.center_crop(img, 299))
    # torchvision 0.2 (2019): top = round((256 - 299) / 2) = -22 -> 22 black rows above, 21 below
    assert out.shape == (299, 299, 3)
    assert (out[:22] == 0).all() and (out[22] == (200, 100, 50)).all()
    assert (out[-21:] == 0).all() and (out[-22] == (200, 100, 50)).all()


def test_squash_ignores_aspect_ratio():
    r = Recipe(resize=None, crop=32, squash=True, interpolation="nearest", normalization="x",
               antialias=False)
    assert pixels.apply_recipe(synthetic_image(0, (100, 20)), r).size == (32, 32)


@pytest.mark.parametrize("content,what", [(b"", "empty"), (b"not an image at all", "text")])
def test_non_images_raise_naming_the_file(tmp_path, content, what):
    path = tmp_path / f"{what}.JPEG"
    path.write_bytes(content)
    with pytest.raises(pixels.BadImageError, match=f"{what}.JPEG: cannot read image"):
        pixels.load(str(path), REF)


def test_truncated_jpeg_raises(tmp_path):
    good = tmp_path / "good.jpg"
    synthetic_image(3, (300, 200)).save(good, quality=95)
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(pixels.BadImageError, match="(?i)cut.jpg.*truncated"):
        pixels.load(str(bad), REF)


def test_normalize_is_tensor_arithmetic():
    x = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    out = normalize(x, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert out.dtype == np.float32
    assert np.allclose(out, (x / 255.0 - 0.5) / 0.25, atol=1e-6)


def _real_photos():
    files = sorted(SUBSET.glob("*.JPEG"))[:4] if SUBSET.is_dir() else []
    try:
        import skimage
        d = os.path.join(os.path.dirname(skimage.__file__), "data")
        files += [os.path.join(d, f) for f in ("chelsea.png", "coffee.png", "rocket.jpg", "camera.png")]
    except ImportError:
        pass
    return [str(f) for f in files if os.path.exists(f)]


@pytest.mark.parametrize("model", ["resnet50", "inception_v3", "alexnet"])
def test_reference_recipe_equals_torchvision_weights_transforms(model):
    torch = pytest.importorskip("torch")
    from torchvision.transforms import functional as F
    from imagenet_bench.backends import torch as torch_backend
    photos = _real_photos()
    if not photos:
        pytest.skip("no real photos (../shared subset or scikit-image) available")
    spec = get_model(model, "torch")
    weights = torch_backend.resolve_weights(spec.entry.builder, spec.id.tag)
    recipe = torchvision_recipe(weights)
    t = weights.transforms()
    for path in photos:
        expected = t(Image.open(path).convert("RGB"))
        ours = torch.from_numpy(pixels.load(path, recipe).copy()).permute(2, 0, 1)
        ours = F.normalize(ours.float().div(255), list(recipe.mean), list(recipe.std))
        assert torch.equal(ours, expected), path


@pytest.mark.parametrize("model,mode", [("resnet50", "reference"), ("inception_v3", "reference"),
                                        ("inception_v3", "legacy2019"), ("vgg16", "legacy2019")])
def test_torch_backend_pixels_equal_pixels_module(model, mode):
    """The torch backend resizes with torchvision's functional transforms where they apply;
    both implementations give the same bytes."""
    pytest.importorskip("torch")
    from imagenet_bench.backends import torch as torch_backend
    photos = _real_photos()
    if not photos:
        pytest.skip("no real photos (../shared subset or scikit-image) available")
    spec = get_model(model, "torch")
    recipe = (torchvision_recipe(torch_backend.resolve_weights(spec.entry.builder, spec.id.tag))
              if mode == "reference" else spec.recipe(mode))
    assert torch_backend.uses_torchvision_transforms(recipe) == (recipe.resize >= recipe.crop)
    for path in photos:
        assert np.array_equal(torch_backend.load_pixels(path, recipe), pixels.load(path, recipe)), path


def test_dataset_pixels_runner_do_not_import_torch():
    import subprocess
    import sys
    code = ("import sys; import imagenet_bench.data.datasets, imagenet_bench.data.pixels, imagenet_bench.run.runner; "
            "bad = [m for m in ('torch', 'torchvision', 'tensorflow', 'keras') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert res.returncode == 0, res.stdout + res.stderr
