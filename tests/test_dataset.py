"""Validation-set discovery: layouts, labels, order, subsets, errors."""
import shutil

import numpy as np
import pytest

from conftest import make_valset, require_subset, SUBSET
from imagenet_bench.data import datasets, layouts
from imagenet_bench.data import imagenet_meta
from imagenet_bench.errors import InputError


def test_imagefolder_order_labels_and_ids(tmp_path):
    root = make_valset(tmp_path / "val", num_classes=3, per_class=2)
    vs = datasets.discover(str(root))
    assert vs.layout == "imagefolder"
    assert vs.image_ids == sorted(vs.image_ids)
    index = imagenet_meta.wnid_to_index()
    assert [index[i.split("/")[0]] for i in vs.image_ids] == vs.labels.tolist()
    assert vs.labels.tolist() == [0, 0, 1, 1, 2, 2]
    assert not vs.is_full and "SUBSET" in vs.describe()


def test_flat_and_imagefolder_copies_have_same_fingerprint(tmp_path):
    folder = datasets.discover(str(make_valset(tmp_path / "a", layout="imagefolder")))
    flat = datasets.discover(str(make_valset(tmp_path / "b", layout="flat")))
    assert flat.layout == "flat"
    assert flat.image_ids == folder.image_ids
    assert flat.fingerprint == folder.fingerprint
    assert np.array_equal(flat.labels, folder.labels)


def test_non_image_files_are_ignored(tmp_path):
    root = make_valset(tmp_path / "val", layout="flat")
    (root / "notes.txt").write_text("x")
    (root / ".hidden.JPEG").write_bytes(b"")
    assert datasets.discover(str(root)).num_images == 9


def test_unknown_folder_is_refused(tmp_path):
    root = make_valset(tmp_path / "val")
    (root / "cats").mkdir()
    with pytest.raises(InputError, match="cats.*not ImageNet-1k wnids"):
        datasets.discover(str(root))


def test_wrongly_sorted_official_file_is_refused(tmp_path):
    root = make_valset(tmp_path / "val", num_classes=2, per_class=1)
    a, b = sorted(p for p in root.iterdir())
    f = next(a.iterdir())
    shutil.move(str(f), str(b / f.name))
    with pytest.raises(InputError, match="wrong class folder.*official label"):
        datasets.discover(str(root))


def test_flat_unofficial_name_is_refused(tmp_path):
    root = make_valset(tmp_path / "val", layout="flat")
    (root / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="holiday.jpg: not an official validation file name"):
        datasets.discover(str(root))


def test_missing_dir_and_empty_dir(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        datasets.discover(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images found"):
        datasets.discover(str(tmp_path / "empty"))


def test_full_set_detection_uses_the_official_list():
    full = imagenet_meta.full_val_image_ids()
    vs = datasets.ValSet("/x", "flat", list(full), ["/x"] * len(full),
                        np.zeros(len(full), np.int16), "test")
    assert vs.is_full and vs.describe().startswith("full ImageNet")
    assert not vs.select(range(10)).is_full


def test_devkit_labels(tmp_path):
    scipy_io = pytest.importorskip("scipy.io")
    wn = imagenet_meta.wnids()
    # the devkit numbers classes in its own order: use the reverse to prove the mapping is used
    ids = np.arange(1, 1001)
    synsets = np.zeros(1000, dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O")])
    for i in range(1000):
        synsets[i] = (ids[i], wn[999 - i])
    (tmp_path / "data").mkdir()
    scipy_io.savemat(tmp_path / "data" / "meta.mat", {"synsets": synsets})
    truth = [1000 - wn.index(w) for w in imagenet_meta.validation_wnids()]
    (tmp_path / "data" / "ILSVRC2012_validation_ground_truth.txt").write_text(
        "\n".join(map(str, truth)) + "\n")
    assert layouts.devkit_validation_wnids(str(tmp_path)) == imagenet_meta.validation_wnids()


def test_real_subset_labels_match_third_party_file():
    root = require_subset()
    vs = datasets.discover(str(root))
    assert vs.num_images == 1300 and vs.layout == "flat" and not vs.is_full
    assert vs.num_classes == 725
    theirs = {}
    for line in (SUBSET / "third_party_labels.txt").read_text().splitlines():
        name, label = line.split(",")
        theirs[name.strip().split("/")[-1]] = int(label)
    ours = {i.split("/")[1]: int(label) for i, label in zip(vs.image_ids, vs.labels)}
    assert ours == theirs
