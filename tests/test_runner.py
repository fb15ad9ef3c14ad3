"""The run loop with a numpy backend: order, checkpoints, resume, shards, bad images."""
import json

import numpy as np
import pytest

from conftest import fake_config, make_valset, normalize, same_provenance
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets
from imagenet_bench.data import pixels
from imagenet_bench.run import checkpoint, runner
from imagenet_bench.errors import BenchError
from imagenet_bench.models.recipe import Recipe
from imagenet_bench.run.backend import Backend

RECIPE = Recipe(resize=20, crop=16, squash=False, interpolation="bilinear", normalization="torch")


class NumpyBackend(Backend):
    """A deterministic linear 'network' on 16x16 pixels; counts predict() calls."""

    config = fake_config("linear", RECIPE)

    def __init__(self, batch_size=2, fail_after=None):
        self.batch_size = batch_size
        self.w = np.random.default_rng(0).normal(size=(16 * 16 * 3, 1000)).astype(np.float32) / 50
        self.calls, self.fail_after = 0, fail_after

    def provenance(self):
        return {"weights": "seeded", "preprocessing": RECIPE.as_dict(),
                "library_versions": {"numpy": np.__version__}}

    def preprocess(self, path):
        return pixels.load(path, RECIPE)

    def predict(self, batch):
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt  # simulated kill between batches
        z = normalize(batch).reshape(len(batch), -1) @ self.w
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)


def opts(out, **kw):
    return runner.RunOptions(out_dir=str(out), progress=False, shard=kw.pop("shard", runner.Shard()),
                             log=lambda m: None, **kw)


def test_run_writes_a_valid_cache_with_accuracy(valdir, tmp_path):
    vs = datasets.discover(str(valdir))
    res = runner.run(vs, NumpyBackend(), opts(tmp_path / "out"))
    preds = cache.load(res.cache_path)
    assert res.complete and preds.image_ids == vs.image_ids
    assert preds.provenance["model"] == "custom:linear" and preds.provenance["complete"]
    assert preds.provenance["dataset"]["full_set"] is False
    assert (res.acc1, res.acc5) == runner.accuracy(preds)
    assert np.all(np.diff(preds.top5_prob, axis=1) <= 0)
    assert not list((tmp_path / "out").glob("*.partial.npz"))


def test_interrupted_run_resumes_to_identical_cache(tmp_path):
    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=4, per_class=3)))
    ref = cache.load(runner.run(vs, NumpyBackend(), opts(tmp_path / "ref")).cache_path)
    with pytest.raises(KeyboardInterrupt):
        runner.run(vs, NumpyBackend(fail_after=3), opts(tmp_path / "out", checkpoint_every=2))
    partial = list((tmp_path / "out").glob("*.partial.npz"))
    assert len(partial) == 1
    b = NumpyBackend()
    res = runner.run(vs, b, opts(tmp_path / "out", checkpoint_every=2))
    assert b.calls == 3  # 6 batches of 2; 3 were checkpointed
    got = cache.load(res.cache_path)
    assert np.array_equal(got.top5_idx, ref.top5_idx) and np.array_equal(got.top5_prob, ref.top5_prob)
    assert same_provenance(got, ref)
    assert not partial[0].exists()


def test_checkpoint_from_other_settings_is_refused(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    with pytest.raises(KeyboardInterrupt):
        runner.run(vs, NumpyBackend(fail_after=1), opts(tmp_path / "o", checkpoint_every=1))
    with pytest.raises(BenchError, match="partial.npz belongs to a run with other settings.*batch_size"):
        runner.run(vs, NumpyBackend(batch_size=3), opts(tmp_path / "o"))


def test_existing_cache_is_not_recomputed(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    runner.run(vs, NumpyBackend(), opts(tmp_path / "o"))
    b = NumpyBackend()
    assert runner.run(vs, b, opts(tmp_path / "o")).complete and b.calls == 0


def test_shards_merge_into_the_single_process_cache(tmp_path):
    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=3, per_class=4)))
    ref = cache.load(runner.run(vs, NumpyBackend(), opts(tmp_path / "ref")).cache_path)
    results = [runner.run(vs, NumpyBackend(), opts(tmp_path / "out", shard=runner.Shard(r, 3)))
               for r in (2, 0, 1)]
    assert [r.complete for r in results] == [False, False, True]
    got = cache.load(results[-1].cache_path)
    assert np.array_equal(got.top5_idx, ref.top5_idx) and np.array_equal(got.top5_prob, ref.top5_prob)
    assert got.provenance["shards"] == 3
    assert same_provenance(got, ref)
    assert not list((tmp_path / "out").glob("*.partial.npz"))


def test_shard_blocks_are_whole_batches():
    spans = [runner.shard_rows(23, 4, runner.Shard(r, 3)) for r in range(3)]
    assert spans == [(0, 8), (8, 16), (16, 23)]
    assert [runner.shard_rows(3, 4, runner.Shard(r, 2)) for r in range(2)] == [(0, 0), (0, 3)]


def test_shard_from_env():
    assert runner.shard_from_env({}) == runner.Shard(0, 1)
    assert runner.shard_from_env({"RANK": "1", "WORLD_SIZE": "4"}) == runner.Shard(1, 4)
    assert runner.shard_from_env({"SLURM_PROCID": "2", "SLURM_NTASKS": "3"}) == runner.Shard(2, 3)
    with pytest.raises(BenchError, match="RANK=5 is outside"):
        runner.shard_from_env({"RANK": "5", "WORLD_SIZE": "2"})


def _break_one(root):
    victim = sorted(p for p in root.rglob("*.JPEG"))[4]
    victim.write_bytes(victim.read_bytes()[:300])
    return victim


def test_bad_image_stops_with_its_name_and_keeps_checkpoint(tmp_path, valdir):
    victim = _break_one(valdir)
    vs = datasets.discover(str(valdir))
    with pytest.raises(pixels.BadImageError, match=victim.name):
        runner.run(vs, NumpyBackend(), opts(tmp_path / "o", checkpoint_every=1))
    (ckpt,) = (tmp_path / "o").glob("*.partial.npz")
    with np.load(ckpt) as z:
        assert z["done"].sum() == 4  # the two batches before the bad one


def test_skip_bad_images_records_missing_and_counts_wrong(tmp_path, valdir):
    victim = _break_one(valdir)
    vs = datasets.discover(str(valdir))
    res = runner.run(vs, NumpyBackend(), opts(tmp_path / "o", skip_bad_images=True))
    preds = cache.load(res.cache_path)
    row = vs.paths.index(str(victim))
    assert preds.missing.tolist() == [i == row for i in range(vs.num_images)]
    assert (preds.top5_idx[row] == -1).all()
    assert [b["image"] for b in preds.provenance["bad_images"]] == [vs.image_ids[row]]
    assert "truncated" in json.dumps(preds.provenance["bad_images"]).lower()


def test_overwrite_discards_a_checkpoint_from_other_settings(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    with pytest.raises(KeyboardInterrupt):
        runner.run(vs, NumpyBackend(fail_after=1), opts(tmp_path / "o", checkpoint_every=1))
    b = NumpyBackend(batch_size=3)
    res = runner.run(vs, b, opts(tmp_path / "o", overwrite=True))
    assert res.complete and b.calls == 3


def test_temporaries_of_a_killed_checkpoint_write_are_removed(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    b = NumpyBackend()
    final = tmp_path / "o" / cache.cache_filename(NumpyBackend.config.model_id, vs.num_images, vs.fingerprint)
    ckpt = checkpoint.checkpoint_path(str(final), runner.Shard())
    (tmp_path / "o").mkdir()
    torn = tmp_path / "o" / f".{ckpt.split('/')[-1]}.abc123.tmp"
    torn.write_bytes(b"half a checkpoint")
    other = tmp_path / "o" / ".someone-else.npz.xyz.tmp"
    other.write_bytes(b"")
    runner.run(vs, b, opts(tmp_path / "o"))
    assert not torn.exists() and other.exists()
