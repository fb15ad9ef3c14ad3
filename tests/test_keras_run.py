"""The Keras backend driven by the shared runner: cache, resume after SIGKILL, shards, bad images."""
import os
import signal
import time

import numpy as np
import pytest

from keras_helpers import backend as kb, keras, skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from conftest import make_valset, same_provenance  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402
from imagenet_bench.data import pixels  # noqa: E402
from imagenet_bench.run import runner  # noqa: E402
from imagenet_bench.errors import BenchError  # noqa: E402
from imagenet_bench.models.registry import get_model  # noqa: E402

from keras_helpers import predict_child  # noqa: E402

# resnet50: random-weight MobileNets give exactly uniform outputs (all 0.001), which would make
# the identity checks below vacuous; resnet50's vary from image to image.
MODEL = "resnet50"
ARGS = ["--framework", "keras", "--model", MODEL, "--weights", "none", "--no-progress"]


def opts(out, **kw):
    return runner.RunOptions(out_dir=str(out), progress=False, shard=kw.pop("shard", runner.Shard()),
                             log=lambda m: None, **kw)


@pytest.fixture(scope="module")
def net():
    with kb().KerasBackend(get_model(f"keras:{MODEL}"), weights=None, preprocess="legacy2019") as b:
        yield b


@pytest.mark.slow
def test_runner_cache_holds_the_compiled_single_image_outputs(tmp_path, net):
    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=3)))
    res = runner.run(vs, net, opts(tmp_path / "out", save_all_probs=True))
    got = cache.load(res.cache_path, with_all_probs=True)
    assert os.path.basename(res.cache_path).startswith("keras-ResNet50.imagenet+legacy2019+random.val6-")
    prov = got.provenance
    assert prov["framework"] == "keras" and prov["weights"] == "random"
    assert prov["preprocessing"] == get_model(f"keras:{MODEL}").recipe("legacy2019").as_dict()
    assert prov["library_versions"]["keras"] == keras().__version__
    direct = np.stack([net.predict_one(net.to_input(pixels.load(p, net.recipe)))
                       for p in vs.paths])
    assert (direct.max(1) - direct.min(1) > 0).all()  # informative outputs, not uniform
    idx, prob = cache.top5_from_probs(direct)
    # with all_probs the cache keeps the top-5 probabilities in float32 (format 2, cache.store.save)
    assert np.array_equal(got.top5_idx, idx)
    assert got.top5_prob.dtype == np.float32 and np.array_equal(got.top5_prob, prob)
    assert np.array_equal(got.all_probs, direct.astype(np.float16))


@pytest.mark.slow
def test_bad_image_is_named_or_recorded_missing(tmp_path, net):
    root = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    bad = sorted(root.rglob("*.JPEG"))[1]
    bad.write_bytes(b"not a jpeg")
    vs = datasets.discover(str(root))
    with pytest.raises(BenchError, match=bad.name):
        runner.run(vs, net, opts(tmp_path / "a"))
    res = runner.run(vs, net, opts(tmp_path / "b", skip_bad_images=True))
    got = cache.load(res.cache_path)
    assert got.missing.tolist() == [False, True, False, False]
    assert [b["image"] for b in got.provenance["bad_images"]] == [vs.image_ids[1]]


def _reference(tmp_path, vs):
    # a single uninterrupted run of the same settings, in this process
    with kb().KerasBackend(get_model(f"keras:{MODEL}"), weights=None) as b:
        return cache.load(runner.run(vs, b, opts(tmp_path / "ref")).cache_path)


@pytest.mark.slow
def test_sigkill_then_resume_gives_identical_cache(tmp_path):
    root = make_valset(tmp_path / "val", num_classes=4, per_class=3)
    out = tmp_path / "out"
    args = ARGS + [str(root), "-o", str(out), "--checkpoint-every", "2"]
    child = predict_child(args, env={"KERAS_TEST_SLEEP": "0.5"})
    deadline = time.time() + 120
    while not list(out.glob("*.partial.npz")) and time.time() < deadline and child.poll() is None:
        time.sleep(0.2)
    assert child.poll() is None, child.communicate()[1][-2000:]
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert list(out.glob("*.partial.npz")) and not list(out.glob("*.val12-*[0-9a-f].npz"))
    again = predict_child(args)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err[-2000:]
    assert "resum" in err.lower()
    got = cache.load(str(next(out.glob("keras-ResNet50.imagenet+random.val12-*.npz"))))
    ref = _reference(tmp_path, datasets.discover(str(root)))
    assert np.array_equal(got.top5_idx, ref.top5_idx) and np.array_equal(got.top5_prob, ref.top5_prob)
    assert same_provenance(got, ref)


@pytest.mark.slow
def test_two_shards_by_rank_merge_into_the_single_process_cache(tmp_path):
    root = make_valset(tmp_path / "val", num_classes=3, per_class=2)
    out = tmp_path / "out"
    kids = [predict_child(ARGS + [str(root), "-o", str(out)],
                          env={"RANK": str(r), "WORLD_SIZE": "2", "LOCAL_RANK": str(r)})
            for r in range(2)]
    for r, k in enumerate(kids):
        _, err = k.communicate(timeout=300)
        assert k.returncode == 0, err[-2000:]
        assert f"[shard {r + 1}/2: rows {3 * r}-{3 * r + 2}]" in err  # each took its own half
    finals = [p for p in out.glob("keras-ResNet50.imagenet+random.val6-*.npz") if ".partial" not in p.name]
    assert len(finals) == 1 and not list(out.glob("*.partial.npz"))
    got = cache.load(str(finals[0]))
    ref = _reference(tmp_path, datasets.discover(str(root)))
    assert np.array_equal(got.top5_idx, ref.top5_idx) and np.array_equal(got.top5_prob, ref.top5_prob)
