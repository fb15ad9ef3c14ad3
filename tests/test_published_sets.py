"""Published figures come from the test set a cache belongs to (issue 18, item 1's published part)."""
import importlib.util
import json

import pytest

import set_caches
from imagenet_bench.cli import main as cli
from imagenet_bench.analysis import published
from imagenet_bench.models import registry, timm_results

A_MODEL = "timm:resnet18.a1_in1k"


def _timm_a_figure():
    """timm's own ImageNet-A row of resnet18.a1_in1k at the setting of its val figure."""
    spec = registry.get_model(A_MODEL)
    (row,) = [r for r in timm_results.rows(A_MODEL)
              if r.img_size == spec.entry.input_size and r.top["imagenet"][0] == spec.entry.published_top1]
    return row.top["a"]


def _score(folder, capsys, *extra):
    code = cli.main(["score", "--precomputed", str(folder), "--format", "json",
                     "--allow-mixed-datasets", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return {(r["model"], r["dataset"].split("-")[0] if r["dataset"].startswith("val")
             else r["dataset"].rsplit("-", 1)[0]): r for r in json.loads(out)}, err


def test_imagenet_a_cache_of_a_timm_model_gets_timms_a_figure_never_the_val_one():
    val_fig = published.figure(A_MODEL)
    a_fig = published.figure(A_MODEL, "imagenet-a")
    assert val_fig.top1 == pytest.approx(71.504)  # the figure the issue saw on an A cache
    assert (a_fig.top1, a_fig.top5) == _timm_a_figure()
    assert a_fig.top1 == pytest.approx(2.44) and a_fig.top1 != val_fig.top1
    assert "results-imagenet-a.csv" in a_fig.source and "img_size 224" in a_fig.source
    assert a_fig.note == ""


def test_v2_cache_of_torch_resnet18_gets_no_figure_and_says_why():
    assert published.figure("torch:resnet18.IMAGENET1K_V1").top1 == pytest.approx(69.758)
    fig = published.figure("torch:resnet18.IMAGENET1K_V1+bf16", "imagenet-v2-matched-frequency")
    assert fig.top1 is None and fig.top5 is None
    assert fig.note == ("no published figure on imagenet-v2-matched-frequency: torchvision "
                        "publishes ImageNet-val figures only")
    keras = published.figure("keras:ResNet50.imagenet", "imagenet-sketch")
    assert keras.top1 is None and "keras.applications publishes ImageNet-val" in keras.note


def test_sets_timm_has_no_table_of_and_unknown_models_are_empty_with_a_note():
    fig = published.figure(A_MODEL, "imagenet-v2-threshold0.7")
    assert fig.top1 is None and "timm and open_clip's results tables cover" in fig.note
    assert "imagenet-v2-matched-frequency" in fig.note
    assert published.figure("custom:mine", "imagenet-a").note == \
        "not in the registry: no published figure"


def test_real_figure_is_timms_real_table():
    fig = published.figure(A_MODEL, published.REAL)
    spec = registry.get_model(A_MODEL)
    (row,) = [r for r in timm_results.rows(A_MODEL) if r.top["imagenet"][0] == spec.entry.published_top1]
    assert (fig.top1, fig.top5) == row.top["real"] and "results-imagenet-real.csv" in fig.source


def test_score_table_of_a_mixed_folder_uses_each_caches_own_test_set(tmp_path, capsys):
    set_caches.write(tmp_path, [
        set_caches.set_cache(f"{A_MODEL}", "imagenet-val", 0.7, n=24),
        set_caches.set_cache(f"{A_MODEL}", "imagenet-a", 0.3, n=30, seed=1),
        set_caches.set_cache("torch:resnet18.IMAGENET1K_V1", "imagenet-v2-matched-frequency",
                             0.5, n=20, seed=2),
        set_caches.set_cache("torch:resnet18.IMAGENET1K_V1", "imagenet-val", 0.6, n=24, seed=3)])
    rows, err = _score(tmp_path, capsys)
    a = rows[(A_MODEL, "imagenet-a30")]
    assert a["published_acc1"] == pytest.approx(_timm_a_figure()[0])
    assert a["published_acc1"] != pytest.approx(71.504)
    # compared with the 200-class (masked) top-1, the protocol of timm's A table
    assert a["delta_acc1"] == pytest.approx(a_masked(tmp_path) - _timm_a_figure()[0], abs=1e-4)
    v2 = rows[("torch:resnet18.IMAGENET1K_V1", "imagenet-v2-matched-frequency20")]
    assert v2["published_acc1"] is None and v2["delta_acc1"] is None
    assert rows[("torch:resnet18.IMAGENET1K_V1", "val24")]["published_acc1"] == pytest.approx(69.758)
    assert rows[(A_MODEL, "val24")]["published_acc1"] == pytest.approx(71.504)
    assert ("note: published@1 left empty: no published figure on imagenet-v2-matched-frequency: "
            "torchvision publishes ImageNet-val figures only") in err


def a_masked(folder):
    from imagenet_bench.analysis import scorer
    from imagenet_bench.data import datasets
    (p,) = [p for p in scorer.load_predictions(str(folder), allow_mixed=True)
            if datasets.name_of(p) == "imagenet-a"]
    return 100.0 * scorer.masked_correct(p).mean()


def test_score_published_flags_against_the_sets_figure_and_counts_its_images(tmp_path, capsys):
    set_caches.write(tmp_path, [
        set_caches.set_cache(A_MODEL, "imagenet-a", 0.0, n=30, seed=1),
        set_caches.set_cache("torch:resnet18.IMAGENET1K_V1", "imagenet-v2-matched-frequency",
                             0.5, n=20, seed=2)])
    rows, _ = _score(tmp_path, capsys, "--published")
    a = rows[(A_MODEL, "imagenet-a30")]
    assert a["below_published"] is True  # masked top-1 0 % < 2.44 - 1
    assert "30 images, not the 7,500 of the published figure" in a["likely_reason"]
    assert a["published_acc5"] == pytest.approx(_timm_a_figure()[1])
    v2 = rows[("torch:resnet18.IMAGENET1K_V1", "imagenet-v2-matched-frequency20")]
    assert v2["below_published"] is None and v2["published_acc5"] is None
    assert v2["likely_reason"] == ("no published figure on imagenet-v2-matched-frequency: "
                                   "torchvision publishes ImageNet-val figures only")


def test_plain_score_text_table_leaves_the_published_column_empty_for_a_v2_cache(tmp_path, capsys):
    set_caches.write(tmp_path, [set_caches.set_cache(
        "torch:resnet18.IMAGENET1K_V1", "imagenet-v2-matched-frequency", 0.5, n=20)])
    assert cli.main(["score", "--precomputed", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "69.76" not in out and "torch:resnet18.IMAGENET1K_V1" in out
    assert "torchvision publishes ImageNet-val figures only" in err


def test_score_labels_real_published_shows_timms_real_figure(tmp_path, capsys):
    if importlib.util.find_spec("timm") is None:  # found, not imported (it would import torch)
        pytest.skip("ReaL labels are timm's package data; timm is not installed")
    set_caches.write(tmp_path, [set_caches.set_cache(A_MODEL, "imagenet-val", 0.7, n=24)])
    assert cli.main(["score", "--precomputed", str(tmp_path), "--labels", "real", "--published",
                     "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    fig = published.figure(A_MODEL, published.REAL)
    assert row["published_real_acc1"] == pytest.approx(fig.top1)
    assert row["delta_real_acc1"] == pytest.approx(row["real_acc1"] - fig.top1, abs=1e-4)
