"""The ``timing`` provenance of a cache: how fast it was made (stdlib only).

Every cache records, under one provenance key ``timing`` (kept out of the resume key
and out of cache equality, :mod:`imagenet_bench.cache.inspect`): images predicted by the
run that finished it, its wall time, images/s end to end (decode included) and
model-only (inside ``backend.predict``), the device's name and the batch size. A resumed
run times only what it predicted itself; a sharded run, the shard that merged.
"""
from __future__ import annotations

import functools
import platform
from typing import Dict


@functools.lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU model (``/proc/cpuinfo`` on Linux, else the platform's processor string)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return "cpu: " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu: " + (platform.processor() or platform.machine() or "unknown")


def timing(images: int, wall_s: float, model_s: float, device: str, batch_size: int) -> Dict:
    """The ``timing`` record."""
    return {"images": int(images), "wall_s": round(float(wall_s), 3),
            "images_per_s": round(images / wall_s, 2) if wall_s > 0 and images else None,
            "model_images_per_s": round(images / model_s, 2) if model_s > 0 and images else None,
            "device": str(device), "batch_size": int(batch_size)}
