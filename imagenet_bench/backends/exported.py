"""What every runtime that runs a torch model's exported weights shares (ONNX Runtime, OpenVINO,
TensorRT: :mod:`imagenet_bench.backends.runtimes`); torch is imported when a batch is predicted.

The pixels, batches and the weights' provenance come from ``base`` (the
TorchBackend of the same weights, any library whose adapter builds one); the
runtime adds its own record and turns a batch of network inputs into logits
(:meth:`ExportedRuntime.logits`).
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Sequence

import numpy as np

from imagenet_bench.run.backend import Backend
from imagenet_bench.errors import BenchError


class ExportedRuntime(Backend):
    """Base of a backend that runs ``base``'s weights in another runtime."""

    def __init__(self, base, config, int8: bool, calibration_ids: Sequence[str]):
        """Refuses int8 without calibration images; keeps ``base`` and ``config``."""
        if int8 and not calibration_ids:
            raise BenchError(f"{config.model_id}: int8 quantization needs calibration images. Fix: "
                             f"--calibration-split N with N >= 1")
        self.base, self.config, self.batch_size = base, config, base.batch_size
        self._runtime: dict = {}

    def file_stem(self, out_dir: str, ids: Sequence[str]) -> str:
        """Path stem of the exported files in ``out_dir``: keyed by the weights' provenance and
        the calibration images, so another model or calibration never reuses them."""
        key = json.dumps([self.base.provenance(), list(ids)], sort_keys=True)
        os.makedirs(out_dir, exist_ok=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
        return os.path.join(out_dir, f"{self.config.model_id.file_stem}.{digest}")

    def provenance(self) -> dict:
        """The torch provenance of the weights and pixels, plus the runtime's record."""
        prov = self.base.provenance()
        prov.update(self._runtime)
        return prov

    def preprocess(self, path: str) -> np.ndarray:
        """Decode, resize and crop one image, as the torch backend does."""
        return self.base.preprocess(path)

    def batches(self, jobs):
        """The torch backend's DataLoader batches."""
        return self.base.batches(jobs)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """The runtime's logits (n, 1000) for a contiguous float32 input batch (subclasses)."""
        raise TypeError(f"{type(self).__name__} defines no logits()")

    def predict(self, inputs) -> np.ndarray:
        """Softmax probabilities (n, 1000) float32 from the runtime's logits."""
        import torch
        x = np.ascontiguousarray(self.base.network_input(inputs).cpu().numpy())
        logits = self.logits(x)
        return torch.softmax(torch.from_numpy(np.asarray(logits, np.float32)), dim=1).numpy()
