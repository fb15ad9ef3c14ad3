"""Model libraries as plugins: one declared :class:`Library` per library, found through entry points.

A model library (torchvision, keras.applications, or a third party's)
is one :class:`Library` object: its name (the framework part of a model id,
``torch:resnet50.IMAGENET1K_V1``), the catalog file the core reads without
importing the framework, the pip extra it needs, the options it honours
(:class:`Capabilities`) and the ``"module:callable"`` of its
``from_config(config)``, imported only when a model is run.

Every library -- the package's own three too -- is registered
through the entry-point group :data:`GROUP` (the convention pytest and tox
use)::

    [options.entry_points]            # or setup(entry_points=...), [project.entry-points...]
    imagenet_bench.libraries =
        toy = toy_plugin.library:LIBRARY

The entry points are read once, lazily (:func:`libraries`; through
:mod:`imagenet_bench.models.entry_points`, which remembers the scan of the
installed distributions until one of them changes), and each object
must declare the plugin API it was written for (:data:`PLUGIN_API`): a
mismatch, a duplicate name or an object that is not a :class:`Library` is a
:class:`PluginError` naming the distribution and the fix, never a silent
override. The same entry point seen twice (an editable install beside a
built wheel) counts once. Loading a declaration imports no framework, so
``models``, ``score`` and ``--help`` stay light. Standard library only.
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from imagenet_bench.errors import BenchError
from imagenet_bench.models import entry_points
from imagenet_bench.models.recipe import Legacy2019

#: the entry-point group every model library is registered in
GROUP = "imagenet_bench.libraries"
#: the version of this plugin API (the fields of Library and Capabilities, from_config's contract).
#: 2: ``Capabilities.legacy2019`` holds the library's :class:`Legacy2019` pipeline (1: a bool, which
#: a plugin written for 1 would still pass) and ``Library.hub_org`` is new.
PLUGIN_API = 2


class PluginError(BenchError):
    """A model-library plugin that cannot be used: wrong API version, duplicate name, bad object."""


@dataclass(frozen=True)
class Capabilities:
    """The command-line options a library honours; ``run.config.build`` refuses the others."""

    recipe_overrides: bool = True  # --resize/--crop/--interpolation/--mean/--std change its pixels
    #: --preprocess legacy2019: the 2019 study's pipeline of its models (None: not offered); only
    #: the study's libraries (torch, keras) have one, its 34 models are models/study2019.STUDY_2019
    legacy2019: Optional[Legacy2019] = None
    fixed_input_size: bool = False  # the crop must equal the entry's input size (a fixed graph)
    amp: Tuple[str, ...] = ()  # autocast dtypes of --amp ("bf16", "fp16"); () = float32 only
    checkpoint_formats: Tuple[str, ...] = ()  # what --checkpoint FILE may be; () = not accepted
    weights_tags: bool = False  # --weights TAG picks another weights of the same architecture
    weights_file: bool = False  # --weights FILE names a weights file (Keras' spelling)
    random_weights: bool = True  # --weights none: seeded random weights (+random)
    devices: Tuple[str, ...] = ("auto", "cpu")  # --device values (a prefix: "cuda" allows "cuda:1")
    batching: bool = True  # --batch-size and --workers are honoured
    model_factory: bool = False  # --model-factory MODULE:CALLABLE runs through this library
    default_batch_size: int = 32  # images per batch when --batch-size is not given
    test_size: bool = False  # +test-size: the catalog's test_input_size/test_crop_pct recipe
    #: --save-logits: its backend's predict_logits gives the outputs before the softmax
    logits: bool = False
    #: why an option is refused, in the library's words: ("recipe" | "amp" | "resources", text)
    why: Tuple[Tuple[str, str], ...] = ()
    #: run settings requested by name (``+templates-simple``), each with how it departs from
    #: the published setup (``score --published`` names it as a likely reason)
    name_settings: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Library:
    """One model library, declared once (see the module docstring)."""

    name: str  # framework name in model ids and --framework ("torch", "keras", "toy")
    plugin_api: int  # the PLUGIN_API this declaration was written for
    catalog: Tuple[str, str]  # (package, resource) of its catalog JSON (catalog.load_file reads it)
    extra: str  # what to install for from_config: "pip install <extra>" text ("imagenet_bench[torch]")
    adapter: str  # "module:callable" of from_config(config) -> runner backend (imported lazily)
    capabilities: Capabilities
    description: str = ""  # one line for `models --framework` help and docs
    fallback: bool = False  # a bare name means this library only when no other library has it
    order: int = 100  # listing and lookup order (lower first)
    variants: Optional[str] = None  # "module:Class" of its `verify variants` rows (imported lazily)
    in_process: Optional[str] = None  # "module:callable" of an in-process backend for `verify`
    #: the `verify` checks it offers on that backend: (check, "module:callable(backend, examples,
    #: batch_size) -> report" with lines(), failed, inconclusive), e.g. ("determinism", ...)
    verify_checks: Tuple[Tuple[str, str], ...] = ()
    auto_amp: Optional[str] = None  # "module:callable(device) -> dtype" for --amp alone
    color: str = ""  # CSS colour of its models in the HTML report's plots; "" = the report's other
    publisher: str = ""  # who publishes its catalog's figures, in messages ("torchvision"); "" = name
    #: "module" of its published results tables beyond ImageNet-val (standard library only; read by
    #: analysis/published): rows(model) -> rows with img_size, top[table] = (top1, top5),
    #: describe(row, table), DATASETS (its tables) and CAVEATS (table -> how its figures differ
    #: from what is scored here); tables named as the datasets' published_table. None: val only
    results_tables: Optional[str] = None
    #: the Hugging Face hub organisation whose repositories are this library's own tags:
    #: ``hf-hub:ORG/NAME`` means ``<name>:NAME`` (timm's "timm"); "" = none
    hub_org: str = ""
    #: "module:callable(text) -> (ModelId, WeightsEntry)" resolving the ``<name>:...`` spellings
    #: its catalog cannot list (any Hub repository, a local folder; imported lazily, standard
    #: library only); None: only catalog entries
    names: Optional[str] = None
    #: "module:callable() -> {its model id: another library's id}" of the same weights in two
    #: libraries (standard library only): ``compare`` pairs their caches; None: none declared
    pairs: Optional[str] = None

    def import_adapter(self, target: Optional[str] = None) -> Any:
        """The object ``target`` ("module:name", default :attr:`adapter`) names, imported now.

        A missing third-party module is a :class:`BenchError` naming :attr:`extra`."""
        module, _, attr = (target or self.adapter).partition(":")
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name and (e.name == module or module.startswith(e.name + ".")):
                raise BenchError(f"--framework {self.name}: this installation has no {e.name} "
                                 f"module. Fix: reinstall the package that registers the "
                                 f"{self.name} library, or pick another --framework") from None
            raise BenchError(f"the {self.name} library's models need {e.name}, which is not installed. "
                             f"Fix: pip install '{self.extra}'") from None
        return getattr(mod, attr) if attr else mod

    def from_config(self, config, **kw):
        """The runner backend of a :class:`~imagenet_bench.run.config.RunConfig`."""
        return self.import_adapter()(config, **kw)


def _entry_points():
    return entry_points.entry_points(GROUP)


def _where(ep) -> str:
    dist = getattr(ep, "dist", None)
    return f"{ep.name} = {ep.value}" + (f" (distribution {dist.name} {dist.version})" if dist else "")


@functools.lru_cache(maxsize=None)
def _registry() -> Dict[str, Library]:
    seen: Dict[str, Any] = {}
    for ep in _entry_points():
        old = seen.get(ep.name)
        if old is not None:
            if old.value == ep.value:  # the same adapter installed twice (editable + wheel)
                continue
            raise PluginError(f"two model libraries are both named {ep.name!r}: {_where(old)} and "
                              f"{_where(ep)}. Fix: uninstall one of them (pip uninstall ...)")
        seen[ep.name] = ep
    out: Dict[str, Library] = {}
    for name, ep in seen.items():
        try:
            lib = ep.load()
        except Exception as e:  # a plugin's own import error, reported with its name
            raise PluginError(f"model library plugin {_where(ep)} cannot be loaded "
                              f"({type(e).__name__}: {e}). Fix: reinstall or uninstall it") from None
        if not isinstance(lib, Library):
            raise PluginError(f"model library plugin {_where(ep)} is a {type(lib).__name__}, not an "
                              f"imagenet_bench.models.libraries.Library. Fix: point the entry point "
                              f"at its Library object")
        if lib.plugin_api != PLUGIN_API:
            raise PluginError(f"model library plugin {_where(ep)} was written for plugin API "
                              f"{lib.plugin_api}; this imagenet_bench speaks {PLUGIN_API}. Fix: "
                              f"upgrade the plugin (or imagenet_bench) so the two match")
        if lib.name != name:
            raise PluginError(f"model library plugin {_where(ep)} declares the name {lib.name!r}. "
                              f"Fix: the entry point's name and Library.name must agree")
        out[name] = lib
    return dict(sorted(out.items(), key=lambda kv: (kv[1].order, kv[0])))


def libraries() -> Tuple[Library, ...]:
    """Every registered library, in listing order (``order``, then name).

    Raises :class:`PluginError` when none is registered (imagenet_bench not installed)."""
    libs = tuple(_registry().values())
    if not libs:
        raise PluginError(f"no model library is registered (entry-point group {GROUP} is empty): "
                          f"imagenet_bench is imported from a folder it was not installed from. "
                          f"Fix: pip install -e . in the repository (or install the package)")
    return libs


def names() -> Tuple[str, ...]:
    """The registered libraries' names, in listing order."""
    return tuple(lib.name for lib in libraries())


def get(name: str) -> Library:
    """The library named ``name``; a :class:`BenchError` lists the registered ones."""
    lib = _registry().get(name)
    if lib is None:
        raise BenchError(f"--framework {name}: no such backend. Fix: --framework one of "
                         f"{', '.join(sorted(names()))}")
    return lib


def find(name: str) -> Optional[Library]:
    """The library named ``name``, or None."""
    return _registry().get(name)


def color(name: str, default: str) -> str:
    """The colour the library ``name`` declares for its models in plots, else ``default``."""
    lib = _registry().get(name)
    return (lib.color if lib is not None else "") or default


def for_factory(name: Optional[str] = None) -> Library:
    """The library that runs a ``--model-factory`` model: ``name`` if given (it must declare
    ``model_factory``), else the first library that does."""
    if name is not None:
        lib = get(name)
        if not lib.capabilities.model_factory:
            able = [x.name for x in libraries() if x.capabilities.model_factory]
            raise BenchError(f"--model-factory is for --framework {' or '.join(able) or '(none)'}. "
                             f"Fix: --framework {' or '.join(able) or 'torch'}, or leave "
                             f"--framework out")
        return lib
    for lib in libraries():
        if lib.capabilities.model_factory:
            return lib
    raise BenchError("--model-factory: no installed model library runs custom models. Fix: pip "
                     "install 'imagenet_bench[torch]'")
