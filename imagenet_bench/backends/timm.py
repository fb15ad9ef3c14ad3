"""The timm backend: any ImageNet-1k pretrained tag of timm, preprocessed by timm itself.

timm, torch and torchvision are imported only here (and in :mod:`timm_meta`).
It implements the backend protocol of :mod:`imagenet_bench.run.runner`:

* a model is ``timm:<arch>.<tag>`` (``timm:resnet50.a1_in1k``; a bare
  architecture means timm's default tag); tags whose head is not ImageNet-1k
  (in21k/in22k/12k, CLIP image towers, feature backbones) are refused with the
  reason the registry states (:func:`timm_meta.head`);
* preprocessing is timm's own: ``resolve_data_config`` of the tag's
  ``pretrained_cfg`` (``use_test_size=True`` for ``+test-size``) and
  ``timm.data.create_transform`` of that config, applied
  to the image decoded by :func:`pixels.load_rgb` (``convert("RGB")``, as timm's
  own dataset loader does). The resolved config and the transform are recorded
  in provenance;
* weights: timm's pretrained loading (Hugging Face hub cache, download when
  reachable; offline, an error names the cache folder and the file to place),
  ``--weights none`` for seeded random weights, or ``--checkpoint FILE``
  loaded by timm's own loader in place of the download (content hash recorded);
* decoding and transforms run in DataLoader worker processes; eval mode,
  ``torch.inference_mode``, float32, cuDNN autotuning and TF32 off (as the torch
  backend); ``amp`` opts in to autocast.
"""
from __future__ import annotations

import os
import pickle
from typing import List, Optional, Tuple

import numpy as np
import timm
import torch
from safetensors import SafetensorError
from timm.data import create_transform

from imagenet_bench.backends import timm_meta, timm_overrides
from imagenet_bench.backends.torch import NO_WEIGHTS, RANDOM_SEED, TorchBackend
from imagenet_bench.cache.atomic import file_sha256
from imagenet_bench.data import pixels
from imagenet_bench.errors import BenchError, CheckpointError, InputError

SAFE_FILE, TORCH_FILE = "model.safetensors", "pytorch_model.bin"  # what timm fetches from a hub repo
#: what loading a weights file that is not one (or not of this model) raises
LOAD_ERRORS = (RuntimeError, ValueError, KeyError, EOFError, pickle.UnpicklingError, SafetensorError)


def timm_name(model_id) -> str:
    """timm's own spelling ``arch.tag`` of a ``timm:`` :class:`~imagenet_bench.models.identity.ModelId`."""
    return f"{model_id.arch}.{model_id.tag}"


def check_head(name: str) -> None:
    """Refuse a tag (``arch.tag``) without an ImageNet-1k head with an InputError naming the
    architecture's tags that have one."""
    cfg = timm_meta.pretrained_cfg(name)
    _, _, reason = timm_meta.head(cfg)
    if reason:
        others = [n for n in timm.list_pretrained(f"{cfg.architecture}.*")
                  if timm_meta.head(timm_meta.get_pretrained_cfg(n))[2] is None]
        hint = (f"; ImageNet-1k tags of {cfg.architecture}: {', '.join('timm:' + n for n in others)}"
                if others else "")
        raise InputError(f"--model timm:{cfg.architecture}.{cfg.tag} cannot be scored on ImageNet-1k: "
                         f"{reason}. Fix: choose a tag with a 1000-class head{hint}")


# --- weights ---------------------------------------------------------------------------------

def hub_location(cfg) -> Tuple[str, str]:
    """(where timm looks for the weights, what to download): the HF hub cache folder, or the
    torch hub checkpoint file for the few tags that have only a URL."""
    if cfg.hf_hub_id:
        from huggingface_hub import constants
        folder = os.path.join(constants.HF_HUB_CACHE, "models--" + cfg.hf_hub_id.replace("/", "--"))
        return folder, f"https://huggingface.co/{cfg.hf_hub_id}/resolve/main/{SAFE_FILE}"
    return os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(cfg.url or "")), cfg.url


def _missing_weights_error(cfg, reason: str) -> BenchError:
    where, url = hub_location(cfg)
    name = f"timm:{cfg.architecture}.{cfg.tag}"
    if cfg.hf_hub_id:
        how = (f"timm reads {cfg.hf_hub_id} ({SAFE_FILE}, else {TORCH_FILE}) from the Hugging Face hub "
               f"cache {where} (set by HF_HUB_CACHE / HF_HOME). Fix: on a machine with internet access "
               f"run `hf download {cfg.hf_hub_id}` and copy its {os.path.basename(where)} folder into "
               f"the cache, or download {url} and give it to `predict` with --checkpoint FILE "
               f"(without a network, HF_HUB_OFFLINE=1 skips the hub's retries)")
    else:
        how = f"Expected file: {where}. Fix: fetch {url} and copy it there, or pass --checkpoint FILE"
    return BenchError(f"the pretrained weights of {name} are not cached and could not be downloaded "
                      f"({reason}). {how}")


def build(name: str, weights: Optional[str] = None,
          checkpoint: Optional[str] = None) -> Tuple[torch.nn.Module, dict]:
    """Build timm's ``arch.tag`` ``name``; return (model in eval mode, provenance of its weights).

    ``checkpoint``: the file stands in for the download (timm's own loader, with the
    tag's key remapping); ``weights`` in ``none|random``: seeded random weights;
    otherwise timm's pretrained weights (a :class:`BenchError` names the cache when offline).
    """
    cfg = timm_meta.get_pretrained_cfg(name)
    arch, _, tag = name.partition(".")
    qualname = f"timm:{name}"
    if checkpoint:
        if not os.path.isfile(checkpoint):
            raise InputError(f"--checkpoint {checkpoint}: file not found. Fix: pass the path of a "
                             f"weights file of {qualname} (model.safetensors or a state_dict)")
        try:
            model = timm.create_model(name, pretrained=True,
                                      pretrained_cfg_overlay={"file": os.path.abspath(checkpoint)})
        except LOAD_ERRORS + (OSError,) as e:
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()] or [""]
            detail = "; ".join(ln if len(ln) < 160 else ln[:160] + " ..." for ln in lines[:3])
            raise CheckpointError(f"--checkpoint {checkpoint}: cannot be loaded into {qualname} "
                             f"({type(e).__name__}: {detail}). Fix: pass a checkpoint of this "
                             f"architecture") from None
        return model.eval(), {"weights": "checkpoint", "weights_file": os.path.basename(checkpoint),
                              "weights_sha256": file_sha256(checkpoint)}
    if weights is not None and weights in NO_WEIGHTS:
        torch.manual_seed(RANDOM_SEED)
        model = timm.create_model(name, pretrained=False)
        return model.eval(), {"weights": f"random(seed={RANDOM_SEED})"}
    if weights is not None and weights != tag:
        raise InputError(f"--weights {weights}: for timm the weights tag is part of the model name "
                         f"(--model timm:{arch}.{weights}); --weights takes only 'none' "
                         f"(random weights). Fix: -m timm:{arch}.{weights} without --weights")
    try:
        model = timm.create_model(name, pretrained=True)
    except OSError as e:  # huggingface_hub / urllib: not cached and not downloadable
        raise _missing_weights_error(cfg, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    except LOAD_ERRORS as e:  # a cached file that does not load
        where = hub_location(cfg)[0]
        raise BenchError(f"the cached weights of {qualname} under {where} cannot be loaded "
                         f"({type(e).__name__}: {str(e).splitlines()[0][:200]}). Fix: delete them "
                         f"and fetch them again, or pass --checkpoint FILE") from None
    url, file_name = timm_meta.weights_location(cfg)
    return model.eval(), {"weights": tag, "weights_url": url, "weights_file": file_name}


# --- the backend -----------------------------------------------------------------------------

class _TimmLoad:
    """Decode one image as timm's loader does (``convert("RGB")``) and apply timm's eval
    transform: float32 (3, H, W), normalised. Picklable, for DataLoader workers."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, path: str) -> np.ndarray:
        return self.transform(pixels.load_rgb(path)).numpy()


class _TimmPixels:
    """timm's transform up to ``ToTensor``: decode as timm does, resize, crop -> uint8 (H, W, 3).
    Picklable, for DataLoader workers."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, path: str) -> np.ndarray:
        img = pixels.load_rgb(path)
        for t in self.transforms:
            img = t(img)
        return np.array(img, dtype=np.uint8)


class TimmBackend(TorchBackend):
    """A timm model run by :func:`runner.run` like any torch model (device, autocast, numerics
    variants, DataLoader workers: :class:`TorchBackend`), but with timm's own eval transform in
    place of the registry recipe's resize/crop/normalise."""

    def __init__(self, module: torch.nn.Module, config, weights_prov: dict, **numerics):
        """``config``: the RunConfig of a ``timm:`` model (device, batch size, workers, amp;
        ``overrides``: recipe options, given to timm's ``resolve_data_config`` as its args,
        :mod:`timm_overrides`); ``numerics``: :class:`TorchBackend`'s
        ``tf32``/``channels_last``/``compile``."""
        self.timm_name = timm_name(config.model_id)
        cfg = timm_meta.get_pretrained_cfg(self.timm_name).to_dict()
        self.data_config, self.timm_args, recipe, _ = timm_overrides.resolve(
            cfg, dict(config.overrides), config.test_size)
        self.transform = create_transform(**self.data_config, is_training=False)
        super().__init__(module, config, weights_prov, recipe=recipe, **numerics)

    def provenance(self) -> dict:
        """The torch backend's, with timm's resolved data config and transform as the recipe."""
        prov = super().provenance()
        prov.update(
            builder=f"timm:{self.config.model_id.arch}", timm_model=self.timm_name,
            preprocessing={"mode": "timm", "normalization": "torch",
                           **timm_meta.recipe(self.data_config)},
            timm_data_config={k: list(v) if isinstance(v, tuple) else v
                              for k, v in sorted(self.data_config.items())},
            transform=[repr(t) for t in self.transform.transforms],
            timm_args={k: list(v) if isinstance(v, tuple) else v for k, v in sorted(self.timm_args.items())},
            resize_crop="timm.data.create_transform", timm_use_test_size=self.config.test_size)
        prov["library_versions"] = dict(prov["library_versions"], timm=timm.__version__)
        return prov

    def preprocess(self, path: str) -> np.ndarray:
        """Decode one image and apply timm's transform: float32 (3, H, W), normalised."""
        return self._load()(path)

    def _load(self):
        return _TimmLoad(self.transform)

    def pixel_loader(self):
        """(key, load) of the uint8 pixels timm's transform makes before ``ToTensor`` +
        ``Normalize`` (decode, resize, crop): :meth:`pixels_input` then normalises them with
        the same float32 arithmetic, so the outputs equal the whole transform's. None when the
        transform does not end in those two with this model's mean/std."""
        ts = list(self.transform.transforms)
        if len(ts) < 3 or type(ts[-2]).__name__ not in ("ToTensor", "MaybeToTensor") \
                or type(ts[-1]).__name__ != "Normalize":
            return None
        norm = ts[-1]
        if tuple(float(v) for v in norm.mean) != tuple(self.recipe.mean) or \
                tuple(float(v) for v in norm.std) != tuple(self.recipe.std):
            return None
        return "timm:" + "|".join(repr(t) for t in ts[:-2]), _TimmPixels(ts[:-2])

    def network_input(self, inputs) -> torch.Tensor:
        """A batch from timm's transform (already float32 NCHW, normalised) on the device."""
        x = torch.as_tensor(inputs).to(self.device, non_blocking=True)
        return x.contiguous(memory_format=self.memory_format)


# --- construction from the command line ------------------------------------------------------

def from_config(config, **numerics) -> TimmBackend:
    """The backend of a :class:`~imagenet_bench.run.config.RunConfig` of a ``timm:`` model.

    Uses ``config.model_id`` (arch, tag), ``pretrained``, ``checkpoint``, the resources and
    settled amp dtype, and ``overrides`` (timm's ``resolve_data_config`` args,
    :mod:`timm_overrides`; the recipe they resolve to settles the id's ``+recipe-<sha8>``);
    ``legacy2019`` is refused. ``numerics``: ``tf32``/``channels_last``/``compile``.
    """
    if config.preprocess != "reference":
        raise InputError(f"{config.model_id}: timm models use timm's own transform "
                         f"(resolve_data_config + create_transform); the 2019 recipe is for its 34 "
                         f"models. Fix: drop --preprocess")
    name = timm_name(config.model_id)
    check_head(name)
    if config.overrides:  # timm knows the tag's exact crop_pct; the recipe it resolves names the cache
        _, _, used, default = timm_overrides.resolve(
            timm_meta.get_pretrained_cfg(name).to_dict(), dict(config.overrides), config.test_size)
        config = config.with_recipe(used, used != default)
    module, prov = build(name, None if config.pretrained else "none", config.checkpoint)
    return TimmBackend(module, config, prov, **numerics)


__all__: List[str] = ["TimmBackend", "check_head", "build", "hub_location", "from_config",
                      "timm_name"]
