"""``datasets.save_to_disk`` folders: ``state.json`` naming arrow files (IPC streams).

Columns as in :mod:`.hf`. The arrow files are memory-mapped: the index reads
``image.path`` and the label of each record batch, and finds where each
image's bytes lie in the file (:func:`_byte_ranges`; nothing is copied), so
each image is a byte range (:class:`~.refs.Member`) read in place; a
compressed stream falls back to :class:`~.refs.Row`, one record batch at a
time per process. pyarrow is imported here only (the ``[parquet]`` extra).
"""
from __future__ import annotations

import json
import os
from typing import List, Optional

from imagenet_bench.data.sources import hf
from imagenet_bench.data.sources.refs import Member, Row, Sample
from imagenet_bench.errors import InputError

READER = "imagenet_bench.data.sources.arrow (pyarrow memory map)"


def files_of(root: str) -> List[str]:
    """The arrow files ``state.json`` lists (or every ``*.arrow`` of ``root``), in order."""
    root = os.path.abspath(root)
    state = os.path.join(root, "state.json")
    if os.path.isfile(state):
        try:
            with open(state, encoding="utf-8") as f:
                names = [d["filename"] for d in json.load(f)["_data_files"]]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InputError(f"{state}: not a datasets state file ({e}). Fix: save the dataset "
                             f"again with save_to_disk") from None
        files = [os.path.join(root, n) for n in names]
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            raise InputError(f"{state} lists {missing[0]}, which is missing. Fix: copy the whole "
                             f"save_to_disk folder")
        return files
    files = sorted(os.path.join(root, n) for n in os.listdir(root) if n.endswith(".arrow"))
    if not files:
        raise InputError(f"{root}: no .arrow files. Fix: point at a datasets.save_to_disk folder")
    return files


def samples(root: str):
    """(list of Sample, files, folder) of the save_to_disk folder ``root``."""
    from imagenet_bench.data.sources.parquet import pyarrow_parquet
    pyarrow_parquet()  # the same install hint
    import pyarrow as pa
    files, out = files_of(root), []
    for f in files:
        try:
            source = pa.memory_map(f)
            base = source.read_buffer(1).address  # the map's first byte
            source.seek(0)
            reader = pa.ipc.open_stream(source)
            col, lab = hf.image_column(reader.schema, f), hf.label_column(reader.schema, f)
            first = 0
            for g, batch in enumerate(reader):
                images = batch.column(col)
                refs = _byte_ranges(images.field("bytes"), f, base, first) or [
                    Row(f, "arrow", g, r, col, first) for r in range(batch.num_rows)]
                paths = images.field("path").to_pylist()
                for r, (path, label) in enumerate(zip(paths, batch.column(lab).to_pylist())):
                    name, wnid = hf.file_name(path)
                    out.append(Sample(refs[r], f"{f}: row {first + r}",
                                      f"{os.path.basename(f)}/{first + r}", name, label, wnid))
                first += batch.num_rows
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(f"{f}: not a readable arrow stream ({e}). Fix: save the dataset again "
                             f"with save_to_disk") from None
    return out, files, os.path.abspath(root)


def _byte_ranges(values, f: str, base: int, first: int) -> Optional[List[Member]]:
    """Where each image lies in the file: the column's data buffer is part of the memory map
    (an uncompressed stream), so a value's file offset is its address less the map's. None
    when the buffer is not in the map (a compressed stream); a null image is refused."""
    import numpy as np
    if values.null_count:
        row = first + values.is_null().to_pylist().index(True)
        raise InputError(f"{f}: row {row}: a sample without an image (its image bytes are null). "
                         f"Fix: export the dataset with every image, or drop that row")
    _, offsets, data = values.buffers()
    size = os.path.getsize(f)
    start = data.address - base
    if not 0 <= start <= size:
        return None
    ends = np.frombuffer(offsets, dtype=np.int32)[values.offset:values.offset + len(values) + 1]
    return [Member(f, f"row {first + r}", start + int(a), int(b - a))
            for r, (a, b) in enumerate(zip(ends[:-1], ends[1:]))]
