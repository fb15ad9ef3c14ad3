"""Small synthetic predictions over real validation file names, for the analysis tests."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from imagenet_bench.cache import store as cache
from imagenet_bench.data import imagenet_meta
from imagenet_bench.models import registry

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference" / "northcutt2019"
SKIP_REASON = f"{REFERENCE} not found: these tests read ../shared beside the repository"


def val_ids(numbers: Sequence[int]):
    """ImageFolder-style ids and labels of official validation files ``numbers`` (1-based)."""
    wn = imagenet_meta.validation_wnids()
    ids = [f"{wn[n - 1]}/{imagenet_meta.val_filename(n)}" for n in numbers]
    labels = [imagenet_meta.wnid_to_index()[wn[n - 1]] for n in numbers]
    return ids, np.asarray(labels)


def preds_for(numbers: Sequence[int], top1: Sequence[int], model: str = "resnet50",
              framework: str = "torch", ids: Optional[Sequence[str]] = None,
              labels=None, **prov) -> cache.Predictions:
    """Predictions whose top-1 is ``top1``; columns 2-5 are classes 995-998 (never a label here).

    ``framework``/``model`` in the 2019 spelling become the canonical id (``torch:resnet50.IMAGENET1K_V1``).
    """
    default_ids, default_labels = val_ids(numbers)
    ids = default_ids if ids is None else list(ids)
    labels = default_labels if labels is None else labels
    n = len(ids)
    top5 = np.column_stack([np.asarray(top1)] + [np.full(n, 995 + j) for j in range(4)])
    probs = np.tile(np.array([0.5, 0.2, 0.1, 0.05, 0.01], np.float32), (n, 1))
    provenance = {"model": registry.upgrade_name(framework, model), "framework": framework,
                  "weights": "random",
                  "preprocessing": {"mode": "test"}, "library_versions": {}, "complete": True}
    provenance.update(prov)
    return cache.Predictions.build(top5, probs, labels, ids, provenance)


def save_all(directory, preds_list):
    """Save predictions under their standard cache names; return the paths."""
    os.makedirs(directory, exist_ok=True)
    return [cache.save(os.path.join(directory, cache.cache_filename(
        p.model_id, p.num_images, p.fingerprint)), p) for p in preds_list]
