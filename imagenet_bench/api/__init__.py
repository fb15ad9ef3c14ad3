"""The Python API: the operations of the command line as functions returning typed results.

Every function takes the CLI's options as keyword arguments (same names, same defaults),
returns a :class:`Results` table (or the caches it loaded or wrote), raises
:class:`imagenet_bench.errors.BenchError` subclasses for user errors and never prints a
table or exits. The commands of ``imagenet_bench.commands`` parse, call these and render.
numpy and the standard library only, until :func:`predict` or a sweep runs a model.
See docs/python-api.md.
"""
from imagenet_bench.analysis.scorer import Loaded
from imagenet_bench.api.catalog import models
from imagenet_bench.api.corruption import corruption
from imagenet_bench.api.running import predict
from imagenet_bench.api.scoring import Collection, compare, errors, load, per_class, robustness, score
from imagenet_bench.api.sweeps import (report, report_data, sweep_collect, sweep_plan, sweep_run,
                                       sweep_status, sweep_timm_tables)
from imagenet_bench.api.table import Results
from imagenet_bench.api.variants import verify_variants
from imagenet_bench.api.verifying import Verification, verify, verify_determinism, verify_drift

__all__ = ["Collection", "Loaded", "Results", "compare", "corruption", "errors", "load", "models", "per_class", "predict",
           "report", "report_data", "robustness", "score", "sweep_collect", "sweep_plan",
           "sweep_run", "sweep_status", "sweep_timm_tables", "Verification", "verify",
           "verify_determinism", "verify_drift", "verify_variants"]
