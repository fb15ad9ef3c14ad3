"""Declared abilities, not probes: both caches implement the one cache interface and answer
alike; every backend is a declared runner Backend, checked when built; no hasattr/getattr
probing of caches or backends is left in the package."""
import ast
import re
from pathlib import Path

import numpy as np
import pytest

from imagenet_bench.cache.folder import load_folder
from imagenet_bench.cache.indexed import IndexedPredictions
from imagenet_bench.cache.interface import Cache
from imagenet_bench.cache.store import Predictions
from imagenet_bench.errors import BenchError
from imagenet_bench.run import backend as run_backend

ROOT = Path(__file__).resolve().parents[1]
#: names of variables that hold a cache or a backend in the package
HOLDERS = re.compile(r"(^|[._])(preds?|p|val|cache|caches|backend|base|wrapped|found)$")


def test_no_hasattr_or_getattr_probe_of_a_cache_or_backend_is_left():
    probes = []
    for path in sorted((ROOT / "imagenet_bench").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "hasattr(" not in text and "getattr(" not in text:
            continue
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("hasattr", "getattr") and node.args
                    and HOLDERS.search(ast.unparse(node.args[0]))):
                probes.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not probes, "\n".join(probes)


def test_the_probe_finder_finds_a_probe():
    node = ast.parse('hasattr(preds, "correct_flags")').body[0].value
    assert HOLDERS.search(ast.unparse(node.args[0]))


@pytest.fixture(scope="module")
def a_and_val(tmp_path_factory):
    import set_caches
    folder = tmp_path_factory.mktemp("abilities")
    set_caches.write(folder, [set_caches.set_cache("torch:resnet50.IMAGENET1K_V1", "imagenet-a", 0.6, n=20),
                              set_caches.set_cache("torch:resnet18.IMAGENET1K_V1", "imagenet-val", 0.5, n=16)])
    load_folder(str(folder))  # writes the folder index
    return str(folder)


def test_both_caches_implement_the_interface_and_answer_alike(a_and_val):
    assert issubclass(Predictions, Cache) and issubclass(IndexedPredictions, Cache)
    assert not issubclass(IndexedPredictions, Predictions)
    indexed = {p.qualname: p for p in load_folder(a_and_val).preds}
    full = {p.qualname: p for p in load_folder(a_and_val, use_index=False).preds}
    assert all(isinstance(p, IndexedPredictions) for p in indexed.values())
    assert all(type(p) is Predictions for p in full.values())
    for name, f in full.items():
        i = indexed[name]
        assert (i.dataset_name, i.num_images, i.has_subset, i.fingerprint) == \
            (f.dataset_name, f.num_images, f.has_subset, f.fingerprint)
        for a, b in zip(i.correct_flags(), f.correct_flags()):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(i.top1_pred(), f.top1_pred())
        for k in (1, 5):
            got, want = i.masked_flags(k), f.masked_flags(k)
            assert (got is None) == (want is None) == (not f.has_subset)
            if want is not None:
                np.testing.assert_array_equal(got, want)
        assert i.image_ids == f.image_ids and i.where() == f.where()


class _NotABackend:
    """A plugin adapter's result that does not implement the runner protocol."""

    config, batch_size = None, 1

    def preprocess(self, path):
        return np.zeros(3)


class _Library:
    name = "toy"

    def from_config(self, config, **kw):
        return _NotABackend()


def test_a_plugin_backend_that_does_not_fit_is_refused_when_built():
    with pytest.raises(BenchError, match=r"the toy library's adapter returned a .*_NotABackend, "
                                         r"which is not a runner backend.*lacks provenance, "
                                         r"predict\. Fix: make the adapter return a subclass"):
        run_backend.build(_Library(), config=None)


@pytest.mark.slow  # imports torch
def test_every_backend_class_of_the_package_is_a_declared_backend():
    from imagenet_bench.backends.exported import ExportedRuntime
    from imagenet_bench.backends.keras.parent import KerasProcessBackend
    from imagenet_bench.backends.torch import TorchBackend
    from imagenet_bench.sweep.shared import SharedBackend
    for cls in (TorchBackend, ExportedRuntime, KerasProcessBackend, SharedBackend):
        assert issubclass(cls, run_backend.Backend), cls
        assert not getattr(cls, "__abstractmethods__"), (cls, cls.__abstractmethods__)
