"""The declaration imagenet_bench reads through the entry point (standard library only: listing
models, scoring and --help must not import torch)."""
from imagenet_bench.models.libraries import PLUGIN_API, Capabilities, Library

LIBRARY = Library(
    name="toy",  # model ids are toy:<arch>.<tag>
    plugin_api=PLUGIN_API,
    catalog=("toy_imagenet_bench", "catalog.json"),  # read with importlib.resources + json
    extra="toy-imagenet-bench",
    adapter="toy_imagenet_bench.backend:from_config",  # imported only when a model runs
    capabilities=Capabilities(
        recipe_overrides=True, amp=("bf16",), checkpoint_formats=(), weights_tags=True,
        random_weights=True, devices=("auto", "cpu"), batching=True, default_batch_size=8),
    description="two tiny torch networks (toy weights drawn from a fixed seed)",
    order=50,
    # its backends are TorchBackends, so the package's torch rows of `verify variants` apply
    variants="imagenet_bench.backends.torch_variants:TorchVariants",
)
