"""The zero-shot head of an open_clip model: class names x prompt templates -> a (dim, classes) matrix.

The class names are open_clip's own ``IMAGENET_CLASSNAMES`` (CLIP's hand-edited
names, not the package's WordNet lemmas) and the templates one of open_clip's
sets (:data:`TEMPLATE_SETS`: OpenAI's 80 by default, the 7 "simple" ones with
``+templates-simple``). :func:`build_head` does what open_clip's
``build_zero_shot_classifier`` does (each class: every template's text
embedding, normalised, averaged, normalised again) with a progress bar that
says the cost: 1,000 x 80 = 80,000 text passes, minutes on a GPU and about an
hour for ViT-B-32 on a CPU. :func:`cached_head` keeps the result as a ``.npy``
file in the user's cache (``$XDG_CACHE_HOME/imagenet_bench/openclip_heads``),
named by a digest of the weights, the tokenizer, the template set and its
texts and the class names, written atomically, so it is built once.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from imagenet_bench.cache import atomic

#: --template set name (``+templates-<name>``; "openai" is the default, unnamed) -> open_clip name
TEMPLATE_SETS = {"openai": "OPENAI_IMAGENET_TEMPLATES", "simple": "SIMPLE_IMAGENET_TEMPLATES"}
#: the run setting that picks the simple set
SIMPLE_SETTING = "templates-simple"


def templates(name: str) -> Sequence[Callable[[str], str]]:
    """open_clip's template set ``name`` (a key of :data:`TEMPLATE_SETS`)."""
    from open_clip import zero_shot_metadata
    return getattr(zero_shot_metadata, TEMPLATE_SETS[name])


def classnames() -> Sequence[str]:
    """open_clip's 1,000 ImageNet class names, in class-index order."""
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES
    return IMAGENET_CLASSNAMES


def template_set_of(settings: Sequence[str]) -> str:
    """The template set a model id's run settings ask for."""
    return "simple" if SIMPLE_SETTING in settings else "openai"


def cost_text(n_classes: int, n_templates: int) -> str:
    """The progress bar's description: how many text passes, and what that costs."""
    return (f"zero-shot head: {n_classes:,} classes x {n_templates} templates = "
            f"{n_classes * n_templates:,} text passes (built once; minutes on a GPU, "
            f"about an hour for ViT-B-32 on a CPU)")


def build_head(model, tokenizer, names: Sequence[str], temps: Sequence[Callable[[str], str]],
               device="cpu", classes_per_batch: int = 10, progress: bool = True) -> torch.Tensor:
    """The (embed_dim, len(names)) zero-shot classifier of ``model``: for each class, the mean of
    its normalised text embeddings over ``temps``, normalised (float32, on ``device``)."""
    cols = []
    bar = tqdm(total=len(names) * len(temps), desc=cost_text(len(names), len(temps)),
               unit="text", disable=not progress, leave=False)
    with torch.inference_mode(), bar:
        for start in range(0, len(names), classes_per_batch):
            batch = names[start:start + classes_per_batch]
            tokens = tokenizer([t(c) for c in batch for t in temps]).to(device)
            emb = model.encode_text(tokens, normalize=True).float()
            emb = emb.reshape(len(batch), len(temps), -1).mean(dim=1)
            cols.append((emb / emb.norm(dim=1, keepdim=True)).T)
            bar.update(len(batch) * len(temps))
    return torch.cat(cols, dim=1)


def key(weights: str, tokenizer: str, template_set: str, names: Sequence[str],
        temps: Sequence[Callable[[str], str]]) -> str:
    """sha256 of what the head depends on: weights, tokenizer, the templates' texts, the names."""
    record = {"weights": weights, "tokenizer": tokenizer, "templates": template_set,
              "template_texts": [t("{}") for t in temps], "classnames": list(names)}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def cache_dir() -> str:
    """``$XDG_CACHE_HOME/imagenet_bench/openclip_heads`` (``~/.cache`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "imagenet_bench", "openclip_heads")


def head_path(stem: str, digest: str) -> str:
    """The cache file of one head: ``<model file stem>.<template set>-<sha12>.npy``."""
    return os.path.join(cache_dir(), f"{stem}-{digest[:12]}.npy")


def cached_head(path: str, build: Callable[[], torch.Tensor]) -> np.ndarray:
    """The head stored at ``path``, or ``build()`` written there atomically first."""
    if os.path.isfile(path):
        return np.load(path)
    head = build().detach().cpu().numpy().astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, head)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic.write_bytes(path, buf.getvalue())
    return head


def tokenizer_id(arch: str, hub_repo: Optional[str]) -> str:
    """What names the tokenizer in the head's key: the hub repository, or open_clip's BPE
    tokenizer with its version and context length."""
    import open_clip
    if hub_repo:
        return f"hf-hub:{hub_repo}"
    ctx = (open_clip.get_model_config(arch) or {}).get("text_cfg", {}).get("context_length", 77)
    return f"open_clip SimpleTokenizer {open_clip.__version__} context {ctx}"
