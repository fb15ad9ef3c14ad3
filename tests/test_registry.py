"""The registry: name lookup over the catalog, every accepted spelling, the 2019 study."""
import pytest

from imagenet_bench.cli import main as cli
from imagenet_bench.errors import InputError
from imagenet_bench.models import registry

KERAS = ("densenet121 densenet169 densenet201 inceptionresnetv2 inceptionv3 mobilenet "
         "mobilenetV2 nasnetlarge nasnetmobile resnet50 vgg16 vgg19 xception").split()
TORCH = ("alexnet densenet121 densenet161 densenet169 densenet201 inception_v3 resnet18 "
         "resnet34 resnet50 resnet101 resnet152 squeezenet1_0 squeezenet1_1 vgg11 vgg11_bn "
         "vgg13 vgg13_bn vgg16 vgg16_bn vgg19 vgg19_bn").split()


def test_the_34_models_of_the_2019_study_resolve_to_the_weights_they_used():
    study = registry.list_models(study2019=True)
    assert sorted(s.study.name for s in study if s.id.framework == "keras") == sorted(KERAS)
    assert sorted(s.study.name for s in study if s.id.framework == "torch") == sorted(TORCH)
    assert len(study) == 34
    assert {s.id.tag for s in study if s.id.framework == "torch"} == {"IMAGENET1K_V1"}
    assert {s.id.tag for s in study if s.id.framework == "keras"} == {"imagenet"}
    for name in TORCH:
        assert str(registry.resolve(f"torch:{name}")[0]) == f"torch:{name}.IMAGENET1K_V1"


@pytest.mark.parametrize("text, canonical", [
    ("torch:resnet50", "torch:resnet50.IMAGENET1K_V1"),  # a 2019 model: the 2019 weights
    ("torch:resnet50.IMAGENET1K_V2", "torch:resnet50.IMAGENET1K_V2"),
    ("ResNet50_Weights.IMAGENET1K_V2", "torch:resnet50.IMAGENET1K_V2"),  # torchvision's spelling
    ("resnet50_weights.imagenet1k_v2", "torch:resnet50.IMAGENET1K_V2"),
    ("TORCH:ResNet50.imagenet1k_v2", "torch:resnet50.IMAGENET1K_V2"),
    ("keras:ResNet50", "keras:ResNet50.imagenet"),
    ("keras:resnet50", "keras:ResNet50.imagenet"),
    ("mobilenetV2", "keras:MobileNetV2.imagenet"),  # 2019 names, bare
    ("inceptionresnetv2", "keras:InceptionResNetV2.imagenet"),
    ("keras:inceptionv3", "keras:InceptionV3.imagenet"),
    ("torch:inception_v3+legacy2019", "torch:inception_v3.IMAGENET1K_V1+legacy2019"),
    ("alexnet+random+bf16", "torch:alexnet.IMAGENET1K_V1+bf16+random"),
    ("vgg16.IMAGENET1K_FEATURES", "torch:vgg16.IMAGENET1K_FEATURES"),  # the tag settles it
])
def test_accepted_spellings(text, canonical):
    mid, entry = registry.resolve(text)
    assert str(mid) == canonical
    assert entry.model == str(mid.base)


def test_a_name_outside_2019_means_the_library_default_resolved_to_its_tag():
    mid, entry = registry.resolve("torch:efficientnet_v2_s")
    assert entry.is_default and str(mid) == f"torch:efficientnet_v2_s.{entry.weights}"
    assert mid.tag != "DEFAULT"
    assert registry.resolve("torch:resnet50.DEFAULT")[0].tag == "IMAGENET1K_V1"  # 2019 default


def test_framework_option_restricts_the_lookup():
    assert str(registry.resolve("resnet50", "keras")[0]) == "keras:ResNet50.imagenet"
    assert str(registry.resolve("resnet50", "torch")[0]) == "torch:resnet50.IMAGENET1K_V1"
    with pytest.raises(InputError, match="not --framework torch"):
        registry.resolve("keras:ResNet50", "torch")


def test_bare_name_in_both_frameworks_lists_both_full_names():
    with pytest.raises(InputError) as e:
        registry.resolve("resnet50")
    msg = str(e.value)
    assert "torch:resnet50.IMAGENET1K_V1" in msg and "keras:ResNet50.imagenet" in msg


def test_typo_suggests_the_closest_names():
    with pytest.raises(InputError) as e:
        registry.resolve("torch:resnt50")
    assert "unknown model 'torch:resnt50'" in str(e.value) and "torch:resnet50" in str(e.value)
    with pytest.raises(InputError, match="Did you mean keras:MobileNetV2"):
        registry.resolve("keras:mobilnetv2")
    with pytest.raises(InputError) as e:
        registry.resolve("torch:resnet50.IMAGENET9K")
    assert "IMAGENET1K_V1, IMAGENET1K_V2" in str(e.value)


@pytest.mark.parametrize("command, name, expected", [
    ("predict", "resnet50", "torch:resnet50.IMAGENET1K_V1 and keras:ResNet50.imagenet"),
    ("compare", "resnet50", "torch:resnet50.IMAGENET1K_V1 and keras:ResNet50.imagenet"),
    ("predict", "resnt50", "Did you mean torch:resnet50 or keras:ResNet50"),
    ("predict", "torch:resnet50+Bad", "setting 'Bad' is not valid"),
    ("predict", "foo:bar", "unknown framework 'foo'"),
    ("predict", "torch:vgg16.IMAGENET1K_FEATURES", "cannot be run by predict: VGG16_Weights"),
])
def test_cli_spelling_errors_exit_2_without_traceback(command, name, expected, tmp_path, capsys):
    argv = (["predict", str(tmp_path), "-m", name] if command == "predict"
            else ["compare", name, "torch:alexnet", "--precomputed", str(tmp_path)])
    if command == "compare":  # compare needs a cache to look names up in
        from conftest import make_preds, write_caches
        write_caches(tmp_path, [make_preds([[1, 2, 3, 4, 5]], [1], "torch:alexnet.IMAGENET1K_V1")])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_recipes_of_the_2019_study():
    inc = registry.get_model("torch:inception_v3")
    assert (inc.recipe().resize, inc.recipe().crop) == (342, 299)
    assert (inc.recipe("legacy2019").resize, inc.recipe("legacy2019").crop) == (256, 299)
    assert inc.recipe("legacy2019").interpolation == "bilinear"
    nas = registry.get_model("keras:nasnetlarge").recipe("legacy2019")
    assert nas.squash and nas.crop == 331 and nas.interpolation == "nearest" and not nas.antialias
    with pytest.raises(InputError, match="unknown preprocessing mode 'fancy'"):
        inc.recipe("fancy")
    with pytest.raises(InputError, match="34 models only"):
        registry.get_model("torch:resnet50.IMAGENET1K_V2").recipe("legacy2019")


def test_paired_families_are_the_seven_shared_architectures():
    pairs = registry.paired_families()
    assert sorted(k.study.family for k, _ in pairs) == sorted(
        ["densenet121", "densenet169", "densenet201", "inception_v3", "resnet50", "vgg16", "vgg19"])
    assert all(k.id.framework == "keras" and t.id.framework == "torch" for k, t in pairs)


def test_list_models_pattern_sorted_case_insensitive():
    names = [str(s.id) for s in registry.list_models("resnet5*")]
    assert names == sorted(names)
    assert "keras:ResNet50.imagenet" in names and "torch:resnet50.IMAGENET1K_V2" in names
    assert [str(s.id) for s in registry.list_models("keras:vgg*", study2019=True)] == [
        "keras:VGG16.imagenet", "keras:VGG19.imagenet"]


def test_caches_written_before_identities_get_their_canonical_id():
    assert registry.upgrade_name("torch", "inception_v3.legacy2019") == \
        "torch:inception_v3.IMAGENET1K_V1+legacy2019"
    assert registry.upgrade_name("torch", "resnet50.IMAGENET1K_V2") == "torch:resnet50.IMAGENET1K_V2"
    assert registry.upgrade_name("keras", "mobilenetV2.random") == "keras:MobileNetV2.imagenet+random"
    assert registry.upgrade_name("torch", "mine") == "torch:mine"
    spec = registry.spec_of("torch:inception_v3.IMAGENET1K_V1+legacy2019+bf16")
    assert str(spec.id) == "torch:inception_v3.IMAGENET1K_V1" and spec.entry.published_top1 > 70
