"""Keras Applications backend: one image at a time through a compiled call.

The only module (with ``keras_verify``) that imports TensorFlow/Keras. It
builds the 13 ``keras.applications`` models named in the registry, applies
their module's own ``preprocess_input`` and runs each image through the
network alone (batch of 1) with ``model(x, training=False)`` compiled once by
``tf.function`` -- about 5x faster than ``model.predict`` per image, with the
same outputs (see ``benchmarks/keras_single_bench.py``).

Isolation: a model lives inside :func:`loaded` (a context manager); on exit
its references are dropped, ``keras.backend.clear_session()`` runs and the
garbage collector is called. ``docs/keras.md`` gives the measured memory.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, Optional

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # silence TF's C++ start-up banner
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import keras_weights  # noqa: E402
from .errors import BenchError  # noqa: E402
from .registry import ModelSpec, Recipe  # noqa: E402

FRAMEWORK = "keras"


def library_versions() -> Dict[str, str]:
    """Versions of the libraries that produce Keras predictions (for provenance)."""
    import PIL
    return {"keras": keras.__version__, "tensorflow": tf.__version__,
            "numpy": np.__version__, "pillow": PIL.__version__,
            "keras_backend": keras.backend.backend()}


def set_determinism(seed: int = 0) -> None:
    """Seed Python, NumPy, TF and Keras, and ask TF for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _builder(spec: ModelSpec) -> Callable:
    module, _, name = spec.builder.partition(":")
    return getattr(importlib.import_module(module), name)


def _preprocess_input(spec: ModelSpec) -> Callable:
    return importlib.import_module(spec.normalization).preprocess_input


def file_sha256(path: str) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build_model(spec: ModelSpec, weights: Optional[str] = "imagenet", seed: int = 0):
    """Build ``spec``'s architecture with ``weights``: "imagenet", None (random) or a file.

    Random weights are drawn after ``keras.utils.set_random_seed(seed)``, so
    the same seed gives bitwise the same model. ImageNet weights must already
    be in Keras' cache (``$KERAS_HOME/models``); a file path is loaded with
    ``model.load_weights`` (``.h5`` as Keras Applications ship them, or
    ``.weights.h5``). Every failure a user can fix raises a BenchError.
    """
    if spec.framework != FRAMEWORK:
        raise BenchError(f"{spec.qualname} is not a keras model")
    build = _builder(spec)
    set_determinism(seed)
    if weights == "imagenet":
        keras_weights.check_imagenet_weights(spec.name)  # fail fast, before any download
        try:
            return build(weights="imagenet")
        except Exception as e:  # Keras raises a bare Exception on a failed download
            if "URL fetch failure" in str(e) or isinstance(e, OSError):
                raise keras_weights.missing_weights_error(spec.name, str(e)) from None
            raise
    if weights is None or weights == "random":
        return build(weights=None)
    path = os.path.expanduser(weights)
    if not os.path.isfile(path):
        raise BenchError(f"--weights {weights}: no such file. Fix: give the path of a .h5 or "
                         f".weights.h5 file holding {spec.qualname}'s weights")
    model = build(weights=None)
    try:
        model.load_weights(path)
    except Exception as e:
        raise BenchError(f"--weights {path}: cannot be loaded into {spec.qualname} "
                         f"({type(e).__name__}: {str(e)[:300]}). Fix: pass a weights file "
                         f"saved from this architecture ({spec.builder}, include_top=True)") from None
    return model


def weights_provenance(spec: ModelSpec, weights: Optional[str]) -> str:
    """How the weights are named in the cache: 'imagenet', 'random' or 'file:<path> sha256:<hex>'."""
    if weights is None or weights == "random":
        return "random"
    if weights == "imagenet":
        return "imagenet"
    path = os.path.abspath(os.path.expanduser(weights))
    return f"file:{path} sha256:{file_sha256(path)}"


@dataclass
class KerasClassifier:
    """A built model with its preprocessing and its compiled single-example call."""

    spec: ModelSpec
    recipe: Recipe
    model: object
    weights: str  # provenance string, see weights_provenance
    _call: Callable = field(init=False, repr=False)

    def __post_init__(self):
        s = self.recipe.crop
        model = self.model
        # One trace for shape (1, s, s, 3); batched calls go through _call_any.
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True,
                                 input_signature=[tf.TensorSpec((1, s, s, 3), tf.float32)])
        self._call_any = tf.function(lambda x: model(x, training=False),
                                     input_signature=[tf.TensorSpec((None, s, s, 3), tf.float32)])
        self._pre = _preprocess_input(self.spec)

    @property
    def input_size(self) -> int:
        """Side of the square network input."""
        return self.recipe.crop

    def preprocess(self, pixels: np.ndarray) -> np.ndarray:
        """uint8/float (s, s, 3) RGB pixels -> float32 (1, s, s, 3) network input.

        Applies the model module's own ``preprocess_input`` (e.g. caffe BGR
        mean subtraction for VGG/ResNet50, [-1, 1] for MobileNet).
        """
        x = np.asarray(pixels, dtype=np.float32)[None].copy()  # preprocess_input edits in place
        return np.asarray(self._pre(x), dtype=np.float32)

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (1000,) of one preprocessed example (1, s, s, 3), network alone."""
        return self._call(tf.constant(x)).numpy()[0]

    def predict_batch(self, x: np.ndarray) -> np.ndarray:
        """Probabilities (n, 1000) of a preprocessed batch (n, s, s, 3), for determinism checks."""
        return self._call_any(tf.constant(x)).numpy()


def make_classifier(spec: ModelSpec, weights: Optional[str] = "imagenet",
                    preprocess: str = "reference", seed: int = 0) -> KerasClassifier:
    """Build ``spec`` and wrap it with its ``preprocess`` recipe and compiled call."""
    model = build_model(spec, weights, seed=seed)
    return KerasClassifier(spec=spec, recipe=spec.recipe(preprocess), model=model,
                           weights=weights_provenance(spec, weights))


def release() -> None:
    """Forget every Keras model of this process: clear_session() and a full GC."""
    keras.backend.clear_session(free_memory=True)
    gc.collect()


@contextlib.contextmanager
def loaded(spec: ModelSpec, weights: Optional[str] = "imagenet", preprocess: str = "reference",
           seed: int = 0) -> Iterator[KerasClassifier]:
    """Context manager: build ``spec``, yield its classifier, release it on exit.

    The caller must not keep references to the classifier after the block;
    on exit the model's graph and variables are freed (``release``).
    """
    clf = make_classifier(spec, weights, preprocess, seed)
    try:
        yield clf
    finally:
        clf.model = None
        clf._call = clf._call_any = None
        del clf
        release()


def load_pixels(path: str, recipe: Recipe) -> np.ndarray:
    """Decode ``path`` and bring it to (s, s, 3) RGB float32 pixels in 0-255 per ``recipe``.

    legacy2019: ``keras.utils.load_img(path, target_size=(s, s))`` (nearest
    squash) and ``img_to_array`` -- exactly the 2019 study. reference: the
    shorter side resized to ``recipe.resize`` (bicubic), centre crop s x s.
    TODO: delegate to the shared pixels.py (branch torch) once it lands.
    """
    s = recipe.crop
    if recipe.squash:
        img = keras.utils.load_img(path, target_size=(s, s), interpolation=recipe.interpolation)
        return keras.utils.img_to_array(img, dtype="float32")
    from PIL import Image
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        scale = recipe.resize / min(w, h)
        nw, nh = (recipe.resize, round(h * scale)) if w <= h else (round(w * scale), recipe.resize)
        im = im.resize((nw, nh), Image.BICUBIC)
        left, top = int(round((nw - s) / 2.0)), int(round((nh - s) / 2.0))
        im = im.crop((left, top, left + s, top + s))
        return np.asarray(im, dtype=np.float32)
