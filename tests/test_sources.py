"""Test sets read in place from WebDataset shards, parquet, arrow and a tar: the same images give
the same rows, fingerprint, labels and cache as the folder (the real val images, written by
webdataset / datasets / tarfile themselves: ``tests/source_layouts.py``)."""
from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

import source_layouts as L
from conftest import require_subset
from imagenet_bench.cli import main as cli
from imagenet_bench.data import datasets, pixels, sources
from imagenet_bench.errors import InputError

pytest.importorskip("webdataset")
pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The first 1,300 real val images (all of the subset) in every layout."""
    images = L.val_images(require_subset(), 1300)
    t = tmp_path_factory.mktemp("sources")
    return {"folder": L.folder(images, t / "folder"),
            "wds": L.wds(images, t / "wds"),
            "parquet": L.parquet(images, t / "hf"),
            "arrow": L.arrow(images, t / "saved"),
            "tar": L.tar(images, t / "one" / "val.tar"),
            "images": images}


ROOTS = ("wds", "parquet", "arrow", "tar")


def test_every_source_gives_the_folders_rows(built):
    ref = datasets.discover(str(built["folder"]))
    assert ref.num_images == 1300 and ref.source is None
    pattern = str(built["wds"] / "imagenet1k-validation-{0000..0003}.tar")
    for root in [str(built[k]) for k in ROOTS] + [pattern, "parquet:" + str(built["parquet"])]:
        vs = datasets.discover(root)
        assert vs.image_ids == ref.image_ids and vs.fingerprint == ref.fingerprint, root
        assert np.array_equal(vs.labels, ref.labels) and vs.layout == ref.layout
        assert vs.source["files"] and vs.source["kind"] in sources.KINDS
        for r in (0, 777, 1299):  # the same bytes as the file
            with vs.paths[r].open() as f:
                assert f.read() == (built["folder"] / vs.image_ids[r].split("/")[1]).read_bytes()
        assert pickle.loads(pickle.dumps(vs.paths[5])) == vs.paths[5]


@pytest.mark.slow
def test_four_caches_are_byte_for_byte_equal(built, tmp_path, capsys):
    """Folder, shards (_info.json), parquet (datasets), save_to_disk and one tar: every array
    of the caches equal; the provenance equal but for the source record and the run's timing."""
    caches = {}
    for kind in ("folder",) + ROOTS:
        out = tmp_path / kind
        assert cli.main(["predict", "--model-factory", "corpus:tiny_model", "--name", "tiny",
                         "--resize", "64", "--crop", "56", "-b", "50", "-j", "2", "--no-progress",
                         "-o", str(out), str(built[kind])]) == 0
        (path,) = out.glob("*.npz")
        caches[kind] = path
    err = capsys.readouterr().err
    for kind in ROOTS:
        assert f"read by imagenet_bench.data.sources.{kind}" in err
    names = {p.name for p in caches.values()}
    assert len(names) == 1  # the same cache file name: model, count, fingerprint, dataset
    with np.load(caches["folder"]) as z:
        ref = {k: z[k] for k in z.files}
    ref_prov = json.loads(ref.pop("provenance").tobytes())
    for kind in ROOTS:
        with np.load(caches[kind]) as z:
            got = {k: z[k] for k in z.files}
        prov = json.loads(got.pop("provenance").tobytes())
        assert sorted(got) == sorted(ref)
        for k in ref:
            assert got[k].dtype == ref[k].dtype and got[k].tobytes() == ref[k].tobytes(), (kind, k)
        source = prov["dataset"].pop("source")
        assert source["kind"] == kind and source["files"]
        assert _strip(prov) == _strip(ref_prov), kind
        print(f"{kind:8s} {caches[kind].name}: {len(ref)} arrays byte-for-byte equal to the folder's "
              f"({', '.join(sorted(ref))}); provenance equal but for dataset.source = "
              f"{json.dumps(source)[:160]}...")


def _strip(prov):
    """Provenance less what describes the run rather than its result (shards, timing)."""
    from imagenet_bench.cache.inspect import RUN_ONLY_KEYS
    return {k: v for k, v in prov.items() if k not in RUN_ONLY_KEYS}
