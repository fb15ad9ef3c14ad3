"""Hugging Face parquet exports: a folder (or ``data/`` inside it) or a glob of ``.parquet`` files.

The layout of ``ILSVRC/imagenet-1k`` (``data/validation-00000-of-00014.parquet``
...; columns in :mod:`.hf`). The index reads only ``image.path`` and the
label of each row group; each image is a :class:`~.refs.Row` whose bytes are
read later, one row group's image column at a time per process. pyarrow is
imported here only (the ``[parquet]`` extra).
"""
from __future__ import annotations

import glob
import os
from typing import List

from imagenet_bench.data.sources import hf
from imagenet_bench.data.sources.refs import Row, Sample
from imagenet_bench.errors import InputError

READER = "imagenet_bench.data.sources.parquet (pyarrow, one row group at a time)"


def files_of(root: str) -> List[str]:
    """The parquet files of ``root`` (a file, a glob, a folder or its ``data/``), test split only."""
    if any(c in root for c in "*?["):
        files = glob.glob(root)
    elif os.path.isfile(root):
        files = [root]
    else:
        files = glob.glob(os.path.join(root, "*.parquet")) or glob.glob(
            os.path.join(root, "data", "*.parquet"))
    files = sorted(os.path.abspath(f) for f in files)
    if not files:
        raise InputError(f"{root}: no .parquet files found (nor data/*.parquet). Fix: point at "
                         f"the folder of the dataset's parquet files")
    return hf.pick_split(files)


def pyarrow_parquet():
    """``pyarrow.parquet``, or an InputError saying how to install it."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("reading parquet needs pyarrow. Fix: pip install "
                         "'imagenet_bench[parquet]'") from None
    return pq


def samples(root: str):
    """(list of Sample, files, folder) of the parquet export ``root``."""
    pq = pyarrow_parquet()
    files = files_of(root)
    out = []
    for f in files:
        try:
            pf = pq.ParquetFile(f)
        except Exception as e:  # pyarrow's ArrowInvalid / OSError on a damaged file
            raise InputError(f"{f}: not a readable parquet file ({e}). Fix: download it "
                             f"again") from None
        col, lab = hf.image_column(pf.schema_arrow, f), hf.label_column(pf.schema_arrow, f)
        first = 0
        for g in range(pf.num_row_groups):
            t = pf.read_row_group(g, columns=[f"{col}.path", lab])
            paths = t.column(col).combine_chunks().field("path").to_pylist()
            for r, (path, label) in enumerate(zip(paths, t.column(lab).to_pylist())):
                name, wnid = hf.file_name(path)
                where = f"{f}: row {first + r}"
                out.append(Sample(Row(f, "parquet", g, r, col, first), where,
                                  f"{os.path.basename(f)}/{first + r}", name, label, wnid))
            first += t.num_rows
    return out, files, os.path.dirname(files[0])
