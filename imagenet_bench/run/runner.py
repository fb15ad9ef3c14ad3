"""The prediction run loop shared by the torch and Keras backends.

``run(valset, backend, options)`` predicts every image of a
:class:`datasets.ValSet` with a backend and writes one cache
(:mod:`cache`). It owns everything that is not framework-specific:

* **order and batches**: rows are in ImageFolder order; batch ``k`` is always
  rows ``[k*B, (k+1)*B)`` (B = ``backend.batch_size``), so a resumed or
  sharded run feeds the network exactly the batches an uninterrupted
  single-process run feeds it, and gets identical outputs;
* **shards**: under torchrun (``RANK``/``WORLD_SIZE``) or SLURM
  (``SLURM_PROCID``/``SLURM_NTASKS``) each process takes a contiguous block of
  whole batches; each writes ``<cache stem>.shard<r>of<w>.partial.npz`` and
  the last shard to finish merges them into the cache (no process group and
  no barrier needed, only a shared file system);
* **checkpoints**: every ``checkpoint_every`` images (rounded up to whole
  batches) the rows done so far are written atomically to
  ``<cache stem>.partial.npz`` (one process) or the shard file; a run killed
  at any moment (even SIGKILL) and started again with the same options resumes
  from there. A checkpoint made with other options is refused, not mixed in;
* **bad images**: a file that cannot be decoded stops the run with an error
  naming it (the checkpoint is kept); with ``skip_bad_images`` it is recorded
  as missing (counted wrong) and reported;
* **progress** (tqdm: images/s and ETA), the final atomic ``cache.save`` and
  the acc@1 / acc@5 line.

Backend protocol (duck-typed; see ``backends.torch.TorchBackend``)::

    config: RunConfig       # what runs: config.model_id (a ModelId) names the cache; the
                            # identity and settings in the provenance come from it alone
                            # (:func:`imagenet_bench.run.provenance.of_run`)
    batch_size: int         # images per predict() call (the Keras backend uses 1)
    provenance() -> dict    # the backend's own facts, JSON-able: "weights", "preprocessing"
                            # (Recipe.as_dict()), "library_versions", and anything else that
                            # changes outputs. Identical across processes and resumes of one run.
    preprocess(path) -> np.ndarray   # one image ready for stacking (e.g. pixels.load(path, recipe));
                                     # raises pixels.BadImageError for an unreadable file
    predict(inputs) -> np.ndarray    # (n, 1000) float32 softmax probabilities for one batch
  optional:
    predict_logits(inputs) -> (probs, logits)
        # the same probabilities and the (n, 1000) outputs before the softmax; needed for
        # --save-logits, offered by libraries whose Capabilities declare ``logits``
    batches(jobs) -> iterator of Batch
        # jobs: list of batches, each a list of (row, path); yield one Batch(rows, inputs, bad)
        # per job, in order (torch: a DataLoader with worker processes). Default:
        # :func:`~imagenet_bench.run.batches.prefetch_batches`, a background thread calling
        # preprocess() and np.stack.

Only numpy, tqdm and the standard library are imported here.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from imagenet_bench.cache import locations, per_image
from imagenet_bench.cache import store as cache
from imagenet_bench.data.datasets import ValSet
from imagenet_bench.errors import BenchError, count
from imagenet_bench.errors import BadImageError
from imagenet_bench.run import checkpoint, locks, provenance, timing
from imagenet_bench.run.shards import Shard, plan_batches, shard_from_env, shard_rows  # noqa: F401 (re-exported)


@dataclass
class RunOptions:
    """How a run behaves (not what it computes, except save_all_probs)."""

    out_dir: str = locations.RUNS_DIR  # where the cache is written
    checkpoint_every: int = 1000  # images between checkpoints (rounded up to whole batches)
    skip_bad_images: bool = False  # record unreadable images as missing instead of stopping
    save_all_probs: bool = False  # also store the (N, 1000) float16 probabilities
    save_logits: bool = False  # also store the (N, 1000) float32 logits (backend.predict_logits)
    overwrite: bool = False  # replace an existing complete cache made with other settings
    progress: bool = True  # show a tqdm progress bar on stderr
    shard: Optional[Shard] = None  # None: from the environment (torchrun / SLURM)
    log: Callable[[str], None] = field(default=lambda msg: print(msg, file=sys.stderr, flush=True))
    #: where the one-line summary of a finished run goes (the CLI: standard output)
    summary: Callable[[str], None] = field(default=lambda msg: print(msg, flush=True))


@dataclass
class RunResult:
    """What a call to :func:`run` did."""

    cache_path: str  # the final cache (may not exist yet for a shard that finished early)
    complete: bool  # True when the final cache exists
    acc1: Optional[float] = None  # % top-1 over all rows (missing rows wrong), when complete
    acc5: Optional[float] = None
    images_done: int = 0  # images predicted by this call
    seconds: float = 0.0  # wall time of the prediction loop of this call


# --- the run -------------------------------------------------------------------------------

def run_key(valset: ValSet, backend, options: RunOptions) -> Dict:
    """Everything that must match for checkpoints and shards to be combined (the provenance:
    :func:`imagenet_bench.run.provenance.of_run` of ``backend.config`` and its facts)."""
    return provenance.of_run(backend.config, backend.provenance(), valset,
                             batch_size=backend.batch_size, save_all_probs=options.save_all_probs,
                             save_logits=options.save_logits)


def run(valset: ValSet, backend, options: Optional[RunOptions] = None) -> RunResult:
    """Predict every image of ``valset`` with ``backend`` (or this process's shard of them).

    Returns a :class:`RunResult`; the cache is written to
    ``options.out_dir/cache.cache_filename(...)`` by the process that
    completes the last shard. Raises :class:`BadImageError` (a BenchError) for
    an unreadable image unless ``skip_bad_images``; the checkpoint is kept.
    """
    opt = options or RunOptions()
    shard = opt.shard or shard_from_env()
    key = run_key(valset, backend, opt)
    final = os.path.join(opt.out_dir, cache.cache_filename(
        backend.config.model_id, valset.num_images, valset.fingerprint, valset.dataset))
    check_writable(opt.out_dir)
    ckpt = checkpoint.checkpoint_path(final, shard)
    with locks.hold(ckpt, opt.log):
        if shard.world == 1:
            checkpoint.remove_torn_writes(final)  # a run killed while writing its cache; no one else writes it
        return _run_locked(valset, backend, opt, shard, key, final, ckpt)


def check_writable(folder: str) -> None:
    """Refuse an output folder that cannot be created or written, before any work is done."""
    try:
        os.makedirs(folder, exist_ok=True)
        import tempfile
        with tempfile.TemporaryFile(dir=folder, prefix=".imagenet_bench-write-test-"):
            pass
    except OSError as e:
        why = e.strerror or str(e)
        if isinstance(e, (FileExistsError, NotADirectoryError)):
            why = "a file is in the way (it must be a folder)"
        raise BenchError(f"output folder {folder} is not writable ({why}). Fix: choose another "
                         f"folder with -o, or fix its permissions") from None


def _run_locked(valset: ValSet, backend, opt: RunOptions, shard: Shard, key: Dict, final: str,
                ckpt: str) -> RunResult:
    """The body of :func:`run`, under the lock on this process's checkpoint."""
    done = _existing_cache(final, key, opt)
    if done is not None:
        return done
    bs = max(1, int(backend.batch_size))
    start, stop = shard_rows(valset.num_images, bs, shard)
    state = checkpoint.resume_or_new(ckpt, start, stop, key, opt, valset.class_subset is not None)
    where = f" [shard {shard.rank + 1}/{shard.world}: rows {start}-{stop - 1}]" if shard.world > 1 else ""
    name = str(backend.config.model_id)
    opt.log(f"{name}: {valset.describe()}{where}")
    t0, n_new, model_s = time.perf_counter(), 0, [0.0]
    if not state.complete:
        desc = name if shard.world == 1 else f"{name} [{shard.rank + 1}/{shard.world}]"
        n_new = _loop(valset, backend, state, ckpt, bs, opt, desc, model_s)
        state.complete = True
        state.save(ckpt)
    seconds = time.perf_counter() - t0
    speed = timing.timing(n_new, seconds, model_s[0],
                          backend.device_name or key.get("device") or "cpu", bs)
    if shard.world == 1:
        checkpoint.write_final(final, valset, key, [state], shard.world, speed)
        checkpoint.remove(ckpt)
    elif not checkpoint.try_merge(final, valset, key, shard.world, speed):
        opt.log(f"shard {shard.rank + 1}/{shard.world} done ({ckpt}); the last shard to finish "
                f"writes {final}")
        return RunResult(final, False, images_done=n_new, seconds=seconds)
    result = _report(final, opt)
    result.images_done, result.seconds = n_new, seconds
    return result


def _existing_cache(final: str, key: Dict, opt: RunOptions) -> Optional[RunResult]:
    if not os.path.exists(final):
        return None
    try:
        old = cache.load(final)
    except cache.CacheError:
        if opt.overwrite:
            return None
        raise
    old_key = {k: old.provenance.get(k) for k in key}
    ignored, diff = checkpoint.satisfies(old_key, key)
    if not diff:
        also = (f" (made with {checkpoint.describe_diff(old_key, key, ignored, 'there')}: the "
                f"same predictions)" if ignored else "")
        opt.log(f"{final} already holds this model's complete predictions{also}; not recomputed")
        if key.get("checkpoint_series") not in (None, old.provenance.get("checkpoint_series")):
            from imagenet_bench.run import series
            series.refresh(final, old, key["checkpoint_series"])  # its place in this series
        for stale in checkpoint.stale_partials(final):
            checkpoint.remove(stale)
        return _report(final, opt)
    if opt.overwrite:
        return None
    if set(diff) <= set(checkpoint.STORES_MORE):  # the same run storing more: replace it
        wanted = " and ".join(checkpoint.OPTIONS[d] for d in diff)
        opt.log(f"{final} lacks what {wanted} stores (1,000 values per image); predicting "
                f"again to replace it with a cache that has them")
        return None
    raise BenchError(f"{final} exists and was made with other settings "
                     f"({checkpoint.describe_diff(old_key, key, diff, 'there')}). "
                     f"Fix: pass --overwrite to replace it, or -o another directory")


def _loop(valset: ValSet, backend, st: checkpoint.State, ckpt: str, bs: int, opt: RunOptions, desc: str,
          model_s: List[float]) -> int:
    """Predict the batches of ``st`` not done yet; checkpoint as it goes. Returns images done;
    adds the seconds spent in ``backend.predict`` to ``model_s[0]``."""
    from tqdm.auto import tqdm

    jobs = []
    for s, e in plan_batches(st.stop - st.start, bs):
        if not st.done[s:e].all():
            jobs.append([(st.start + r, valset.paths[st.start + r]) for r in range(s, e)])
    every = max(bs, -(-max(1, opt.checkpoint_every) // bs) * bs)
    bar = tqdm(total=st.stop - st.start, initial=int(st.done.sum()), unit="img", desc=desc,
               disable=not opt.progress, file=sys.stderr, dynamic_ncols=True, smoothing=0.05)
    since, n_new = 0, 0
    groups = list(((valset.facts or {}).get("same_class") or {}).values())  # many-to-one sets
    batches = backend.batches(jobs)
    try:
        for batch in batches:
            if batch.bad and not opt.skip_bad_images:
                row, path, reason = batch.bad[0]
                raise BadImageError(path, reason)
            if batch.rows:
                t = time.perf_counter()
                probs, logits = _predict(backend, batch.inputs, st.logits is not None)
                model_s[0] += time.perf_counter() - t
                _check_outputs(probs, len(batch.rows), backend.config)
                _store(st, valset, batch.rows, probs, logits, groups)
            for row, path, reason in batch.bad:
                st.missing[row - st.start] = st.done[row - st.start] = True
                st.bad.append((row, reason))
                bar.write(f"skipped unreadable image {path}: {reason}")
            n = len(batch.rows) + len(batch.bad)
            bar.update(n)
            since, n_new = since + n, n_new + n
            if since >= every:
                st.save(ckpt)
                since = 0
    except BaseException as e:
        _stopped(e, st, ckpt, since, opt, desc)
        raise
    finally:
        bar.close()
        close = getattr(batches, "close", None)
        if close:
            close()
    return n_new


def _store(st: checkpoint.State, valset: ValSet, rows, probs: np.ndarray, logits,
           groups) -> None:
    """Write one batch's outputs (top-5, per-image extras, logits, probabilities) into ``st``;
    ``groups``: the classes that count as one (ObjectNet's many-to-one mapping)."""
    local = np.asarray(rows) - st.start
    extra = per_image.from_probs(probs, valset.labels[rows], logits, valset.class_subset,
                                 groups)
    for name, values in extra.items():
        st.per_image[name][local] = values
    if logits is not None:
        st.logits[local] = logits
    st.top5_idx[local], st.top5_prob[local] = cache.top5_from_probs(probs)
    if st.subset_top5_idx is not None:
        st.subset_top5_idx[local], st.subset_top5_prob[local] = cache.top5_within(
            probs, valset.class_subset)
    if st.all_probs is not None:
        st.all_probs[local] = probs.astype(np.float16)
    st.done[local] = True


def _stopped(e: BaseException, st: checkpoint.State, ckpt: str, since: int, opt: RunOptions,
             desc: str) -> None:
    """Before ``e`` propagates: keep the finished images, or remove a partial that could only
    end in the same error; on Ctrl-C, say how to resume."""
    if isinstance(e, ImageIndependentError) and (e.always or not st.done.any()):
        # resuming would end in the same error: leave no partial to resume
        if os.path.lexists(ckpt):
            checkpoint.remove(ckpt)
            opt.log(f"removed {ckpt}: the failure does not depend on the images, so resuming "
                    f"it could not give a valid cache")
        return
    if since:
        st.save(ckpt)  # keep everything finished; a resumed run starts after it
    if isinstance(e, KeyboardInterrupt):
        done = int(st.done.sum())
        opt.log(f"stopped: {done} of {st.stop - st.start} images of {desc} are saved in {ckpt}"
                if done else f"stopped before any image of {desc} was finished")
        opt.log("to resume, run the same command again")


def _predict(backend, inputs, with_logits: bool):
    """(probs, logits or None) of one batch, float32; logits only when asked for."""
    if not with_logits:
        return np.asarray(backend.predict(inputs), dtype=np.float32), None
    probs, logits = backend.predict_logits(inputs)
    logits = np.asarray(logits, dtype=np.float32)
    if logits.shape != np.shape(probs):
        raise ImageIndependentError(
            f"{backend.config.model_id} returned logits of shape {logits.shape} beside "
            f"probabilities of shape {np.shape(probs)}. Fix: predict_logits must return the "
            f"(n, 1000) outputs before the softmax of the same batch", always=True)
    return np.asarray(probs, dtype=np.float32), logits


class ImageIndependentError(BenchError):
    """The model's outputs cannot be a result (wrong shape, not finite): the run stops, the
    failing batch is never saved, and the partial cache is removed rather than left to resume
    into the same error when ``always`` (the shape: no image could change it) or when no image
    was finished."""

    def __init__(self, message: str, always: bool):
        super().__init__(message)
        self.always = always


def _check_outputs(probs: np.ndarray, n: int, config) -> None:
    """Refuse outputs that no image could explain: not ``(n, 1000)``, or not finite."""
    if probs.shape != (n, cache.NUM_CLASSES):
        raise ImageIndependentError(
            f"{config.model_id} returned outputs of shape {probs.shape} for {n} images; expected "
            f"({n}, {cache.NUM_CLASSES}) ImageNet probabilities. Fix: a model with a "
            f"{cache.NUM_CLASSES}-class ImageNet head", always=True)
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        given = ", ".join(f"{k} {v}" for k, v in sorted(config.overrides.items())) or "none"
        raise ImageIndependentError(
            f"{config.model_id} returned non-finite probabilities (NaN or inf) for "
            f"{int(bad.sum())} of {n} images of a batch: that comes from the model, its weights "
            f"or its numerics (--amp {config.amp or 'off'}; recipe options given: {given}), not "
            f"from an image. Fix: check the weights (--checkpoint/--weights) and leave out --amp "
            f"or the recipe options", always=False)


def accuracy(preds: cache.Predictions) -> Tuple[float, float]:
    """(acc@1, acc@5) in % over all rows; missing rows count as wrong (:func:`scorer.correct`)."""
    from imagenet_bench.analysis.scorer import correct
    top1, top5 = correct(preds)
    n = max(1, preds.num_images)
    return 100.0 * top1.sum() / n, 100.0 * top5.sum() / n


def _report(final: str, opt: RunOptions) -> RunResult:
    preds = cache.load(final)
    acc1, acc5 = accuracy(preds)
    bad = [(b["image"], b["reason"]) for b in preds.provenance.get("bad_images", [])]
    ds = preds.provenance.get("dataset", {})
    name = ds.get("name", "imagenet-val")
    scope = ("full val set" if name == "imagenet-val" else f"full {name}") if ds.get("full_set") \
        else "SUBSET"
    masked = ""
    if preds.subset_top5_idx is not None:
        from imagenet_bench.analysis.scorer import masked_correct
        m1 = 100.0 * masked_correct(preds).sum() / max(1, preds.num_images)
        masked = f"masked acc@1 {m1:.2f}% ({len(ds.get('class_subset', []))} classes)  "
    opt.summary(f"{preds.qualname}: {masked}acc@1 {acc1:.2f}%  acc@5 {acc5:.2f}%  "
                f"({count(preds.num_images, 'image')}, {scope}"
                + (f"; {len(bad)} unreadable, counted wrong" if bad else "") + f")  -> {final}")
    for image, reason in bad:
        opt.log(f"  unreadable: {image}: {reason}")
    return RunResult(final, True, acc1, acc5)


