"""The runtime variants of ``verify variants``: one registry, a :class:`Variant` per row (stdlib only).

A variant is the same weights run another way (batch size, autocast dtype,
memory format, compiler, another runtime). Each is declared once, here: its
name (the row, and the setting in the cache's model id: ``+bf16``), what it
changes, the runtime it applies to (``torch``: torchvision and timm models and
any library whose variants class says so; ``keras``), the packages it needs,
whether it needs a GPU or calibration images, whether it is in its runtime's
default list, and why it is skipped on the other runtime. How it is built is
the runtime's variants class (``backends/torch_variants.TorchVariants``,
``backends/keras/variants.KerasVariants``), which a model library names in
its declaration (``models/libraries.Library.variants``); the common reasons to
skip (other runtime, a missing package) are :func:`skip_reason`'s.

Adding a variant: one :class:`Variant` here plus its branch in the runtime's
``build`` and its tests.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

TORCH, KERAS = "torch", "keras"
ONNX_PACKAGES = ("onnx", "onnxscript", "onnxruntime")


@dataclass(frozen=True)
class Variant:
    """One row of ``verify variants`` (see the module docstring)."""

    name: str  # row name and id setting ("batchN" becomes "batch<N>")
    what: str  # what it changes, for --help and docs
    runtime: Optional[str]  # TORCH | KERAS; None: every runtime (the fp32 reference)
    elsewhere: str = ""  # why it is skipped on the other runtime
    needs: Tuple[str, ...] = ()  # importable packages it needs (pip install 'imagenet_bench[variants]')
    gpu_only: bool = False  # needs a CUDA device
    calibrated: bool = False  # calibrates on the first --calibration-split rows (held out of scoring)
    default: bool = True  # in its runtime's default list
    extra: str = "variants"  # the pip extra that installs ``needs``

    def setting(self, batch_size: int = 32) -> str:
        """The model-id setting of this variant: its name, ``batch<N>`` for ``batchN``."""
        return f"batch{int(batch_size)}" if self.name == "batchN" else self.name


_TORCH_ONLY = "PyTorch-only variant; this is a Keras model"
_KERAS_ONLY = "Keras-backend variant; this is a PyTorch model"

#: every variant, in table order; the first is the reference
REGISTRY: Tuple[Variant, ...] = (
    Variant("fp32", "the reference: float32, eager, batches of -b N (Keras: one image at a time)", None),
    Variant("batch1", "batches of one image", TORCH,
            elsewhere="the Keras reference already runs one image at a time; see batchN"),
    Variant("batchN", "batches of -b N in one call", KERAS,
            elsewhere="the PyTorch reference already runs batches of -b N; see batch1"),
    Variant("bf16", "torch.autocast bfloat16 (CPU or GPU)", TORCH, _TORCH_ONLY),
    Variant("fp16", "torch.autocast float16", TORCH, _TORCH_ONLY, gpu_only=True),
    Variant("tf32", "TF32 matmuls and convolutions", TORCH, _TORCH_ONLY, gpu_only=True),
    Variant("channels_last", "model and input in torch.channels_last memory format", TORCH, _TORCH_ONLY),
    Variant("compile", "torch.compile (inductor; needs a C compiler on CPU)", TORCH, _TORCH_ONLY),
    Variant("onnx", "ONNX Runtime, fp32 export", TORCH, _TORCH_ONLY, needs=ONNX_PACKAGES),
    Variant("onnx-int8", "ONNX Runtime, static int8 quantization", TORCH, _TORCH_ONLY,
            needs=ONNX_PACKAGES, calibrated=True),
    Variant("quantized", "torchvision's quantizable architecture, int8", TORCH, _TORCH_ONLY,
            calibrated=True),
    Variant("openvino", "OpenVINO CPU, converted by openvino.convert_model, INFERENCE_PRECISION_HINT=f32",
            TORCH, _TORCH_ONLY, needs=("openvino",), default=False, extra="openvino"),
    Variant("openvino-default", "OpenVINO CPU at the runtime's default precision (bf16 on CPUs with "
            "BF16 units; recorded in the provenance)", TORCH, _TORCH_ONLY, needs=("openvino",),
            default=False, extra="openvino"),
    Variant("openvino-int8", "OpenVINO CPU, NNCF post-training int8 quantization", TORCH, _TORCH_ONLY,
            needs=("openvino", "nncf"), calibrated=True, default=False, extra="openvino"),
    Variant("tensorrt-fp16", "TensorRT engine with fp16 enabled (Torch-TensorRT; unmeasured)", TORCH,
            _TORCH_ONLY, needs=("torch_tensorrt",), gpu_only=True, default=False, extra="tensorrt"),
    Variant("tensorrt-int8", "TensorRT int8 engine (ModelOpt PTQ + Torch-TensorRT; unmeasured)", TORCH,
            _TORCH_ONLY, needs=("torch_tensorrt", "modelopt"), gpu_only=True, calibrated=True,
            default=False, extra="tensorrt"),
    Variant("litert", "LiteRT (ai-edge-litert) with its XNNPACK delegate, float32 TFLite conversion of "
            "the same weights", KERAS, _KERAS_ONLY, needs=("tensorflow", "ai_edge_litert"), default=False,
            extra="litert"),
    Variant("litert-int8", "LiteRT with XNNPACK, full-integer int8 post-training quantization (TFLite "
            "converter, representative dataset of the calibration rows, float I/O)", KERAS, _KERAS_ONLY,
            needs=("tensorflow", "ai_edge_litert"), calibrated=True, default=False, extra="litert"),
    Variant("keras-tensorflow", "Keras 3 on TensorFlow (the reference's own backend)", KERAS,
            _KERAS_ONLY, needs=("tensorflow",), default=False),
    Variant("keras-jax", "the same Keras model on the JAX backend", KERAS, _KERAS_ONLY, needs=("jax",)),
    Variant("keras-torch", "the same Keras model on the PyTorch backend", KERAS, _KERAS_ONLY,
            needs=("torch",)),
)
_BY_NAME: Dict[str, Variant] = {v.name: v for v in REGISTRY}
#: every variant name, in table order; ``fp32`` is the reference row
NAMES: Tuple[str, ...] = tuple(_BY_NAME)


def get(name: str) -> Variant:
    """The variant called ``name``; ValueError naming the choices otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown variant {name!r}; choose from {', '.join(NAMES)}") from None


def defaults(runtime: str) -> Tuple[str, ...]:
    """The variants a model of ``runtime`` gets without ``--variants``, in table order."""
    return tuple(v.name for v in REGISTRY if v.runtime == runtime and v.default)


def calibrated(names) -> List[str]:
    """Those of ``names`` that calibrate on held-out rows, in table order."""
    return [v.name for v in REGISTRY if v.calibrated and v.name in names]


def skip_reason(name: str, runtime: str) -> Optional[str]:
    """Why variant ``name`` cannot run for a model of ``runtime`` here, for the reasons every
    runtime shares (it belongs to the other runtime; a package it needs is missing), or None."""
    v = get(name)
    if v.runtime is not None and v.runtime != runtime:
        return v.elsewhere
    missing = [m for m in v.needs if importlib.util.find_spec(m) is None]
    if missing:
        return f"{', '.join(missing)} not installed (pip install 'imagenet_bench[{v.extra}]')"
    return None
