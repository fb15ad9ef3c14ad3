"""THE registry of ``verify variants`` rows: each runtime is one module of this package.

Each module here declares its rows as ``VARIANTS`` (a tuple of
:class:`~imagenet_bench.models.variants.Variant`: name, what it changes, the
runtime it applies to, packages, GPU, calibration, default, its own skip
reasons and how it is built) and holds the code that builds them; the
framework imports of a module happen in its ``build``, so importing this
registry (``verify variants --help``, the variant names) imports no framework.
:data:`MODULES` lists them explicitly, in table order (a test checks that
every module of the package is listed once). Adding a runtime: one module
here with its ``VARIANTS``, its line in :data:`MODULES`, and its tests.

The reasons every row shares (it belongs to the other runtime; a package it
needs is missing; no CUDA device; no calibration images) are :func:`skip`'s;
a row's ``skip`` adds its own.
"""
from __future__ import annotations

import importlib.util
from typing import Dict, List, Optional, Tuple

from imagenet_bench.backends.runtimes import (autocast, batching, keras_backends, litert, onnx,
                                              openvino, quantized, tensorrt)
from imagenet_bench.errors import InputError
from imagenet_bench.models import identity
from imagenet_bench.models.variants import KERAS, NO_CALIBRATION, TORCH, Variant

__all__ = ["KERAS", "MODULES", "NAMES", "REFERENCE", "REGISTRY", "TORCH", "build", "calibrated", "defaults",
           "get", "setting", "variant_id", "skip", "skip_reason"]

#: the runtime modules, in table order
MODULES = (batching, autocast, onnx, quantized, openvino, tensorrt, litert, keras_backends)


def _reference(ctx):
    return ctx.plain(ctx.config)


#: the row every other row is paired against
REFERENCE = Variant("fp32", "the reference: float32, eager, batches of -b N (Keras: one image at a time)",
                    None, _reference)
#: every variant, in table order; the first is the reference
REGISTRY: Tuple[Variant, ...] = (REFERENCE,) + tuple(v for m in MODULES for v in m.VARIANTS)
_BY_NAME: Dict[str, Variant] = {v.name: v for v in REGISTRY}
if len(_BY_NAME) != len(REGISTRY):  # a programming error of this package, caught by every test
    raise ImportError("two runtime modules declare the same variant name")
#: every variant name, in table order; ``fp32`` is the reference row
NAMES: Tuple[str, ...] = tuple(_BY_NAME)


def get(name: str) -> Variant:
    """The variant called ``name``; InputError naming the choices otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(f"unknown variant {name!r}. Fix: one of {', '.join(NAMES)} "
                         f"(`imagenet-bench verify variants --help`)") from None


def defaults(runtime: str) -> Tuple[str, ...]:
    """The variants a model of ``runtime`` gets without ``--variants``, in table order."""
    return tuple(v.name for v in REGISTRY if v.runtime == runtime and v.default)


def calibrated(names) -> List[str]:
    """Those of ``names`` that calibrate on held-out rows, in table order."""
    return [v.name for v in REGISTRY if v.calibrated and v.name in names]


def setting(variant: str, batch_size: int = 32) -> str:
    """The model-id setting of ``variant`` (:meth:`~imagenet_bench.models.variants.Variant.setting`)."""
    return get(variant).setting(batch_size)


def variant_id(model_id: identity.ModelId, variant: str, batch_size: int = 32) -> identity.ModelId:
    """The model id of ``model_id`` run as ``variant`` (``fp32``: ``model_id`` itself).

    The one place a variant's name is formed:
    :meth:`~imagenet_bench.models.identity.ModelId.with_settings` of the
    variant's setting (``torch:resnet50.IMAGENET1K_V1+bf16``,
    ``keras:MobileNet.imagenet+keras-jax``, ``...+batch32``).
    """
    value = setting(variant, batch_size)
    return model_id if variant == "fp32" else model_id.with_settings(value)


def skip_reason(name: str, runtime: str, batch_size: int = 32) -> Optional[str]:
    """Why variant ``name`` cannot run for a model of ``runtime`` here, for the reasons that need
    no model (it belongs to the other runtime; a package it needs is missing), or None."""
    v = get(name)
    if v.runtime is not None and v.runtime != runtime:
        return v.elsewhere.format(batch_size=batch_size)
    missing = [m for m in v.needs if importlib.util.find_spec(m) is None]
    if missing:
        return f"{', '.join(missing)} not installed (pip install 'imagenet_bench[{v.extra}]')"
    return None


def skip(ctx, name: str) -> Optional[str]:
    """Why variant ``name`` cannot run for ``ctx``'s model here (``ctx``: a variant context,
    ``TorchVariants`` or ``KerasVariants``), or None: :func:`skip_reason`, then a GPU-only row
    without a CUDA device, the row's own ``skip``, then a calibrated row without calibration rows."""
    v = get(name)
    reason = skip_reason(name, ctx.runtime, ctx.batch_size)
    if reason is None and v.gpu_only and ctx.runtime == TORCH:
        reason = ctx.no_cuda()
    if reason is None and v.skip is not None:
        reason = v.skip(ctx)
    if reason is None and v.calibrated and not ctx.calibration:
        reason = NO_CALIBRATION
    return reason


def build(ctx, name: str):
    """The runner backend of variant ``name`` of ``ctx``'s model ("fp32" = the reference)."""
    return get(name).build(ctx)


class VariantContext:
    """What a runtime's variant context shares (``TorchVariants``, ``KerasVariants``): its rows'
    skip reasons and backends come from this registry. Subclasses set ``runtime``, ``config``,
    ``calibration``, ``batch_size`` and define ``config_for``, ``plain`` and ``no_cuda``."""

    def skip_reason(self, variant: str) -> Optional[str]:
        """Why ``variant`` cannot run here, or None (:func:`skip`)."""
        return skip(self, variant)

    def build(self, variant: str):
        """The runner backend of ``variant`` ("fp32" = the reference)."""
        return build(self, variant)

