"""``verify drift`` of a Keras model: does inference change any variable?

:func:`drift` fingerprints every variable of a Keras model -- trainable
weights and the batch-norm moving mean/variance alike -- runs examples
through the production call (``KerasBackend.predict`` on a batch of one) and
reports, per layer, the largest absolute change. Anything above zero is
drift. :func:`check_drift` is the check the keras library declares
(``Library.verify_checks``); determinism is :mod:`imagenet_bench.backends.determinism`.

numpy only at import; the Keras model is passed in.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional

import numpy as np


# --------------------------------------------------------------------- drift
def variable_snapshot(model) -> Dict[str, np.ndarray]:
    """A copy of every variable of ``model`` (trainable or not), keyed by its path."""
    snap: Dict[str, np.ndarray] = {}
    for v in model.variables:
        key = getattr(v, "path", None) or v.name
        if key in snap:
            raise ValueError(f"two variables share the path {key!r}")
        snap[key] = np.array(v.numpy(), copy=True)
    return snap


def snapshot_digest(snap: Dict[str, np.ndarray]) -> str:
    """sha256 over the variables' paths, dtypes, shapes and bytes, in path order."""
    h = hashlib.sha256()
    for key in sorted(snap):
        a = np.ascontiguousarray(snap[key])
        h.update(f"{key}|{a.dtype}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass
class DriftReport:
    """Per-layer maximum absolute change of the variables over ``num_examples`` calls."""

    num_examples: int
    num_variables: int
    before: str  # snapshot_digest before the run
    after: str  # snapshot_digest after the run
    layer_change: Dict[str, float] = field(default_factory=dict)  # layer -> max |after - before|
    changed_variables: List[str] = field(default_factory=list)
    num_state_variables: int = -1  # non-trainable variables (batch-norm statistics); -1: not known

    @property
    def moved(self) -> bool:
        """True when any variable changed at all."""
        return bool(self.changed_variables) or self.before != self.after

    @property
    def failed(self) -> bool:
        """The check found a problem: a variable moved."""
        return self.moved

    @property
    def inconclusive(self) -> Optional[str]:
        """Why no drift proves nothing (None: the check could have failed): no examples were
        run, or the model has no non-trainable state (batch-norm statistics) inference could move."""
        if self.moved:
            return None
        if self.num_examples == 0:
            return "no example was run, so nothing could move"
        if self.num_state_variables == 0:
            return (f"the model has no non-trainable variables (batch-norm moving statistics) of "
                    f"the kind inference could move; its {self.num_variables} trainable "
                    f"variables are not changed by a forward pass, so no drift shows nothing")
        return None

    def lines(self) -> List[str]:
        """Human-readable report."""
        out = [f"{self.num_variables} variables fingerprinted, {self.num_examples} examples run",
               f"before {self.before[:16]}  after {self.after[:16]}"]
        moved = {k: v for k, v in self.layer_change.items() if v > 0}
        if not moved:
            out.append(f"no drift: all {len(self.layer_change)} layers unchanged (max |change| = 0)")
        else:
            out.append(f"DRIFT in {len(moved)} of {len(self.layer_change)} layers:")
            for layer, d in sorted(moved.items(), key=lambda kv: -kv[1]):
                out.append(f"  {layer}: max |change| = {d:.6g}")
            out.append("  variables: " + ", ".join(self.changed_variables))
        return out


def _layer_of(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else path


def compare_snapshots(before: Dict[str, np.ndarray], after: Dict[str, np.ndarray],
                      num_examples: int) -> DriftReport:
    """Per-layer max absolute change between two snapshots of the same model."""
    if set(before) != set(after):
        raise ValueError("the model's variables changed between snapshots: "
                         f"{sorted(set(before) ^ set(after))}")
    rep = DriftReport(num_examples=num_examples, num_variables=len(before),
                      before=snapshot_digest(before), after=snapshot_digest(after))
    for key in sorted(before):
        a, b = before[key], after[key]
        same = a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
        d = 0.0 if same else float(np.max(np.abs(b.astype(np.float64) - a.astype(np.float64))))
        if not same:
            rep.changed_variables.append(key)
            d = d if d > 0 else float("inf")  # changed shape or NaN pattern
        layer = _layer_of(key)
        rep.layer_change[layer] = max(rep.layer_change.get(layer, 0.0), d)
    return rep


def drift(model, run_one: Callable[[np.ndarray], np.ndarray],
          examples: Iterable[np.ndarray]) -> DriftReport:
    """Fingerprint ``model``, feed ``examples`` to ``run_one`` (the production call), compare."""
    before = variable_snapshot(model)
    n = 0
    for x in examples:
        run_one(x)
        n += 1
    rep = compare_snapshots(before, variable_snapshot(model), n)
    state = getattr(model, "non_trainable_variables", None)
    rep.num_state_variables = -1 if state is None else len(state)
    return rep


def check_drift(backend, examples: Iterable, batch_size: int = 1) -> DriftReport:
    """``verify drift`` on an in-process Keras backend: ``examples`` ((image id, pixels) pairs)
    through ``backend.predict`` on a batch of one, exactly what ``predict`` runs per image
    (``batch_size`` is not used: the production call takes one image)."""
    return drift(backend.keras_model, backend.predict, (px[None] for _, px in examples))
