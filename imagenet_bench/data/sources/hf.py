"""What the Hugging Face parquet and arrow readers share: the columns and the file names.

A Hugging Face image dataset (``ILSVRC/imagenet-1k`` and its mirrors) has an
image column -- a struct with ``bytes`` and ``path`` (``datasets.Image``) --
and an integer ``label`` column. ``image.path`` is the original file name,
for ImageNet val with a ``_<wnid>`` suffix (``ILSVRC2012_val_00000001_n01751748.JPEG``),
stripped here to the official name; the suffix's wnid is kept to be checked
against the label. Standard library only (the readers import pyarrow).
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from imagenet_bench.errors import InputError

_SUFFIX = re.compile(r"^(?P<stem>.+?)_(?P<wnid>n\d{8})(?P<ext>\.[A-Za-z]+)$")
SPLIT_WORDS = ("validation", "val", "test")


def image_column(schema, where: str) -> str:
    """The name of the image column (a struct with ``bytes``) of an arrow ``schema``."""
    import pyarrow as pa
    structs = [f.name for f in schema if pa.types.is_struct(f.type)
               and f.type.get_field_index("bytes") >= 0]
    if "image" in structs:
        return "image"
    if len(structs) == 1:
        return structs[0]
    raise InputError(f"{where}: no image column (a struct with 'bytes' and 'path', as "
                     f"datasets.Image stores images) among the columns "
                     f"{', '.join(schema.names)}. Fix: export the dataset with its image column "
                     f"(datasets: cast it to Image())")


def label_column(schema, where: str) -> str:
    """The name of the integer label column (``label``, else ``cls``)."""
    for name in ("label", "cls"):
        if name in schema.names:
            return name
    raise InputError(f"{where}: no label column ('label') among the columns "
                     f"{', '.join(schema.names)}. Fix: export the dataset with its labels")


def file_name(path: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(original file name, wnid of its ``_<wnid>`` suffix or None) of an ``image.path``."""
    if not path:
        return None, None
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    m = _SUFFIX.match(base)
    if m:
        return m.group("stem") + m.group("ext"), m.group("wnid")
    return base, None


def pick_split(files: List[str]) -> List[str]:
    """Of files named by split (``validation-00000-of-00014.parquet``, ``train-...``), those of
    the test split (validation, else val, else test); all files when none is named so."""
    import os
    for word in SPLIT_WORDS:
        chosen = [f for f in files if re.match(rf"{word}[-_.]", os.path.basename(f))]
        if chosen:
            return chosen
    return files
