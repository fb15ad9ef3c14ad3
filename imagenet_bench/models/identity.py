"""Model identity: the one string that names a model run everywhere.

Canonical form (what every output writes)::

    <framework>:<architecture>.<weights tag>[+<setting>]...

    torch:resnet50.IMAGENET1K_V1
    keras:MobileNetV2.imagenet
    torch:inception_v3.IMAGENET1K_V1+legacy2019
    torch:resnet50.IMAGENET1K_V2+bf16+channels_last
    custom:efficientnet_lite0.ckpt-1a2b3c4d

The same string names the model on the command line, in the cache file name
(``:`` becomes ``-``), in provenance and in every table. *Settings* are how the
weights were run when that changes outputs: a preprocessing override
(``legacy2019``, ``recipe-<sha8>``), the weights' origin (``ckpt-<sha8>``,
``random``), numerics (``bf16``, ``fp16``, ``tf32``, ``channels_last``,
``compile``, ``batch1``…), a runtime (``onnx``, ``onnx-int8``) or a Keras
backend (``keras-jax``, ``keras-torch``). They are kept sorted, so one run
setting has one spelling.

This module parses and formats identities only (standard library). Looking
a name up in the registry -- default tags, the 2019 aliases, suggestions for
a typo -- is :func:`imagenet_bench.models.registry.resolve`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Optional, Tuple

#: the framework of a ``--model-factory`` model's id (``custom:NAME``); other frameworks are the
#: names of model libraries (:mod:`imagenet_bench.models.libraries`), checked where names are
#: looked up (:func:`imagenet_bench.models.registry.resolve`), not here
CUSTOM = "custom"
_FRAMEWORK = re.compile(r"^[a-z][a-z0-9_]*$")

_SETTING = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ARCH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*$")


class IdentityError(ValueError):
    """A model name that cannot be parsed; the message quotes it and says the expected form."""


@dataclass(frozen=True, order=True)
class ModelId:
    """A parsed model identity (see the module docstring for the spelling)."""

    framework: str  # a model library's name ("torch", "keras", ...) or "custom" (--model-factory)
    arch: str  # architecture as its library spells it ("resnet50", "MobileNetV2")
    tag: str  # weights tag ("IMAGENET1K_V1", "imagenet"); "" = not resolved yet
    settings: Tuple[str, ...] = ()  # sorted run settings ("bf16", "legacy2019", "ckpt-1a2b3c4d")

    def __post_init__(self):
        if not _FRAMEWORK.match(self.framework):
            raise IdentityError(f"framework {self.framework!r}: lower-case letters, digits and '_' "
                                f"only, e.g. torch")
        if not _ARCH.match(self.arch):
            raise IdentityError(f"architecture {self.arch!r}: letters, digits, '_' and '-' only")
        if self.tag and not _TAG.match(self.tag):
            raise IdentityError(f"weights tag {self.tag!r}: letters, digits, '_' and '-' only")
        for s in self.settings:
            if not _SETTING.match(s):
                raise IdentityError(f"setting {s!r}: lower-case letters, digits, '_' and '-' only")
        object.__setattr__(self, "settings", tuple(sorted(set(self.settings))))

    # -- formatting -------------------------------------------------------
    @property
    def base(self) -> "ModelId":
        """The same weights with no run settings (the reference of a variant)."""
        return replace(self, settings=())

    @property
    def weights_name(self) -> str:
        """``framework:arch.tag`` without settings."""
        return f"{self.framework}:{self.arch}.{self.tag}" if self.tag else f"{self.framework}:{self.arch}"

    def __str__(self) -> str:
        return self.weights_name + "".join(f"+{s}" for s in self.settings)

    @property
    def file_stem(self) -> str:
        """The identity as a file-name stem (``torch-resnet50.IMAGENET1K_V1+bf16``)."""
        return str(self).replace(":", "-", 1)

    def with_settings(self, *settings: str) -> "ModelId":
        """A copy with ``settings`` added (duplicates collapse)."""
        return replace(self, settings=self.settings + tuple(s for s in settings if s))


def parse(text: str, framework: Optional[str] = None) -> Tuple[Optional[str], str, str, Tuple[str, ...]]:
    """Split a user's spelling into ``(framework or None, arch, tag or "", settings)``.

    Accepts ``framework:arch.tag+s1+s2``, ``arch.tag``, ``arch`` and torchvision's
    ``ResNet50_Weights.IMAGENET1K_V2`` (returned as arch ``ResNet50_Weights``;
    the registry maps it). Nothing is looked up here: a bare name's framework
    and default tag come from :func:`imagenet_bench.models.registry.resolve`.
    ``framework`` (e.g. from ``--framework``) must agree with a written prefix.
    """
    if not isinstance(text, str) or not text.strip():
        raise IdentityError("empty model name; expected e.g. torch:resnet50.IMAGENET1K_V1")
    raw = text.strip()
    head, *settings = raw.split("+")
    fw = None
    if ":" in head:
        fw, _, head = head.partition(":")
        fw = fw.lower()
        if not _FRAMEWORK.match(fw):
            raise IdentityError(f"{raw!r}: framework {fw!r} is not a name; expected e.g. "
                                f"torch:resnet50")
    if framework and fw and framework != fw:
        raise IdentityError(f"{raw!r} belongs to framework {fw!r}, not --framework {framework}")
    arch, _, tag = head.partition(".")
    if not arch or not _ARCH.match(arch) or (tag and not _TAG.match(tag)):
        raise IdentityError(f"{raw!r} is not a model name; expected framework:architecture.tag, "
                            f"e.g. torch:resnet50.IMAGENET1K_V1 or keras:MobileNetV2.imagenet")
    for s in settings:
        if not _SETTING.match(s):
            raise IdentityError(f"{raw!r}: setting {s!r} is not valid; settings are lower-case, "
                                f"e.g. +legacy2019 or +bf16")
    return fw or framework, arch, tag, tuple(settings)


def from_string(text: str) -> ModelId:
    """Parse a canonical identity (framework and tag present), as written in caches and tables."""
    fw, arch, tag, settings = parse(text)
    if fw is None:
        raise IdentityError(f"{text!r} has no framework prefix; canonical names look like "
                            f"torch:resnet50.IMAGENET1K_V1")
    return ModelId(fw, arch, tag, settings)
