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
:attr:`Mapping.representative` sends each mapped index to the smallest index
of its class and every other index to itself, and an image's label is the
representative of its class; ``representative[prediction] == label`` is then
exactly "the prediction is one of the mapped classes".
Standard library only.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List, Tuple

from imagenet_bench.errors import InputError

NUM_CLASSES = 1000
MAPPING_FILES = ("folder_to_objectnet_label.json", "objectnet_to_imagenet_1k.json",
                 "imagenet_to_label_2012_v2", "pytorch_to_imagenet_2012_id.json")
_FIX_COPY = "Fix: copy mappings/ from the ObjectNet 1.0 download (objectnet.dev) unchanged"


@dataclass(frozen=True)
class Mapping:
    """The user's ``mappings/``: which folders count and which ImageNet classes are right."""

    folders: Dict[str, str]  # every folder -> its ObjectNet class name (313 in the release)
    classes: Dict[str, Tuple[int, ...]]  # overlapping folder -> its mapped ImageNet indices, sorted

    @property
    def representative(self) -> Tuple[int, ...]:
        """Per ImageNet index: the smallest index of its ObjectNet class's set, else itself."""
        rep = list(range(NUM_CLASSES))
        for indices in self.classes.values():
            for i in indices:
                rep[i] = indices[0]
        return tuple(rep)

    def label(self, folder: str) -> int:
        """The label stored for an image of ``folder`` (its class's representative index)."""
        return self.classes[folder][0]


def _load_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise InputError(f"{path}: missing (ObjectNet ships it in mappings/). {_FIX_COPY}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: does not parse as JSON ({e}). {_FIX_COPY}") from None
    if not isinstance(data, dict) or not data:
        raise InputError(f"{path}: not a JSON object of names. {_FIX_COPY}")
    return data


def _imagenet_names(mappings: str) -> Dict[str, int]:
    """ImageNet class name -> model output index, from the 2012 ids and their order."""
    lines_path = os.path.join(mappings, MAPPING_FILES[2])
    try:
        with open(lines_path, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{lines_path}: cannot be read ({e}). {_FIX_COPY}") from None
    ids_path = os.path.join(mappings, MAPPING_FILES[3])
    try:
        output_of = {int(v): int(k) for k, v in _load_json(ids_path).items()}
    except (TypeError, ValueError):
        raise InputError(f"{ids_path}: keys and values must be integers. {_FIX_COPY}") from None
    if len(names) != NUM_CLASSES or sorted(output_of) != list(range(NUM_CLASSES)):
        raise InputError(f"{mappings}: {len(names)} names in {MAPPING_FILES[2]} and "
                         f"{len(output_of)} ids in {MAPPING_FILES[3]}, expected {NUM_CLASSES} "
                         f"each. {_FIX_COPY}")
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
                             f"{MAPPING_FILES[0]}. {_FIX_COPY}")
        indices = []
        for name in str(joined).split("; "):
            i = index_of.get(name.strip())
            if i is None or i < 0:
                raise InputError(f"{map_path}: {objectnet_name!r} maps to {name!r}, which is "
                                 f"{'on two lines' if i else 'no line'} of {MAPPING_FILES[2]}. "
                                 f"{_FIX_COPY}")
            if i in owner:
                raise InputError(f"{map_path}: ImageNet class {name!r} is mapped from both "
                                 f"{owner[i]!r} and {objectnet_name!r}. {_FIX_COPY}")
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
    left_out = 0
    for folder in sorted(e for e in os.listdir(images_dir) if not e.startswith(".")):
        path = os.path.join(images_dir, folder)
        if not os.path.isdir(path):
            continue
        if folder not in mapping.folders:
            raise InputError(f"{path}: folder not in mappings/{MAPPING_FILES[0]}. Fix: remove "
                             f"it, or use the mappings/ of the same ObjectNet download")
        files = sorted(f for f in os.listdir(path) if is_image(f))
        if folder in mapping.classes:
            rows += [(f"{folder}/{f}", mapping.label(folder)) for f in files]
        else:
            left_out += len(files)
    return Tree(root, mapping, rows, left_out)
