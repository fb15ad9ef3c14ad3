"""A timm entry's recipe is data like any other: the registry's Recipe, run through
data/pixels, gives the pixels of timm's own resolve_data_config + create_transform, for one
tag of each crop mode, on real validation images (square as shipped, and cut to portrait and
landscape so the modes differ)."""
import os

import numpy as np
import pytest

from conftest import normalize, require_subset
from imagenet_bench.data import pixels
from imagenet_bench.models import catalog
from imagenet_bench.models import recipe as recipes

timm = pytest.importorskip("timm")

#: one tag per crop mode (border: a feature backbone, whose transform timm still resolves),
#: plus timm's own overrides of crop_pct, so resize != crop in every mode
CASES = [("timm:resnet50.a1_in1k", {}),  # center, bicubic, crop_pct 0.95
         ("timm:dm_nfnet_f0.dm_in1k", {}),  # squash, bicubic, crop_pct 0.9
         ("timm:convnext_base.fb_in22k_ft_in1k_384", {}),  # squash, crop_pct 1.0
         ("timm:deepseek_vit_412m.deepseek_v4_flash_vision_exp", {}),  # border, crop_pct 1.0
         ("timm:deepseek_vit_412m.deepseek_v4_flash_vision_exp", {"crop_pct": 0.9})]  # border, 0.9


def _images(n=4):
    from PIL import Image
    folder = require_subset()
    names = sorted(os.listdir(folder))[:n]
    out = []
    for name in names:
        with Image.open(os.path.join(folder, name)) as im:
            img = im.convert("RGB")
        w, h = img.size
        out += [(name, img), (name + " portrait", img.crop((40, 0, w - 60, h))),
                (name + " landscape", img.crop((0, 30, w, h - 75)))]
    return out


@pytest.mark.parametrize("model,override", CASES, ids=lambda v: str(v) if v else "")
def test_recipe_pixels_equal_timms_transform_on_real_images(model, override):
    from timm.data import create_transform, resolve_data_config
    from timm.models import get_pretrained_cfg
    entry = next(e for e in catalog.entries("timm") if e.model == model)
    cfg = resolve_data_config(dict(override), pretrained_cfg=get_pretrained_cfg(model[5:]).to_dict())
    recipe = recipes.from_entry(entry)
    if override:
        recipe = recipes.override(recipe, crop_pct=override["crop_pct"])
    assert recipe.crop_mode == cfg["crop_mode"] and recipe.crop == cfg["input_size"][1]
    assert recipe == recipes.from_timm_config(cfg)  # the catalog's data and timm's config agree
    transform = create_transform(**cfg, is_training=False)
    worst = 0.0
    images = _images()
    for name, img in images:
        theirs = transform(img).numpy().transpose(1, 2, 0)
        ours = normalize(np.asarray(pixels.apply_recipe(img, recipe)), recipe.mean, recipe.std)
        assert ours.shape == theirs.shape, name
        worst = max(worst, float(np.abs(ours - theirs).max()))
    print(f"{model} {override or ''}: crop_mode={recipe.crop_mode} resize={recipe.resize} "
          f"crop={recipe.crop} {recipe.interpolation}: {len(images)} real images, "
          f"max |ours - timm| = {worst:.2e}")
    assert worst <= 1e-6
