"""The Hugging Face transformers model library, declared for the plugin registry (standard
library only).

Registered in setup.py's ``imagenet_bench.libraries`` entry points. ``hf:ORG/NAME`` (a Hub
repository, ``@REVISION`` optional) or ``hf:PATH`` (a ``save_pretrained`` folder) is any image
classifier ``AutoModelForImageClassification`` loads, preprocessed by its own
``AutoImageProcessor`` (:mod:`imagenet_bench.backends.hf`, imported only when a model runs);
names outside the catalog (``tools/gen_hf.py``) are resolved by
:func:`imagenet_bench.backends.hf_meta.resolve_name`. Recipe options are refused: the
checkpoint's processor config is the recipe.
"""
from imagenet_bench.models.libraries import PLUGIN_API, Capabilities, Library

LIBRARY = Library(
    name="hf",
    plugin_api=PLUGIN_API,
    catalog=("imagenet_bench.models", "data/hf.json"),
    extra="imagenet_bench[hf]",
    adapter="imagenet_bench.backends.hf:from_config",
    capabilities=Capabilities(
        recipe_overrides=False, amp=("bf16", "fp16"), checkpoint_formats=(), weights_tags=False,
        random_weights=True, devices=("auto", "cpu", "cuda", "mps"), batching=True,
        model_factory=False, default_batch_size=32,
        name_settings=(("pil", "the image processor's PIL backend (transformers 4's default "
                               "processors) instead of transformers 5's torchvision one"),),
        why=(("recipe", "hf models run their checkpoint's own image processor (its "
                        "preprocessor_config.json is the recipe)"),)),
    description="transformers image classifiers (AutoModelForImageClassification + the "
                "checkpoint's AutoImageProcessor); any hf:ORG/NAME or save_pretrained folder",
    order=50,
    variants="imagenet_bench.backends.torch_variants:TorchVariants",
    auto_amp="imagenet_bench.backends.torch:auto_amp",
    in_process="imagenet_bench.backends.hf:from_config",
    verify_checks=(("determinism", "imagenet_bench.backends.determinism:check"),),
    publisher="Hugging Face model cards",
    color="#d9a21b",
    names="imagenet_bench.backends.hf_meta:resolve_name",
    pairs="imagenet_bench.backends.hf_meta:pairs",  # hf.json's "pairs" (tools/gen_hf.py)
)
