"""Small caches of any test set (val, ImageNetV2, A, R, Sketch) written with the package's store.

Used by the published-figure and HTML report tests: each cache has real
image-id spellings of its set (official val file names for val, the set's
name as id prefix otherwise), labels from the set's classes, and for A/R the
200-class top-5 (``subset_top5_idx``) that ``predict`` writes.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np

from conftest import make_preds, official_files
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets


def _top5(rng, labels, pool, p_right):
    """Top-5 rows of distinct classes from ``pool``; the first is the label with probability
    ``p_right`` and the label appears nowhere else."""
    pool = np.asarray(pool)
    rows = []
    for label in labels:
        others = rng.choice(pool[pool != label][:80], 5, replace=False)
        if rng.random() < p_right:
            others[0] = label
        rows.append(others)
    return np.asarray(rows)


def images(name: str, n: int, seed: int = 0):
    """(labels, ids) of ``n`` images of test set ``name`` (val: official file names)."""
    if name == datasets.DEFAULT:
        per_class = max(1, -(-n // 8))
        files = official_files(8, per_class)[:n]
        labels = np.asarray([int(i // per_class) for i in range(len(files))])
        return labels, [f"{w}/{f}" for w, f in files]
    rng = np.random.default_rng(seed)
    classes = datasets.get(name).classes
    labels = rng.choice(np.asarray(classes) if classes else np.arange(1000), n)
    return labels, [f"{name}/{c}/img{i:04d}.jpg" for i, c in enumerate(labels)]


def set_cache(model: str, name: str, p_right: float, n: int = 30, seed: int = 0,
              framework: Optional[str] = None, image_seed: int = 0, **prov) -> cache.Predictions:
    """Predictions of canonical id ``model`` on test set ``name``, right about ``p_right`` often."""
    rng = np.random.default_rng(seed)
    labels, ids = images(name, n, image_seed)
    spec = datasets.get(name)
    ds: Dict = {"name": name}
    if spec.classes:
        ds["class_subset"] = list(spec.classes)
    top5 = _top5(rng, labels, np.arange(1000), p_right * (0.9 if spec.classes else 1.0))
    p = make_preds(top5, labels, model=model, framework=framework or model.split(":")[0],
                   ids=ids, dataset=ds, **prov)
    if spec.classes:
        p.subset_top5_idx = _top5(rng, labels, spec.classes, p_right).astype(np.int16)
        p.subset_top5_prob = p.top5_prob.copy()
    return p.validate()


def write(folder, preds: List[cache.Predictions]) -> List[str]:
    """Save each cache under its standard name (dataset tag included) in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    return [cache.save(os.path.join(str(folder), cache.cache_filename(
        p.model_id, p.num_images, p.fingerprint, datasets.name_of(p))), p) for p in preds]
