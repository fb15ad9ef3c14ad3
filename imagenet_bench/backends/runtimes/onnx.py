"""The ``onnx`` / ``onnx-int8`` rows of a torch model: ONNX Runtime, fp32 export and int8 static quantization.

:class:`OnnxBackend` speaks the :mod:`imagenet_bench.run.runner` protocol. It
wraps a :class:`imagenet_bench.backends.torch.TorchBackend` of the SAME
weights, which keeps doing everything before the network -- decoding in
DataLoader workers, resize and crop, ToTensor + Normalize
(``TorchBackend.network_input``) -- so only the network differs:

* ``onnx``: ``torch.onnx.export`` (the torch.export-based exporter, which
  needs ``onnxscript``) with a dynamic batch dimension, run by an
  ``onnxruntime.InferenceSession`` on the CPU execution provider;
* ``onnx-int8``: that file through ``quant_pre_process`` and
  ``onnxruntime.quantization.quantize_static`` (QDQ format, int8 weights,
  uint8 activations, MinMax calibration) with a ``CalibrationDataReader`` over
  the calibration images; the provenance names them (count, first and last
  image id, sha256 of the id list).

The exported files are kept beside the caches (``<out>/<cache stem>.<sha8>.onnx``,
sha8 = hash of the torch provenance and calibration ids), so a resumed run
uses the same file and the same provenance. Softmax is taken by torch, as in
the torch backend.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Iterator, List, Sequence, Tuple

import numpy as np

from imagenet_bench.backends.exported import ExportedRuntime
from imagenet_bench.cache.atomic import atomic_path, file_sha256
from imagenet_bench.errors import BenchError
from imagenet_bench.models.variants import TORCH, TORCH_ONLY, Variant, calibration_record

if TYPE_CHECKING:
    import torch

INPUT_NAME = "input"
CALIBRATION_BATCH = 10  # images per CalibrationDataReader item
#: how ``onnx-int8`` quantizes (recorded in the provenance)
INT8_SETTINGS = dict(method="onnxruntime.quantization.quantize_static", pre_process="quant_pre_process",
                     quant_format="QDQ", weight_type="QInt8", activation_type="QUInt8",
                     per_channel=False, calibrate_method="MinMax")


PACKAGES = ("onnx", "onnxscript", "onnxruntime")


def require_onnx() -> None:
    """Raise a BenchError naming the extra when onnx, onnxscript or onnxruntime is missing."""
    import importlib.util
    missing = [m for m in PACKAGES if importlib.util.find_spec(m) is None]
    if missing:
        raise BenchError(f"the ONNX variants need {', '.join(missing)}. "
                         f"Fix: pip install 'imagenet_bench[variants]'")


def export(module: torch.nn.Module, path: str, size: int) -> None:
    """Export ``module`` (float32, NCHW ``size``x``size`` input, dynamic batch) to ``path`` atomically.

    One self-contained file (``external_data=False``; models over 2 GB do not fit in it)."""
    import torch
    example = (torch.zeros(2, 3, size, size),)
    with atomic_path(path) as tmp:
        torch.onnx.export(module.cpu().eval(), example, tmp + ".onnx", input_names=[INPUT_NAME],
                          output_names=["logits"], dynamo=True, external_data=False,
                          dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
        os.replace(tmp + ".onnx", tmp)
        _remove(tmp + ".onnx.data")


def calibration_batches(base, paths: List[str]) -> Iterator[np.ndarray]:
    """Network inputs (float32 NCHW) of the calibration images ``paths``, CALIBRATION_BATCH at a
    time, through ``base`` (a TorchBackend)'s own decoding and normalisation."""
    for s in range(0, len(paths), CALIBRATION_BATCH):
        px = np.stack([base.preprocess(p) for p in paths[s:s + CALIBRATION_BATCH]])
        yield base.network_input(px).cpu().numpy()


class _Calibration:
    """``CalibrationDataReader`` over network inputs (float32 NCHW), CALIBRATION_BATCH at a time."""

    def __init__(self, batches: Iterator[np.ndarray]):
        self._batches = batches

    def get_next(self):
        x = next(self._batches, None)
        return None if x is None else {INPUT_NAME: x}


def quantize_int8(fp32_path: str, path: str, calibration: Iterator[np.ndarray]) -> None:
    """Static int8 quantization (:data:`INT8_SETTINGS`) of ``fp32_path`` into ``path``, atomically."""
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = type("Reader", (_Calibration, CalibrationDataReader), {})(calibration)
    with atomic_path(path) as tmp:
        pre = tmp + ".pre.onnx"
        try:
            quant_pre_process(fp32_path, pre)
            quantize_static(pre, tmp + ".onnx", reader, quant_format=QuantFormat.QDQ,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
                            per_channel=False, calibrate_method=CalibrationMethod.MinMax)
            os.replace(tmp + ".onnx", tmp)
        finally:
            _remove(pre)


class OnnxBackend(ExportedRuntime):
    """A torch model exported to ONNX (optionally int8), run by ONNX Runtime; pixels from ``base``."""

    def __init__(self, base, config, out_dir: str, int8: bool = False,
                 calibration: Sequence[Tuple[str, str]] = ()):
        """``base``: the TorchBackend of the same weights (any library whose adapter builds one);
        ``config``: this variant's RunConfig; ``calibration``: (image id, path) for int8."""
        require_onnx()
        import onnx
        import onnxruntime as ort
        ids = [i for i, _ in calibration]
        super().__init__(base, config, int8, ids)
        stem = self.file_stem(out_dir, ids if int8 else [])
        fp32_path = stem + ".fp32.onnx"
        if not os.path.exists(fp32_path):
            export(base.module, fp32_path, base.recipe.crop)
        self.path, runtime = fp32_path, {}
        if int8:
            self.path = stem + ".int8.onnx"
            if not os.path.exists(self.path):
                quantize_int8(fp32_path, self.path, calibration_batches(base, [p for _, p in calibration]))
            runtime["quantization"] = dict(INT8_SETTINGS, calibration_images=calibration_record(ids))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = base.threads
        self.session = ort.InferenceSession(self.path, opts, providers=["CPUExecutionProvider"])
        runtime.update(runtime="onnxruntime", onnxruntime=ort.__version__, onnx=onnx.__version__,
                       exporter="torch.onnx.export(dynamo=True)",
                       provider="CPUExecutionProvider", onnx_file=os.path.basename(self.path),
                       onnx_sha256=file_sha256(self.path))
        self._runtime = runtime

    def logits(self, x: np.ndarray) -> np.ndarray:
        """ONNX Runtime's logits for the input batch."""
        return self.session.run(None, {INPUT_NAME: x})[0]


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _build(ctx, name: str) -> OnnxBackend:
    cfg = ctx.config_for(name)
    return OnnxBackend(ctx.plain(cfg), cfg, ctx.cache_dir, int8=name == "onnx-int8",
                       calibration=ctx.calibration)


def _on_cpu(ctx):
    return None if ctx.device.type == "cpu" else "the ONNX variants run on the CPU execution provider; use --device cpu"


VARIANTS = (
    Variant("onnx", "ONNX Runtime, fp32 export", TORCH, lambda ctx: _build(ctx, "onnx"), TORCH_ONLY,
            needs=PACKAGES, skip=_on_cpu),
    Variant("onnx-int8", "ONNX Runtime, static int8 quantization", TORCH,
            lambda ctx: _build(ctx, "onnx-int8"), TORCH_ONLY, needs=PACKAGES, calibrated=True, skip=_on_cpu),
)
