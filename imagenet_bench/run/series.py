"""A folder of checkpoints evaluated as one series: ``predict --checkpoint DIR`` (standard library only).

timm's ``validate.py --checkpoint DIR`` validates every checkpoint of a
training run; here each file of the folder (or of ``--checkpoints GLOB``)
becomes one run of the same architecture and options, in natural order
(``epoch_2`` before ``epoch_10``: :func:`natural_key`), with one cache each
(``+ckpt-<sha8>`` of the file's content). Each cache's provenance holds a
``checkpoint_series`` record (:func:`record`): the folder or pattern, the
file, its sha256 and its position, so ``score --checkpoint-series``
(:mod:`imagenet_bench.analysis.series`) shows them as one series.

Every checkpoint is its own resumable run, so a series stopped at any moment
resumes where it stopped: finished checkpoints are reused ("already holds"),
the interrupted one resumes from its partial file. A file that is not a
loadable state dict of the architecture (the adapter raises
:class:`~imagenet_bench.errors.CheckpointError`) is named and skipped, and the
summary counts it; any other error fails that checkpoint and the command exits 2.
Files with the same bytes (``model_best.pth`` copied from ``epoch_2.pth``) are the
same weights: the first is evaluated, its record lists the copies (``copies``), and
the others are named as copies of it, never counted as checkpoints evaluated.

The record is descriptive, not part of the run key
(:data:`imagenet_bench.run.checkpoint.DESCRIPTIVE`): the file's content, named
by ``+ckpt-<sha8>``, decides whether a cache can be reused, so a folder that
grows, or the same files given as a pattern, reuse every finished cache (its
record is rewritten to the current series by :func:`refresh`).
"""
from __future__ import annotations

import glob
import os
import re
import sys
from dataclasses import replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from imagenet_bench.cache.atomic import file_sha256
from imagenet_bench.errors import BenchError, CheckpointError, InputError

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> Tuple:
    """Sort key putting ``epoch_2`` before ``epoch_10`` (digit runs compared as numbers)."""
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                  for part in _DIGITS.split(name) if part)
    return parts, name  # case and leading zeros decide only between otherwise equal names


def is_series(checkpoint: Optional[str], pattern: Optional[str]) -> bool:
    """True when ``--checkpoint`` names a folder, or ``--checkpoints`` is given."""
    return bool(pattern) or bool(checkpoint and os.path.isdir(os.path.expanduser(checkpoint)))


def discover(checkpoint: Optional[str] = None,
             pattern: Optional[str] = None) -> Tuple[str, str, List[str]]:
    """``(source, base, files)``: the series' folder or pattern (absolute), the folder its file
    names are relative to, and its files in natural order of those names.

    A folder gives every regular file directly in it except hidden ones; a
    pattern every regular file it matches (``glob``, ``**`` allowed). Raises
    :class:`InputError` for a folder or pattern with no file."""
    if checkpoint and pattern:
        raise InputError(f"--checkpoint {checkpoint} and --checkpoints {pattern}: give one (a file "
                         f"or folder with --checkpoint, a pattern with --checkpoints). Fix: drop "
                         f"one of them")
    if pattern:
        source = os.path.abspath(os.path.expanduser(pattern))
        files = [f for f in glob.glob(source, recursive=True) if os.path.isfile(f)]
        what = f"--checkpoints {pattern}: no file matches"
    else:
        source = os.path.abspath(os.path.expanduser(checkpoint))
        files = [os.path.join(source, f) for f in os.listdir(source)
                 if not f.startswith(".") and os.path.isfile(os.path.join(source, f))]
        what = f"--checkpoint {checkpoint}: the folder holds no file"
    if not files:
        raise InputError(f"{what}. Fix: give the folder of a training run's checkpoints, or a "
                         f"pattern such as 'runs/exp1/epoch_*.pth'")
    base = source if not pattern else os.path.commonpath([os.path.dirname(f) for f in files])
    files.sort(key=lambda f: natural_key(os.path.relpath(f, base)))
    return source, base, files


def record(source: str, base: str, path: str, position: int) -> Dict:
    """The ``checkpoint_series`` provenance of one file: the series (folder or pattern), the
    file (absolute path, and its name relative to ``base``), its content's sha256 and its
    1-based position.

    The number of files is not recorded: a folder that grows (training goes on) keeps
    the records, and so the caches, of the checkpoints already evaluated."""
    return {"source": source, "file": path, "name": os.path.relpath(path, base),
            "sha256": file_sha256(path), "position": int(position)}


def configs(build: Callable[..., object], checkpoint: Optional[str], pattern: Optional[str],
            **options) -> list:
    """One run config per file of the series, in order.

    ``build`` is :func:`imagenet_bench.run.config.build` with the model bound, called with
    ``checkpoint=<file>`` and ``options``; each config carries its :func:`record`."""
    source, base, files = discover(checkpoint, pattern)
    out = [replace(build(checkpoint=path, **options), series=record(source, base, path, i))
           for i, path in enumerate(files, 1)]
    first: Dict[str, Dict] = {}
    for cfg in out:
        rec = cfg.series
        if rec["sha256"] in first:
            rec["copy_of"] = first[rec["sha256"]]["name"]
            first[rec["sha256"]].setdefault("copies", []).append(rec["name"])
        else:
            first[rec["sha256"]] = rec
    return out


def refresh(final: str, old, rec: Dict) -> None:
    """Rewrite the complete cache ``final`` (loaded as ``old``) with ``rec`` as its
    ``checkpoint_series`` record, atomically; its predictions are those of the same file's
    content, so they are kept (a folder evaluated again as a pattern, or renamed)."""
    from imagenet_bench.cache import store as cache  # numpy: only when a cache is rewritten
    cache.save(final, replace(old, provenance=dict(old.provenance, checkpoint_series=dict(rec))))


def run(cfgs: Sequence, make_backend: Callable[[object], object], run_one: Callable[[object], object],
        log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)) -> int:
    """Evaluate each checkpoint of a series in order; return the exit status (0, or 2 if one failed).

    ``make_backend(cfg)`` builds the backend (the library adapter); ``run_one(backend)``
    runs it (``runner.run``). Unloadable files are skipped and named; the summary
    counts evaluated, skipped and failed checkpoints."""
    skipped: List[Tuple[str, str]] = []
    failed: List[Tuple[str, str]] = []
    done = 0
    copies: List[Tuple[str, str]] = []
    for cfg in cfgs:
        rec = cfg.series
        if rec.get("copy_of"):
            log(f"checkpoint {rec['position']} of {len(cfgs)}: {rec['name']} has the same bytes as "
                f"{rec['copy_of']} (sha256 {rec['sha256'][:8]}): the same weights, evaluated once")
            copies.append((rec["name"], rec["copy_of"]))
            continue
        log(f"checkpoint {rec['position']} of {len(cfgs)}: {rec['name']}")
        try:
            backend = make_backend(cfg)
        except CheckpointError as e:
            log(f"skipped {rec['file']}: not a loadable state dict of {cfg.model_id.base} ({e})")
            skipped.append((rec["file"], str(e)))
            continue
        except BenchError as e:
            log(f"imagenet-bench predict: {rec['file']}: error: {e}")
            failed.append((rec["file"], str(e)))
            continue
        try:
            run_one(backend)
            done += 1
        except BenchError as e:
            log(f"imagenet-bench predict: {rec['file']}: error: {e}")
            failed.append((rec["file"], str(e)))
        finally:
            if backend is not None:
                backend.close()
    source = cfgs[0].series["source"] if cfgs else "?"
    parts = [f"{done} of {len(cfgs) - len(copies)} {'distinct ' if copies else ''}checkpoints "
             f"evaluated ({source})"]
    if copies:
        parts.append(f"{len(copies)} identical to another file, not evaluated again: "
                     + ", ".join(f"{a} = {b}" for a, b in copies))
    if skipped:
        parts.append(f"{len(skipped)} skipped, not loadable state dicts: "
                     + ", ".join(os.path.basename(f) for f, _ in skipped))
    if failed:
        parts.append(f"{len(failed)} failed: " + ", ".join(os.path.basename(f) for f, _ in failed))
    log("series: " + "; ".join(parts))
    if failed or not done:
        return 2
    return 0
