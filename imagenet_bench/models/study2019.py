"""The 34 models of the 2019 Keras-vs-PyTorch study: names, weights, resize and family.

:mod:`imagenet_bench.models.registry` looks them up (2019 spellings, default
weights, the ``legacy2019`` recipes, the keras/torch pairs of ``compare``).
Standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple


@dataclass(frozen=True)
class Study2019:
    """One of the 34 models of the 2019 study."""

    framework: str  # "torch" | "keras"
    name: str  # the 2019 name ("resnet50", "mobilenetV2")
    arch: str  # architecture as the library spells it ("resnet50", "MobileNetV2")
    tag: str  # the weights the study used: "IMAGENET1K_V1" (pretrained=True) or "imagenet"
    legacy_resize: int  # torch: Resize() side before the centre crop; keras: squash side
    family: str  # architecture family shared across frameworks, for paired comparisons


def _t(name, family=None, resize=256):
    return Study2019("torch", name, name, "IMAGENET1K_V1", resize, family or name)


def _k(name, arch, size=224, family=None):
    return Study2019("keras", name, arch, "imagenet", size, family or name)


STUDY_2019: Tuple[Study2019, ...] = tuple(
    [_t(n) for n in ("alexnet densenet121 densenet161 densenet169 densenet201 inception_v3 "
                     "resnet18 resnet34 resnet50 resnet101 resnet152 squeezenet1_0 squeezenet1_1 "
                     "vgg11 vgg11_bn vgg13 vgg13_bn vgg16 vgg16_bn vgg19 vgg19_bn").split()]
    + [_k("densenet121", "DenseNet121"), _k("densenet169", "DenseNet169"),
       _k("densenet201", "DenseNet201"), _k("inceptionresnetv2", "InceptionResNetV2", 299),
       _k("inceptionv3", "InceptionV3", 299, "inception_v3"), _k("mobilenet", "MobileNet"),
       _k("mobilenetV2", "MobileNetV2"), _k("nasnetlarge", "NASNetLarge", 331),
       _k("nasnetmobile", "NASNetMobile"), _k("resnet50", "ResNet50"), _k("vgg16", "VGG16"),
       _k("vgg19", "VGG19"), _k("xception", "Xception", 299)])
