"""Backends for each ``verify variants`` row of a PyTorch model (same weights, other ways of running).

:class:`TorchVariants` builds the reference (fp32, eager, batches of ``-b N``)
and every variant as a runner backend whose model name carries the variant
(``ModelId.with_settings`` of the variant's setting), so each writes
its own cache through the normal resumable predict path:

one row per variant of the registry :mod:`imagenet_bench.models.variants`
(name, what it changes, runtime, packages, GPU, calibration), built here:
autocast via ``RunConfig.with_amp``, the numerics flags of
:class:`backends.torch.TorchBackend`, ONNX Runtime (:mod:`backends.onnx`),
torchvision's quantizable architectures (:mod:`backends.quantized`), OpenVINO
(:mod:`backends.openvino`), TensorRT (:mod:`backends.tensorrt`, unmeasured).

:meth:`TorchVariants.skip_reason` says why a variant cannot run here (no
CUDA device, a missing package, ...); the table keeps such rows.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
from typing import List, Optional, Sequence, Tuple

from imagenet_bench.analysis.variants import variant_setting
from imagenet_bench.backends import torch as tb
from imagenet_bench.errors import BenchError
from imagenet_bench.models import variants

AMP = ("bf16", "fp16")  # torch.autocast bfloat16 / float16 (RunConfig.with_amp)
#: the variants a PyTorch model gets by default, in table order (the variant registry's)
DEFAULT = variants.defaults(variants.TORCH)


class TorchVariants:
    """The reference and variant backends of one torch model (registry entry or model factory)."""

    #: the variants a PyTorch model gets by default, in table order

    DEFAULT = DEFAULT

    def __init__(self, config, calibration: Sequence[Tuple[str, str]], cache_dir: str,
                 batch_size: Optional[int] = None):
        """``config``: the reference's :class:`~imagenet_bench.run.config.RunConfig` (of any
        library whose adapter builds a :class:`~imagenet_bench.backends.torch.TorchBackend`);
        ``calibration``: (image id, path) of the calibration rows; ``cache_dir``: caches and
        exports; ``batch_size``: the reference's (default ``config.batch_size`` or 32)."""
        from imagenet_bench.models import libraries
        self.config, self.calibration, self.cache_dir = config, list(calibration), cache_dir
        self.adapter = libraries.get(config.framework)  # its from_config builds every row
        self.device = tb.pick_device(config.device)
        self.batch_size = config.batch_size or batch_size or 32
        self.reference_name = config.model

    def _config(self, variant: str, **changes):
        return replace(self.config, model_id=self.config.model_id.with_settings(variant_setting(variant)),
                       **changes)

    def skip_reason(self, variant: str) -> Optional[str]:
        """Why ``variant`` cannot run here, or None (the registry's reasons first:
        :func:`models.variants.skip_reason`)."""
        if variant == "batchN":
            return f"the PyTorch reference already runs batches of {self.batch_size} (-b); see batch1"
        common = variants.skip_reason(variant, variants.TORCH)
        if common:
            return common
        if variants.get(variant).gpu_only and self.device.type != "cuda":
            return "no CUDA device" if not _cuda() else f"needs a CUDA device (--device {self.config.device})"
        if variant == "compile" and not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
            return "torch.compile (inductor) needs a C compiler; none on PATH"
        if variant in ("onnx", "onnx-int8"):
            if self.device.type != "cpu":
                return "the ONNX variants run on the CPU execution provider; use --device cpu"
        if variant.startswith("openvino") and self.device.type != "cpu":
            return "the OpenVINO variants run on its CPU plugin; use --device cpu"
        if variant == "quantized":
            from imagenet_bench.backends import quantized
            if self.config.spec is None or not self.config.spec.entry.builder.startswith("torchvision."):
                return "needs a torchvision model with a quantized counterpart"
            if self.config.spec.entry.quantized_backend:
                return "the reference is already a quantized model"
            arch = self.config.spec.entry.builder.partition(":")[2]
            if not quantized.quantizable(arch):
                return f"torchvision has no quantized {arch}"
        if variants.get(variant).calibrated and not self.calibration:
            return "needs calibration images (--calibration-split N with N >= 1)"
        return None

    def build(self, variant: str):
        """The runner backend of ``variant`` ("fp32" = the reference)."""
        if variant == "fp32":
            return self.adapter.from_config(self.config)
        if variant == "batch1":
            return self.adapter.from_config(self._config(variant, batch_size=1))
        if variant in AMP:
            return self.adapter.from_config(self.config.with_amp(variant))
        if variant in ("tf32", "channels_last", "compile"):
            return self.adapter.from_config(self._config(variant), **{variant: True})
        if variant in ("onnx", "onnx-int8"):
            from imagenet_bench.backends.onnx import OnnxBackend
            cfg = self._config(variant)
            return OnnxBackend(self.adapter.from_config(cfg), cfg, self.cache_dir,
                               int8=variant == "onnx-int8", calibration=self.calibration)
        if variant.startswith("openvino"):
            from imagenet_bench.backends.openvino import OpenVinoBackend
            cfg = self._config(variant)
            return OpenVinoBackend(self.adapter.from_config(cfg), cfg, self.cache_dir, variant,
                                   calibration=self.calibration)
        if variant.startswith("tensorrt"):
            from imagenet_bench.backends.tensorrt import TensorRtBackend
            cfg = self._config(variant)
            return TensorRtBackend(self.adapter.from_config(cfg), cfg, variant, calibration=self.calibration)
        if variant == "quantized":
            return self._quantized(self._config(variant))
        raise BenchError(f"{variant}: not a PyTorch variant")

    def _quantized(self, cfg) -> tb.TorchBackend:
        from imagenet_bench.backends import quantized
        arch = cfg.spec.entry.builder.partition(":")[2]
        base = tb.from_config(cfg)
        if not cfg.pretrained and not cfg.checkpoint:
            module, prov = quantized.from_float(arch, base.module.cpu(), self._calibration_inputs(base))
            prov["weights"] = base.provenance()["weights"] + ", quantized here (mechanics only)"
        else:
            module, prov = quantized.pretrained(arch)
        return tb.TorchBackend(module, replace(cfg, device="cpu", batch_size=self.batch_size), prov,
                               recipe=base.recipe,
                               extra={"builder": f"torchvision.models.quantization:{arch}"})

    def _calibration_inputs(self, base: tb.TorchBackend, batch: int = 10) -> List:
        import numpy as np
        paths = [p for _, p in self.calibration]
        return [base.network_input(np.stack([base.preprocess(p) for p in paths[s:s + batch]])).cpu()
                for s in range(0, len(paths), batch)]


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()
