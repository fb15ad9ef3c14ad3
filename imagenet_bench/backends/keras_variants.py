"""The variant context of a Keras model: what each ``verify variants`` row of the registry
:mod:`imagenet_bench.backends.runtimes` builds from, each row in a child process of its own.

The reference runs on TensorFlow one image at a time (as ``predict``); the
rows change the child's Keras backend, its batch size or wrap its model in
another runtime (``KerasProcessBackend``'s ``keras_backend`` and ``wrap``).
Numpy and the standard library only: the parent never imports Keras.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence, Tuple

from imagenet_bench.backends import runtimes
from imagenet_bench.backends.keras.parent import KerasProcessBackend
from imagenet_bench.models import variants


class KerasVariants(runtimes.VariantContext):
    """Reference (TensorFlow, one image at a time) and variants of a Keras model, each in a child process."""

    #: the variants a Keras model gets by default, in table order (the registry's)
    DEFAULT = runtimes.defaults(variants.KERAS)
    runtime = variants.KERAS

    def __init__(self, config, calibration: Sequence[Tuple[str, str]] = (), cache_dir: str = "",
                 batch_size: int = 32):
        """``config``: the reference's RunConfig; ``batch_size``: N of ``batchN``;
        ``calibration``: (image id, path) of the calibration rows (``litert-int8``);
        ``cache_dir``: where the caches go (no Keras row keeps files beside them)."""
        self.config, self.batch_size, self.cache_dir = config, int(batch_size), cache_dir
        self.calibration = [tuple(c) for c in calibration]
        self.reference_name = config.model

    def config_for(self, variant: str, **changes):
        """The reference's config with ``variant``'s setting in the model id, one image at a time
        unless ``changes`` say otherwise."""
        mid = runtimes.variant_id(self.config.model_id, variant, self.batch_size)
        return replace(self.config, **dict(dict(model_id=mid, batch_size=None), **changes))

    def plain(self, config, **options) -> KerasProcessBackend:
        """The child-process backend of ``config`` (``options``: KerasProcessBackend's)."""
        return KerasProcessBackend(config, **options)

    def no_cuda(self) -> Optional[str]:
        """The Keras rows run on the CPU: why a GPU-only row cannot run here."""
        return "the Keras variants run on the CPU"
