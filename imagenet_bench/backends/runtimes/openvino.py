"""OpenVINO variants of a torch model: fp32, the runtime's default precision, NNCF int8.

:class:`OpenVinoBackend` speaks the :mod:`imagenet_bench.run.runner` protocol. Like
:class:`~imagenet_bench.backends.runtimes.onnx.OnnxBackend` it wraps a
:class:`~imagenet_bench.backends.torch.TorchBackend` of the SAME weights, which
keeps doing everything before the network (decoding, resize, crop, normalise),
so only the network differs:

* the torch module is converted by OpenVINO's own converter,
  ``openvino.convert_model(module, example_input=...)``, reshaped to a dynamic
  batch and saved as IR with ``compress_to_fp16=False`` (float32 weights);
* ``openvino``: compiled for the CPU with ``INFERENCE_PRECISION_HINT=f32``;
* ``openvino-default``: compiled with no hint, so the CPU plugin picks its
  default inference precision (bf16 on CPUs with AMX/AVX512-BF16, f32 on
  others); the precision it chose is read back from the compiled model and
  recorded in the provenance;
* ``openvino-int8``: ``nncf.quantize`` (post-training, :data:`INT8_SETTINGS`)
  of that IR on the calibration images (the rows ``onnx-int8`` uses, one image
  per calibration item), compiled with the f32 hint so only the quantization
  differs; the provenance names the calibration images.

IR files are kept beside the caches (``<out>/<cache stem>.<sha8>.<kind>.ov/``,
written into a temporary folder and renamed), so a resumed run uses the same
model. Softmax is taken by torch, as in the torch backend.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.backends.exported import ExportedRuntime
from imagenet_bench.backends.runtimes.onnx import calibration_batches
from imagenet_bench.cache.atomic import file_sha256
from imagenet_bench.errors import BenchError
from imagenet_bench.models.variants import TORCH, TORCH_ONLY, Variant, calibration_record

if TYPE_CHECKING:
    import torch

#: variant -> (IR kind, INFERENCE_PRECISION_HINT or None for the runtime's default)
KINDS = {"openvino": ("fp32", "f32"), "openvino-default": ("fp32", None), "openvino-int8": ("int8", "f32")}
#: how ``openvino-int8`` quantizes (recorded in the provenance)
INT8_SETTINGS = dict(method="nncf.quantize", preset="PERFORMANCE (symmetric weights and activations)",
                     calibration_item="one image", fast_bias_correction=True)


def missing() -> Optional[str]:
    """Why the OpenVINO variants cannot run here (openvino/nncf not installed), or None."""
    absent = [m for m in ("openvino", "nncf") if importlib.util.find_spec(m) is None]
    return f"{', '.join(absent)} not installed (pip install 'imagenet_bench[openvino]')" if absent else None


def _save_ir(model, folder: str) -> None:
    """Save ``model`` as IR (float32 weights) into ``folder``, atomically (temporary folder, rename)."""
    import openvino as ov
    parent = os.path.dirname(folder) or "."
    tmp = tempfile.mkdtemp(prefix=".tmp-", dir=parent)
    try:
        ov.save_model(model, os.path.join(tmp, "model.xml"), compress_to_fp16=False)
        os.replace(tmp, folder)
    except OSError:
        if not os.path.isdir(folder):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def convert(module: torch.nn.Module, size: int):
    """``module`` (float32, NCHW ``size``x``size``) as an OpenVINO model with a dynamic batch."""
    import openvino as ov
    import torch
    model = ov.convert_model(module.cpu().eval(), example_input=torch.zeros(1, 3, size, size))
    model.reshape(ov.PartialShape([-1, 3, size, size]))
    return model


class OpenVinoBackend(ExportedRuntime):
    """A torch model converted to OpenVINO (f32, default precision or NNCF int8); pixels from ``base``."""

    def __init__(self, base, config, out_dir: str, variant: str,
                 calibration: Sequence[Tuple[str, str]] = ()):
        """``base``: the TorchBackend of the same weights; ``config``: this variant's RunConfig;
        ``variant``: a key of :data:`KINDS`; ``calibration``: (image id, path) for ``openvino-int8``."""
        reason = missing()
        if reason:
            raise BenchError(f"{config.model_id}: {reason}. Fix: install them, or leave the "
                             f"openvino variants out of --variants")
        import openvino as ov
        kind, hint = KINDS[variant]
        ids = [i for i, _ in calibration] if kind == "int8" else []
        super().__init__(base, config, kind == "int8", ids)
        stem = self.file_stem(out_dir, ids)
        folder = f"{stem}.{kind}.ov"
        if not os.path.isdir(folder):
            ov_model = convert(base.module, base.recipe.crop)
            if kind == "int8":
                ov_model = self._quantize(ov_model, [p for _, p in calibration])
            _save_ir(ov_model, folder)
        core = ov.Core()
        config = {} if hint is None else {"INFERENCE_PRECISION_HINT": hint}
        if base.threads:
            config["INFERENCE_NUM_THREADS"] = int(base.threads)
        xml = os.path.join(folder, "model.xml")
        self.compiled = core.compile_model(core.read_model(xml), "CPU", config)
        runtime = dict(runtime="openvino", openvino=ov.get_version(), device="CPU",
                       converter="openvino.convert_model(torch module, example_input)",
                       precision_hint=hint or "none (the runtime's default)",
                       inference_precision=self.compiled.get_property("INFERENCE_PRECISION_HINT").to_string(),
                       cpu=str(core.get_property("CPU", "FULL_DEVICE_NAME")),
                       ir_file=os.path.basename(folder), ir_sha256=file_sha256(os.path.join(folder, "model.bin")))
        if kind == "int8":
            import nncf
            runtime.update(nncf=nncf.__version__,
                           quantization=dict(INT8_SETTINGS, calibration_images=calibration_record(ids)))
        self._runtime = runtime

    def _quantize(self, ov_model, paths):
        import nncf
        items = [x[i:i + 1] for x in calibration_batches(self.base, paths) for i in range(len(x))]
        return nncf.quantize(ov_model, nncf.Dataset(items), preset=nncf.QuantizationPreset.PERFORMANCE,
                             subset_size=len(items), fast_bias_correction=True)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The compiled OpenVINO model's logits for the input batch."""
        return self.compiled(x)[0]


def _build(ctx, name: str) -> OpenVinoBackend:
    cfg = ctx.config_for(name)
    return OpenVinoBackend(ctx.plain(cfg), cfg, ctx.cache_dir, name, calibration=ctx.calibration)


def _on_cpu(ctx):
    return None if ctx.device.type == "cpu" else "the OpenVINO variants run on its CPU plugin; use --device cpu"


def _row(name: str, what: str, needs=("openvino",), calibrated: bool = False) -> Variant:
    return Variant(name, what, TORCH, lambda ctx: _build(ctx, name), TORCH_ONLY, needs=needs,
                   calibrated=calibrated, default=False, extra="openvino", skip=_on_cpu)


VARIANTS = (
    _row("openvino", "OpenVINO CPU, converted by openvino.convert_model, INFERENCE_PRECISION_HINT=f32"),
    _row("openvino-default", "OpenVINO CPU at the runtime's default precision (bf16 on CPUs with BF16 "
                             "units; recorded in the provenance)"),
    _row("openvino-int8", "OpenVINO CPU, NNCF post-training int8 quantization", ("openvino", "nncf"), True),
)
