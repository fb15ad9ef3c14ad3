"""The model catalog (models/data/*.json): schema, staleness against torchvision, the 34 of 2019.

Keras-side checks that need Keras live in test_catalog_keras.py (it must load
triton before TensorFlow, see keras_helpers).
"""
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from imagenet_bench.models import catalog, registry

from conftest import load_tool

REPO = Path(__file__).resolve().parents[1]


def load_generator():
    """tools/gen_registry.py as a module (it is a script, not part of the package)."""
    return load_tool("gen_registry")


def committed(library):
    return (REPO / "imagenet_bench" / "models" / "data" / f"{library}.json").read_text()


def skip_unless_versions(library, modules):
    """Skip unless ``modules`` are installed at the versions the committed data records."""
    recorded = json.loads(committed(library))["versions"]
    for name in modules:
        mod = pytest.importorskip(name)
        have = mod.__version__.split("+", 1)[0]
        if have != recorded[name]:
            pytest.skip(f"{name} {have} installed, data/{library}.json was generated from "
                        f"{recorded[name]}: regenerate with python tools/gen_registry.py")


def _shipped_catalogs():
    """The package's own catalog files (``data/<stem>.json`` stems) the registered libraries read."""
    from imagenet_bench.models import libraries
    return tuple(lib.catalog[1][len("data/"):-len(".json")] for lib in libraries.libraries()
                 if lib.catalog[0] == catalog.PACKAGE)


# --- schema -----------------------------------------------------------------
def test_every_data_file_present_and_every_entry_fits_the_schema():
    assert {"torchvision", "keras"} <= set(_shipped_catalogs())
    entries = catalog.entries()
    assert len({e.model for e in entries}) == len(entries)
    for e in entries:
        assert e.model == f"{e.framework}:{e.architecture}.{e.weights}", e.model
        assert e.framework in ("torch", "keras", "timm", "openclip", "hf"), e.model
        assert ":" in e.builder and e.crop > 0 and e.input_size == e.crop, e.model
        # timm: resize = floor(input_size / crop_pct), below the crop for crop_pct > 1 (timm pads),
        # and its crop modes center / squash / border (docs/timm.md)
        assert e.resize is None or e.resize >= e.crop or e.framework == "timm", e.model
        assert e.interpolation in catalog.INTERPOLATIONS, e.model
        assert e.crop_mode == "center" or (e.framework == "timm" and e.crop_mode in ("squash", "border")) \
            or (e.framework in ("openclip", "hf") and e.crop_mode == "squash")  # resize_mode; ViT's
        if e.runnable and e.framework == "hf":  # its head is read from config.json when it runs
            assert "head checked against ImageNet-1k when it runs" in e.not_runnable_reason, e.model
        elif e.runnable:
            assert e.num_classes == 1000 and e.label_set == "imagenet-1k", e.model
            # open_clip: a runnable entry's reason is what running it needs (a hub tokenizer)
            assert e.not_runnable_reason is None or (
                e.framework == "openclip" and "Hugging Face hub" in e.not_runnable_reason), e.model
        else:
            assert e.not_runnable_reason, e.model
        for top in (e.published_top1, e.published_top5):
            assert top is None or 0 < top < 100, e.model
        if e.published_top1 is not None and e.published_top5 is not None:
            assert e.published_top1 < e.published_top5, e.model
        assert (e.source is None) == (e.published_top1 is None), e.model
        if e.preprocessing == "torch":
            assert len(e.mean) == len(e.std) == 3 and all(s > 0 for s in e.std), e.model
        else:
            assert e.mean is None and e.std is None, e.model
        assert e.preprocessing in ("torch", "caffe", "tf", "none"), e.model
        assert (e.preprocess_module is not None) == (e.framework == "keras"), e.model
        assert e.params is None or e.params > 0, e.model
        if e.framework in ("torch", "keras"):  # (timm weights may come from the HF hub)
            assert e.url.startswith("https://") and e.file_name, e.model
        if e.framework == "torch":  # the hub cache keeps the URL's name (Keras renames some)
            assert e.url.endswith("/" + e.file_name), e.model
        assert (e.quantized_backend is not None) == e.architecture.startswith("quantized_")


def test_one_default_per_architecture_and_quantized_weights_point_at_float_ones():
    entries = catalog.entries()
    defaults = Counter((e.framework, e.architecture) for e in entries if e.is_default)
    archs = {(e.framework, e.architecture) for e in entries}
    assert set(defaults) == archs and set(defaults.values()) == {1}
    by_id = {e.model: e for e in entries}
    quantized = [e for e in entries if e.quantized_backend]
    assert quantized and all(e.quantized_backend in ("fbgemm", "qnnpack") for e in quantized)
    for e in quantized:
        float_e = by_id[e.float_counterpart]
        assert float_e.architecture == e.architecture.replace("quantized_", "", 1)
        assert (float_e.resize, float_e.crop, float_e.interpolation) == \
               (e.resize, e.crop, e.interpolation), e.model


def test_the_vgg16_features_weights_are_listed_as_not_runnable_with_the_reason():
    (e,) = [e for e in catalog.entries("torch") if e.model == "torch:vgg16.IMAGENET1K_FEATURES"]
    assert not e.runnable and e.num_classes is None and e.published_top1 is None
    assert "not a 1000-class ImageNet classifier" in e.not_runnable_reason
    assert "can't be used for classification" in e.not_runnable_reason


def _entry_dict(**change):
    raw = {k: getattr(catalog.load("torchvision")[0], k) for k in catalog.KEYS}
    raw.update(aliases=list(raw["aliases"]), mean=list(raw["mean"]), std=list(raw["std"]))
    raw.update(change)
    return raw


def test_a_validated_entry_is_the_dataclass_its_constructor_makes():
    import dataclasses

    raw = _entry_dict(test_input_size=None, test_crop_pct=None)
    made = catalog.WeightsEntry(**{k: tuple(v) if k in ("aliases", "mean", "std") else v
                                   for k, v in raw.items()})
    e = catalog.validate(raw, "x")
    assert e == made and hash(e) == hash(made) and repr(e) == repr(made)
    assert dataclasses.astuple(e) == dataclasses.astuple(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.crop = 1
    short = {k: v for k, v in raw.items() if k not in catalog.OPTIONAL}  # optional keys left out
    assert catalog.validate(short, "x") == made


def test_validation_names_the_bad_key():
    with pytest.raises(catalog.CatalogError, match=r"key 'aliases' has None; expected list\. Fix:"):
        catalog.validate(_entry_dict(aliases=None), "where")
    with pytest.raises(catalog.CatalogError, match=r"key 'resize' has 1.5; expected int or null\. Fix:"):
        catalog.validate(_entry_dict(resize=1.5), "where")
    assert catalog.validate(_entry_dict(), "x") == catalog.load("torchvision")[0]
    with pytest.raises(catalog.CatalogError, match=r"where: missing keys \['crop'\], unknown "
                                                   r"keys \['crop_size'\].*gen_registry.py"):
        raw = _entry_dict(crop_size=224)
        del raw["crop"]
        catalog.validate(raw, "where")
    with pytest.raises(catalog.CatalogError, match=r"Fix: regenerate with `python tools/gen_timm.py "
                                                   r"registry`"):  # the file's own generator
        catalog.validate(raw, "timm.json entry 0", "tools/gen_timm.py registry")
    with pytest.raises(catalog.CatalogError, match="key 'input_size' has '224'; expected int"):
        catalog.validate(_entry_dict(input_size="224"), "where")
    with pytest.raises(catalog.CatalogError, match=r"key 'runnable' has None; expected bool\. Fix:"):
        catalog.validate(_entry_dict(runnable=None), "where")
    with pytest.raises(catalog.CatalogError, match=r"key 'params' has True; expected int or null\. Fix:"):
        catalog.validate(_entry_dict(params=True), "where")


def test_an_unknown_library_is_refused():
    with pytest.raises(catalog.CatalogError, match="unknown library 'tensorflow'"):
        catalog.load("tensorflow")


def test_data_files_ship_as_package_data():
    # setup.py must declare every data file the catalog reads (a wheel would lack it otherwise)
    text = (REPO / "setup.py").read_text()
    assert '"imagenet_bench.models": ["data/*.json"]' in text
    files = sorted(p.name for p in (REPO / "imagenet_bench" / "models" / "data").glob("*.json"))
    assert files == sorted([f"{lib}.json" for lib in _shipped_catalogs()] + ["timm_results.json",
                                                                          "openclip_published.json",
                                                                          "flops.json"])


@pytest.mark.slow
def test_a_built_wheel_carries_the_data_and_its_import_finds_it(built_wheel):
    from conftest import run_from_site
    _, site = built_wheel
    code = ("import imagenet_bench; from imagenet_bench.models import catalog; "
            "import collections; print(imagenet_bench.__file__); "
            "print(sorted(collections.Counter(e.framework for e in catalog.entries()).items()))")
    out = run_from_site(site, code)
    assert out[0].startswith(str(site))
    import collections
    assert out[1] == str(sorted(collections.Counter(e.framework for e in catalog.entries()).items()))


def test_reading_the_catalog_imports_no_framework():
    code = ("import sys; from imagenet_bench.models import catalog; n = len(catalog.entries()); "
            "print(n, sorted(m for m in ('torch', 'tensorflow', 'keras', 'timm', 'transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(REPO)).stdout.split(" ", 1)
    assert int(out[0]) == len(catalog.entries()) and out[1].strip() == "[]"


# --- the 34 models of 2019 ---------------------------------------------------
def entry_for_2019(spec):
    """The catalog entry a 2019 name means: torchvision IMAGENET1K_V1, Keras 'imagenet'."""
    if spec.id.framework == "torch":
        model = f"torch:{spec.study.name}.IMAGENET1K_V1"
        return next(e for e in catalog.entries("torch") if e.model == model)
    (e,) = [e for e in catalog.entries("keras") if e.architecture.lower() == spec.study.name.lower()]
    return e


@pytest.mark.parametrize("spec", registry.list_models(study2019=True), ids=lambda s: str(s.id))
def test_the_2019_names_resolve_to_the_catalog_entries_of_the_weights_they_used(spec):
    e = entry_for_2019(spec)  # found here by name alone, independently of registry.resolve
    assert registry.resolve(f"{spec.id.framework}:{spec.study.name}")[1] == e == spec.entry
    assert e.runnable and e.published_top1 is not None and e.published_top5 is not None
    assert spec.recipe("legacy2019").normalization == spec.recipe().normalization
    if spec.id.framework == "keras":  # the 2019 squash side was each application's input size
        assert e.input_size == spec.study.legacy_resize and e.file_name and e.url
        assert e.source.startswith("Keras Applications documentation table")
    else:
        assert e.source.startswith(f"torchvision {e.aliases[0]}.meta")


# --- generated from the installed torchvision ---------------------------------
def test_torchvision_counts_come_from_the_library():
    models = pytest.importorskip("torchvision.models")
    float_weights = [w for a in models.list_models(module=models)
                     for w in models.get_model_weights(a)]
    quant = [w for a in models.list_models(module=models.quantization)
             for w in models.get_model_weights(a)]
    entries = catalog.load("torchvision")
    assert len(entries) == len(float_weights) + len(quant)
    assert sum(e.quantized_backend is not None for e in entries) == len(quant)
    archs = set(models.list_models(module=models))
    assert {e.architecture for e in entries} == \
        archs | set(models.list_models(module=models.quantization))
    not_1000 = sorted(f"torch:{a}.{w.name}" for a in models.list_models(module=models)
                      for w in models.get_model_weights(a)
                      if len(w.meta.get("categories") or ()) != 1000)
    assert not_1000 and sorted(e.model for e in entries if not e.runnable) == not_1000


def test_torchvision_json_is_what_the_generator_writes_today():
    skip_unless_versions("torchvision", ("torch", "torchvision"))
    gen = load_generator()
    assert gen.dumps(gen.torchvision_document()) == committed("torchvision"), \
        "data/torchvision.json is stale: run python tools/gen_registry.py --only torchvision"


def test_torchvision_figures_and_recipes_are_the_weights_own():
    models = pytest.importorskip("torchvision.models")
    for e in catalog.load("torchvision"):
        w = models.get_weight(e.aliases[0])
        t = w.transforms()
        assert (e.resize, e.crop, e.interpolation) == \
               (t.resize_size[0], t.crop_size[0], t.interpolation.value), e.model
        assert list(e.mean) == list(t.mean) and list(e.std) == list(t.std), e.model
        acc = w.meta["_metrics"]["ImageNet-1K"]
        if e.published_top1 is None:
            assert math.isnan(acc["acc@1"]), e.model
        else:
            assert (e.published_top1, e.published_top5) == (acc["acc@1"], acc["acc@5"]), e.model
        assert e.is_default == (w is type(w).DEFAULT) and e.url == w.url, e.model


# --- every torchvision architecture builds and classifies (slow) ----------------
def _torch_groups():
    """(architecture, builder, input sizes) of every runnable torchvision architecture."""
    sizes = {}
    for e in catalog.load("torchvision"):
        if e.runnable:
            sizes.setdefault((e.architecture, e.builder), set()).add(e.input_size)
    return [(a, b, tuple(sorted(s))) for (a, b), s in sorted(sizes.items())]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning:torchvision.*", "ignore::FutureWarning")
@pytest.mark.parametrize("arch,builder,sizes", _torch_groups(), ids=[g[0] for g in _torch_groups()])
def test_every_torchvision_architecture_builds_with_random_weights_and_gives_1000_classes(
        arch, builder, sizes):
    torch = pytest.importorskip("torch")
    import importlib
    module, name = builder.split(":")
    fn = getattr(importlib.import_module(module), name)
    kwargs = {"quantize": False} if module.endswith(".quantization") else {}
    model = None
    for size in sizes:
        # torchvision's ViT builders take image_size from the weights' meta ("min_size"):
        # with weights=None it must be given for weights that run at another size than 224.
        if model is None or arch.startswith("vit_"):
            extra = {"image_size": size} if arch.startswith("vit_") else {}
            model = fn(weights=None, **kwargs, **extra).eval()
        with torch.no_grad():
            out = model(torch.rand(1, 3, size, size))
        assert tuple(out.shape) == (1, 1000), (arch, size)
    del model


# architectures Keras and torchvision build alike (Keras' ResNet50 is not: its stride sits in
# the first 1x1 convolution, so it is left out)
SAME_NETWORK = [("VGG16", "vgg16"), ("VGG19", "vgg19"), ("InceptionV3", "inception_v3"),
                ("DenseNet121", "densenet121"), ("DenseNet201", "densenet201"),
                ("ConvNeXtTiny", "convnext_tiny"), ("ConvNeXtLarge", "convnext_large"),
                ("MobileNetV2", "mobilenet_v2"), ("EfficientNetB0", "efficientnet_b0")]


@pytest.mark.parametrize("keras_arch,tv_arch", SAME_NETWORK)
def test_counted_keras_gflops_agree_with_torchvisions_published_ops(keras_arch, tv_arch):
    # tools/gen_flops.py --keras counts Keras' networks; torchvision publishes _ops for the same
    # network: the count must land on the published figure (both multiply-adds / 1e9)
    k = next(e for e in catalog.entries("keras") if e.architecture == keras_arch)
    tv = next(e for e in catalog.entries("torch") if e.architecture == tv_arch)
    assert k.input_size == tv.input_size
    assert k.gflops == pytest.approx(tv.gflops, rel=2e-3), (k.model, k.gflops, tv.model, tv.gflops)


def test_every_keras_entry_has_gflops_or_a_recorded_reason():
    data = json.loads((REPO / "imagenet_bench" / "models" / "data" / "flops.json").read_text())
    for e in catalog.entries("keras"):
        assert e.gflops is not None or "error" in data["models"][e.model], e.model


@pytest.mark.parametrize("library", ["torch", "keras", "timm"])
def test_every_entry_of_the_three_catalogs_has_its_params(library):
    # torchvision's meta, Keras' count_params(), timm's results param_count or the meta-device
    # count of tools/gen_flops.py: sweep collect's params column is never empty for these
    missing = [e.model for e in catalog.entries(library) if e.params is None]
    assert not missing, missing[:5]
