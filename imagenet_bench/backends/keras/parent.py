"""A Keras model in a child process of its own: the isolation ``predict`` uses.

Measured (``benchmarks/keras_isolation_bench.py``, docs/keras.md): releasing
a model in-process (``clear_session`` + GC) keeps outputs bitwise identical,
but TensorFlow keeps the memory of the largest model built so far (+432 MB
after NASNetLarge, with no Keras or TF object left alive). A child process per
model gives every byte back when it exits, for ~6 s of start-up per model.

:class:`KerasProcessBackend` speaks the runner protocol in the parent --
decoding (``pixels.load``) stays in the runner's background thread there --
and sends each image's uint8 pixels to a spawned child that holds a
:class:`~imagenet_bench.backends.keras.child.KerasBackend` and answers with its probabilities (one
image at a time through the compiled call). Provenance comes from the child,
so a cache is the same whichever process ran the model. The parent builds no
model and never imports Keras or TensorFlow: :func:`from_config` (the adapter
``predict`` calls) checks the weights file here and leaves the rest to the child.
This module imports numpy and the standard library only.
"""
from __future__ import annotations

import multiprocessing
import os
import traceback
import weakref
from dataclasses import replace
from typing import Optional, Tuple

import numpy as np

from imagenet_bench.run.backend import Backend
from imagenet_bench.data import pixels
from imagenet_bench.errors import BenchError
from imagenet_bench.models import keras_weights
from imagenet_bench.run import children
from imagenet_bench.run import config as run_config


def _serve(conn, config: "run_config.RunConfig", keras_backend: Optional[str] = None,
           wrap: Optional[Tuple[str, dict]] = None) -> None:
    """Child process: build the model, then answer ("predict", pixels) until "close" or EOF.

    SIGTERM is left to the parent (SLURM signals every process of a job step): the parent
    checkpoints and closes this process; if the parent dies, the kernel ends this process at
    once (:func:`children.die_with_parent`; the pipe's EOF too, between images).
    ``keras_backend`` ("tensorflow", "jax", "torch") is put in ``KERAS_BACKEND``
    before this process imports Keras; ``wrap`` ("module:function", keyword arguments) turns the
    built model into another runtime's backend, ``function(backend, **kwargs)`` in this process
    (a row of :mod:`imagenet_bench.backends.runtimes`, e.g. LiteRT).
    """
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    children.die_with_parent(parent.pid if parent is not None else None)
    try:
        if keras_backend:
            os.environ["KERAS_BACKEND"] = keras_backend
        from imagenet_bench.backends.keras import child as kb
        if config.threads:
            kb.set_threads(int(config.threads))
        backend = kb.KerasBackend(config=config)
        if wrap:
            import importlib
            module, _, function = wrap[0].partition(":")
            backend = getattr(importlib.import_module(module), function)(backend, **wrap[1])
        conn.send(("ready", backend.provenance()))
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


class KerasProcessBackend(Backend):
    """Runner backend whose Keras model lives in a child process (one process per model)."""

    batch_size = 1  # every image goes through the network alone
    _target = staticmethod(_serve)  # the child's main function (tests replace it)

    def __init__(self, config: "run_config.RunConfig", keras_backend: Optional[str] = None,
                 wrap: Optional[Tuple[str, dict]] = None):
        """``keras_backend``: run the child on that Keras 3 backend (default: KERAS_BACKEND or
        tensorflow); ``wrap``: ("module:function", kwargs) applied to the child's model
        (:func:`_serve`); ``config.batch_size`` > 1: the child runs each batch in one call (``verify variants``)."""
        self.config, self.spec = config, config.spec
        self.recipe = config.recipe
        self.batch_size = int(config.batch_size or 1)
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited TF state
        self._conn, child = ctx.Pipe()
        args = (child, config, keras_backend) if keras_backend else (child, config)
        if wrap:
            args = (child, config, keras_backend, (wrap[0], dict(wrap[1])))
        self._proc = ctx.Process(target=self._target, daemon=True, args=args,
                                 name=f"imagenet_bench-keras-{config.model_id.file_stem}")
        self._proc.start()
        child.close()
        try:
            self._provenance = self._receive(starting=True)
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> Optional[int]:
        """Process id of the child holding the model (None once closed)."""
        return self._proc.pid if self._proc is not None else None

    def _died(self, starting: bool) -> BenchError:
        code = None
        if self._proc is not None:
            self._proc.join(5)
            code = self._proc.exitcode
        if starting:
            return BenchError(f"the Keras worker process for {self.config.model} died while "
                              f"starting (exit code {code}), before building the model. Fix: check "
                              f"that Keras and TensorFlow import (python -c 'import keras') and that "
                              f"memory is sufficient; from a Python script, call predict under "
                              f"`if __name__ == \"__main__\":` (the worker is a spawned process, "
                              f"which imports the script again); then run it again")
        return BenchError(f"the Keras worker process for {self.config.model} died (exit code "
                          f"{code}); finished images are checkpointed. Fix: run the same command "
                          f"again to resume")

    def _receive(self, starting: bool = False):
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            raise self._died(starting) from None
        if status == "error":
            is_bench, message = payload
            if is_bench:
                raise BenchError(message)
            raise BenchError(f"the Keras worker for {self.config.model} failed"
                             f"{' while starting' if starting else ''}: {message}. Fix: if the "
                             f"message does not point at your input, report it as a bug")
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
            raise BenchError(f"{self.config.model}: the backend is closed. Fix: build the "
                             f"backend again (a closed Keras worker cannot predict)")
        try:
            self._conn.send(("predict", np.ascontiguousarray(inputs)))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            raise self._died(False) from None
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


_LIVE: "weakref.WeakSet" = weakref.WeakSet()  # backends made by from_config


def from_config(config: "run_config.RunConfig") -> KerasProcessBackend:
    """The backend of ``predict --framework keras``: the model in a child process of its own.

    Each model gets its own process, which gives all its memory back when it
    exits; the previous model's process is closed before the next one starts,
    so ``predict --all`` holds one model at a time. Pretrained weights are
    looked for here first, so a missing file fails in a second, naming the
    file, its URL and the folder to put it in -- without starting TensorFlow.
    """
    if config.factory:
        raise BenchError("--model-factory is for --framework torch. Fix: add --framework torch, "
                         "or name a keras model with -m instead")
    for old in list(_LIVE):
        old.close()
    if config.pretrained and not config.checkpoint and keras_weights.known(config.spec):
        keras_weights.check_imagenet_weights(config.spec)
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    if not config.threads and local > 1:  # share the cores among torchrun's processes on this node
        config = replace(config, threads=max(1, (os.cpu_count() or 1) // local))
    backend = KerasProcessBackend(config)
    _LIVE.add(backend)
    return backend
