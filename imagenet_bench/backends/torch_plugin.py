"""The torchvision model library, declared for the plugin registry (standard library only).

Registered in setup.py's ``imagenet_bench.libraries`` entry points like any
third-party library (:mod:`imagenet_bench.models.libraries`). The adapter,
:func:`imagenet_bench.backends.torch.from_config`, is imported only when a
model runs.
"""
from imagenet_bench.models.libraries import PLUGIN_API, Capabilities, Library
from imagenet_bench.models.recipe import Legacy2019

LIBRARY = Library(
    name="torch",
    plugin_api=PLUGIN_API,
    catalog=("imagenet_bench.models", "data/torchvision.json"),
    extra="imagenet_bench[torch]",
    adapter="imagenet_bench.backends.torch:from_config",
    capabilities=Capabilities(
        recipe_overrides=True, amp=("bf16", "fp16"),
        legacy2019=Legacy2019(squash=False, interpolation="bilinear"),  # Resize + CenterCrop
        checkpoint_formats=("state_dict (torch.save)",), weights_tags=True, random_weights=True,
        devices=("auto", "cpu", "cuda", "mps"), batching=True, model_factory=True,
        default_batch_size=32, logits=True),
    description="torchvision.models weights (torchvision's own transforms)",
    order=10,
    variants="imagenet_bench.backends.torch_variants:TorchVariants",
    auto_amp="imagenet_bench.backends.torch:auto_amp",
    in_process="imagenet_bench.backends.torch:from_config",
    verify_checks=(("determinism", "imagenet_bench.backends.determinism:check"),),
    publisher="torchvision",
    color="#e4572e",
)
