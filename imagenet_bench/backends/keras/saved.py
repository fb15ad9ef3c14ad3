"""A user's Keras model object, run like a catalog model: saved to a file the child process loads.

``api.predict(model, data, recipe=..., name=...)`` with a Keras 3 model object
comes here. The model cannot cross into the child process
(:mod:`imagenet_bench.backends.keras.parent`) as an object, so :func:`save`
writes it with ``model.save(FILE.keras)`` (Keras 3's native format: config and
weights in one zip) into ``<cache_dir>/keras-models/``, named by its content
hash, and the child loads it with ``keras.models.load_model(FILE, compile=False)``
(:func:`imagenet_bench.backends.keras.child.load_saved`).

The content hash (:func:`content_digest`) is the sha256 of the zip's members
except ``metadata.json``, which holds the date of saving: the same model saved
twice gets the same hash, so a rerun finds its cache (``custom:NAME+keras-<sha8>``)
and does no work, while a model with one weight changed gets another id.

This module never imports Keras: it calls the methods of the object it is
given (whose process has Keras already), so it imports the standard library only.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from typing import Optional, Tuple

from imagenet_bench.errors import InputError

#: the sub-folder of the cache folder that holds the saved models (no cache is ever read from it)
MODELS_DIR = "keras-models"
#: the prefix of the id setting naming a saved Keras model by its content: ``+keras-<sha8>``
SETTING = "keras"
NUM_CLASSES = 1000
_UNSAVED = "metadata.json"  # the member holding Keras' version and the date of saving


def _modules(model):
    """The modules of the classes ``model`` is an instance of (its class and every base)."""
    return [c.__module__ or "" for c in type(model).__mro__]


def is_keras_model(model) -> bool:
    """True for an object of a Keras class or a subclass of one (recognised by the modules of its
    classes; nothing is imported)."""
    return any(m.split(".")[0] in ("keras", "tf_keras", "tensorflow") for m in _modules(model))


def content_digest(path: str) -> str:
    """sha256 (hex) over the names and bytes of the members of a ``.keras`` file, in name order,
    except ``metadata.json`` (the date of saving): the same model saved twice has one digest."""
    h = hashlib.sha256()
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            if name != _UNSAVED:
                h.update(f"{name}|{z.getinfo(name).file_size}|".encode())
                h.update(z.read(name))
    return h.hexdigest()


def check(model, recipe, name: str) -> None:
    """Refuse a model that is not a Keras 3 model, or whose input or output disagrees with
    ``recipe`` and ImageNet: an (H, W, 3) channels-last input of the recipe's crop side (None
    sides take any), one output of 1000 classes. A model without known shapes (a subclassed
    model never called) is checked when it runs."""
    where = f"predict(<{type(model).__name__}>, name={name!r})"
    if not any(m.startswith("keras.src.") for m in _modules(model)):
        raise InputError(f"{where}: {type(model).__module__}.{type(model).__qualname__} is not a "
                         f"Keras 3 model (the child process loads Keras 3's .keras format). "
                         f"Fix: build the model with Keras 3 (`import keras`, keras >= 3)")
    try:
        inputs, outputs = model.input_shape, model.output_shape
    except (AttributeError, ValueError):  # not built, or a subclassed model: checked when run
        return
    if not isinstance(outputs, tuple) or outputs[-1:] != (NUM_CLASSES,):
        raise InputError(f"{where}: the model's output shape is {outputs}; ImageNet predictions "
                         f"need one output of {NUM_CLASSES} classes, (None, {NUM_CLASSES}). "
                         f"Fix: end the model with a {NUM_CLASSES}-unit softmax layer "
                         f"(keras.layers.Dense({NUM_CLASSES}, activation='softmax'))")
    side = recipe.crop
    if (not isinstance(inputs, tuple) or len(inputs) != 4 or inputs[3] not in (3, None)
            or any(s not in (side, None) for s in inputs[1:3])):
        raise InputError(f"{where}: the model takes inputs of shape {inputs}, but the recipe "
                         f"makes ({side}, {side}, 3) images (crop={side}, channels last). Fix: "
                         f"give a recipe whose crop is the model's input side, or build the "
                         f"model for keras.Input(({side}, {side}, 3))")


def check_probabilities(probs, model: str) -> None:
    """Refuse outputs (n, 1000) that are not probabilities: a negative value, or a row whose sum
    is not 1 (logits: a model without its softmax would be scored as if it had one)."""
    if not len(probs):
        return
    sums = probs.sum(axis=1)
    worst = float(sums[abs(sums - 1).argmax()])
    if abs(worst - 1) > 1e-3 or float(probs.min()) < 0:
        raise InputError(f"{model}: the model's outputs are not probabilities (a row sums to "
                         f"{worst:.4g}, the smallest value is {float(probs.min()):.4g}): they "
                         f"look like logits. "
                         f"Fix: end the model with a softmax (activation='softmax' on its last "
                         f"Dense layer, or keras.layers.Softmax())")


def save(model, folder: str, name: str) -> Tuple[str, str]:
    """Save ``model`` as ``<folder>/keras-models/<hash16>.keras``; return (path, content digest).

    Written to a temporary ``.keras`` file beside it, then renamed (the same content saved
    before is replaced by the same bytes but the date). A model Keras cannot
    save (a subclassed model without ``get_config``) raises InputError naming the fix.
    """
    target = os.path.join(os.path.abspath(folder), MODELS_DIR)
    os.makedirs(target, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".saving-", suffix=".keras", dir=target)
    os.close(fd)
    try:
        try:
            model.save(tmp)
        except (NotImplementedError, TypeError, ValueError) as e:
            first = str(e).strip().splitlines()
            raise InputError(f"predict(<{type(model).__name__}>, name={name!r}): Keras cannot "
                             f"save this model to a .keras file, which is how it reaches the "
                             f"process that runs it ({type(e).__name__}: "
                             f"{' '.join(first)[:300]}). Fix: give its classes a get_config() "
                             f"returning their constructor arguments, or build the model from "
                             f"built-in layers (Sequential or functional API)") from None
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        digest = content_digest(tmp)
        path = os.path.join(target, f"{digest[:16]}.keras")
        os.replace(tmp, path)  # the same content saved before is replaced by itself
        return path, digest
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def config(model, name: str, recipe, cache_dir: str, threads: Optional[int] = None):
    """The run configuration of a Keras model object: checked (:func:`check`), saved into
    ``cache_dir`` (:func:`save`) and named ``custom:NAME+keras-<sha8>`` (the start of its content
    digest); ``keras.parent.from_config`` runs it in a child process of its own."""
    from dataclasses import replace

    from imagenet_bench.run import config as run_config

    mid = run_config.custom_id(name)
    check(model, recipe, name)
    path, digest = save(model, cache_dir, name)
    return run_config.RunConfig(model_id=replace(mid, settings=(f"{SETTING}-{digest[:8]}",)),
                                framework="keras", spec=None, recipe=recipe, checkpoint=path,
                                batch_size=1, threads=threads)
