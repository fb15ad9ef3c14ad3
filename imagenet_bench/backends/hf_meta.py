"""Hugging Face transformers checkpoints as registry entries (standard library only).

What a ``hf:`` name means, without importing transformers (``models``, ``score`` and the
registry call it through ``Library.names``):

* **names.** ``hf:ORG/NAME`` (a Hub repository, revision ``main``), ``hf:ORG/NAME@REV`` (a
  branch, tag or commit), ``hf:PATH`` (a folder written by ``save_pretrained``; the path
  contains ``/`` and exists, or starts with ``.``, ``/`` or ``~``). Their canonical ids
  spell the repository as ``hf:ORG--NAME.REV`` (``/`` and ``.`` become ``--``, which Hub
  names never contain) and a folder as ``hf:local--FOLDER.sha-<sha8>`` of its files;
* **recipe.** :mod:`hf_recipe` states the checkpoint's processor config as a recipe;
* **entries.** :func:`resolve_name` is ``Library.names``: a catalogued repository gets its
  catalog entry (at the revision asked for), any other image classifier an uncatalogued entry
  built from its ``config.json`` and processor config when they are on disk (a local folder,
  or the Hub cache under ``HF_HUB_CACHE`` / ``HF_HOME``); else the recipe and labels are
  resolved when the model runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, Dict, List, Optional, Tuple

from imagenet_bench.backends.hf_recipe import (CATALOG, PROCESSOR_CONFIG, catalog_data,
                                               checkpoint_recipe, is_timm)
from imagenet_bench.errors import InputError
from imagenet_bench.models import catalog
from imagenet_bench.models.identity import IdentityError, ModelId, parse
from imagenet_bench.models.recipe import Recipe

NAME = "hf"
CONFIG = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_REV = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*/[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


# --- names ---------------------------------------------------------------------------------

def encode(repo: str) -> str:
    """``ORG/NAME`` as an id architecture: ``ORG--NAME`` with ``.`` as ``--`` too."""
    return repo.replace("/", "--", 1).replace(".", "--")


def decode(arch: str) -> str:
    """The repository of an :func:`encode`\\ d architecture (``--`` after the org is ``.``)."""
    org, _, name = arch.partition("--")
    return f"{org}/{name.replace('--', '.')}"


def is_local(text: str) -> bool:
    """Whether ``text`` (after ``hf:``) names a folder rather than a Hub repository."""
    return text.startswith((".", "/", "~")) or (os.sep in text and os.path.isdir(text))


def hub_cache() -> str:
    """The Hub cache folder huggingface_hub uses: HF_HUB_CACHE, else HF_HOME/hub, else
    XDG_CACHE_HOME/huggingface/hub (``~/.cache``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.path.expanduser(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "huggingface")
    return os.path.join(os.path.expanduser(home), "hub")


def repo_folder(repo: str) -> str:
    """The Hub cache folder of ``repo`` (``models--ORG--NAME``)."""
    return os.path.join(hub_cache(), "models--" + repo.replace("/", "--"))


def cached_snapshot(repo: str, revision: str) -> Optional[str]:
    """The snapshot folder of ``repo`` at ``revision`` in the Hub cache, or None."""
    folder = repo_folder(repo)
    ref = os.path.join(folder, "refs", revision)
    commit = revision
    if os.path.isfile(ref):
        with open(ref, encoding="utf-8") as f:
            commit = f.read().strip()
    snap = os.path.join(folder, "snapshots", commit)
    return snap if os.path.isfile(os.path.join(snap, CONFIG)) else None


def fetch_hint(repo: str, revision: str = "main") -> str:
    """The ``Fix:`` sentence of a checkpoint that is not on disk."""
    rev = "" if revision == "main" else f" --revision {revision}"
    return (f"Fix: on a machine with internet access run `hf download {repo}{rev}` (huggingface_hub's "
            f"CLI) and copy its {os.path.basename(repo_folder(repo))} folder into the Hub cache "
            f"{hub_cache()} (HF_HUB_CACHE / HF_HOME say where it is), or pass a folder written by "
            f"save_pretrained as -m hf:PATH")


def _read_json(path: str) -> Optional[dict]:
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path} cannot be read as JSON ({e}). Fix: save the checkpoint again "
                         f"(save_pretrained) or fetch it again") from None
    return data if isinstance(data, dict) else None


def folder_digest(path: str) -> str:
    """sha256 (first 8) of a checkpoint folder's config, processor config and weights files."""
    h = hashlib.sha256()
    for name in (CONFIG, PROCESSOR_CONFIG) + WEIGHT_FILES:
        p = os.path.join(path, name)
        if os.path.isfile(p):
            h.update(name.encode())
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:8]


# --- entries -------------------------------------------------------------------------------

def _entry(arch: str, tag: str, url: str, recipe: Optional[Recipe], num_classes: Optional[int],
           reason: Optional[str], runnable: bool, note: str) -> catalog.WeightsEntry:
    r = recipe or Recipe(resize=None, crop=224, squash=True, interpolation="bilinear",
                         normalization="torch")
    raw = {"framework": NAME, "architecture": arch, "weights": tag, "model": f"{NAME}:{arch}.{tag}",
           "aliases": [], "is_default": True, "builder": "transformers:AutoModelForImageClassification",
           "input_size": r.crop, "resize": r.resize, "crop": r.crop, "crop_mode": r.crop_mode,
           "interpolation": r.interpolation, "mean": list(r.mean), "std": list(r.std),
           "preprocessing": "torch", "preprocess_module": None, "num_classes": num_classes,
           "label_set": "imagenet-1k" if runnable else None, "runnable": runnable,
           "not_runnable_reason": reason if not runnable else note, "published_top1": None,
           "published_top5": None, "source": None, "params": None, "gflops": None,
           "recipe": None, "url": url, "file_name": None, "quantized_backend": None,
           "float_counterpart": None}
    return catalog.validate(raw, f"hf entry {arch}.{tag}", "tools/gen_hf.py")


def entry_of_folder(folder: str, arch: str, tag: str, url: str, note: str) -> catalog.WeightsEntry:
    """The entry of a checkpoint whose ``config.json`` is in ``folder``: recipe from its
    processor config, labels checked (:mod:`hf_labels`)."""
    from imagenet_bench.backends import hf_labels  # data layer: imported when an entry is built
    config = _read_json(os.path.join(folder, CONFIG)) or {}
    proc = _read_json(os.path.join(folder, PROCESSOR_CONFIG))
    recipe, how = checkpoint_recipe(config, proc)
    labels = config.get("id2label") or {}
    if is_timm(config) and not labels:  # transformers names them: label_names, else timm's info
        names = config.get("label_names")
        labels = dict(enumerate(names)) if names else {}
    if labels or not is_timm(config):
        _, reason = hf_labels.mapping(labels)
    else:  # timm's ImageNet info names a 1000-class head's labels when the model loads
        reason = None if config.get("num_classes") == 1000 else (
            f"its timm head has {config.get('num_classes')} classes and no label_names")
    return _entry(arch, tag, url, recipe, len(labels) or None, reason, reason is None,
                  f"{note}; recipe from {how}")


def _catalogued(repo: str) -> Optional[catalog.WeightsEntry]:
    key = repo.lower()
    for e in catalog.load_file(*CATALOG):
        if key in (a.lower() for a in e.aliases):
            return e
    return None


def resolve_name(text: str) -> Tuple[ModelId, Any]:
    """``Library.names`` of hf: the (id, entry) of ``hf:ORG/NAME[@REV]``, ``hf:PATH`` or a
    canonical ``hf:ORG--NAME.REV``, with its ``+settings``. Raises :class:`InputError`."""
    try:
        return _resolve(text)
    except IdentityError as e:
        raise InputError(f"{e}. Fix: write hf:ORG/NAME[@REVISION][+setting] (e.g. "
                         f"hf:google/vit-base-patch16-224+bf16) or hf:PATH of a save_pretrained "
                         f"folder") from None


def _resolve(text: str) -> Tuple[ModelId, Any]:
    body = text.strip()[len(NAME) + 1:] if text.strip().lower().startswith(NAME + ":") else text.strip()
    body, *settings = body.split("+")
    if is_local(body):
        return _local(body, settings)
    repo, _, rev = body.partition("@")
    if "/" not in repo:  # the canonical spelling ORG--NAME.REV
        _, arch, tag, _ = parse(f"{NAME}:{repo}")
        if arch.startswith("local--"):
            return _local(_recalled(arch, tag, repo), settings)
        if "--" not in arch:
            raise InputError(f"hf:{repo} is not a Hub repository. Fix: write hf:ORG/NAME (e.g. "
                             f"hf:google/vit-base-patch16-224) or hf:PATH of a save_pretrained folder")
        repo, rev = decode(arch), rev or tag
    rev = rev or "main"
    if not _REPO.match(repo) or ".." in repo or "--" in repo or decode(encode(repo)) != repo:
        raise InputError(f"hf:{body}: {repo!r} is not a Hub repository name this tool can spell. "
                         f"Fix: write hf:ORG/NAME (letters, digits, '-', '_', '.'), or save it "
                         f"locally and pass -m hf:PATH")
    if not _REV.match(rev):
        raise InputError(f"hf:{body}: revision {rev!r} has characters an id cannot hold. Fix: "
                         f"pass the commit hash instead (hf:{repo}@<sha>)")
    arch = encode(repo)
    known = _catalogued(repo)
    snap = cached_snapshot(repo, rev)
    url = f"https://huggingface.co/{repo}"
    if snap is not None:
        entry = entry_of_folder(snap, arch, rev, url, "catalogued" if known else "uncatalogued")
    elif known is not None:
        entry = known if rev == known.weights else catalog.validate(
            {**known.__dict__, "aliases": list(known.aliases), "mean": list(known.mean),
             "std": list(known.std), "weights": rev, "model": f"{NAME}:{arch}.{rev}"},
            f"hf entry {arch}.{rev}", "tools/gen_hf.py")
    else:
        entry = _entry(arch, rev, url, None, None, None, True,
                       f"uncatalogued; not in the local Hub cache: recipe and labels are resolved "
                       f"from its {PROCESSOR_CONFIG}/{CONFIG} when it runs")
    return ModelId(NAME, arch, rev, tuple(settings)), entry


def _local(path: str, settings: List[str]) -> Tuple[ModelId, Any]:
    folder = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(os.path.join(folder, CONFIG)):
        raise InputError(f"hf:{path}: {folder} has no {CONFIG}, so it is not a folder written by "
                         f"save_pretrained. Fix: pass the folder that holds {CONFIG} and the "
                         f"weights, or a Hub name hf:ORG/NAME")
    stem = re.sub(r"[^A-Za-z0-9_\-]", "-", os.path.basename(folder.rstrip(os.sep))) or "folder"
    arch, tag = f"local--{stem.replace('--', '-')}", f"sha-{folder_digest(folder)}"
    entry = entry_of_folder(folder, arch, tag, folder, f"uncatalogued local folder {folder}")
    _remember(f"{arch}.{tag}", folder)
    return ModelId(NAME, arch, tag, tuple(settings)), entry


def folders_file() -> str:
    """``$XDG_CACHE_HOME/imagenet_bench/hf_folders.json`` (``~/.cache`` when unset): the folder
    of each local id resolved here, so that a plan or a cache names it again."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "imagenet_bench", "hf_folders.json")


def _folders() -> Dict[str, str]:
    try:
        with open(folders_file(), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(key: str, folder: str) -> None:
    known = _folders()
    if known.get(key) != folder:
        from imagenet_bench.cache import atomic
        os.makedirs(os.path.dirname(folders_file()), exist_ok=True)
        atomic.write_text(folders_file(), json.dumps({**known, key: folder}, indent=1, sort_keys=True))


def _recalled(arch: str, tag: str, text: str) -> str:
    """The folder of a local id, as remembered; refused when unknown or changed since."""
    folder = _folders().get(f"{arch}.{tag}")
    if folder is None or not os.path.isfile(os.path.join(folder, CONFIG)) \
            or f"sha-{folder_digest(folder)}" != tag:
        seen = "was not resolved here" if folder is None else \
            f"was {folder}, whose files have changed or gone since"
        raise InputError(f"hf:{text}: the local checkpoint of this id {seen} ({folders_file()}). "
                         f"Fix: pass the folder itself, -m hf:PATH")
    return folder


def location(entry) -> Tuple[str, str]:
    """(what ``from_pretrained`` loads: a folder or a repository, revision) of an entry."""
    if entry.architecture.startswith("local--"):
        return entry.url, ""
    return decode(entry.architecture), entry.weights


def pairs() -> Dict[str, str]:
    """The catalog's declared pairs: hf model id -> the id of the same weights in another
    library (``tools/gen_hf.py``'s table)."""
    return dict(catalog_data().get("pairs", {}))
