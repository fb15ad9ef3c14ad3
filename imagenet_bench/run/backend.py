"""THE runner's backend protocol, declared: what a model library's adapter must return.

A backend has ``config`` (the :class:`~imagenet_bench.run.config.RunConfig` it runs) and
``batch_size`` (images per ``predict`` call), and implements :meth:`Backend.provenance`,
:meth:`Backend.preprocess` and :meth:`Backend.predict`; it may replace the defaults of
:meth:`Backend.batches` (a background decoding thread), :meth:`Backend.close` (nothing),
:meth:`Backend.pixel_loader` (no shared decoding) and :meth:`Backend.single_and_batched`
(``verify determinism``'s two calls). Every backend of this package subclasses
:class:`Backend`; :func:`build` checks a plugin's against it when it is built. numpy and the
standard library only.
"""
from __future__ import annotations

import abc
from typing import Callable, Iterator, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.errors import BenchError
from imagenet_bench.run.batches import Batch, prefetch_batches


class Backend(abc.ABC):
    """A model ready to predict images (see the module docstring)."""

    config: object  # the RunConfig it runs
    batch_size: int  # images per predict() call

    @abc.abstractmethod
    def provenance(self) -> dict:
        """What the cache records about this backend (weights, library versions, recipe...)."""

    @abc.abstractmethod
    def preprocess(self, path: str) -> np.ndarray:
        """One image file as this backend's input."""

    @abc.abstractmethod
    def predict(self, inputs) -> np.ndarray:
        """Probabilities (batch, 1000) of a stacked batch of inputs."""

    def predict_logits(self, inputs) -> Tuple[np.ndarray, np.ndarray]:
        """(probabilities, logits) of one forward pass, for ``--save-logits``; only the backends
        of libraries declaring ``Capabilities.logits`` give them."""
        raise BenchError(f"{type(self).__name__} gives probabilities only (no logits). Fix: "
                         f"leave --save-logits out for this model")

    def batches(self, jobs: Sequence[Sequence[Tuple[int, str]]]) -> Iterator[Batch]:
        """The decoded batches of ``jobs`` (lists of (row, path)), in order: decoded by
        :meth:`preprocess` in a background thread unless the backend has its own loader."""
        return prefetch_batches(self, jobs)

    @property
    def device_name(self) -> Optional[str]:
        """The device's own name (GPU model, CPU model) for the ``timing`` provenance; None:
        the run config's device."""
        return None

    def close(self) -> None:
        """Release what the backend holds (a child process, a session); nothing by default."""

    def pixel_loader(self) -> Optional[Tuple[str, object]]:
        """(decode key, loader) when the backend can take decoded uint8 pixels shared between
        models of one sweep task; None: it decodes its own."""
        return None

    def single_and_batched(self) -> Tuple[Callable, Callable]:
        """(predict_one, predict_batch) on uint8 pixels, for ``verify determinism``: by default
        :meth:`predict` on a batch of one and on the whole batch."""
        return (lambda px: self.predict(px[None])[0], lambda pxs: self.predict(pxs))


#: what a backend must have, checked by :func:`build`
REQUIRED = ("config", "batch_size", "provenance", "preprocess", "predict")


def check(backend, library: str) -> Backend:
    """``backend`` when it implements :class:`Backend`; a BenchError naming the library, the
    class and what it lacks otherwise."""
    if isinstance(backend, Backend):
        return backend
    kind = type(backend)
    lacks = [m for m in REQUIRED if m not in dir(backend)]
    raise BenchError(
        f"the {library} library's adapter returned a {kind.__module__}.{kind.__qualname__}, which "
        f"is not a runner backend (imagenet_bench.run.backend.Backend)"
        f"{'; it lacks ' + ', '.join(lacks) if lacks else ''}. Fix: make the adapter return a "
        f"subclass of imagenet_bench.run.backend.Backend (or of "
        f"imagenet_bench.backends.torch.TorchBackend) implementing provenance, preprocess and "
        f"predict, with config and batch_size")


def build(library, config, **kw) -> Backend:
    """The backend of ``config`` from ``library`` (a :class:`models.libraries.Library`), checked
    against :class:`Backend`."""
    return check(library.from_config(config, **kw), library.name)
