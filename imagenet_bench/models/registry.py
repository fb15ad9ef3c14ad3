"""The model registry: one frozen :class:`ModelSpec` per model.

Preprocessing is looked up from the spec (``spec.recipe(mode)``), never
re-decided in a script. This module imports only the standard library so
that the scorer can use it without pulling in a framework.

Names follow ``framework:model`` (``torch:resnet50``, ``keras:resnet50``):
the same string names the model on the command line, in the cache file and
in the table.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

FRAMEWORKS = ("torch", "keras")
PREPROCESS_MODES = ("reference", "legacy2019")

#: ImageNet mean/std on [0, 1] pixels (torchvision's normalisation).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

KERAS_DOC = "Keras Applications documentation (keras.io/api/applications), single centre crop"
TORCHVISION_DOC = "torchvision weights metadata IMAGENET1K_V1 (_metrics['ImageNet-1K'])"


@dataclass(frozen=True)
class Recipe:
    """How pixels reach the network: decode -> resize -> crop -> normalise."""

    resize: Optional[int]  # shorter side resized to this many pixels; None = no aspect-preserving resize
    crop: int  # final square side in pixels (centre crop, or squash target when squash=True)
    squash: bool  # True: resize straight to crop x crop, ignoring aspect ratio, no crop
    interpolation: str  # "nearest" | "bilinear" | "bicubic" (PIL filters)
    normalization: str  # "torch" (mean/std on [0,1]) or a Keras preprocess_input module path
    mean: Tuple[float, float, float] = IMAGENET_MEAN  # per-channel mean on [0,1] (normalization="torch")
    std: Tuple[float, float, float] = IMAGENET_STD  # per-channel std on [0,1] (normalization="torch")
    antialias: bool = True  # resize with antialiasing (torchvision >= 0.17 default for PIL and tensors)

    def as_dict(self) -> dict:
        """Plain-dict form for cache provenance."""
        return {
            "resize": self.resize, "crop": self.crop, "squash": self.squash,
            "interpolation": self.interpolation, "normalization": self.normalization,
            "mean": list(self.mean), "std": list(self.std), "antialias": self.antialias,
        }


@dataclass(frozen=True)
class ModelSpec:
    """Everything the project knows about one pretrained model."""

    name: str  # model name within its framework, as in the 2019 study ("resnet50", "mobilenetV2")
    framework: str  # "torch" or "keras"
    builder: str  # "module:callable" building the architecture
    weights: str  # default weights: torchvision enum name or Keras weights argument
    input_size: int  # side of the square network input in pixels
    resize_size: int  # reference recipe: shorter side resized to this before the centre crop
    interpolation: str  # reference recipe interpolation ("bilinear" | "bicubic")
    normalization: str  # "torch" or the Keras module whose preprocess_input applies
    published_acc1: float  # documented top-1 accuracy (%) of the default weights
    published_acc5: float  # documented top-5 accuracy (%) of the default weights
    published_source: str  # where the published figures come from
    legacy_resize: int  # 2019 study: torch Resize size / keras squash size
    family: str  # architecture family shared across frameworks, for paired comparisons

    @property
    def qualname(self) -> str:
        """``framework:name``, unique across the registry."""
        return f"{self.framework}:{self.name}"

    def recipe(self, mode: str = "reference") -> Recipe:
        """The preprocessing recipe for ``mode`` ("reference" or "legacy2019")."""
        if mode == "reference":
            return Recipe(resize=self.resize_size, crop=self.input_size, squash=False,
                          interpolation=self.interpolation, normalization=self.normalization)
        if mode == "legacy2019":
            if self.framework == "torch":
                # Resize(256) then CenterCrop(224 | 299), bilinear (2019 torchvision default).
                return Recipe(resize=self.legacy_resize, crop=self.input_size, squash=False,
                              interpolation="bilinear", normalization=self.normalization)
            # keras.preprocessing.image.load_img(target_size=(s, s)): nearest squash.
            return Recipe(resize=None, crop=self.legacy_resize, squash=True,
                          interpolation="nearest", normalization=self.normalization,
                          antialias=False)
        raise ValueError(f"unknown preprocessing mode {mode!r}; choose one of {PREPROCESS_MODES}")


_REGISTRY: Dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry; a duplicate ``framework:name`` raises."""
    if spec.framework not in FRAMEWORKS:
        raise ValueError(f"{spec.name}: unknown framework {spec.framework!r}")
    if spec.qualname in _REGISTRY:
        raise ValueError(f"model {spec.qualname!r} is already registered")
    _REGISTRY[spec.qualname] = spec
    return spec


def get_model(name: str, framework: Optional[str] = None) -> ModelSpec:
    """Look up a model by ``framework:name``, or by ``name`` plus ``framework``."""
    if ":" in name:
        fw, _, short = name.partition(":")
        if framework and framework != fw:
            raise KeyError(f"model {name!r} does not belong to framework {framework!r}")
        framework, name = fw, short
    if framework is None:
        hits = [s for s in _REGISTRY.values() if s.name == name]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise KeyError(f"model {name!r} exists in several frameworks "
                           f"({', '.join(s.qualname for s in hits)}); name one of them")
    else:
        spec = _REGISTRY.get(f"{framework}:{name}")
        if spec is not None:
            return spec
    known = ", ".join(s.name for s in list_models(framework=framework))
    raise KeyError(f"unknown model {name!r}" + (f" for framework {framework!r}" if framework else "")
                   + f". Known: {known}")


def list_models(pattern: Optional[str] = None, framework: Optional[str] = None) -> List[ModelSpec]:
    """Registered specs sorted by qualified name, filtered by an fnmatch ``pattern``.

    The pattern is matched against both ``name`` and ``framework:name``.
    """
    out = []
    for qual in sorted(_REGISTRY):
        spec = _REGISTRY[qual]
        if framework and spec.framework != framework:
            continue
        if pattern and not (fnmatch.fnmatch(spec.name, pattern) or fnmatch.fnmatch(qual, pattern)):
            continue
        out.append(spec)
    return out


def _torch(name, builder, acc1, acc5, family, input_size=224, resize=256, legacy_resize=256):
    register(ModelSpec(
        name=name, framework="torch", builder=f"torchvision.models:{builder}",
        weights="IMAGENET1K_V1", input_size=input_size, resize_size=resize,
        interpolation="bilinear", normalization="torch",
        published_acc1=acc1, published_acc5=acc5, published_source=TORCHVISION_DOC,
        legacy_resize=legacy_resize, family=family))


def _keras(name, builder, module, acc1, acc5, family, input_size=224):
    register(ModelSpec(
        name=name, framework="keras", builder=f"keras.applications.{module}:{builder}",
        weights="imagenet", input_size=input_size,
        # Keras maintainers' recipe for their published numbers: shorter side to
        # size/0.875 (bicubic), then a centre crop of size x size.
        resize_size=int(round(input_size / 0.875)), interpolation="bicubic",
        normalization=f"keras.applications.{module}",
        published_acc1=acc1, published_acc5=acc5, published_source=KERAS_DOC,
        legacy_resize=input_size, family=family))


# --- torchvision (figures must equal torchvision's own weights metadata) ---
_torch("alexnet", "alexnet", 56.522, 79.066, "alexnet")
_torch("densenet121", "densenet121", 74.434, 91.972, "densenet121")
_torch("densenet161", "densenet161", 77.138, 93.560, "densenet161")
_torch("densenet169", "densenet169", 75.600, 92.806, "densenet169")
_torch("densenet201", "densenet201", 76.896, 93.370, "densenet201")
_torch("inception_v3", "inception_v3", 77.294, 93.450, "inception_v3",
       input_size=299, resize=342, legacy_resize=256)
_torch("resnet18", "resnet18", 69.758, 89.078, "resnet18")
_torch("resnet34", "resnet34", 73.314, 91.420, "resnet34")
_torch("resnet50", "resnet50", 76.130, 92.862, "resnet50")
_torch("resnet101", "resnet101", 77.374, 93.546, "resnet101")
_torch("resnet152", "resnet152", 78.312, 94.046, "resnet152")
_torch("squeezenet1_0", "squeezenet1_0", 58.092, 80.420, "squeezenet1_0")
_torch("squeezenet1_1", "squeezenet1_1", 58.178, 80.624, "squeezenet1_1")
_torch("vgg11", "vgg11", 69.020, 88.628, "vgg11")
_torch("vgg11_bn", "vgg11_bn", 70.370, 89.810, "vgg11_bn")
_torch("vgg13", "vgg13", 69.928, 89.246, "vgg13")
_torch("vgg13_bn", "vgg13_bn", 71.586, 90.374, "vgg13_bn")
_torch("vgg16", "vgg16", 71.592, 90.382, "vgg16")
_torch("vgg16_bn", "vgg16_bn", 73.360, 91.516, "vgg16_bn")
_torch("vgg19", "vgg19", 72.376, 90.876, "vgg19")
_torch("vgg19_bn", "vgg19_bn", 74.218, 91.842, "vgg19_bn")

# --- Keras Applications (figures from the Keras Applications documentation) ---
_keras("densenet121", "DenseNet121", "densenet", 75.0, 92.3, "densenet121")
_keras("densenet169", "DenseNet169", "densenet", 76.2, 93.2, "densenet169")
_keras("densenet201", "DenseNet201", "densenet", 77.3, 93.6, "densenet201")
_keras("inceptionresnetv2", "InceptionResNetV2", "inception_resnet_v2", 80.3, 95.3,
       "inceptionresnetv2", input_size=299)
_keras("inceptionv3", "InceptionV3", "inception_v3", 77.9, 93.7, "inception_v3", input_size=299)
_keras("mobilenet", "MobileNet", "mobilenet", 70.4, 89.5, "mobilenet")
_keras("mobilenetV2", "MobileNetV2", "mobilenet_v2", 71.3, 90.1, "mobilenetV2")
_keras("nasnetlarge", "NASNetLarge", "nasnet", 82.5, 96.0, "nasnetlarge", input_size=331)
_keras("nasnetmobile", "NASNetMobile", "nasnet", 74.4, 91.9, "nasnetmobile")
_keras("resnet50", "ResNet50", "resnet50", 74.9, 92.1, "resnet50")
_keras("vgg16", "VGG16", "vgg16", 71.3, 90.1, "vgg16")
_keras("vgg19", "VGG19", "vgg19", 71.3, 90.0, "vgg19")
_keras("xception", "Xception", "xception", 79.0, 94.5, "xception", input_size=299)


def paired_families() -> List[Tuple[ModelSpec, ModelSpec]]:
    """(keras, torch) spec pairs of architectures that exist in both frameworks."""
    keras = {s.family: s for s in list_models(framework="keras")}
    torch = {s.family: s for s in list_models(framework="torch")}
    return [(keras[f], torch[f]) for f in sorted(set(keras) & set(torch))]
