"""``verify variants`` from Python: :func:`verify_variants`, the same weights run every way,
paired against the reference.

Runs the reference (fp32, eager, the framework's default backend: PyTorch batches of
``batch_size``; Keras on TensorFlow one image at a time) and each chosen variant over the same
images, each through :func:`imagenet_bench.run.runner.run` (cached, resumable; one cache per
variant under ``cache_dir``, named ``<model>+<variant>``), and returns one row per variant
(:mod:`imagenet_bench.analysis.variants`): accuracies, Δtop-1 with its paired interval, flips
each way, McNemar's exact p, top-5 agreement, |Δprob| on the reference's top-1 class and
images/s. A variant that cannot run here is a ``skipped: <reason>`` row.

Variants that need calibration images (``onnx-int8``, ``openvino-int8``, ``quantized``) take
the first ``calibration_split`` rows; those rows are then left out of every row's scoring.
The Keras parent process never imports Keras or TensorFlow; importing this module imports
numpy and the standard library only (the variant registry is read when called).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from imagenet_bench.api.table import Results
from imagenet_bench.cache.locations import RUNS_DIR
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.report import columns as report_columns

TIMING_FILE = "variants-timing.json"  # images/s of each cache's run, beside the caches
CACHE_DIR = os.path.join(RUNS_DIR, "variants")


def parse_variants(text: Optional[str], default: Sequence[str] = ()) -> List[str]:
    """The requested variant names (comma-separated ``text``) in the registry's table order
    (``fp32`` is always the reference, not listed); ``default`` (the library's own list) when
    ``text`` is None."""
    from imagenet_bench.backends import runtimes as registry  # imports the image reader
    if text is None:
        return list(default)
    names = [v.strip() for v in text.split(",") if v.strip() and v.strip() != "fp32"]
    unknown = [v for v in names if v not in registry.NAMES]
    if unknown:
        raise InputError(f"--variants: unknown {', '.join(repr(u) for u in unknown)}. Fix: choose "
                         f"from {', '.join(registry.NAMES[1:])}")
    return [v for v in registry.NAMES if v in names]  # the registry's table order


def variant_maker(cfg, calibration, cache_dir: str, batch_size: int):
    """The reference and variant backends of ``cfg``'s model, from its library's declared
    ``variants`` class (``TorchVariants``, ``KerasVariants``, a plugin's), imported now."""
    from imagenet_bench.models import libraries
    lib = libraries.get(cfg.framework)
    if lib.variants is None:
        raise InputError(f"verify variants: the {lib.name} library declares no variants. Fix: "
                         f"pick a model of a library that does "
                         f"({', '.join(x.name for x in libraries.libraries() if x.variants)})")
    return lib.import_adapter(lib.variants)(cfg, calibration=calibration, cache_dir=cache_dir,
                                            batch_size=batch_size)


def _timing(cache_dir: str) -> Dict:
    path = os.path.join(cache_dir, TIMING_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def run_one(valset, backend, cache_dir: str, overwrite: bool = False,
            progress: bool = True) -> Tuple[object, Optional[float]]:
    """Run ``backend`` through the runner (cached, resumable; every probability kept, so
    |Δprob| has float32 resolution); return (predictions, images/s).

    images/s is this call's rate, or the one recorded when the cache was made
    (``variants-timing.json`` beside the caches).
    """
    from imagenet_bench.cache import atomic
    from imagenet_bench.cache import store as cache
    from imagenet_bench.run import runner
    opts = runner.RunOptions(out_dir=cache_dir, save_all_probs=True, overwrite=overwrite,
                             progress=progress, shard=runner.Shard())
    try:
        result = runner.run(valset, backend, opts)
    finally:
        backend.close()
    key = os.path.basename(result.cache_path)
    timing = _timing(cache_dir)
    if result.images_done:
        timing[key] = {"images_per_s": result.images_done / max(result.seconds, 1e-9),
                       "images": result.images_done}
        atomic.write_text(os.path.join(cache_dir, TIMING_FILE), json.dumps(timing, indent=1))
    rate = timing.get(key, {}).get("images_per_s")
    return cache.load(result.cache_path, with_all_probs=True), rate


def reference_config(model: str, framework: Optional[str] = None, *, factory: Optional[str] = None,
                     device: Optional[str] = None, batch_size: Optional[int] = 32,
                     workers: Optional[int] = None, **settings):
    """The reference's RunConfig: ``model`` a registry name (or, with ``factory``
    ``MODULE:CALLABLE``, the custom model's name); ``settings``: ``config.build``'s run
    settings. Batching libraries get ``device``/``batch_size``/``workers``; the others run
    one image at a time."""
    from dataclasses import replace

    from imagenet_bench.models import libraries
    from imagenet_bench.run import config
    cfg = config.build(model, framework, factory=factory, **settings)
    if libraries.get(cfg.framework).capabilities.batching:
        cfg = replace(cfg, device=device or "auto", batch_size=batch_size, workers=workers)
    return cfg


def default_variants(cfg) -> Tuple[str, ...]:
    """The default variant list of ``cfg``'s library (its variants class's ``DEFAULT``)."""
    from imagenet_bench.models import libraries
    lib = libraries.get(cfg.framework)
    return tuple(lib.import_adapter(lib.variants).DEFAULT) if lib.variants else ()


def _rows(cfg, valset, names, scored, calibration, batch_size,
          run_kw) -> Tuple[List[Dict], List[str], str]:
    """Run the reference and each variant; (table rows, a note per skipped variant, the
    reference's name)."""
    from imagenet_bench.analysis import variants as av
    maker = variant_maker(cfg, calibration, run_kw["cache_dir"], batch_size)
    ref, rate = run_one(valset, maker.build("fp32"), **run_kw)
    rows, notes = [av.accuracy_row("fp32", ref, scored, rate)], []
    for v in names:
        reason = maker.skip_reason(v)
        if reason is None:
            try:
                preds, rate = run_one(valset, maker.build(v), **run_kw)
                rows.append(av.paired_row(v, ref, preds, scored, rate))
                continue
            except BenchError as e:
                reason = str(e)
        notes.append(f"verify variants: {v}: skipped: {reason}")
        rows.append(av.skipped_row(v, reason))
    return rows, notes, maker.reference_name


def verify_variants(model: str, data: str, *, variants: Optional[str] = None,
                    framework: Optional[str] = None, factory: Optional[str] = None,
                    n: Optional[int] = None, calibration_split: int = 100,
                    cache_dir: str = CACHE_DIR, dataset: str = "imagenet-val",
                    devkit: Optional[str] = None, batch_size: Optional[int] = 32,
                    overwrite: bool = False, progress: bool = True, **settings) -> Results:
    """Run the reference (fp32) and each of ``variants`` (comma-separated; default the model
    library's list) on ``n`` images of ``data`` spaced evenly (default all); one row per
    variant (``imagenet-bench verify variants``; the title says which rows were scored).

    ``model``: a registry name, or with ``factory`` (``MODULE:CALLABLE`` returning a torch
    module) the custom model's name. ``settings``: the other run settings of ``predict``
    (``weights``, ``checkpoint``, ``resize``, ``crop``, ``img_size``, ``device``, ``workers``
    ...). The runs' own lines go to standard error; ``notes`` name the skipped variants."""
    from imagenet_bench.analysis import variants as av
    from imagenet_bench.backends import runtimes as registry
    from imagenet_bench.data import datasets

    parse_variants(variants)  # a misspelt variant fails before any model is built
    cfg = reference_config(model, framework, factory=factory, batch_size=batch_size, **settings)
    names = parse_variants(variants, default_variants(cfg))
    valset = datasets.discover(os.fspath(data), dataset, devkit=devkit)
    if n is not None:
        valset = valset.select(datasets.spaced_rows(valset.num_images, n))
    calibrating = registry.calibrated(names)
    split = calibration_split if calibrating else 0
    scored = av.scoring_mask(valset.num_images, split)
    calibration = [(valset.image_ids[r], valset.paths[r]) for r in range(split)]
    run_kw = dict(cache_dir=cache_dir, overwrite=overwrite, progress=progress)
    # the runs' own lines (acc@1 per cache, a model factory's messages) go to stderr
    with contextlib.redirect_stdout(sys.stderr):
        rows, notes, reference_name = _rows(cfg, valset, names, scored, calibration,
                                            batch_size, run_kw)
    ran = {r["variant"] for r in rows if r["status"] == "ok"}
    used = [v for v in calibrating if v in ran]
    held = ""
    if split:
        what = (f"calibrate {'/'.join(used)}" if used else
                f"were held out for {'/'.join(calibrating)} (skipped)")
        held = f"; rows 0-{split - 1} ({split} images) {what} and are excluded from every row"
    title = (f"verify variants: {reference_name} vs fp32, scored on "
             f"{int(scored.sum())} of {valset.num_images} images of {valset.root}{held}")
    return Results(rows, report_columns.VARIANTS, title=title, notes=notes)
