"""The typed configuration of one model run, built once from the command line.

``predict`` turns its options into one frozen :class:`RunConfig` per model
(:func:`build`) and hands it to its model library's adapter
(``Library.from_config(config)``, :mod:`imagenet_bench.models.libraries`).
What the library honours is read from its declared ``Capabilities``; every
other option is refused here, naming it. Everything that changes outputs is
decided here and named in ``config.model_id``: the recipe (``+legacy2019``,
``+recipe-<sha8>`` when the recipe differs from the entry's, ``+test-size`` for a
timm tag's test-time size), the weights' origin (``+random``, ``+ckpt-<sha8>`` of
the checkpoint file's content) and numerics (``+bf16``/``+fp16``; ``--amp``
alone is settled here by the library's ``auto_amp``, the only step that imports
its framework). Standard library only otherwise.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Optional, Sequence

from imagenet_bench.cache.atomic import file_sha256
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.models import libraries, registry
from imagenet_bench.models import recipe as recipes
from imagenet_bench.models.identity import CUSTOM, IdentityError, ModelId, parse
from imagenet_bench.models.recipe import Recipe

AMP_DTYPES = ("bf16", "fp16")
NO_WEIGHTS = ("none", "random")
LEGACY = registry.LEGACY
TEST_SIZE = recipes.TEST_SIZE

#: recipe for a --model-factory model when no option says otherwise (ImageNet's usual one)
CUSTOM_BASE_RECIPE = Recipe(resize=256, crop=224, squash=False, interpolation="bilinear",
                            normalization="torch")


@dataclass(frozen=True)
class RunConfig:
    """What to run and how: one model, its recipe, weights, numerics and resources."""

    model_id: ModelId  # canonical identity of this run, settings included (the cache name)
    framework: str  # name of the model library that runs it (models.libraries; "torch" for custom)
    spec: Optional[registry.ModelSpec]  # registry weights (None for a --model-factory model)
    recipe: Recipe  # preprocessing actually used
    preprocess: str = "reference"  # "reference" | "legacy2019"
    overrides: Dict[str, Any] = field(default_factory=dict)  # recipe options given on the command line
    pretrained: bool = True  # False: random weights drawn from ``seed``
    checkpoint: Optional[str] = None  # absolute path of a weights file replacing the download
    factory: Optional[str] = None  # "package.module:callable" of a custom torch model
    amp: Optional[str] = None  # None (float32) | "bf16" | "fp16" (--amp alone settled by build)
    device: str = "auto"  # "auto" | "cpu" | "cuda[:N]" | "mps"
    batch_size: Optional[int] = None  # images per batch (build: the library's default)
    workers: Optional[int] = None  # decoding worker processes (None: backend default)
    threads: Optional[int] = None  # CPU threads per process (None: backend default)
    seed: int = 0  # random-weights seed
    series: Optional[Dict[str, Any]] = None  # checkpoint-series record of this file (run/series.py)
    test_size: bool = False  # +test-size: the entry's test_input_size/test_crop_pct (timm)

    @property
    def model(self) -> str:
        """The canonical identity string written in the cache."""
        return str(self.model_id)

    def with_amp(self, dtype: str) -> "RunConfig":
        """This config with autocast ``dtype`` ("bf16"/"fp16") settled (and named in the id)."""
        return replace(self, amp=dtype, model_id=self.model_id.with_settings(dtype))

    def with_recipe(self, recipe: Recipe, differs: bool) -> "RunConfig":
        """This config with the recipe its library resolved (e.g. from a tag's exact
        ``crop_pct``); the id's ``+recipe-<sha8>`` names it when it ``differs`` from the entry's."""
        mid = replace(self.model_id, settings=tuple(s for s in self.model_id.settings
                                                    if not s.startswith("recipe-")))
        if differs:
            mid = mid.with_settings(f"recipe-{recipes.digest(recipe)}")
        return replace(self, recipe=recipe, model_id=mid)


def _settings_from_name(name: str, settings: Sequence[str], preprocess: Optional[str],
                        weights: Optional[str], amp: Optional[str], checkpoint: Optional[str],
                        accepted: Sequence[str] = ()):
    """Settings written in the model name (``+legacy2019``, ``+random``, ``+bf16``) as options,
    and whether ``+test-size`` is asked for; an option that contradicts one is refused (else
    the name would silently win)."""
    test_size = False
    for s in settings:
        if s in accepted:  # a setting of the library's own (Capabilities.name_settings)
            continue
        if s == TEST_SIZE:
            given, test_size = [], True
        elif s == LEGACY:
            given = [("--preprocess", preprocess)] if preprocess not in (None, LEGACY) else []
            preprocess = LEGACY
        elif s == "random":
            given = [("--weights", weights)] if weights and weights.lower() not in NO_WEIGHTS else []
            given += [("--checkpoint", checkpoint)] if checkpoint else []
            weights = "none"
        elif s in AMP_DTYPES:
            given = [("--amp", amp)] if amp not in (None, s) else []
            amp = s
        else:
            raise InputError(_unnamable(name, s) + (
                f" (this library's own settings: {', '.join('+' + a for a in accepted)})"
                if accepted else ""))
        for option, value in given:
            raise InputError(f"{name}: +{s} in the name contradicts {option} {value} (the name "
                             f"asks for {s}). Fix: drop +{s} from the name, or leave {option} out")
    return preprocess, weights, amp, test_size


def _test_size_recipe(lib, mid, spec) -> Recipe:
    """The test-time recipe ``+test-size`` asks for; refused, naming the fix, for a library
    that does not declare it or an entry without a test size."""
    where = "`imagenet-bench models --test-size` lists the tags that have one"
    if not lib.capabilities.test_size:
        able = [x.name for x in libraries.libraries() if x.capabilities.test_size]
        raise InputError(f"{mid}+{TEST_SIZE}: +{TEST_SIZE} runs a tag at the test_input_size/"
                         f"test_crop_pct of its pretrained_cfg, which the {lib.name} models do "
                         f"not have (offered by: {', '.join(able) or 'no installed library'}). "
                         f"Fix: drop +{TEST_SIZE} from the name, or pick a tag that has one "
                         f"({where})")
    recipe = recipes.test_size(spec.entry)
    if recipe is None:
        raise InputError(f"{mid}+{TEST_SIZE}: {mid} has no test size (its pretrained_cfg gives no "
                         f"test_input_size/test_crop_pct other than its input_size "
                         f"{spec.entry.input_size}). Fix: drop +{TEST_SIZE} from the name ({where})")
    return recipe


def _refuse_unhonoured(lib, mid, *, preprocess, overrides, weights, checkpoint, amp, device,
                       batch_size, workers) -> None:
    """Refuse every option ``lib``'s declared capabilities do not honour, naming it and why."""
    caps, name = lib.capabilities, lib.name
    why = dict(caps.why)
    if not caps.recipe_overrides and (overrides or preprocess != "reference"):
        raise InputError(f"{mid}: {why.get('recipe', f'{name} models run their own transform')}; "
                         f"--preprocess and --resize/--crop/--interpolation/--mean/--std are not "
                         f"applied to them. Fix: leave those options out")
    if preprocess == LEGACY and caps.legacy2019 is None:
        raise InputError(f"{mid}: --preprocess legacy2019 is not offered by the {name} library. "
                         f"Fix: leave --preprocess out")
    if weights is not None and weights.lower() in NO_WEIGHTS and not caps.random_weights:
        raise InputError(f"--weights {weights}: the {name} library has no random weights. Fix: "
                         f"leave --weights out")
    if checkpoint and not caps.checkpoint_formats:
        raise InputError(f"--checkpoint {checkpoint}: the {name} library loads no weights file. "
                         f"Fix: leave --checkpoint out")
    if amp is not None and not caps.amp:
        able = [x.name for x in libraries.libraries() if x.capabilities.amp]
        raise InputError(f"--amp: {why.get('amp', f'the {name} backend runs float32 only')}. Fix: "
                         f"leave --amp out, or pick a model of "
                         f"{' or '.join(able) or '(none offers it)'}")
    if amp is not None and amp not in caps.amp + ("auto",):
        raise InputError(f"--amp {amp}: not a dtype of the {name} library. Fix: --amp "
                         f"{' or --amp '.join(caps.amp)}, or --amp auto (fp16 on CUDA, bf16 "
                         f"elsewhere)")
    bad_device = device not in (None, "auto") and device.split(":")[0] not in caps.devices
    given = [] if caps.batching else [
        o for o, v in (("--batch-size", batch_size), ("--workers", workers)) if v is not None]
    if bad_device and not caps.batching:
        given.append(f"--device {device}")
    if given:
        reason = why.get("resources", f"the {name} backend chooses its own batches and device")
        raise InputError(f"{', '.join(given)}: {reason}. Fix: leave {' and '.join(given)} out")
    if bad_device:
        raise InputError(f"--device {device!r} is not a device the {name} backend runs on. Fix: "
                         f"{', '.join(caps.devices)} (cuda:N picks one GPU)")


def custom_id(name: Optional[str]) -> ModelId:
    """The id ``custom:NAME`` of ``--name NAME``; an error showing the form ``--name`` takes."""
    form = ("Fix: give a plain name of letters, digits, '_' and '-', optionally with a .TAG "
            "(e.g. --name my_resnet or --name my_resnet.epoch10); the model's id is custom:NAME")
    text = (name or "").strip()
    if ":" in text or "+" in text:
        raise InputError(f"--name {name!r}: {'a framework prefix' if ':' in text else 'a +setting'} "
                         f"has no place in --name (the framework is custom; settings come from "
                         f"the options). {form}")
    try:
        _, arch, tag, _ = parse(text, CUSTOM)
    except (IdentityError, ValueError):
        raise InputError(f"--name {name!r} is not a model name. {form}") from None
    return ModelId(CUSTOM, arch, tag, ())


def _unnamable(name: str, setting: str) -> str:
    """Why ``+setting`` (a hash of a recipe or a file) cannot be asked for by name, and the
    options that make it."""
    base = name.split("+")[0]
    if setting.startswith("recipe-"):
        how = (f"it is a hash of the recipe options. Fix: give the options themselves, e.g. "
               f"`-m {base} --resize 256 --crop 224` (any of --resize/--crop/--interpolation/"
               f"--mean/--std/--img-size/--crop-pct); the cache's provenance 'preprocessing' "
               f"holds the values it was made with")
    elif setting.startswith("ckpt-"):
        how = (f"it is the start of the sha256 of a checkpoint file. Fix: `-m {base} --checkpoint "
               f"FILE` with the file whose sha256 starts with {setting[5:]}")
    else:
        how = "Fix: drop it from the name and give the option that makes it"
    return f"{name}: setting +{setting} cannot be requested by name: {how}"


def _lookup(name: Optional[str], framework: Optional[str], factory: Optional[str],
            weights: Optional[str]):
    """The model's id, the settings written in its name, its library and its registry spec
    (None for a ``--model-factory`` model); an entry that cannot run is refused."""
    if factory:
        try:
            lib = libraries.for_factory(framework)
        except BenchError as e:
            raise InputError(str(e)) from None
        return custom_id(name), (), lib, None
    mid, entry = registry.resolve(name, framework)
    lib = libraries.get(mid.framework)
    settings = mid.settings
    if (weights and lib.capabilities.weights_tags and weights.lower() not in NO_WEIGHTS
            and weights != entry.weights):  # --weights TAG: the same architecture's other weights
        mid, entry = registry.resolve(f"{mid.framework}:{mid.arch}.{weights}")
    spec = registry.spec_of_entry(entry)
    if not entry.runnable:
        raise InputError(f"{mid.base} cannot be run by predict: {entry.not_runnable_reason}. "
                         f"Fix: pick another weights of {entry.architecture} "
                         f"(`imagenet-bench models {entry.architecture}`)")
    return mid, settings, lib, spec


def _recipe(lib, mid: ModelId, spec, preprocess: str, test_size: bool,
            options: Dict[str, Any]):
    """The recipe used (the entry's, ``+legacy2019``'s or ``+test-size``'s, with the recipe
    ``options`` applied) and the id naming it."""
    if spec is None:
        if preprocess != "reference":
            raise InputError("--preprocess legacy2019 is the 2019 study's recipe of its 34 models. "
                             "Fix: for a --model-factory model give --resize/--crop/--interpolation")
        base = CUSTOM_BASE_RECIPE
    else:
        base = spec.recipe(preprocess)
        if preprocess == LEGACY:
            mid = mid.with_settings(LEGACY)
    if test_size:  # (a --model-factory name carries no settings: custom_id refuses them)
        base = _test_size_recipe(lib, mid, spec)
        mid = mid.with_settings(TEST_SIZE)
    try:
        used = recipes.from_options(base, **options)
    except ValueError as e:
        raise InputError(f"{mid}: {e}" + ("" if "Fix:" in str(e) else
                                          ". Fix: correct that option's value, or leave it out")) from None
    if lib.capabilities.fixed_input_size and spec is not None and used.crop != spec.entry.input_size:
        raise InputError(f"--crop/--img-size/--preprocess: {mid} takes {spec.entry.input_size}x{spec.entry.input_size} "
                         f"inputs (its {lib.name} graph is built for that size); the recipe gives "
                         f"{used.crop}. Fix: leave --crop and --img-size out")
    if used != base:
        mid = mid.with_settings(f"recipe-{recipes.digest(used)}")
    return used, mid


def _weights(lib, mid: ModelId, spec, factory: Optional[str], weights: Optional[str],
             checkpoint: Optional[str]):
    """Whether the weights are pretrained, the absolute checkpoint path (or None) and the id
    naming them (``+ckpt-<sha8>``, ``+random``)."""
    caps = lib.capabilities
    if factory and weights is not None:
        raise InputError(f"--weights {weights}: a --model-factory model comes with the weights its "
                         f"callable gives. Fix: leave --weights out; pass --checkpoint FILE to "
                         f"load a state_dict into it")
    pretrained = not (weights is not None and weights.lower() in NO_WEIGHTS)
    if (weights is not None and pretrained and caps.weights_file and spec is not None
            and weights != spec.entry.weights):
        if checkpoint:
            raise InputError(f"--weights {weights} and --checkpoint {checkpoint}: two weights "
                             f"files. Fix: give the weights file once, with --checkpoint")
        checkpoint = weights  # --weights FILE: a weights file (Keras' spelling)
    if checkpoint:
        path = os.path.abspath(os.path.expanduser(checkpoint))
        if not os.path.isfile(path):
            raise InputError(f"--checkpoint {checkpoint}: no such file. Fix: give the path of a "
                             f"saved weights file ({', '.join(caps.checkpoint_formats)})")
        checkpoint = path
        mid = mid.with_settings(f"ckpt-{file_sha256(path)[:8]}")
    elif not pretrained:
        mid = mid.with_settings("random")
    return pretrained, checkpoint, mid


def _numerics(lib, mid: ModelId, amp: Optional[str], device: Optional[str],
              batch_size: Optional[int]):
    """The autocast dtype (``--amp auto`` settled by the library for the device) and the id
    naming it; a batch size under 1 is refused."""
    caps = lib.capabilities
    if amp == "auto":  # --amp alone: the library picks the dtype for the device, named in the id
        amp = lib.import_adapter(lib.auto_amp)(device or "auto") if lib.auto_amp else caps.amp[0]
    if amp in caps.amp:
        mid = mid.with_settings(amp)
    if batch_size is not None and batch_size < 1:
        raise InputError(f"--batch-size {batch_size}: must be at least 1. Fix: pass --batch-size 1 "
                         f"or more, or leave it out for the library's default")
    return amp, mid


def build(name: Optional[str], framework: Optional[str] = None, *, weights: Optional[str] = None,
          checkpoint: Optional[str] = None, preprocess: Optional[str] = None,
          resize: Optional[int] = None, crop: Optional[int] = None,
          interpolation: Optional[str] = None, mean: Optional[Sequence[float]] = None,
          std: Optional[Sequence[float]] = None, img_size: Optional[int] = None,
          crop_pct: Optional[float] = None, amp: Optional[str] = None,
          factory: Optional[str] = None, device: Optional[str] = None,
          batch_size: Optional[int] = None, workers: Optional[int] = None,
          threads: Optional[int] = None, seed: int = 0) -> RunConfig:
    """The :class:`RunConfig` of one model from command-line values (None = not given).

    ``name`` is a registry spelling, or with ``factory`` the custom model's name;
    ``framework`` (``--framework``) restricts the lookup, else the name decides.
    What the model's library honours is read from its declared
    :class:`~imagenet_bench.models.libraries.Capabilities`. Raises
    :class:`InputError` for an entry that cannot run, an option the library does
    not honour, or a bad value, naming the option.
    """
    mid, settings, lib, spec = _lookup(name, framework, factory, weights)
    framework, caps = lib.name, lib.capabilities
    own = tuple(s for s, _ in caps.name_settings)
    preprocess, weights, amp, test_size = _settings_from_name(name, settings, preprocess, weights,
                                                              amp, checkpoint, own)
    mid = mid.base.with_settings(*(s for s in settings if s in own))
    preprocess = preprocess or "reference"
    overrides = {k: v for k, v in dict(resize=resize, crop=crop, interpolation=interpolation,
                                       mean=list(mean) if mean is not None else None,
                                       std=list(std) if std is not None else None,
                                       img_size=img_size, crop_pct=crop_pct).items()
                 if v is not None}
    _refuse_unhonoured(lib, mid, preprocess=preprocess, overrides=overrides, weights=weights,
                       checkpoint=checkpoint, amp=amp, device=device, batch_size=batch_size,
                       workers=workers)
    used, mid = _recipe(lib, mid, spec, preprocess, test_size,
                        dict(resize=resize, crop=crop, img_size=img_size, crop_pct=crop_pct,
                             interpolation=interpolation, mean=mean, std=std))
    pretrained, checkpoint, mid = _weights(lib, mid, spec, factory, weights, checkpoint)
    amp, mid = _numerics(lib, mid, amp, device, batch_size)
    return RunConfig(model_id=mid, framework=framework, spec=spec, recipe=used, preprocess=preprocess,
                     overrides=overrides, pretrained=pretrained, checkpoint=checkpoint,
                     factory=factory, amp=amp, device=device or "auto",
                     batch_size=batch_size or caps.default_batch_size,
                     workers=workers, threads=threads, seed=seed, test_size=test_size)
