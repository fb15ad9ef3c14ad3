"""A small tree in the ImageNet-C layout made from real val images -- NOT ImageNet-C.

``build(src, out, corruptions, every)`` takes every ``every``-th image of the
real val subset (``../shared/imagenet-val-subset``, labelled by the official
file names), centre-crops it to 224 x 224 (the released images are 224: the
benchmark resized val to 256 and cropped 224; the subset is already 227, so
only the crop is done), corrupts it with the ``imagecorruptions`` package
(Michaelis et al. 2019, a re-packaging of hendrycks/robustness's corruption
code) at severities 1-5 and saves it as JPEG quality 85, as the release did:
``out/<corruption>/<severity>/<wnid>/<file>``. It also writes the same images,
uncorrupted, as ``out_val/<wnid>/<file>`` (their clean set). A handful of
corruptions over a few dozen images: the layout and the pipeline of the
benchmark, never its figures.
"""
from __future__ import annotations

import os
import sys
import types
from typing import Sequence

import numpy as np

from imagenet_bench.data import datasets
from imagenet_bench.data import imagenet_c


def _corrupt():
    """imagecorruptions' ``corrupt``; it imports ``pkg_resources`` (for frost's pictures only),
    which setuptools >= 81 no longer ships: a stand-in that answers its one call is given while
    it imports, and taken out of ``sys.modules`` again (pytest's ``syspath_prepend`` takes any
    ``pkg_resources`` there for the real one)."""
    stand_in = None
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            stand_in = types.ModuleType("pkg_resources")

            def resource_filename(package, name):
                return os.path.join(os.path.dirname(sys.modules[package].__file__), name)
            stand_in.resource_filename = resource_filename
            sys.modules["pkg_resources"] = stand_in
    try:
        from imagecorruptions import corrupt
    finally:
        if stand_in is not None and sys.modules.get("pkg_resources") is stand_in:
            del sys.modules["pkg_resources"]
    return corrupt


def build(src: str, out: str, corruptions: Sequence[str], every: int = 50) -> int:
    """Write the tree (and ``out + '_val'``); return the number of images per severity folder."""
    from PIL import Image
    corrupt = _corrupt()
    val = datasets.discover(src)
    np.random.seed(0)  # imagecorruptions draws from numpy's global generator: the same tree each time
    rows = range(0, val.num_images, every)
    for r in rows:
        wnid, fname = val.image_ids[r].split("/")
        img = Image.open(val.paths[r]).convert("RGB")
        left, top = (img.width - 224) // 2, (img.height - 224) // 2
        img = img.crop((left, top, left + 224, top + 224))
        os.makedirs(os.path.join(out + "_val", wnid), exist_ok=True)
        img.save(os.path.join(out + "_val", wnid, fname), quality=85)
        pixels = np.asarray(img)
        for c in corruptions:
            for s in imagenet_c.SEVERITIES:
                folder = os.path.join(out, c, str(s), wnid)
                os.makedirs(folder, exist_ok=True)
                done = np.uint8(corrupt(pixels, corruption_name=c, severity=s))
                Image.fromarray(done).save(os.path.join(folder, fname), quality=85)
    return len(rows)
