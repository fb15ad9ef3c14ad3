"""Running a model over a test set from Python: :func:`predict` (frameworks imported only here,
when called, by the model library's adapter)."""
from __future__ import annotations

import os
from typing import Optional, Sequence

from imagenet_bench.cache import locations
from imagenet_bench.cache import store as cache
from imagenet_bench.errors import InputError


def predict(model, data: str, *, dataset: str = "imagenet-val",
            cache_dir: str = locations.RUNS_DIR,
            framework: Optional[str] = None, weights: Optional[str] = None,
            checkpoint: Optional[str] = None, recipe=None, name: Optional[str] = None,
            preprocess: Optional[str] = None, img_size: Optional[int] = None,
            crop_pct: Optional[float] = None, resize: Optional[int] = None,
            crop: Optional[int] = None, interpolation: Optional[str] = None,
            mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
            amp: Optional[str] = None, device: str = "auto", batch_size: Optional[int] = None,
            workers: Optional[int] = None, threads: Optional[int] = None,
            checkpoint_every: int = 1000, skip_bad_images: bool = False,
            save_all_probs: bool = False, save_logits: bool = False, overwrite: bool = False,
            devkit: Optional[str] = None, progress: bool = True) -> cache.Predictions:
    """Predict every image of the test set in folder ``data`` and return the cache written to
    ``cache_dir`` (``imagenet-bench predict --cache-dir``; resumes an interrupted run).

    ``model``: a model name as every command takes it (``"torch:resnet50"``,
    ``"timm:resnet18.a1_in1k+random"``; with ``checkpoint`` a local weights file of that
    architecture), or a ``torch.nn.Module`` with ``recipe`` (a
    :class:`imagenet_bench.models.recipe.Recipe`, the preprocessing it expects) and ``name``
    (its name in the cache: ``custom:NAME``), or a Keras 3 model object with ``recipe`` and
    ``name``: saved as ``<cache_dir>/keras-models/<hash>.keras`` and loaded by a child process
    (``custom:NAME+keras-<sha8>``, the start of the saved model's content hash; its outputs must
    be softmax probabilities). ``weights="none"``: random weights.
    ``save_logits``: also store the logits (temperature scaling in ``score(calibration=True)``;
    torch, timm and open_clip models). ``progress``: the tqdm bar (``tqdm.auto``: a widget in
    notebooks).
    """
    from imagenet_bench.data import datasets
    from imagenet_bench.run import runner

    datasets.get(dataset)
    runner.check_writable(cache_dir)
    backend = _backend(model, cache_dir, save_logits=save_logits, framework=framework, weights=weights,
                       checkpoint=checkpoint,
                       recipe=recipe, name=name, preprocess=preprocess, img_size=img_size,
                       crop_pct=crop_pct, resize=resize, crop=crop, interpolation=interpolation,
                       mean=mean, std=std, amp=amp, device=device, batch_size=batch_size,
                       workers=workers, threads=threads)
    valset = datasets.discover(os.fspath(data), dataset, devkit=devkit)
    options = runner.RunOptions(out_dir=cache_dir, checkpoint_every=checkpoint_every,
                                skip_bad_images=skip_bad_images, save_all_probs=save_all_probs,
                                save_logits=save_logits, overwrite=overwrite, progress=progress,
                                summary=lambda line: None, log=lambda line: None)
    result = runner.run(valset, backend, options)
    return cache.load(result.cache_path)


#: predict's options that a model object's recipe and own weights replace
_NAMED_ONLY = ("framework", "weights", "checkpoint", "preprocess", "img_size", "crop_pct",
               "resize", "crop", "interpolation", "mean", "std", "amp")


def _backend(model, cache_dir, *, save_logits, framework, recipe, name, **kw):
    """The backend of a model name (the library's adapter), of a Keras model object (saved,
    then the keras library's adapter) or of a torch module, each object with its recipe."""
    from imagenet_bench.backends.keras import saved
    from imagenet_bench.models import libraries
    from imagenet_bench.run import backend, config
    if isinstance(model, str):
        if recipe is not None or name is not None:
            raise InputError(f"predict({model!r}, recipe=..., name=...): recipe and name go with "
                             f"a model object (torch.nn.Module or Keras model). Fix: leave them "
                             f"out for a named model (its recipe is the registry's; change it "
                             f"with img_size, crop_pct, ...)")
        cfg = config.build(model, framework, **kw)
    else:
        _check_object(model, framework, recipe, name, kw)
        if not saved.is_keras_model(model):
            from imagenet_bench.backends import torch as torch_backend
            return torch_backend.from_module(model, name, recipe, device=kw["device"],
                                             batch_size=kw["batch_size"], workers=kw["workers"],
                                             threads=kw["threads"])
        cfg = saved.config(model, name, recipe, cache_dir, threads=kw["threads"])
    if save_logits:
        check_logits([cfg])
    return backend.build(libraries.get(cfg.framework), cfg)


def _check_object(model, framework, recipe, name, kw) -> None:
    """Refuse a model object without a recipe and a name, or with options that set up a named
    model (or batches, for a Keras model, which runs one image at a time)."""
    from imagenet_bench.backends.keras import saved
    from imagenet_bench.models.recipe import Recipe
    if not isinstance(recipe, Recipe) or not name:
        raise InputError(f"predict(<{type(model).__name__}>): an in-memory model needs its "
                         f"preprocessing and a name. Fix: pass recipe=Recipe(...) (see "
                         f"imagenet_bench.models.recipe) and name='my-model'")
    keras_model = saved.is_keras_model(model)
    ignored = _NAMED_ONLY + (("batch_size", "workers") if keras_model else ())
    given = [k for k in ignored if (framework if k == "framework" else kw[k]) is not None]
    if keras_model and kw["device"] != "auto":
        given.append("device")
    if given:
        raise InputError(f"predict(<{type(model).__name__}>, {'=..., '.join(given)}=...): these "
                         f"options do not apply to this model object, which runs with its own "
                         f"weights and its recipe{', one image at a time' if keras_model else ''}. "
                         f"Fix: leave them out and put the preprocessing in recipe=Recipe(...)")


def check_logits(runs) -> None:
    """Refuse ``--save-logits`` for a model whose library does not declare ``logits``."""
    from imagenet_bench.models import libraries
    for cfg in runs:
        if not libraries.get(cfg.framework).capabilities.logits:
            able = [lib.name for lib in libraries.libraries() if lib.capabilities.logits]
            raise InputError(f"--save-logits: {cfg.model_id} runs in the {cfg.framework} library, "
                             f"whose backend gives probabilities only (no logits). Fix: leave "
                             f"--save-logits out for it, or use a model of "
                             f"{', '.join(able) or 'a library that declares logits'}")
