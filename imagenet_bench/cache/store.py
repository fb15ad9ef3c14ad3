"""The prediction cache: one ``.npz`` per model and dataset, with provenance.

Arrays in the file (format 2: a deterministic ``.npz``, deflated except
``top5_prob``, see :mod:`imagenet_bench.cache.npz`; no pickles):

* ``top5_idx``   int16 (N, 5): class indices, ranked by probability, highest
  first, so column 0 is the top-1; a row of -1 for an image that could not
  be read (see ``missing``)
* ``top5_prob``  float16 (N, 5): their probabilities (0 on missing rows), stored.
  float16 keeps 11 significant bits (relative error <= 2**-11, about 0.05 %
  of the value; absolute error <= 2**-25 below 2**-14), far finer than any
  calibration bin; the ranking itself is
  taken from the full-precision scores before rounding and kept in
  ``top5_idx``, so rounding never changes a top-1 or top-5. A cache that
  also stores ``all_probs`` (``--save-all-probs``, every ``verify variants``
  run) keeps ``top5_prob`` in float32 (10 more bytes a row beside 2,000):
  the paired |Δprob| of two runs is then resolved to float32, not to one
  float16 step (2**-11 = 0.000488 for p in [0.5, 1))
* ``labels``     int16 (N,): ground-truth class index 0-999
* ``missing``    bool (N,): images recorded as unreadable (counted as wrong);
  left out when no image is
* ``image_ids``  uint8 blob: the N image identities, UTF-8, newline-joined
  (``wnid/ILSVRC2012_val_00000293.JPEG``); left out for the full validation
  set in ImageFolder order, whose provenance says ``"image_list":
  "imagenet2012-val-imagefolder"`` (:data:`FULL_VAL_LIST`): its ids are
  rebuilt from the package data (:func:`imagenet_meta.full_val_ids_blob`;
  1.95 MB, 0.2 MB deflated, less per file) only when a command uses them:
  validation checks such a cache against constants (:mod:`.image_ids`)
* ``provenance`` uint8 blob: UTF-8 JSON, see :data:`REQUIRED_PROVENANCE`
* ``all_probs``  float16 (N, 1000), optional (``--save-all-probs``)
* ``subset_top5_idx`` int16 / ``subset_top5_prob`` float16 (N, 5), optional: for a test
  set with a class subset (ImageNet-A/R), the top-5 among the subset's classes
  (provenance ``dataset.class_subset``) of the full softmax, not renormalised
* ``label_logp``, ``prob_sq_sum`` (and ``subset_mass``, ``subset_sq_sum`` for a set
  with a class subset) float32 (N,): the per-image figures that make NLL and
  Brier exact (:mod:`imagenet_bench.cache.per_image`); written by ``predict``
  from format 3 on, absent from older caches and imported top-5 outputs
* ``logits``     float32 (N, 1000), optional (``--save-logits``): the network's
  outputs before the softmax, for temperature scaling

Format 3 adds the per-image members and ``logits``; formats 1 (``np.savez``,
float32 ``top5_prob``) and 2 are still read.

Only numpy is imported here.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.cache import array_checks, checks, derived, image_ids, npz, per_image
from imagenet_bench.cache.interface import Cache
from imagenet_bench.cache.image_ids import (  # noqa: F401 (re-exported: part of the cache API)
    FULL_VAL_LIST, full_val_blob, ids_summary)
from imagenet_bench.cache.naming import (  # noqa: F401 (re-exported: part of the cache API)
    NUM_CLASSES, TOPK, cache_filename, dataset_tag, top5_from_probs, top5_within)
from imagenet_bench.cache.atomic import atomic_path
from imagenet_bench.data.datasets import fingerprint, ids_blob as _ids_blob  # noqa: F401 (cache API)
from imagenet_bench.errors import BenchError

FORMAT_VERSION = 3
#: cache format versions this code reads (1: uncompressed, float32 probabilities; 2: no
#: per-image calibration figures)
READABLE_VERSIONS = (1, 2, 3)
#: members written uncompressed (five float16 probabilities per row barely deflate; cache.npz)
STORED_MEMBERS = ("top5_prob",)

#: member -> shape after the row dimension, checked from the npy headers before reading
MEMBER_SHAPES = {"top5_idx": (TOPK,), "top5_prob": (TOPK,), "labels": (), "missing": (),
                 "all_probs": (NUM_CLASSES,), "subset_top5_idx": (TOPK,), "subset_top5_prob": (TOPK,),
                 "logits": (NUM_CLASSES,), **{k: () for k in per_image.names(subset=True)}}

#: provenance keys every cache must carry, with what they mean
REQUIRED_PROVENANCE = {
    "format_version": "cache format version (int)",
    "model": "canonical model identity (models.identity), e.g. torch:resnet50.IMAGENET1K_V1+bf16",
    "framework": "the identity's framework: a model library's name (torch, keras, ...) or custom",
    "weights": "weights used (enum name, 'imagenet', a file path, or 'random')",
    "preprocessing": "recipe used (dict, see models.recipe.Recipe.as_dict) or a description",
    "library_versions": "versions of the libraries that produced the predictions",
    "fingerprint": "sha256 of the ordered image identities",
    "num_images": "number of rows",
    "complete": "True when every image of the list has been predicted",
}


class CacheError(BenchError, ValueError):
    """A cache file is invalid; the message names the file, the problem and the fix."""


@dataclass
class Predictions(Cache):
    """One model's top-5 predictions over an ordered list of images, in memory (the
    :class:`~imagenet_bench.cache.interface.Cache` interface computed from the arrays)."""

    top5_idx: np.ndarray
    top5_prob: np.ndarray
    labels: np.ndarray
    image_ids_blob: np.ndarray
    provenance: Dict
    missing: Optional[np.ndarray] = None
    all_probs: Optional[np.ndarray] = None
    path: Optional[str] = field(default=None, compare=False)
    subset_top5_idx: Optional[np.ndarray] = None  # top-5 within the dataset's class subset
    subset_top5_prob: Optional[np.ndarray] = None
    #: per-image calibration figures (cache.per_image: name -> float32 (N,)); None: not kept
    per_image: Optional[Dict[str, np.ndarray]] = None
    logits: Optional[np.ndarray] = None  # float32 (N, 1000) pre-softmax outputs (--save-logits)

    @classmethod
    def build(cls, top5_idx, top5_prob, labels, image_ids: Sequence[str], provenance: Dict,
              missing=None, all_probs=None, subset_top5=None, per_image=None,
              logits=None) -> "Predictions":
        """Assemble predictions from arrays and a list of image ids; fills fingerprint/num_images."""
        blob = _ids_blob(image_ids)
        prov = dict(provenance)
        prov.setdefault("format_version", FORMAT_VERSION)
        prov["fingerprint"] = hashlib.sha256(blob.tobytes()).hexdigest()
        prov["num_images"] = len(image_ids)
        n = len(image_ids)
        return cls(
            top5_idx=np.asarray(top5_idx, dtype=np.int16),
            top5_prob=np.asarray(top5_prob, dtype=np.float32),
            labels=np.asarray(labels, dtype=np.int16),
            image_ids_blob=blob, provenance=prov,
            missing=np.zeros(n, bool) if missing is None else np.asarray(missing, dtype=bool),
            all_probs=None if all_probs is None else np.asarray(all_probs, dtype=np.float16),
            subset_top5_idx=None if subset_top5 is None else np.asarray(subset_top5[0], np.int16),
            subset_top5_prob=None if subset_top5 is None else np.asarray(subset_top5[1], np.float32),
            per_image=None if per_image is None else {
                k: np.asarray(v, np.float32) for k, v in per_image.items()},
            logits=None if logits is None else np.asarray(logits, np.float32))

    # -- the abilities of the cache interface, computed from the arrays ----------
    @property
    def num_images(self) -> int:
        return int(self.top5_idx.shape[0])

    def correct_flags(self) -> Tuple[np.ndarray, np.ndarray]:
        return derived.correct(self.top5_idx, self.labels, self.missing, self.same_class)

    @property
    def has_subset(self) -> bool:
        return self.subset_top5_idx is not None

    def masked_flags(self, k: int = 1) -> Optional[np.ndarray]:
        if self.subset_top5_idx is None:
            return None
        return derived.masked_correct(self.subset_top5_idx, self.labels, self.missing, k,
                                      self.same_class)

    def top1_pred(self) -> np.ndarray:
        return self.top5_idx[:, 0]

    def val_restricted(self, dataset: str) -> Optional[List]:
        return None  # computed by the caller from the arrays

    def with_all_probs(self) -> "Predictions":
        if self.all_probs is None and self.path and self.path.endswith(".npz"):
            try:
                return load(self.path, with_all_probs=True)
            except CacheError:
                return self
        return self

    def release(self) -> None:
        """Nothing to drop: the arrays are the cache."""

    def _ids_fingerprint(self) -> str:
        return ids_summary(self.image_ids_blob)[1]

    def _ids_implicit(self) -> bool:
        """True while the image ids are the implicit full-val list, not yet built."""
        return self.__dict__.get("_ids_blob", False) is None

    # -- validation --------------------------------------------------------
    def validate(self, allow_incomplete: bool = False,
                 check_fingerprint: bool = True) -> "Predictions":
        """Check shapes, dtypes, ranges and provenance; raise :class:`CacheError` naming the file.

        ``check_fingerprint=False`` skips re-hashing the image ids, for callers
        that computed the fingerprint from the same ids themselves.
        """
        where = self.where()

        def fail(msg: str, fix: str = "re-create it with `imagenet-bench predict` "
                                      "or `imagenet-bench import`"):
            raise CacheError(f"{where}: {msg}. Fix: {fix}")

        checks.check_provenance_types(self.provenance, fail)
        missing_keys = [k for k in REQUIRED_PROVENANCE if k not in self.provenance]
        if missing_keys:
            fail(f"provenance lacks {', '.join(missing_keys)}")
        if self.provenance["format_version"] not in READABLE_VERSIONS:
            fail(f"cache format version {self.provenance['format_version']!r}, this "
                 f"imagenet_bench reads {', '.join(map(str, READABLE_VERSIONS))}",
                 "upgrade imagenet_bench, or re-create the cache with this version")
        labels, n = self.labels, self.top5_idx.shape[0]
        missing = array_checks.check_top5(self.top5_idx, self.top5_prob, labels, self.missing, fail)
        implicit = self._ids_implicit()  # checked against constants, not built
        count = image_ids.FULL_VAL_IMAGES if implicit else ids_summary(self.image_ids_blob)[0]
        if count != n:
            fail(f"{count} image ids for {n} prediction rows")
        if int(self.provenance["num_images"]) != n:
            fail(f"provenance says {self.provenance['num_images']} images, arrays hold {n}")
        if check_fingerprint and self.provenance["fingerprint"] != (
                image_ids.FULL_VAL_FINGERPRINT if implicit else self._ids_fingerprint()):
            fail("image-id fingerprint does not match the stored ids (file edited or corrupted)")
        if not (implicit and image_ids.full_val_labels_agree(labels)):
            image_ids.check_ids(self.image_ids_blob, labels, image_ids.wnids_or_none(), fail)
        array_checks.check_extras(n, self.all_probs, self.per_image, self.logits, fail)
        if self.subset_top5_idx is not None:
            array_checks.check_subset(self.provenance, self.subset_top5_idx,
                                      self.subset_top5_prob, missing, fail)
        if not allow_incomplete and not self.provenance["complete"]:
            fail("the run that wrote it did not finish (complete=False)",
                 "resume it with the same `imagenet-bench predict` command")
        return self


def _ids_blob_of(self: Predictions) -> np.ndarray:
    blob = self.__dict__.get("_ids_blob")
    return stored_ids(self.provenance, self.path) if blob is None else blob


def _set_ids_blob(self: Predictions, value: Optional[np.ndarray]) -> None:
    self.__dict__["_ids_blob"] = value


Predictions.image_ids_blob = property(  # type: ignore[assignment]
    _ids_blob_of, _set_ids_blob,
    doc="The image-id blob; None given to the constructor stands for the implicit list "
        "its provenance names (``image_list``), built from package data when first used")


def save(path: str, preds: Predictions) -> str:
    """Validate and write ``preds`` to ``path`` atomically in format 2; return the path.

    The provenance's ``format_version`` becomes :data:`FORMAT_VERSION`
    (a format-1 cache loaded and saved again is converted).
    """
    preds.provenance["format_version"] = FORMAT_VERSION
    preds.validate(allow_incomplete=True)
    full = preds._ids_implicit() or image_ids.is_full_val(preds.image_ids_blob)
    prov = dict(preds.provenance, image_list=FULL_VAL_LIST) if full else preds.provenance
    try:
        prov_json = json.dumps(prov, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise CacheError(f"{preds.where()}: provenance cannot be stored as JSON ({e}). Fix: use "
                         f"plain Python values (int, float, str, list, dict), not numpy scalars") from None
    arrays = {
        "top5_idx": preds.top5_idx.astype(np.int16),
        "top5_prob": preds.top5_prob.astype(np.float16 if preds.all_probs is None else np.float32),
        "labels": preds.labels.astype(np.int16),
        "provenance": np.frombuffer(prov_json.encode(), dtype=np.uint8),
    }
    if preds.missing is not None and preds.missing.any():
        arrays["missing"] = preds.missing
    if not full:
        arrays["image_ids"] = preds.image_ids_blob
    if preds.all_probs is not None:
        arrays["all_probs"] = preds.all_probs.astype(np.float16)
    if preds.subset_top5_idx is not None:
        arrays["subset_top5_idx"] = preds.subset_top5_idx.astype(np.int16)
        arrays["subset_top5_prob"] = preds.subset_top5_prob.astype(np.float16)
    for name, arr in (preds.per_image or {}).items():
        arrays[name] = arr.astype(np.float32)
    if preds.logits is not None:
        arrays["logits"] = preds.logits.astype(np.float32)
    with atomic_path(path, needed=sum(a.nbytes for a in arrays.values())) as tmp:
        with open(tmp, "wb") as f:
            npz.write(f, arrays, stored=STORED_MEMBERS)
    preds.path = path
    return path


def load(path: str, allow_incomplete: bool = False, with_all_probs: bool = False,
         members: Optional[Dict[str, npz.Member]] = None) -> Predictions:
    """Read and validate a cache file; raise :class:`CacheError` naming the file on any problem.

    Every header is parsed once (``checks.inspect_npz``), then each array is
    read straight from where the archive holds it. ``members``: an empty dict
    is filled with where each member lies (what the folder index keeps); a
    filled one is the result of that inspection, made just before, not redone.
    """
    found: Dict[str, npz.Member] = {} if members is None else members
    if not found:
        checks.inspect_npz(path, CacheError, "top5_idx", MEMBER_SHAPES,
                           blobs=("image_ids", "provenance"), members=found)
    keys = set(found)
    need = {"top5_idx", "top5_prob", "labels", "provenance"}
    if not need <= keys:
        raise CacheError(f"{path}: not an imagenet_bench cache (missing arrays "
                         f"{', '.join(sorted(need - keys))}). Fix: point at a directory of "
                         f"caches made by `imagenet-bench predict` or `imagenet-bench import`")
    wanted = [k for k in MEMBER_SHAPES if k in keys and k != "logits"  # read_logits reads them
              and (k != "all_probs" or with_all_probs)]
    try:
        with open(path, "rb") as fp:
            z = {k: npz.read_member(fp, k, found[k]) for k in wanted + ["provenance"]}
            if "image_ids" in keys:
                z["image_ids"] = npz.shared(npz.read_member(fp, "image_ids", found["image_ids"]))
        prov = json.loads(z["provenance"].tobytes().decode("utf-8"))
        if not isinstance(prov, dict):
            raise CacheError(f"{path}: provenance is {type(prov).__name__} ({prov!r:.40}), "
                             f"expected a JSON object. Fix: re-create it with "
                             f"`imagenet-bench predict` or `imagenet-bench import`")
        labels = z["labels"]
        preds = Predictions(
            top5_idx=z["top5_idx"], top5_prob=z["top5_prob"], labels=labels,
            image_ids_blob=z["image_ids"] if "image_ids" in z else _implicit_list(prov, path),
            provenance=prov, missing=z.get("missing", np.zeros(labels.shape, bool)),
            all_probs=z.get("all_probs"), path=path,
            subset_top5_idx=z.get("subset_top5_idx"), subset_top5_prob=z.get("subset_top5_prob"),
            per_image={k: z[k] for k in per_image.names(subset=True) if k in z} or None,
            )
    except CacheError:
        raise
    except PermissionError:
        raise CacheError(f"{path}: is unreadable (permission denied). Fix: make it readable by "
                         f"this user (check `ls -l {path}`)") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise CacheError(f"{path}: cannot be read as a cache ({type(e).__name__}: {e}). "
                         f"Fix: delete it and re-create it with `imagenet-bench predict`") from None
    return preds.validate(allow_incomplete=allow_incomplete)


def read_logits(preds: Predictions) -> Optional[np.ndarray]:
    """The logits of ``preds`` (``--save-logits``): those it holds, else read from its file
    (:func:`load` leaves them out: 200 MB per 50,000 images); None when it has none (outputs
    of the 2019 layout, whose path names a ``.npy`` file, never have any)."""
    if preds.logits is not None or not (preds.path or "").endswith(".npz"):
        return preds.logits
    found: Dict[str, npz.Member] = {}
    checks.inspect_npz(preds.path, CacheError, "top5_idx", MEMBER_SHAPES,
                       blobs=("image_ids", "provenance"), members=found)
    if "logits" not in found:
        return None
    with open(preds.path, "rb") as fp:
        return npz.read_member(fp, "logits", found["logits"])


def stored_ids(prov: Dict, path: str) -> np.ndarray:
    """The image-id blob of a cache without ``image_ids``: the list its provenance names."""
    _implicit_list(prov, path)
    return full_val_blob()


def _implicit_list(prov: Dict, path: str) -> None:
    """None when the provenance names a list this version rebuilds; else :class:`CacheError`."""
    name = prov.get("image_list")
    if name is None:
        raise CacheError(f"{path}: not an imagenet_bench cache (missing arrays image_ids, and "
                         f"no image_list in its provenance). Fix: point at a directory of caches "
                         f"made by `imagenet-bench predict` or `imagenet-bench import`")
    if name != FULL_VAL_LIST:
        raise CacheError(f"{path}: unknown image list {name!r} (this imagenet_bench knows "
                         f"{FULL_VAL_LIST!r}). Fix: upgrade imagenet_bench, or re-create the cache")
    return None


def find_caches(directory: str) -> List[str]:
    """Sorted paths of the cache files directly inside ``directory`` (checkpoints excluded)."""
    return sorted(os.path.join(directory, f) for f in os.listdir(directory)
                  if f.endswith(".npz") and not f.endswith(".partial.npz")
                  and not f.startswith("."))
