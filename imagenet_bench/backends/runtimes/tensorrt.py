"""TensorRT variants of a torch model on CUDA: ``tensorrt-fp16`` and ``tensorrt-int8`` (Torch-TensorRT).

UNMEASURED: no machine this was written on had a CUDA device or TensorRT, so
this path has never run; only its skips are tested (``tests/test_variants_registry.py``:
no package, no CUDA device; the packages are the registry's ``needs``).
It follows Torch-TensorRT's documented dynamo path
(https://docs.pytorch.org/TensorRT/user_guide/dynamo_export.html and the
"Quantization (INT8 / FP8 / FP4)" user guide):

* ``tensorrt-fp16``: ``torch.export.export`` of the float32 module on one
  example batch, then ``torch_tensorrt.dynamo.compile(program, inputs=[Input(min, opt,
  max shapes, float32)], enabled_precisions={torch.float16})``: float32 in and
  out, TensorRT free to run layers in fp16;
* ``tensorrt-int8``: NVIDIA ModelOpt's ``mtq.quantize(module, mtq.INT8_DEFAULT_CFG,
  forward_loop)`` (per-channel int8 weights, per-tensor activations, max
  calibration) over the calibration images (the rows ``onnx-int8`` uses), then
  the same export -- inside ``modelopt.torch.quantization.utils.export_torch_mode()``
  -- and compile with ``enabled_precisions={torch.int8}``.

Pixels, batches and the weights' provenance come from ``base`` (the
:class:`~imagenet_bench.backends.torch.TorchBackend` of the same weights, on
CUDA), as for ONNX Runtime and OpenVINO. The engine is built in memory for
each run (engines are specific to a GPU and TensorRT version, so none is
kept beside the caches); a resumed run rebuilds it.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from imagenet_bench.backends.exported import ExportedRuntime
from imagenet_bench.backends.runtimes.onnx import calibration_batches
from imagenet_bench.models.variants import TORCH, TORCH_ONLY, Variant, calibration_record

#: variant -> enabled_precisions of the engine
PRECISIONS = {"tensorrt-fp16": "float16", "tensorrt-int8": "int8"}
#: how ``tensorrt-int8`` quantizes (recorded in the provenance)
INT8_SETTINGS = dict(method="modelopt.torch.quantization.quantize", config="INT8_DEFAULT_CFG",
                     calibration_batch="10 images")


class TensorRtBackend(ExportedRuntime):
    """A torch model compiled to a TensorRT engine (fp16 or int8) by Torch-TensorRT; pixels from ``base``."""

    def __init__(self, base, config, variant: str, calibration: Sequence[Tuple[str, str]] = ()):
        """``base``: the TorchBackend of the same weights on CUDA; ``variant``: a key of
        :data:`PRECISIONS`; ``calibration``: (image id, path) for ``tensorrt-int8``."""
        import torch
        import torch_tensorrt
        int8 = variant == "tensorrt-int8"
        ids = [i for i, _ in calibration] if int8 else []
        super().__init__(base, config, int8, ids)
        size, batch = base.recipe.crop, max(1, int(base.batch_size))
        module = base.module.eval()
        example = torch.zeros(batch, 3, size, size, device=base.device)
        spec = torch_tensorrt.Input(min_shape=(1, 3, size, size), opt_shape=(batch, 3, size, size),
                                    max_shape=(batch, 3, size, size), dtype=torch.float32)
        dim = torch.export.Dim("batch", min=1, max=batch)
        runtime = dict(runtime="tensorrt", torch_tensorrt=torch_tensorrt.__version__,
                       enabled_precisions=PRECISIONS[variant], device=base.device_name,
                       compiler="torch_tensorrt.dynamo.compile(torch.export program)")
        with torch.no_grad():
            if int8:
                import modelopt
                import modelopt.torch.quantization as mtq
                from modelopt.torch.quantization.utils import export_torch_mode
                inputs = [torch.from_numpy(x).to(base.device)
                          for x in calibration_batches(base, [p for _, p in calibration])]

                def forward_loop(model):
                    for x in inputs:
                        model(x)

                module = mtq.quantize(module, mtq.INT8_DEFAULT_CFG, forward_loop=forward_loop)
                with export_torch_mode():
                    program = torch.export.export(module, (example,), dynamic_shapes=({0: dim},),
                                                  strict=False)
                    self.engine = torch_tensorrt.dynamo.compile(
                        program, inputs=[spec], enabled_precisions={torch.int8}, min_block_size=1)
                runtime.update(modelopt=modelopt.__version__,
                               quantization=dict(INT8_SETTINGS, calibration_images=calibration_record(ids)))
            else:
                program = torch.export.export(module, (example,), dynamic_shapes=({0: dim},))
                self.engine = torch_tensorrt.dynamo.compile(
                    program, inputs=[spec], enabled_precisions={torch.float16})
        self._runtime = runtime

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The engine's logits (float32) for the input batch."""
        import torch
        with torch.no_grad():
            out = self.engine(torch.from_numpy(x).to(self.base.device))
        return out.float().cpu().numpy()


def _build(ctx, name: str) -> TensorRtBackend:
    cfg = ctx.config_for(name)
    return TensorRtBackend(ctx.plain(cfg), cfg, name, calibration=ctx.calibration)


VARIANTS = (
    Variant("tensorrt-fp16", "TensorRT engine with fp16 enabled (Torch-TensorRT; unmeasured)", TORCH,
            lambda ctx: _build(ctx, "tensorrt-fp16"), TORCH_ONLY, needs=("torch_tensorrt",), gpu_only=True,
            default=False, extra="tensorrt"),
    Variant("tensorrt-int8", "TensorRT int8 engine (ModelOpt PTQ + Torch-TensorRT; unmeasured)", TORCH,
            lambda ctx: _build(ctx, "tensorrt-int8"), TORCH_ONLY, needs=("torch_tensorrt", "modelopt"),
            gpu_only=True, calibrated=True, default=False, extra="tensorrt"),
)
