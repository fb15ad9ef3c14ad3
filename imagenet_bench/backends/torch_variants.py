"""The variant context of a PyTorch model: what each ``verify variants`` row of the registry
:mod:`imagenet_bench.backends.runtimes` builds from (any library whose adapter builds a
:class:`~imagenet_bench.backends.torch.TorchBackend`: torchvision, timm, open_clip, a plugin's).

Every row's backend has a model name carrying the variant
(``ModelId.with_settings`` of the variant's setting), so each writes its own
cache through the normal resumable predict path.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Optional, Sequence, Tuple

from imagenet_bench.backends import runtimes
from imagenet_bench.backends import torch as tb
from imagenet_bench.models import variants


class TorchVariants(runtimes.VariantContext):
    """The reference and variant backends of one torch model (registry entry or model factory)."""

    #: the variants a PyTorch model gets by default, in table order (the registry's)
    DEFAULT = runtimes.defaults(variants.TORCH)
    runtime = variants.TORCH

    def __init__(self, config, calibration: Sequence[Tuple[str, str]], cache_dir: str,
                 batch_size: Optional[int] = None):
        """``config``: the reference's :class:`~imagenet_bench.run.config.RunConfig`;
        ``calibration``: (image id, path) of the calibration rows; ``cache_dir``: caches and
        exports; ``batch_size``: the reference's (default ``config.batch_size`` or 32)."""
        from imagenet_bench.models import libraries
        self.config, self.calibration, self.cache_dir = config, list(calibration), cache_dir
        self.adapter = libraries.get(config.framework)  # its from_config builds every row
        self.device = tb.pick_device(config.device)
        self.batch_size = config.batch_size or batch_size or 32
        self.reference_name = config.model

    def config_for(self, variant: str, **changes):
        """The reference's config with ``variant``'s setting in the model id, and ``changes``."""
        return replace(self.config, model_id=runtimes.variant_id(self.config.model_id, variant), **changes)

    def plain(self, config, **flags) -> "tb.TorchBackend":
        """The library's own backend of ``config`` (``flags``: TorchBackend's tf32, channels_last, compile)."""
        return self.adapter.from_config(config, **flags)

    def no_cuda(self) -> Optional[str]:
        """Why a GPU-only row cannot run on this reference's device, or None."""
        if self.device.type == "cuda":
            return None
        import torch
        return "no CUDA device" if not torch.cuda.is_available() else \
            f"needs a CUDA device (--device {self.config.device})"
