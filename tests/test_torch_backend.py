"""torch_backend: weights, offline errors, checkpoints, recipes, inference on random weights."""
import numpy as np
import pytest

from conftest import torchvision_recipe

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from conftest import make_valset  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402
from imagenet_bench.models import registry  # noqa: E402
from imagenet_bench.run import runner  # noqa: E402
from imagenet_bench.backends import torch as tb  # noqa: E402
from imagenet_bench.errors import BenchError, InputError  # noqa: E402
from imagenet_bench.models.recipe import Recipe  # noqa: E402


def quiet(out, **kw):
    return runner.RunOptions(out_dir=str(out), progress=False, shard=runner.Shard(),
                             log=lambda m: None, **kw)


def test_default_recipe_comes_from_the_weights_metadata():
    spec = registry.get_model("inception_v3", "torch")
    weights = tb.resolve_weights(spec.entry.builder, spec.id.tag)
    r = torchvision_recipe(weights)
    assert (r.resize, r.crop, r.interpolation) == (342, 299, "bilinear")
    assert spec.recipe() == r  # the registry's recipe is torchvision's own
    legacy = spec.recipe("legacy2019")
    assert (legacy.resize, legacy.crop) == (256, 299)


def test_unknown_weights_name_lists_the_choices():
    with pytest.raises(InputError, match="no weights 'IMAGENET9K'.*IMAGENET1K_V1"):
        tb.resolve_weights("torchvision.models:resnet50", "IMAGENET9K")


def test_missing_weights_offline_names_the_file_and_url(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    # make any download attempt fail as it does without network (no real network access in tests)
    def no_network(*a, **k):
        import urllib.error
        raise urllib.error.URLError("[Errno -2] Name or service not known")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    spec = registry.get_model("resnet18", "torch")
    with pytest.raises(BenchError) as e:
        tb.from_spec(spec)
    expected = str(tmp_path / "th" / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    msg = str(e.value)
    assert expected in msg and "https://download.pytorch.org/models/resnet18-f37072fd.pth" in msg
    assert "--checkpoint" in msg and "Traceback" not in msg


def _probs(backend, vs):
    return np.concatenate([backend.predict(np.stack([backend.preprocess(p) for p in vs.paths]))])


@pytest.mark.slow
def test_checkpoint_file_and_torch_home_cache_give_identical_outputs(tmp_path, monkeypatch, valdir):
    vs = datasets.discover(str(valdir))
    spec = registry.get_model("squeezenet1_1", "torch")
    random_model = tb.from_spec(spec, weights="none", workers=0)
    sd_path = tmp_path / "sq.pth"
    torch.save(random_model.module.state_dict(), sd_path)
    ref = _probs(random_model, vs)
    # 1) --checkpoint FILE standing in for IMAGENET1K_V1
    via_file = tb.from_spec(spec, checkpoint=str(sd_path), workers=0)
    # 2) the same file placed where torchvision looks for the download
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    weights = tb.resolve_weights(spec.entry.builder, spec.id.tag)
    cached = tb.hub_checkpoint_path(weights)
    assert cached.startswith(str(tmp_path / "th"))
    (tmp_path / "th" / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "th" / "hub" / "checkpoints" / cached.split("/")[-1]).write_bytes(sd_path.read_bytes())
    via_cache = tb.from_spec(spec, workers=0)
    assert via_cache.provenance()["weights"] == "IMAGENET1K_V1"
    assert np.array_equal(_probs(via_file, vs), ref)
    assert np.array_equal(_probs(via_cache, vs), ref)
    # 3) --weights none --checkpoint FILE loads it into the plain architecture
    assert np.array_equal(_probs(tb.from_spec(spec, weights="none", checkpoint=str(sd_path),
                                              workers=0), vs), ref)


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    spec = registry.get_model("squeezenet1_1", "torch")
    other = tmp_path / "r18.pth"
    torch.save(torchvision.models.resnet18().state_dict(), other)
    with pytest.raises(InputError, match="r18.pth: does not fit"):
        tb.from_spec(spec, weights="none", checkpoint=str(other))
    with pytest.raises(InputError, match="nope.pth: no such file"):
        tb.from_spec(spec, checkpoint=str(tmp_path / "nope.pth"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet18", "squeezenet1_0", "inception_v3", "densenet121"])
def test_registry_architectures_run_end_to_end_with_random_weights(tmp_path, name):
    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=2)))
    b = tb.from_spec(registry.get_model(name, "torch"), weights="none", batch_size=2, workers=1)
    res = runner.run(vs, b, quiet(tmp_path / "out"))
    preds = cache.load(res.cache_path)
    prov = preds.provenance
    assert prov["model"] == f"torch:{name}.IMAGENET1K_V1+random" and prov["weights"] == "random(seed=0)"
    tag = cache.dataset_tag(vs.num_images, vs.fingerprint)
    assert res.cache_path.endswith(f"torch-{name}.IMAGENET1K_V1+random.{tag}.npz")
    assert prov["preprocessing"]["crop"] == (299 if name == "inception_v3" else 224)
    assert prov["precision"] == "fp32" and prov["device"] == "cpu"
    assert preds.top5_idx.min() >= 0 and np.all(np.diff(preds.top5_prob, axis=1) <= 0)
    # probabilities are a softmax: the stored top-5 of a 1,000-way distribution sum to <= 1
    assert np.all(preds.top5_prob.sum(1) <= 1 + 1e-5)


@pytest.mark.slow
def test_dataloader_and_in_process_loading_agree(tmp_path):
    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=3)))
    spec = registry.get_model("resnet18", "torch")
    a = runner.run(vs, tb.from_spec(spec, weights="none", batch_size=4, workers=2), quiet(tmp_path / "a"))
    b = runner.run(vs, tb.from_spec(spec, weights="none", batch_size=4, workers=0), quiet(tmp_path / "b"))
    pa, pb = cache.load(a.cache_path), cache.load(b.cache_path)
    assert np.array_equal(pa.top5_idx, pb.top5_idx) and np.array_equal(pa.top5_prob, pb.top5_prob)


def test_factory_errors_are_clear():
    with pytest.raises(InputError, match="expected 'package.module:callable'"):
        tb.load_factory("torchvision.models.resnet18")
    with pytest.raises(InputError, match="nosuchmodule"):
        tb.load_factory("nosuchmodule:f")
    with pytest.raises(InputError, match="returned a int, not a torch.nn.Module"):
        tb.load_factory("os:getpid")


def test_wrong_output_width_is_reported(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    recipe = Recipe(resize=64, crop=56, squash=False, interpolation="bilinear", normalization="torch",
                    mean=(0.5,) * 3, std=(0.5,) * 3)
    b = tb.from_module(tb.load_factory("torchvision.models:squeezenet1_1"), "sq", recipe, workers=0)
    b.module.classifier[1] = torch.nn.Conv2d(512, 10, 1)
    with pytest.raises(BenchError, match=r"returned outputs of shape \(9, 10\) for 9 images.*\(9, 1000\)"):
        runner.run(vs, b, quiet(tmp_path / "o"))


@pytest.mark.slow
def test_amp_is_opt_in_and_recorded(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    spec = registry.get_model("squeezenet1_1", "torch")
    b = tb.from_spec(spec, weights="none", workers=0, amp=True)
    assert b.provenance()["precision"] == "bf16"  # --amp alone on the CPU: bfloat16, named in the id
    assert str(b.config.model_id) == "torch:squeezenet1_1.IMAGENET1K_V1+bf16+random"
    assert torch.backends.cudnn.benchmark is False
    probs = _probs(b, vs)
    assert probs.shape == (vs.num_images, 1000) and np.allclose(probs.sum(1), 1, atol=1e-3)
