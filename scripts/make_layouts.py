"""Lay out ImageNet validation images as each test set's folder would be (for tests and docs).

    python scripts/make_layouts.py ../shared/imagenet-val-subset /tmp/layouts [--every K]

From a validation folder (flat official files or wnid folders) it makes, with
hard links (symbolic links where the file system refuses them):

    OUT/imagenet-val/<wnid>/<file>                       ImageNet val, wnid folders
    OUT/imagenet-v2-matched-frequency/<class index>/<file>   the ImageNetV2 layout (0 ... 999)
    OUT/imagenet-a/<wnid>/<file>       only images of classes in ImageNet-A's fixed 200-class list
    OUT/imagenet-r/<wnid>/<file>       likewise for ImageNet-R
    OUT/imagenet-sketch/<wnid>/<file>  the ImageNet-Sketch layout

The copies hold the *same* images as val, so a model must score exactly the
same on them as on val (A/R: on val's images of those classes): that is what
the tests check. ``--every K`` keeps every K-th image (ImageFolder order) in
all of them, for a quicker run.
"""
from __future__ import annotations

import argparse
import os
from typing import Dict

import numpy as np

from imagenet_bench.data import datasets, imagenet_meta


def _link(src: str, dst: str) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        os.symlink(os.path.abspath(src), dst)


def build(src: str, out: str, every: int = 1) -> Dict[str, int]:
    """Write the layouts under ``out`` (every ``every``-th image); return their image counts."""
    val = datasets.discover(src)
    val = val.select(range(0, val.num_images, max(1, every)))
    wnids = imagenet_meta.wnids()
    counts: Dict[str, int] = {}
    rows = list(range(val.num_images))
    plan = {
        "imagenet-val": (rows, lambda c: wnids[c]),
        "imagenet-v2-matched-frequency": (rows, str),
        "imagenet-sketch": (rows, lambda c: wnids[c]),
    }
    for name in ("imagenet-a", "imagenet-r"):
        inside = np.isin(val.labels, datasets.get(name).classes)
        plan[name] = (np.flatnonzero(inside).tolist(), lambda c: wnids[c])
    for name, (which, folder_of) in plan.items():
        for r in which:
            fname = os.path.basename(val.paths[r])
            _link(val.paths[r], os.path.join(out, name, folder_of(int(val.labels[r])), fname))
        counts[name] = len(which)
    return counts


def main(argv=None) -> int:
    """Command line: SRC OUT [--limit N]."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("src", help="validation images (flat official files or wnid folders)")
    p.add_argument("out", help="folder to create the layouts in")
    p.add_argument("--every", type=int, default=1, help="keep every K-th image (default 1: all)")
    args = p.parse_args(argv)
    for name, n in build(args.src, args.out, args.every).items():
        print(f"{n:6d} images  {os.path.join(args.out, name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
