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
    (its name in the cache: ``custom:NAME``). A Keras model object is refused: Keras runs in a
    child process that only loads a weights file into a catalog architecture
    (``predict("keras:ARCH", data, weights="m.weights.h5")``). ``weights="none"``: random weights.
    ``save_logits``: also store the logits (temperature scaling in ``score(calibration=True)``;
    torch, timm and open_clip models). ``progress``: the tqdm bar (``tqdm.auto``: a widget in
    notebooks).
    """
    from imagenet_bench.data import datasets
    from imagenet_bench.run import runner

    datasets.get(dataset)
    runner.check_writable(cache_dir)
    backend = _backend(model, save_logits=save_logits, framework=framework, weights=weights,
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


def _backend(model, *, save_logits, framework, recipe, name, **kw):
    """The backend of a model name (the library's adapter) or of a torch module with its recipe."""
    if isinstance(model, str):
        if recipe is not None or name is not None:
            raise InputError(f"predict({model!r}, recipe=..., name=...): recipe and name go with "
                             f"a torch.nn.Module. Fix: leave them out for a named model (its "
                             f"recipe is the registry's; change it with img_size, crop_pct, ...)")
        from imagenet_bench.models import libraries
        from imagenet_bench.run import backend, config
        cfg = config.build(model, framework, **kw)
        if save_logits:
            check_logits([cfg])
        return backend.build(libraries.get(cfg.framework), cfg)
    if recipe is None or not name:
        raise InputError(f"predict(<{type(model).__name__}>): an in-memory model needs its "
                         f"preprocessing and a name. Fix: pass recipe=Recipe(...) (see "
                         f"imagenet_bench.models.recipe) and name='my-model'")
    if type(model).__module__.split(".")[0] in ("keras", "tf_keras", "tensorflow"):
        raise InputError(f"predict(<{type(model).__name__}>): a Keras model object cannot be run "
                         f"from memory: Keras models run in a child process that builds a "
                         f"catalog architecture and loads a weights file into it. Fix: if it is a "
                         f"keras.applications architecture, model.save_weights('m.weights.h5') "
                         f"and predict('keras:ARCH', data, weights='m.weights.h5'); else pass a "
                         f"torch.nn.Module")
    from imagenet_bench.backends import torch as torch_backend
    return torch_backend.from_module(model, name, recipe, device=kw["device"],
                                     batch_size=kw["batch_size"], workers=kw["workers"],
                                     threads=kw["threads"])


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
