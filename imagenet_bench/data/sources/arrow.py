"""``datasets.save_to_disk`` folders: ``state.json`` naming arrow files (IPC streams).

Columns as in :mod:`.hf`. The arrow files are memory-mapped: the index reads
``image.path`` and the label of each record batch; each image is a
:class:`~.refs.Row` read later from the map, one record batch at a time per
process. pyarrow is imported here only (the ``[parquet]`` extra).
"""
from __future__ import annotations

import json
import os
from typing import List

from imagenet_bench.data.sources import hf
from imagenet_bench.data.sources.refs import Row, Sample
from imagenet_bench.errors import InputError

READER = "imagenet_bench.data.sources.arrow (pyarrow memory map, one record batch at a time)"


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
            reader = pa.ipc.open_stream(pa.memory_map(f))
            col, lab = hf.image_column(reader.schema, f), hf.label_column(reader.schema, f)
            first = 0
            for g, batch in enumerate(reader):
                paths = batch.column(col).field("path").to_pylist()
                for r, (path, label) in enumerate(zip(paths, batch.column(lab).to_pylist())):
                    name, wnid = hf.file_name(path)
                    out.append(Sample(Row(f, "arrow", g, r, col, first), f"{f}: row {first + r}",
                                      f"{os.path.basename(f)}/{first + r}", name, label, wnid))
                first += batch.num_rows
        except (pa.ArrowInvalid, OSError) as e:
            raise InputError(f"{f}: not a readable arrow stream ({e}). Fix: save the dataset again "
                             f"with save_to_disk") from None
    return out, files, os.path.abspath(root)
