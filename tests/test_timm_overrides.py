"""Recipe overrides for timm models, through timm's own transform factory (issue #23, item 2).

The pixels of ``predict``'s timm backend with ``--img-size/--crop-pct/--resize/--crop/
--interpolation/--mean/--std`` must equal timm's ``create_transform`` of
``resolve_data_config(<the same overrides in timm's words>, pretrained_cfg=...)`` on real
ImageNet validation images; the overrides are recorded and name the cache.
"""
import glob
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from imagenet_bench.errors import InputError
from imagenet_bench.models import recipe as recipes
from imagenet_bench.run import config as run_config

timm = pytest.importorskip("timm")
torch = pytest.importorskip("torch")
from timm.data import create_transform, resolve_data_config  # noqa: E402
from PIL import Image  # noqa: E402

from imagenet_bench.backends import timm as tb  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CENTER = "timm:resnet18.a1_in1k"  # crop_pct 0.95, bicubic
SQUASH = "timm:convnext_base.fb_in22k_ft_in1k_384"  # crop_mode squash, crop_pct 1.0

#: (model, predict's options, the same overrides as timm's resolve_data_config args)
CASES = [
    (CENTER, dict(img_size=160), {"img_size": 160}),
    (CENTER, dict(img_size=288, crop_pct=1.0), {"img_size": 288, "crop_pct": 1.0}),
    (CENTER, dict(crop_pct=0.875), {"crop_pct": 0.875}),
    (CENTER, dict(resize=200, crop=176, interpolation="bilinear"),
     {"img_size": 176, "crop_pct": 176 / 200, "crop_mode": "center", "interpolation": "bilinear"}),
    (CENTER, dict(mean=[0.5], std=[0.5, 0.4, 0.3]), {"mean": (0.5,), "std": (0.5, 0.4, 0.3)}),
    (SQUASH, dict(img_size=256, interpolation="bilinear"),
     {"img_size": 256, "interpolation": "bilinear"}),
    (SQUASH, dict(crop_pct=0.9), {"crop_pct": 0.9}),
]


@pytest.fixture
def images(val_subset_dir):
    paths = sorted(glob.glob(os.path.join(str(val_subset_dir), "**", "*.JPEG"), recursive=True))
    assert len(paths) >= 1300
    return paths[::433][:3]  # three real images of different sizes and aspect ratios


@pytest.fixture
def no_model(monkeypatch):
    """from_config without building the network (only the transform is under test)."""
    monkeypatch.setattr(tb, "build", lambda spec, weights, checkpoint: (
        torch.nn.Identity(), {"weights": "random(seed=0)"}))



def _provenance(backend):
    """What the runner records for ``backend`` (run/provenance.py: its config and its facts)."""
    from types import SimpleNamespace
    from imagenet_bench.run import provenance
    return provenance.of_run(backend.config, backend.provenance(),
                             SimpleNamespace(fingerprint="f", num_images=1),
                             batch_size=backend.batch_size, save_all_probs=False)

@pytest.mark.parametrize("model,options,timm_args", CASES,
                         ids=[f"{m.split('.')[0][5:]}-{'-'.join(o)}" for m, o, _ in CASES])
def test_pixels_equal_timms_create_transform_with_the_same_overrides(model, options, timm_args,
                                                                     images, no_model):
    backend = tb.from_config(run_config.build(model, weights="none", workers=0, **options))
    pretrained = timm.models.get_pretrained_cfg(model[5:]).to_dict()
    reference = create_transform(**resolve_data_config(timm_args, pretrained_cfg=pretrained),
                                 is_training=False)
    default = create_transform(**resolve_data_config({}, pretrained_cfg=pretrained), is_training=False)
    for path in images:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        ours, theirs = backend.preprocess(path), reference(rgb).numpy()
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs), path
        plain = default(rgb).numpy()
        assert ours.shape != plain.shape or not np.array_equal(ours, plain)  # the override acted
    prov = _provenance(backend)
    assert prov["recipe_overrides"] == {k: v for k, v in options.items()}
    assert prov["timm_data_config"] == {k: list(v) if isinstance(v, tuple) else v for k, v in
                                        sorted(resolve_data_config(timm_args,
                                                                   pretrained_cfg=pretrained).items())}
    digest = recipes.digest(recipes.from_timm_config(resolve_data_config(timm_args,
                                                                         pretrained_cfg=pretrained)))
    assert str(backend.config.model_id) == f"{model}+random+recipe-{digest}"


def test_img_size_keeps_the_tags_exact_crop_pct(no_model):
    """validate.py's --img-size: resize floor(288 / 0.95) = 303, from timm's crop_pct, not 224/235."""
    b = tb.from_config(run_config.build(CENTER, weights="none", img_size=288))
    assert (b.recipe.resize, b.recipe.crop) == (303, 288) and b.data_config["crop_pct"] == 0.95
    assert b.timm_args == {"img_size": 288}


def test_resize_and_crop_give_exactly_those_sides_through_crop_pct(no_model):
    for resize, crop in ((256, 224), (232, 224), (331, 299), (300, 257)):
        b = tb.from_config(run_config.build(CENTER, weights="none", resize=resize, crop=crop))
        assert (b.recipe.resize, b.recipe.crop, b.recipe.crop_mode) == (resize, crop, "center")
        assert math.floor(crop / b.data_config["crop_pct"]) == resize  # transforms_imagenet_eval's rule
        assert f"Resize(size={resize}," in repr(b.transform)


def test_no_override_keeps_the_plain_id_and_the_registry_recipe(no_model):
    b = tb.from_config(run_config.build(CENTER, weights="none"))
    assert str(b.config.model_id) == f"{CENTER}+random" and b.timm_args == {}
    same = tb.from_config(run_config.build(CENTER, weights="none", crop_pct=0.95))
    assert str(same.config.model_id) == f"{CENTER}+random"  # the tag's own crop_pct: the same recipe, the same id


def test_timm_spellings_for_a_torchvision_model():
    cfg = run_config.build("torch:resnet50.IMAGENET1K_V1", weights="none", img_size=288)
    assert (cfg.recipe.resize, cfg.recipe.crop) == (329, 288)  # crop_pct 224/256 kept, floored
    assert cfg.model.startswith("torch:resnet50.IMAGENET1K_V1+random+recipe-")
    cfg = run_config.build("torch:resnet50.IMAGENET1K_V1", weights="none", img_size=224,
                           crop_pct=1.0)
    assert (cfg.recipe.resize, cfg.recipe.crop) == (224, 224)
    assert cfg.overrides == {"img_size": 224, "crop_pct": 1.0}


@pytest.mark.parametrize("options,message", [
    (dict(img_size=200, crop=224), "--img-size 200 and --crop 224 both set the image size; give one"),
    (dict(resize=256, crop_pct=0.9), "--resize 256 and --crop-pct 0.9 both set the resize; give one"),
    (dict(crop_pct=0.0), "--crop-pct 0.0: must be a finite fraction above 0"),
])
def test_contradicting_or_impossible_overrides_are_refused(options, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run_config.build(CENTER, weights="none", **options)


@pytest.mark.slow
def test_predict_timm_with_img_size_and_crop_pct_records_and_names_them(val_subset_dir, tmp_path):
    """The command line end to end on 4 real images (random weights)."""
    val = tmp_path / "val"
    val.mkdir()
    for path in sorted(glob.glob(os.path.join(str(val_subset_dir), "*.JPEG")))[:4]:
        os.symlink(path, val / os.path.basename(path))
    cmd = [sys.executable, "-m", "imagenet_bench", "predict", "-m", CENTER, "--weights", "none",
           "--img-size", "160", "--crop-pct", "1.0", "-j", "0", "--no-progress", "-o",
           str(tmp_path / "out"), str(val)]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (cache_file,) = (tmp_path / "out").glob("*.npz")
    assert cache_file.name.startswith("timm-resnet18.a1_in1k+random+recipe-")
    from imagenet_bench.cache import store
    prov = store.load(str(cache_file)).provenance
    assert prov["recipe_overrides"] == {"img_size": 160, "crop_pct": 1.0}
    assert prov["timm_args"] == {"crop_pct": 1.0, "img_size": 160}
    assert prov["timm_data_config"]["input_size"] == [3, 160, 160]
    assert prov["preprocessing"]["resize"] == 160 and prov["preprocessing"]["crop"] == 160
    print(json.dumps({k: prov[k] for k in ("model", "recipe_overrides", "timm_args",
                                            "timm_data_config")}, indent=1))
