"""Backends for each ``verify variants`` row of a PyTorch model (same weights, other ways of running).

:class:`TorchVariants` builds the reference (fp32, eager, batches of ``-b N``)
and every variant as a runner backend whose model name carries the variant
(:func:`imagenet_bench.analysis.variants.variant_model_name`), so each writes
its own cache through the normal resumable predict path:

=============== ===========================================================
batch1          batches of one image
bf16 / fp16     ``torch.autocast`` bfloat16 (CPU or GPU) / float16 (GPU only)
tf32            TF32 matmuls and convolutions (GPU only)
channels_last   model and input in ``torch.channels_last`` memory format
compile         ``torch.compile`` (inductor; needs a C compiler on CPU)
onnx, onnx-int8 ONNX Runtime, fp32 export / static int8 (:mod:`backends.onnx`)
quantized       torchvision's quantizable architecture (:mod:`backends.quantized`)
=============== ===========================================================

:meth:`TorchVariants.skip_reason` says why a variant cannot run here (no
CUDA device, a missing package, ...); the table keeps such rows.
"""
from __future__ import annotations

import importlib.util
import shutil
from typing import List, Optional, Sequence, Tuple

from imagenet_bench.analysis.variants import variant_model_name
from imagenet_bench.backends import torch as tb
from imagenet_bench.errors import BenchError

AUTOCAST = {"bf16": "bfloat16", "fp16": "float16"}
GPU_ONLY = ("fp16", "tf32")
KERAS_ONLY = ("keras-tensorflow", "keras-jax", "keras-torch")
#: the variants a PyTorch model gets by default, in table order
DEFAULT = ("batch1", "bf16", "fp16", "tf32", "channels_last", "compile", "onnx", "onnx-int8", "quantized")


class TorchVariants:
    """The reference and variant backends of one torch model (registry spec or model factory)."""

    def __init__(self, args, spec, calibration: Sequence[Tuple[str, str]], cache_dir: str):
        """``args``: the parsed ``verify variants`` options; ``spec`` None for ``--model-factory``;
        ``calibration``: (image id, path) of the calibration rows; ``cache_dir``: caches and exports."""
        self.args, self.spec, self.calibration, self.cache_dir = args, spec, list(calibration), cache_dir
        self.device = tb.pick_device(args.device)
        if spec is None:
            self.recipe = tb.make_recipe(args.resize, args.crop, args.mean, args.std, args.interpolation)
            self.reference_name = args.name
        else:
            self.reference_name = args.name or tb.model_name(spec, args.weights, args.preprocess,
                                                             args.checkpoint)

    def _build(self, name: str, batch_size: Optional[int] = None, **numerics) -> tb.TorchBackend:
        a = self.args
        kw = dict(device=a.device, batch_size=batch_size or a.batch_size, workers=a.workers,
                  threads=a.threads, **numerics)
        if self.spec is None:
            return tb.from_factory(a.model_factory, name, self.recipe, a.checkpoint, **kw)
        return tb.from_spec(self.spec, weights=a.weights, preprocess=a.preprocess,
                            checkpoint=a.checkpoint, name=name, **kw)

    def skip_reason(self, variant: str) -> Optional[str]:
        """Why ``variant`` cannot run here, or None."""
        if variant in KERAS_ONLY:
            return "Keras-backend variant; this is a PyTorch model"
        if variant == "batchN":
            return f"the PyTorch reference already runs batches of {self.args.batch_size} (-b); see batch1"
        if variant in GPU_ONLY and self.device.type != "cuda":
            return "no CUDA device" if self.args.device in ("auto", "cpu") and not _cuda() else \
                f"needs a CUDA device (--device {self.args.device})"
        if variant == "compile" and not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
            return "torch.compile (inductor) needs a C compiler; none on PATH"
        if variant in ("onnx", "onnx-int8"):
            missing = [m for m in ("onnx", "onnxscript", "onnxruntime") if importlib.util.find_spec(m) is None]
            if missing:
                return f"{', '.join(missing)} not installed (pip install 'imagenet_bench[variants]')"
            if self.device.type != "cpu":
                return "the ONNX variants run on the CPU execution provider; use --device cpu"
        if variant == "quantized":
            from imagenet_bench.backends import quantized
            if self.spec is None:
                return "needs a torchvision registry model with a quantized counterpart (not --model-factory)"
            arch = tb._builder_name(self.spec.builder)
            if not quantized.quantizable(arch):
                return f"torchvision has no quantized {arch}"
        if variant in ("onnx-int8", "quantized") and not self.calibration:
            return "needs calibration images (--calibration-split N with N >= 1)"
        return None

    def build(self, variant: str):
        """The runner backend of ``variant`` ("fp32" = the reference)."""
        name = variant_model_name(self.reference_name, variant)
        if variant == "fp32":
            return self._build(name)
        if variant == "batch1":
            return self._build(name, batch_size=1)
        if variant in AUTOCAST:
            return self._build(name, autocast=AUTOCAST[variant])
        if variant in ("tf32", "channels_last", "compile"):
            return self._build(name, **{variant: True})
        if variant in ("onnx", "onnx-int8"):
            from imagenet_bench.backends.onnx import OnnxBackend
            return OnnxBackend(self._build(name), name, self.cache_dir, int8=variant == "onnx-int8",
                               calibration=self.calibration)
        if variant == "quantized":
            return self._quantized(name)
        raise BenchError(f"{variant}: not a PyTorch variant")

    def _quantized(self, name: str) -> tb.TorchBackend:
        from imagenet_bench.backends import quantized
        arch = tb._builder_name(self.spec.builder)
        base = self._build(name, batch_size=self.args.batch_size)
        if self.args.weights in tb.NO_WEIGHTS and not self.args.checkpoint:
            module, prov = quantized.from_float(arch, base.module.cpu(), self._calibration_inputs(base))
            prov["weights"] = base.provenance()["weights"] + ", quantized here (mechanics only)"
        else:
            module, prov = quantized.pretrained(arch)
        return tb.TorchBackend(module, name, base.recipe, prov, device="cpu",
                               batch_size=self.args.batch_size, workers=self.args.workers,
                               threads=self.args.threads, extra={"builder": f"torchvision.models.quantization:{arch}"})

    def _calibration_inputs(self, base: tb.TorchBackend, batch: int = 10) -> List:
        import numpy as np
        paths = [p for _, p in self.calibration]
        return [base.network_input(np.stack([base.preprocess(p) for p in paths[s:s + batch]])).cpu()
                for s in range(0, len(paths), batch)]


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()
