"""Test sets beyond ImageNet val: layouts, numeric ImageNetV2 order, class subsets, cache tags."""
import csv
import os

import numpy as np
import pytest

from conftest import fake_config, make_valset, official_files
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from imagenet_bench.data import datasets, imagenet_meta
from imagenet_bench.errors import InputError
from imagenet_bench.analysis import scorer
from imagenet_bench.run import runner
from imagenet_bench.run.backend import Backend


class ClassInFileBackend(Backend):
    """A 'network' that reads the true class index written inside each file and predicts it
    (probability 0.6, the rest spread by a seeded generator) -- so top-1 is right exactly
    when the loader gives the file the right label."""

    config, batch_size = fake_config("oracle"), 4

    def provenance(self):
        return {"weights": "oracle", "preprocessing": {"mode": "test"}, "library_versions": {}}

    def preprocess(self, path):
        with open(path, encoding="ascii") as f:
            return np.array([int(f.read())])

    def predict(self, batch):
        rng = np.random.default_rng(int(batch.sum()))
        probs = rng.random((len(batch), 1000)).astype(np.float32)
        probs *= 0.4 / probs.sum(1, keepdims=True)
        probs[np.arange(len(batch)), batch[:, 0]] += 0.6
        return probs


class NoisyBackend(ClassInFileBackend):
    """A noisy oracle: seeded normal logits plus 2.8 on the true class, so top-1 over 1,000
    classes is right for some images and wrong for others."""

    config = fake_config("noisy")

    def predict(self, batch):
        z = np.random.default_rng(int(batch.sum())).normal(size=(len(batch), 1000))
        z[np.arange(len(batch)), batch[:, 0]] += 2.8
        e = np.exp(z - z.max(1, keepdims=True))
        return (e / e.sum(1, keepdims=True)).astype(np.float32)


def write_class_folders(root, folders_and_classes, per_class=2):
    """Folders of tiny files that hold their class index as text (read by ClassInFileBackend)."""
    for folder, klass in folders_and_classes:
        os.makedirs(root / folder, exist_ok=True)
        for i in range(per_class):
            (root / folder / f"img_{i}.jpeg").write_text(str(klass))
    return root


def opts(out, **kw):
    return runner.RunOptions(out_dir=str(out), progress=False, shard=runner.Shard(),
                             log=lambda m: None, **kw)


# --- ImageNetV2: numeric folder order ------------------------------------------------------------

def test_imagenetv2_folders_are_ordered_numerically_and_labelled_by_their_number(tmp_path):
    numbers = [0, 1, 2, 9, 10, 11, 99, 100, 101, 999]  # string order: 0 1 10 100 101 11 2 9 99 999
    assert sorted(map(str, numbers)) != [str(n) for n in numbers]
    root = write_class_folders(tmp_path / "v2", [(str(n), n) for n in numbers])
    vs = datasets.discover(str(root), "imagenet-v2-matched-frequency")
    assert vs.labels.tolist() == [n for n in numbers for _ in range(2)]
    assert [i.split("/")[1] for i in vs.image_ids[::2]] == [str(n) for n in numbers]
    # every file's label is the class written inside it: the oracle network scores 100 %
    res = runner.run(vs, ClassInFileBackend(), opts(tmp_path / "out"))
    assert res.acc1 == 100.0
    # the trap, for contrast: labelling string-sorted folders 0..k-1 gets most of them wrong
    naive = {f: i for i, f in enumerate(sorted(map(str, numbers)))}
    assert sum(naive[str(n)] == n for n in numbers) < len(numbers) // 2


def test_imagenetv2_refuses_wnid_folders_and_numbers_outside_0_999(tmp_path):
    wnid = imagenet_meta.wnids()[0]
    write_class_folders(tmp_path / "a", [(wnid, 0)])
    with pytest.raises(InputError, match=rf"{wnid} are not class indices 0-999.*look like wnid folders"):
        datasets.discover(str(tmp_path / "a"), "imagenet-v2-top-images")
    write_class_folders(tmp_path / "b", [("5", 5), ("1000", 0), ("007", 7)])
    with pytest.raises(InputError, match=r"folder\(s\) 007, 1000 are not class indices 0-999; ImageNetV2 Threshold0.7 has 1000 folders"):
        datasets.discover(str(tmp_path / "b"), "imagenet-v2-threshold0.7")


def test_too_many_images_for_the_set_is_refused_with_both_counts(tmp_path, monkeypatch):
    spec = datasets.get("imagenet-v2-matched-frequency")
    monkeypatch.setitem(datasets.DATASETS, spec.name,
                        datasets.DatasetSpec(**{**spec.__dict__, "num_images": 5}))
    write_class_folders(tmp_path / "v2", [("0", 0), ("1", 1), ("2", 2)])
    with pytest.raises(InputError, match=r"found 6 images in 3 class folders; ImageNetV2 "
                                         r"MatchedFrequency has 5"):
        datasets.discover(str(tmp_path / "v2"), spec.name)


# --- ImageNet-A / -R: the fixed class list ------------------------------------------------------

def test_a_and_r_subsets_are_the_papers_fixed_lists_of_200():
    wnids = imagenet_meta.wnids()
    a, r = datasets.get("imagenet-a").classes, datasets.get("imagenet-r").classes
    assert len(a) == len(set(a)) == 200 and len(r) == len(set(r)) == 200
    # first entries of the lists in hendrycks/natural-adv-examples and hendrycks/imagenet-r
    assert [wnids[i] for i in a[:3]] == ["n01498041", "n01531178", "n01534433"]
    assert [wnids[i] for i in r[:3]] == ["n01443537", "n01484850", "n01494475"]
    # natural-adv-examples eval.py maps 1000 -> 200 classes; its first kept indices are 6, 11, 13
    assert a[:3] == (6, 11, 13)


def test_class_lists_ship_as_package_data():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "setup.py").read_text()
    data = text.split("package_data=")[1].split('"imagenet_bench.data":')[1].split("]")[0]
    assert '"_info/*.txt"' in data


def test_a_partial_folder_is_a_subset_and_a_class_outside_the_list_is_refused(tmp_path):
    wnids = imagenet_meta.wnids()
    a = datasets.get("imagenet-a").classes
    root = write_class_folders(tmp_path / "a", [(wnids[c], c) for c in a[:3]])
    vs = datasets.discover(str(root), "imagenet-a")
    assert vs.class_subset == a and not vs.is_full
    assert "SUBSET of ImageNet-A" in vs.describe() and "3 of 200 classes" in vs.describe()
    outside = next(i for i in range(1000) if i not in a)
    write_class_folders(root, [(wnids[outside], outside)])
    with pytest.raises(InputError, match=rf"4 class folders, 1 of them outside ImageNet-A.*"
                                         rf"{wnids[outside]}.*imagenet_a_wnids.txt"):
        datasets.discover(str(root), "imagenet-a")


def test_masked_accuracy_equals_restricting_the_full_output_to_the_200_classes(tmp_path, capsys):
    wnids = imagenet_meta.wnids()
    r = datasets.get("imagenet-r").classes
    root = write_class_folders(tmp_path / "r", [(wnids[c], c) for c in r[::10]], per_class=5)
    vs = datasets.discover(str(root), "imagenet-r")
    res = runner.run(vs, NoisyBackend(), opts(tmp_path / "out", save_all_probs=True))
    preds = cache.load(res.cache_path, with_all_probs=True)
    assert preds.provenance["dataset"]["class_subset"] == list(r)
    probs = preds.all_probs.astype(np.float32)
    direct = np.asarray(r)[np.argmax(probs[:, r], axis=1)] == preds.labels
    masked = scorer.masked_correct(preds)
    assert masked.tolist() == direct.tolist()
    unmasked = preds.top5_idx[:, 0] == preds.labels
    assert (masked | ~unmasked).all()  # right over 1,000 classes => right over the 200
    assert 0 < unmasked.sum() < masked.sum() < len(masked)
    # score's acc@1 is the masked top-1 (the default protocol), the plain one beside it
    capsys.readouterr()
    assert cli.main(["score", "--precomputed", str(tmp_path / "out"), "--format", "csv"]) == 0
    (row,) = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert float(row["acc1"]) == pytest.approx(100 * masked.mean(), abs=1e-6)
    assert float(row["unmasked_acc1"]) == pytest.approx(100 * unmasked.mean(), abs=1e-6)
    assert row["protocol"] == "masked"
    assert cli.main(["score", "--precomputed", str(tmp_path / "out"), "--format", "csv",
                     "--unmasked"]) == 0
    (row,) = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert float(row["acc1"]) == pytest.approx(100 * unmasked.mean(), abs=1e-6)
    assert row["protocol"] == "unmasked" and "unmasked_acc1" not in row
    # the subset top-5 lies inside the subset, probabilities descending
    assert np.isin(preds.subset_top5_idx, r).all()
    assert (np.diff(preds.subset_top5_prob, axis=1) <= 0).all()


def test_a_cache_without_subset_top5_cannot_be_scored_masked(tmp_path):
    wnids = imagenet_meta.wnids()
    a = datasets.get("imagenet-a").classes
    root = write_class_folders(tmp_path / "a", [(wnids[c], c) for c in a[:2]])
    res = runner.run(datasets.discover(str(root), "imagenet-a"), NoisyBackend(),
                     opts(tmp_path / "out"))
    preds = cache.load(res.cache_path)
    preds.subset_top5_idx = None
    with pytest.raises(InputError, match=r"no top-5 within the class subset.*imagenet-a=DIR"):
        scorer.masked_correct(preds)


# --- Sketch: same layout as val, never mixed with it --------------------------------------------

def test_sketch_copy_of_val_files_gets_its_own_fingerprint_and_tag(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    vs_val = datasets.discover(str(val))
    vs_sk = datasets.discover(str(val), "imagenet-sketch")
    assert vs_val.labels.tolist() == vs_sk.labels.tolist()
    assert vs_val.fingerprint != vs_sk.fingerprint
    assert vs_sk.image_ids[0] == "imagenet-sketch/" + vs_val.image_ids[0]
    assert cache.dataset_tag(4, vs_val.fingerprint) == f"val4-{vs_val.fingerprint[:8]}"
    assert cache.dataset_tag(4, vs_sk.fingerprint, "imagenet-sketch") == \
        f"imagenet-sketch4-{vs_sk.fingerprint[:8]}"
    assert "SUBSET of ImageNet-Sketch" in vs_sk.describe()


def test_sketch_refuses_flat_files(tmp_path):
    root = make_valset(tmp_path / "flat", num_classes=1, per_class=2, layout="flat")
    with pytest.raises(InputError, match=r"found 2 image file\(s\).*ImageNet-Sketch is one folder "
                                         r"per class"):
        datasets.discover(str(root), "imagenet-sketch")


def test_predict_cli_refuses_unknown_dataset_and_wrong_layout(tmp_path, capsys):
    root = write_class_folders(tmp_path / "v2", [("0", 0), ("10", 10)])
    base = ["predict", "--model", "torch:resnet18",
            "-o", str(tmp_path / "out")]
    assert cli.main(base + ["--dataset", "imagenet-z", str(root)]) == 2
    err = capsys.readouterr().err
    assert "test set 'imagenet-z': unknown" in err and "imagenet-v2-top-images" in err
    assert "imagenet-c-gaussian_noise-1" not in err  # a family is listed once, by its name
    assert cli.main(base + [str(root)]) == 2  # default imagenet-val: numbered folders refused
    err = capsys.readouterr().err
    assert "0, 10 are not ImageNet-1k wnids" in err and "Traceback" not in err
    assert cli.main(base + ["--dataset", "imagenet-a", str(root)]) == 2
    assert "imagenet-v2-matched-frequency=DIR" in capsys.readouterr().err


def test_val_default_is_unchanged(tmp_path):
    val = make_valset(tmp_path / "val", num_classes=2, per_class=1)
    a, b = datasets.discover(str(val)), datasets.discover(str(val))
    assert a.image_ids == b.image_ids and a.labels.tolist() == b.labels.tolist()
    assert a.dataset == b.dataset == "imagenet-val" and a.class_subset is None
    assert a.image_ids == [f"{w}/{n}" for w, n in official_files(2, 1)]
