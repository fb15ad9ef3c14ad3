"""Shared helpers for the Keras tests: tiny synthetic image sets."""
from pathlib import Path

import numpy as np
from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared"
SUBSET = SHARED / "imagenet-val-subset"


def synthetic_images(folder, n=4, seed=0):
    """Write ``n`` small JPEG/PNG images of varied sizes and modes; return their paths."""
    rng = np.random.RandomState(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    sizes = [(64, 48), (50, 90), (120, 120), (33, 77), (200, 150), (81, 64)]
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        arr = rng.randint(0, 256, (h, w, 3), dtype=np.uint8)
        img = Image.fromarray(arr)
        if i % 3 == 1:
            img = img.convert("L")  # greyscale must come out as RGB
        p = folder / f"img{i:03d}.{'png' if i % 2 else 'jpg'}"
        img.save(p)
        paths.append(str(p))
    return paths


def real_images(n):
    """The first ``n`` images of the shared real subset (sorted names), or None when absent."""
    if not SUBSET.is_dir():
        return None
    return [str(p) for p in sorted(SUBSET.glob("*.JPEG"))[:n]]
