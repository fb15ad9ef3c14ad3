"""Hugging Face transformers checkpoints as registry entries (standard library only).

What a ``hf:`` name means, without importing transformers (``models``, ``score`` and the
registry call it through ``Library.names``):

* **names.** ``hf:ORG/NAME`` (a Hub repository, revision ``main``), ``hf:ORG/NAME@REV`` (a
  branch, tag or commit), ``hf:PATH`` (a folder written by ``save_pretrained``; the path
  contains ``/`` and exists, or starts with ``.``, ``/`` or ``~``). Their canonical ids
  spell the repository as ``hf:ORG--NAME.REV`` (``/`` and ``.`` become ``--``, which Hub
  names never contain) and a folder as ``hf:local--FOLDER.sha-<sha8>`` of its files;
* **recipe.** :func:`recipe_of` states an image processor's settings (class defaults merged
  with the checkpoint's ``preprocessor_config.json``, or TimmWrapper's ``pretrained_cfg``)
  as a :class:`~imagenet_bench.models.recipe.Recipe` where one describes it exactly, else
  None and the reason (the adapter then feeds the processor's whole output);
* **entries.** :func:`resolve_name` is ``Library.names``: a catalogued repository gets its
  catalog entry (at the revision asked for), any other image classifier an uncatalogued entry
  built from its ``config.json`` and processor config when they are on disk (a local folder,
  or the Hub cache under ``HF_HUB_CACHE`` / ``HF_HOME``); else the recipe and labels are
  resolved when the model runs.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from importlib import resources
from typing import Any, Dict, List, Optional, Tuple

from imagenet_bench.errors import InputError
from imagenet_bench.models import catalog
from imagenet_bench.models.identity import ModelId, parse
from imagenet_bench.models.recipe import Recipe, from_crop_pct

NAME = "hf"
CATALOG = ("imagenet_bench.models", "data/hf.json")
CONFIG, PROCESSOR_CONFIG = "config.json", "preprocessor_config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
#: PIL resampling numbers (transformers' PILImageResampling) -> recipe interpolation
RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic"}
#: processor classes whose resize/crop is the base class's (size, crop_size; ConvNeXt's crop_pct)
RECIPE_CLASSES = ("ViTImageProcessor", "DeiTImageProcessor", "BitImageProcessor", "BeitImageProcessor",
                  "ConvNextImageProcessor", "MobileNetV1ImageProcessor", "MobileNetV2ImageProcessor",
                  "CLIPImageProcessor", "SiglipImageProcessor", "Dinov2ImageProcessor")
#: keys of a processor config that do not change an ImageNet image's pixels
INERT = {"image_processor_type", "processor_class", "do_convert_rgb", "do_reduce_labels",
         "reduce_labels", "default_to_square", "input_data_format", "data_format", "device",
         "return_tensors", "disable_grouping", "_processor_class", "feature_extractor_type",
         "backend", "do_pad", "pad_size", "image_seq_length", "patch_size"}
GEOMETRY = {"do_resize", "size", "resample", "do_center_crop", "crop_size", "crop_pct",
            "do_rescale", "rescale_factor", "do_normalize", "image_mean", "image_std"}
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


# --- recipes -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def catalog_data() -> dict:
    """The raw ``data/hf.json`` (entries, processor class defaults, declared pairs)."""
    res = resources.files(CATALOG[0]).joinpath(CATALOG[1])
    return json.loads(res.read_text(encoding="utf-8"))


def processor_settings(proc: dict) -> Tuple[str, dict]:
    """(processor class, its settings): the installed class's defaults (recorded by
    ``tools/gen_hf.py``) under the checkpoint's own values, as transformers merges them."""
    cls = str(proc.get("image_processor_type") or proc.get("feature_extractor_type") or "")
    for suffix in ("Fast", "Pil", "FeatureExtractor"):
        if cls.endswith(suffix):
            cls = cls[: -len(suffix)] + ("ImageProcessor" if suffix == "FeatureExtractor" else "")
    defaults = catalog_data().get("processors", {}).get(cls, {})
    return cls, {**defaults, **proc}


def _side(size: Any, what: str) -> Tuple[Optional[int], Optional[str]]:
    """(square side, None) or (shortest edge, "shortest") of a size dict; raises ValueError."""
    if isinstance(size, int):
        return size, None
    if not isinstance(size, dict):
        raise ValueError(f"{what} {size!r} is not a size")
    if set(size) == {"height", "width"}:
        if size["height"] != size["width"]:
            raise ValueError(f"{what} {size['height']}x{size['width']} is not square")
        return int(size["height"]), None
    if set(size) == {"shortest_edge"}:
        return int(size["shortest_edge"]), "shortest"
    raise ValueError(f"{what} {size!r} has keys a recipe does not state")


def _normalisation(s: dict) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    if not s.get("do_rescale", True) or abs(float(s.get("rescale_factor", 1 / 255)) - 1 / 255) > 1e-12:
        raise ValueError(f"rescale {s.get('do_rescale')} x{s.get('rescale_factor')} is not "
                         f"ToTensor's 1/255")
    if not s.get("do_normalize", True):
        return (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    mean, std = s.get("image_mean"), s.get("image_std")
    if isinstance(mean, (int, float)):
        mean = [mean] * 3
    if isinstance(std, (int, float)):
        std = [std] * 3
    if not (isinstance(mean, (list, tuple)) and isinstance(std, (list, tuple)) and len(mean) == len(std) == 3):
        raise ValueError(f"image_mean {mean!r} / image_std {std!r} are not 3 values each")
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _geometry(cls: str, s: dict, interpolation: str) -> Tuple[Optional[int], int, str]:
    """(resize, crop, crop_mode) of a processor of :data:`RECIPE_CLASSES`."""
    if not s.get("do_resize", True):
        raise ValueError("do_resize is false (the image keeps its own size)")
    side, kind = _side(s.get("size"), "size")
    if cls == "ConvNextImageProcessor":  # shortest_edge < 384: resize side/crop_pct, crop; else warp
        if side >= 384:
            return None, side, "squash"
        return int(side / float(s.get("crop_pct") or 224 / 256)), side, "center"
    crop = None
    if s.get("do_center_crop"):
        crop, _ = _side(s.get("crop_size"), "crop_size")
    if kind == "shortest":
        if crop is None:
            raise ValueError("a shortest_edge resize without a centre crop keeps the aspect ratio")
        return side, crop, "center"
    if crop is None or crop == side:
        return None, side, "squash"
    return side, crop, "squash"


def recipe_of(proc: dict) -> Tuple[Optional[Recipe], str]:
    """(Recipe, how it was read) of a processor config, or (None, why no recipe states it)."""
    cls, s = processor_settings(proc)
    if cls not in RECIPE_CLASSES:
        return None, f"{cls or 'an unnamed processor'} has steps of its own (the processor is run)"
    odd = sorted(k for k, v in s.items() if k not in GEOMETRY | INERT and v not in (None, False))
    if odd:
        return None, f"{cls} settings {', '.join(odd)} are not recipe steps (the processor is run)"
    interpolation = RESAMPLE.get(s.get("resample", 2) if s.get("resample") is not None else 2)
    try:
        if interpolation is None:
            raise ValueError(f"resample {s.get('resample')} is not nearest/bilinear/bicubic/lanczos")
        mean, std = _normalisation(s)
        resize, crop, mode = _geometry(cls, s, interpolation)
    except ValueError as e:
        return None, f"{cls}: {e} (the processor is run)"
    return Recipe(resize=resize, crop=crop, squash=mode == "squash", interpolation=interpolation,
                  normalization="torch", mean=mean, std=std, crop_mode=mode), cls


def timm_recipe(config: dict) -> Tuple[Optional[Recipe], str]:
    """The recipe of a TimmWrapper checkpoint's ``pretrained_cfg`` (timm's eval transform with
    timm's defaults: crop_pct 0.875, bicubic, ImageNet mean/std)."""
    cfg = config.get("pretrained_cfg") or {}
    size = cfg.get("input_size") or [3, 224, 224]
    if size[1] != size[2]:
        return None, f"TimmWrapper input {size[1]}x{size[2]} is not square (the processor is run)"
    return from_crop_pct(int(size[1]), float(cfg.get("crop_pct") or 0.875),
                         cfg.get("crop_mode") or "center", cfg.get("interpolation") or "bicubic",
                         cfg.get("mean") or (0.485, 0.456, 0.406),
                         cfg.get("std") or (0.229, 0.224, 0.225)), "TimmWrapperImageProcessor"


def is_timm(config: dict) -> bool:
    """Whether a ``config.json`` is a timm checkpoint's (transformers loads it as TimmWrapper)."""
    return config.get("model_type") == "timm_wrapper" or (
        "model_type" not in config and "architecture" in config and "pretrained_cfg" in config)


def checkpoint_recipe(config: dict, proc: Optional[dict]) -> Tuple[Optional[Recipe], str]:
    """The recipe of a checkpoint from its ``config.json`` and processor config."""
    if is_timm(config):
        return timm_recipe(config)
    if proc is None:
        return None, f"no {PROCESSOR_CONFIG} (the processor is run)"
    return recipe_of(proc)


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
    of each local id this machine has resolved, so that a plan or a cache names it again."""
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
        seen = "was not resolved on this machine" if folder is None else \
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
