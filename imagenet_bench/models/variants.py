"""The vocabulary of a ``verify variants`` row: :class:`Variant` (standard library only).

A variant is the same weights run another way (batch size, autocast dtype,
memory format, compiler, another runtime). Each runtime declares its rows in
its own module of :mod:`imagenet_bench.backends.runtimes` as ``VARIANTS``, a
tuple of :class:`Variant`: the name (the row, and the setting in the cache's
model id: ``+bf16``), what it changes, the runtime it applies to (``torch``:
any library whose backends are :class:`~imagenet_bench.backends.torch.TorchBackend`;
``keras``), the packages it needs, whether it needs a GPU or calibration
images, whether it is in its runtime's default list, why it is skipped on the
other runtime, its own reasons to skip (``skip``) and how it is built
(``build``). The registry of every row is :mod:`imagenet_bench.backends.runtimes`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple

TORCH, KERAS = "torch", "keras"
#: why a row of one runtime is skipped on the other (the usual ``Variant.elsewhere``)
TORCH_ONLY = "PyTorch-only variant; this is a Keras model"
KERAS_ONLY = "Keras-backend variant; this is a PyTorch model"
#: the skip reason of a calibrated row without calibration images
NO_CALIBRATION = "needs calibration images (--calibration-split N with N >= 1)"


@dataclass(frozen=True)
class Variant:
    """One row of ``verify variants`` (see the module docstring).

    ``build(ctx)`` and ``skip(ctx)`` take the runtime's variant context
    (:class:`~imagenet_bench.backends.torch_variants.TorchVariants` or
    :class:`~imagenet_bench.backends.keras_variants.KerasVariants`: the
    reference's config, calibration rows, cache folder, batch size and
    ``plain(config)``, the reference-kind backend of a config); ``build``
    returns the row's runner backend, ``skip`` the reason it cannot run here
    beyond the shared ones (other runtime, missing package, GPU, calibration)
    or None.
    """

    name: str  # row name and id setting ("batchN" becomes "batch<N>")
    what: str  # what it changes, for --help and docs
    runtime: Optional[str]  # TORCH | KERAS; None: every runtime (the fp32 reference)
    build: Callable[[Any], Any]  # ctx -> the row's runner backend
    elsewhere: str = ""  # why it is skipped on the other runtime ("{batch_size}": -b N)
    needs: Tuple[str, ...] = ()  # importable packages it needs (pip install 'imagenet_bench[<extra>]')
    gpu_only: bool = False  # needs a CUDA device
    calibrated: bool = False  # calibrates on the first --calibration-split rows (held out of scoring)
    default: bool = True  # in its runtime's default list
    extra: str = "variants"  # the pip extra that installs ``needs``
    skip: Optional[Callable[[Any], Optional[str]]] = None  # ctx -> its own reason to skip, or None

    def setting(self, batch_size: int = 32) -> str:
        """The model-id setting of this variant: its name, ``batch<N>`` for ``batchN``."""
        return f"batch{int(batch_size)}" if self.name == "batchN" else self.name


def calibration_record(ids: Sequence[str]) -> dict:
    """What the provenance of a calibrated variant says of its calibration images."""
    return {"count": len(ids), "first": ids[0], "last": ids[-1],
            "ids_sha256": hashlib.sha256("\n".join(ids).encode()).hexdigest(),
            "note": "the first rows of VAL_DIR; excluded from scoring"}
