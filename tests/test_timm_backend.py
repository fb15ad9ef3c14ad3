"""predict --framework timm: refusals, offline weights, random and checkpoint runs, pixels."""
import json
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from conftest import SUBSET  # noqa: E402
from imagenet_bench.backends import timm as backend  # noqa: E402
from imagenet_bench.backends import timm_meta  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.cache.atomic import file_sha256  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402

FAST = ["-b", "4", "-j", "0", "--no-progress"]
MODEL = "timm:resnet18.a1_in1k"  # 11.7 M parameters, builds in well under a second



def _config(model, **kw):
    """A RunConfig of ``model`` (an id or its string) as config.build makes one, on the CPU."""
    from imagenet_bench.models.identity import ModelId, from_string
    from imagenet_bench.run.config import CUSTOM_BASE_RECIPE, RunConfig
    mid = model if isinstance(model, ModelId) else from_string(model)
    return RunConfig(**dict(dict(model_id=mid, framework="timm", spec=None, recipe=CUSTOM_BASE_RECIPE,
                                 device="cpu", workers=0, threads=1), **kw))

def _predict(*args):
    return cli.main(["predict", "--framework", "timm", *args])


def _entry(model):
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "imagenet_bench", "models", "data", "timm.json")
    with open(path, encoding="utf-8") as f:
        return next(e for e in json.load(f)["entries"] if e["model"] == model)


# --- refusals (no network is built) ----------------------------------------------------------

def test_a_head_that_is_not_imagenet_1k_is_refused_with_its_reason(valdir, capsys):
    assert _predict("-m", "timm:vit_base_patch16_clip_224.openai", "--weights", "none", str(valdir)) == 2
    err = capsys.readouterr().err
    assert "timm:vit_base_patch16_clip_224.openai cannot be run by predict" in err
    assert "512 outputs" in err and "`imagenet-bench models vit_base_patch16_clip_224`" in err
    assert "Traceback" not in err


def test_an_in22k_head_is_refused(valdir, capsys):
    assert _predict("-m", "timm:convnext_tiny.fb_in22k", "--weights", "none", str(valdir)) == 2
    assert "imagenet-22k head (21841 classes), not ImageNet-1k" in capsys.readouterr().err


def test_an_unknown_tag_suggests_close_ones(valdir, capsys):
    assert _predict("-m", "timm:resnet18.a1_in1kk", "--weights", "none", str(valdir)) == 2
    err = capsys.readouterr().err
    assert "timm:resnet18 has no weights 'a1_in1kk'; the registry has a1_in1k, a2_in1k" in err


def test_weights_other_than_none_and_preprocess_legacy_are_refused(valdir, capsys):
    assert _predict("-m", MODEL, "--weights", "IMAGENET1K_V1", str(valdir)) == 2
    assert "timm:resnet18 has no weights 'IMAGENET1K_V1'" in capsys.readouterr().err
    assert _predict("-m", MODEL, "--preprocess", "legacy2019", "--weights", "none", str(valdir)) == 2
    err = capsys.readouterr().err
    assert ("timm:resnet18.a1_in1k: --preprocess legacy2019 is not offered by the timm library. "
            "Fix: leave --preprocess out") in err


def test_a_bare_architecture_means_timms_default_tag():
    cfg = timm_meta.pretrained_cfg("resnet50")
    backend.check_head("resnet50")  # a 1000-class head: not refused
    assert f"timm:{cfg.architecture}.{cfg.tag}" == "timm:resnet50.a1_in1k" == _entry(
        "timm:resnet50.a1_in1k")["model"]
    assert _entry("timm:resnet50.a1_in1k")["is_default"] is True


def test_missing_pretrained_weights_name_the_hub_cache_and_the_fix(valdir, tmp_path, capsys, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert _predict("-m", MODEL, *FAST, "-o", str(tmp_path / "o"), str(valdir)) == 2
    err = capsys.readouterr().err
    folder = os.path.join(str(tmp_path / "hub"), "models--timm--resnet18.a1_in1k")
    assert f"the pretrained weights of {MODEL} are not cached" in err and folder in err
    assert "hf download timm/resnet18.a1_in1k" in err and "--checkpoint FILE" in err
    assert "https://huggingface.co/timm/resnet18.a1_in1k/resolve/main/model.safetensors" in err


@pytest.mark.slow
def test_a_cached_file_that_does_not_load_is_named_not_called_missing(valdir, tmp_path, capsys,
                                                                     monkeypatch):
    from huggingface_hub import constants
    repo = tmp_path / "hub" / "models--timm--resnet18.a1_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc")
    (repo / "snapshots" / "abc").mkdir(parents=True)
    (repo / "snapshots" / "abc" / "model.safetensors").write_bytes(b"not a safetensors file")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert _predict("-m", MODEL, *FAST, "-o", str(tmp_path / "o"), str(valdir)) == 2
    err = capsys.readouterr().err
    assert f"the cached weights of {MODEL} under {repo} cannot be loaded (SafetensorError" in err
    assert "Fix: delete them" in err and "Traceback" not in err


@pytest.mark.slow
def test_a_checkpoint_that_is_no_weights_file_is_refused(valdir, tmp_path, capsys):
    for name in ("junk.safetensors", "junk.pth"):
        (tmp_path / name).write_bytes(b"\x00 not weights")
        assert _predict("-m", MODEL, "--checkpoint", str(tmp_path / name), *FAST, "-o", str(tmp_path / "o"),
                        str(valdir)) == 2
        err = capsys.readouterr().err
        assert f"--checkpoint {tmp_path / name}: cannot be loaded into {MODEL}" in err, err
        assert "Traceback" not in err


# --- pixels: the backend's decode + timm's transform == timm's own loader --------------------

#: one tag per crop mode and interpolation that timm's pretrained cfgs use
PIXEL_CASES = ["timm:resnet18.a1_in1k",  # center, bicubic, crop_pct 0.95
               "timm:resnet18.tv_in1k",  # center, bilinear, 0.875
               "timm:convnext_base.fb_in22k_ft_in1k_384",  # squash, bicubic, 1.0
               "timm:deepseek_vit_412m.deepseek_v4_1_flash"]  # border (a feature backbone)


def test_pixel_cases_span_the_crop_modes_and_interpolations():
    seen = {(timm_meta.data_config(timm_meta.pretrained_cfg(m))["crop_mode"],
             timm_meta.data_config(timm_meta.pretrained_cfg(m))["interpolation"]) for m in PIXEL_CASES}
    assert seen == {("center", "bicubic"), ("center", "bilinear"), ("squash", "bicubic"),
                    ("border", "bicubic")}


@pytest.mark.parametrize("model", PIXEL_CASES)
def test_preprocess_equals_timms_transform_on_real_images(model):
    from PIL import Image
    from timm.data import create_transform, resolve_data_config
    if not SUBSET.is_dir():
        pytest.skip(f"real val subset not found at {SUBSET}")
    b = backend.TimmBackend(torch.nn.Identity(), _config(model), {"weights": "x"})
    # timm's own path, as its validate.py builds it from the pretrained cfg
    reference = create_transform(**resolve_data_config({}, pretrained_cfg=timm_meta.pretrained_cfg(model)
                                                       .to_dict()))
    for path in sorted(SUBSET.glob("*.JPEG"))[:6]:
        with open(path, "rb") as f:
            want = reference(Image.open(f).convert("RGB")).numpy()
        got = b.preprocess(str(path))
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_every_runnable_entrys_provenance_records_timms_resolved_config():
    """What each cache would record (no network built): timm's config, and the registry's recipe."""
    from timm.data import resolve_data_config
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "imagenet_bench", "models", "data", "timm.json")
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if doc["versions"]["timm"] != timm.__version__:
        pytest.skip(f"timm.json lists timm {doc['versions']['timm']}, installed is {timm.__version__}")
    runnable = [e for e in doc["entries"] if e["runnable"]]
    keys = ("input_size", "resize", "crop", "crop_mode", "interpolation", "mean", "std")
    for e in runnable:
        arch, tag = e["architecture"], e["weights"]
        b = backend.TimmBackend(torch.nn.Identity(), _config(e["model"]), {"weights": "x"})
        prov = b.provenance()
        resolved = resolve_data_config({}, pretrained_cfg=timm.models.get_pretrained_cfg(
            f"{arch}.{tag}").to_dict())
        assert prov["timm_data_config"] == {k: list(v) if isinstance(v, tuple) else v
                                            for k, v in resolved.items()}, e["model"]
        assert {k: prov["preprocessing"][k] for k in keys} == {k: e[k] for k in keys}, e["model"]
    assert len(runnable) > 1000


# --- runs (slow: they build a network) -------------------------------------------------------

def _only_cache(out):
    (path,) = cache.find_caches(str(out))
    return cache.load(path)


@pytest.mark.slow
def test_random_weights_run_records_timms_resolved_config(valdir, tmp_path, capsys):
    assert _predict("-m", MODEL, "--weights", "none", *FAST, "-o", str(tmp_path), str(valdir)) == 0
    assert f"{MODEL}+random: acc@1" in capsys.readouterr().out
    preds = _only_cache(tmp_path)
    prov = preds.provenance
    cfg = timm_meta.pretrained_cfg(MODEL)
    from timm.data import resolve_data_config
    resolved = resolve_data_config({}, pretrained_cfg=cfg.to_dict())
    assert prov["timm_data_config"] == {k: list(v) if isinstance(v, tuple) else v
                                        for k, v in resolved.items()}
    entry = _entry(MODEL)
    for key in ("input_size", "resize", "crop", "crop_mode", "interpolation", "mean", "std"):
        assert prov["preprocessing"][key] == entry[key], key
    assert prov["weights"] == "random(seed=0)" and prov["library_versions"]["timm"] == timm.__version__
    assert any("Resize(size=235" in t for t in prov["transform"])


@pytest.mark.slow
def test_checkpoint_is_loaded_and_named_by_its_hash(valdir, tmp_path, capsys):
    from safetensors.torch import save_file
    assert _predict("-m", MODEL, "--weights", "none", *FAST, "-o", str(tmp_path / "r"), str(valdir)) == 0
    torch.manual_seed(backend.RANDOM_SEED)  # the same weights as the random run, as a file
    ckpt = tmp_path / "r18.safetensors"
    save_file(timm.create_model(MODEL[5:]).state_dict(), str(ckpt))
    assert _predict("-m", MODEL, "--checkpoint", str(ckpt), *FAST, "-o", str(tmp_path / "c"),
                    str(valdir)) == 0
    sha = file_sha256(str(ckpt))
    assert f"{MODEL}+ckpt-{sha[:8]}: acc@1" in capsys.readouterr().out
    random_run, ckpt_run = _only_cache(tmp_path / "r"), _only_cache(tmp_path / "c")
    assert ckpt_run.provenance["weights_sha256"] == sha
    np.testing.assert_array_equal(ckpt_run.top5_idx, random_run.top5_idx)
    np.testing.assert_allclose(ckpt_run.top5_prob, random_run.top5_prob, rtol=1e-5)


@pytest.mark.slow
def test_checkpoint_of_another_architecture_is_refused(valdir, tmp_path, capsys):
    ckpt = tmp_path / "r34.pth"
    torch.save(timm.create_model("resnet34").state_dict(), str(ckpt))
    assert _predict("-m", MODEL, "--checkpoint", str(ckpt), *FAST, "-o", str(tmp_path), str(valdir)) == 2
    err = capsys.readouterr().err
    assert f"--checkpoint {ckpt}: cannot be loaded into {MODEL}" in err and "Unexpected key(s) in state_dict" in err
    assert _predict("-m", MODEL, "--checkpoint", str(tmp_path / "nope.pth"), str(valdir)) == 2
    assert "nope.pth: no such file. Fix: give the path of a saved weights file" in capsys.readouterr().err


@pytest.mark.slow
def test_from_config_takes_a_typed_run_config(tmp_path):
    """The RunConfig of run/config.py (branch identity): id, weights origin, numerics; the
    provenance the runner writes from it (run/provenance.py)."""
    from types import SimpleNamespace
    from imagenet_bench.models.identity import ModelId
    from imagenet_bench.run import provenance
    mid = ModelId("timm", "resnet18", "a1_in1k", ("random",))

    def config(**kw):
        return _config(mid, **dict(dict(pretrained=False, batch_size=32), **kw))

    b = backend.from_config(config())
    assert str(b.config.model_id) == "timm:resnet18.a1_in1k+random" and b.batch_size == 32
    assert b.amp is None
    prov = provenance.of_run(b.config, b.provenance(), SimpleNamespace(fingerprint="f", num_images=1),
                             batch_size=b.batch_size, save_all_probs=False)
    assert prov["settings"] == ["random"] and prov["weights"] == "random(seed=0)"
    assert prov["backend"] == "timm" and prov["model"] == "timm:resnet18.a1_in1k+random"
    assert backend.from_config(config(amp="bf16")).provenance()["precision"] == "bf16"
    with pytest.raises(backend.InputError, match="timm models use timm's own transform"):
        backend.from_config(config(preprocess="legacy2019"))


# --- verify variants ---------------------------------------------------------------------------

@pytest.mark.slow
def test_verify_variants_runs_a_timm_model_through_timms_transform(valdir, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "v"
    rc = cli.main(["verify", "variants", "-m", MODEL, "--weights", "none", "--variants",
                   "batch1,channels_last,onnx,quantized", "--calibration-split", "1",
                   "--cache-dir", str(out), "--format", "csv", *FAST, str(valdir)])
    assert rc == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = {r.split(",")[0]: r.split(",") for r in lines[1:]}
    assert list(rows) == ["fp32", "batch1", "channels_last", "onnx", "quantized"]
    for v in ("batch1", "channels_last", "onnx"):
        # the same float32 network: no flips, identical top-5 sets, probabilities within rounding
        assert rows[v][1] == "ok", rows[v]
        assert rows[v][7:9] == ["0", "0"] and float(rows[v][10]) == 100.0, rows[v]
        assert float(rows[v][12]) < 1e-5, rows[v]
    assert rows["quantized"][1] == "skipped: needs a torchvision model with a quantized counterpart"
    names = sorted(p.name for p in out.glob("*.npz"))
    assert names == sorted(f"timm-resnet18.a1_in1k+{s}random.{{}}".format(names[0].split(".")[-2])
                           + ".npz" for s in ("", "batch1+", "channels_last+", "onnx+"))
    # every variant's cache records timm's own transform, as the fp32 reference does
    for name in names:
        prov = cache.load(str(out / name)).provenance
        assert prov["preprocessing"]["mode"] == "timm" and prov["resize_crop"] == "timm.data.create_transform"
        # the model library that ran it, whatever the runtime (the ONNX row recorded "torch" once)
        assert prov["backend"] == "timm" and prov["framework"] == "timm", (name, prov["backend"])
    onnx = cache.load(str(next(out.glob("*+onnx+*.npz")))).provenance
    assert onnx["runtime"] == "onnxruntime" and onnx["settings"] == ["onnx", "random"]
