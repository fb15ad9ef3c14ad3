"""Backends for each ``verify variants`` row of a Keras model, each in a child process of its own.

The reference runs on TensorFlow one image at a time (as ``predict``);
``batchN`` runs batches of ``-b N`` in one call, ``keras-jax`` / ``keras-torch``
the same weights on another Keras 3 backend (``KERAS_BACKEND`` set in the
child before it imports Keras), ``litert`` / ``litert-int8`` the model converted
to float32 / full-integer int8 TFLite (int8 calibrated on the calibration rows)
and run by LiteRT with XNNPACK in the child (``keras/litert.py``). Numpy and the standard library only: the
parent never imports Keras.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence, Tuple

from imagenet_bench.analysis import variants as av
from imagenet_bench.backends.keras.parent import KerasProcessBackend
from imagenet_bench.models import variants

#: variant -> the Keras 3 backend its child runs on
KERAS_BACKENDS = {"keras-tensorflow": "tensorflow", "keras-jax": "jax", "keras-torch": "torch"}
#: variant -> the runtime its child converts the model to
RUNTIMES = {"litert": "litert", "litert-int8": "litert-int8"}


class KerasVariants:
    """Reference (TensorFlow, one image at a time) and variants of a Keras model, each in a child process."""

    #: the variants a Keras model gets by default, in table order (the variant registry's)
    DEFAULT = variants.defaults(variants.KERAS)

    def __init__(self, config, calibration: Sequence[Tuple[str, str]] = (), cache_dir: str = "",
                 batch_size: int = 32):
        """``config``: the reference's RunConfig; ``batch_size``: N of ``batchN``;
        ``calibration``: (image id, path) of the calibration rows (``litert-int8``); no variant of
        a Keras model needs ``cache_dir``."""
        self.config, self.batch_size = config, int(batch_size)
        self.calibration = [tuple(c) for c in calibration]
        self.reference_name = config.model

    def skip_reason(self, variant: str) -> Optional[str]:
        """Why ``variant`` cannot run for a Keras model here, or None."""
        if variant == "keras-tensorflow":
            return "the reference runs on the TensorFlow backend"
        common = variants.skip_reason(variant, variants.KERAS)
        if common is None and variants.get(variant).calibrated and not self.calibration:
            return "needs calibration images (--calibration-split N with N >= 1)"
        return common

    def build(self, variant: str):
        """The child-process backend of ``variant`` ("fp32" = the reference)."""
        cfg = self.config
        if variant != "fp32":
            mid = cfg.model_id.with_settings(av.variant_setting(variant, self.batch_size))
            cfg = replace(cfg, model_id=mid, batch_size=self.batch_size if variant == "batchN" else None)
        return KerasProcessBackend(cfg, keras_backend=KERAS_BACKENDS.get(variant),
                                   runtime=RUNTIMES.get(variant),
                                   calibration=self.calibration if variant == "litert-int8" else ())
