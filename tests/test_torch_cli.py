"""The predict / prepare-val / demo commands on tiny synthetic sets (random weights)."""
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conftest import make_valset, synthetic_image  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402

FAST = ["--weights", "none", "-b", "4", "-j", "0", "--no-progress"]


def _only_cache(out):
    (path,) = cache.find_caches(str(out))
    return cache.load(path)


def test_predict_registry_model_prints_accuracy_and_writes_cache(tmp_path, capsys, valdir):
    rc = cli.main(["predict", "--model", "squeezenet1_1", *FAST, "-o", str(tmp_path / "o"), str(valdir)])
    assert rc == 0
    out, err = capsys.readouterr()
    assert "torch:squeezenet1_1.IMAGENET1K_V1+random: acc@1" in out and "acc@5" in out
    assert "SUBSET" in err
    preds = _only_cache(tmp_path / "o")
    assert preds.provenance["preprocess_mode"] == "reference"
    assert preds.provenance["preprocessing"]["resize"] == 256


@pytest.mark.slow
def test_predict_legacy2019_records_its_recipe(tmp_path, valdir):
    assert cli.main(["predict", "-m", "inception_v3", "--preprocess", "legacy2019", *FAST,
                     "-o", str(tmp_path), str(valdir)]) == 0
    preds = _only_cache(tmp_path)
    assert preds.model == "torch:inception_v3.IMAGENET1K_V1+legacy2019+random"
    assert (preds.provenance["preprocessing"]["resize"], preds.provenance["preprocessing"]["crop"]) == (256, 299)


def test_model_factory_with_custom_recipe(tmp_path, valdir):
    assert cli.main(["predict", "--model-factory", "torchvision.models:resnet18", "--name", "r18rand",
                     "--resize", "64", "--crop", "56", "--mean", "0.5", "--std", "0.5",
                     "--interpolation", "bicubic", "-b", "4", "-j", "0", "--no-progress",
                     "--save-all-probs", "-o", str(tmp_path), str(valdir)]) == 0
    (path,) = cache.find_caches(str(tmp_path))
    preds = cache.load(path, with_all_probs=True)
    p = preds.provenance["preprocessing"]
    assert (p["resize"], p["crop"], p["interpolation"], p["mean"]) == (64, 56, "bicubic", [0.5] * 3)
    assert preds.all_probs.dtype == np.float16 and preds.all_probs.shape == (9, 1000)
    top1 = np.argmax(preds.all_probs.astype(np.float32), axis=1)
    assert np.array_equal(top1, preds.top5_idx[:, 0])


def test_model_factory_needs_a_name(tmp_path, valdir, capsys):
    assert cli.main(["predict", "--model-factory", "torchvision.models:resnet18", str(valdir)]) == 2
    assert "--model-factory needs --name" in capsys.readouterr().err


def test_unknown_model_exits_2_with_the_known_names(valdir, capsys):
    assert cli.main(["predict", "-m", "resnet5", str(valdir)]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'resnet5'" in err and "resnet50" in err


def test_keras_dispatch_is_by_module_name(monkeypatch, valdir, capsys, tmp_path):
    import importlib
    real = importlib.import_module

    def fake(name, *a):
        if name == "imagenet_bench.backends.keras.parent":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *a)
    monkeypatch.setattr(importlib, "import_module", fake)
    assert cli.main(["predict", "--framework", "keras", "-m", "vgg16", "-o", str(tmp_path), str(valdir)]) == 2
    assert "no imagenet_bench.backends.keras.parent module" in capsys.readouterr().err


def test_grayscale_and_cmyk_jpegs_are_scored(tmp_path):
    root = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    files = sorted(root.rglob("*.JPEG"))
    synthetic_image(7).convert("L").save(files[0])
    synthetic_image(8).convert("CMYK").save(files[1])
    assert cli.main(["predict", "-m", "resnet18", *FAST, "-o", str(tmp_path / "o"), str(root)]) == 0
    preds = _only_cache(tmp_path / "o")
    assert not preds.missing.any() and preds.top5_idx.min() >= 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["truncated", "empty", "text"])
def test_bad_image_stops_naming_file_or_is_skipped(tmp_path, capsys, kind):
    root = make_valset(tmp_path / "val", num_classes=2, per_class=3)
    victim = sorted(root.rglob("*.JPEG"))[4]  # in the second batch of 4
    data = {"truncated": victim.read_bytes()[:400], "empty": b"", "text": b"hello, not a JPEG"}[kind]
    victim.write_bytes(data)
    args = ["predict", "-m", "squeezenet1_1", *FAST, "--checkpoint-every", "1", "-o", str(tmp_path / "o"), str(root)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert f"{victim}: cannot read image" in err and "--skip-bad-images" in err
    assert list((tmp_path / "o").glob("*.partial.npz"))  # the first batch is kept
    assert cli.main(args + ["--skip-bad-images"]) == 0
    out, err = capsys.readouterr()
    assert "1 unreadable, counted wrong" in out and victim.name in err
    preds = _only_cache(tmp_path / "o")
    assert preds.missing.sum() == 1 and preds.provenance["bad_images"][0]["image"].endswith(victim.name)
    assert not list((tmp_path / "o").glob("*.partial.npz"))


def test_prepare_val_links_into_class_folders_without_overwriting(tmp_path, capsys):
    flat = make_valset(tmp_path / "flat", layout="flat", num_classes=3, per_class=2)
    dst = tmp_path / "val"
    assert cli.main(["prepare-val", str(flat), str(dst)]) == 0
    assert "6 hard links" in capsys.readouterr().out
    from imagenet_bench.data import datasets
    a, b = datasets.discover(str(flat)), datasets.discover(str(dst))
    assert b.layout == "imagefolder" and a.image_ids == b.image_ids and a.fingerprint == b.fingerprint
    assert len(list(flat.iterdir())) == 6  # source untouched
    assert cli.main(["prepare-val", str(flat), str(dst)]) == 0  # idempotent
    assert "6 already present" in capsys.readouterr().out
    victim = next(dst.rglob("*.JPEG"))
    victim.unlink()
    victim.write_bytes(b"different")
    assert cli.main(["prepare-val", "--mode", "symlink", str(flat), str(dst)]) == 2
    assert "already exists with other content" in capsys.readouterr().err
    assert victim.read_bytes() == b"different"
    sym = tmp_path / "sym"
    assert cli.main(["prepare-val", "--mode", "symlink", str(flat), str(sym)]) == 0
    assert all(os.path.islink(p) for p in sym.rglob("*.JPEG"))


def test_backend_module_refuses_an_unknown_framework():
    from imagenet_bench.models import libraries
    with pytest.raises(Exception, match="--framework nosuch: no such backend. Fix: --framework one of hf, keras, openclip, timm, torch"):
        libraries.get("nosuch")


def _load_script():
    from conftest import load_tool
    return load_tool("imagenet_pytorch_get_predictions", "scripts")


def test_2019_script_translates_its_command_line():
    script = _load_script()
    argv = script.to_predict_argv(["/v", "-m", "vgg16", "-b", "16", "-o", "out", "--save-all-probs"])
    assert argv == ["predict", "--framework", "torch", "/v", "-b", "16", "--cache-dir", "out",
                    "--preprocess", "reference", "--model", "vgg16", "--save-all-probs"]
    assert "--all" in script.to_predict_argv(["/v"])


@pytest.mark.slow
def test_2019_script_runs_offline_from_the_torch_cache(tmp_path, monkeypatch, valdir, capsys):
    import torchvision
    from imagenet_bench.backends import torch as tb
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    weights = tb.resolve_weights("torchvision.models:squeezenet1_1", "IMAGENET1K_V1")
    script = _load_script()
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network unreachable")))
    assert script.main([str(valdir), "-m", "squeezenet1_1", "-o", str(tmp_path / "o")]) == 2
    assert tb.hub_checkpoint_path(weights) in capsys.readouterr().err
    os.makedirs(os.path.dirname(tb.hub_checkpoint_path(weights)), exist_ok=True)
    torch.save(torchvision.models.squeezenet1_1().state_dict(), tb.hub_checkpoint_path(weights))
    assert script.main([str(valdir), "-m", "squeezenet1_1", "-o", str(tmp_path / "o")]) == 0
    assert _only_cache(tmp_path / "o").provenance["weights"] == "IMAGENET1K_V1"


def test_name_with_several_models_is_refused(valdir, capsys):
    assert cli.main(["predict", "-m", "resnet18,resnet34", "--name", "x", str(valdir)]) == 2
    assert "--name names a --model-factory model" in capsys.readouterr().err


def test_several_models_each_fail_with_their_own_file_and_the_rest_continue(tmp_path, monkeypatch,
                                                                            valdir, capsys):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network unreachable")))
    rc = cli.main(["predict", "-m", "squeezenet1_0", "-m", "squeezenet1_1", "-o", str(tmp_path / "o"),
                   str(valdir)])
    err = capsys.readouterr().err
    assert rc == 2 and ("2 of 2 models failed: torch:squeezenet1_0.IMAGENET1K_V1, "
                        "torch:squeezenet1_1.IMAGENET1K_V1") in err
    assert "squeezenet1_0-b66bff10.pth" in err and "squeezenet1_1-b8a52dc0.pth" in err


@pytest.mark.slow
def test_mean_and_std_take_comma_lists_and_do_not_swallow_val_dir(tmp_path, valdir):
    assert cli.main(["predict", "--model-factory", "torchvision.models:squeezenet1_1", "--name", "sq",
                     "-b", "4", "-j", "0", "--no-progress", "-o", str(tmp_path),
                     "--mean", "0.4,0.5,0.6", "--std", "0.25", str(valdir)]) == 0
    p = _only_cache(tmp_path).provenance["preprocessing"]
    assert p["mean"] == [0.4, 0.5, 0.6] and p["std"] == [0.25] * 3
