"""Keras Applications backend: one image at a time through a compiled call.

The only module of the package that imports TensorFlow/Keras. It builds the
``keras.applications`` model of a catalog entry (models/data/keras.json) -- or loads a
user's model saved by the Python API (:mod:`imagenet_bench.backends.keras.saved`,
:func:`load_saved`) --, normalises as the recipe says (:func:`normalizer`: the module's own
``preprocess_input``, or mean/std) and runs each image through the network
alone (batch of 1) with ``model(x, training=False)`` compiled once by
``tf.function`` -- several times faster than ``model.predict`` per image,
with the same outputs (``benchmarks/keras_single_bench.py``, docs/keras.md).

:class:`KerasBackend` implements the protocol of :mod:`runner` (which owns
the run loop, checkpoints, shards, the background decoding thread and the
cache); pixels come from the shared :mod:`pixels`.

Isolation: a backend is a context manager; on :meth:`KerasBackend.close` its
model and compiled graphs are dropped, ``keras.backend.clear_session()`` runs
and the garbage collector is called. ``predict`` runs each model in a child
process of its own (:mod:`imagenet_bench.backends.keras.parent`, which never
imports this module in the parent). ``docs/keras.md`` gives the measured memory.
"""
from __future__ import annotations

import gc
import importlib
import importlib.util
import os
import sys
from typing import Callable, Dict, Optional

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # silence TF's C++ start-up banner
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _load_triton_before_tensorflow() -> None:
    """Import triton (if installed) before TensorFlow.

    Measured here (tensorflow-cpu 2.21, torch 2.14 with triton): once TensorFlow
    is loaded, importing triton -- which torchvision does through ``torch.fx`` --
    kills the process with SIGSEGV; in the other order both work. A process
    that uses both frameworks (the test suite, a notebook) therefore needs
    triton first. Costs ~0.2 s and only when triton is installed.
    """
    if "tensorflow" not in sys.modules and importlib.util.find_spec("triton") is not None:
        try:
            import triton  # noqa: F401
        except Exception:  # a broken triton must not stop the Keras backend
            pass


_load_triton_before_tensorflow()

from imagenet_bench.run.backend import Backend  # noqa: E402
from imagenet_bench.backends.keras.quiet import import_quietly, quiet_python_loggers  # noqa: E402

with import_quietly():  # TF/absl start-up lines off the terminal unless --debug
    import keras  # noqa: E402
    import tensorflow as tf  # noqa: E402
quiet_python_loggers(tf)

from imagenet_bench.models import keras_weights  # noqa: E402
from imagenet_bench.data import pixels  # noqa: E402
from imagenet_bench.cache.atomic import file_sha256  # noqa: E402
from imagenet_bench.errors import BenchError  # noqa: E402
from imagenet_bench.models.registry import ModelSpec  # noqa: E402
from imagenet_bench.run import config as run_config  # noqa: E402

FRAMEWORK = "keras"


def library_versions() -> Dict[str, str]:
    """Versions of the libraries that produce Keras predictions (for provenance)."""
    import PIL
    versions = {"keras": keras.__version__, "tensorflow": tf.__version__,
                "numpy": np.__version__, "pillow": PIL.__version__,
                "keras_backend": keras.backend.backend()}
    if keras.backend.backend() != "tensorflow":  # the version of the backend that runs the network
        versions[keras.backend.backend()] = importlib.import_module(keras.backend.backend()).__version__
    return versions


def set_determinism(seed: int = 0) -> None:
    """Seed Python, NumPy, TF and Keras, and ask TF for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _builder(spec: ModelSpec) -> Callable:
    module, _, name = spec.entry.builder.partition(":")
    return getattr(importlib.import_module(module), name)


def _preprocess_input(spec: ModelSpec) -> Callable:
    return normalizer(spec.recipe())


def normalizer(recipe) -> Callable:
    """float32 RGB pixels (n, s, s, 3) on 0-255 -> network input, as ``recipe.normalization``
    says: "torch" scales to [0, 1] and applies the recipe's mean/std; any other value is a
    module whose ``preprocess_input`` does it (``keras.applications.mobilenet_v2``)."""
    if recipe.normalization == "torch":
        mean, std = np.float32(recipe.mean), np.float32(recipe.std)
        return lambda x: (x / np.float32(255) - mean) / std
    try:
        return importlib.import_module(recipe.normalization).preprocess_input
    except (ImportError, AttributeError):
        raise BenchError(f"recipe normalization {recipe.normalization!r}: no module of that name "
                         f"with a preprocess_input function. Fix: normalization='torch' with "
                         f"mean/std, or a keras.applications module such as "
                         f"'keras.applications.mobilenet_v2'") from None


def load_saved(path: str):
    """The Keras model saved at ``path`` (``keras.models.load_model``, compile=False) and its
    provenance facts: the file's content digest, class, name and parameter count."""
    from imagenet_bench.backends.keras.saved import content_digest
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises TypeError/ValueError for classes it cannot rebuild
        first = " ".join(str(e).split())[:300]
        raise BenchError(f"{path}: keras.models.load_model cannot load the saved model in the "
                         f"process that runs it ({type(e).__name__}: {first}). Fix: build the "
                         f"model from built-in Keras layers (Sequential or functional API): "
                         f"custom classes and Lambda layers of the calling process are not "
                         f"rebuilt in a fresh one") from None
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    return model, {"weights": f"saved keras model sha256:{content_digest(path)}",
                   "builder": f"keras.models.load_model: {kind} {model.name!r}",
                   "parameters": int(model.count_params())}




def build_model(spec: ModelSpec, weights: Optional[str] = "imagenet", seed: int = 0):
    """Build ``spec``'s architecture with ``weights``: "imagenet", None (random) or a file.

    Random weights are drawn after ``keras.utils.set_random_seed(seed)``, so
    the same seed gives bitwise the same model. ImageNet weights must already
    be in Keras' cache (``$KERAS_HOME/models``); a file path is loaded with
    ``model.load_weights`` (``.h5`` as Keras Applications ship them, or
    ``.weights.h5``). Every failure a user can fix raises a BenchError.
    """
    if spec.id.framework != FRAMEWORK:
        raise BenchError(f"{spec.id} is not a keras model. Fix: name a keras model "
                         f"(`imagenet-bench models 'keras:*'`), or leave --framework keras out")
    build = _builder(spec)
    set_determinism(seed)
    if weights == "imagenet":
        keras_weights.check_imagenet_weights(spec)  # fail fast, before any download
        try:
            return build(weights="imagenet")
        except Exception as e:  # Keras raises a bare Exception on a failed download
            if "URL fetch failure" in str(e) or isinstance(e, OSError):
                raise keras_weights.missing_weights_error(spec, str(e)) from None
            raise
    if weights is None or weights == "random":
        return build(weights=None)
    path = os.path.expanduser(weights)
    if not os.path.isfile(path):
        raise BenchError(f"--weights {weights}: no such file. Fix: give the path of a .h5 or "
                         f".weights.h5 file holding {spec.id}'s weights")
    model = build(weights=None)
    try:
        model.load_weights(path)
    except Exception as e:
        raise BenchError(f"--weights {path}: cannot be loaded into {spec.id} "
                         f"({type(e).__name__}: {str(e)[:300]}). Fix: pass a weights file "
                         f"saved from this architecture ({spec.entry.builder}, include_top=True)") from None
    return model


def weights_provenance(spec: ModelSpec, weights: Optional[str]) -> str:
    """How the weights are named in the cache: 'imagenet', 'random' or 'file:<path> sha256:<hex>'."""
    if weights is None or weights == "random":
        return "random"
    if weights == "imagenet":
        return "imagenet"
    path = os.path.abspath(os.path.expanduser(weights))
    return f"file:{path} sha256:{file_sha256(path)}"



def calibrate_batchnorm(model, x: np.ndarray) -> int:
    """Data-dependent init: set every BatchNormalization's moving mean/variance from network inputs ``x``.

    Random Keras MobileNets output exactly uniform probabilities: Glorot
    initialisation counts a depthwise kernel (3, 3, C, 1) as fan-in 9*C,
    though each output sees only 9 inputs, so every depthwise layer shrinks
    the signal by ~sqrt(2/(C+1)) and 13 of them bring the logits to ~1e-19
    (docs/keras.md). Visiting the BN layers in graph order, each gets the
    per-channel mean and variance of its input on ``x`` (earlier layers
    already calibrated), so its output is standardised and activations stay
    alive. Deterministic for given weights and ``x``. Returns the number of
    BN layers set.
    """
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    x = tf.constant(np.asarray(x, dtype=np.float32))
    for bn in bns:
        h = keras.Model(model.inputs, bn.input)(x, training=False).numpy()
        axes = tuple(i for i in range(h.ndim) if i != bn.axis % h.ndim)  # all but channels
        bn.moving_mean.assign(h.mean(axis=axes))
        bn.moving_variance.assign(h.var(axis=axes))
    return len(bns)


NO_WEIGHTS = ("none", "random")


def save_informative_weights(spec: ModelSpec, inputs: np.ndarray, path: str, seed: int = 0) -> int:
    """Random weights (``seed``) with batch norm calibrated on network ``inputs``, saved to ``path``.

    :func:`calibrate_batchnorm` on the seeded random model, then
    ``save_weights`` (``path`` ends in ``.weights.h5``): fixed weights whose
    outputs are informative (not uniform), loadable on every Keras backend.
    Returns the number of BN layers calibrated.
    """
    model = build_model(spec, None, seed=seed)
    n = calibrate_batchnorm(model, inputs)
    model.save_weights(path)
    del model
    release()
    return n


def compiled_call(net, size: int, batch: Optional[int] = 1) -> Callable:
    """``net(x, training=False)`` traced once by ``tf.function`` for float32 (batch, size, size, 3).

    This is the production inference call; ``training=False`` keeps batch
    normalisation on its moving statistics and dropout off.
    """
    return tf.function(lambda x: net(x, training=False), autograph=False,
                       input_signature=[tf.TensorSpec((batch, size, size, 3), tf.float32)])


class KerasBackend(Backend):
    """A Keras Applications model plus its recipe, run by :func:`runner.run` one image at a time.

    Implements the runner's backend protocol (``config``, ``batch_size`` = 1, ``provenance()``, ``preprocess(path)``,
    ``predict(inputs)``); decoding runs ahead in the runner's background
    thread (``run.batches.prefetch_batches``). Use it as a context manager, or call
    :meth:`close`, to release the model (isolation between models).
    """

    batch_size = 1  # every image goes through the network alone, as in the 2019 study

    def __init__(self, spec: Optional[ModelSpec] = None, weights: Optional[str] = "imagenet",
                 preprocess: str = "reference", seed: int = 0, config=None):
        """``config``: a :class:`~imagenet_bench.run.config.RunConfig` (what ``predict`` sends);
        without it one is built from ``spec``, ``weights`` (None/'none': random, or a file) and
        ``preprocess``. ``config.batch_size`` > 1 runs each batch in one call (``batchN``)."""
        if config is None:
            w = "none" if weights is None or weights.lower() in NO_WEIGHTS else weights
            config = run_config.build(str(spec.id), FRAMEWORK, weights=w, preprocess=preprocess,
                                      seed=seed)
        self.config, self.spec = config, config.spec
        weights = None if not config.pretrained else (config.checkpoint or "imagenet")
        self.seed = int(config.seed)
        self.batch_size = int(config.batch_size or 1)
        self.recipe = config.recipe
        if self.spec is None:  # a user's model object, saved by the Python API's predict
            self.keras_model, self._facts = load_saved(config.checkpoint)
        else:
            self.keras_model = build_model(self.spec, weights, seed=self.seed)
            self._facts = {"weights": weights_provenance(self.spec, weights),
                           "builder": self.spec.entry.builder}
        self._pre = normalizer(self.recipe)
        # Compiled once: a graph for exactly (1, s, s, 3), and one for any batch size
        # (used only by `verify determinism`).
        if keras.backend.backend() == "tensorflow":
            self._call = compiled_call(self.keras_model, self.recipe.crop, batch=1)
            self._call_any = compiled_call(self.keras_model, self.recipe.crop, batch=None)
        else:  # JAX / PyTorch: Keras' own predict step of that backend (jit-compiled on JAX)
            self._call = self._call_any = lambda x: self.keras_model.predict_on_batch(np.asarray(x))

    # -- runner protocol ---------------------------------------------------------------
    def provenance(self) -> dict:
        """Weights, recipe, versions and inference mode: everything that changes outputs."""
        return {**self._facts, "preprocessing": self.recipe.as_dict(),
                "library_versions": library_versions(),
                "inference": self._inference(),
                "seed": self.seed if self._facts["weights"] == "random" else None,
                "op_determinism": True}

    def _inference(self) -> str:
        call = ("tf.function(model(x, training=False))" if keras.backend.backend() == "tensorflow"
                else f"model.predict_on_batch(x) on the {keras.backend.backend()} backend")
        if self.batch_size > 1:
            return f"batches of {self.batch_size}: {call}"
        return f"one image at a time: {call}"

    def preprocess(self, path: str) -> np.ndarray:
        """Decode, resize and crop one image (shared pixels.py): uint8 (s, s, 3)."""
        return pixels.load(path, self.recipe)

    def predict(self, inputs) -> np.ndarray:
        """Probabilities (n, 1000) of uint8 (n, s, s, 3) pixels, each image through the net alone
        (the whole batch in one call when ``batch_size`` > 1)."""
        inputs = np.asarray(inputs)
        if self.batch_size > 1:
            probs = self.predict_batch(self.to_input(inputs))
        else:
            probs = np.stack([self.predict_one(self.to_input(px)) for px in inputs])
        if self.spec is None:  # a user's saved model: its last layer may lack the softmax
            from imagenet_bench.backends.keras.saved import check_probabilities
            check_probabilities(probs, self.config.model)
        return probs

    # -- building blocks (benchmarks, verify) ------------------------------------------
    def to_input(self, px: np.ndarray) -> np.ndarray:
        """(s, s, 3) or (n, s, s, 3) RGB pixels -> float32 network input via the module's preprocess_input."""
        x = np.array(px, dtype=np.float32, copy=True)  # preprocess_input edits float arrays in place
        if x.ndim == 3:
            x = x[None]
        return np.asarray(self._pre(x), dtype=np.float32)

    def single_and_batched(self):
        """(predict_one, predict_batch) on uint8 pixels: the compiled single-example call and a
        batched call of the same model (``verify determinism``)."""
        return (lambda px: self.predict_one(self.to_input(px)),
                lambda pxs: self.predict_batch(self.to_input(pxs)))

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (1000,) of one network input (1, s, s, 3) through the compiled call."""
        return np.asarray(self._call(tf.constant(x)))[0]

    def predict_batch(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (n, 1000) of network inputs (n, s, s, 3) in one batched call."""
        return np.asarray(self._call_any(tf.constant(x)))

    @property
    def input_size(self) -> int:
        """Side of the square network input."""
        return self.recipe.crop

    # -- isolation -------------------------------------------------------------------
    def close(self) -> None:
        """Drop the model and its compiled graphs, then clear Keras' session and collect garbage."""
        if self.keras_model is not None:
            self.keras_model = self._call = self._call_any = None
            release()

    def __enter__(self) -> "KerasBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def from_config(config: "run_config.RunConfig") -> KerasBackend:
    """The model of ``config`` in this process (``verify``'s in-process adapter; ``predict`` runs
    it in a child process through :mod:`imagenet_bench.backends.keras.parent`)."""
    return KerasBackend(config=config)


def release() -> None:
    """Forget every Keras model of this process: clear_session() and a full GC."""
    keras.backend.clear_session(free_memory=True)
    gc.collect()


def set_threads(n: int) -> None:
    """Size TensorFlow's thread pools (intra-op ``n``; no effect once TF has started)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1 if n == 1 else 2)
    except RuntimeError:  # TF already initialised: keep its pools
        pass
