"""imagenet_bench: honest, reproducible ImageNet accuracy of pretrained models.

The core (registry, cache, scorer) imports numpy only; torch and tensorflow
are imported only inside their backend modules. The Python API
(:mod:`imagenet_bench.api`: ``imagenet_bench.score(...)``, ``imagenet_bench.load(...)`` ...)
is loaded on first use of one of its names, so ``import imagenet_bench`` imports nothing
but the standard library.
"""
__version__ = "0.1.0"

#: the names of the Python API, loaded from imagenet_bench.api when first used
API = ("Collection", "Loaded", "Results", "compare", "corruption", "errors", "load", "models", "per_class", "predict",
       "report", "report_data", "robustness", "score", "sweep_collect", "sweep_plan",
       "sweep_run", "sweep_status", "sweep_timm_tables", "Verification", "verify",
       "verify_determinism", "verify_drift", "verify_variants")


def __getattr__(name):
    if name in API:
        import importlib
        return getattr(importlib.import_module("imagenet_bench.api"), name)
    raise AttributeError(f"module 'imagenet_bench' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(API))
