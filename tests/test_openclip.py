"""The open_clip library: its generated catalog and published figures, run settings, the
zero-shot head against open_clip's own ``build_zero_shot_classifier``, and the offline refusals."""
import json
import os
from importlib import resources

import numpy as np
import pytest

from imagenet_bench.analysis import published
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.models import catalog, libraries
from imagenet_bench.run import config as run_config

from conftest import load_tool
from openclip_helpers import TINY_CONFIG

B32 = "openclip:ViT-B-32.laion2b_s34b_b79k"


def _published_file() -> dict:
    return json.loads(resources.files("imagenet_bench.models").joinpath(
        "data", "openclip_published.json").read_text())


@pytest.mark.slow  # open_clip's 196 configs (~9 s)
def test_the_catalog_is_open_clips_list_and_preprocessing():
    """Every tag of open_clip.list_pretrained(), each entry as tools/gen_openclip.py makes it
    from the installed open_clip (a stale file fails here)."""
    open_clip = pytest.importorskip("open_clip")
    gen_openclip = load_tool("gen_openclip")
    entries = catalog.entries("openclip")
    assert [(e.architecture, e.weights) for e in entries] == list(open_clip.list_pretrained())
    figures = _published_file()["models"]
    src = entries[0].source or next(e.source for e in entries if e.source)
    seen = set()
    for e in entries:
        want = gen_openclip.entry(e.architecture, e.weights, e.architecture not in seen, figures, src)
        seen.add(e.architecture)
        assert catalog.validate(want, e.model) == e
    b32 = next(e for e in entries if e.model == B32)
    assert (b32.input_size, b32.crop_mode, b32.interpolation) == (224, "center", "bicubic")
    assert b32.mean == tuple(open_clip.OPENAI_DATASET_MEAN)


def test_published_figures_feed_score_on_each_test_set():
    data = _published_file()
    assert data["repo"] == "mlfoundations/open_clip" and len(data["commit"]) == 40
    models = data["models"]
    assert len(models) > 100
    for model, figs in list(models.items())[:20]:
        entry = next(e for e in catalog.entries("openclip") if e.model == model)
        assert published.figure(model).top1 == entry.published_top1 == figs["imagenet"]
        for dataset, table in (("imagenet-v2-matched-frequency", "v2"), ("imagenet-a", "a"),
                               ("imagenet-r", "r"), ("imagenet-sketch", "sketch"),
                               ("objectnet", "objectnet")):
            fig = published.figure(model + "+templates-simple", dataset)
            assert (fig.top1, fig.top5) == (figs[table], None), (model, dataset)
            assert ("113 class names" in fig.differs) == (dataset == "objectnet"), fig.differs
            assert data["commit"][:12] in fig.source and "openclip_results.csv" in fig.source
    assert libraries.get("openclip").results_tables == "imagenet_bench.models.openclip_results"
    fig = published.figure(B32, "imagenet-v2-threshold0.7")
    assert fig.top1 is None and "open_clip's results tables cover" in fig.note, fig.note


def test_hub_tokenizer_entries_say_so_and_the_rest_do_not():
    open_clip = pytest.importorskip("open_clip")
    needs = {e.model: e.not_runnable_reason for e in catalog.entries("openclip")}
    for model, reason in needs.items():
        arch = next(e.architecture for e in catalog.entries("openclip") if e.model == model)
        repo = (open_clip.get_model_config(arch) or {}).get("text_cfg", {}).get("hf_tokenizer_name")
        if repo:
            assert reason.startswith("its tokenizer is fetched from the Hugging Face hub") and \
                f"models--{repo.replace('/', '--')}" in reason, model
        else:
            assert reason is None, model
    assert sum(r is not None for r in needs.values()) > 0


def test_templates_simple_is_a_setting_of_the_name():
    cfg = run_config.build(B32 + "+templates-simple", weights="none")
    assert str(cfg.model_id) == B32 + "+random+templates-simple"
    assert str(run_config.build(B32, weights="none").model_id) == B32 + "+random"
    with pytest.raises(InputError, match=r"\+templates-fancy cannot be requested.*\+templates-simple"):
        run_config.build(B32 + "+templates-fancy")
    with pytest.raises(InputError, match=r"\+templates-simple cannot be requested"):
        run_config.build("torch:resnet18.IMAGENET1K_V1+templates-simple")


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    pytest.importorskip("open_clip")
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_offline_weights_name_the_file_and_the_hub_folder(empty_hub):
    from imagenet_bench.backends import openclip as oc
    cfg = run_config.build(B32)
    with pytest.raises(BenchError) as e:
        oc.from_config(cfg)
    msg = str(e.value)
    assert "open_clip_model.safetensors or open_clip_pytorch_model.bin" in msg
    assert str(empty_hub / "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K") in msg
    assert "hf download laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in msg


def test_a_hub_tokenizer_runs_only_from_the_local_hub_cache(empty_hub):
    from imagenet_bench.backends import openclip as oc
    cfg = run_config.build("openclip:ViT-B-16-SigLIP.webli", weights="none")
    with pytest.raises(BenchError, match="its tokenizer is fetched from the Hugging Face hub "
                                         r"\(timm/ViT-B-16-SigLIP\)") as e:
        oc.from_config(cfg)
    assert str(empty_hub / "models--timm--ViT-B-16-SigLIP") in str(e.value)
    snap = empty_hub / "models--timm--ViT-B-16-SigLIP" / "snapshots" / "abc"  # the hub's layout
    snap.mkdir(parents=True)
    (snap / "tokenizer_config.json").write_text("{}")
    (empty_hub / "models--timm--ViT-B-16-SigLIP" / "refs").mkdir()
    (empty_hub / "models--timm--ViT-B-16-SigLIP" / "refs" / "main").write_text("abc")
    oc.check_tokenizer(cfg.model, "timm/ViT-B-16-SigLIP")  # cached now: no refusal


@pytest.fixture(scope="module")
def tiny():
    """(tiny open_clip model with random weights, its tokenizer)."""
    open_clip = pytest.importorskip("open_clip")
    import torch
    open_clip.add_model_config(str(TINY_CONFIG))
    torch.manual_seed(0)
    return open_clip.create_model("tiny-clip", pretrained=None).eval(), open_clip.get_tokenizer("tiny-clip")


def test_the_head_is_open_clips_build_zero_shot_classifier(tiny):
    """10 of open_clip's class names x 2 of its templates, against open_clip's own builder."""
    import torch
    from open_clip.zero_shot_classifier import build_zero_shot_classifier
    from imagenet_bench.backends import openclip_head as heads
    model, tokenizer = tiny
    names, temps = heads.classnames()[:10], heads.templates("openai")[:2]
    ours = heads.build_head(model, tokenizer, names, temps, classes_per_batch=4, progress=False)
    with torch.inference_mode():
        theirs = build_zero_shot_classifier(model, tokenizer, names, temps, num_classes_per_batch=4)
    assert ours.shape == theirs.shape == (16, 10)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-6)
    print(f"head (16 x 10, 2 templates): max |ours - open_clip| = "
          f"{(ours - theirs).abs().max().item():.2e}")


def test_the_head_is_cached_once_by_key(tiny, tmp_path, monkeypatch):
    from imagenet_bench.backends import openclip_head as heads
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    model, tokenizer = tiny
    names, temps = heads.classnames()[:3], heads.templates("simple")[:2]
    k = heads.key("m random(seed=0)", "tok", "simple", names, temps)
    assert k != heads.key("m random(seed=0)", "tok", "openai", names, temps)
    assert k != heads.key("m random(seed=1)", "tok", "simple", names, temps)
    path = heads.head_path("octiny-tiny-clip.v1.simple", k)
    assert path.startswith(str(tmp_path / "imagenet_bench" / "openclip_heads"))
    calls = []

    def build():
        calls.append(1)
        return heads.build_head(model, tokenizer, names, temps, progress=False)
    first = heads.cached_head(path, build)
    again = heads.cached_head(path, build)
    assert len(calls) == 1 and np.array_equal(first, again) and os.listdir(os.path.dirname(path)) == [
        os.path.basename(path)]


def test_the_progress_bar_states_the_cost():
    from imagenet_bench.backends import openclip_head as heads
    assert heads.cost_text(1000, 80) == (
        "zero-shot head: 1,000 classes x 80 templates = 80,000 text passes (built once; minutes "
        "on a GPU, about an hour for ViT-B-32 on a CPU)")


def test_real_labels_have_no_open_clip_figure_and_say_why():
    fig = published.figure(B32, "real")
    assert fig.top1 is None and "no ReaL-labels column" in fig.note, fig.note
