"""WebDataset shard sets: a folder of ``.tar`` shards, a brace pattern, or timm's ``_info.json``.

Each sample is the run of members sharing a key (``KEY.jpg`` + ``KEY.cls``
[+ ``KEY.json``]; key = the member name up to the first dot of its base
name, as ``webdataset`` splits it). The image is one of ``jpg jpeg png webp``,
the label the integer text of ``cls``; ``json`` may carry the original
``filename``. Shards are indexed by :func:`.tar.index` (the headers only)
plus the tiny ``cls``/``json`` members, and each image is read later, in
place, as a byte range -- ``webdataset`` itself streams samples in shard
order, which cannot serve the runner's batches (fixed rows in class order)
without holding a whole shard.

Layouts: ``imagenet1k-validation-{0000..0063}.tar`` (a brace pattern), a
folder of shards, a folder with timm's ``_info.json`` (``splits.<split>``:
``filenames``, ``shard_lengths``, ``num_samples``; the ``validation`` split,
else ``test``, else the only one), and CLIP_benchmark's ``wds_*`` folders
(``classnames.txt`` beside a ``test/`` folder of shards). Standard library
only.
"""
from __future__ import annotations

import glob
import json
import os
import posixpath
import re
from typing import Dict, List, Optional, Tuple

from imagenet_bench.data.sources.refs import Sample, read_range
from imagenet_bench.data.sources.tar import index
from imagenet_bench.errors import InputError

IMAGE_KEYS = ("jpg", "jpeg", "png", "webp")
INFO_NAMES = ("_info.json", "info.json")
READER = "imagenet_bench.data.sources.wds (tar headers, byte ranges)"


def expand_braces(pattern: str) -> List[str]:
    """``a-{0000..0002}.tar`` -> the three names (zero padding kept); ``{x,y}`` lists too."""
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m:
        return [pattern]
    body, head, tail = m.group(1), pattern[:m.start()], pattern[m.end():]
    rng = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if rng:
        a, b = rng.groups()
        items = [str(i).zfill(len(a)) for i in range(int(a), int(b) + 1)]
    else:
        items = body.split(",")
    return [name for item in items for name in expand_braces(head + item + tail)]


def shard_files(root: str) -> Tuple[List[str], Optional[List[int]], str]:
    """(shard paths, lengths from ``_info.json`` or None, folder holding the set's own files)."""
    if "{" in root:
        files = [os.path.abspath(f) for f in expand_braces(root)]
        folder = os.path.dirname(files[0])
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise InputError(f"{root}: {len(missing)} of the {len(files)} shards of the pattern "
                             f"are missing ({missing[0]}, ...). Fix: download them, or narrow "
                             f"the pattern to the shards present")
        return files, None, folder
    if os.path.isfile(root):
        return [os.path.abspath(root)], None, os.path.dirname(os.path.abspath(root))
    root = os.path.abspath(root)
    for name in INFO_NAMES:
        if os.path.isfile(os.path.join(root, name)):
            files, lengths = _from_info(root, os.path.join(root, name))
            return files, lengths, root
    files = sorted(glob.glob(os.path.join(root, "*.tar")), key=_natural)
    if not files and os.path.isdir(os.path.join(root, "test")):  # CLIP_benchmark wds_*
        files = sorted(glob.glob(os.path.join(root, "test", "*.tar")), key=_natural)
    if not files:
        raise InputError(f"{root}: no .tar shards found (nor test/*.tar). Fix: point at the folder "
                         f"of shards, or give a brace pattern such as 'shard-{{0000..0063}}.tar'")
    return files, None, root


def _natural(path: str):
    """Shards in numeric order: ``2.tar`` before ``10.tar``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", os.path.basename(path))]


def _from_info(root: str, info_path: str) -> Tuple[List[str], List[int]]:
    """The shards and their lengths of the test split named in timm's ``_info.json``."""
    try:
        with open(info_path, encoding="utf-8") as f:
            splits = json.load(f)["splits"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{info_path}: not a dataset info file with 'splits' ({e}). Fix: restore "
                         f"the file, or pass a brace pattern of the shards instead") from None
    name = next((s for s in ("validation", "test") if s in splits), None)
    if name is None and len(splits) == 1:
        name = next(iter(splits))
    if name is None:
        raise InputError(f"{info_path}: splits {', '.join(splits)}, none named validation or "
                         f"test. Fix: pass the test split's shards as a brace pattern")
    split = splits[name]
    files = [os.path.join(root, f) for f in split["filenames"]]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise InputError(f"{info_path}: split {name} lists {len(files)} shards; {len(missing)} "
                         f"missing, e.g. {missing[0]}. Fix: download the missing shards")
    return files, [int(n) for n in split.get("shard_lengths", [])] or None


def split_key(name: str) -> Tuple[str, str]:
    """(key, extension) of a member name, as webdataset splits it (first dot of the base name)."""
    folder, base = posixpath.split(name)
    stem, _, ext = base.partition(".")
    return posixpath.join(folder, stem), ext.lower()


def samples(root: str):
    """The samples of the shard set ``root``: (list of Sample, shard files, folder of the set)."""
    files, lengths, folder = shard_files(root)
    out: List[Sample] = []
    first_shard: Dict[str, str] = {}
    for n, shard in enumerate(files):
        groups: Dict[str, Dict[str, object]] = {}
        for m in index(shard):
            key, ext = split_key(m.name)
            groups.setdefault(key, {})[ext] = m
        if lengths and n < len(lengths) and lengths[n] != len(groups):
            raise InputError(f"{shard}: {len(groups)} samples, _info.json says {lengths[n]}. Fix: "
                             f"download the shard again")
        for key, parts in groups.items():
            if key in first_shard:
                raise InputError(f"sample key {key} is in two shards: {first_shard[key]} and "
                                 f"{shard}. Fix: remove the shard that repeats the other")
            first_shard[key] = shard
            out.append(_sample(shard, key, parts))
    return out, files, folder


def _sample(shard: str, key: str, parts: Dict[str, object]):
    where = f"{shard}:{key}"
    image = next((parts[k] for k in IMAGE_KEYS if k in parts), None)
    if image is None:
        raise InputError(f"{where}: sample without an image (members: "
                         f"{', '.join('.' + e for e in parts)}; expected one of "
                         f"{', '.join('.' + k for k in IMAGE_KEYS)}). Fix: rebuild the shard")
    if "cls" not in parts:
        raise InputError(f"{where}: sample without a label (.cls member). Fix: rebuild the shard "
                         f"with the class index of each image")
    cls = parts["cls"]
    text = read_range(shard, cls.offset, cls.size).decode("utf-8", "replace").strip()
    if not re.fullmatch(r"-?\d+", text):
        raise InputError(f"{where}.cls: label {text[:40]!r} is not a class index. Fix: rebuild "
                         f"the shard")
    name = None
    if "json" in parts:
        js = parts["json"]
        try:
            meta = json.loads(read_range(shard, js.offset, js.size))
            name = meta.get("filename") if isinstance(meta, dict) else None
        except ValueError:
            name = None
    return Sample(image, where, key, name or posixpath.basename(key), int(text))


def classnames(folder: str) -> Optional[Tuple[str, List[str]]]:
    """(path, lines) of CLIP_benchmark's ``classnames.txt`` beside the shards (or their parent),
    each line stripped, trailing empty lines dropped; None when there is none."""
    for f in (os.path.join(folder, "classnames.txt"), os.path.join(os.path.dirname(folder),
                                                                   "classnames.txt")):
        if os.path.isfile(f):
            with open(f, encoding="utf-8") as fh:
                lines = [line.strip() for line in fh]
            while lines and not lines[-1]:
                lines.pop()
            return f, lines
    return None
