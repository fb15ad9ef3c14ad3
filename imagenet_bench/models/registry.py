"""The model registry: name lookup over the generated catalog, plus the 2019 study.

Every pretrained weight of the supported libraries is a catalog entry
(:mod:`imagenet_bench.models.catalog`, generated data read with ``json``).
This module turns what a user types into a canonical
:class:`~imagenet_bench.models.identity.ModelId` and its entry
(:func:`resolve`), and keeps what the 2019 Keras-vs-PyTorch study needs: the
lookup of its 34 models (:mod:`imagenet_bench.models.study2019`), their weights,
the ``legacy2019`` recipes and the keras/torch family pairs used by ``compare``.

Accepted spellings, case-insensitively: ``torch:resnet50``,
``torch:resnet50.IMAGENET1K_V2``, ``ResNet50_Weights.IMAGENET1K_V2``,
``keras:ResNet50``, ``keras:resnet50``, the 2019 names (``mobilenetV2``,
``inceptionresnetv2``), timm's ``hf-hub:timm/resnet50.a1_in1k``, each
optionally followed by run settings (``+legacy2019``). A name without a tag means the registry default: for the
34 models of 2019 the weights they used (``IMAGENET1K_V1``, ``imagenet``),
otherwise the library's ``DEFAULT`` resolved to its real tag.

Standard library only (the scorer uses it).
"""
from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from imagenet_bench.errors import InputError
from imagenet_bench.models import catalog, libraries
from imagenet_bench.models import recipe as recipes
from imagenet_bench.models.identity import CUSTOM, IdentityError, ModelId, from_string, parse
from imagenet_bench.models.recipe import Recipe
from imagenet_bench.models.study2019 import STUDY_2019, Study2019

PREPROCESS_MODES = ("reference", "legacy2019")
LEGACY = "legacy2019"


class AmbiguousNameError(InputError):
    """A bare name that several frameworks have; the message lists every full name."""


@dataclass(frozen=True)
class ModelSpec:
    """A catalog entry seen through the registry: identity, recipe, and its 2019 role if any."""

    id: ModelId  # canonical identity of the weights (no run settings)
    entry: Any  # the catalog's WeightsEntry (every field of the generated data)
    study: Optional[Study2019] = None  # set for the 34 models of 2019

    def recipe(self, mode: str = "reference") -> Recipe:
        """The preprocessing recipe for ``mode`` ("reference" or "legacy2019")."""
        ref = recipes.from_entry(self.entry)
        if mode == "reference":
            return ref
        if mode == LEGACY:
            if self.study is None:
                raise InputError(f"{self.id}: --preprocess legacy2019 is the 2019 study's "
                                 f"pipeline and exists for its 34 models only "
                                 f"(see `imagenet-bench models`). Fix: use --resize/--crop/"
                                 f"--interpolation for another recipe")
            pipeline = libraries.get(self.id.framework).capabilities.legacy2019
            return recipes.legacy2019(pipeline, self.study.legacy_resize,
                                      int(self.entry.input_size), ref.normalization)
        raise InputError(f"unknown preprocessing mode {mode!r}. Fix: --preprocess "
                         f"{' or '.join(PREPROCESS_MODES)}")


# --- indexes over the catalog ------------------------------------------------------------------

def _all_entries() -> List[Any]:
    return list(catalog.entries())


@functools.lru_cache(maxsize=None)
def _fw_index(framework: str) -> Dict[str, Dict[str, Any]]:
    """Lookups over one framework's entries (reads only its library's data file):
    ``by_arch`` lower-case architecture -> entries, ``aliases`` lower-case alias -> entry,
    ``by_model`` lower-case canonical name -> entries."""
    by_arch: Dict[str, List[Any]] = {}
    aliases: Dict[str, Any] = {}
    by_model: Dict[str, List[Any]] = {}
    for e in catalog.entries(framework):
        by_arch.setdefault(e.architecture.lower(), []).append(e)
        by_model.setdefault(e.model.lower(), []).append(e)
        for a in e.aliases or ():
            aliases[a.lower()] = e
    return {"by_arch": by_arch, "aliases": aliases, "by_model": by_model}


@functools.lru_cache(maxsize=None)
def _study_index() -> Dict[Tuple[str, str], "Study2019"]:
    """(framework, 2019 name or architecture, lower-case) -> the 2019 study's model."""
    study = {(s.framework, s.name.lower()): s for s in STUDY_2019}
    study.update({(s.framework, s.arch.lower()): s for s in STUDY_2019})
    return study


def _study_of(entry) -> Optional[Study2019]:
    s = _study_index().get((entry.framework, entry.architecture.lower()))
    return s if s is not None and s.tag == entry.weights else None


def _default_entry(fw: str, entries: List[Any]) -> Any:
    study = _study_index().get((fw, entries[0].architecture.lower()))
    wanted = study.tag if study else None
    for e in entries:
        if (wanted and e.weights == wanted) or (not wanted and e.is_default):
            return e
    return entries[0] if len(entries) == 1 else sorted(entries, key=lambda e: e.weights)[-1]


def canonical_names(framework: Optional[str] = None) -> List[str]:
    """Every canonical weights name (``torch:resnet50.IMAGENET1K_V2``), sorted."""
    return sorted(e.model for e in _all_entries() if framework in (None, e.framework))


def _suggest(text: str, framework: Optional[str]) -> str:
    shown: Dict[str, str] = {}  # lower-case full name -> the name to show
    for s in STUDY_2019:
        shown[f"{s.framework}:{s.name}".lower()] = f"{s.framework}:{s.name}"
    for fw in libraries.names():
        for es in _fw_index(fw)["by_arch"].values():
            shown[f"{fw}:{es[0].architecture}".lower()] = f"{fw}:{es[0].architecture}"
    key = text.split("+")[0].split(".")[0].lower()
    names: Dict[str, List[str]] = {}  # what the typed name is compared with -> names to show
    for full, show in shown.items():
        if framework in (None, full.split(":")[0]):
            names.setdefault(full if ":" in key else full.split(":", 1)[1], []).append(show)
    import difflib  # here: only an unknown name needs it (the scoring path never does)
    close = difflib.get_close_matches(key, sorted(names), n=3, cutoff=0.6)
    hint = (f" Did you mean {' or '.join(dict.fromkeys(n for c in close for n in names[c]))}?"
            if close else "")
    return (f"unknown model {text!r}{f' for framework {framework}' if framework else ''}.{hint} "
            f"Fix: `imagenet-bench models` lists every name")


#: timm's prefix of a Hugging Face hub repository (``timm.create_model("hf-hub:timm/NAME")``)
HF_HUB = "hf-hub:"
_HUB_URL = "https://huggingface.co/"


@functools.lru_cache(maxsize=None)
def _hub_index() -> Dict[str, List[Any]]:
    """Lower-case hub repository (``timm/resnet50.a1_in1k``) -> the entries whose weights are there."""
    out: Dict[str, List[Any]] = {}
    for e in _all_entries():
        if e.url and e.url.startswith(_HUB_URL) and "/resolve/" not in e.url:
            out.setdefault(e.url[len(_HUB_URL):].lower(), []).append(e)
    return out


def from_hub(text: str) -> str:
    """timm's ``hf-hub:ORG/NAME[+settings]`` as the catalog's ``framework:arch.tag[+settings]``;
    other spellings unchanged. ``hf-hub:ORG/NAME`` is tag ``NAME`` of the library whose
    ``hub_org`` is ORG (timm's); another repository means the one entry whose weights it holds.
    Raises :class:`InputError` when none (or several)."""
    raw = text.strip() if isinstance(text, str) else ""
    if not raw.lower().startswith(HF_HUB):
        return text
    repo, plus, settings = raw[len(HF_HUB):].partition("+")
    key = repo.strip().lower()
    org, _, name = key.partition("/")
    owners = [lib for lib in libraries.libraries() if lib.hub_org]
    hits = []
    for lib in owners:
        if lib.hub_org.lower() == org:
            hits = _fw_index(lib.name)["by_model"].get(f"{lib.name}:{name}", [])
    hits = hits or _hub_index().get(key, [])
    if len(hits) != 1:
        spelled = "; ".join(f"{lib.name}'s own repositories are spelled hf-hub:{lib.hub_org}/<arch>.<tag> "
                            f"(`imagenet-bench models '{lib.name}:*'` lists them)" for lib in owners)
        which = (f"several entries have their weights there ({', '.join(e.model for e in hits)}). "
                 f"Fix: write one of them" if hits else
                 f"no catalog entry has its weights in the Hugging Face hub repository {repo!r}. "
                 f"Fix: {spelled or 'name the model as `imagenet-bench models` lists it'}")
        raise InputError(f"{raw!r}: {which}")
    return hits[0].model + plus + settings


def _own_names(text: str, framework: Optional[str]) -> Optional[Tuple[ModelId, Any]]:
    """(id, entry) of a name whose library resolves its own spellings (``Library.names``:
    ``hf:ORG/NAME``, a folder), or None for the catalog lookup."""
    if not isinstance(text, str):
        return None
    prefix, sep, _ = text.strip().partition(":")
    lib = libraries.find(prefix.lower() if sep else (framework or ""))
    if lib is None or not lib.names or (framework and framework != lib.name):
        return None
    return lib.import_adapter(lib.names)(text if sep else f"{lib.name}:{text.strip()}")


def _parse_catalog_name(text: str, framework: Optional[str], known: List[str]):
    """``(framework or None, arch, tag, settings)`` of a catalog spelling; refused, naming the
    fix, when it does not parse, names a --model-factory model or an unknown framework."""
    try:
        fw, arch, tag, settings = parse(text, framework)
    except IdentityError as e:
        raise InputError(f"{e}. Fix: write the model as framework:architecture.tag (e.g. "
                         f"torch:resnet50.IMAGENET1K_V1); `imagenet-bench models` lists "
                         f"them") from None
    if fw == CUSTOM:
        name = f"{arch}.{tag}" if tag else arch
        raise InputError(f"{text.strip()!r} is the id of a --model-factory model, not a catalog "
                         f"entry. Fix: `imagenet-bench predict --model-factory MODULE:CALLABLE "
                         f"--name {name} VAL_DIR` (the callable that builds it), with the options "
                         f"of its settings")
    if fw is not None and fw not in known:
        raise InputError(f"{text.strip()!r}: unknown framework {fw!r}; expected one of "
                         f"{', '.join(known)}. Fix: prefix the name with one of them (e.g. "
                         f"torch:resnet50)")
    return fw, arch, tag, settings


def _candidates(fw: Optional[str], arch: str, tag: Optional[str], known: List[str]):
    """``(alias entry, {})`` when ``arch.tag`` is an alias, else ``(None, framework ->
    entries of the architecture)`` over ``fw`` or, for a bare name, the primary libraries
    (a fallback library's only when none has it)."""
    head = (f"{arch}.{tag}" if tag else arch).lower()
    fws = [fw] if fw else sorted(known, key=lambda n: libraries.get(n).fallback)  # fallbacks last
    found: Dict[str, List[Any]] = {}
    for f in fws:
        if fw is None and found and libraries.get(f).fallback:
            # a bare name means a primary library's weights when one has it; a fallback library's
            # weights of the same architecture (a re-hosted copy) are spelled with its prefix
            break
        idx = _fw_index(f)
        alias = idx["aliases"].get(head)
        if alias is not None:
            return alias, {}
        study = _study_index().get((f, arch.lower()))
        entries = idx["by_arch"].get(arch.lower()) or (
            idx["by_arch"].get(study.arch.lower()) if study else None)
        if entries:
            found[f] = entries
    return None, found


def _pick(text: str, tag: Optional[str], found: Dict[str, List[Any]]) -> Tuple[str, Any]:
    """The framework and entry of ``tag`` (the default weights without one) among the architecture's
    entries found in one framework; several frameworks or an unknown tag are refused."""
    if tag and len(found) > 1:  # a tag only one framework has settles it
        found = {f: es for f, es in found.items()
                 if any(e.weights.lower() == tag.lower() for e in es)} or found
    if len(found) > 1:
        names = [_default_entry(f, es).model for f, es in found.items()]
        raise AmbiguousNameError(f"{text!r} exists in several frameworks: {' and '.join(names)}. "
                                 f"Fix: write the full name, e.g. {names[0]}")
    f, entries = next(iter(found.items()))
    if not tag or tag.upper() == "DEFAULT":
        return f, _default_entry(f, entries)
    hits = [e for e in entries if e.weights.lower() == tag.lower()]
    if not hits:
        tags = ", ".join(sorted(e.weights for e in entries))
        raise InputError(f"{f}:{entries[0].architecture} has no weights {tag!r}; the registry "
                         f"has {tags}. Fix: name one of those (`imagenet-bench models "
                         f"'{f}:{entries[0].architecture}*'`)")
    return f, hits[0]


def resolve(text: str, framework: Optional[str] = None) -> Tuple[ModelId, Any]:
    """``(ModelId with settings, catalog entry)`` for a user's spelling of a model.

    Raises :class:`InputError`: an ambiguous bare name lists the full names of
    every framework that has it; an unknown name suggests the closest ones. A
    bare name that a primary library has means theirs (``resnet18`` is
    ``torch:resnet18.IMAGENET1K_V1``); a ``fallback`` library's weights of such an
    architecture need its prefix or ``--framework`` (:mod:`models.libraries`).
    """
    known = libraries.names()
    if framework is not None and framework not in known:
        raise InputError(f"framework {framework!r}: the registry knows {', '.join(known)}. Fix: "
                         f"--framework one of those")
    text = from_hub(text)
    own = _own_names(text, framework)
    if own is not None:
        return own
    fw, arch, tag, settings = _parse_catalog_name(text, framework, known)
    alias, found = _candidates(fw, arch, tag, known)
    if alias is not None:
        return ModelId(alias.framework, alias.architecture, alias.weights, settings), alias
    if not found:
        raise InputError(_suggest(text, fw))
    f, entry = _pick(text, tag, found)
    return ModelId(f, entry.architecture, entry.weights, settings), entry


def spec_of_entry(entry) -> ModelSpec:
    """The :class:`ModelSpec` of a catalog entry."""
    return ModelSpec(ModelId(entry.framework, entry.architecture, entry.weights), entry,
                     _study_of(entry))


def get_model(text: str, framework: Optional[str] = None) -> ModelSpec:
    """The :class:`ModelSpec` of the weights ``text`` names (run settings are dropped)."""
    return spec_of_entry(resolve(text, framework)[1])


def identity_of(name: str) -> Optional[ModelId]:
    """The parsed canonical identity ``name`` (as caches store it), or None if it is not one."""
    try:
        return from_string(name)
    except IdentityError:
        return None


def spec_of(model_id) -> Optional[ModelSpec]:
    """The registry spec of a canonical id's base weights (a ModelId or its string), or None.

    ``torch:inception_v3.IMAGENET1K_V1+legacy2019`` -> the spec of
    ``torch:inception_v3.IMAGENET1K_V1``: a variant is measured against its weights.
    """
    if isinstance(model_id, str):
        model_id = identity_of(model_id)
    if model_id is None or libraries.find(model_id.framework) is None or not model_id.tag:
        return None
    entry = _by_model(model_id.framework).get(model_id.base.weights_name)
    if entry is None:  # another spelling of the weights (a cache written before canonical ids)
        try:
            return get_model(model_id.base.weights_name)
        except InputError:
            return None
    return spec_of_entry(entry)


@functools.lru_cache(maxsize=None)
def _by_model(framework: str) -> Dict[str, Any]:
    """Canonical weights name -> entry, for one framework (reads only that library's data)."""
    return {e.model: e for e in catalog.entries(framework)}


def list_models(pattern: Optional[str] = None, framework: Optional[str] = None,
                study2019: bool = False) -> List[ModelSpec]:
    """Specs sorted by canonical name, filtered by an fnmatch ``pattern``.

    The pattern is matched case-insensitively against the canonical name,
    ``framework:arch``, the architecture and the 2019 name. ``study2019``:
    only the 34 models of the 2019 study.
    """
    out = []
    for e in sorted(_all_entries(), key=lambda e: e.model):
        if framework and e.framework != framework:
            continue
        spec = spec_of_entry(e)
        if study2019 and spec.study is None:
            continue
        name = spec.study.name if spec.study else e.architecture  # the 2019 name, else the arch
        names = [str(spec.id), f"{e.framework}:{e.architecture}", e.architecture, name,
                 f"{e.framework}:{name}"]
        if pattern and not any(fnmatch.fnmatch(n.lower(), pattern.lower()) for n in names):
            continue
        out.append(spec)
    return out


def paired_families() -> List[Tuple[ModelSpec, ModelSpec]]:
    """(keras, torch) spec pairs of the 2019 architectures that exist in both frameworks."""
    by = {fw: {s.study.family: s for s in list_models(framework=fw, study2019=True)}
          for fw in ("keras", "torch")}
    return [(by["keras"][f], by["torch"][f]) for f in sorted(set(by["keras"]) & set(by["torch"]))]


def declared_pairs() -> List[Tuple[str, str]]:
    """(id, id) of the same weights in two libraries, as the libraries declare them
    (``Library.pairs``: an HF port and the original it was loaded from)."""
    out: List[Tuple[str, str]] = []
    for lib in libraries.libraries():
        if lib.pairs:
            out += sorted(lib.import_adapter(lib.pairs)().items())
    return out


def upgrade_name(framework: str, model: str) -> str:
    """The canonical id of a cache written before identities (``inception_v3.legacy2019``).

    Old caches stored the 2019 name plus dotted suffixes (a weights tag,
    ``random``, ``checkpoint``, ``legacy2019``). Returns ``model`` unchanged
    when it is already canonical or not a registry name.
    """
    if ":" in model:
        return model
    name, *suffixes = model.split(".")
    settings = [s for s in suffixes if s in (LEGACY, "random")]
    tags = [s for s in suffixes if s not in (LEGACY, "random", "checkpoint")]
    try:
        mid, _ = resolve(f"{framework}:{name}" + (f".{tags[0]}" if tags else ""))
    except InputError:
        return f"{framework}:{model}"
    return str(mid.with_settings(*settings))
