"""Shared fixtures: the ../shared data folder and small synthetic caches."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from imagenet_bench import cache

#: ``../shared`` beside the repository (CI clones the repo with shared/ beside it)
SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference" / "northcutt2019"
VAL_SUBSET = SHARED / "imagenet-val-subset"


def need(path: Path) -> Path:
    """Skip the test (with the reason) unless ``path`` exists."""
    if not path.exists():
        pytest.skip(f"{path} not found: this test reads ../shared beside the repository")
    return path


@pytest.fixture
def reference_dir() -> Path:
    """The published 2019 outputs of the 34 models."""
    return need(REFERENCE)


@pytest.fixture
def val_subset_dir() -> Path:
    """The 1,300 real ImageNet validation images (flat, 227x227)."""
    return need(VAL_SUBSET)


def make_preds(top5, labels, model="m", framework="torch", ids=None, complete=True,
               probs=None, missing=None, **prov) -> cache.Predictions:
    """Build :class:`cache.Predictions` from small lists (probabilities made descending)."""
    top5 = np.asarray(top5, dtype=np.int16)
    n = len(top5)
    if probs is None:
        probs = np.tile(np.array([0.5, 0.2, 0.1, 0.05, 0.01], np.float32), (n, 1))
    if ids is None:
        ids = [f"n00000000/img_{i:05d}.JPEG" for i in range(n)]
    provenance = {"model": model, "framework": framework, "weights": "random",
                  "preprocessing": {"mode": "test"}, "library_versions": {},
                  "complete": complete}
    provenance.update(prov)
    return cache.Predictions.build(top5, probs, labels, ids, provenance, missing=missing)


def write_caches(directory, preds_list):
    """Save each Predictions into ``directory`` under its standard file name."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for p in preds_list:
        name = cache.cache_filename(p.framework, p.model, p.num_images, p.fingerprint)
        paths.append(cache.save(os.path.join(directory, name), p))
    return paths
