"""The open_clip model library, declared for the plugin registry (standard library only).

Registered in setup.py's ``imagenet_bench.libraries`` entry points. Each
pretrained tag of ``open_clip.list_pretrained()`` is a zero-shot ImageNet
classifier (``openclip:ViT-B-32.laion2b_s34b_b79k``): its image tower and a
head built from open_clip's class names and prompt templates
(:mod:`imagenet_bench.backends.openclip`, imported only when a model runs).
``+templates-simple`` asks for the simple template set. The published zero-shot
top-1 per test set comes from open_clip's results table
(:mod:`imagenet_bench.models.openclip_results`, ``tools/gen_openclip.py``).
"""
from imagenet_bench.models.libraries import PLUGIN_API, Capabilities, Library

LIBRARY = Library(
    name="openclip",
    plugin_api=PLUGIN_API,
    catalog=("imagenet_bench.models", "data/openclip.json"),
    extra="imagenet_bench[openclip]",
    adapter="imagenet_bench.backends.openclip:from_config",
    capabilities=Capabilities(
        recipe_overrides=True, legacy2019=False, amp=("bf16", "fp16"), checkpoint_formats=(),
        weights_tags=True, random_weights=True, devices=("auto", "cpu", "cuda", "mps"),
        batching=True, model_factory=False, default_batch_size=32, logits=True,
        name_settings=(("templates-simple", "the 7 simple prompt templates (the published "
                                            "zero-shot figures use OpenAI's 80)"),)),
    description="open_clip zero-shot classifiers (open_clip's class names x prompt templates)",
    order=40,
    variants="imagenet_bench.backends.torch_variants:TorchVariants",
    auto_amp="imagenet_bench.backends.torch:auto_amp",
    publisher="open_clip",
    results_tables="imagenet_bench.models.openclip_results",  # its openclip_results.csv, 6 sets
)
