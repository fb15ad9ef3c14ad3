"""The PyTorch numerics rows: autocast (``bf16``, ``fp16``), TF32 matmuls, channels-last memory
and ``torch.compile`` -- the same module and pixels, the flags of
:class:`~imagenet_bench.backends.torch.TorchBackend` (autocast through ``RunConfig.with_amp``)."""
from __future__ import annotations

import shutil
from typing import Optional

from imagenet_bench.models.variants import TORCH, TORCH_ONLY, Variant


def _amp(ctx, name: str):
    return ctx.plain(ctx.config.with_amp(name))


def _flag(ctx, name: str):
    return ctx.plain(ctx.config_for(name), **{name: True})


def _compiler(ctx) -> Optional[str]:
    if shutil.which("cc") or shutil.which("gcc") or shutil.which("clang"):
        return None
    return "torch.compile (inductor) needs a C compiler; none on PATH"


VARIANTS = (
    Variant("bf16", "torch.autocast bfloat16 (CPU or GPU)", TORCH, lambda ctx: _amp(ctx, "bf16"),
            TORCH_ONLY),
    Variant("fp16", "torch.autocast float16", TORCH, lambda ctx: _amp(ctx, "fp16"), TORCH_ONLY,
            gpu_only=True),
    Variant("tf32", "TF32 matmuls and convolutions", TORCH, lambda ctx: _flag(ctx, "tf32"), TORCH_ONLY,
            gpu_only=True),
    Variant("channels_last", "model and input in torch.channels_last memory format", TORCH,
            lambda ctx: _flag(ctx, "channels_last"), TORCH_ONLY),
    Variant("compile", "torch.compile (inductor; needs a C compiler on CPU)", TORCH,
            lambda ctx: _flag(ctx, "compile"), TORCH_ONLY, skip=_compiler),
)
