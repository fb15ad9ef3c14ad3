"""The Hugging Face transformers adapter: ``AutoModelForImageClassification`` + the checkpoint's
``AutoImageProcessor`` as a :class:`~imagenet_bench.backends.torch.TorchBackend`.

transformers is imported only here. "Their" preprocessing is what
``AutoImageProcessor.from_pretrained(checkpoint)`` returns in the installed transformers (5.x:
the torchvision backend wherever one exists; TimmWrapper checkpoints: timm's eval transform),
applied to the image decoded by :func:`pixels.load_rgb` (``convert("RGB")``, what transformers'
own pipelines pass it):

* where the processor's settings are a :class:`Recipe` (:func:`hf_recipe.recipe_of`: a resize and
  centre crop, rescale 1/255, mean/std), DataLoader workers run the processor's own resize and
  crop (``do_rescale=False, do_normalize=False``: uint8 pixels; TimmWrapper: timm's transform up
  to ``ToTensor``) and :meth:`TorchBackend.pixels_input` scales and normalises them on the
  device; the recipe is recorded and named in the id;
* otherwise the workers run the whole processor and the network gets its output; the
  provenance says so and why.

The head's ``config.id2label`` is mapped onto the tool's class order (:mod:`hf_labels`); a head
that maps to no certain order is refused. Weights load through transformers' own Hub path (the
Hub cache, ``HF_HOME``/``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``, ``@REVISION``); a checkpoint that is
not there and cannot be downloaded is a :class:`BenchError` naming the command that fetches it.
"""
from __future__ import annotations

import json
import os
from typing import Optional, Tuple

import numpy as np
import torch
import transformers
from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification

from imagenet_bench.backends import hf_labels, hf_meta, hf_recipe
from imagenet_bench.backends.torch import RANDOM_SEED, TorchBackend
from imagenet_bench.data import pixels
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.models import recipe as recipes


#: the run setting ``+pil``: the processor's PIL backend (transformers 4's default "slow" processor)
PIL = "pil"


class Classifier(torch.nn.Module):
    """A transformers image classifier whose logits are reordered to the ImageNet-1k classes."""

    def __init__(self, model: torch.nn.Module, index):
        super().__init__()
        self.model = model
        self.register_buffer("index", torch.as_tensor(index, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised pixels -> (N, 1000) logits in the tool's class order."""
        return self.model(pixel_values=x).logits.index_select(1, self.index)


# --- loading -----------------------------------------------------------------------------------

def _missing(entry, reason: str) -> BenchError:
    where, rev = hf_meta.location(entry)
    if entry.architecture.startswith("local--"):
        return BenchError(f"hf:{where} cannot be loaded ({reason}). Fix: write the folder again "
                          f"with save_pretrained (model and image processor)")
    return BenchError(f"the checkpoint {where} (revision {rev}) of {entry.model} is not in the "
                      f"Hugging Face Hub cache and could not be downloaded ({reason}). "
                      + hf_meta.fetch_hint(where, rev))


def load(entry, pretrained: bool, seed: int = RANDOM_SEED, backend: Optional[str] = None):
    """(model in eval mode, image processor, weights provenance) of a catalog entry;
    ``backend``: the processor backend ("pil"; None: transformers' default)."""
    where, rev = hf_meta.location(entry)
    kw = {"revision": rev} if rev else {}
    try:
        processor = _processor(where, dict(kw, backend=backend) if backend else kw)
        if pretrained:
            model = AutoModelForImageClassification.from_pretrained(where, **kw)
        else:
            torch.manual_seed(seed)
            model = AutoModelForImageClassification.from_config(AutoConfig.from_pretrained(where, **kw))
    except OSError as e:  # huggingface_hub / transformers: not cached and not downloadable
        raise _missing(entry, f"{type(e).__name__}: {str(e).splitlines()[0].split('. ')[0][:200]}") from None
    except ValueError as e:  # a config transformers has no image classifier for
        raise InputError(f"{entry.model}: transformers cannot build an image classifier of "
                         f"{where} ({str(e).splitlines()[0][:200]}). Fix: pass a checkpoint "
                         f"AutoModelForImageClassification loads") from None
    snap = hf_meta.cached_snapshot(where, rev) if rev else None  # the commit the cache holds
    commit = getattr(model.config, "_commit_hash", None) or (os.path.basename(snap) if snap else None)
    prov = {"weights": (rev or "local") if pretrained else f"random(seed={seed})",
            "hf_checkpoint": where, "hf_revision": rev or None, "hf_commit": commit,
            "hf_model_class": type(model).__name__}
    return model.eval(), processor, prov


def _processor(where: str, kw: dict):
    try:
        return AutoImageProcessor.from_pretrained(where, **kw)
    except ValueError as e:
        raise InputError(f"{where}: transformers finds no image processor for it "
                         f"({str(e).splitlines()[0][:200]}). Fix: save the model's image processor "
                         f"beside it (processor.save_pretrained(folder))") from None


# --- pixels ------------------------------------------------------------------------------------

class ProcessorPixels:
    """The processor's own resize and crop of one decoded image: uint8 (H, W, 3). Picklable."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, path: str) -> np.ndarray:
        out = self.processor(pixels.load_rgb(path), do_rescale=False, do_normalize=False,
                             return_tensors="pt")["pixel_values"][0]
        return out.permute(1, 2, 0).to(torch.uint8).numpy()


class ProcessorOutput:
    """The processor's whole output for one decoded image: float32 (3, H, W). Picklable."""

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, path: str) -> np.ndarray:
        return self.processor(pixels.load_rgb(path), return_tensors="pt")["pixel_values"][0].float().numpy()


def _timm_pixels(processor, recipe):
    """timm's transform up to ``ToTensor`` when it ends in ToTensor + Normalize(recipe's mean/std)."""
    from imagenet_bench.backends.timm import _TimmPixels
    ts = list(processor.val_transforms.transforms)
    if len(ts) < 3 or type(ts[-2]).__name__ not in ("ToTensor", "MaybeToTensor") \
            or type(ts[-1]).__name__ != "Normalize" \
            or tuple(float(v) for v in ts[-1].mean) != tuple(recipe.mean) \
            or tuple(float(v) for v in ts[-1].std) != tuple(recipe.std):
        return None
    return _TimmPixels(ts[:-2])


def preprocessing(processor, model_config) -> Tuple[recipes.Recipe, Optional[object], str, dict]:
    """(recipe, uint8 pixel loader or None for the whole processor, how, the processor's settings).

    The loader is None when no recipe states the processor (the recipe then holds its output
    size and mean/std for the record only)."""
    if getattr(model_config, "model_type", "") == "timm_wrapper":
        recipe = recipes.from_timm_config(processor.data_config)
        settings = {k: list(v) if isinstance(v, tuple) else v for k, v in processor.data_config.items()}
        loader = _timm_pixels(processor, recipe)
        if loader is None:
            return recipe, ProcessorOutput(processor), "TimmWrapperImageProcessor (whole)", settings
        return recipe, loader, "TimmWrapperImageProcessor (timm's eval transform)", settings
    settings = processor.to_dict()
    recipe, how = hf_recipe.recipe_of(settings)
    if recipe is not None:
        return recipe, ProcessorPixels(processor), f"{how} resize/crop", settings
    side = ProcessorOutput(processor)
    from PIL import Image
    probe = processor(Image.new("RGB", (64, 48)), return_tensors="pt")["pixel_values"]
    _, _, height, width = probe.shape
    mean = settings.get("image_mean") or recipes.IMAGENET_MEAN
    std = settings.get("image_std") or recipes.IMAGENET_STD
    mean, std = (mean if isinstance(mean, list) else [mean] * 3), (std if isinstance(std, list) else [std] * 3)
    recipe = recipes.Recipe(resize=None, crop=int(height), squash=True, interpolation="bilinear",
                            normalization="torch", mean=tuple(mean), std=tuple(std))
    return recipe, side, f"the whole processor: {how}; output {height}x{width}", settings


# --- the backend -------------------------------------------------------------------------------

class HfBackend(TorchBackend):
    """A transformers classifier run by :func:`runner.run` as any torch model, with the pixels
    of its own image processor."""

    def __init__(self, module, config, weights_prov: dict, *, recipe, loader, uint8: bool,
                 how: str, settings: dict, **numerics):
        super().__init__(module, config, weights_prov, recipe=recipe, **numerics)
        self.loader, self.uint8, self.how, self.settings = loader, uint8, how, settings

    def provenance(self) -> dict:
        """The torch backend's, with the processor, its settings and how the pixels are made."""
        prov = super().provenance()
        prov.update(hf_processor=self.how, hf_processor_settings=json.loads(json.dumps(
            self.settings, default=str)), resize_crop=f"transformers {self.how}",
            hf_pixels="processor resize/crop (uint8), then ToTensor + Normalize arithmetic"
            if self.uint8 else "the processor's output as it is (no recipe states it)")
        prov["library_versions"] = dict(prov["library_versions"], transformers=transformers.__version__)
        return prov

    def preprocess(self, path: str) -> np.ndarray:
        """One image as the loader makes it (uint8 HWC, or the processor's float32 CHW)."""
        return self.loader(path)

    def _load(self):
        return self.loader

    def pixel_loader(self):
        """(key, load) of the uint8 pixels; None when the whole processor runs."""
        if not self.uint8:
            return None
        return "hf:" + json.dumps(self.settings, sort_keys=True, default=str), self.loader

    def network_input(self, inputs) -> torch.Tensor:
        """uint8 pixels normalised on the device, or the processor's output as it is."""
        if self.uint8:
            return self.pixels_input(inputs)
        x = torch.as_tensor(inputs).to(self.device, non_blocking=True)
        return x.contiguous(memory_format=self.memory_format)


def from_config(config, **numerics) -> HfBackend:
    """The backend of a :class:`~imagenet_bench.run.config.RunConfig` of an ``hf:`` model."""
    if config.preprocess != "reference":
        raise InputError(f"{config.model_id}: hf models use their own image processor; the 2019 "
                         f"recipe is for its 34 models. Fix: drop --preprocess")
    entry = config.spec.entry
    backend = PIL if PIL in config.model_id.settings else None
    model, processor, prov = load(entry, config.pretrained, config.seed, backend)
    index, reason = hf_labels.mapping(model.config.id2label)
    if reason:
        raise InputError(f"{config.model_id.base} cannot be scored on ImageNet-1k: {reason}. Fix: "
                         f"pick a checkpoint with an ImageNet-1k head (`imagenet-bench models "
                         f"--framework hf`)")
    recipe, loader, how, settings = preprocessing(processor, model.config)
    uint8 = not isinstance(loader, ProcessorOutput)
    known = "recipe from" in (entry.not_runnable_reason or "")  # an entry read from its config
    config = config.with_recipe(recipe, known and recipe != recipes.from_entry(entry))
    prov["hf_labels"] = "identity" if index == list(range(len(index))) else "mapped from config.id2label"
    return HfBackend(Classifier(model, index), config, prov, recipe=recipe, loader=loader,
                     uint8=uint8, how=how, settings=settings, **numerics)
