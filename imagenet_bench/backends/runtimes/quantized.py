"""The ``quantized`` row: torchvision's quantizable architectures (``torchvision.models.quantization``).

Two cases, both paired with the float model of the reference row:

* real weights: torchvision's own int8 weights of the architecture
  (``<Arch>_QuantizedWeights.DEFAULT``, ``quantize=True``), whose
  ``meta["unquantized"]`` names the float weights they were made from. They
  are loaded from torch's hub cache or downloaded; when neither works the
  caller reports the row as skipped with the reason.
* random weights (``--weights none``): the mechanics on the reference's own
  seeded random float weights -- copied into the quantizable architecture,
  fused (``fuse_model``), observed with the default x86 (fbgemm) qconfig on
  the calibration images and converted (eager-mode post-training static
  quantization, ``torch.ao.quantization``). Its accuracy says nothing about
  torchvision's real quantized weights.

Quantized kernels run on the CPU only.
"""
from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple

from imagenet_bench.errors import BenchError
from imagenet_bench.models.variants import TORCH, TORCH_ONLY, Variant

if TYPE_CHECKING:
    import torch


def quantizable(arch: str) -> bool:
    """True when torchvision has a quantizable version of ``arch``."""
    import torchvision
    return callable(getattr(torchvision.models.quantization, arch, None))


def _check(arch: str) -> None:
    if not quantizable(arch):
        raise BenchError(f"torchvision has no quantized {arch} (torchvision.models.quantization offers "
                         f"resnet18/50, mobilenet_v2/v3_large, googlenet, inception_v3, shufflenet_v2_*, "
                         f"resnext101_*). Fix: leave 'quantized' out of --variants for this "
                         f"model, or run one of those")


def pretrained(arch: str) -> Tuple[torch.nn.Module, dict]:
    """torchvision's int8 weights of ``arch`` (hub cache or download); BenchError if unavailable."""
    import torchvision
    _check(arch)
    enum = torchvision.models.get_model_weights(getattr(torchvision.models.quantization, arch))
    weights = enum.DEFAULT
    try:
        model = getattr(torchvision.models.quantization, arch)(weights=weights, quantize=True)
    except Exception as e:  # urllib / socket errors when the hub cannot be reached
        raise BenchError(f"torchvision's quantized weights {weights} could not be loaded "
                         f"({type(e).__name__}). Fix: put {weights.url} in torch's hub cache "
                         f"($TORCH_HOME/hub/checkpoints), or leave 'quantized' out of --variants") from None
    return model.eval(), {"weights": f"{weights}", "float_counterpart": weights.meta.get("unquantized"),
                          "quantized_backend": weights.meta.get("backend")}


def from_float(arch: str, float_module: torch.nn.Module,
               calibration: Iterable[torch.Tensor]) -> Tuple[torch.nn.Module, dict]:
    """Post-training static int8 quantization of ``float_module``'s weights in ``arch``'s quantizable form.

    ``calibration``: network-input batches (float32 NCHW) the observers see.
    """
    import torch
    import torchvision
    _check(arch)
    engine = "fbgemm" if "fbgemm" in torch.backends.quantized.supported_engines else "qnnpack"
    torch.backends.quantized.engine = engine
    model = getattr(torchvision.models.quantization, arch)(weights=None, quantize=False)
    missing, unexpected = model.load_state_dict(float_module.state_dict(), strict=False)
    if missing or unexpected:
        raise BenchError(f"the float weights do not fit torchvision's quantizable {arch} "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]}). Fix: leave "
                         f"'quantized' out of --variants for these weights")
    model.eval()
    model.fuse_model(is_qat=False)
    model.qconfig = torch.ao.quantization.get_default_qconfig(engine)
    torch.ao.quantization.prepare(model, inplace=True)
    n = 0
    with torch.inference_mode():
        for x in calibration:
            model(x)
            n += len(x)
    torch.ao.quantization.convert(model, inplace=True)
    return model, {"quantization": {"method": "torch.ao.quantization eager post-training static",
                                    "engine": engine, "qconfig": f"get_default_qconfig({engine!r})",
                                    "calibration_images": n}}


def _arch(ctx) -> str:
    return ctx.config.spec.entry.builder.partition(":")[2]


def _skip(ctx) -> Optional[str]:
    spec = ctx.config.spec
    if spec is None or not spec.entry.builder.startswith("torchvision."):
        return "needs a torchvision model with a quantized counterpart"
    if spec.entry.quantized_backend:
        return "the reference is already a quantized model"
    if not quantizable(_arch(ctx)):
        return f"torchvision has no quantized {_arch(ctx)}"
    return None


def _build(ctx):
    """The quantized counterpart of ``ctx``'s torchvision model, as a CPU TorchBackend."""
    from imagenet_bench.backends import torch as tb
    cfg, arch = ctx.config_for("quantized"), _arch(ctx)
    base = tb.from_config(cfg)
    if not cfg.pretrained and not cfg.checkpoint:
        module, prov = from_float(arch, base.module.cpu(), _calibration_inputs(base, ctx.calibration))
        prov["weights"] = base.provenance()["weights"] + ", quantized here (mechanics only)"
    else:
        module, prov = pretrained(arch)
    return tb.TorchBackend(module, replace(cfg, device="cpu", batch_size=ctx.batch_size), prov,
                           recipe=base.recipe, extra={"builder": f"torchvision.models.quantization:{arch}"})


def _calibration_inputs(base, calibration, batch: int = 10) -> List:
    import numpy as np
    paths = [p for _, p in calibration]
    return [base.network_input(np.stack([base.preprocess(p) for p in paths[s:s + batch]])).cpu()
            for s in range(0, len(paths), batch)]


VARIANTS = (
    Variant("quantized", "torchvision's quantizable architecture, int8", TORCH, _build, TORCH_ONLY,
            calibrated=True, skip=_skip),
)
