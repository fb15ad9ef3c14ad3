"""The same real val images written in the layouts users download: builders for tests and
``benchmarks/sources_bench.py``.

Each builder writes with the library that makes the real layout: ``webdataset``'s own
``ShardWriter`` (timm's ``imagenet-1k-wds``: keys ``ILSVRC2012_val_XXXXXXXX``, ``.jpg``,
``.cls``, ``.json``; with timm's ``_info.json``), ``datasets`` (``ILSVRC/imagenet-1k``:
``data/validation-0000k-of-0000n.parquet``, ``image`` {bytes, path with a ``_<wnid>``
suffix} and a ``ClassLabel`` ``label``; and ``save_to_disk``), and ``tarfile`` (one tar of
the flat folder under ``val/``). Samples are written in a shuffled order (as TFDS shards
are), so a reader that kept the storage order would fail the equality tests.
"""
from __future__ import annotations

import json
import os
import random
import tarfile
from pathlib import Path
from typing import List, Tuple


def val_images(folder: Path, n: int) -> List[Tuple[str, bytes, int, str]]:
    """(file name, bytes, val label, wnid) of the first ``n`` images of ``folder``."""
    from imagenet_bench.data import imagenet_meta
    wnids, index = imagenet_meta.validation_wnids(), imagenet_meta.wnid_to_index()
    out = []
    for name in sorted(os.listdir(folder))[:n]:
        if not name.endswith(".JPEG"):
            continue
        wnid = wnids[imagenet_meta.val_number(name) - 1]
        out.append((name, (folder / name).read_bytes(), index[wnid], wnid))
    return out


def shuffled(images):
    """The images in a fixed shuffled order (storage order is not row order)."""
    images = list(images)
    random.Random(0).shuffle(images)
    return images


def folder(images, root: Path) -> Path:
    """A flat folder of the official files (symbolic links to the originals' copies)."""
    root.mkdir(parents=True)
    for name, data, _, _ in images:
        (root / name).write_bytes(data)
    return root


def wds(images, root: Path, per_shard: int = 400, info: bool = True) -> Path:
    """WebDataset shards by webdataset's ShardWriter, timm's names, with ``_info.json``."""
    import webdataset as wd
    root.mkdir(parents=True)
    pattern = str(root / "imagenet1k-validation-%04d.tar")
    with wd.ShardWriter(pattern, maxcount=per_shard, verbose=0) as sink:
        for name, data, label, wnid in shuffled(images):
            key = name.split(".")[0]
            sink.write({"__key__": key, "jpg": data, "cls": label,
                        "json": {"filename": name, "label": label, "class_name": wnid}})
    shards = sorted(p.name for p in root.glob("*.tar"))
    if info:
        lengths = [sum(1 for m in tarfile.open(root / s) if m.name.endswith(".cls")) for s in shards]
        (root / "_info.json").write_text(json.dumps({"name": "imagenet-1k", "splits": {
            "validation": {"name": "validation", "num_samples": len(images), "filenames": shards,
                           "shard_lengths": lengths}}}))
    return root


def hf_dataset(images):
    """A ``datasets.Dataset`` in the columns of ILSVRC/imagenet-1k."""
    import datasets
    from imagenet_bench.data import imagenet_meta
    rows = shuffled(images)
    features = datasets.Features({"image": datasets.Image(),
                                  "label": datasets.ClassLabel(names=imagenet_meta.wnids())})
    return datasets.Dataset.from_dict(
        {"image": [{"bytes": d, "path": f"{n.split('.')[0]}_{w}.JPEG"} for n, d, _, w in rows],
         "label": [lab for _, _, lab, _ in rows]}, features=features)


def parquet(images, root: Path, files: int = 2) -> Path:
    """``data/validation-0000k-of-0000n.parquet`` written by datasets (and a train file beside
    them, which the reader must leave out)."""
    ds = hf_dataset(images)
    (root / "data").mkdir(parents=True)
    for k in range(files):
        ds.shard(files, k, contiguous=True).to_parquet(
            str(root / "data" / f"validation-{k:05d}-of-{files:05d}.parquet"))
    return root


def parquet_snappy(images, root: Path, row_group: int = 100) -> Path:
    """The same columns written by pyarrow with its defaults (snappy pages) in row groups of
    ``row_group`` rows, as older exports are: images are read by row group, not in place."""
    import pyarrow.parquet as pq
    root.mkdir(parents=True)
    pq.write_table(hf_dataset(images).data.table, str(root / "validation-00000-of-00001.parquet"),
                   row_group_size=row_group, compression="snappy")
    return root


def arrow(images, root: Path) -> Path:
    """A ``save_to_disk`` folder."""
    hf_dataset(images).save_to_disk(str(root))
    return root


def tar(images, path: Path) -> Path:
    """One tar holding ``val/ILSVRC2012_val_*.JPEG`` (written in shuffled order)."""
    import io
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tf:
        for name, data, _, _ in shuffled(images):
            info = tarfile.TarInfo(f"val/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path
