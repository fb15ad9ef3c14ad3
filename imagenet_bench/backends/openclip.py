"""The open_clip adapter: a zero-shot ImageNet classifier (image tower x text head) as a TorchBackend.

``from_config`` builds the CLIP model with the entry's builder
(``open_clip:create_model``, or a plugin's callable of the same signature), the
zero-shot head (:mod:`imagenet_bench.backends.openclip_head`, built once and
cached) and wraps both in :class:`ZeroShot`: logits = 100 x the normalised image
embedding @ the head, the scale CLIP_benchmark and open_clip's zero-shot
evaluation use. The pixels are the catalog entry's recipe, which is open_clip's
own eval transform in recipe terms (``tools/gen_openclip.py``;
``tests/test_openclip.py`` checks them pixel for pixel), decoded by
:class:`~imagenet_bench.backends.torch.TorchBackend`.

Nothing is downloaded behind the user's back: the weights and, for the tags
that need one, the tokenizer must be in the Hugging Face hub cache; when they
are not, a :class:`BenchError` names the repository, the file and the cache
folder to place it in.
"""
from __future__ import annotations

import importlib
import os
from typing import Optional

import torch

from imagenet_bench.backends import openclip_head as heads
from imagenet_bench.backends.torch import TorchBackend, pick_device
from imagenet_bench.errors import BenchError

#: open_clip's weights file names in a hub repository, in the order it tries them
HUB_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
LOGIT_SCALE = 100.0  # CLIP_benchmark / open_clip zero-shot eval: 100 * cosine similarity


class ZeroShot(torch.nn.Module):
    """An open_clip model's image tower followed by a fixed zero-shot head."""

    def __init__(self, model: torch.nn.Module, head: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("head", head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) normalised pixels -> (N, classes) logits."""
        feats = self.model.encode_image(x, normalize=True)
        return LOGIT_SCALE * feats @ self.head.to(feats.dtype)


def hub_folder(repo: str) -> str:
    """The Hugging Face hub cache folder of ``repo`` (HF_HUB_CACHE / HF_HOME decide the root)."""
    from huggingface_hub import constants
    return os.path.join(constants.HF_HUB_CACHE, "models--" + repo.replace("/", "--"))


def _cached(repo: str, names) -> Optional[str]:
    from huggingface_hub import try_to_load_from_cache
    for name in names:
        path = try_to_load_from_cache(repo, name)
        if isinstance(path, str) and os.path.isfile(path):
            return path
    return None


def hub_tokenizer(arch: str) -> Optional[str]:
    """The hub repository of ``arch``'s tokenizer, or None when it ships in open_clip's wheel."""
    import open_clip
    return (open_clip.get_model_config(arch) or {}).get("text_cfg", {}).get("hf_tokenizer_name") or None


def check_tokenizer(model: str, repo: str) -> None:
    """Refuse, naming the folder, when the hub tokenizer ``repo`` is not in the local hub cache."""
    if _cached(repo, ("tokenizer_config.json", "tokenizer.json")) is None:
        raise BenchError(
            f"{model}: its tokenizer is fetched from the Hugging Face hub ({repo}) and is not in "
            f"the local hub cache {hub_folder(repo)}. Fix: on a machine with internet access run "
            f"`hf download {repo}` and copy its {os.path.basename(hub_folder(repo))} folder into "
            f"the hub cache (HF_HUB_CACHE / HF_HOME set where it is)")


def weights_file(entry) -> str:
    """The cached weights file of a catalog entry; a :class:`BenchError` names the file and the
    hub cache folder to place it in when it is not there."""
    repo = (entry.url or "").partition("hf-hub:")[2]
    if not repo:
        raise BenchError(f"{entry.model}: the catalog names no hub repository for its weights "
                         f"(url {entry.url!r}). Fix: regenerate it with tools/gen_openclip.py")
    names = (entry.file_name,) if entry.file_name else HUB_FILES
    path = _cached(repo, names)
    if path is None:
        raise BenchError(
            f"the pretrained weights of {entry.model} are not in the Hugging Face hub cache and "
            f"are not downloaded here: open_clip reads {' or '.join(names)} of {repo} from "
            f"{hub_folder(repo)}. Fix: on a machine with internet access run `hf download {repo} "
            f"{names[0]}` and copy the {os.path.basename(hub_folder(repo))} folder into the hub "
            f"cache (HF_HUB_CACHE / HF_HOME set where it is), or run with --weights none")
    return path


def _builder(entry):
    module, _, name = entry.builder.partition(":")
    return getattr(importlib.import_module(module), name)


def build(config):
    """(open_clip model in eval mode, tokenizer, weights provenance) of ``config``."""
    import open_clip
    entry = config.spec.entry
    arch, tag = entry.architecture, entry.weights
    create = _builder(entry)  # first: a plugin's builder may register its model config
    repo = hub_tokenizer(arch)
    if repo:
        check_tokenizer(entry.model, repo)
    if config.pretrained:
        path = weights_file(entry)
        model = create(arch, pretrained=tag)
        prov = {"weights": tag, "weights_url": entry.url, "weights_file": os.path.basename(path)}
    else:
        torch.manual_seed(config.seed)
        model = create(arch, pretrained=None)
        prov = {"weights": f"random(seed={config.seed})"}
    return model.eval(), open_clip.get_tokenizer(arch), prov, repo


def from_config(config, **numerics) -> TorchBackend:
    """The backend of ``config``: the image tower and the cached zero-shot head of its templates."""
    import open_clip
    entry = config.spec.entry
    model, tokenizer, prov, repo = build(config)
    tset = heads.template_set_of(config.model_id.settings)
    temps, names = heads.templates(tset), heads.classnames()
    tok = heads.tokenizer_id(entry.architecture, repo)
    digest = heads.key(f"{entry.model} {prov['weights']}", tok, tset, names, temps)
    stem = config.model_id.base.file_stem + ("+random" if not config.pretrained else "")
    path = heads.head_path(f"{stem}.{tset}", digest)
    device = pick_device(config.device)

    def make() -> torch.Tensor:
        return heads.build_head(model.to(device), tokenizer, names, temps, device)

    head = torch.from_numpy(heads.cached_head(path, make))
    prov.update(zero_shot={"classnames": "open_clip.zero_shot_metadata.IMAGENET_CLASSNAMES",
                           "templates": f"open_clip.zero_shot_metadata.{heads.TEMPLATE_SETS[tset]}",
                           "n_templates": len(temps), "tokenizer": tok, "logit_scale": LOGIT_SCALE,
                           "head_file": os.path.basename(path), "head_sha256_key": digest})
    return TorchBackend(ZeroShot(model.cpu(), head), config, prov,
                        extra={"builder": entry.builder, "open_clip": open_clip.__version__},
                        **numerics)
