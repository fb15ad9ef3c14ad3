"""Cache format: round trips, validation errors that name the file, atomic writes."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import make_preds

from imagenet_bench.cache import store as cache
from imagenet_bench.cache.store import CacheError


def test_round_trip(tmp_path):
    p = make_preds([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], [1, 7], missing=[False, True])
    path = cache.save(str(tmp_path / "c.npz"), p)
    q = cache.load(path)
    assert np.array_equal(q.top5_idx, p.top5_idx) and q.top5_idx.dtype == np.int16
    assert q.top5_prob.dtype == np.float16  # format 2
    assert np.array_equal(q.top5_prob, p.top5_prob.astype(np.float16))
    assert np.array_equal(q.labels, p.labels)
    assert q.image_ids == p.image_ids and q.missing.tolist() == [False, True]
    assert q.provenance == p.provenance and q.fingerprint == cache.fingerprint(p.image_ids)
    assert q.qualname == "torch:m" and q.path == path


def test_all_probs_round_trip(tmp_path):
    probs = np.random.default_rng(0).dirichlet(np.ones(1000), size=3).astype(np.float32)
    idx, top = cache.top5_from_probs(probs)
    p = make_preds(idx, [0, 1, 2], probs=top)
    p.all_probs = probs.astype(np.float16)
    cache.save(str(tmp_path / "c.npz"), p)
    q = cache.load(str(tmp_path / "c.npz"), with_all_probs=True)
    assert q.all_probs.dtype == np.float16 and q.all_probs.shape == (3, 1000)
    assert cache.load(str(tmp_path / "c.npz")).all_probs is None


def test_top5_from_probs_sorted_and_ties_to_lower_index():
    probs = np.zeros((2, 1000), np.float32)
    probs[0, [10, 3, 500, 7, 8, 9]] = [0.1, 0.3, 0.3, 0.2, 0.05, 0.05]
    probs[1, 999] = 1.0
    idx, top = cache.top5_from_probs(probs)
    assert idx[0].tolist() == [3, 500, 7, 10, 8]
    assert top[0].tolist() == pytest.approx([0.3, 0.3, 0.2, 0.1, 0.05])
    assert idx[1, 0] == 999 and idx[1, 1:].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"received array with shape \(2, 10\)"):
        cache.top5_from_probs(np.zeros((2, 10)))


def _write_raw(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


def _raw_from(p):
    return {"top5_idx": p.top5_idx, "top5_prob": p.top5_prob, "labels": p.labels,
            "missing": p.missing, "image_ids": p.image_ids_blob,
            "provenance": np.frombuffer(json.dumps(p.provenance).encode(), np.uint8)}


@pytest.mark.parametrize("change, message", [
    (lambda a: a.update(top5_idx=a["top5_idx"][:, :4]), r"top5_idx has shape \(2, 4\)"),
    (lambda a: a.update(top5_idx=a["top5_idx"].astype(np.float32)), "top5_idx has dtype float32"),
    (lambda a: a["top5_idx"].__setitem__((1, 2), 1000), r"class index out of range 0-999 at row 1"),
    (lambda a: a["top5_idx"].__setitem__((0, 0), -3), r"class index out of range 0-999 at row 0"),
    (lambda a: a["top5_prob"].__setitem__((1, 0), np.nan), "non-finite probability at row 1"),
    (lambda a: a.update(labels=a["labels"][:1]), r"labels has shape \(1,\), expected \(2,\)"),
    (lambda a: a["labels"].__setitem__(0, 1000), "label out of range 0-999 at row 0"),
    (lambda a: a.update(image_ids=np.frombuffer(b"only-one", np.uint8)), "1 image ids for 2"),
    (lambda a: a.update(image_ids=np.frombuffer(b"x\ny", np.uint8)), "fingerprint does not match"),
    (lambda a: a.update(top5_prob=a["top5_prob"][:1]), r"top5_prob has shape \(1, 5\)"),
])
def test_validation_names_file_and_problem(tmp_path, change, message):
    arrays = _raw_from(make_preds([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], [1, 7]))
    arrays = {k: np.array(v) for k, v in arrays.items()}
    change(arrays)
    path = _write_raw(tmp_path / "bad.npz", **arrays)
    with pytest.raises(CacheError, match=message) as e:
        cache.load(path)
    assert str(path) in str(e.value) and "Fix:" in str(e.value)


def test_incomplete_cache_is_refused_unless_allowed(tmp_path):
    p = make_preds([[1, 2, 3, 4, 5]], [1], complete=False)
    path = cache.save(str(tmp_path / "c.npz"), p)
    with pytest.raises(CacheError, match=r"did not finish \(complete=False\).*resume"):
        cache.load(path)
    assert cache.load(path, allow_incomplete=True).num_images == 1


def test_missing_provenance_and_foreign_files(tmp_path):
    p = make_preds([[1, 2, 3, 4, 5]], [1])
    arrays = _raw_from(p)
    del p.provenance["weights"]
    arrays["provenance"] = np.frombuffer(json.dumps(p.provenance).encode(), np.uint8)
    with pytest.raises(CacheError, match="provenance lacks weights"):
        cache.load(_write_raw(tmp_path / "a.npz", **arrays))
    with pytest.raises(CacheError, match="not an imagenet_bench cache"):
        cache.load(_write_raw(tmp_path / "b.npz", x=np.zeros(3)))
    (tmp_path / "c.npz").write_bytes(b"garbage")
    with pytest.raises(CacheError, match=r"c\.npz: cannot be read as a cache"):
        cache.load(str(tmp_path / "c.npz"))


def test_missing_rows_may_hold_minus_one(tmp_path):
    p = make_preds([[1, 2, 3, 4, 5], [-1] * 5], [1, 2], missing=[False, True])
    assert cache.load(cache.save(str(tmp_path / "c.npz"), p)).missing.sum() == 1


def test_atomic_save_keeps_old_file_on_failure(tmp_path, monkeypatch):
    good = make_preds([[1, 2, 3, 4, 5]], [1])
    path = cache.save(str(tmp_path / "c.npz"), good)
    before = Path(path).read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        cache.save(path, make_preds([[9, 8, 7, 6, 5]], [9]))
    assert Path(path).read_bytes() == before
    assert os.listdir(tmp_path) == ["c.npz"]  # no temporary file left behind


def test_cache_filename_and_find_caches(tmp_path):
    p = make_preds([[1, 2, 3, 4, 5]], [1], model="torch:resnet50.IMAGENET1K_V2+bf16")
    name = cache.cache_filename(p.model_id, 1, p.fingerprint)
    assert name == f"torch-resnet50.IMAGENET1K_V2+bf16.val1-{p.fingerprint[:8]}.npz"
    cache.save(str(tmp_path / name), p)
    (tmp_path / "x.partial.npz").write_bytes(b"")
    assert cache.find_caches(str(tmp_path)) == [str(tmp_path / name)]


@pytest.mark.parametrize("damage", ["truncate", "empty", "flip"])
def test_damaged_files_are_named_not_tracebacks(tmp_path, damage):
    path = cache.save(str(tmp_path / "c.npz"), make_preds([[1, 2, 3, 4, 5]] * 50, [1] * 50))
    data = Path(path).read_bytes()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "empty":
        data = b""
    else:
        mid = len(data) // 2
        data = data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 64]) + data[mid + 64:]
    Path(path).write_bytes(data)
    with pytest.raises(CacheError, match=r"c\.npz: cannot be read as a cache.*Fix:"):
        cache.load(path)


def test_written_files_get_normal_permissions(tmp_path):
    path = cache.save(str(tmp_path / "c.npz"), make_preds([[1, 2, 3, 4, 5]], [1]))
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask


def test_format_1_files_are_still_read(tmp_path):
    p = make_preds([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], [1, 7])
    arrays = _raw_from(p)
    prov = dict(p.provenance, format_version=1)
    arrays["provenance"] = np.frombuffer(json.dumps(prov).encode(), np.uint8)
    path = _write_raw(tmp_path / "v1.npz", **arrays)  # np.savez, float32 probabilities
    q = cache.load(path)
    assert q.provenance["format_version"] == 1 and q.top5_prob.dtype == np.float32
    assert np.array_equal(q.top5_idx, p.top5_idx) and np.array_equal(q.top5_prob, p.top5_prob)
    cache.save(str(tmp_path / "v2.npz"), q)  # saving converts to the current format
    assert cache.load(str(tmp_path / "v2.npz")).provenance["format_version"] == cache.FORMAT_VERSION
    arrays["provenance"] = np.frombuffer(json.dumps(dict(prov, format_version=4)).encode(),
                                         np.uint8)
    with pytest.raises(CacheError, match="cache format version 4, this imagenet_bench reads 1, 2, 3"):
        cache.load(_write_raw(tmp_path / "v3.npz", **arrays))


def test_same_predictions_give_the_same_bytes(tmp_path):
    p = make_preds([[1, 2, 3, 4, 5]] * 3, [1, 2, 3])
    a, b = cache.save(str(tmp_path / "a.npz"), p), cache.save(str(tmp_path / "b.npz"), p)
    assert Path(a).read_bytes() == Path(b).read_bytes()


def test_identical_image_ids_are_inflated_once_and_shared(tmp_path):
    ids = [f"n00000000/img_{i:05d}.JPEG" for i in range(200)]
    paths = [cache.save(str(tmp_path / f"{m}.npz"), make_preds([[1, 2, 3, 4, 5]] * 200,
                                                               [1] * 200, model=m, ids=ids))
             for m in ("a", "b")]
    other = cache.save(str(tmp_path / "c.npz"), make_preds(
        [[1, 2, 3, 4, 5]] * 200, [1] * 200, ids=[i.replace("img", "pic") for i in ids]))
    a, b, c = (cache.load(p) for p in paths + [other])
    assert a.image_ids_blob is b.image_ids_blob and not a.image_ids_blob.flags.writeable
    assert c.image_ids_blob is not a.image_ids_blob and c.image_ids[0] == "n00000000/pic_00000.JPEG"
    assert a.image_ids == ids


@pytest.mark.parametrize("bits", [0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01])  # +-inf, +-nan, snan
def test_float16_infinity_is_refused(tmp_path, bits):
    arrays = _raw_from(make_preds([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], [1, 7]))
    arrays["top5_prob"] = arrays["top5_prob"].astype(np.float16)
    arrays["top5_prob"].view(np.uint16)[1, 3] = bits
    with pytest.raises(CacheError, match="non-finite probability at row 1"):
        cache.load(_write_raw(tmp_path / "inf.npz", **arrays))


@pytest.mark.parametrize("value", [65504.0, -65504.0, -0.0, -0.25])  # finite, some with the sign bit
def test_finite_float16_probabilities_pass_the_finiteness_check(tmp_path, value):
    arrays = _raw_from(make_preds([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]], [1, 7]))
    arrays["top5_prob"] = arrays["top5_prob"].astype(np.float16)
    arrays["top5_prob"][0, 2] = value
    assert cache.load(_write_raw(tmp_path / "ok.npz", **arrays)).top5_prob[0, 2] == value


def test_full_validation_set_ids_are_named_not_stored(tmp_path):
    from imagenet_bench.data import imagenet_meta

    ids = imagenet_meta.full_val_image_ids()
    labels = np.arange(len(ids)) // 50
    p = make_preds(np.tile(np.arange(5), (len(ids), 1)), labels, ids=ids)
    path = cache.save(str(tmp_path / "full.npz"), p)
    with np.load(path) as z:
        assert "image_ids" not in z.files and "missing" not in z.files  # nothing missing
        prov = json.loads(z["provenance"].tobytes())
    assert prov["image_list"] == cache.FULL_VAL_LIST
    q = cache.load(path)
    assert q.image_ids == ids and q.fingerprint == cache.fingerprint(ids)
    assert q.missing.shape == (len(ids),) and not q.missing.any()

    def rewrite(name, **changes):
        arrays = {k: np.array(v) for k, v in np.load(path).items()}
        arrays["provenance"] = np.frombuffer(json.dumps(dict(prov, **changes)).encode(), np.uint8)
        return _write_raw(tmp_path / name, **arrays)

    with pytest.raises(CacheError, match="unknown image list 'someone-elses-list'.*Fix:"):
        cache.load(rewrite("other.npz", image_list="someone-elses-list"))
    with pytest.raises(CacheError, match="missing arrays image_ids, and no image_list"):
        cache.load(rewrite("none.npz", image_list=None))
    with pytest.raises(CacheError, match="fingerprint does not match"):
        cache.load(rewrite("fp.npz", fingerprint="0" * 64))
    arrays = {k: np.array(v) for k, v in np.load(path).items()}
    arrays["labels"][1234] = 999  # the ids are not parsed again, but the labels are checked
    with pytest.raises(CacheError, match=r"1 label\(s\) disagree with the wnid.*row 1234"):
        cache.load(_write_raw(tmp_path / "label.npz", **arrays))


def test_the_implicit_full_val_constants_are_the_package_data():
    """What validation checks a full-val cache against instead of rebuilding its 1.9 MB ids."""
    import hashlib

    from imagenet_bench.cache import image_ids
    from imagenet_bench.data import imagenet_meta

    blob = imagenet_meta.full_val_ids_blob()
    assert hashlib.sha256(blob.tobytes()).hexdigest() == image_ids.FULL_VAL_FINGERPRINT
    assert image_ids.ids_summary(blob) == (image_ids.FULL_VAL_IMAGES, image_ids.FULL_VAL_FINGERPRINT)
    classes = imagenet_meta.full_val_classes()
    assert image_ids.full_val_labels_agree(classes)
    wnids = imagenet_meta.wnids()
    for row in (0, 49, 50, 31_337, 49_999):  # one wrong label is seen by both checks
        labels = np.array(classes, dtype=np.int16)
        labels[row] = (labels[row] + 1) % 1000
        assert not image_ids.full_val_labels_agree(labels)
        with pytest.raises(CacheError, match=rf"1 label\(s\) disagree.*row {row}:"):
            image_ids.check_ids(blob, labels, wnids, _raise)


def _raise(msg, fix):
    raise CacheError(f"{msg}. Fix: {fix}")


def test_a_full_val_cache_is_validated_without_building_its_ids(tmp_path):
    from imagenet_bench.data import imagenet_meta

    ids = imagenet_meta.full_val_image_ids()
    p = make_preds(np.tile(np.arange(5), (len(ids), 1)), np.arange(len(ids)) // 50, ids=ids)
    path = cache.save(str(tmp_path / "full.npz"), p)
    imagenet_meta.full_val_ids_blob.cache_clear()
    q = cache.load(path)
    assert imagenet_meta.full_val_ids_blob.cache_info().currsize == 0  # not built by load
    assert q.image_ids == ids  # built when used
    assert q.image_ids_blob is imagenet_meta.full_val_ids_blob()
    assert cache.save(str(tmp_path / "again.npz"), cache.load(path)) and \
        Path(tmp_path / "again.npz").read_bytes() == Path(path).read_bytes()
    arrays = {k: np.array(v) for k, v in np.load(path).items()}
    arrays = {k: (v[:49_950] if k in ("top5_idx", "top5_prob", "labels") else v)
              for k, v in arrays.items()}
    prov = json.loads(arrays["provenance"].tobytes())
    arrays["provenance"] = np.frombuffer(json.dumps(dict(prov, num_images=49_950)).encode(), np.uint8)
    with pytest.raises(CacheError, match=r"short.npz: 50000 image ids for 49950 prediction rows\. "
                                         r"Fix: re-create it"):
        cache.load(_write_raw(tmp_path / "short.npz", **arrays))
