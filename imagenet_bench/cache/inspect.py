"""Cache equality (numpy).

``differences(a, b)`` is what "two caches are equal"
means throughout imagenet_bench: every array member identical (dtype, shape, bytes) and
every provenance key equal except :data:`RUN_ONLY_KEYS` (``shards``: how many processes
wrote it; ``timing``: how fast it went) -- which is why a sweep, a resumed run, a sharded
run and a plain ``predict`` can be checked against each other.
"""
from __future__ import annotations

import json
from typing import List

import numpy as np

#: provenance keys that say how a cache was made, not what it holds
RUN_ONLY_KEYS = ("shards", "timing")


def differences(a: str, b: str, ignore=RUN_ONLY_KEYS) -> List[str]:
    """What differs between the caches ``a`` and ``b`` ([] when they are equal)."""
    out = []
    with np.load(a, allow_pickle=False) as za, np.load(b, allow_pickle=False) as zb:
        names = sorted(set(za.files) | set(zb.files))
        for name in names:
            if name not in za.files or name not in zb.files:
                out.append(f"member {name} only in {a if name in za.files else b}")
            elif name == "provenance":
                pa = json.loads(za[name].tobytes().decode())
                pb = json.loads(zb[name].tobytes().decode())
                keys = sorted((set(pa) | set(pb)) - set(ignore))
                out += [f"provenance[{k!r}]: {pa.get(k)!r} != {pb.get(k)!r}"
                        for k in keys if pa.get(k) != pb.get(k)]
            else:
                x, y = za[name], zb[name]
                if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                    out.append(f"member {name} differs ({x.dtype}{x.shape} vs {y.dtype}{y.shape})")
    return out
