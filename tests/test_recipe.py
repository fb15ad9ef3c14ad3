"""models/recipe: timm's vocabulary (image size, crop_pct, crop modes) with every existing
recipe's dict -- and so its ``+recipe-<sha8>`` -- unchanged."""
import hashlib
import json

import numpy as np
import pytest

from conftest import make_preds
from imagenet_bench.data import pixels
from imagenet_bench.analysis import published
from imagenet_bench.models import catalog, libraries
from imagenet_bench.models import recipe as recipes
from imagenet_bench.models.recipe import Recipe

OLD_KEYS = ["antialias", "crop", "interpolation", "mean", "normalization", "resize", "squash", "std"]


def _entry(model):
    return next(e for e in catalog.entries(model.split(":", 1)[0]) if e.model == model)


def _legacy(framework, *args):
    """The 2019 recipe through the pipeline the library declares (its Capabilities.legacy2019)."""
    return recipes.legacy2019(libraries.get(framework).capabilities.legacy2019, *args)


def _aggregate(recs):
    h = hashlib.sha256()
    for r in recs:
        h.update(json.dumps(r.as_dict(), sort_keys=True, separators=(",", ":")).encode() + b"\n")
    return h.hexdigest()[:16]


# Digests computed with the code BEFORE crop modes were added (commit ab8e299 of main,
# models/recipe.py as it was then), so the ids, caches and checkpoints they name keep their names.
PINNED_BEFORE = {
    "legacy torch 256/224": (lambda: _legacy("torch", 256, 224, "torch"), "054d4fc0"),
    "legacy torch 256/299": (lambda: _legacy("torch", 256, 299, "torch"), "e0988569"),
    "legacy keras 299": (lambda: _legacy("keras", 299, 299, "keras.applications.inception_v3"),
                         "da2628b8"),
    "legacy keras 224": (lambda: _legacy("keras", 224, 224, "keras.applications.resnet50"),
                         "98528e1d"),
    "torch resnet50 V2": (lambda: recipes.from_entry(_entry("torch:resnet50.IMAGENET1K_V2")), "6de906d9"),
    "keras ResNet50": (lambda: recipes.from_entry(_entry("keras:ResNet50.imagenet")), "81e9bc13"),
    "timm resnet50.a1_in1k": (lambda: recipes.from_entry(_entry("timm:resnet50.a1_in1k")), "afdcee48"),
    "override resize/crop/bicubic": (lambda: recipes.override(
        recipes.from_entry(_entry("torch:resnet50.IMAGENET1K_V2")), resize=232, crop=224,
        interpolation="bicubic"), "02e57448"),
    "override mean/std": (lambda: recipes.override(
        recipes.from_entry(_entry("torch:resnet50.IMAGENET1K_V1")), mean=[.5], std=[.5]), "4de0d5c9"),
    "override --resize on the keras squash": (lambda: recipes.override(
        _legacy("keras", 224, 224, "keras.applications.resnet50"), resize=256, crop=224),
        "540e1eee"),
    "override bilinear on the keras squash": (lambda: recipes.override(
        _legacy("keras", 224, 224, "keras.applications.resnet50"), interpolation="bilinear"),
        "1581dded"),
}

# sha256 over the canonical dicts of every catalog entry's reference recipe (sorted by model id),
# computed with the pre-crop-mode code (commit ab8e299); timm: its 1,689 crop_mode="center" tags
AGGREGATE_BEFORE = {"torch": ("99700dd0534ab24e", 129), "keras": ("46b62bd15b64a9d9", 40),
                    "timm": ("5ccda44f6d0c7704", 1689)}


@pytest.mark.parametrize("name", sorted(PINNED_BEFORE))
def test_existing_recipe_digests_are_unchanged(name):
    make, sha8 = PINNED_BEFORE[name]
    assert recipes.digest(make()) == sha8


@pytest.mark.parametrize("framework", sorted(AGGREGATE_BEFORE))
def test_every_existing_catalog_recipe_keeps_its_dict(framework):
    es = sorted(catalog.entries(framework), key=lambda e: e.model)
    if framework == "timm":
        es = [e for e in es if e.crop_mode == "center"]
    recs = [recipes.from_entry(e) for e in es]
    assert all(sorted(r.as_dict()) == OLD_KEYS for r in recs)  # crop_mode omitted: derivable
    assert (_aggregate(recs), len(recs)) == AGGREGATE_BEFORE[framework]


def test_a_timm_squash_at_crop_pct_1_keeps_its_old_dict_and_below_1_gains_its_resize():
    one = recipes.from_entry(_entry("timm:convnext_base.fb_in22k_ft_in1k_384"))  # squash, 1.0
    assert one.as_dict() == {"resize": None, "crop": 384, "squash": True, "interpolation": "bicubic",
                             "normalization": "torch", "mean": [0.485, 0.456, 0.406],
                             "std": [0.229, 0.224, 0.225], "antialias": True}
    f0 = recipes.from_entry(_entry("timm:dm_nfnet_f0.dm_in1k"))  # squash, crop_pct 0.9
    assert (f0.crop_mode, f0.resize, f0.crop, f0.scale) == ("squash", 213, 192, 213)
    assert f0.crop_pct == pytest.approx(0.9, abs=1 / 213)
    border = recipes.from_entry(_entry("timm:deepseek_vit_412m.deepseek_v4_1_flash"))
    assert border.crop_mode == "border" and border.as_dict()["crop_mode"] == "border"


def test_squash_and_crop_mode_are_one_field():
    a = Recipe(resize=None, crop=8, squash=True, interpolation="nearest", normalization="torch")
    b = Recipe(resize=None, crop=8, squash=False, interpolation="nearest", normalization="torch",
               crop_mode="squash")
    assert a == b and a.crop_mode == "squash" and b.squash
    with pytest.raises(ValueError, match="crop_mode 'edge': choose one of center, squash, border"):
        Recipe(resize=None, crop=8, squash=False, interpolation="nearest", normalization="torch",
               crop_mode="edge")
    with pytest.raises(ValueError, match="squash=True contradicts crop_mode='border'"):
        Recipe(resize=None, crop=8, squash=True, interpolation="nearest", normalization="torch",
               crop_mode="border")


def test_from_crop_pct_floors_like_timm_and_resize_option_means_center():
    r = recipes.from_crop_pct(288, 0.95, "squash", "bicubic")
    assert (r.resize, r.crop, r.crop_mode) == (303, 288, "squash")  # floor(288 / 0.95) = 303
    assert recipes.override(r, resize=320).crop_mode == "center"
    assert recipes.override(r, crop_pct=1.0).resize is None  # squash straight to the crop
    assert recipes.override(recipes.from_crop_pct(224, 0.875), crop_pct=0.95).resize == 235
    assert recipes.override(recipes.from_crop_pct(224, 0.875), crop_pct=1.15).resize == 194
    with pytest.raises(ValueError, match="--crop-pct 0.0: must be a finite fraction above 0"):
        recipes.override(r, crop_pct=0.0)
    with pytest.raises(ValueError, match="--resize 256 and crop_pct 0.9 both set the resize"):
        recipes.override(r, resize=256, crop_pct=0.9)


def test_border_pads_with_the_mean_colour_and_squash_crops():
    from PIL import Image
    img = Image.new("RGB", (40, 20), (10, 200, 30))
    border = Recipe(resize=None, crop=40, squash=False, interpolation="bilinear", normalization="torch",
                    mean=(0.5, 0.0, 1.0), crop_mode="border")
    out = np.asarray(pixels.apply_recipe(img, border))
    assert out.shape == (40, 40, 3)
    assert (out[:10] == (128, 0, 255)).all() and (out[-10:] == (128, 0, 255)).all()
    assert (out[10:30] == (10, 200, 30)).all()
    squash = Recipe(resize=50, crop=40, squash=True, interpolation="nearest", normalization="torch",
                    antialias=False)
    assert pixels.apply_recipe(img, squash).size == (40, 40)


@pytest.mark.parametrize("model", ["timm:dm_nfnet_f0.dm_in1k",  # squash, crop_pct 0.9
                                   "timm:convnext_base.fb_in22k_ft_in1k_384",  # squash, 1.0
                                   "timm:resnet50.a1_in1k"])  # center
def test_published_gives_no_recipe_reason_for_timms_own_transform(model):
    """What the timm backend records (timm_meta.recipe's keys) agrees with the registry's recipe."""
    e = _entry(model)
    scale = e.resize
    recorded = {"mode": "timm", "normalization": "torch", "input_size": e.input_size,
                "input_hw": [e.input_size] * 2, "resize": scale, "crop": e.crop,
                "crop_pct": e.crop / scale, "crop_mode": e.crop_mode,
                "interpolation": e.interpolation, "mean": list(e.mean), "std": list(e.std)}
    preds = make_preds([[0, 1, 2, 3, 4]], [0], model=model, framework="timm", weights=e.weights,
                       preprocessing=recorded)
    from imagenet_bench.models import registry
    spec = registry.spec_of(model)
    assert published.recipe_difference(preds, spec) == ""
    other = dict(recorded, resize=scale + 10)
    preds = make_preds([[0, 1, 2, 3, 4]], [0], model=model, framework="timm", weights=e.weights,
                       preprocessing=other)
    diff = published.recipe_difference(preds, spec)
    assert diff.startswith("timm preprocessing (") and f"{scale + 10}" in diff, diff
