"""What one test set is: the frozen :class:`DatasetSpec` every set module declares (stdlib + numpy).

The registry (:mod:`imagenet_bench.data.datasets`) collects the specs; a set
that needs more than a declaration (ImageNet-C's 95 folders, its protocol)
is one module of its own (:mod:`imagenet_bench.data.imagenet_c`) that builds
its specs from this class and is listed in the registry's ``SET_MODULES``.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Optional, Tuple

from imagenet_bench.data import imagenet_meta

DEFAULT = "imagenet-val"
_INFO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_info")


@dataclass(frozen=True)
class DatasetSpec:
    """What one test set is, how its folder must look, and where its published figures are."""

    name: str  # the --dataset value, the CSV column, the cache tag prefix (val: "val", cache/naming)
    title: str  # human name
    layouts: Tuple[str, ...]  # accepted folder layouts (WNID_FOLDERS, INDEX_FOLDERS, FLAT_OFFICIAL)
    label_source: str  # where each image's label comes from
    num_images: int  # images in the complete set (from the set's own documentation)
    count_source: str  # where num_images is stated
    subset_file: Optional[str] = None  # package-data file of the class subset's wnids; None: all 1000
    source: str = ""  # where the set is published
    licence: str = ""  # licence of the published data / code
    paper: str = ""  # the paper that introduced it
    published_table: Optional[str] = None  # its table in the libraries' results tables (timm, open_clip)
    shifted: bool = True  # a distribution-shifted set (a `robustness` column); val: False
    short: str = ""  # column header in the robustness table ("v2-mf", "A"); "": the name
    family: str = ""  # the download it is one folder of ("imagenet-c"); "": a set of its own
    subfolder: str = ""  # its folder inside the family's download ("gaussian_noise/3"); "": the root
    border: int = 0  # pixels removed from each side of every image before the recipe (ObjectNet: 2)
    mapped_subset: bool = False  # a class subset read from the user's mapping files (ObjectNet)
    class_count: int = 0  # classes of the complete set when they are not ImageNet's (ObjectNet: 113)
    published_note: str = ""  # why there is no published figure: no table, or not the library's

    @property
    def classes(self) -> Optional[Tuple[int, ...]]:
        """Class indices (sorted) of the set's fixed class subset, or None for all 1,000."""
        return None if self.subset_file is None else _subset_indices(self.subset_file)

    @property
    def masked(self) -> bool:
        """True when the set has a class subset its predictions can be masked to (A/R, ObjectNet)."""
        return self.subset_file is not None or self.mapped_subset

    @property
    def num_classes(self) -> int:
        """Number of classes of the complete set."""
        if self.class_count:
            return self.class_count
        return imagenet_meta.NUM_CLASSES if self.subset_file is None else len(self.classes)

    def image_id(self, relpath: str) -> str:
        """Identity of an image from its path relative to the set's folder."""
        return relpath if self.name == DEFAULT else f"{self.name}/{relpath}"


@functools.lru_cache(maxsize=None)
def _subset_indices(filename: str) -> Tuple[int, ...]:
    path = os.path.join(_INFO, filename)
    with open(path, encoding="utf-8") as f:
        wnids = [s.strip() for s in f if s.strip() and not s.startswith("#")]
    index = imagenet_meta.wnid_to_index()
    unknown = [w for w in wnids if w not in index]
    if unknown or len(set(wnids)) != len(wnids):
        raise imagenet_meta.MetadataError(f"{path}: {len(unknown)} unknown or repeated wnids "
                                          f"({unknown[:3]}). Fix: reinstall imagenet_bench")
    return tuple(sorted(index[w] for w in wnids))
