"""benchmarks/scale_bench.py reuses a kept folder of caches only when it holds what the run
would build (no timing here: the benchmark itself prints its ratios)."""
import os

import pytest

from conftest import load_tool


@pytest.fixture(scope="module")
def bench():
    return load_tool("scale_bench", "benchmarks")


def test_a_kept_folder_is_reused_only_when_its_manifest_matches(bench, tmp_path):
    folder = tmp_path / "val2"
    folder.mkdir()
    for name, data in (("a.npz", b"x" * 10), ("b.npz", b"y" * 20)):
        (folder / name).write_bytes(data)
    want = bench._wanted(["torch:a.X", "keras:B.imagenet"], ["imagenet-val"])
    assert not bench.reusable(str(folder), want)  # no manifest yet: built
    bench.write_manifest(str(folder), want)
    assert bench.reusable(str(folder), want)
    assert not bench.reusable(str(folder), bench._wanted(["torch:a.X"], ["imagenet-val"]))
    assert not bench.reusable(str(folder), bench._wanted(want["models"], ["imagenet-val", "imagenet-r"]))
    (folder / "b.npz").write_bytes(b"y" * 19)  # a file of another size (a truncated copy)
    assert not bench.reusable(str(folder), want)
    bench.write_manifest(str(folder), want)
    os.unlink(folder / "a.npz")  # a file gone
    assert not bench.reusable(str(folder), want)
    (folder / ".done").write_text("")  # the empty marker of the older script
    assert not bench.reusable(str(folder), want)


def test_only_folders_the_run_built_are_removed(bench, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "BUILT", [])
    kept = tmp_path / "val3"
    kept.mkdir()
    want = bench._wanted(bench.model_ids(3), ["imagenet-val"])
    for k in range(3):
        (kept / f"{k}.npz").write_bytes(b"z")
    bench.write_manifest(str(kept), want)
    val, every = bench.build(str(tmp_path), 3, 1)  # reused: nothing built
    assert val == str(kept) and every is None and bench.BUILT == []


def test_the_imagenet_c_sets_are_val_and_the_75_benchmark_sets_of_the_asked_size(bench):
    names = bench.set_names(76)
    assert len(names) == 76 and names[0] == "imagenet-val" and names[1] == "imagenet-c-gaussian_noise-1"
    assert not any("speckle" in n for n in names)
    labels, ids = bench._set_images("imagenet-c-fog-3", 2000)
    assert len(labels) == len(ids) == 2000 and ids[0].startswith("imagenet-c-fog-3/n01440764/")
