"""ObjectNet 1.0 (Barbu et al., NeurIPS 2019) as its users have it: ``images/`` + ``mappings/``.

The download (objectnet.dev) extracts to ``objectnet-1.0/`` holding
``images/<folder>/<file>`` (313 object folders) and ``mappings/`` with four
files, read here from the user's copy, never shipped with this package:

* ``folder_to_objectnet_label.json``: ``{folder name: ObjectNet class name}``;
* ``objectnet_to_imagenet_1k.json``: ``{ObjectNet class name: "name; name; ..."}``
  for the 113 classes that overlap ImageNet-1k, each ``name`` a whole line of
  ``imagenet_to_label_2012_v2`` (``"mountain bike, all-terrain bike, off-roader"``),
  ``"; "`` between the ImageNet classes of one ObjectNet class (many-to-one);
* ``imagenet_to_label_2012_v2``: 1,000 lines, line ``i`` the name of ImageNet 2012 id ``i``;
* ``pytorch_to_imagenet_2012_id.json``: ``{model output index: ImageNet 2012 id}``.

This is how wise-ft and CLIP_benchmark (``objectnet.py``, ``get_metadata``)
read them. Only images in folders of the 113 overlapping classes count; a
prediction is right when it is one of the ImageNet classes mapped to the
image's ObjectNet class. The mapped ImageNet sets are disjoint (checked), so
every ImageNet index belongs to at most one ObjectNet class:
:func:`imagenet_bench.cache.derived.same_class_table` sends each mapped index to
the smallest index of its class and every other index to itself, and an
image's label is that smallest index; ``table[prediction] == label`` is then
exactly "the prediction is one of the mapped classes".
The test set (:data:`SPEC`, ``--dataset objectnet``, ``--data objectnet=DIR``) is
the images of those folders only: the denominator of every accuracy is their
count (18,574 in ``objectnet-1.0.zip``), never the 50,273 images of the 313
folders. Every image carries a 1-pixel red border; :data:`BORDER` pixels are
removed from each side before the model's recipe, the crop of imagenet-testbed
(``eval_settings/objectnet.py``) and wise-ft/model-soups (CLIP_benchmark's loader crops none):
:class:`Bordered` carries the border to :func:`imagenet_bench.data.pixels.load_rgb`,
the one decoder of every backend. :func:`facts` is what a cache's provenance
records (the many-to-one groups that decide correctness, the border, the
accounting); :mod:`imagenet_bench.cache.derived` applies the groups.
Standard library only.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Tuple

from imagenet_bench.data.spec import DatasetSpec
from imagenet_bench.errors import InputError

NUM_CLASSES = 1000
NAME = "objectnet"
LAYOUT = "objectnet-images-mappings"  # images/<folder>/<file> + mappings/*.json
BORDER = 2  # pixels removed from each side (imagenet-testbed and wise-ft crop 2)
#: the release's numbers (the paper; mappings/ of objectnet-1.0.zip): folders, overlapping classes
RELEASE_FOLDERS, RELEASE_CLASSES = 313, 113
SPEC = DatasetSpec(
    NAME, "ObjectNet 1.0 (images of its 113 classes that overlap ImageNet)", (LAYOUT,),
    "the user's mappings/: folder -> ObjectNet class -> ImageNet classes (many-to-one)", 18574,
    "github.com/locuslab/FLYP/issues/7 (objectnet-1.0.zip: 50,273 images in 313 folders, "
    "18,574 in the folders of the 113 classes that overlap ImageNet)", source="objectnet.dev (objectnet-1.0.zip)",
    licence="CC BY 4.0 with ObjectNet's extra clauses (never train on it; images shown only with "
            "their red border); mappings/ read from the user's copy, not shipped",
    paper='Barbu et al., "ObjectNet: A large-scale bias-controlled dataset for pushing the limits '
          'of object recognition models", NeurIPS 2019', short="objectnet", border=BORDER,
    mapped_subset=True, class_count=RELEASE_CLASSES,
    published_table="objectnet",
    published_note="no published figure on objectnet: open_clip's results table is the only "
                   "library table of ObjectNet 1.0 (imagenet-testbed's ObjectNet results are of "
                   "ObjectNet 1.0-beta, another image set)")
SPECS = (SPEC,)
MAPPING_FILES = ("folder_to_objectnet_label.json", "objectnet_to_imagenet_1k.json",
                 "imagenet_to_label_2012_v2", "pytorch_to_imagenet_2012_id.json")
_COPY = "copy mappings/ from the ObjectNet 1.0 download (objectnet.dev) unchanged"


@dataclass(frozen=True)
class Mapping:
    """The user's ``mappings/``: which folders count and which ImageNet classes are right."""

    folders: Dict[str, str]  # every folder -> its ObjectNet class name (313 in the release)
    classes: Dict[str, Tuple[int, ...]]  # overlapping folder -> its mapped ImageNet indices, sorted

    def label(self, folder: str) -> int:
        """The label stored for an image of ``folder`` (its class's representative index)."""
        return self.classes[folder][0]


def _load_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: missing (ObjectNet ships it in mappings/). Fix: {_COPY}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: does not parse as JSON ({e}). Fix: {_COPY}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: not a JSON object of names. Fix: {_COPY}")
    return data


def _imagenet_names(mappings: str) -> Dict[str, int]:
    """ImageNet class name -> model output index, from the 2012 ids and their order."""
    lines_path = os.path.join(mappings, MAPPING_FILES[2])
    try:
        with open(lines_path, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{lines_path}: cannot be read ({e}). Fix: {_COPY}") from None
    ids_path = os.path.join(mappings, MAPPING_FILES[3])
    try:
        output_of = {int(v): int(k) for k, v in _load_json(ids_path).items()}
    except (TypeError, ValueError):
        raise InputError(f"{ids_path}: keys and values must be integers. Fix: {_COPY}") from None
    if len(names) != NUM_CLASSES or sorted(output_of) != list(range(NUM_CLASSES)):
        raise InputError(f"{mappings}: {len(names)} names in {MAPPING_FILES[2]} and "
                         f"{len(output_of)} ids in {MAPPING_FILES[3]}, expected {NUM_CLASSES} "
                         f"each. Fix: {_COPY}")
    out: Dict[str, int] = {}
    for i, name in enumerate(names):
        out[name] = -1 if name in out else output_of[i]  # -1: the name is on two lines
    return out


def read_mappings(root: str) -> Mapping:
    """Read ``root/mappings/`` (``root``: the folder holding ``images/`` and ``mappings/``).

    Refuses, naming the file: a missing or unparsable file, an ObjectNet class
    no folder has, an ImageNet name that is not one line (or is two), an
    ImageNet class mapped from two ObjectNet classes."""
    mappings = os.path.join(root, "mappings")
    folder_path = os.path.join(mappings, MAPPING_FILES[0])
    folders = {str(k): str(v) for k, v in _load_json(folder_path).items()}
    folder_of = {v: k for k, v in folders.items()}
    index_of = _imagenet_names(mappings)
    map_path = os.path.join(mappings, MAPPING_FILES[1])
    owner: Dict[int, str] = {}
    classes: Dict[str, Tuple[int, ...]] = {}
    for objectnet_name, joined in _load_json(map_path).items():
        if objectnet_name not in folder_of:
            raise InputError(f"{map_path}: class {objectnet_name!r} is no value of "
                             f"{MAPPING_FILES[0]}. Fix: {_COPY}")
        indices = []
        for name in str(joined).split("; "):
            i = index_of.get(name.strip())
            if i is None or i < 0:
                raise InputError(f"{map_path}: {objectnet_name!r} maps to {name!r}, which is "
                                 f"{'on two lines' if i else 'no line'} of {MAPPING_FILES[2]}. "
                                 f"Fix: {_COPY}")
            if i in owner:
                raise InputError(f"{map_path}: ImageNet class {name!r} is mapped from both "
                                 f"{owner[i]!r} and {objectnet_name!r}. Fix: {_COPY}")
            owner[i] = objectnet_name
            indices.append(i)
        classes[folder_of[objectnet_name]] = tuple(sorted(indices))
    return Mapping(folders, classes)


@dataclass(frozen=True)
class Tree:
    """What :func:`scan` found: the images that count, and the accounting of those that do not."""

    root: str
    mapping: Mapping
    images: List[Tuple[str, int]]  # (path relative to images/, label), folder then file order
    left_out: int  # images in the folders of the 200 classes that do not overlap ImageNet
    folders_present: int = 0  # folders found under images/


def scan(root: str, is_image) -> Tree:
    """The images of the ObjectNet download at ``root`` that count (``is_image(name)``: a file
    name is an image). Refuses, naming the path: no ``images/``, a folder not in the mapping."""
    root = os.path.abspath(root)
    images_dir = os.path.join(root, "images")
    if not os.path.isdir(images_dir):
        raise InputError(f"{images_dir}: no such folder (ObjectNet 1.0 extracts to objectnet-1.0/ "
                         f"holding images/ and mappings/). Fix: point objectnet=DIR at the "
                         f"objectnet-1.0 folder")
    mapping = read_mappings(root)
    rows: List[Tuple[str, int]] = []
    left_out = present = 0
    for folder in sorted(e for e in os.listdir(images_dir) if not e.startswith(".")):
        path = os.path.join(images_dir, folder)
        if not os.path.isdir(path):
            continue
        present += 1
        if folder not in mapping.folders:
            raise InputError(f"{path}: folder not in mappings/{MAPPING_FILES[0]}. Fix: remove "
                             f"it, or use the mappings/ of the same ObjectNet download")
        files = sorted(f for f in os.listdir(path) if is_image(f))
        if folder in mapping.classes:
            rows += [(f"{folder}/{f}", mapping.label(folder)) for f in files]
        else:
            left_out += len(files)
    if not rows:
        raise InputError(f"{images_dir}: no images in the folders of the {len(mapping.classes)} "
                         f"classes that overlap ImageNet ({left_out:,} in other folders), so "
                         f"nothing would be counted. Fix: extract the whole ObjectNet download "
                         f"into {root}")
    return Tree(root, mapping, rows, left_out, present)


@dataclass(frozen=True)
class Bordered:
    """An image file whose outer ``border`` pixels are removed when decoded (ObjectNet's frame):
    an image reference :func:`imagenet_bench.data.pixels.load_rgb` opens and crops."""

    file: str
    border: int

    def open(self):
        """The image's file, opened for reading bytes."""
        return open(self.file, "rb")

    def __str__(self) -> str:
        return self.file


def facts(tree: Tree) -> Dict:
    """What a cache of ``tree`` records in its provenance ``dataset``: ``same_class`` (ObjectNet
    class -> its mapped ImageNet indices; a prediction in the label's group is right), the
    ``border``, the ``accounting`` (counts and the sentence :func:`accounting` makes) and
    ``complete_set`` (every folder of the release, 313 and 113 classes, holds images)."""
    m = tree.mapping
    counted = sorted({p.split("/")[0] for p, _ in tree.images})
    acc = {"images_counted": len(tree.images), "images_left_out": tree.left_out,
           "classes_counted": len(counted), "classes_overlapping": len(m.classes),
           "folders": len(m.folders), "folders_present": tree.folders_present}
    complete = (len(m.folders) == RELEASE_FOLDERS and len(m.classes) == RELEASE_CLASSES
                and tree.folders_present == RELEASE_FOLDERS and len(counted) == RELEASE_CLASSES)
    acc["sentence"] = accounting(acc)
    return {"same_class": {m.folders[f]: list(m.classes[f]) for f in sorted(m.classes)},
            "border": BORDER, "accounting": acc, "complete_set": complete}


def accounting(acc: Dict) -> str:
    """The accounting of one ObjectNet folder in words (what ``predict`` and the tables print)."""
    return (f"ObjectNet: {acc['images_counted']:,} images counted, those of "
            f"{acc['classes_counted']} of the {acc['classes_overlapping']} classes that overlap "
            f"ImageNet (the denominator); {acc['images_left_out']:,} images of the other classes "
            f"left out ({acc['folders_present']} of {acc['folders']} folders present); right = any "
            f"ImageNet class mapped to the image's class (many-to-one); {BORDER}-px border removed "
            f"from each side (as imagenet-testbed and wise-ft)")
