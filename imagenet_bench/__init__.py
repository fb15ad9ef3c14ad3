"""imagenet_bench: honest, reproducible ImageNet accuracy of pretrained models.

The core (registry, cache, scorer) imports numpy only; torch and tensorflow
are imported only inside their backend modules. The Python API
(:mod:`imagenet_bench.api`: ``imagenet_bench.score(...)``, ``imagenet_bench.load(...)`` ...)
is loaded on first use of one of its names, so ``import imagenet_bench`` imports nothing
but the standard library.

Three API names are also the names of modules of the package: ``models``, ``report`` and
``errors``. ``imagenet_bench.models`` is then one object that is both: calling it calls
:func:`imagenet_bench.api.models`, and its attributes are the subpackage's
(``imagenet_bench.models.registry``), whichever of the two was imported first.
"""
import importlib
import sys
import types

__version__ = "0.1.0"

#: the names of the Python API, loaded from imagenet_bench.api when first used
API = ("Collection", "Loaded", "Results", "compare", "corruption", "errors", "load", "models", "per_class", "predict",
       "report", "report_data", "robustness", "score", "sweep_collect", "sweep_plan",
       "sweep_run", "sweep_status", "sweep_timm_tables", "Verification", "verify",
       "verify_determinism", "verify_drift", "verify_variants")
#: API names that are also modules of the package
SHARED = ("errors", "models", "report")


def _api(name: str):
    return getattr(importlib.import_module("imagenet_bench.api"), name)


class _Both:
    """``imagenet_bench.<name>`` for a name of :data:`SHARED`: called, the API function;
    its attributes (read, set, deleted), the module's."""

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _module(self):
        return importlib.import_module(f"{__name__}.{self._name}")

    def __call__(self, *args, **kwargs):
        return _api(self._name)(*args, **kwargs)

    #: help() and notebooks show the API function's documentation
    __doc__ = property(lambda self: _api(self._name).__doc__)

    def __getattr__(self, attr: str):
        if attr == "__wrapped__":  # inspect.signature follows it to the API function
            return _api(self._name)
        return getattr(self._module(), attr)

    def __setattr__(self, attr: str, value) -> None:
        setattr(self._module(), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(self._module(), attr)

    def __dir__(self):
        return dir(self._module())

    def __repr__(self) -> str:
        return (f"<imagenet_bench.{self._name}: the function imagenet_bench.api.{self._name} "
                f"and the module {__name__}.{self._name}>")


class _Package(types.ModuleType):
    """The package's module type: the :data:`SHARED` names stay :class:`_Both` when the
    import system binds the submodule of that name on the package."""


for _name in SHARED:
    setattr(_Package, _name, property(lambda self, n=_name: _Both(n), lambda self, value: None))
sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    if name in API:
        return _api(name)
    raise AttributeError(f"module 'imagenet_bench' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(API))
