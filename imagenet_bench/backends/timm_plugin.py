"""The timm model library, declared for the plugin registry (standard library only).

Registered in setup.py's ``imagenet_bench.libraries`` entry points like any
third-party library (:mod:`imagenet_bench.models.libraries`). timm re-hosts
most torchvision weights, so a bare name means timm's only when no other
library has it (``fallback``). The adapter, :func:`imagenet_bench.backends.timm.from_config`,
is imported only when a model runs; its pixels come from timm's own transform,
and recipe options become that transform's ``resolve_data_config`` arguments
(:mod:`imagenet_bench.backends.timm_overrides`); ``+test-size`` resolves them with
``use_test_size=True``; ``--preprocess legacy2019`` is refused.
"""
from imagenet_bench.models.libraries import PLUGIN_API, Capabilities, Library

LIBRARY = Library(
    name="timm",
    plugin_api=PLUGIN_API,
    catalog=("imagenet_bench.models", "data/timm.json"),
    extra="imagenet_bench[timm]",
    adapter="imagenet_bench.backends.timm:from_config",
    capabilities=Capabilities(
        recipe_overrides=True, amp=("bf16", "fp16"),
        checkpoint_formats=("model.safetensors", "state_dict (torch.save)"), weights_tags=True,
        random_weights=True, devices=("auto", "cpu", "cuda", "mps"), batching=True,
        model_factory=False, default_batch_size=32, test_size=True, logits=True,
        why=()),
    description="timm pretrained tags with an ImageNet-1k head (timm's own eval transform)",
    fallback=True,
    order=30,
    variants="imagenet_bench.backends.torch_variants:TorchVariants",
    auto_amp="imagenet_bench.backends.torch:auto_amp",
    in_process="imagenet_bench.backends.timm:from_config",
    publisher="timm",
    color="#3b8c3b",
    results_tables="imagenet_bench.models.timm_results",  # timm's results-*.csv, every test set
    hub_org="timm",  # hf-hub:timm/resnet50.a1_in1k is timm:resnet50.a1_in1k
)
