"""A small folder of caches over three test sets, and the files a report must list as not scored."""
from __future__ import annotations

import os

import set_caches
from imagenet_bench.cache import store as cache

#: (canonical id, how often right) of the mixed-set folder's models
MODELS = [("timm:resnet18.a1_in1k", 0.55), ("torch:resnet50.IMAGENET1K_V1", 0.7),
          ("keras:ResNet50.imagenet", 0.65), ("torch:resnet18.IMAGENET1K_V1", 0.45),
          ("timm:resnet50.a1_in1k", 0.8)]
SETS = {"imagenet-val": 24, "imagenet-a": 30, "imagenet-v2-matched-frequency": 20}


def mixed_folder(folder, bad_files: bool = True) -> dict:
    """Write caches of :data:`MODELS` on :data:`SETS` (images/s recorded for every other
    model), and with ``bad_files`` also those of :func:`bad_files`; return ``{"scored": rows
    expected, "skipped": {file name: kind of reason}}``."""
    preds = []
    for i, (model, p) in enumerate(MODELS):
        for j, (name, n) in enumerate(SETS.items()):
            prov = {"timing": {"images_per_s": 100.0 * (i + 1), "images": n}} if i % 2 == 0 else {}
            preds.append(set_caches.set_cache(model, name, p, n=n, seed=10 * i + j, **prov))
    set_caches.write(folder, preds)
    out = {"scored": len(MODELS) * len(SETS), "skipped": {}}
    if bad_files:
        out.update(globals()["bad_files"](folder))
    return out


def bad_files(folder) -> dict:
    """One damaged file, one checkpoint of an unfinished run and, in a subfolder, one cache over
    another val image list; ``{"skipped": {file name: kind of reason}}``."""
    other = set_caches.set_cache("torch:vgg16.IMAGENET1K_V1", "imagenet-val", 0.6, n=16, seed=99)
    (other_path,) = set_caches.write(os.path.join(folder, "other-val"), [other])
    damaged = os.path.join(folder, "torch-alexnet.IMAGENET1K_V1.val24-00000000.npz")
    with open(damaged, "wb") as f:
        f.write(b"PK\x03\x04 not a real zip file")
    partial = set_caches.set_cache("torch:vgg11.IMAGENET1K_V1", "imagenet-val", 0.5, n=24, seed=98)
    ckpt = os.path.join(folder, cache.cache_filename(partial.model_id, 24, partial.fingerprint)
                        .replace(".npz", ".partial.npz"))
    cache.save(ckpt, partial)
    return {"skipped": {os.path.basename(damaged): "damaged", os.path.basename(ckpt): "incomplete",
                        os.path.basename(other_path): "mixed image lists"}}
