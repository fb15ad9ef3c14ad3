"""Decode and resize each image once per task, and hand the pixels to every model of a group.

The models of a task run one after another (each fully released before the next is built:
timm#955, many models alive in one process fragment GPU memory), so the pixels are kept
between them: the first model that needs an image decodes it in its DataLoader workers as
usual (:meth:`TorchBackend.batches` with the group's loader) and the uint8 result is
written into a :class:`PixelStore`, a memory-mapped ``(N, H, W, 3)`` file in a temporary
folder of the task (``$SLURM_TMPDIR``/``$TMPDIR``; removed when the task ends; a task
killed by SIGKILL leaves it, and the next task on that host removes folders of dead
processes). Later models read their batches from it.

Which models share: those whose backend's ``pixel_loader()`` gives the same key (the
torch backend: its recipe without mean/std; timm: its transform up to ``ToTensor``). Each
model then normalises on its device with the float32 arithmetic of ``ToTensor`` +
``Normalize`` (``pixels_input``), so its outputs equal a separate ``predict`` run, byte for
byte (``tests/test_sweep_task.py``). Backends without ``pixel_loader`` (Keras: its own
child process) run as they would alone.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from imagenet_bench.run.backend import Backend
from imagenet_bench.run.batches import Batch

PREFIX = "imagenet_bench-pixels-"
UNKNOWN, OK, BAD = 0, 1, 2


class PixelStore:
    """uint8 pixels of one dataset under one decode key, filled as images are first decoded."""

    def __init__(self, folder: str, num_images: int):
        self.folder, self.num_images = folder, int(num_images)
        self.path = os.path.join(folder, f"pixels-{len(os.listdir(folder))}.u8")
        self.array: Optional[np.memmap] = None
        self.state = np.zeros(self.num_images, np.uint8)
        self.reasons: Dict[int, str] = {}
        self.decoded = 0  # images decoded into the store (each exactly once)
        self.served = 0  # images handed out from the store

    def has(self, job: Sequence[Tuple[int, str]]) -> bool:
        """True when every row of ``job`` is in the store."""
        return bool(job) and bool(self.state[[r for r, _ in job]].all())

    def put(self, batch: Batch) -> None:
        """Keep the pixels (and the unreadable images) of a freshly decoded batch."""
        if batch.rows:
            x = np.asarray(batch.inputs.numpy() if hasattr(batch.inputs, "numpy") else batch.inputs)
            if x.dtype != np.uint8 or x.ndim != 4:
                raise ValueError(f"shared pixels must be uint8 (n, H, W, 3), got {x.dtype} {x.shape}")
            if self.array is None:
                self.array = np.memmap(self.path, np.uint8, "w+", shape=(self.num_images,) + x.shape[1:])
            self.array[batch.rows] = x
            self.state[batch.rows] = OK
            self.decoded += len(batch.rows)
        for row, _, reason in batch.bad:
            self.state[row], self.reasons[row] = BAD, reason
            self.decoded += 1

    def batch(self, job: Sequence[Tuple[int, str]]) -> Batch:
        """The Batch of ``job`` from the store."""
        rows = [r for r, _ in job if self.state[r] == OK]
        bad = [(r, p, self.reasons[r]) for r, p in job if self.state[r] == BAD]
        self.served += len(job)
        return Batch(rows, np.array(self.array[rows]) if rows else None, bad)

    def close(self) -> None:
        """Drop the mapping and delete the file."""
        self.array = None
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass


class SharedBackend(Backend):
    """A backend whose batches come from a :class:`PixelStore` (decoding what is missing), and
    whose provenance gets ``extra`` keys; the rest is the wrapped backend's."""

    def __init__(self, backend: Backend, store: Optional[PixelStore] = None, load=None,
                 extra: Optional[Dict] = None):
        self._backend, self._store, self._load, self._extra = backend, store, load, dict(extra or {})
        self.config, self.batch_size = backend.config, backend.batch_size

    def preprocess(self, path: str) -> np.ndarray:
        """The wrapped backend's input of one image."""
        return self._backend.preprocess(path)

    def close(self) -> None:
        """Close the wrapped backend."""
        self._backend.close()

    @property
    def device_name(self):
        """The wrapped backend's device name."""
        return self._backend.device_name

    def provenance(self) -> Dict:
        """The wrapped backend's provenance with the extra keys (``oom_retry``)."""
        prov = dict(self._backend.provenance())
        prov.update(self._extra)
        return prov

    def batches(self, jobs: List[List[Tuple[int, str]]]) -> Iterator[Batch]:
        """Batches in job order: from the store where decoded, else decoded once and kept."""
        if self._store is None:
            yield from self._backend.batches(jobs)
            return
        i = 0
        while i < len(jobs):
            if self._store.has(jobs[i]):
                yield self._store.batch(jobs[i])
                i += 1
                continue
            j = i
            while j < len(jobs) and not self._store.has(jobs[j]):
                j += 1
            for b in self._backend.batches(jobs[i:j], load=self._load):
                self._store.put(b)
                yield b
            i = j

    def predict(self, inputs):
        """Probabilities of a uint8 batch: normalised on the device, then the network."""
        if self._store is None:
            return self._backend.predict(inputs)
        return self._backend.forward(self._backend.pixels_input(inputs))


class Shared:
    """The pixel stores of one task: one per (dataset fingerprint, decode key)."""

    def __init__(self, enabled: bool = True, root: Optional[str] = None):
        self.enabled = enabled
        root = root or os.environ.get("SLURM_TMPDIR") or tempfile.gettempdir()
        remove_dead_stores(root)
        self.folder = tempfile.mkdtemp(prefix=f"{PREFIX}{socket.gethostname()}-{os.getpid()}-",
                                       dir=root)
        self.stores: Dict[Tuple[str, str], PixelStore] = {}

    def wrap(self, backend, valset, extra: Optional[Dict] = None) -> SharedBackend:
        """``backend`` reading its pixels from the task's store of its decode key."""
        got = backend.pixel_loader() if self.enabled else None
        if got is None:
            return SharedBackend(backend, extra=extra)
        key, load = got
        store = self.stores.get((valset.fingerprint, key))
        if store is None:
            store = self.stores[(valset.fingerprint, key)] = PixelStore(self.folder, valset.num_images)
        return SharedBackend(backend, store, load, extra)

    def counts(self) -> Tuple[int, int]:
        """(images decoded, images served from a store) so far."""
        return (sum(s.decoded for s in self.stores.values()),
                sum(s.served for s in self.stores.values()))

    def __enter__(self) -> "Shared":
        return self

    def __exit__(self, *exc) -> None:
        for s in self.stores.values():
            s.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def remove_dead_stores(root: str) -> None:
    """Delete pixel folders of this host's processes that are gone (a task killed by SIGKILL)."""
    host = socket.gethostname()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if not name.startswith(f"{PREFIX}{host}-"):
            continue
        try:
            pid = int(name[len(PREFIX) + len(host) + 1:].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        except (ValueError, PermissionError, OSError):
            continue
