"""The Keras 3 backend rows: the same Keras model and weights on TensorFlow, JAX or PyTorch, each
in a child process whose ``KERAS_BACKEND`` is set before it imports Keras
(:class:`~imagenet_bench.backends.keras.parent.KerasProcessBackend`)."""
from __future__ import annotations

from imagenet_bench.models.variants import KERAS, KERAS_ONLY, Variant


def _on(keras_backend: str):
    def build(ctx):
        return ctx.plain(ctx.config_for(f"keras-{keras_backend}"), keras_backend=keras_backend)
    return build


VARIANTS = (
    Variant("keras-tensorflow", "Keras 3 on TensorFlow (the reference's own backend)", KERAS,
            _on("tensorflow"), KERAS_ONLY, needs=("tensorflow",), default=False,
            skip=lambda ctx: "the reference runs on the TensorFlow backend"),
    Variant("keras-jax", "the same Keras model on the JAX backend", KERAS, _on("jax"), KERAS_ONLY,
            needs=("jax",)),
    Variant("keras-torch", "the same Keras model on the PyTorch backend", KERAS, _on("torch"),
            KERAS_ONLY, needs=("torch",)),
)
