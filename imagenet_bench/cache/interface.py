"""THE interface of a cache of predictions: what every reader of caches may ask (numpy only).

Two classes implement :class:`Cache`, neither faking the other:
:class:`imagenet_bench.cache.store.Predictions` (the arrays in memory: a file read in full,
a run's result, the 2019 layout) and
:class:`imagenet_bench.cache.indexed.IndexedPredictions` (a file whose folder-index row is
trusted: metadata in memory, arrays read on first use, per-image flags from the index).

Every cache has the data ``top5_idx``, ``top5_prob``, ``labels``, ``image_ids_blob``,
``provenance``, ``missing``, ``all_probs``, ``subset_top5_idx``, ``subset_top5_prob`` and
``path`` (attributes or properties), the identity below, and the abilities declared
abstract here; callers ask the ability and never probe for it.
"""
from __future__ import annotations

import abc
from typing import List, Optional, Tuple

import numpy as np

from imagenet_bench.cache import derived
from imagenet_bench.models.identity import IdentityError, ModelId, from_string


class Cache(abc.ABC):
    """One model's top-5 predictions over an ordered list of images (see the module docstring)."""

    # -- identity --------------------------------------------------------------
    @property
    def framework(self) -> str:
        """The model library that made it."""
        return self.provenance["framework"]

    @property
    def model(self) -> str:
        """The model id as recorded."""
        return self.provenance["model"]

    @property
    def qualname(self) -> str:
        """The canonical model identity (``framework:model`` for caches older than identities)."""
        model = self.model
        return model if ":" in model else f"{self.framework}:{model}"

    @property
    def model_id(self) -> Optional[ModelId]:
        """The cache's identity parsed once (None for a name that is not a canonical identity,
        e.g. a cache written before identities that the registry does not know)."""
        try:
            return from_string(self.qualname)
        except IdentityError:
            return None

    @property
    def fingerprint(self) -> str:
        """sha256 of the ordered image ids."""
        return self.provenance["fingerprint"]

    @property
    def dataset_name(self) -> str:
        """The test set it was predicted on (caches without the field: ImageNet val)."""
        ds = self.provenance.get("dataset")
        return ds.get("name", "imagenet-val") if isinstance(ds, dict) else "imagenet-val"

    @property
    def same_class(self) -> Optional[np.ndarray]:
        """The many-to-one class table of its test set (ObjectNet,
        :func:`~imagenet_bench.cache.derived.same_class_table`), None when each class is its own."""
        return derived.same_class_table(self.provenance)

    @property
    @abc.abstractmethod
    def num_images(self) -> int:
        """Rows (images) of the cache."""

    @property
    def image_ids(self) -> List[str]:
        """The image identities, in row order."""
        if self.image_ids_blob.size == 0:
            return [] if self.num_images == 0 else [""]
        return self.image_ids_blob.tobytes().decode("utf-8").split("\n")

    def where(self) -> str:
        """The file, or words naming the predictions when they have none."""
        return self.path or f"predictions of {self.qualname}"

    # -- abilities ---------------------------------------------------------------
    @abc.abstractmethod
    def correct_flags(self) -> Tuple[np.ndarray, np.ndarray]:
        """Per-image top-1 and top-5 correctness against the cache's own labels (missing rows
        False)."""

    @property
    @abc.abstractmethod
    def has_subset(self) -> bool:
        """True when the cache holds the top-5 within its test set's class subset (A/R)."""

    @abc.abstractmethod
    def masked_flags(self, k: int = 1) -> Optional[np.ndarray]:
        """Per-image top-``k`` correctness within the class subset (None without it)."""

    @abc.abstractmethod
    def top1_pred(self) -> np.ndarray:
        """The top-1 class of every row."""

    @abc.abstractmethod
    def val_restricted(self, dataset: str) -> Optional[List]:
        """``derived.val_restricted`` of this val cache for ``dataset``'s classes when it is
        known without computing it (the folder index), else None."""

    @abc.abstractmethod
    def with_all_probs(self) -> "Cache":
        """This cache with its all-class probabilities readable (``all_probs``) where its file
        has them."""

    @abc.abstractmethod
    def release(self) -> None:
        """Drop the arrays read from the file so far (read again when next used)."""
