"""Cache file names and the ranked top-5 a cache stores (numpy only).

``cache_filename(model_id, n, fingerprint, dataset)`` names one model's cache
of one image list (``torch-resnet50.IMAGENET1K_V1.val50000-1a2b3c4d.npz``);
``top5_from_probs`` turns a backend's probabilities into the stored ranking,
with ties to the lower class index, and ``top5_within`` ranks within a class
subset (ImageNet-A/R).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from imagenet_bench.models.identity import ModelId

NUM_CLASSES = 1000
TOPK = 5


def dataset_tag(num_images: int, fp: str, dataset: str = "imagenet-val") -> str:
    """Short dataset name used in cache file names: ``val<N>-<fingerprint[:8]>`` for ImageNet
    val, ``<dataset><N>-<fingerprint[:8]>`` for another test set (``imagenet-a7500-...``)."""
    return f"{'val' if dataset == 'imagenet-val' else dataset}{num_images}-{fp[:8]}"


def cache_filename(model_id: ModelId, num_images: int, fp: str, dataset: str = "imagenet-val") -> str:
    """File name of a model's cache for a dataset: ``<file stem>.<dataset tag>.npz``.

    ``model_id``'s file stem replaces ``:`` by ``-``:
    ``torch-resnet50.IMAGENET1K_V1.val50000-1a2b3c4d.npz``; ``dataset`` (a
    ``--dataset`` name) goes into the tag (:func:`dataset_tag`).
    """
    if not isinstance(model_id, ModelId):
        raise TypeError(f"cache_filename needs a ModelId, got {type(model_id).__name__} "
                        f"{model_id!r} (parse it once with models.identity.from_string)")
    return f"{model_id.file_stem}.{dataset_tag(num_images, fp, dataset)}.npz"


def top5_from_probs(probs: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    """Top-5 indices and probabilities of each row, highest first.

    Ties are broken by the lower class index (a stable sort of the negated
    probabilities), so the result is deterministic.
    """
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES:
        raise ValueError(f"expected probabilities of shape (n, {NUM_CLASSES}); "
                         f"received array with shape {probs.shape}")
    idx = np.argsort(-probs, axis=1, kind="stable")[:, :TOPK]
    return idx.astype(np.int16), np.take_along_axis(probs, idx, axis=1)


def top5_within(probs: np.ndarray, classes: Sequence[int]) -> "tuple[np.ndarray, np.ndarray]":
    """Top-5 of each row among ``classes`` only (sorted class indices): the prediction of a
    model restricted to a class subset (ImageNet-A/R protocol). Probabilities are the full
    softmax's, not renormalised; ties go to the lower class index, as in :func:`top5_from_probs`."""
    classes = np.asarray(classes, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float32)[:, classes]
    order = np.argsort(-probs, axis=1, kind="stable")[:, :TOPK]
    return classes[order].astype(np.int16), np.take_along_axis(probs, order, axis=1)
