"""Test sets read in place from WebDataset shards, parquet, arrow and a tar: the same images give
the same rows, fingerprint, labels and cache as the folder (the real val images, written by
webdataset / datasets / tarfile themselves: ``tests/source_layouts.py``)."""
from __future__ import annotations

import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

import source_layouts as L
from conftest import require_subset
from imagenet_bench.cli import main as cli
from imagenet_bench.data import datasets, imagenet_meta, sources
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
            "snappy": L.parquet_snappy(images, t / "snappy"),
            "arrow": L.arrow(images, t / "saved"),
            "tar": L.tar(images, t / "one" / "val.tar"),
            "images": images}


ROOTS = ("wds", "parquet", "arrow", "tar")


@pytest.mark.slow
def test_every_source_gives_the_folders_rows(built):
    ref = datasets.discover(str(built["folder"]))
    assert ref.num_images == 1300 and ref.source is None
    pattern = str(built["wds"] / "imagenet1k-validation-{0000..0003}.tar")
    for root in [str(built[k]) for k in ROOTS + ("snappy",)] + [pattern, "parquet:" + str(built["parquet"])]:
        vs = datasets.discover(root)
        assert vs.image_ids == ref.image_ids and vs.fingerprint == ref.fingerprint, root
        assert np.array_equal(vs.labels, ref.labels) and vs.layout == ref.layout
        assert vs.source["files"] and vs.source["kind"] in sources.KINDS
        assert vs.source["uniform_size"] == "227x227"  # the subset is pre-scaled: announced
        assert "every image sampled is 227x227 pixels: a resized copy" in vs.describe()
        for r in (0, 777, 1299):  # the same bytes as the file
            with vs.paths[r].open() as f:
                assert f.read() == (built["folder"] / vs.image_ids[r].split("/")[1]).read_bytes()
        assert pickle.loads(pickle.dumps(vs.paths[5])) == vs.paths[5]
    kinds = {type(p).__name__ for p in datasets.discover(str(built["snappy"])).paths}
    assert kinds == {"Row"}  # compressed pages: read by row group
    assert datasets.discover(str(built["snappy"])).source["access"] == "row groups"


@pytest.mark.slow
def test_four_caches_are_byte_for_byte_equal(built, tmp_path, capsys):
    """Folder, shards (_info.json), parquet (datasets), save_to_disk and one tar: every array
    of the caches equal; the provenance equal but for the source record and the run's timing."""
    caches = {}
    for kind in ("folder",) + ROOTS:
        out = tmp_path / kind
        workers = "2" if kind in ("wds", "parquet") else "0"  # references pickled to workers
        assert cli.main(["predict", "--model-factory", "corpus:tiny_model", "--name", "tiny",
                         "--resize", "64", "--crop", "56", "-b", "50", "-j", workers, "--no-progress",
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


# --- bad input: each named with its shard and member, or file and row -------------------------

@pytest.fixture(scope="module")
def few():
    """Twelve real val images."""
    return L.val_images(require_subset(), 12)


def _shards(tmp_path, few, **kw):
    return L.wds(few, tmp_path / "wds", per_shard=5, **kw)


def _refused(root, match, name=datasets.DEFAULT):
    with pytest.raises(InputError, match=match) as e:
        datasets.discover(str(root), name)
    assert "Fix:" in str(e.value)
    print(f"\n{e.value}")
    return str(e.value)


def test_truncated_and_corrupt_shards_are_named(tmp_path, few):
    root = _shards(tmp_path, few)
    shard = root / "imagenet1k-validation-0001.tar"
    data = shard.read_bytes()
    shard.write_bytes(data[:len(data) // 2])
    _refused(root, r"imagenet1k-validation-0001\.tar: truncated: member ILSVRC2012_val_\d+\.jpg "
                   r"needs [\d,]+ bytes from byte [\d,]+; the file ends at byte [\d,]+")
    shard.write_bytes(data[:40448])  # cut at a header: no end-of-archive blocks
    _refused(root, r"imagenet1k-validation-0001\.tar: truncated after member ILSVRC2012_val_\d+\.json: "
                   r"the archive ends without the end-of-archive blocks at byte 40,448")
    bad = bytearray(data)
    fourth = list(tarfile.open(fileobj=io.BytesIO(data)))[3]  # a header inside the shard
    bad[fourth.offset:fourth.offset + 512] = b"\x7f" * 512
    shard.write_bytes(bytes(bad))
    _refused(root, r"imagenet1k-validation-0001\.tar: truncated or corrupt: .*after member")


def test_shard_listed_in_info_but_missing(tmp_path, few):
    root = _shards(tmp_path, few)
    (root / "imagenet1k-validation-0002.tar").unlink()
    _refused(root, r"_info\.json: split validation lists 3 shards; 1 missing, e\.g\. "
                   r".*imagenet1k-validation-0002\.tar")


def test_samples_without_image_or_label_and_repeated_keys(tmp_path, few):
    import webdataset as wd
    root = tmp_path / "w"
    root.mkdir()
    with wd.TarWriter(str(root / "a.tar")) as sink:
        sink.write({"__key__": "ILSVRC2012_val_00000347", "jpg": few[0][1], "cls": few[0][2]})
        sink.write({"__key__": "ILSVRC2012_val_00000355", "cls": few[1][2], "txt": "no image"})
    _refused(root, r"a\.tar:ILSVRC2012_val_00000355: sample without an image \(members: \.cls, "
                   r"\.txt")
    with wd.TarWriter(str(root / "a.tar")) as sink:
        sink.write({"__key__": "ILSVRC2012_val_00000347", "jpg": few[0][1], "cls": few[0][2]})
        sink.write({"__key__": "ILSVRC2012_val_00000355", "jpg": few[1][1]})
    _refused(root, r"a\.tar:ILSVRC2012_val_00000355: sample without a label \(\.cls member\)")
    for shard in ("a.tar", "b.tar"):
        with wd.TarWriter(str(root / shard)) as sink:
            sink.write({"__key__": "ILSVRC2012_val_00000347", "jpg": few[0][1], "cls": few[0][2]})
    _refused(root, r"sample key ILSVRC2012_val_00000347 is in two shards: .*a\.tar and .*b\.tar")


def test_labels_are_checked_against_the_val_labels(tmp_path, few):
    shifted = [(n, d, (lab + 1) % 1000, w) for n, d, lab, w in few]
    _refused(L.wds(shifted, tmp_path / "all"), r"12 of 12 source labels disagree with the ImageNet "
             r"val labels .*source label \d+, val label \d+.*another class order")
    one = [few[0][:2] + ((few[0][2] + 1) % 1000, few[0][3])] + few[1:]
    _refused(L.wds(one, tmp_path / "one"), r"1 of 12 source labels disagree .*"
             + few[0][0].split(".")[0])


def test_parquet_without_image_column_or_with_another_splits_rows(tmp_path, few):
    import pyarrow as pa
    import pyarrow.parquet as pq
    (tmp_path / "p").mkdir()
    pq.write_table(pa.table({"img": [d for _, d, _, _ in few], "label": [x[2] for x in few]}),
                   tmp_path / "p" / "validation-00000-of-00001.parquet")
    _refused(tmp_path / "p", r"validation-00000-of-00001\.parquet: no image column .* among the "
                             r"columns img, label")
    names = [f"{n.split('.')[0]}_{w}.JPEG" for n, _, _, w in few]
    names[7] = "n01440764_10026.JPEG"  # a training image
    pq.write_table(pa.table({"image": [{"bytes": d, "path": p} for (_, d, _, _), p in zip(few, names)],
                             "label": [x[2] for x in few]}),
                   tmp_path / "p" / "validation-00000-of-00001.parquet", compression="snappy")
    _refused(tmp_path / "p", r"validation-00000-of-00001\.parquet: row 7: image "
                             r"'n01440764_10026\.JPEG' is not an official validation file, beside "
                             r"11 that are: another split's rows")


def test_ffcv_and_classnames_are_refused(tmp_path, few):
    (tmp_path / "val_500_0.50_90.beton").write_bytes(b"\0" * 64)
    _refused(tmp_path / "val_500_0.50_90.beton", r"an FFCV \.beton file: its images are re-encoded")
    clip = tmp_path / "wds_imagenet-r"
    _shards(clip, few)
    os.rename(clip / "wds", clip / "test")
    (clip / "test" / "_info.json").unlink()
    (clip / "classnames.txt").write_text("\n".join(f"class {i}" for i in range(1000)))
    _refused(clip, r"classnames\.txt: names 1000 classes; ImageNet-R \(renditions\) has 200",
             name="imagenet-r")


def test_classnames_must_be_clips_names_of_the_sets_classes(tmp_path, few):
    """CLIP_benchmark's classnames.txt is CLIP's list (for A/R the names of their 200 wnids in
    sorted-wnid order: test_shards_without_file_names...); a differing line is refused naming its
    index, wnid, the expected and the found name."""
    clip = tmp_path / "wds_imagenet1k"
    _shards(clip, few)
    os.rename(clip / "wds", clip / "test")
    names = list(imagenet_meta.clip_class_names())
    (clip / "classnames.txt").write_text("\n".join(names) + "\n")
    assert datasets.discover(str(clip)).num_images == len(few)  # CLIP's own list: accepted
    names[2] = "great white shark, white shark"  # ImageNet's lemma, not CLIP's name
    (clip / "classnames.txt").write_text("\n".join(names) + "\n")
    _refused(clip, r"classnames\.txt: line 3 \(class 2 of ImageNet 2012 validation set, n01484850\) "
                   r"names 'great white shark, white shark', CLIP's class name there is "
                   r"'great white shark' .* Fix: ")
    r = datasets.get("imagenet-r")
    (clip / "classnames.txt").write_text("\n".join(names[c] for c in r.classes))  # A/R's 200
    _refused(clip, r"classnames\.txt: names 200 classes; ImageNet 2012 validation set has 1000")


def _predict(root, out, *extra):
    return cli.main(["predict", "--model-factory", "corpus:tiny_model", "--name", "tiny",
                     "--resize", "40", "--crop", "32", "-b", "4", "-j", "0", "--no-progress",
                     "-o", str(out), *extra, str(root)])


@pytest.mark.slow
def test_undecodable_member_and_ranks(tmp_path, few, capsys, monkeypatch):
    """An image that does not decode stops the run naming its shard and member (kept with
    --skip-bad-images); two ranks read the shards and merge into the folder's cache."""
    broken = [few[0]] + [(few[1][0], few[1][1][:300], few[1][2], few[1][3])] + few[2:]
    shards = _shards(tmp_path, broken)
    assert _predict(shards, tmp_path / "a") == 2
    err = capsys.readouterr().err
    print(err.strip().splitlines()[-1])
    assert "imagenet1k-validation-000" in err and f"{few[1][0].split('.')[0]}.jpg: cannot read " \
                                                  f"image" in err
    assert not list((tmp_path / "a").glob("*.val12-*.npz"))
    assert _predict(shards, tmp_path / "a", "--skip-bad-images") == 0
    (cache_file,) = (tmp_path / "a").glob("*.npz")
    bad = json.loads(np.load(cache_file)["provenance"].tobytes())["bad_images"]
    assert [b["image"] for b in bad] == [f"{few[1][3]}/{few[1][0]}"]

    good = _shards(tmp_path / "good", few)
    assert _predict(L.folder(few, tmp_path / "folder"), tmp_path / "f") == 0
    for rank in (1, 0):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        assert _predict(good, tmp_path / "r") == 0
    (merged,) = (tmp_path / "r").glob("*.npz")
    (folder_cache,) = (tmp_path / "f").glob("*.npz")
    with np.load(merged) as a, np.load(folder_cache) as b:
        for k in ("image_ids", "labels", "top5_idx", "top5_prob"):
            assert a[k].tobytes() == b[k].tobytes(), k


def test_shards_without_file_names_keep_their_order_and_own_fingerprint(tmp_path, few):
    """CLIP_benchmark's wds_imagenet-r: keys s0000000..., labels among the 200 classes,
    classnames.txt: rows in shard order, labels mapped to ImageNet indices, announced."""
    import webdataset as wd
    from imagenet_bench.data.sources import rows
    spec = datasets.get("imagenet-r")
    (tmp_path / "wds_imagenet-r" / "test").mkdir(parents=True)
    (tmp_path / "wds_imagenet-r" / "classnames.txt").write_text("\n".join(
        imagenet_meta.clip_class_names()[c] for c in spec.classes))
    with wd.ShardWriter(str(tmp_path / "wds_imagenet-r" / "test" / "%d.tar"), maxcount=5,
                        verbose=0) as sink:
        for i, (_, data, _, _) in enumerate(few):
            sink.write({"__key__": f"s{i:07d}", "webp": data, "cls": (i * 17) % 200})
    vs = datasets.discover(str(tmp_path / "wds_imagenet-r"), "imagenet-r")
    assert vs.image_ids == [f"imagenet-r/wds:s{i:07d}" for i in range(12)]
    assert list(vs.labels) == [spec.classes[(i * 17) % 200] for i in range(12)]
    assert vs.source["identity"] == rows.OWN_ORDER and "own fingerprint" in vs.describe()
    with wd.TarWriter(str(tmp_path / "val-0.tar")) as sink:  # wds_imagenet1k: val, no names
        for i, (_, data, label, _) in enumerate(few):
            sink.write({"__key__": f"s{i:07d}", "jpg": data, "cls": label})
    anonymous = datasets.discover(str(tmp_path / "val-0.tar"))
    ref = datasets.discover(str(L.folder(few, tmp_path / "f")))
    assert anonymous.fingerprint != ref.fingerprint and anonymous.layout == "wds-order"
    assert sorted(anonymous.labels) == sorted(ref.labels)


@pytest.mark.slow
def test_sweep_shares_decoded_shard_images_as_folder_images(tmp_path, few):
    """A sweep over shards decodes each image once for both models, and its caches equal a
    separate run of each model on the folder copy."""
    pytest.importorskip("torch")
    from test_sweep import TORCH2, _adapter, _request, _run_separately
    from imagenet_bench.cache.inspect import differences
    from imagenet_bench.sweep import plan as plans
    from imagenet_bench.sweep.task import TaskRunner
    shards = _shards(tmp_path, few[:6])
    folder = tmp_path / "sw"
    plan = plans.build(_request(shards, models=TORCH2), str(folder))
    plans.write(plan, str(folder))
    assert plan["datasets"]["imagenet-val"]["dir"] == f"wds:{shards}"
    logs = []
    (task,) = plan["tasks"]
    TaskRunner(str(folder), plan, _adapter, log=logs.append).run(
        [plans.job_index(plan)[j] for j in task["jobs"]], task["task"])
    assert "shared decode: 6 images decoded once, 6 served from memory to later models" in logs
    plan["datasets"]["imagenet-val"]["dir"] = str(L.folder(few[:6], tmp_path / "files"))
    _run_separately(plan, tmp_path / "ref")
    for job in plan["jobs"]:
        assert differences(str(tmp_path / "ref" / job["cache"]),
                           os.path.join(plan["caches"], job["cache"]),
                           ignore=("shards", "timing", "dataset")) == []
        a, b = (json.loads(np.load(p)["provenance"].tobytes())["dataset"] for p in (
            tmp_path / "ref" / job["cache"], os.path.join(plan["caches"], job["cache"])))
        assert b.pop("source")["kind"] == "wds" and a == b


def test_prepare_val_leaves_a_source_in_place(tmp_path, few, capsys):
    shards = _shards(tmp_path, few)
    assert cli.main(["prepare-val", str(shards), str(tmp_path / "tree")]) == 2
    assert "is read in place (wds); nothing to prepare. Fix: pass it to predict" in capsys.readouterr().err
    assert not (tmp_path / "tree").exists()


def test_compressed_parquet_row_groups_are_held_within_the_budget(tmp_path, few, monkeypatch):
    """Compressed parquet is read by row group: in the runner's row order (not storage order) each
    group is decoded once while the held groups fit GROUP_CACHE_BYTES, least recently used dropped
    first; with no budget, one group is held and every change of group reads it again."""
    from imagenet_bench.data.sources import refs
    import pyarrow as pa
    import pyarrow.parquet as pq
    (tmp_path / "s").mkdir()
    rows = L.shuffled(few)  # the columns of ILSVRC/imagenet-1k, snappy pages, 3 rows a group
    pq.write_table(pa.table({"image": [{"bytes": d, "path": f"{n.split('.')[0]}_{w}.JPEG"}
                                       for n, d, _, w in rows], "label": [r[2] for r in rows]}),
                   tmp_path / "s" / "validation-00000-of-00001.parquet", row_group_size=3)
    vs = datasets.discover(str(tmp_path / "s"))
    groups = [p.group for p in vs.paths]
    assert {type(p).__name__ for p in vs.paths} == {"Row"} and len(set(groups)) == 4
    data = {name: d for name, d, _, _ in few}
    reads, size = [], {}
    real = refs._read_group
    monkeypatch.setattr(refs, "_read_group", lambda *a: reads.append(a[2]) or real(*a))
    for budget in (10 ** 9, 0, "two groups"):
        if budget == "two groups":
            budget = 2 * max(size.values())
        monkeypatch.setattr(refs, "GROUP_CACHE_BYTES", budget)
        refs._GROUPS.clear()
        reads.clear()
        for p, image_id in zip(vs.paths, vs.image_ids):
            with p.open() as f:
                assert f.read() == data[image_id.split("/")[1]]
            held = {k[1]: c.nbytes for k, (c, _) in refs._GROUPS.items()}
            assert len(held) == 1 or sum(held.values()) <= budget
            size.update(held)
        if budget == 10 ** 9:
            assert sorted(reads) == sorted(set(groups))  # each group decoded once
        elif budget == 0:  # one group held: read again at every change of group
            assert reads == [g for i, g in enumerate(groups) if i == 0 or g != groups[i - 1]]
            assert len(reads) > len(set(groups))  # storage order is not row order
        else:  # the least-recently-used rule written out
            held, misses = [], []
            for g in groups:
                if g in held:
                    held.remove(g)
                else:
                    misses.append(g)
                held.append(g)
                while len(held) > 1 and sum(size[h] for h in held) > budget:
                    held.pop(0)
            assert reads == misses and len(set(groups)) <= len(reads) <= len(size) * 3


def test_parquet_row_without_image_bytes(tmp_path, few):
    import pyarrow as pa
    import pyarrow.parquet as pq
    (tmp_path / "p").mkdir()
    images = [{"bytes": d, "path": f"{n.split('.')[0]}_{w}.JPEG"} for n, d, _, w in few]
    images[4] = {"bytes": None, "path": images[4]["path"]}
    pq.write_table(pa.table({"image": images, "label": [x[2] for x in few]}),
                   tmp_path / "p" / "validation-00000-of-00001.parquet", compression="none",
                   use_dictionary=False)
    _refused(tmp_path / "p", r"validation-00000-of-00001\.parquet: row 4: a sample without an image")
