"""The open_clip entries' pixels against open_clip's own eval transform, on real images.

For each distinct preprocessing of the catalog (size, resize mode, interpolation, mean/std), the
network input the package makes (the entry's recipe, decoded and normalised by TorchBackend)
equals, element for element, the tensor of ``create_model_and_transforms``' eval transform with
that tag's preprocessing config (the tiny model config with ``force_image_size``, so no large
network is built), on real ImageNet val images."""
import pytest

from conftest import VAL_SUBSET, need
from imagenet_bench.models import catalog
from imagenet_bench.run import config as run_config
from openclip_helpers import TINY_CONFIG

pytestmark = pytest.mark.slow  # ~20 recipes x 12 real images, each decoded and resized twice
N_IMAGES = 12


def _groups():
    out = {}
    for e in catalog.entries("openclip"):
        key = (e.input_size, e.crop_mode, e.interpolation, e.mean, e.std)
        out.setdefault(key, e.model)
    return sorted(out.items())


def test_pixels_equal_open_clips_transform_on_real_images():
    open_clip = pytest.importorskip("open_clip")
    import torch
    from PIL import Image
    from open_clip.pretrained import get_pretrained_cfg
    from imagenet_bench.backends.torch import TorchBackend
    images = sorted(need(VAL_SUBSET).glob("*.JPEG"))[:N_IMAGES]
    open_clip.add_model_config(str(TINY_CONFIG))
    groups = _groups()
    assert len(groups) >= 4 and {k[1] for k, _ in groups} == {"center", "squash"}
    for (size, mode, interp, _, _), model in groups:
        entry = next(e for e in catalog.entries("openclip") if e.model == model)
        tag_cfg = get_pretrained_cfg(entry.architecture, entry.weights)
        _, _, transform = open_clip.create_model_and_transforms(
            "tiny-clip", pretrained=None, force_image_size=size, image_mean=tag_cfg.get("mean"),
            image_std=tag_cfg.get("std"), image_interpolation=tag_cfg.get("interpolation"),
            image_resize_mode=tag_cfg.get("resize_mode"))
        backend = TorchBackend(torch.nn.Identity(), run_config.build(model, weights="none"), {})
        for path in images:
            theirs = transform(Image.open(path)).unsqueeze(0)
            ours = backend.network_input(backend.preprocess(str(path))[None])
            assert ours.shape == theirs.shape == (1, 3, size, size), model
            assert torch.equal(ours, theirs), (model, path.name, (ours - theirs).abs().max().item())
        print(f"{model}: {size} {mode} {interp}: {len(images)} real images equal element for element")
