"""The ``litert`` / ``litert-int8`` rows of a Keras model: the same weights as a TFLite model on LiteRT.

The parent process only reads :data:`VARIANTS` and builds a
:class:`~imagenet_bench.backends.keras.parent.KerasProcessBackend` that names
:func:`wrap` for its child; TensorFlow and ``ai_edge_litert`` are imported in
the child, by :func:`convert` and :class:`LiteRtBackend`. The Keras model the reference builds
(:class:`~imagenet_bench.backends.keras.child.KerasBackend`) is exported as a
SavedModel with one endpoint, ``model(x, training=False)`` on float32
(1, s, s, 3) -- as the reference's compiled call -- converted by
``tf.lite.TFLiteConverter.from_saved_model`` with no optimisation (float32
weights and activations), and run one image at a time by
``ai_edge_litert.interpreter.Interpreter``, whose default op resolver applies
the XNNPACK delegate on CPU. ``litert-int8`` is full-integer post-training
quantization of that conversion: ``Optimize.DEFAULT``, a representative
dataset of the calibration rows (the ``--calibration-split`` rows ``onnx-int8``
uses, decoded and normalised as the reference does, one image per sample) and
``TFLITE_BUILTINS_INT8`` only (every op int8), with float32 input and output.
Versions, precision and the calibration images go into the provenance.
"""
from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Sequence, Tuple

import numpy as np

from imagenet_bench.run.backend import Backend
from imagenet_bench.backends.keras.quiet import import_quietly
from imagenet_bench.errors import BenchError
from imagenet_bench.models.variants import KERAS, KERAS_ONLY, Variant, calibration_record

if TYPE_CHECKING:
    from imagenet_bench.backends.keras import child as kb


def convert(backend: "kb.KerasBackend", calibration_paths: Sequence[str] = ()) -> bytes:
    """The TFLite flatbuffer of ``backend``'s model (SavedModel -> TFLiteConverter): float32, or
    full-integer int8 (float I/O) calibrated on ``calibration_paths`` when any are given."""
    import keras
    import tensorflow as tf
    net, size = backend.keras_model, backend.recipe.crop
    with tempfile.TemporaryDirectory(prefix="imagenet_bench-litert-") as tmp:
        path = os.path.join(tmp, "saved_model")
        archive = keras.export.ExportArchive()
        archive.track(net)
        archive.add_endpoint("serve", lambda x: net(x, training=False),
                             input_signature=[tf.TensorSpec((1, size, size, 3), tf.float32)])
        with import_quietly():
            archive.write_out(path, verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(path)
            if calibration_paths:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = lambda: (
                    [backend.to_input(backend.preprocess(p))] for p in calibration_paths)
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                converter.inference_input_type = converter.inference_output_type = tf.float32
            return converter.convert()


class LiteRtBackend(Backend):
    """Runner backend: ``backend``'s model as a TFLite model (float32 or int8) on LiteRT (XNNPACK)."""

    batch_size = 1

    def __init__(self, backend: "kb.KerasBackend", threads: int = 0,
                 calibration: Sequence[Tuple[str, str]] = ()):
        """Convert ``backend``'s model, then drop the Keras model; ``threads`` 0: LiteRT's default;
        ``calibration``: (image id, path) of the calibration rows: full-integer int8."""
        self._base = backend
        self.config, self.spec, self.recipe = backend.config, backend.spec, backend.recipe
        self._calibration = [tuple(c) for c in calibration]
        flatbuffer = convert(backend, [p for _, p in self._calibration])
        self._bytes = len(flatbuffer)
        self._base_provenance = backend.provenance()
        backend.close()  # the Keras model is no longer needed (to_input keeps working)
        self._threads = int(threads) or None
        with import_quietly():  # "Created TensorFlow Lite XNNPACK delegate" off the terminal
            import ai_edge_litert
            from ai_edge_litert.interpreter import Interpreter
            self._version = ai_edge_litert.__version__
            self._interp = Interpreter(model_content=flatbuffer, num_threads=self._threads)
            self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]

    def provenance(self) -> dict:
        """The reference's provenance with LiteRT's version and the conversion's precision settings."""
        prov = dict(self._base_provenance)
        prov["library_versions"] = dict(prov["library_versions"], ai_edge_litert=self._version)
        prov["inference"] = ("one image at a time: ai_edge_litert Interpreter (default op resolver: "
                             f"XNNPACK delegate, num_threads={self._threads}) on a TFLite model "
                             "converted by tf.lite.TFLiteConverter.from_saved_model")
        prov["litert"] = {"precision": "float32 weights and activations", "optimizations": [],
                          "delegate": "XNNPACK (default)", "model_bytes": self._bytes}
        if self._calibration:
            prov["litert"].update(
                precision="int8 weights and activations (full-integer post-training quantization), "
                          "float32 input and output",
                optimizations=["DEFAULT"], supported_ops=["TFLITE_BUILTINS_INT8"],
                representative_dataset="the calibration rows, one image per sample")
            prov["calibration"] = calibration_record([i for i, _ in self._calibration])
        return prov

    def preprocess(self, path: str) -> np.ndarray:
        """Decode, resize and crop one image (as the reference): uint8 (s, s, 3)."""
        return self._base.preprocess(path)

    def predict(self, inputs) -> np.ndarray:
        """Probabilities (n, 1000) of uint8 (n, s, s, 3) pixels, one image per invoke."""
        out = []
        for px in np.asarray(inputs):
            self._interp.set_tensor(self._in, self._base.to_input(px))
            self._interp.invoke()
            out.append(np.array(self._interp.get_tensor(self._out)[0], dtype=np.float32))
        return np.stack(out)

    def close(self) -> None:
        """Drop the interpreter."""
        self._interp = None


def wrap(backend: "kb.KerasBackend", runtime: str, threads: int = 0,
         calibration: Sequence[Tuple[str, str]] = ()):
    """``backend`` run by ``runtime``: "litert" (float32) or "litert-int8" (on ``calibration``)."""
    if runtime not in ("litert", "litert-int8"):
        raise ValueError(f"unknown Keras runtime {runtime!r}")
    if runtime == "litert-int8" and not calibration:
        raise BenchError(f"{backend.config.model_id}: litert-int8 needs calibration images. Fix: "
                            f"--calibration-split N with N >= 1")
    return LiteRtBackend(backend, threads=threads,
                         calibration=calibration if runtime == "litert-int8" else ())


def _build(ctx, name: str):
    cfg = ctx.config_for(name)
    calibration = [list(c) for c in ctx.calibration] if name == "litert-int8" else []
    return ctx.plain(cfg, wrap=(f"{__name__}:wrap", {"runtime": name, "threads": int(cfg.threads or 0),
                                                      "calibration": calibration}))


_NEEDS = ("tensorflow", "ai_edge_litert")
VARIANTS = (
    Variant("litert", "LiteRT (ai-edge-litert) with its XNNPACK delegate, float32 TFLite conversion of "
            "the same weights", KERAS, lambda ctx: _build(ctx, "litert"), KERAS_ONLY, needs=_NEEDS,
            default=False, extra="litert"),
    Variant("litert-int8", "LiteRT with XNNPACK, full-integer int8 post-training quantization (TFLite "
            "converter, representative dataset of the calibration rows, float I/O)", KERAS,
            lambda ctx: _build(ctx, "litert-int8"), KERAS_ONLY, needs=_NEEDS, calibrated=True,
            default=False, extra="litert"),
)
