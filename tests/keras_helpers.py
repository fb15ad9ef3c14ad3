"""Shared helpers for the Keras tests."""
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: the Keras backend, the one module of the package that imports TensorFlow
CHILD_MODULE = "imagenet_bench.backends.keras.child"

#: a `predict` run in a child process; KERAS_TEST_SLEEP slows each image down (for SIGKILL tests)
CHILD = r"""
import os, sys, time, argparse
from imagenet_bench.commands import predict
from imagenet_bench.backends.keras import child as keras_backend
delay = float(os.environ.get("KERAS_TEST_SLEEP", "0"))
if delay:
    orig = keras_backend.KerasBackend.predict
    def slow(self, inputs):
        time.sleep(delay)
        return orig(self, inputs)
    keras_backend.KerasBackend.predict = slow
p = argparse.ArgumentParser(); sub = p.add_subparsers(); predict.add_parser(sub)
a = p.parse_args(["predict"] + sys.argv[1:])
sys.exit(a.func(a))
"""


def predict_child(args, env=None, **kw):
    """Start ``imagenet-bench predict ARGS`` in a child process (Popen)."""
    e = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], env=e, cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def skip_without_keras():
    """Skip the module unless keras and tensorflow are installed: finds them, imports neither.

    Collecting a Keras test module thus costs no TensorFlow import (~9 s in each process,
    each xdist worker included, even for deselected tests); its tests reach the backend and
    keras through :func:`backend` and :func:`keras`, which import them when a test calls them.
    """
    for mod in ("keras", "tensorflow"):
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not installed (pip install 'imagenet_bench[keras]')",
                        allow_module_level=True)


def backend():
    """The Keras backend (imagenet_bench.backends.keras.child), imported at the first call.

    It imports triton before TensorFlow: the other order crashes the process (SIGSEGV) as
    soon as a torch test imports torchvision. A test therefore reaches keras only through
    :func:`keras`, which imports this module first.
    """
    return importlib.import_module(CHILD_MODULE)


def keras(name: str = "keras"):
    """Module ``name`` of Keras (``keras``, ``keras.applications.vgg16``...), imported at the
    first call, after :func:`backend`."""
    backend()
    return importlib.import_module(name)


def informative_mobilenet_weights(folder, images, evaluated, n_calib: int) -> str:
    """A weights file of keras:mobilenet whose BatchNorm statistics are calibrated on the last
    ``n_calib`` images of ``images`` (a ValSet) outside the rows ``evaluated``
    (``save_informative_weights``), so its outputs depend on the image, unlike random weights."""
    import numpy as np
    from imagenet_bench.backends.keras import child as kb
    from imagenet_bench.data import pixels
    from imagenet_bench.models.registry import get_model
    spec = get_model("keras:mobilenet")
    pre, recipe = kb._preprocess_input(spec), spec.recipe("reference")
    rows = [r for r in range(images.num_images) if r not in set(evaluated)][-n_calib:]
    calib = np.concatenate([pre(pixels.load(images.paths[i], recipe)[None].astype(np.float32)) for i in rows])
    weights = str(Path(folder) / "mobilenet.informative.weights.h5")
    assert kb.save_informative_weights(spec, calib, weights) > 0
    return weights

