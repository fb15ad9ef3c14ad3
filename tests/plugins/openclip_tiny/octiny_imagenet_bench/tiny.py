"""The builder of the tiny model: registers ``tiny-clip.json`` with open_clip, then builds it."""
import os

import open_clip

CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny-clip.json")
open_clip.add_model_config(CONFIG)  # open_clip's own extension point for model configs


def create_model(name, pretrained=None, **kw):
    """open_clip.create_model's signature; this test model has no pretrained weights."""
    if pretrained is not None:
        raise ValueError(f"{name} has no pretrained weights ({pretrained!r})")
    return open_clip.create_model(name, pretrained=None, **kw)
