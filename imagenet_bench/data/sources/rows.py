"""The rows of a sample source: identity from the official file names, labels checked.

ImageNet val samples that keep their official file names (a WebDataset key
``ILSVRC2012_val_00000001`` or its ``json`` filename, the parquet
``image.path`` without its ``_<wnid>`` suffix) are a flat folder of official
files in all but storage: :func:`found` hands them to
:func:`layouts.flat_official`, so ids, row order, labels (the shipped val
labels) and fingerprint are those of the folder layout. The source's own
labels are then checked against them; they follow the tool's class order,
sorted wnids, which is also TFDS's (``labels.txt`` of tensorflow-datasets is
the sorted list, :func:`check_tfds_order`), so shards converted from TFDS
(timm's ``imagenet-1k-wds``) need no conversion. A label that disagrees is
refused with the image and both labels.

Samples without official names (CLIP_benchmark's ``s0000000`` keys, every
shifted set) keep the source's order: ids ``<kind>:<key>`` give the set its
own fingerprint, labels come from the source (an index among the set's class
subset is mapped to the ImageNet index), and the set is announced as such.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.data import imagenet_meta, layouts
from imagenet_bench.errors import InputError

OWN_ORDER = "source order (no file names: its own fingerprint, not comparable row by row with a folder copy)"
NAMES = "official file names (rows, ids and fingerprint of the folder layout)"


class SampleTree:
    """Official val file names of a sample source, as a flat folder for the layout rules."""

    def __init__(self, by_name: Dict[str, object]):
        self.by_name = by_name

    def path(self, rel: str):
        """The image reference of the file ``rel``."""
        return self.by_name[rel].ref

    def where(self, rel: str) -> str:
        """The shard and member (or file and row) of ``rel``."""
        return self.by_name[rel].where


def official_name(name: Optional[str]) -> Optional[str]:
    """``name`` as an official val file name (``.JPEG`` added to a bare key), else None."""
    if not name or imagenet_meta.val_number(name) < 1:
        return None
    return name if "." in name else name + ".JPEG"


def found(source, spec, name_of_default: str) -> Tuple[layouts.Found, str]:
    """(Found, identity) of the samples of ``source`` for the test set ``spec``."""
    _check_classnames(source, spec)
    samples = source.samples
    names = [official_name(s.name) for s in samples]
    if spec.name == name_of_default and any(names):
        stray = next((s for s, n in zip(samples, names) if n is None), None)
        if stray is not None:
            raise InputError(f"{stray.where}: image {stray.name or stray.key!r} is not an official "
                             f"validation file, beside {sum(1 for n in names if n):,} that are: "
                             f"another split's rows. Fix: point at the validation files only")
        by_name: Dict[str, object] = {}
        for s, n in zip(samples, names):
            if n in by_name:
                raise InputError(f"{n} is in the source twice: {by_name[n].where} and {s.where}. "
                                 f"Fix: remove the repeated shard or rows")
            by_name[n] = s
        tree = SampleTree(by_name)
        got = layouts.flat_official(source.root, sorted(by_name), None, tree=tree)
        _cross_check(got, [by_name[i.split("/", 1)[1]] for i in got.ids])
        return got, NAMES
    return _own_order(samples, spec, source.kind), OWN_ORDER


def check_tfds_order() -> None:
    """The tool's class order (the wnids of tensorflow-datasets' ``labels.txt``) is sorted, so a
    TFDS label is this tool's class index; refuse to read TFDS-derived labels otherwise."""
    wnids = imagenet_meta.wnids()
    if list(wnids) != sorted(wnids):
        raise imagenet_meta.MetadataError("the packaged wnid list is not sorted, so TFDS class "
                                          "indices cannot be read as this tool's. Fix: reinstall "
                                          "imagenet_bench")


def _cross_check(got: layouts.Found, samples: List) -> None:
    """Refuse source labels (and ``_<wnid>`` suffixes) that disagree with the shipped val labels."""
    check_tfds_order()
    wnids = imagenet_meta.wnids()
    wrong = []
    for image_id, label, s in zip(got.ids, got.labels, samples):
        if s.label is not None and int(s.label) != int(label):
            wrong.append(f"{s.where} ({image_id}): source label {s.label}, val label {int(label)}")
        elif s.wnid is not None and s.wnid != wnids[int(label)]:
            wrong.append(f"{s.where} ({image_id}): file name says {s.wnid}, val label "
                         f"{wnids[int(label)]}")
    if wrong:
        order = (" Every label differs: the source uses another class order than sorted wnids "
                 "(the order of TFDS and torchvision)." if len(wrong) == len(samples) else "")
        raise InputError(f"{len(wrong)} of {len(samples)} source labels disagree with the "
                         f"ImageNet val labels of their file names, e.g. {'; '.join(wrong[:3])}."
                         f"{order} Fix: use the original export, or a folder of the images")


def _check_classnames(source, spec) -> None:
    """Refuse a ``classnames.txt`` (CLIP_benchmark) that is not the set's classes: line k must be
    CLIP's name (:func:`imagenet_meta.clip_class_names`, which CLIP_benchmark writes) of the
    set's k-th class in sorted-wnid order (the 200 of ImageNet-A/R; all 1,000 otherwise),
    character for character. The file is only checked, never used."""
    from imagenet_bench.data.sources import wds
    found_names = wds.classnames(source.folder) if source.kind == "wds" else None
    if found_names is None:
        return
    path, names = found_names
    classes = spec.classes if spec.classes is not None else range(imagenet_meta.NUM_CLASSES)
    if len(names) != len(classes):
        raise InputError(f"{path}: names {len(names)} classes; "
                         f"{spec.title} has {len(classes)}. Fix: check that "
                         f"{spec.name} is the set in these shards ({spec.name}=DIR)")
    clip, wnids = imagenet_meta.clip_class_names(), imagenet_meta.wnids()
    for k, (c, got) in enumerate(zip(classes, names)):
        if got != clip[c]:
            raise InputError(f"{path}: line {k + 1} (class {k} of {spec.title}, {wnids[c]}) "
                             f"names {got!r}, CLIP's class name there is {clip[c]!r} (the list "
                             f"CLIP_benchmark writes): these shards hold other classes or another "
                             f"class order. Fix: check that {spec.name} is the set in these shards "
                             f"({spec.name}=DIR); if they are, with class names of your own, move "
                             f"classnames.txt aside (it is only checked, never used)")


def _own_order(samples: List, spec, kind: str) -> layouts.Found:
    """Rows in source order, ids ``<kind>:<key>``, labels from the source (subset index mapped)."""
    subset = spec.classes
    labels = [s.label for s in samples]
    missing = next((s for s in samples if s.label is None or s.label < 0), None)
    if missing is not None:
        raise InputError(f"{missing.where}: no label ({missing.label}). Fix: a labelled split")
    top = max(labels)
    mapped = labels
    source = "the source's labels (class index, sorted wnids)"
    if subset is not None and top < len(subset):
        mapped = [subset[k] for k in labels]
        source = f"the source's labels (index among the {len(subset)} classes, sorted wnids)"
    bad = next((s for s, m in zip(samples, mapped) if m >= imagenet_meta.NUM_CLASSES
                or (subset is not None and m not in subset)), None)
    if bad is not None:
        raise InputError(f"{bad.where}: label {bad.label} is not a class of {spec.title}. Fix: "
                         f"check that {spec.name} is the set in this source ({spec.name}=DIR)")
    ids = [f"{kind}:{s.key}" for s in samples]
    layouts.refuse_aliases(kind, ids)
    return layouts.Found(f"{kind}-order", ids, [s.ref for s in samples],
                         np.asarray(mapped, np.int16), source)
