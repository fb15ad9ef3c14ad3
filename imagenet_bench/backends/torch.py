"""The PyTorch backend: torchvision models and weights, a DataLoader, batched inference.

torch and torchvision are imported only in this module. It implements the
backend protocol of :mod:`runner`:

* models come from the registry (``torchvision.models:resnet50`` with weights
  ``IMAGENET1K_V1``), from any other torchvision weights name, from a
  ``--checkpoint`` file, or from a ``--model-factory package.module:callable``;
* the default preprocessing is the weights' own recipe, read from
  ``weights.transforms()`` (never re-typed here); ``legacy2019`` is the 2019
  study's Resize(256) + CenterCrop(224|299);
* decoding and resizing (:mod:`pixels`) run in DataLoader worker processes; the
  uint8 batch is moved to the device (pinned memory on CUDA) and scaled and
  normalised there with the same float32 arithmetic as ``ToTensor`` +
  ``Normalize``;
* eval mode, ``torch.inference_mode``, float32, cuDNN autotuning and TF32 off
  (both change results); ``config.amp`` ("bf16"/"fp16"; ``--amp`` alone is settled
  in ``config.build`` by :func:`auto_amp`: float16 on CUDA, bfloat16 elsewhere) opts in
  to autocast, which changes results and the model id.
"""
from __future__ import annotations

import functools
import json
import os
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torchvision

from imagenet_bench.run.backend import Backend
from imagenet_bench.backends.torch_weights import (  # noqa: F401 (re-exported)
    EFFICIENTNET_LITE0_RECIPE, NO_WEIGHTS, RANDOM_SEED, _apply_state_dict, build_torchvision,
    efficientnet_lite0, hub_checkpoint_path, load_factory, resolve_weights)
from imagenet_bench.cache.atomic import file_sha256
from imagenet_bench.data import pixels
from imagenet_bench.errors import InputError
from imagenet_bench.models.recipe import Recipe
from imagenet_bench.run.children import dataloader_worker_init
from imagenet_bench.run.batches import Batch


# --- devices ---------------------------------------------------------------------------------

def _local_rank() -> int:
    """This process's index on its node: torchrun's LOCAL_RANK or SLURM's SLURM_LOCALID."""
    return int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0")))


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA (``cuda:<local rank>``) if present, else MPS, else CPU."""
    local = _local_rank()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name!r} is not a device. Fix: auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available. Fix: --device cpu (or auto)")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local % torch.cuda.device_count())
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("--device mps: MPS is not available. Fix: --device cpu (or auto)")
    return dev


def default_threads() -> int:
    """CPU threads per process: the cores divided among the processes of this node."""
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE",
                                  os.environ.get("SLURM_NTASKS_PER_NODE", "1").split("(")[0] or "1"))
    return max(1, (os.cpu_count() or 1) // max(1, per_node))


# --- data loading ----------------------------------------------------------------------------

def uses_torchvision_transforms(recipe: Recipe) -> bool:
    """True when torchvision's own functional transforms reproduce ``recipe``.

    That is every aspect-preserving resize + centre crop whose crop fits in the
    resized image (all reference recipes). Squashes, and the 2019 recipe's
    299 crop of a 256 image (black padding placed as torchvision 0.2 placed
    it), go through :mod:`pixels`, which equals torchvision wherever both apply.
    """
    return (recipe.crop_mode == "center" and recipe.resize is not None and recipe.resize >= recipe.crop
            and recipe.interpolation in ("nearest", "bilinear", "bicubic"))


def load_pixels(path: str, recipe: Recipe) -> np.ndarray:
    """Decode with :func:`pixels.load_rgb`, then resize and crop: uint8 (crop, crop, 3)."""
    if not uses_torchvision_transforms(recipe):
        return pixels.load(path, recipe)
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as F
    img = F.resize(pixels.load_rgb(path, recipe), [recipe.resize], InterpolationMode(recipe.interpolation),
                   antialias=recipe.antialias)
    return np.array(F.center_crop(img, [recipe.crop]), dtype=np.uint8)


class _Images(torch.utils.data.Dataset):
    """(row, path) items decoded by ``load(path)`` (picklable: it runs in DataLoader workers);
    a bad file becomes a reason string."""

    def __init__(self, items: Sequence[Tuple[int, str]], load):
        self.items, self.load = list(items), load

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        row, path = self.items[i]
        try:
            return row, path, self.load(path), None
        except pixels.BadImageError as e:
            return row, path, None, e.reason


def _collate(samples) -> Batch:
    good = [(row, arr) for row, _, arr, _ in samples if arr is not None]
    bad = [(row, path, reason) for row, path, arr, reason in samples if arr is None]
    inputs = torch.from_numpy(np.stack([a for _, a in good])) if good else None
    return Batch([r for r, _ in good], inputs, bad)


# --- the backend -----------------------------------------------------------------------------

class TorchBackend(Backend):
    """A torch module plus its recipe, run by :func:`runner.run`."""

    def __init__(self, module: torch.nn.Module, config, weights_prov: dict, *,
                 recipe: Optional[Recipe] = None, extra: Optional[dict] = None,
                 tf32: bool = False, channels_last: bool = False, compile: bool = False):
        """Run ``module`` as :class:`~imagenet_bench.run.config.RunConfig` ``config`` says (its
        identity, recipe, device, batch size, workers, threads, settled amp dtype);
        ``recipe`` replaces ``config.recipe`` (a library's own transform in recipe terms);
        ``weights_prov`` and ``extra``: the backend's facts for the provenance. ``tf32``,
        ``channels_last`` and ``compile`` (``torch.compile``) are numerics variants of
        ``verify variants`` (recorded as ``torch_numerics``)."""
        recipe = recipe or config.recipe
        self.config, self.recipe = config, recipe
        self.batch_size = int(config.batch_size or 32)
        device, workers, threads = config.device, config.workers, config.threads
        if recipe.normalization != "torch":
            raise InputError(f"{config.model_id}: recipe normalization {recipe.normalization!r} is "
                             f"not 'torch' (the torch backend normalises with mean/std only). Fix: run "
                             f"it with the library its catalog entry names (`imagenet-bench models "
                             f"{config.model_id.base}`), or correct that entry's preprocess_module")

        self.device = pick_device(device)
        self.amp = config.amp  # None (float32), "bf16" or "fp16" (settled in config.build)
        self.numerics = {k: True for k, v in (("tf32", tf32), ("channels_last", channels_last),
                                               ("compile", compile)) if v}
        self.threads = int(threads or default_threads())
        torch.set_num_threads(self.threads)
        torch.backends.cudnn.benchmark = False  # autotuning picks kernels by timing: results vary
        torch.backends.cuda.matmul.allow_tf32 = bool(tf32)  # TF32 rounds fp32 matmuls/convs to 10 bits
        torch.backends.cudnn.allow_tf32 = bool(tf32)
        if workers is None:  # CPU: as many as threads; CUDA: the node's cores shared, at most 8
            workers = min(8, default_threads()) if self.device.type == "cuda" else self.threads
        self.workers = int(workers)
        self.module = module.eval().to(self.device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)
        if compile:
            self.module = torch.compile(self.module)
        self._mean = torch.tensor(recipe.mean, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(recipe.std, dtype=torch.float32, device=self.device).view(1, 3, 1, 1)
        self._weights_prov, self._extra = dict(weights_prov), dict(extra or {})

    def provenance(self) -> dict:
        """Weights, recipe, versions, device type and numeric mode: all that changes outputs."""
        prov = dict(self._weights_prov)
        prov.update(self._extra)
        prov.update(
            preprocessing=self.recipe.as_dict(),
            library_versions={"torch": torch.__version__, "torchvision": torchvision.__version__,
                              "pillow": pixels.Image.__version__, "numpy": np.__version__},
            device=self.device.type, precision=self.amp or "fp32",
            resize_crop="torchvision.transforms.functional" if uses_torchvision_transforms(self.recipe)
            else "imagenet_bench.data.pixels")
        if self.numerics:
            prov["torch_numerics"] = dict(self.numerics)
        return prov

    def preprocess(self, path: str) -> np.ndarray:
        """Decode, resize and crop one image: uint8 (crop, crop, 3)."""
        return load_pixels(path, self.recipe)

    def _load(self):
        """``preprocess`` as a picklable callable for DataLoader workers."""
        return functools.partial(load_pixels, recipe=self.recipe)

    def pixel_loader(self) -> Optional[Tuple[str, object]]:
        """(key, load): ``load(path)`` gives the uint8 (H, W, 3) pixels this model's input is
        made of (:meth:`pixels_input` normalises them); models with equal keys can share one
        decode (:mod:`imagenet_bench.sweep.shared`). None: this model cannot share."""
        r = {k: v for k, v in self.recipe.as_dict().items() if k not in ("mean", "std")}
        return "torch:" + json.dumps(r, sort_keys=True), self._load()

    @property
    def device_name(self) -> str:
        """The device's own name (GPU model, CPU model), for the ``timing`` provenance."""
        from imagenet_bench.run.timing import cpu_name
        if self.device.type == "cuda":
            return torch.cuda.get_device_name(self.device)
        return cpu_name() if self.device.type == "cpu" else self.device.type

    def batches(self, jobs: Sequence[Sequence[Tuple[int, str]]], load=None) -> Iterator[Batch]:
        """Decode ``jobs`` (lists of (row, path)) in DataLoader workers, one Batch per job
        (``load``: another picklable ``path -> array`` than this model's own)."""
        items, sampler, i = [], [], 0
        for job in jobs:
            items += job
            sampler.append(list(range(i, i + len(job))))
            i += len(job)
        loader = torch.utils.data.DataLoader(
            _Images(items, load or self._load()), batch_sampler=sampler, num_workers=self.workers,
            collate_fn=_collate, pin_memory=self.device.type == "cuda",
            worker_init_fn=functools.partial(dataloader_worker_init, os.getpid()) if self.workers
            else None,  # SIGTERM left to the main process; a worker dies with it
            prefetch_factor=4 if self.workers else None)
        it = iter(loader)
        try:
            yield from it
        finally:
            del it

    def network_input(self, inputs) -> torch.Tensor:
        """A uint8 NHWC batch as the network's float32 NCHW input (ToTensor + Normalize)."""
        return self.pixels_input(inputs)

    def pixels_input(self, inputs) -> torch.Tensor:
        """uint8 NHWC pixels -> normalised float32 NCHW on the device, with the float32
        arithmetic of ``ToTensor`` + ``Normalize`` (so results equal those transforms')."""
        x = torch.as_tensor(inputs).to(self.device, non_blocking=True)
        with torch.inference_mode():
            x = x.permute(0, 3, 1, 2).contiguous().float().div(255)
            return x.sub(self._mean).div(self._std).contiguous(memory_format=self.memory_format)

    def predict(self, inputs) -> np.ndarray:
        """Softmax probabilities (n, 1000) float32 of a uint8 NHWC batch."""
        return self.forward(self.network_input(inputs))

    def predict_logits(self, inputs) -> Tuple[np.ndarray, np.ndarray]:
        """(softmax probabilities, logits), both (n, 1000) float32, of a uint8 NHWC batch: the
        probabilities are :meth:`predict`'s, computed from the same forward pass."""
        return self.forward(self.network_input(inputs), with_logits=True)

    def forward(self, x: torch.Tensor, with_logits: bool = False):
        """Softmax probabilities (n, 1000) float32 of a network input batch (and the float32
        logits they come from, with ``with_logits``)."""
        with torch.inference_mode():
            if self.amp:
                dtype = torch.float16 if self.amp == "fp16" else torch.bfloat16
                with torch.autocast(self.device.type, dtype=dtype):
                    logits = self.module(x)
            else:
                logits = self.module(x)
            if isinstance(logits, (tuple, list)):
                logits = logits[0]
            logits = getattr(logits, "logits", logits).float()
            probs = torch.softmax(logits, dim=1).cpu().numpy()
            return (probs, logits.cpu().numpy()) if with_logits else probs


# --- construction from a run configuration --------------------------------------------------

def auto_amp(device: str) -> str:
    """The dtype of ``--amp`` alone on ``device``: float16 on CUDA, bfloat16 elsewhere
    (``Library.auto_amp``; ``run.config.build`` settles it before the id is named)."""
    return "fp16" if pick_device(device).type == "cuda" else "bf16"


def from_config(config, **numerics) -> TorchBackend:
    """The backend of a :class:`~imagenet_bench.run.config.RunConfig` (registry or factory model).

    ``numerics`` (``tf32``, ``channels_last``, ``compile``) go to :class:`TorchBackend`."""
    if config.factory:
        module = load_factory(config.factory)
        prov = {"weights": f"factory {config.factory}"}
        if config.checkpoint:
            prov.update(_apply_state_dict(module, config.checkpoint))
            prov["weights_sha256"] = file_sha256(config.checkpoint)
        builder = config.factory
    else:
        entry, name = config.spec.entry, str(config.model_id.base)
        enum = resolve_weights(entry.builder, entry.weights) if config.pretrained else None
        module, prov = build_torchvision(entry.builder, enum, config.checkpoint, name)
        builder = entry.builder
        if entry.quantized_backend:  # int8 kernels of the backend the weights were made for
            torch.backends.quantized.engine = entry.quantized_backend
    return TorchBackend(module, config, prov, extra={"builder": builder}, **numerics)


def from_spec(spec, weights: Optional[str] = None, preprocess: str = "reference",
              checkpoint: Optional[str] = None, amp=None, **kw) -> TorchBackend:
    """A backend for a registry spec (tests, benchmarks, ``verify``): :func:`from_config` of
    ``run.config.build`` with these options. ``weights``: 'none' for random weights."""
    from imagenet_bench.run import config as run_config
    cfg = run_config.build(str(spec.id), "torch", weights=weights, checkpoint=checkpoint,
                           preprocess=preprocess, amp="auto" if amp is True else amp, **kw)
    return from_config(cfg)


def from_module(module, name: str, recipe: Recipe, **kw) -> TorchBackend:
    """A backend for an in-memory ``torch.nn.Module`` run with its own ``recipe`` (named
    ``custom:<name>``; the Python API's ``predict``)."""
    from imagenet_bench.errors import InputError
    from imagenet_bench.models.identity import ModelId
    from imagenet_bench.run.config import RunConfig
    if not isinstance(module, torch.nn.Module):
        raise InputError(f"predict: {type(module).__name__} is not a torch.nn.Module. Fix: pass a "
                         f"model name, or a torch.nn.Module with recipe= and name=")
    cfg = RunConfig(model_id=ModelId("custom", name, ""), framework="torch", spec=None,
                    recipe=recipe, **{k: v for k, v in kw.items() if v is not None})
    return TorchBackend(module, cfg, {"weights": f"in-memory {type(module).__name__}"},
                        extra={"builder": f"in-memory {type(module).__module__}."
                                          f"{type(module).__qualname__}"})


__all__: List[str] = ["TorchBackend", "from_config", "from_spec", "from_module", "build_torchvision",
                      "resolve_weights", "hub_checkpoint_path",
                      "efficientnet_lite0", "EFFICIENTNET_LITE0_RECIPE", "pick_device"]
