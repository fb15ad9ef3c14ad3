"""A small tree in the ObjectNet 1.0 LAYOUT made from real val images -- NOT ObjectNet.

``build(src, out)`` takes real images of ``../shared/imagenet-val-subset``
(labelled by their official file names), saves them as PNG with a 1-pixel red
frame drawn on their outer pixels (as every ObjectNet image has) under
``out/images/<folder>/``, and writes ``out/mappings/`` in the formats of the
four ObjectNet mapping files, with made-up class names: four "overlapping"
classes, two of them mapped to two ImageNet classes each (many-to-one), and
two folders of classes mapped to no ImageNet class (their images must be left
out). The layout and the protocol of ObjectNet, never its images or figures.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List

import numpy as np

from imagenet_bench.data import datasets

PER_CLASS = 4  # images per ImageNet class taken from the subset
#: ObjectNet-layout class -> how many ImageNet classes it maps to (0: no overlap, left out)
CLASSES = {"Alpha Thing": 2, "Beta Thing": 1, "Gamma Thing": 2, "Delta Thing": 1,
           "Stone": 0, "Leaf": 0}


def _name(j: int) -> str:
    """Line ``j`` of the test's imagenet_to_label_2012_v2 (the name of "2012 id" ``j``)."""
    return f"layout class {j}, made up"


def _two_id(index: int) -> int:
    """The test's "ImageNet 2012 id" of model output ``index`` (a permutation, so the reader must
    go through pytorch_to_imagenet_2012_id.json)."""
    return 999 - index


def _framed_png(src: str, dst: str) -> None:
    from PIL import Image
    with Image.open(src) as im:
        arr = np.array(im.convert("RGB"))
    arr[0, :] = arr[-1, :] = arr[:, 0] = arr[:, -1] = (255, 0, 0)
    Image.fromarray(arr).save(dst)


def build(src: str, out: str) -> Dict:
    """Write the tree; return what a test needs: ``groups`` (class -> its ImageNet indices, in
    the order chosen: a group's first member is NOT always its smallest), ``folder`` (class ->
    folder), ``images`` (folder -> [(file, true ImageNet index)])."""
    val = datasets.discover(src)
    by_class: Dict[int, List[int]] = {}
    for r, lab in enumerate(val.labels.tolist()):
        by_class.setdefault(lab, []).append(r)
    full = [c for c in sorted(by_class) if len(by_class[c]) >= PER_CLASS]
    need = sum(max(1, k) for k in CLASSES.values())
    picked = full[:: max(1, len(full) // need)][:need]
    groups, folders, images = {}, {}, {}
    for name, k in CLASSES.items():
        members = [picked.pop() for _ in range(max(1, k))]  # larger index first
        folder = name.lower().replace(" ", "_")
        folders[name], groups[name] = folder, members if k else []
        os.makedirs(os.path.join(out, "images", folder))
        images[folder] = []
        for c in members:
            for r in by_class[c][:PER_CLASS]:
                fname = os.path.basename(val.paths[r]).replace(".JPEG", ".png")
                _framed_png(val.paths[r], os.path.join(out, "images", folder, fname))
                images[folder].append((fname, c))
    write_mappings(out, folders, groups)
    return {"groups": groups, "folder": folders, "images": images}


def write_mappings(out: str, folders: Dict[str, str], groups: Dict[str, List[int]]) -> None:
    """The four mapping files of ObjectNet's ``mappings/``, in their formats."""
    m = os.path.join(out, "mappings")
    os.makedirs(m, exist_ok=True)
    with open(os.path.join(m, "imagenet_to_label_2012_v2"), "w") as f:
        f.write("\n".join(_name(j) for j in range(1000)) + "\n")
    with open(os.path.join(m, "pytorch_to_imagenet_2012_id.json"), "w") as f:
        json.dump({str(p): _two_id(p) for p in range(1000)}, f)
    with open(os.path.join(m, "folder_to_objectnet_label.json"), "w") as f:
        json.dump({folder: name for name, folder in folders.items()}, f)
    with open(os.path.join(m, "objectnet_to_imagenet_1k.json"), "w") as f:
        json.dump({name: "; ".join(_name(_two_id(i)) for i in g)
                   for name, g in groups.items() if g}, f)
