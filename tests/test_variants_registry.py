"""models/variants: each verify-variants row declared once (name, what, runtime, packages, GPU,
calibration, default), and the runtimes' variants classes read it."""
import importlib.util

import pytest

from imagenet_bench.analysis import variants as av
from imagenet_bench.cli import main as cli
from imagenet_bench.errors import InputError
from imagenet_bench.models import variants


def test_defaults_and_table_order_come_from_the_registry():
    assert variants.NAMES[0] == "fp32"
    assert variants.defaults(variants.TORCH) == ("batch1", "bf16", "fp16", "tf32", "channels_last",
                                                 "compile", "onnx", "onnx-int8", "quantized")
    assert variants.defaults(variants.KERAS) == ("batchN", "keras-jax", "keras-torch")
    assert variants.calibrated(["quantized", "bf16", "onnx-int8"]) == ["onnx-int8", "quantized"]
    assert av.variant_setting("batchN", 8) == "batch8" and av.variant_setting("bf16") == "bf16"
    with pytest.raises(InputError, match="unknown variant 'int4'; choose from fp32, batch1"):
        av.variant_setting("int4")


def test_the_runtime_classes_use_the_registrys_defaults():
    pytest.importorskip("torch")
    from imagenet_bench.backends.keras.variants import KerasVariants
    from imagenet_bench.backends.torch_variants import DEFAULT
    assert DEFAULT == variants.defaults(variants.TORCH)
    assert KerasVariants.DEFAULT == variants.defaults(variants.KERAS)


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


def test_rows_follow_the_registrys_order_whatever_the_order_asked():
    from imagenet_bench.commands.variants import parse_variants
    assert parse_variants("onnx,fp32,batch1,bf16,onnx") == ["batch1", "bf16", "onnx"]
    assert parse_variants(None, variants.defaults(variants.KERAS)) == ["batchN", "keras-jax", "keras-torch"]


def test_help_and_errors_list_the_registry(capsys):
    with pytest.raises(SystemExit):
        cli.main(["verify", "variants", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(name in out for name in variants.NAMES[1:]), out
    assert cli.main(["verify", "variants", "-m", "resnet18", "--variants", "bf16,int4", "."]) == 2
    err = capsys.readouterr().err
    assert "--variants: unknown 'int4'; choose from batch1, batchN, bf16" in err, err
