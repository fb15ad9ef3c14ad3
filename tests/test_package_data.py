"""ImageNet label data shipped as package data, cross-checked against the wheels it came from."""
import subprocess
import sys

import pytest

from imagenet_bench.data import imagenet_meta


def _wheel_file(package, relpath):
    try:
        return imagenet_meta.package_file(package, relpath, "")
    except imagenet_meta.MetadataError as e:
        pytest.skip(f"cannot cross-check: {e}")


def _lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def test_wnids_and_validation_labels_equal_the_tensorflow_datasets_wheel():
    labels = _wheel_file("tensorflow_datasets", "datasets/imagenet2012/labels.txt")
    val = _wheel_file("tensorflow_datasets", "datasets/imagenet2012/validation_labels.txt")
    assert imagenet_meta.wnids() == _lines(labels)
    assert imagenet_meta.validation_wnids() == _lines(val)
    assert len(set(imagenet_meta.validation_wnids())) == imagenet_meta.NUM_CLASSES


def test_class_names_equal_timms_first_lemmas():
    path = _wheel_file("timm", "data/_info/imagenet_synset_to_lemma.txt")
    lemma = dict(line.split("\t", 1) for line in _lines(path))
    wnids = imagenet_meta.wnids()
    assert imagenet_meta.data_lines(imagenet_meta.LEMMA_FILE) == [f"{w}\t{lemma[w]}" for w in wnids]
    assert imagenet_meta.class_names() == [lemma[w].split(",")[0].strip() for w in wnids]


def test_clip_class_names_equal_open_clips_list():
    """The shipped copy is open_clip's IMAGENET_CLASSNAMES (read from its source without importing
    open_clip, which would import torch), in class order."""
    import ast
    path = _wheel_file("open_clip", "zero_shot_metadata.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    (value,) = [n.value for n in tree.body if isinstance(n, ast.Assign)
                and any(getattr(t, "id", None) == "IMAGENET_CLASSNAMES" for t in n.targets)]
    assert imagenet_meta.clip_class_names() == list(ast.literal_eval(value))
    assert imagenet_meta.clip_class_names()[:2] == ["tench", "goldfish"]


def test_full_set_ids_built_with_numpy_equal_the_plain_construction():
    per_file, index = imagenet_meta.validation_wnids(), imagenet_meta.wnid_to_index()
    order = sorted(range(len(per_file)), key=lambda i: index[per_file[i]])
    plain = [f"{per_file[i]}/{imagenet_meta.val_filename(i + 1)}" for i in order]
    assert imagenet_meta.full_val_image_ids() == plain


BLOCKED = r"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("timm", "tensorflow_datasets", "torch", "tensorflow"):
            raise ImportError(f"{name} blocked")
sys.meta_path.insert(0, Block())
from imagenet_bench.data import imagenet_meta as m
names, wnids, val = m.class_names(), m.wnids(), m.validation_wnids()
assert len(names) == len(wnids) == 1000 and len(val) == 50000 and all(names)
assert not any(k.split(".")[0] in ("timm", "tensorflow_datasets") for k in sys.modules)
print(names[wnids.index(val[0])])
"""


def test_labels_and_class_names_need_neither_timm_nor_tensorflow_datasets():
    out = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    first = imagenet_meta.class_names()[imagenet_meta.wnid_to_index()[
        imagenet_meta.validation_wnids()[0]]]
    assert out.stdout.strip() == first


@pytest.mark.parametrize("damage", [
    lambda b: b[:-10],  # a line short
    lambda b: b.replace(b"n01751748", b"n99999999", 1),  # not a wnid
    lambda b: b.replace(b"\n", b"\r\n", 1),  # not one 9-character wnid per line
])
def test_damaged_validation_labels_are_refused_with_the_fix(monkeypatch, damage):
    good = imagenet_meta.data_bytes(imagenet_meta.VALIDATION_FILE)
    monkeypatch.setattr(imagenet_meta, "data_bytes", lambda name: damage(good))
    imagenet_meta.validation_classes.cache_clear()
    try:
        with pytest.raises(imagenet_meta.MetadataError,
                           match=r"validation_wnids.txt: expected 50000 lines.*Fix: reinstall"):
            imagenet_meta.validation_classes()
    finally:
        imagenet_meta.validation_classes.cache_clear()


@pytest.mark.slow
def test_a_built_wheel_carries_the_label_data(built_wheel):
    """A non-editable install has the label files too (setup.py's package_data)."""
    from conftest import run_from_site
    names, site = built_wheel
    for name in ("wnids.txt", "validation_wnids.txt", "synset_to_lemma.txt", "README.md",
                 "LICENSE-APACHE-2.0.txt"):
        assert f"imagenet_bench/data/imagenet/{name}" in names
    code = ("import imagenet_bench; from imagenet_bench.data import imagenet_meta as m; "
            "print(imagenet_bench.__file__); print(len(m.validation_wnids()), m.class_names()[0])")
    out = run_from_site(site, code)
    assert out[0].startswith(str(site))
    assert out[1] == f"50000 {imagenet_meta.class_names()[0]}"
