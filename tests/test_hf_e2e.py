"""transformers checkpoints end to end on real images: tiny random models of five processor kinds,
saved with save_pretrained, through the adapter's pixels (against the image processors' own
output), the TimmWrapper cross-check against timm, predict, score, sweep, verify determinism and
verify variants (ONNX row included) and the Hub cache offline."""
import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import require_subset
from hf_helpers import KINDS, TIMM_NAME, build, images

pytestmark = pytest.mark.slow  # builds five tiny models; runs them on 32 real images
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """{kind: folder} of the five tiny checkpoints, the image folder, their root."""
    pytest.importorskip("transformers")
    require_subset()
    root = tmp_path_factory.mktemp("hf")
    folders = {k: build(k, root / k) for k in KINDS}
    return folders, images(root / "val"), root


def _backend(name, **kw):
    from imagenet_bench.models import libraries
    from imagenet_bench.run import config
    return libraries.get("hf").from_config(config.build(name, workers=0, **kw))


def test_pixels_equal_the_image_processors_own_output(tiny):
    """The network input the tool makes equals ``processor(images)["pixel_values"]``: the uint8
    resize/crop exactly, the normalised floats within float32 rounding (transformers fuses
    rescale and normalise); with ``+pil`` the tool's own recipe pipeline gives the PIL backend's
    pixels exactly."""
    from transformers import AutoImageProcessor

    from imagenet_bench.backends import torch as tb
    from imagenet_bench.data import pixels
    folders, val, _ = tiny
    paths = sorted(str(p) for p in val.iterdir())
    imgs = [pixels.load_rgb(p) for p in paths]
    for kind in KINDS:
        be = _backend(f"hf:{folders[kind]}")
        proc = AutoImageProcessor.from_pretrained(folders[kind])
        fed = be.network_input(np.stack([be.preprocess(p) for p in paths])).numpy()
        ref = proc(imgs, return_tensors="pt")["pixel_values"].numpy()
        diff = float(np.abs(fed - ref).max())
        line = (f"{kind}: {type(proc).__name__} {be.recipe.crop_mode} resize {be.recipe.resize} "
                f"crop {be.recipe.crop} {be.recipe.interpolation}: {len(paths)} images "
                f"{fed.shape[1:]}, max |tool - processor| {diff:.1e}")
        assert fed.shape == ref.shape and diff <= 5e-7, line
        if kind != "timm":
            u8 = np.stack([be.preprocess(p) for p in paths])
            raw = proc(imgs, do_rescale=False, do_normalize=False, return_tensors="pt")["pixel_values"]
            assert np.array_equal(u8, raw.permute(0, 2, 3, 1).numpy())
            pil = AutoImageProcessor.from_pretrained(folders[kind], backend="pil")
            slow = np.stack(pil(imgs, do_rescale=False, do_normalize=False,
                                return_tensors="np")["pixel_values"]).transpose(0, 2, 3, 1)
            own = np.stack([tb.load_pixels(p, be.recipe) for p in paths])  # the Recipe, run by the tool
            assert np.array_equal(own, slow.astype(np.uint8))
            if kind == "vit":  # +pil: the PIL backend's processor makes the pixels
                via_pil = _backend(f"hf:{folders[kind]}+pil")
                assert np.array_equal(np.stack([via_pil.preprocess(p) for p in paths]), own)
            line += "; uint8 equal; recipe == PIL backend, bit for bit"
        else:
            assert diff == 0.0
        print(line)


def test_timm_wrapper_gives_timms_top5(tiny, tmp_path):
    """``hf:`` of a timm checkpoint (loaded by transformers' TimmWrapper) predicts what
    ``timm:`` predicts with the same weights, image for image."""
    from imagenet_bench.cache import store
    from imagenet_bench.cli.main import main
    folders, val, _ = tiny
    runs = tmp_path / "runs"
    for name in (f"hf:{folders['timm']}", f"timm:{TIMM_NAME}"):
        extra = ["--weights", "none"] if name.startswith("timm:") else []
        assert main(["predict", "-m", name, *extra, "-j", "0", "-o", str(runs), str(val)]) == 0
    hf_cache, timm_cache = (store.load(str(next(runs.glob(f"{p}*.npz")))) for p in ("hf-", "timm-"))
    assert np.array_equal(hf_cache.top5_idx, timm_cache.top5_idx)
    print(f"TimmWrapper vs timm:{TIMM_NAME}: top-5 identical on {len(hf_cache.top5_idx)} images; "
          f"max |dprob| {np.abs(hf_cache.top5_prob - timm_cache.top5_prob).max():.1e}")


def test_predict_score_sweep_and_variants(tiny, tmp_path, capsys):
    from imagenet_bench.cache import store
    from imagenet_bench.cli.main import main
    folders, val, _ = tiny
    runs, name = tmp_path / "runs", f"hf:{folders['vit']}"
    assert main(["predict", "-m", name, "-j", "0", "-o", str(runs), str(val)]) == 0
    (cache,) = runs.glob("*.npz")
    prov = store.load(str(cache)).provenance
    assert prov["model"].startswith("hf:local--vit.sha-") and prov["hf_checkpoint"] == str(folders["vit"])
    assert prov["hf_processor"] == "ViTImageProcessor resize/crop" and prov["hf_labels"] == "identity"
    assert prov["preprocessing"]["squash"] and prov["preprocessing"]["crop"] == 32
    capsys.readouterr()
    assert main(["score", "--precomputed", str(runs), "--format", "csv"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert row["model"] == prov["model"] and int(row["images"]) == 32
    sweep = tmp_path / "sweep"
    assert main(["sweep", "plan", str(sweep), f"hf:{folders['resnet']}", "--data",
                 f"imagenet-val={val}", "--workers", "0"]) == 0
    assert main(["sweep", "run-task", str(sweep), "0"]) == 0
    capsys.readouterr()
    assert main(["sweep", "collect", str(sweep)]) == 0
    (done,) = csv.DictReader(io.StringIO(capsys.readouterr().out))
    assert done["status"] == "done" and done["model"].startswith("hf:local--resnet.sha-")
    assert (done["resize"], done["crop"], done["crop_mode"]) == ("40", "32", "center")
    assert main(["verify", "determinism", "-m", name, "--n", "8", str(val)]) == 0
    assert "single vs batched" in capsys.readouterr().out
    out = tmp_path / "variants.txt"
    assert main(["verify", "variants", "-m", name, "--variants", "batch1,onnx", "-j", "0",
                 "--cache-dir", str(tmp_path / "var"), "-o", str(out), str(val)]) == 0
    table = {ln.split()[0]: ln.split() for ln in out.read_text().splitlines() if ln.split()}
    assert table["onnx"][1] == "ok" and table["batch1"][1] == "ok", out.read_text()
    print(out.read_text())


def test_the_hub_cache_offline(tiny, tmp_path):
    """A checkpoint in the Hub cache layout runs with HF_HUB_OFFLINE=1; one that is not there
    fails with the command that fetches it and the cache folder."""
    folders, val, _ = tiny
    snap = tmp_path / "hub" / "models--tiny-org--tiny-vit" / "snapshots" / ("ab" * 20)
    shutil.copytree(folders["vit"], snap)
    (snap.parents[1] / "refs").mkdir()
    (snap.parents[1] / "refs" / "main").write_text("ab" * 20)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "hub"),
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in os.environ.get(
                   "PYTHONPATH", "").split(os.pathsep) if p]))
    code = ("import sys; from imagenet_bench.cli.main import main; from imagenet_bench.cache import store; "
            f"rc = main(['predict', '-m', 'hf:tiny-org/tiny-vit', '-j', '0', '-o', {str(tmp_path / 'r')!r}, "
            f"{str(val)!r}]); import glob; p = store.load(glob.glob({str(tmp_path / 'r' / '*.npz')!r})[0])"
            ".provenance; print('PROV', p['model'], p['hf_commit']); "
            f"print('RC', rc, main(['predict', '-m', 'hf:tiny-org/absent', '-j', '0', {str(val)!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=str(tmp_path), timeout=600)
    assert f"PROV hf:tiny-org--tiny-vit.main {'ab' * 20}" in out.stdout, out.stderr[-2000:]
    assert "RC 0 2" in out.stdout, out.stderr[-2000:]
    assert ("is not in the Hugging Face Hub cache and could not be downloaded" in out.stderr
            and "Fix: on a machine with internet access run `hf download tiny-org/absent`" in out.stderr
            and str(tmp_path / "hub") in out.stderr), out.stderr[-2000:]


def test_the_committed_catalog_is_what_the_installed_transformers_gives(tiny):
    """``tools/gen_hf.py`` regenerates hf.json from the installed transformers, offline: the
    committed file is current (the generator's ``--check``)."""
    from conftest import load_tool
    gen = load_tool("gen_hf")
    with open(gen.PATH, encoding="utf-8") as f:
        assert f.read() == gen.text()
    assert gen.main(["--check"]) == 0


def test_a_background_first_head_is_reordered_in_the_network(tiny, tmp_path):
    """A 1,001-class head (background first): the backend's probabilities are the softmax of
    outputs 1..1000, the model's own logits taken in the tool's class order."""
    import torch
    import transformers as tf

    from hf_helpers import imagenet_id2label
    folders, val, _ = tiny
    labels = {0: "background", **{i + 1: n for i, n in imagenet_id2label().items()}}
    torch.manual_seed(1)
    cfg = tf.ViTConfig(image_size=32, patch_size=16, hidden_size=32, num_hidden_layers=1,
                       num_attention_heads=2, intermediate_size=64, id2label=labels)
    model = tf.ViTForImageClassification(cfg).eval()
    model.save_pretrained(tmp_path / "bg")
    tf.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path / "bg")
    be = _backend(f"hf:{tmp_path / 'bg'}")
    x = be.network_input(np.stack([be.preprocess(str(p)) for p in sorted(val.iterdir())[:4]]))
    with torch.inference_mode():
        want = torch.softmax(model(pixel_values=x).logits[:, 1:], dim=1).numpy()
    got = be.forward(x)
    assert got.shape == (4, 1000) and np.allclose(got, want, atol=1e-7)
