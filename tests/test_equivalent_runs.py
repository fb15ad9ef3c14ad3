"""Equivalent runs share a cache (issue #18 item 4).

A complete cache satisfies a request that differs only in batch size or in storing
fewer probabilities; a request that stores more replaces it without --overwrite; a
recipe override equal to the entry's own recipe is the plain run (same id, same
cache); a partial cache resumes only with the settings it was started with, and the
refusal says which, with the options that give them.
"""
from __future__ import annotations

import pytest

from test_runner import NumpyBackend, opts
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets
from imagenet_bench.errors import BenchError
from imagenet_bench.run import config, runner


def _logged(out, **kw):
    lines = []
    o = opts(out, **kw)
    o.log = lines.append
    return o, lines


@pytest.mark.parametrize("first, second", [(dict(batch_size=2), dict(batch_size=3)),
                                           (dict(save_all_probs=True), dict()),
                                           (dict(batch_size=2, save_all_probs=True),
                                            dict(batch_size=1))])
def test_a_complete_cache_satisfies_a_run_that_differs_in_batch_size_or_fewer_probs(
        tmp_path, valdir, first, second):
    vs = datasets.discover(str(valdir))
    made = runner.run(vs, NumpyBackend(batch_size=first.get("batch_size", 2)),
                      opts(tmp_path / "o", save_all_probs=first.get("save_all_probs", False)))
    before = (tmp_path / "o" / made.cache_path.split("/")[-1]).read_bytes()
    again = NumpyBackend(batch_size=second.get("batch_size", 2))
    o, lines = _logged(tmp_path / "o", save_all_probs=second.get("save_all_probs", False))
    res = runner.run(vs, again, o)
    assert res.complete and again.calls == 0
    assert res.cache_path == made.cache_path
    assert open(res.cache_path, "rb").read() == before  # the cache is left as it was
    assert any("already holds this model's complete predictions" in m and "the same predictions" in m
               for m in lines), lines


def test_a_run_storing_more_probabilities_replaces_the_cache_without_overwrite(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    first = runner.run(vs, NumpyBackend(), opts(tmp_path / "o"))
    assert cache.load(first.cache_path, with_all_probs=True).all_probs is None
    o, lines = _logged(tmp_path / "o", save_all_probs=True)
    res = runner.run(vs, NumpyBackend(), o)
    assert cache.load(res.cache_path, with_all_probs=True).all_probs is not None
    assert any("--save-all-probs" in m and "replace" in m for m in lines), lines


def test_a_partial_resumes_only_with_its_settings_and_says_which(tmp_path, valdir):
    vs = datasets.discover(str(valdir))
    with pytest.raises(KeyboardInterrupt):
        runner.run(vs, NumpyBackend(batch_size=2, fail_after=1),
                   opts(tmp_path / "o", checkpoint_every=1, save_all_probs=True))
    with pytest.raises(BenchError) as e:
        runner.run(vs, NumpyBackend(batch_size=3), opts(tmp_path / "o"))
    text = str(e.value)
    assert "batch_size: 2 it was started with (this run: 3)" in text
    assert "save_all_probs: True it was started with (this run: False)" in text
    assert "(-b 2, --save-all-probs)" in text
    b = NumpyBackend(batch_size=2)  # the settings it names resume it
    res = runner.run(vs, b, opts(tmp_path / "o", save_all_probs=True))
    assert res.complete and b.calls == 4  # 5 batches of 2 (9 images); 1 was checkpointed


@pytest.mark.parametrize("model, options", [("torch:resnet18", dict(resize=256)),
                                            ("torch:resnet18", dict(resize=256, crop=224)),
                                            ("torch:resnet18", dict(interpolation="bilinear"))])
def test_a_recipe_override_equal_to_the_entrys_recipe_is_the_plain_run(model, options):
    plain, same = config.build(model), config.build(model, **options)
    assert same.model_id == plain.model_id and same.recipe == plain.recipe
    other = config.build(model, resize=257)
    assert str(other.model_id).startswith(f"{plain.model_id}+recipe-")


def test_recipe_overrides_are_not_a_setting_of_the_run_key():
    from imagenet_bench.run import checkpoint
    old = {"model": "torch:resnet18.IMAGENET1K_V1", "recipe_overrides": {}, "batch_size": 8}
    new = dict(old, recipe_overrides={"resize": 256})
    assert checkpoint.satisfies(old, new) == ([], [])
    assert checkpoint.key_diff(old, new) == []
