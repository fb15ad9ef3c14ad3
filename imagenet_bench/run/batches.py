"""One batch of decoded images, and the default way a backend makes them: a background thread.

:class:`Batch` is what a backend's ``batches(jobs)`` yields (the runner's
protocol, :mod:`imagenet_bench.run.runner`); :func:`prefetch_batches` is the
default for a backend without its own (the Keras parent; a TorchBackend uses
its DataLoader instead), shared by the sweep's decode-once batches (:mod:`imagenet_bench.sweep.shared`). numpy and the
standard library only.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, List, NamedTuple, Sequence, Tuple

import numpy as np

from imagenet_bench.errors import BadImageError


class Batch(NamedTuple):
    """One batch as a backend's ``batches`` yields it."""

    rows: List[int]  # dataset rows of the decoded images, in order
    inputs: Any  # stacked inputs for predict() (None when every image of the batch was bad)
    bad: List[Tuple[int, str, str]]  # (row, path, reason) of images that could not be read


def prefetch_batches(backend, jobs: Sequence[Sequence[Tuple[int, str]]], depth: int = 2) -> Iterator[Batch]:
    """Default ``batches``: decode in a background thread, ``depth`` batches ahead."""
    q: "queue.Queue" = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for job in jobs:
                rows, arrays, bad = [], [], []
                for row, path in job:
                    try:
                        arrays.append(backend.preprocess(path))
                        rows.append(row)
                    except BadImageError as e:
                        bad.append((row, path, e.reason))
                item = Batch(rows, np.stack(arrays) if arrays else None, bad)
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(None)
        except BaseException as e:  # handed to the consumer
            q.put(e)

    t = threading.Thread(target=work, daemon=True, name="imagenet_bench-prefetch")
    t.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
