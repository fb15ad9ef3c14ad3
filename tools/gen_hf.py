"""Regenerate imagenet_bench/models/data/hf.json from the installed transformers (no network).

    python tools/gen_hf.py [--check]

* ``entries``: the Hub repositories that the installed transformers names in the sources of
  the model types its ``AutoModelForImageClassification`` maps (``checkpoint="ORG/NAME"`` of
  ``@auto_docstring`` and ``from_pretrained("ORG/NAME")`` in the examples of
  ``transformers/models/<type>/*.py``), one entry each at revision ``main`` (:data:`EXCLUDE`
  names the one the sources get wrong). Their
  ``preprocessor_config.json`` and ``config.json`` are not installed: each entry's recipe is its
  processor class's defaults, marked "recipe resolved at run time", and its head is checked
  against ImageNet-1k when it runs (``hf_labels``). ``params``: where the entry is the checkpoint
  its configuration class's docstring ties the class's defaults to, the parameters of
  ``XForImageClassification(XConfig(num_labels=1000))`` built on torch's meta device (no
  weights); otherwise null, the note says why (:func:`counted_params`). No published top-1
  ships in the wheel (model cards are not installed): an entry has one only when it is a
  declared pair, whose other library's catalog holds the figure for the same weights;
* ``processors``: the default settings of each image processor class that
  :data:`hf_recipe.RECIPE_CLASSES` states as a recipe (what a checkpoint's processor config is
  merged into, as transformers merges it);
* ``pairs``: catalogued repositories whose weights another library loads from the same Hub
  repository: ``timm/NAME`` is ``timm:NAME`` when timm's ``pretrained_cfg.hf_hub_id`` names it.

``--check`` compares instead of writing and exits 1 when the committed file is stale.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import sys
from typing import Dict, List, Optional, Tuple

from imagenet_bench.backends import hf_meta, hf_recipe
from imagenet_bench.cache import atomic
from imagenet_bench.models import catalog

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "imagenet_bench", "models", "data", "hf.json")
#: ``@auto_docstring(checkpoint="ORG/NAME")`` (on a config, or on a ...ForImageClassification class)
DOC = re.compile(r'@auto_docstring\(\s*checkpoint="([A-Za-z0-9][\w\-]*/[\w.\-]+)"[^)]*\)\s*(?:@[^\n]*\n\s*)*class (\w+)')
#: ``...ForImageClassification.from_pretrained("ORG/NAME")`` or ``>>> checkpoint = "ORG/NAME"``
#: (TimmWrapper's examples) in an example
EXAMPLE = re.compile(r'(?:ForImageClassification\.from_pretrained\(\s*|>>> checkpoint = )'
                     r'"([A-Za-z0-9][\w\-]*/[\w.\-]+)"')


#: names the sources give that are not checkpoints of that model type, with the reason
EXCLUDE = {"ByteDance-Seed/Seed-OSS-36B-Instruct": "a language model that SegformerConfig's "
           "@auto_docstring names in transformers 5.25.0 (not a SegFormer checkpoint)"}


#: catalogued checkpoints whose configuration defaults are not the checkpoint the docstring names
#: (the docstring's tie is wrong): their params are left empty, with the reason
DEFAULTS_DIFFER = {
    "facebook/ijepa_vith14_1k": "IJepaConfig's defaults are a ViT-B/16 (hidden_size 768, "
    "patch_size 16), not the ViT-H/14 its docstring names",
    "facebook/metaclip-2-worldwide-huge-quickgelu": "MetaClip2Config's default vision tower is a "
    "ViT-B/32 (hidden_size 768, patch_size 32), not the ViT-H its docstring names",
    "google/shieldgemma-2-4b-it": "ShieldGemma2Config's default text model (hidden_size 2304, "
    "26 layers) is not the 4B Gemma 3 its docstring names"}


def named_checkpoints() -> Dict[str, Tuple[str, str]]:
    """repository -> (model type, source file) of the checkpoints transformers names for image
    classification: a ``...ForImageClassification`` class's ``@auto_docstring`` checkpoint, else
    its config's (the one its generated examples load), and explicit
    ``...ForImageClassification.from_pretrained`` examples; first naming kept."""
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES
    root = os.path.dirname(transformers.__file__)
    out: Dict[str, Tuple[str, str]] = {}
    for model_type in MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES:
        folder = os.path.join(root, "models", model_type.replace("-", "_"))
        own, config = [], []
        for path in sorted(glob.glob(os.path.join(folder, "*.py"))):
            where = os.path.relpath(path, os.path.dirname(root))
            with open(path, encoding="utf-8") as f:
                src = f.read()
            for repo, cls in DOC.findall(src):
                if cls.endswith("ForImageClassification"):
                    own.append((repo, where))
                elif cls.endswith("Config"):
                    config.append((repo, where))
            own += [(repo, where) for repo in EXAMPLE.findall(src)]
        for repo, where in own or config:
            if repo not in EXCLUDE:
                out.setdefault(repo, (model_type, where))
    return dict(sorted(out.items()))


def processor_defaults() -> Dict[str, dict]:
    """Class -> default settings (``to_dict()`` of a processor built with no arguments)."""
    import transformers
    out = {}
    for cls in hf_recipe.RECIPE_CLASSES:
        klass = getattr(transformers, cls, None)
        if klass is None:
            continue
        d = klass().to_dict()
        d.pop("image_processor_type", None)
        out[cls] = {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(d.items())
                    if k in hf_recipe.GEOMETRY}
    return out


def _class_of(model_type: str) -> Optional[str]:
    from transformers.models.auto.image_processing_auto import IMAGE_PROCESSOR_MAPPING_NAMES
    names = IMAGE_PROCESSOR_MAPPING_NAMES.get(model_type)
    if isinstance(names, dict):
        names = names.get("torchvision") or names.get("pil")
    if isinstance(names, (tuple, list)):
        names = next((n for n in names if n), None)
    return names


def _config_checkpoint(config_cls) -> Optional[str]:
    """The checkpoint that ``config_cls``'s ``@auto_docstring`` ties its defaults to."""
    import inspect
    with open(inspect.getsourcefile(config_cls), encoding="utf-8") as f:
        return next((repo for repo, cls in DOC.findall(f.read()) if cls == config_cls.__name__),
                    None)


def counted_params(repo: str, model_type: str) -> Tuple[Optional[int], str]:
    """(parameter count, how it was found or why there is none) of ``repo``: its model class
    built from its config class's defaults with a 1,000-class head, on the meta device."""
    import torch
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES
    config_name, model_name = (CONFIG_MAPPING_NAMES[model_type],
                               MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES[model_type])
    if not isinstance(model_name, str):
        return None, (f"params unknown: transformers maps {model_type} to {', '.join(model_name)}; "
                      "which one this checkpoint loads is its config.json's architectures (not "
                      "installed)")
    config_cls = getattr(transformers, config_name)
    documented = _config_checkpoint(config_cls)
    if documented != repo:
        return None, (f"params unknown: {config_name}'s docstring ties its defaults to "
                      f"{documented}, not to this checkpoint")
    if repo in DEFAULTS_DIFFER:
        return None, f"params unknown: {DEFAULTS_DIFFER[repo]}"
    try:
        with torch.device("meta"):
            model = getattr(transformers, model_name)(config_cls(num_labels=1000))
    except ImportError as e:
        return None, (f"params unknown: {model_name} cannot be built here "
                      f"({str(e).strip().splitlines()[0]})")
    return (sum(p.numel() for p in model.parameters()),
            f"params counted from {config_name}'s defaults, which its docstring ties to {repo} "
            f"({model_name} with a 1,000-class head)")


def entry(repo: str, model_type: str, source: str, defaults: Dict[str, dict]) -> dict:
    """One catalog entry of ``repo`` (its processor class's default recipe, checked at run time)."""
    cls = _class_of(model_type) or ""
    recipe, how = hf_recipe.recipe_of({"image_processor_type": cls, **defaults.get(cls, {})}) \
        if cls in defaults else (None, f"{cls or 'no'} processor class")
    r = recipe or hf_recipe.Recipe(resize=None, crop=224, squash=True, interpolation="bilinear",
                                 normalization="torch")
    arch = hf_meta.encode(repo)
    params, params_how = counted_params(repo, model_type)
    note = (f"named in transformers {source}; recipe resolved at run time from its "
            f"{hf_recipe.PROCESSOR_CONFIG} (not installed; here {cls or 'its class'}'s defaults"
            f"{'' if recipe else ': ' + how}), head checked against ImageNet-1k when it runs; "
            f"{params_how}")
    return {"framework": "hf", "architecture": arch, "weights": "main", "model": f"hf:{arch}.main",
            "aliases": [repo], "is_default": True,
            "builder": "transformers:AutoModelForImageClassification", "input_size": r.crop,
            "resize": r.resize, "crop": r.crop, "crop_mode": r.crop_mode,
            "interpolation": r.interpolation, "mean": list(r.mean), "std": list(r.std),
            "preprocessing": "torch", "preprocess_module": None, "num_classes": None,
            "label_set": None, "runnable": True, "not_runnable_reason": note,
            "published_top1": None, "published_top5": None, "source": None, "params": params,
            "gflops": None, "recipe": None, "url": f"https://huggingface.co/{repo}",
            "file_name": None, "quantized_backend": None, "float_counterpart": None}


def pairs(repos: List[str]) -> Dict[str, str]:
    """hf id -> timm id of the catalogued ``timm/NAME`` repositories timm loads itself."""
    import timm
    out = {}
    for repo in repos:
        if repo.startswith("timm/"):
            name = repo.split("/", 1)[1]
            cfg = timm.models.get_pretrained_cfg(name)
            if cfg is not None and cfg.hf_hub_id == repo:
                out[f"hf:{hf_meta.encode(repo)}.main"] = f"timm:{name}"
    return out


def with_figures(row: dict, other_id: str) -> None:
    """Give ``row`` (a declared pair: the same weights as ``other_id``) the published figures
    and the params of ``other_id``'s catalog entry, naming that entry's source."""
    other = next(e for e in catalog.entries(other_id.split(":", 1)[0]) if e.model == other_id)
    row.update(published_top1=other.published_top1, published_top5=other.published_top5,
               source=f"the same weights as {other_id}: {other.source}")
    if other.params is not None:
        row["params"] = other.params
        row["not_runnable_reason"] = re.sub(r"params unknown: .*$",
                                            f"params from {other_id}'s catalog entry",
                                            row["not_runnable_reason"])


def text() -> str:
    """The whole hf.json."""
    import transformers
    named = named_checkpoints()
    defaults = processor_defaults()
    rows = [entry(repo, mt, src, defaults) for repo, (mt, src) in named.items()]
    paired = pairs(list(named))
    for row in rows:
        if row["model"] in paired:
            with_figures(row, paired[row["model"]])
    head = {"generator": "tools/gen_hf.py", "library": "hf",
            "versions": {"transformers": transformers.__version__},
            "processors": defaults, "pairs": paired}
    return catalog.dumps(head, "entries", rows)


def main(argv: Optional[List[str]] = None) -> int:
    """Write (or ``--check``) hf.json."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the committed file differs")
    args = p.parse_args(argv)
    new = text()
    if args.check:
        with open(PATH, encoding="utf-8") as f:
            if f.read() != new:
                print(f"stale: {PATH}; rerun without --check", file=sys.stderr)
                return 1
        return 0
    atomic.write_text(PATH, new)
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
