"""Checkpoints of a run and the merge of shards into the final cache.

``<cache stem>.partial.npz`` (one process) or ``<stem>.shard<r>of<w>.partial.npz``
holds the rows done so far with the run's key (its settings); a run started
again with the same settings resumes from it, one with other settings is
refused (or, with ``--overwrite``, starts over). The last shard to finish
merges every shard's checkpoint into the cache a single process would write.
Every write is atomic; a damaged checkpoint is a :class:`CheckpointError`
naming the file and the fix.
"""
from __future__ import annotations

import json
import os
import zipfile
import zlib
from typing import Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.cache import checks, per_image
from imagenet_bench.cache import store as cache
from imagenet_bench.cache.atomic import atomic_path
from imagenet_bench.data.datasets import ValSet
from imagenet_bench.errors import BenchError
from imagenet_bench.run import provenance
from imagenet_bench.run.shards import Shard


CHECKPOINT_VERSION = 1


def checkpoint_path(cache_path: str, shard: Shard) -> str:
    """``<stem>.partial.npz`` for one process, ``<stem>.shard<r>of<w>.partial.npz`` for a shard."""
    stem = cache_path[:-4] if cache_path.endswith(".npz") else cache_path
    if shard.world == 1:
        return f"{stem}.partial.npz"
    return f"{stem}.shard{shard.rank}of{shard.world}.partial.npz"


class State:
    """Results of one shard's rows [start, stop), as held in memory and in its checkpoint."""

    def __init__(self, start: int, stop: int, key: Dict, all_probs: bool, subset: bool = False,
                 logits: bool = False):
        n = stop - start
        self.start, self.stop, self.key = start, stop, key
        self.top5_idx = np.full((n, cache.TOPK), -1, np.int16)
        self.top5_prob = np.zeros((n, cache.TOPK), np.float32)
        # top-5 within the dataset's class subset (ImageNet-A/R), None without a subset
        self.subset_top5_idx = np.full((n, cache.TOPK), -1, np.int16) if subset else None
        self.subset_top5_prob = np.zeros((n, cache.TOPK), np.float32) if subset else None
        self.missing = np.zeros(n, bool)
        self.done = np.zeros(n, bool)
        self.all_probs = np.zeros((n, cache.NUM_CLASSES), np.float16) if all_probs else None
        self.logits = np.zeros((n, cache.NUM_CLASSES), np.float32) if logits else None
        self.per_image = per_image.empty(n, subset)  # NaN until predicted (cache.per_image)
        self.bad: List[Tuple[int, str]] = []  # (row, reason)
        self.complete = False

    def save(self, path: str) -> None:
        meta = {"checkpoint_version": CHECKPOINT_VERSION, "key": self.key, "start": self.start,
                "stop": self.stop, "bad": self.bad, "complete": self.complete}
        arrays = dict(top5_idx=self.top5_idx, top5_prob=self.top5_prob, missing=self.missing,
                      done=self.done,
                      meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8))
        if self.all_probs is not None:
            arrays["all_probs"] = self.all_probs
        if self.logits is not None:
            arrays["logits"] = self.logits
        arrays.update(self.per_image)
        if self.subset_top5_idx is not None:
            arrays.update(subset_top5_idx=self.subset_top5_idx, subset_top5_prob=self.subset_top5_prob)
        with atomic_path(path, needed=sum(a.nbytes for a in arrays.values())) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str) -> "State":
        """Read a checkpoint; a damaged one raises :class:`CheckpointError` (headers checked first)."""
        fix = "pass --overwrite to discard it and start this model over (or delete it)"

        def damaged(why: str) -> CheckpointError:
            return CheckpointError(f"checkpoint {path} is damaged and cannot be resumed from "
                                   f"({why}). Fix: {fix}")
        checks.inspect_npz(path, CheckpointError, "done", _CKPT_SHAPES, blobs=("meta",),
                           what="checkpoint", fix=fix)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                if not isinstance(meta, dict) or not isinstance(meta.get("key"), dict):
                    raise damaged("its metadata is not a JSON object with a run key")
                start, stop = meta["start"], meta["stop"]
                if type(start) is not int or type(stop) is not int or not 0 <= start <= stop:
                    raise damaged(f"rows {start!r}-{stop!r}")
                st = cls(start, stop, meta["key"], "all_probs" in z.files,
                         "subset_top5_idx" in z.files, "logits" in z.files)
                for name in ("top5_idx", "top5_prob", "missing", "done") + (
                        ("all_probs",) if st.all_probs is not None else ()) + (
                        ("logits",) if st.logits is not None else ()) + (
                        ("subset_top5_idx", "subset_top5_prob")
                        if st.subset_top5_idx is not None else ()):
                    arr = z[name]
                    want = getattr(st, name)
                    if arr.shape != want.shape or arr.dtype != want.dtype:
                        raise damaged(f"{name} is {arr.dtype} {arr.shape}, expected "
                                      f"{want.dtype} {want.shape}")
                    setattr(st, name, arr)
                for name, want in st.per_image.items():  # absent from checkpoints before format 3
                    if name in z.files:
                        arr = z[name]
                        if arr.shape != want.shape or arr.dtype != want.dtype:
                            raise damaged(f"{name} is {arr.dtype} {arr.shape}, expected "
                                          f"{want.dtype} {want.shape}")
                        st.per_image[name] = arr
                st.bad = [(int(r), str(reason)) for r, reason in meta["bad"]]
                if type(meta["complete"]) is not bool:
                    raise damaged(f"complete is {meta['complete']!r}, not true/false")
                st.complete = meta["complete"]
        except CheckpointError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile,
                zlib.error) as e:
            raise damaged(f"{type(e).__name__}: {e}") from None
        return st


class CheckpointError(BenchError):
    """A checkpoint file cannot be resumed from (damaged, or not a checkpoint)."""


_CKPT_SHAPES = {"top5_idx": (cache.TOPK,), "top5_prob": (cache.TOPK,), "missing": (), "done": (),
                "all_probs": (cache.NUM_CLASSES,), "logits": (cache.NUM_CLASSES,),
                **{k: () for k in per_image.names(subset=True)}}


#: run-key entries recorded in a cache but never compared for reuse or resume: a weights file's
#: place in a checkpoint series (run/series.py) describes the file, whose content +ckpt-<sha8> names
DESCRIPTIVE = ("checkpoint_series",
               # how the recipe was asked for: the recipe itself is in the id (+recipe-<sha8>)
               # and in the backend's "preprocessing", so --resize 256 on a model that resizes
               # to 256 is the plain run
               "recipe_overrides")
#: run-key entries a complete cache may differ in and still satisfy a request: the batch size
#: (every image is predicted on its own rows; see :func:`satisfies`)
NOT_IN_RESULT = ("batch_size",)


def satisfies(old: Dict, new: Dict) -> Tuple[List[str], List[str]]:
    """``(ignored, blocking)``: the settings in which a complete cache's key ``old`` differs from
    a request ``new`` that do not matter for its result (the batch size; all probabilities
    stored when the request does not ask for them) and those that do."""
    diff = key_diff(old, new)
    ignored = [d for d in diff if d in NOT_IN_RESULT
               or (d in STORES_MORE and old.get(d) and not new.get(d))]
    return ignored, [d for d in diff if d not in ignored]


def describe_diff(old: Dict, new: Dict, diff: List[str], old_name: str = "it was started with") -> str:
    """``name: old value (this run: new value)`` for each setting of ``diff``, for messages."""
    def show(v):
        return "unset" if v is None else json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else str(v)
    return "; ".join(f"{d}: {show(old.get(d))} {old_name} (this run: {show(new.get(d))})" for d in diff)


def key_diff(a: Dict, b: Dict) -> List[str]:
    """The settings (keys of a run key, but :data:`DESCRIPTIVE`) on which ``a`` and ``b`` differ, sorted."""
    return sorted(k for k in set(a) | set(b) if k not in DESCRIPTIVE and a.get(k) != b.get(k))


#: run-key entries that make a cache store more of the same run: one made with it satisfies a
#: request without it (and the key holds ``save_logits`` only when true, as caches before it)
STORES_MORE = ("save_all_probs", "save_logits")
#: run-key entries and the predict option that sets them
OPTIONS = {"batch_size": "-b {}", "save_all_probs": "--save-all-probs", "save_logits": "--save-logits"}


def _as_options(started: Dict, diff: List[str]) -> str:
    """`` (-b 8 ...)``: the options that give the checkpoint's settings, where one option does."""
    opts = []
    for d in diff:
        if d in STORES_MORE:
            opts.append(OPTIONS[d] if started.get(d) else f"without {OPTIONS[d]}")
        elif d in OPTIONS:
            opts.append(OPTIONS[d].format(started.get(d)))
    return f" ({', '.join(opts)})" if opts else ""


def stale_partials(final: str) -> List[str]:
    """Every checkpoint (single or shard) of the cache ``final`` in its folder."""
    folder, stem = os.path.split(final[:-4])
    return [os.path.join(folder, f) for f in os.listdir(folder or ".")
            if f.startswith(stem + ".") and f.endswith(".partial.npz")]


def remove_torn_writes(ckpt: str) -> None:
    """Delete temporary files of this checkpoint left by a process killed while writing it.

    Only this process (this shard) writes ``ckpt``, so its temporaries are safe to remove.
    """
    folder, base = os.path.split(os.path.abspath(ckpt))
    if os.path.isdir(folder):
        for f in os.listdir(folder):
            if f.startswith(f".{base}.") and f.endswith(".tmp"):
                remove(os.path.join(folder, f))


def resume_or_new(ckpt: str, start: int, stop: int, key: Dict, opt,
                   subset: bool = False) -> State:
    """The checkpoint of this run if there is one made with the same settings, else a new state.

    ``opt`` is the run's :class:`~imagenet_bench.run.runner.RunOptions` (``overwrite``
    discards a damaged or foreign checkpoint, ``log`` says so). Raises :class:`BenchError`
    for a checkpoint made with other settings (the message names them and the fix).
    """
    remove_torn_writes(ckpt)
    if not os.path.lexists(ckpt):
        return State(start, stop, key, opt.save_all_probs, subset, opt.save_logits)
    try:
        st = State.load(ckpt)
    except CheckpointError as e:
        if not opt.overwrite:
            raise
        opt.log(f"--overwrite: discarding damaged checkpoint {ckpt} ({e})")
        return State(start, stop, key, opt.save_all_probs, subset, opt.save_logits)
    diff = key_diff(st.key, key)
    if (st.start, st.stop) != (start, stop):
        diff.append("shard rows")
    if diff and opt.overwrite:
        opt.log(f"--overwrite: discarding {ckpt} (made with other settings: {', '.join(diff)})")
        return State(start, stop, key, opt.save_all_probs, subset, opt.save_logits)
    if diff:
        shown = describe_diff({**st.key, "shard rows": f"{st.start}-{st.stop - 1}"},
                              {**key, "shard rows": f"{start}-{stop - 1}"}, diff)
        raise BenchError(f"checkpoint {ckpt} belongs to a run with other settings ({shown}). "
                         f"Fix: re-run with the settings it was started with to resume it"
                         f"{_as_options(st.key, diff)}, or pass --overwrite (or delete it) to "
                         f"start over")
    opt.log(f"resuming from {ckpt}: {int(st.done.sum())} of {stop - start} images already done")
    return st


def try_merge(final: str, valset: ValSet, key: Dict, world: int, timing: Optional[Dict] = None) -> bool:
    """Merge all shard checkpoints into ``final`` if every shard is complete."""
    states = []
    for r in range(world):
        path = checkpoint_path(final, Shard(r, world))
        try:
            st = State.load(path) if os.path.exists(path) else None
        except BenchError:
            st = None
        if st is None or not st.complete:
            return os.path.exists(final)  # another process may have merged already
        if key_diff(st.key, key):
            raise BenchError(f"shard checkpoint {path} was made with other settings "
                             f"(differs in: {', '.join(key_diff(st.key, key))}). Fix: delete it")
        states.append(st)
    write_final(final, valset, key, states, world, timing)
    for r in range(world):
        remove(checkpoint_path(final, Shard(r, world)))
    return True


def write_final(final: str, valset: ValSet, key: Dict, states: List[State], world: int,
                timing: Optional[Dict] = None) -> None:
    """Concatenate shard states (in row order) and save the cache atomically (``timing``: the
    run's speed record, :mod:`imagenet_bench.run.timing`; not part of the run key)."""
    states = sorted(states, key=lambda s: s.start)
    if states[0].start != 0 or states[-1].stop != valset.num_images or any(
            a.stop != b.start for a, b in zip(states, states[1:])):
        raise BenchError(f"shards of {final} do not cover rows 0-{valset.num_images - 1}. Fix: "
                         f"rerun the same command with the same number of processes: the missing "
                         f"shards resume")
    cat = lambda name: np.concatenate([getattr(s, name) for s in states])  # noqa: E731
    prov = provenance.finished(key, valset, sorted(b for s in states for b in s.bad), world, timing)
    preds = cache.Predictions.build(
        cat("top5_idx"), cat("top5_prob"), valset.labels, valset.image_ids, prov,
        missing=cat("missing"), all_probs=cat("all_probs") if states[0].all_probs is not None else None,
        subset_top5=(cat("subset_top5_idx"), cat("subset_top5_prob"))
        if states[0].subset_top5_idx is not None else None,
        per_image={k: np.concatenate([s.per_image[k] for s in states]) for k in states[0].per_image},
        logits=cat("logits") if states[0].logits is not None else None)
    cache.save(final, preds)


def remove(path: str) -> None:
    """Delete ``path`` if it exists."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
