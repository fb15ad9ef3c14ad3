"""open_clip models end to end through the CLI, in subprocesses: the tiny test library
(tests/plugins/openclip_tiny: open_clip's adapter, capabilities and head over a tiny model config
with random weights) through predict, score --published, robustness and verify variants; the
real catalog's offline refusal."""
import csv
import io
import os
import subprocess
import sys

import pytest

from conftest import make_valset
from openclip_helpers import REPO, install_tiny

pytestmark = pytest.mark.slow  # builds 1,000 x 7 text passes once, one torch import per command
TINY = "octiny:tiny-clip.v1"
COST = "1,000 classes x 7 templates = 7,000 text passes"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    pytest.importorskip("open_clip")
    work = tmp_path_factory.mktemp("octiny")
    site = install_tiny(work / "site")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(site), str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
        XDG_CACHE_HOME=str(work / "xdg"), HF_HUB_CACHE=str(work / "hub"))


def bench(env, *argv):
    """``python -m imagenet_bench ARGV`` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "imagenet_bench", *argv], capture_output=True,
                          text=True, env=env, cwd=str(REPO), timeout=600)


def test_predict_score_robustness_and_variants(env, tmp_path):
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    runs = tmp_path / "runs"
    name = TINY + "+templates-simple"
    out = bench(env, "predict", "-m", name, "--weights", "none", "-j", "0", "-o", str(runs), str(val))
    assert out.returncode == 0, out.stderr
    assert COST in out.stderr  # the head is built, and the bar says what that costs
    heads = os.listdir(os.path.join(env["XDG_CACHE_HOME"], "imagenet_bench", "openclip_heads"))
    assert len(heads) == 1 and heads[0].startswith("octiny-tiny-clip.v1+random.simple-")
    out = bench(env, "predict", "-m", name, "--weights", "none", "-j", "0", "--dataset",
                "imagenet-sketch", "-o", str(runs), str(val))
    assert out.returncode == 0, out.stderr
    assert COST not in out.stderr  # built once: the second model run reads the cached head
    from imagenet_bench.cache import store as cache
    files = sorted(runs.glob("*.npz"))
    assert len(files) == 2
    prov = cache.load(str(files[0])).provenance
    assert prov["model"] == TINY + "+random+templates-simple"
    assert prov["zero_shot"]["templates"] == "open_clip.zero_shot_metadata.SIMPLE_IMAGENET_TEMPLATES"
    assert prov["zero_shot"]["n_templates"] == 7 and prov["zero_shot"]["head_file"] == heads[0]
    assert prov["preprocessing"]["interpolation"] == "bicubic"
    # score --published: each cache against the figure of its own test set, with the reasons
    out = bench(env, "score", "--published", "--allow-mixed-datasets", "--precomputed", str(runs),
                "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = {r["dataset"].split("4-")[0]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    assert set(rows) == {"val", "imagenet-sketch"}, out.stdout
    assert float(rows["val"]["published_acc1"]) == 50.0
    assert float(rows["imagenet-sketch"]["published_acc1"]) == 40.0
    for r in rows.values():
        assert "random weights" in r["likely_reason"]
        assert "the 7 simple prompt templates" in r["likely_reason"]
    # robustness: the two test sets of one model in one row
    out = bench(env, "robustness", "--precomputed", str(runs), "--format", "csv")
    assert out.returncode == 0, out.stderr
    rob = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["model"] for r in rob] == [TINY + "+random+templates-simple"], out.stdout
    assert rob[0]["imagenet-val"] == rows["val"]["acc1"] and \
        rob[0]["imagenet-sketch"] == rows["imagenet-sketch"]["acc1"]
    # verify variants: the numerics rows of a torch backend, on the same images
    out = bench(env, "verify", "variants", "-m", name, "--weights", "none", "--variants",
                "batch1,channels_last", "-j", "0", "-o", str(tmp_path / "var"), str(val))
    assert out.returncode == 0, out.stderr
    table = (tmp_path / "var").read_text().splitlines()
    status = {ln.split()[0]: ln.split()[1] for ln in table if ln.split()[:1] in (
        ["fp32"], ["batch1"], ["channels_last"])}
    assert status == {"fp32": "ok", "batch1": "ok", "channels_last": "ok"}, table
    assert COST not in out.stderr


def test_offline_predict_names_the_file_and_the_hub_folder(env, tmp_path):
    val = make_valset(tmp_path / "val", num_classes=1, per_class=1)
    out = bench(env, "predict", "-m", "openclip:ViT-B-32.laion2b_s34b_b79k", "-o",
                str(tmp_path / "runs"), str(val))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    folder = os.path.join(env["HF_HUB_CACHE"], "models--laion--CLIP-ViT-B-32-laion2B-s34B-b79K")
    assert folder in out.stderr and "open_clip_model.safetensors" in out.stderr, out.stderr
