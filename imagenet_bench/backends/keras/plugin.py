"""The keras.applications model library, declared for the plugin registry (standard library only).

Registered in setup.py's ``imagenet_bench.libraries`` entry points like any
third-party library (:mod:`imagenet_bench.models.libraries`). ``predict``'s
adapter is the parent-side :func:`imagenet_bench.backends.keras.parent.from_config`
(numpy and the standard library: the model lives in a child process);
``verify`` runs the model in-process (:func:`imagenet_bench.backends.keras.child.from_config`).
"""
from imagenet_bench.models.libraries import PLUGIN_API, Capabilities, Library
from imagenet_bench.models.recipe import Legacy2019

LIBRARY = Library(
    name="keras",
    plugin_api=PLUGIN_API,
    catalog=("imagenet_bench.models", "data/keras.json"),
    extra="imagenet_bench[keras]",
    adapter="imagenet_bench.backends.keras.parent:from_config",
    capabilities=Capabilities(
        recipe_overrides=True, fixed_input_size=True, amp=(),
        legacy2019=Legacy2019(squash=True, interpolation="nearest", antialias=False),  # load_img
        checkpoint_formats=(".h5", ".weights.h5"), weights_tags=False, weights_file=True,
        random_weights=True, devices=("auto", "cpu"), batching=False, model_factory=False,
        default_batch_size=1,
        why=(("amp", "the Keras backend runs float32 only (one image at a time through a compiled "
                     "call)"),
             ("resources", "the Keras backend runs one image at a time in a process of its own "
                           "and picks TensorFlow's device itself"))),
    description="keras.applications weights (each model in a child process, one image at a time)",
    order=20,
    variants="imagenet_bench.backends.keras_variants:KerasVariants",
    in_process="imagenet_bench.backends.keras.child:from_config",
    verify_checks=(("drift", "imagenet_bench.backends.keras.verify:check_drift"),
                   ("determinism", "imagenet_bench.backends.determinism:check")),
    publisher="keras.applications",
    color="#2e86ab",
)
