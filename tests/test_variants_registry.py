"""backends/runtimes: each verify-variants row declared once, in its runtime's module (name, what,
runtime, packages, GPU, calibration, default, skip, build), and the variant contexts read it."""
import importlib.util

import pytest

from imagenet_bench.cli import main as cli
from imagenet_bench.errors import InputError
from imagenet_bench.backends import runtimes as variants


def test_defaults_and_table_order_come_from_the_registry():
    assert variants.NAMES[0] == "fp32"
    assert variants.defaults(variants.TORCH) == ("batch1", "bf16", "fp16", "tf32", "channels_last",
                                                 "compile", "onnx", "onnx-int8", "quantized")
    assert variants.defaults(variants.KERAS) == ("batchN", "keras-jax", "keras-torch")
    assert variants.calibrated(["quantized", "bf16", "onnx-int8"]) == ["onnx-int8", "quantized"]
    assert variants.setting("batchN", 8) == "batch8" and variants.setting("bf16") == "bf16"
    with pytest.raises(InputError, match="unknown variant 'int4'. Fix: one of fp32, batch1"):
        variants.setting("int4")


def test_the_runtime_classes_use_the_registrys_defaults():
    pytest.importorskip("torch")
    from imagenet_bench.backends.keras_variants import KerasVariants
    from imagenet_bench.backends.torch_variants import TorchVariants
    assert TorchVariants.DEFAULT == variants.defaults(variants.TORCH)
    assert KerasVariants.DEFAULT == variants.defaults(variants.KERAS)


def test_every_runtime_module_is_listed_once_and_declares_its_rows():
    """Each module of backends/runtimes/ is one runtime: listed once in MODULES (explicit imports,
    so a module left out is caught here), declaring its rows as VARIANTS, in table order."""
    import os
    from imagenet_bench.models.variants import Variant
    folder = os.path.dirname(variants.__file__)
    on_disk = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f != "__init__.py")
    listed = [m.__name__.rpartition(".")[2] for m in variants.MODULES]
    assert sorted(listed) == on_disk and len(set(listed)) == len(listed)
    rows = [v for m in variants.MODULES for v in m.VARIANTS]
    assert all(isinstance(v, Variant) and callable(v.build) for v in rows)
    assert variants.REGISTRY == (variants.REFERENCE, *rows)
    assert [v.name for v in variants.litert.VARIANTS] == ["litert", "litert-int8"]  # its own module


def test_the_registry_imports_no_framework():
    """`verify variants --help` and the variant names need the registry, never torch/Keras/a runtime."""
    import subprocess
    import sys
    code = ("import sys, imagenet_bench.backends.runtimes, imagenet_bench.commands.variants; "
            "print(sorted(m for m in ('torch', 'torchvision', 'tensorflow', 'keras', 'jax', 'onnx', "
            "'onnxruntime', 'openvino', 'nncf', 'ai_edge_litert', 'timm', 'open_clip') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_skip_reasons_other_runtime_and_missing_packages(monkeypatch):
    assert variants.skip_reason("keras-jax", variants.TORCH) == \
        "Keras-backend variant; this is a PyTorch model"
    assert variants.skip_reason("channels_last", variants.KERAS) == \
        "PyTorch-only variant; this is a Keras model"
    assert variants.skip_reason("batch1", variants.KERAS).startswith(
        "the Keras reference already runs one image at a time")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("onnxscript", "jax") else real(name, *a))
    assert variants.skip_reason("onnx", variants.TORCH) == \
        "onnxscript not installed (pip install 'imagenet_bench[variants]')"
    assert variants.skip_reason("keras-jax", variants.KERAS) == \
        "jax not installed (pip install 'imagenet_bench[variants]')"
    assert variants.skip_reason("fp32", variants.KERAS) is None


def test_openvino_rows_are_registered_and_name_their_extra_when_missing(monkeypatch):
    for name in ("openvino", "openvino-default", "openvino-int8"):
        v = variants.get(name)
        assert (v.runtime, v.extra, v.default, v.gpu_only) == (variants.TORCH, "openvino", False, False)
    assert variants.calibrated(["openvino", "openvino-int8", "openvino-default"]) == ["openvino-int8"]
    assert variants.skip_reason("openvino", variants.KERAS) == "PyTorch-only variant; this is a Keras model"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("openvino", "nncf") else real(name, *a))
    assert variants.skip_reason("openvino-default", variants.TORCH) == \
        "openvino not installed (pip install 'imagenet_bench[openvino]')"
    assert variants.skip_reason("openvino-int8", variants.TORCH) == \
        "openvino, nncf not installed (pip install 'imagenet_bench[openvino]')"
    pytest.importorskip("torch")
    from imagenet_bench.backends.runtimes import openvino
    assert openvino.missing() == "openvino, nncf not installed (pip install 'imagenet_bench[openvino]')"


def test_tensorrt_rows_are_gpu_only_behind_their_own_extra_and_skip_with_a_reason(monkeypatch):
    for name in ("tensorrt-fp16", "tensorrt-int8"):
        v = variants.get(name)
        assert (v.runtime, v.extra, v.default, v.gpu_only) == (variants.TORCH, "tensorrt", False, True)
    assert variants.calibrated(["tensorrt-fp16", "tensorrt-int8"]) == ["tensorrt-int8"]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("torch_tensorrt", "modelopt") else real(name, *a))
    assert variants.skip_reason("tensorrt-fp16", variants.TORCH) == \
        "torch_tensorrt not installed (pip install 'imagenet_bench[tensorrt]')"
    assert variants.skip_reason("tensorrt-int8", variants.TORCH) == \
        "torch_tensorrt, modelopt not installed (pip install 'imagenet_bench[tensorrt]')"
    assert variants.skip_reason("tensorrt-int8", variants.KERAS) == "PyTorch-only variant; this is a Keras model"
    extras = _setup_extras(monkeypatch)
    assert {"torch-tensorrt>=2.4", "nvidia-modelopt>=0.15"} <= set(extras["tensorrt"])
    assert not any(r.startswith(("torch-tensorrt", "nvidia-modelopt")) for r in extras["all"])
    assert {"openvino>=2024.0", "nncf>=2.10"} <= set(extras["all"]) and "nncf>=2.10" in extras["openvino"]


def test_tensorrt_rows_with_their_packages_skip_without_a_cuda_device(monkeypatch):
    """The engine build exists (backends/runtimes/tensorrt.py, unmeasured); on a CPU-only reference the rows
    say they need CUDA, not that anything is unimplemented."""
    torch = pytest.importorskip("torch")
    from imagenet_bench.backends.torch_variants import TorchVariants
    from imagenet_bench.run import config
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object()
                        if name in ("torch_tensorrt", "modelopt") else real(name, *a))
    tv = TorchVariants(config.build("resnet18", "torch", weights="none", device="cpu"),
                       [("n0/a.JPEG", "a.JPEG")], "unused")
    want = "no CUDA device" if not torch.cuda.is_available() else "needs a CUDA device (--device cpu)"
    assert tv.skip_reason("tensorrt-fp16") == tv.skip_reason("tensorrt-int8") == want


def _setup_extras(monkeypatch):
    """setup.py's extras_require, read by running setup.py with setuptools.setup captured."""
    import os
    import setuptools
    seen = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: seen.update(kw))
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    monkeypatch.chdir(repo)
    with open(os.path.join(repo, "setup.py")) as f:
        exec(compile(f.read(), "setup.py", "exec"), {"__name__": "__main__"})
    return seen["extras_require"]


def test_rows_follow_the_registrys_order_whatever_the_order_asked():
    from imagenet_bench.api.variants import parse_variants
    assert parse_variants("onnx,fp32,batch1,bf16,onnx") == ["batch1", "bf16", "onnx"]
    assert parse_variants(None, variants.defaults(variants.KERAS)) == ["batchN", "keras-jax", "keras-torch"]


def test_help_and_errors_list_the_registry(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")  # argparse wraps at hyphens ("keras-\njax") otherwise
    with pytest.raises(SystemExit):
        cli.main(["verify", "variants", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(name in out for name in variants.NAMES[1:]), out
    assert cli.main(["verify", "variants", "-m", "resnet18", "--variants", "bf16,int4", "."]) == 2
    err = capsys.readouterr().err
    assert "--variants: unknown 'int4'. Fix: choose from batch1, batchN, bf16" in err, err
