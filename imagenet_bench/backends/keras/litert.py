"""The ``litert`` row of a Keras model: the same weights converted to a TFLite model, run by LiteRT.

Child-process only (imports TensorFlow and ``ai_edge_litert``; the parent never
imports this module). The Keras model the reference builds
(:class:`~imagenet_bench.backends.keras.child.KerasBackend`) is exported as a
SavedModel with one endpoint, ``model(x, training=False)`` on float32
(1, s, s, 3) -- as the reference's compiled call -- converted by
``tf.lite.TFLiteConverter.from_saved_model`` with no optimisation (float32
weights and activations), and run one image at a time by
``ai_edge_litert.interpreter.Interpreter``, whose default op resolver applies
the XNNPACK delegate on CPU. Versions and precision go into the provenance.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from imagenet_bench.backends.keras import child as kb
from imagenet_bench.backends.keras.quiet import import_quietly

with import_quietly():
    import ai_edge_litert
    from ai_edge_litert.interpreter import Interpreter

tf = kb.tf


def convert(backend: "kb.KerasBackend") -> bytes:
    """The float32 TFLite flatbuffer of ``backend``'s model (SavedModel -> TFLiteConverter)."""
    import keras
    net, size = backend.keras_model, backend.recipe.crop
    with tempfile.TemporaryDirectory(prefix="imagenet_bench-litert-") as tmp:
        path = os.path.join(tmp, "saved_model")
        archive = keras.export.ExportArchive()
        archive.track(net)
        archive.add_endpoint("serve", lambda x: net(x, training=False),
                             input_signature=[tf.TensorSpec((1, size, size, 3), tf.float32)])
        with import_quietly():
            archive.write_out(path, verbose=False)
            return tf.lite.TFLiteConverter.from_saved_model(path).convert()


class LiteRtBackend:
    """Runner backend: ``backend``'s model as a float32 TFLite model on LiteRT (XNNPACK)."""

    batch_size = 1

    def __init__(self, backend: "kb.KerasBackend", threads: int = 0):
        """Convert ``backend``'s model, then drop the Keras model; ``threads`` 0: LiteRT's default."""
        self._base = backend
        self.config, self.spec, self.recipe = backend.config, backend.spec, backend.recipe
        flatbuffer = convert(backend)
        self._bytes = len(flatbuffer)
        self._base_provenance = backend.provenance()
        backend.close()  # the Keras model is no longer needed (to_input keeps working)
        self._threads = int(threads) or None
        with import_quietly():  # "Created TensorFlow Lite XNNPACK delegate" off the terminal
            self._interp = Interpreter(model_content=flatbuffer, num_threads=self._threads)
            self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]

    def provenance(self) -> dict:
        """The reference's provenance with LiteRT's version and the conversion's precision settings."""
        prov = dict(self._base_provenance)
        prov["library_versions"] = dict(prov["library_versions"], ai_edge_litert=ai_edge_litert.__version__)
        prov["inference"] = ("one image at a time: ai_edge_litert Interpreter (default op resolver: "
                             f"XNNPACK delegate, num_threads={self._threads}) on a TFLite model "
                             "converted by tf.lite.TFLiteConverter.from_saved_model")
        prov["litert"] = {"precision": "float32 weights and activations", "optimizations": [],
                          "delegate": "XNNPACK (default)", "model_bytes": self._bytes}
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


def wrap(backend: "kb.KerasBackend", runtime: str, threads: int = 0):
    """``backend`` run by ``runtime`` ("litert")."""
    if runtime != "litert":
        raise ValueError(f"unknown Keras runtime {runtime!r}")
    return LiteRtBackend(backend, threads=threads)
