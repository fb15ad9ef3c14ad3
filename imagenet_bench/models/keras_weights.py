"""Where Keras keeps each application's ImageNet weights, checked before any download.

Keras downloads ``weights="imagenet"`` into ``$KERAS_HOME/models/<file name>``
(``~/.keras`` when ``KERAS_HOME`` is unset). Without network that download
fails, so the backend looks for the file first and, when it is absent, raises
a :class:`~imagenet_bench.errors.BenchError` naming the exact path, the URL
and the ``--weights FILE`` alternative. The file names and URLs below are the
ones ``keras/src/applications/*.py`` pass to ``file_utils.get_file``
(``tests/test_keras_weights.py`` checks them against the installed Keras).

Standard library only; nothing here imports Keras.
"""
from __future__ import annotations

import os
from typing import Dict, Tuple

from imagenet_bench.errors import BenchError

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"

#: registry name -> (file name in $KERAS_HOME/models, download URL), include_top=True
IMAGENET_WEIGHTS: Dict[str, Tuple[str, str]] = {
    "densenet121": ("densenet121_weights_tf_dim_ordering_tf_kernels.h5", "densenet/"),
    "densenet169": ("densenet169_weights_tf_dim_ordering_tf_kernels.h5", "densenet/"),
    "densenet201": ("densenet201_weights_tf_dim_ordering_tf_kernels.h5", "densenet/"),
    "inceptionresnetv2": ("inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5",
                          "inception_resnet_v2/"),
    "inceptionv3": ("inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "inception_v3/"),
    "mobilenet": ("mobilenet_1_0_224_tf.h5", "mobilenet/"),
    "mobilenetV2": ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5", "mobilenet_v2/"),
    "nasnetlarge": ("nasnet_large.h5", "nasnet/NASNet-large.h5"),
    "nasnetmobile": ("nasnet_mobile.h5", "nasnet/NASNet-mobile.h5"),
    "resnet50": ("resnet50_weights_tf_dim_ordering_tf_kernels.h5", "resnet/"),
    "vgg16": ("vgg16_weights_tf_dim_ordering_tf_kernels.h5", "vgg16/"),
    "vgg19": ("vgg19_weights_tf_dim_ordering_tf_kernels.h5", "vgg19/"),
    "xception": ("xception_weights_tf_dim_ordering_tf_kernels.h5", "xception/"),
}
IMAGENET_WEIGHTS = {k: (f, _BASE + (u if u.endswith(".h5") else u + f))
                    for k, (f, u) in IMAGENET_WEIGHTS.items()}


def keras_home() -> str:
    """The folder Keras caches downloads in: ``$KERAS_HOME`` or ``~/.keras``.

    Mirrors ``keras.src.backend.config`` (which reads the variable once, at
    import); Keras falls back to ``/tmp/.keras`` when the folder is not writable.
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    home = os.path.expanduser(home)
    if os.path.isdir(home) and not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return home


def expected_path(model) -> str:
    """Where Keras looks for ``model``'s ImageNet weights (the file it would download).

    ``model``: a registry spec (its catalog entry names the file) or a 2019 name.
    """
    fname, _ = _entry(model)
    return os.path.join(keras_home(), "models", fname)


def _entry(model) -> Tuple[str, str]:
    """(file name, URL) of ``model``'s ImageNet weights: the catalog's, else the 2019 table's."""
    if not isinstance(model, str):
        if model.entry.file_name:
            return model.entry.file_name, model.entry.url or "(URL not recorded)"
        model = _table_name(model)
    try:
        return IMAGENET_WEIGHTS[model]
    except KeyError:
        raise BenchError(f"no known ImageNet weights file for keras model {model!r}; "
                         f"known: {', '.join(sorted(IMAGENET_WEIGHTS))}. Fix: pass the weights "
                         f"file with --weights FILE.h5, or pick one of those models") from None



def known(model) -> bool:
    """True when the file name of ``model``'s ImageNet weights is known (catalog or 2019 table)."""
    return bool(model.entry.file_name) or _table_name(model) in IMAGENET_WEIGHTS


def _table_name(spec) -> str:
    """The key of a registry spec in :data:`IMAGENET_WEIGHTS`: its 2019 name, else its architecture."""
    return spec.study.name if spec.study else spec.id.arch


def _label(model) -> str:
    return f"keras:{model}" if isinstance(model, str) else str(model.id)


def missing_weights_error(model, cause: str = "") -> BenchError:
    """The error for absent ImageNet weights: names the path, the URL and ``--weights FILE``."""
    fname, url = _entry(model)
    path = expected_path(model)
    why = f" ({cause})" if cause else ""
    return BenchError(
        f"ImageNet weights for {_label(model)} are not available offline{why}: expected the file "
        f"{path}. Fix: download {url} on a machine with network access and copy it to {path} "
        f"(set KERAS_HOME to use another folder than {keras_home()}), or pass "
        f"--weights FILE with a local .h5 / .weights.h5 file.")


def check_imagenet_weights(model) -> str:
    """Return the cached weights path of ``model``; raise :func:`missing_weights_error` if absent."""
    path = expected_path(model)
    if not os.path.isfile(path):
        raise missing_weights_error(model, "file not found")
    return path
