"""The ObjectNet mappings reader on a tiny tree in ObjectNet's layout, made here from real val
images with mapping files the test writes (clearly not ObjectNet: fake class names)."""
import json
import os
import shutil

import pytest

from imagenet_bench.cache import derived
from imagenet_bench.data import layouts, objectnet
from imagenet_bench.errors import InputError
from tests.conftest import VAL_SUBSET

# model output index p <-> "ImageNet 2012 id" 999 - p: the reader must go through the ids file
NAMES = [f"name {i}, alias" for i in range(1000)]  # line i: the name of 2012 id i
FOLDERS = {"cups": "Cup", "bikes": "Bicycle", "stones": "Stone"}  # Stone: no ImageNet class
MAP = {"Cup": NAMES[10], "Bicycle": f"{NAMES[3]}; {NAMES[500]}"}  # Bicycle: many-to-one


def _write(root, mapping=MAP, folders=FOLDERS):
    m = os.path.join(root, "mappings")
    os.makedirs(m, exist_ok=True)
    with open(os.path.join(m, "imagenet_to_label_2012_v2"), "w") as f:
        f.write("\n".join(NAMES) + "\n")
    with open(os.path.join(m, "pytorch_to_imagenet_2012_id.json"), "w") as f:
        json.dump({str(p): 999 - p for p in range(1000)}, f)
    with open(os.path.join(m, "folder_to_objectnet_label.json"), "w") as f:
        json.dump(folders, f)
    with open(os.path.join(m, "objectnet_to_imagenet_1k.json"), "w") as f:
        json.dump(mapping, f)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("objectnet-layout"))
    files = sorted(os.listdir(VAL_SUBSET))[:9]
    for k, folder in enumerate(FOLDERS):
        os.makedirs(os.path.join(root, "images", folder))
        for f in files[3 * k:3 * k + 3]:
            shutil.copy(os.path.join(VAL_SUBSET, f), os.path.join(root, "images", folder, f))
    _write(root)
    return root


def test_mapping_goes_through_the_2012_ids_and_keeps_many_to_one(tree):
    m = objectnet.read_mappings(tree)
    # output index of 2012 id i is 999 - i
    assert m.classes == {"cups": (989,), "bikes": (499, 996)}
    rep = derived.same_class_table({"dataset": {"same_class": m.classes}})
    assert rep[996] == 499 and rep[499] == 499 and rep[989] == 989 and rep[5] == 5


def test_scan_counts_only_the_overlapping_folders(tree):
    t = objectnet.scan(tree, layouts.is_image_file)
    assert [p.split("/")[0] for p, _ in t.images] == ["bikes"] * 3 + ["cups"] * 3
    assert t.left_out == 3  # the stones folder: no ImageNet class
    # hand computation: predictions 996 (a mapped bike class), 499, 7 / 989, 989, 499
    preds = [996, 499, 7, 989, 989, 499]
    rep = derived.same_class_table({"dataset": objectnet.facts(t)})
    right = [rep[p] == label for p, (_, label) in zip(preds, t.images)]
    assert right == [True, True, False, True, True, False]


@pytest.mark.parametrize("case, expect", [
    ("unparsable", "does not parse as JSON"),
    ("unknown folder", "folder not in mappings/folder_to_objectnet_label.json"),
    ("no images", "images: no such folder"),
    ("two owners", "is mapped from both"),
    ("unknown name", "which is no line of imagenet_to_label_2012_v2"),
])
def test_bad_layouts_are_refused_naming_the_path(tree, tmp_path, case, expect):
    root = str(tmp_path / "on")
    shutil.copytree(tree, root)
    if case == "unparsable":
        with open(os.path.join(root, "mappings", "objectnet_to_imagenet_1k.json"), "w") as f:
            f.write("{not json")
    elif case == "unknown folder":
        os.makedirs(os.path.join(root, "images", "chairs"))
    elif case == "no images":
        shutil.rmtree(os.path.join(root, "images"))
    elif case == "two owners":
        _write(root, mapping={"Cup": NAMES[10], "Bicycle": f"{NAMES[10]}; {NAMES[3]}"})
    else:
        _write(root, mapping={"Cup": "no such class"})
    with pytest.raises(InputError) as e:
        objectnet.scan(root, layouts.is_image_file)
    msg = str(e.value)
    assert expect in msg and root in msg and "Fix:" in msg
