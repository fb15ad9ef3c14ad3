"""The cost of a sweep plan's jobs: images to predict and device time at measured rates.

The rates are the ``timing`` recorded in the provenance of caches already made
(median images/s per framework and architecture), read through the folder index
(``cache/folder.load_folder``, numpy, imported when a plan is summarised).
"""
from __future__ import annotations

import os
from typing import Dict, List, Tuple

from imagenet_bench.errors import count


def measured_rates(caches: str) -> Dict[Tuple[str, str], float]:
    """(framework, architecture) -> end-to-end images/s recorded in the ``timing`` of caches
    there (median), read through the folder index (``cache/folder.load_folder``)."""
    from imagenet_bench.cache.folder import load_folder
    rates: Dict[Tuple[str, str], List[float]] = {}
    if not os.path.isdir(caches):
        return {}
    for preds in load_folder(caches, skip_bad=True).preds:
        prov = preds.provenance or {}
        timing = prov.get("timing") or {}
        rate = timing.get("images_per_s")
        if isinstance(rate, (int, float)) and rate > 0 and timing.get("images", 0) >= 1:
            key = (str(prov.get("framework")), str(prov.get("architecture")))
            rates.setdefault(key, []).append(float(rate))
    return {k: sorted(v)[len(v) // 2] for k, v in rates.items()}


def _duration(seconds: float) -> str:
    """``42 s``, ``12.5 min``, ``3.20 h``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def estimate(todo: List[Dict], caches: str) -> str:
    """The ``cost:`` line of ``sweep plan``: the images of the jobs ``todo``, the device time
    of those whose (framework, architecture) has a measured rate in ``caches``, and the others
    at 1,000 images/s."""
    images = sum(j["images"] for j in todo)
    rates = measured_rates(caches)
    known = [j for j in todo if (j["framework"], j["architecture"]) in rates]
    unknown_images = images - sum(j["images"] for j in known)
    secs = sum(j["images"] / rates[(j["framework"], j["architecture"])] for j in known)
    est = (f"cost: {count(images, 'image')} to predict ({count(len(todo), 'job')})")
    if known:
        est += (f"; {count(len(known), 'job')} {'has' if len(known) == 1 else 'have'} a measured rate in {caches}: about "
                f"{_duration(secs)} of device time for them")
    if len(known) < len(todo):
        est += (f"; {count(len(todo) - len(known), 'job')} without a measurement (at 1,000 img/s: "
                f"{_duration(unknown_images / 1000)})")
    return est
