"""Recipe overrides for timm models, applied by timm itself.

``predict``'s recipe options become the ``args`` of timm's own
``resolve_data_config(args, pretrained_cfg=...)`` -- what timm's ``validate.py``
passes it -- and the transform is ``timm.data.create_transform`` of the
resolved config, so the pixels are timm's for the same overrides:

* ``--img-size N`` -> ``img_size``: the input side, the tag's ``crop_pct`` kept
  (validate.py's ``--img-size``);
* ``--crop-pct F`` -> ``crop_pct`` (resize side ``floor(img_size / crop_pct)``, timm's rule);
* ``--crop N`` -> ``img_size`` with the resize side kept (torchvision's meaning
  of a crop), stated as the ``crop_pct`` whose floor gives that side;
* ``--resize N`` -> the ``crop_pct`` that gives a shorter side of N, and
  ``crop_mode="center"`` (``--resize`` means an aspect-preserving resize
  for every model);
* ``--interpolation``, ``--mean``, ``--std`` -> the same names.

:func:`resolve` returns the resolved config and the args; the backend records
both in provenance, and the recipe of the resolved config
(:func:`imagenet_bench.models.recipe.from_timm_config`) names the cache
(``+recipe-<sha8>``). Imports timm (through :mod:`timm_meta`).
"""
from __future__ import annotations

import math
from typing import Any, Dict, Tuple

from timm.data import resolve_data_config

from imagenet_bench.models import recipe as recipes


def crop_pct_for(img_size: int, scale: int) -> float:
    """A ``crop_pct`` for which timm's ``floor(img_size / crop_pct)`` is exactly ``scale``."""
    pct = img_size / scale
    for _ in range(64):  # a few ulps at most
        got = math.floor(img_size / pct)
        if got == scale:
            return pct
        pct = math.nextafter(pct, 0.0 if got < scale else math.inf)
    raise ValueError(f"no crop_pct gives a resize of {scale} for an image size of {img_size}")


def timm_args(overrides: Dict[str, Any], default: Dict[str, Any]) -> Dict[str, Any]:
    """``resolve_data_config`` args for ``overrides`` (run config's ``recipe_overrides``).

    ``default`` is the tag's resolved config without overrides (for the sides a
    ``--crop`` or ``--resize`` keeps)."""
    args: Dict[str, Any] = {}
    size0 = int(default["input_size"][1])
    size = overrides.get("img_size", overrides.get("crop"))
    if size is not None:
        args["img_size"] = int(size)
    size = int(size if size is not None else size0)
    if overrides.get("crop_pct") is not None:
        args["crop_pct"] = float(overrides["crop_pct"])
    elif overrides.get("resize") is not None:
        args["crop_pct"] = crop_pct_for(size, int(overrides["resize"]))
        args["crop_mode"] = "center"
    elif overrides.get("crop") is not None and "img_size" not in overrides:
        args["crop_pct"] = crop_pct_for(size, math.floor(size0 / default["crop_pct"]))
    for key in ("interpolation", "mean", "std"):
        if overrides.get(key) is not None:
            value = overrides[key]
            args[key] = tuple(float(v) for v in value) if key != "interpolation" else value
    return args


def resolve(pretrained_cfg: dict, overrides: Dict[str, Any], use_test_size: bool = False
            ) -> Tuple[Dict, Dict, recipes.Recipe, recipes.Recipe]:
    """``(data_config, args, recipe, default_recipe)`` of a tag's pretrained cfg dict with
    ``overrides``: timm's ``resolve_data_config(args, pretrained_cfg=..., use_test_size=...)``
    (``use_test_size``: the run's ``+test-size``), the args given it, and the recipes of the
    resolved and the override-free configs."""
    default = resolve_data_config({}, pretrained_cfg=pretrained_cfg, use_test_size=use_test_size)
    args = timm_args(overrides, default)
    config = resolve_data_config(args, pretrained_cfg=pretrained_cfg,
                                 use_test_size=use_test_size) if args else default
    return config, args, recipes.from_timm_config(config), recipes.from_timm_config(default)
