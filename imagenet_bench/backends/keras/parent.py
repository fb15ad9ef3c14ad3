"""A Keras model in a child process of its own: the isolation ``predict`` uses.

Measured (``benchmarks/keras_isolation_bench.py``, docs/keras.md): releasing
a model in-process (``clear_session`` + GC) keeps outputs bitwise identical,
but TensorFlow keeps the memory of the largest model built so far (+432 MB
after NASNetLarge, with no Keras or TF object left alive). A child process per
model gives every byte back when it exits, for ~6 s of start-up per model.

:class:`KerasProcessBackend` speaks the runner protocol in the parent --
decoding (``pixels.load``) stays in the runner's background thread there --
and sends each image's uint8 pixels to a spawned child that holds a
:class:`keras_backend.KerasBackend` and answers with its probabilities (one
image at a time through the compiled call). Provenance comes from the child,
so a cache is the same whichever process ran the model. The parent builds no
model (``predict`` still imports TensorFlow there, through ``keras_backend``).
This module imports numpy and the standard library only.
"""
from __future__ import annotations

import multiprocessing
import os
import traceback
from typing import Optional

import numpy as np

from imagenet_bench.data import pixels
from imagenet_bench.errors import BenchError
from imagenet_bench.models.registry import ModelSpec, get_model


def _serve(conn, qualname: str, weights: Optional[str], preprocess: str, seed: int,
           name: Optional[str], threads: Optional[int], keras_backend: Optional[str] = None,
           batch_size: int = 1) -> None:
    """Child process: build the model, then answer ("predict", pixels) until "close" or EOF.

    ``keras_backend`` ("tensorflow", "jax", "torch") is put in ``KERAS_BACKEND``
    before this process imports Keras.
    """
    try:
        if keras_backend:
            os.environ["KERAS_BACKEND"] = keras_backend
        from imagenet_bench.backends.keras import child as kb
        if threads:
            kb._set_threads(int(threads))
        backend = kb.KerasBackend(get_model(qualname), weights=weights, preprocess=preprocess,
                                  seed=seed, name=name, batch_size=batch_size)
        conn.send(("ready", (backend.model, backend.provenance())))
    except BaseException as e:  # report every failure to the parent, then exit
        conn.send(("error", (isinstance(e, BenchError), _describe(e))))
        return
    while True:
        try:
            cmd, payload = conn.recv()
        except (EOFError, KeyboardInterrupt, OSError):  # parent gone or interrupted
            return
        if cmd == "close":
            return
        try:
            conn.send(("ok", backend.predict(payload)))
        except KeyboardInterrupt:
            return
        except BaseException as e:
            conn.send(("error", (isinstance(e, BenchError), _describe(e))))


def _describe(e: BaseException) -> str:
    if isinstance(e, BenchError):
        return str(e)
    return "".join(traceback.format_exception_only(type(e), e)).strip()


class KerasProcessBackend:
    """Runner backend whose Keras model lives in a child process (one process per model)."""

    framework = "keras"
    batch_size = 1  # every image goes through the network alone

    def __init__(self, spec: ModelSpec, weights: Optional[str] = "imagenet",
                 preprocess: str = "reference", seed: int = 0, name: Optional[str] = None,
                 threads: Optional[int] = None, keras_backend: Optional[str] = None,
                 batch_size: int = 1):
        """``keras_backend``: run the child on that Keras 3 backend (default: KERAS_BACKEND or
        tensorflow); ``batch_size`` > 1: the child runs each batch in one call (``verify variants``)."""
        self.spec, self.preprocess_mode, self.batch_size = spec, preprocess, int(batch_size)
        self.recipe = spec.recipe(preprocess)
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited TF state
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, daemon=True, name=f"imagenet_bench-keras-{spec.name}",
                                 args=(child, spec.qualname, weights, preprocess, seed, name, threads,
                                       keras_backend, self.batch_size))
        self._proc.start()
        child.close()
        try:
            self.model, self._provenance = self._receive()
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> Optional[int]:
        """Process id of the child holding the model (None once closed)."""
        return self._proc.pid if self._proc is not None else None

    def _receive(self):
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            code = self._proc.exitcode if self._proc is not None else None
            raise BenchError(f"the Keras worker process for {self.spec.qualname} died "
                             f"(exit code {code}); finished images are checkpointed. Fix: run the "
                             f"same command again to resume") from None
        if status == "error":
            is_bench, message = payload
            if is_bench:
                raise BenchError(message)
            raise RuntimeError(f"Keras worker for {self.spec.qualname}: {message}")
        return payload

    def provenance(self) -> dict:
        """The child's provenance (weights, recipe, library versions, inference mode)."""
        return dict(self._provenance)

    def preprocess(self, path: str) -> np.ndarray:
        """Decode, resize and crop one image in this process: uint8 (s, s, 3)."""
        return pixels.load(path, self.recipe)

    def predict(self, inputs) -> np.ndarray:
        """Probabilities (n, 1000) from the child (each image alone unless ``batch_size`` > 1)."""
        if self._proc is None:
            raise BenchError(f"{self.spec.qualname}: the backend is closed")
        self._conn.send(("predict", np.ascontiguousarray(inputs)))
        return self._receive()

    def close(self, timeout: float = 30.0) -> None:
        """Ask the child to exit, wait for it (terminate it after ``timeout`` s)."""
        if self._proc is None:
            return
        try:
            self._conn.send(("close", None))
        except (OSError, ValueError):
            pass
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
        self._conn.close()
        self._proc = None

    def __enter__(self) -> "KerasProcessBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
