"""Schema tests over the model registry (torchvision test_extended_models style)."""
import dataclasses

import pytest

from imagenet_bench.models import registry

KERAS = ("densenet121 densenet169 densenet201 inceptionresnetv2 inceptionv3 mobilenet "
         "mobilenetV2 nasnetlarge nasnetmobile resnet50 vgg16 vgg19 xception").split()
TORCH = ("alexnet densenet121 densenet161 densenet169 densenet201 inception_v3 resnet18 "
         "resnet34 resnet50 resnet101 resnet152 squeezenet1_0 squeezenet1_1 vgg11 vgg11_bn "
         "vgg13 vgg13_bn vgg16 vgg16_bn vgg19 vgg19_bn").split()


def test_the_34_models_of_the_2019_study():
    assert sorted(s.name for s in registry.list_models(framework="keras")) == sorted(KERAS)
    assert sorted(s.name for s in registry.list_models(framework="torch")) == sorted(TORCH)
    assert len(registry.list_models()) == 34


def test_schema_every_field_typed_and_filled():
    fields = {f.name: f.type for f in dataclasses.fields(registry.ModelSpec)}
    for spec in registry.list_models():
        for name in fields:
            value = getattr(spec, name)
            assert value not in (None, ""), f"{spec.qualname}.{name} is empty"
        assert 0 < spec.published_acc1 < spec.published_acc5 < 100, spec.qualname
        assert spec.input_size in (224, 299, 331)
        assert spec.resize_size >= spec.input_size
        assert ":" in spec.builder


def test_specs_are_frozen():
    spec = registry.get_model("torch:resnet50")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.input_size = 1


def test_duplicate_registration_is_refused():
    spec = registry.get_model("keras:vgg16")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(spec)


def test_names_clash_across_frameworks_only_when_qualified():
    assert registry.get_model("resnet50", framework="keras").framework == "keras"
    assert registry.get_model("torch:resnet50").framework == "torch"
    with pytest.raises(KeyError, match="several frameworks"):
        registry.get_model("resnet50")
    assert registry.get_model("alexnet").qualname == "torch:alexnet"
    with pytest.raises(KeyError, match="unknown model 'resnet5'"):
        registry.get_model("resnet5", framework="torch")


def test_list_models_pattern_sorted():
    names = [s.qualname for s in registry.list_models("resnet*")]
    assert names == sorted(names)
    assert "keras:resnet50" in names and "torch:resnet152" in names
    assert [s.qualname for s in registry.list_models("keras:vgg*")] == ["keras:vgg16", "keras:vgg19"]


def test_recipes():
    inc = registry.get_model("torch:inception_v3")
    assert (inc.recipe().resize, inc.recipe().crop) == (342, 299)
    assert (inc.recipe("legacy2019").resize, inc.recipe("legacy2019").crop) == (256, 299)
    nas = registry.get_model("keras:nasnetlarge").recipe("legacy2019")
    assert nas.squash and nas.crop == 331 and nas.interpolation == "nearest"
    ref = registry.get_model("keras:xception").recipe()
    assert (ref.resize, ref.crop, ref.interpolation) == (342, 299, "bicubic")
    with pytest.raises(ValueError, match="unknown preprocessing mode 'fancy'"):
        inc.recipe("fancy")


def test_paired_families_are_the_seven_shared_architectures():
    pairs = registry.paired_families()
    assert sorted(k.family for k, _ in pairs) == sorted(
        ["densenet121", "densenet169", "densenet201", "inception_v3", "resnet50", "vgg16", "vgg19"])
    assert all(k.framework == "keras" and t.framework == "torch" for k, t in pairs)


def test_torchvision_published_figures_match_its_weights_metadata():
    models = pytest.importorskip("torchvision.models")
    for spec in registry.list_models(framework="torch"):
        weights = models.get_model_weights(spec.name)[spec.weights]
        metrics = weights.meta["_metrics"]["ImageNet-1K"]
        assert spec.published_acc1 == pytest.approx(metrics["acc@1"]), spec.name
        assert spec.published_acc5 == pytest.approx(metrics["acc@5"]), spec.name
        t = weights.transforms()
        assert spec.recipe().resize == t.resize_size[0], spec.name
        assert spec.recipe().crop == t.crop_size[0], spec.name
        assert spec.recipe().interpolation == t.interpolation.value, spec.name
        assert list(spec.recipe().mean) == pytest.approx(list(t.mean))
        assert spec.builder == f"torchvision.models:{spec.name}"


def test_keras_builders_and_preprocess_modules_exist():
    pytest.importorskip("keras")
    import importlib

    for spec in registry.list_models(framework="keras"):
        module, _, fn = spec.builder.partition(":")
        assert callable(getattr(importlib.import_module(module), fn)), spec.builder
        assert callable(importlib.import_module(spec.normalization).preprocess_input)
