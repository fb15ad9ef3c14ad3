"""Every pretrained classifier the libraries ship, one :class:`WeightsEntry` per weights.

Each model library (:mod:`imagenet_bench.models.libraries`) declares one
catalog file, JSON read here with the standard library only, so that
``models``, ``score`` and ``compare`` never import a framework. The package's
own files, ``imagenet_bench/models/data/<library>.json``, are generated from
the libraries' own metadata by the generators in ``tools/`` (each file names
its generator); a plugin ships its own. Each file
is validated on load: an unknown or missing key, or a value of the wrong
type, raises :class:`CatalogError` naming the file, the entry and the key.
"""
from __future__ import annotations

import collections
import fnmatch
import functools
import json
from dataclasses import dataclass, fields
from importlib import resources
from typing import List, Optional, Tuple

from imagenet_bench.errors import BenchError
from imagenet_bench.models import libraries

#: the package that holds the package's own catalog files (data/<library>.json)
PACKAGE = "imagenet_bench.models"
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


class CatalogError(BenchError):
    """A data file that does not follow the schema (regenerate it with the generator it names)."""


@dataclass(frozen=True)
class WeightsEntry:
    """One pretrained weights of one architecture, with the recipe its library publishes."""

    framework: str  # the model library's name ("torch", "keras", a plugin's)
    architecture: str  # library spelling: "resnet50", "ResNet50", "quantized_resnet50"
    weights: str  # weights tag: "IMAGENET1K_V2", "imagenet", "a1_in1k"
    model: str  # canonical identity "<framework>:<architecture>.<weights>"
    aliases: Tuple[str, ...]  # extra accepted spellings ("ResNet50_Weights.IMAGENET1K_V2")
    is_default: bool  # the library's DEFAULT weights for this architecture
    builder: str  # "module:callable" building the architecture
    input_size: int  # side of the square network input in pixels
    resize: Optional[int]  # shorter side resized to this before the crop; None = no resize
    crop: int  # side of the square crop in pixels
    crop_mode: str  # "center" (aspect-preserving resize then centre crop), "squash", ...
    interpolation: str  # resize filter: "nearest" | "bilinear" | "bicubic"
    mean: Optional[Tuple[float, ...]]  # per-channel mean on [0, 1] pixels (preprocessing "torch")
    std: Optional[Tuple[float, ...]]  # per-channel std on [0, 1] pixels (preprocessing "torch")
    preprocessing: str  # "torch" (mean/std on [0,1]); Keras "caffe" | "tf" | "torch" | "none"
    preprocess_module: Optional[str]  # Keras module whose preprocess_input applies
    num_classes: Optional[int]  # outputs of the classifier head; None = head not usable
    label_set: Optional[str]  # "imagenet-1k"; None when the head is not a classifier
    runnable: bool  # False when the weights cannot classify ImageNet (see not_runnable_reason)
    not_runnable_reason: Optional[str]  # why runnable is False; if True: what running it needs
    published_top1: Optional[float]  # published top-1 accuracy, percent
    published_top5: Optional[float]  # published top-5 accuracy, percent
    source: Optional[str]  # where published_top1/top5 come from
    params: Optional[int]  # number of parameters
    gflops: Optional[float]  # GFLOPS of one forward pass at input_size (library's figure)
    recipe: Optional[str]  # URL of the training recipe
    url: Optional[str]  # download URL of the weights file
    file_name: Optional[str]  # weights file name in the torch hub / Keras cache
    quantized_backend: Optional[str]  # "fbgemm" | "qnnpack" for quantized weights
    float_counterpart: Optional[str]  # canonical id of the float weights it was quantized from
    #: optional keys (a file may leave them out: null): timm's test-time recipe where it differs
    test_input_size: Optional[int] = None  # input side of resolve_data_config(use_test_size=True)
    test_crop_pct: Optional[float] = None  # its crop_pct (the pair is null when no test size)


KEYS = tuple(f.name for f in fields(WeightsEntry))
#: keys a catalog file may leave out (taken as null)
OPTIONAL = ("test_input_size", "test_crop_pct")
_LISTS = ("aliases", "mean", "std")
_KINDS = {  # key -> (accepted JSON types, null allowed)
    "aliases": (list, False), "is_default": (bool, False), "runnable": (bool, False),
    "input_size": (int, False), "crop": (int, False), "resize": (int, True),
    "num_classes": (int, True), "params": (int, True), "mean": (list, True), "std": (list, True),
    "published_top1": ((int, float), True), "published_top5": ((int, float), True),
    "gflops": ((int, float), True), "test_input_size": (int, True),
    "test_crop_pct": ((int, float), True),
    **{k: (str, False) for k in ("framework", "architecture", "weights", "model", "builder",
                                 "crop_mode", "interpolation", "preprocessing")},
}


#: per key, in field order: (key, accepted JSON types, null allowed, a list stored as a tuple)
_CHECKS = tuple((k, *_KINDS.get(k, (str, True)), k in _LISTS) for k in KEYS)
_KEY_SET = frozenset(KEYS)


def validate(raw: dict, where: str, generator: str = "tools/gen_registry.py") -> WeightsEntry:
    """One JSON entry as a :class:`WeightsEntry`; :class:`CatalogError` if it breaks the schema.

    ``generator``: what writes the file (its ``generator`` key), named in the fix.
    (One pass over :data:`_CHECKS` per entry: the 1,826 timm entries are validated
    whenever a command resolves a timm id.)"""
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: expected an object, got {type(raw).__name__}. Fix: "
                           f"regenerate with `python {generator}`")
    if raw.keys() != _KEY_SET:
        raw = {**dict.fromkeys(OPTIONAL), **raw}
        if raw.keys() != _KEY_SET:
            missing = [k for k in KEYS if k not in raw]
            unknown = sorted(set(raw) - _KEY_SET)
            raise CatalogError(f"{where}: missing keys {missing}, unknown keys {unknown}. Fix: "
                               f"regenerate with `python {generator}`")
    values = []
    for key, kinds, nullable, is_list in _CHECKS:
        value = raw[key]
        if value is None:
            if not nullable:
                _wrong_kind(where, key, value, kinds, nullable)
        elif not isinstance(value, kinds) or (value.__class__ is bool and kinds is not bool):
            _wrong_kind(where, key, value, kinds, nullable)
        elif is_list:
            value = tuple(value)
        values.append(value)
    entry = object.__new__(WeightsEntry)  # the fields checked above: the frozen __init__'s
    entry.__dict__.update(zip(KEYS, values))  # 32 object.__setattr__ calls cost twice as much
    return entry


def _wrong_kind(where: str, key: str, value, kinds, nullable: bool) -> None:
    names = [k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,))]
    raise CatalogError(f"{where}: key {key!r} has {value!r}; expected "
                       f"{' or '.join(names + (['null'] if nullable else []))}. Fix: regenerate "
                       f"the file with the script its 'generator' key names (tools/gen_*.py)")


def _resource(package: str, name: str):
    try:
        return resources.files(package).joinpath(name)
    except ModuleNotFoundError:
        raise CatalogError(f"catalog package {package!r} is not importable. Fix: reinstall the "
                           f"plugin that declares it") from None


def read_json(library: str) -> dict:
    """The raw content of the package's own ``data/<library>.json`` (generator, library,
    versions, entries)."""
    res = _resource(PACKAGE, f"data/{library}.json")
    if not res.is_file():
        raise CatalogError(f"unknown library {library!r}: no catalog data {res}. Fix: run the "
                           f"generator in tools/ or reinstall imagenet_bench")
    return json.loads(res.read_text(encoding="utf-8"))


def load(library: str) -> Tuple[WeightsEntry, ...]:
    """All entries of the package's own ``data/<library>.json``, validated (cached)."""
    read_json(library)  # an unknown library fails here, naming it
    return load_file(PACKAGE, f"data/{library}.json")


@functools.lru_cache(maxsize=None)
def load_file(package: str, name: str) -> Tuple[WeightsEntry, ...]:
    """All entries of the catalog file ``name`` inside ``package`` (package data), validated."""
    res = _resource(package, name)
    where = f"{package.replace('.', '/')}/{name}"
    if not res.is_file():
        raise CatalogError(f"no catalog data {where}. Fix: regenerate it or reinstall the package "
                           f"that ships it")
    try:
        data = json.loads(res.read_text(encoding="utf-8"))
    except ValueError as e:
        raise CatalogError(f"{where} is not JSON ({e}). Fix: regenerate it") from None
    rows = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise CatalogError(f"{where}: no 'entries' list. Fix: regenerate it (tools/gen_*.py) or "
                           f"reinstall the package that ships it")
    generator = str(data.get("generator") or "the generator that wrote it")
    computed = _computed() if any(isinstance(r, dict) and None in (r.get("params"), r.get("gflops"))
                                  for r in rows) else {}
    out = tuple(validate(_with_computed(r, computed),
                         f"{where} entry {i} ({r.get('model') if isinstance(r, dict) else r!r})",
                         generator)
                for i, r in enumerate(rows))
    dupes = sorted(m for m, n in collections.Counter(e.model for e in out).items() if n > 1)
    if dupes:
        raise CatalogError(f"{where}: duplicate model ids {dupes}. Fix: regenerate it with "
                           f"`python {generator}`")
    return out


def _with_computed(raw, computed: dict):
    """``raw`` with the counted params/gflops of ``computed`` where its own are null
    (``raw`` itself, not a copy, when there is nothing to merge)."""
    extra = computed.get(raw.get("model")) if computed and isinstance(raw, dict) else None
    if not extra:
        return raw
    return dict(raw, **{k: v for k, v in extra.items() if raw.get(k) is None})


@functools.lru_cache(maxsize=1)
def _computed() -> dict:
    """model id -> {"params", "gflops"} counted by ``tools/gen_flops.py`` (``data/flops.json``)
    for entries whose library publishes none; merged where an entry's own value is null."""
    res = resources.files("imagenet_bench.models").joinpath("data", "flops.json")
    if not res.is_file():
        return {}
    models = json.loads(res.read_text(encoding="utf-8")).get("models", {})
    return {m: {k: v[k] for k in ("params", "gflops") if k in v} for m, v in models.items()}


def library_entries(lib: "libraries.Library") -> Tuple[WeightsEntry, ...]:
    """The entries of one library's catalog; each must carry the library's name as framework."""
    out = load_file(*lib.catalog)
    wrong = [e.model for e in out if e.framework != lib.name]
    if wrong:
        raise CatalogError(f"{'/'.join(lib.catalog)}: entries {wrong[:3]} do not belong to library "
                           f"{lib.name!r} (framework field). Fix: regenerate the catalog")
    return out


def entries(framework: Optional[str] = None) -> List[WeightsEntry]:
    """Every entry of every registered library, optionally of one ``framework`` only."""
    libs = libraries.libraries() if framework is None else [
        lib for lib in libraries.libraries() if lib.name == framework]
    return [e for lib in libs for e in library_entries(lib)]


def match(pattern: Optional[str] = None, framework: Optional[str] = None) -> List[WeightsEntry]:
    """Entries whose model id, architecture or an alias fnmatches ``pattern`` (case-insensitive);
    an alias also matches with its library's prefix (``hf:google/vit*``), as model ids do."""
    if not pattern:
        return entries(framework)
    pat = pattern.lower()
    return [e for e in entries(framework)
            if any(fnmatch.fnmatchcase(name.lower(), pat)
                   for name in (e.model, e.architecture) + e.aliases
                   + tuple(f"{e.framework}:{a}" for a in e.aliases))]


def dumps(head: dict, key: str, items) -> str:
    """``head`` as JSON plus ``key`` holding ``items`` (list or dict), one item per line:
    the layout of the generated catalog files (diffs show one entry per line)."""
    def enc(value) -> str:
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    if isinstance(items, dict):
        start, end, lines = "{", "}", [f"{enc(k)}:{enc(v)}" for k, v in items.items()]
    else:
        start, end, lines = "[", "]", [enc(i) for i in items]
    return enc(head)[:-1] + f",{enc(key)}:{start}\n" + ",\n".join(lines) + f"\n{end}}}\n"
