"""Hugging Face parquet exports: a folder (or ``data/`` inside it) or a glob of ``.parquet`` files.

The layout of ``ILSVRC/imagenet-1k`` (``data/validation-00000-of-00014.parquet``
...; columns in :mod:`.hf`). The index reads only ``image.path`` and the
label of each row group. Where the image bytes are stored uncompressed (as
``datasets`` writes them), each image is a byte range of the file
(:class:`~.refs.Member`, read in place like a tar member; :func:`_byte_ranges`
finds them once, one row group at a time); otherwise a :class:`~.refs.Row`
whose row group's image column is read when needed, one row group per process. pyarrow is
imported here only (the ``[parquet]`` extra).
"""
from __future__ import annotations

import glob
import os
import struct
from typing import List, Optional

from imagenet_bench.data.sources import hf
from imagenet_bench.data.sources.refs import Member, Row, Sample, read_range
from imagenet_bench.errors import InputError

READER = "imagenet_bench.data.sources.parquet (pyarrow)"


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
            refs = _byte_ranges(pf, f, g, col, first) or [
                Row(f, "parquet", g, r, col, first) for r in range(t.num_rows)]
            for r, (path, label) in enumerate(zip(paths, t.column(lab).to_pylist())):
                name, wnid = hf.file_name(path)
                out.append(Sample(refs[r], f"{f}: row {first + r}",
                                  f"{os.path.basename(f)}/{first + r}", name, label, wnid))
            first += t.num_rows
    return out, files, os.path.dirname(files[0])


def _byte_ranges(pf, f: str, g: int, col: str, first: int) -> Optional[List[Member]]:
    """Where each image of row group ``g`` lies in the file, when its column chunk is stored
    uncompressed and PLAIN (as ``datasets`` writes image bytes): every value is then its bytes
    preceded by their 4-byte length, found in order and compared byte for byte. None when the
    chunk is compressed or dictionary-encoded (then rows are read by row group); a null image is
    refused."""
    meta = pf.metadata.row_group(g)
    chunk = next((meta.column(j) for j in range(meta.num_columns)
                  if meta.column(j).path_in_schema == f"{col}.bytes"), None)
    if chunk is None or chunk.compression != "UNCOMPRESSED" or chunk.has_dictionary_page:
        return None
    values = pf.read_row_group(g, columns=[f"{col}.bytes"]).column(col).combine_chunks().field("bytes")
    if values.null_count:
        row = first + values.is_null().to_pylist().index(True)
        raise InputError(f"{f}: row {row}: a sample without an image (its image bytes are null). "
                         f"Fix: export the dataset with every image, or drop that row")
    start = chunk.data_page_offset
    raw = read_range(f, start, chunk.total_compressed_size)
    out, pos = [], 0
    for r, value in enumerate(values):
        v = value.as_buffer()
        at = raw.find(struct.pack("<I", v.size) + v.to_pybytes()[:64], pos)
        if at < 0 or raw[at + 4:at + 4 + v.size] != v:
            return None
        out.append(Member(f, f"row {first + r}", start + at + 4, v.size))
        pos = at + 4 + v.size
    return out
