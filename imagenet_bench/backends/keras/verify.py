"""Checks of the inference path: variable drift (Keras) and determinism (any backend).

* :func:`drift` fingerprints every variable of a Keras model -- trainable
  weights and the batch-norm moving mean/variance alike -- runs examples
  through the production call (``KerasClassifier.predict_one``) and reports,
  per layer, the largest absolute change. Anything above zero is drift.
* :func:`determinism` compares, for the same preprocessed examples, one-at-a-
  time outputs against batched outputs and against a second one-at-a-time
  run. It needs only ``predict_one(x)`` and ``predict_batch(xs)``, so the
  torch backend can be checked the same way.

numpy only at import; the Keras model is passed in.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

from imagenet_bench.cache.store import top5_from_probs


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


# --------------------------------------------------------------- determinism
@dataclass
class DeterminismReport:
    """One-at-a-time vs batched vs repeated one-at-a-time outputs on the same examples."""

    image_ids: List[str]
    batch_size: int
    max_diff_batched: float  # max |p_single - p_batched| over all images and classes
    max_diff_repeat: float  # max |p_single - p_single_again|
    top1_agree_batched: float  # fraction of images with the same top-1
    top5_agree_batched: float  # fraction with the same ordered top-5
    top1_agree_repeat: float
    top5_agree_repeat: float
    disagree_batched: List[str] = field(default_factory=list)  # ids whose top-5 differ
    disagree_repeat: List[str] = field(default_factory=list)
    uniform_rows: int = 0  # outputs equal in every class (e.g. exactly 0.001 everywhere)
    same_for_every_image: bool = False  # every image gave the same output

    @property
    def inconclusive(self) -> Optional[str]:
        """Why agreement proves nothing (None: a difference could have shown): outputs uniform
        over the classes (ties decide the top-5) or the same for every image."""
        if not self.ok:
            return None
        n = len(self.image_ids)
        if self.uniform_rows == n:
            return (f"all {n} outputs are uniform (every class has the same probability, "
                    f"e.g. random weights), so no difference could show; run it on weights "
                    f"that discriminate (pretrained, or --checkpoint FILE)")
        if self.same_for_every_image and n > 1:
            return (f"all {n} images gave the same output (it does not depend on the image), so "
                    f"no difference could show; run it on weights that discriminate")
        return None

    @property
    def ok(self) -> bool:
        """Repeated single runs are bitwise equal and batched top-5 agree everywhere."""
        return (self.max_diff_repeat == 0.0 and not self.disagree_batched
                and not self.disagree_repeat)

    def lines(self) -> List[str]:
        """Human-readable report."""
        n = len(self.image_ids)
        out = [f"{n} images; batched with batch size {self.batch_size}",
               f"single vs batched : max |dp| = {self.max_diff_batched:.3g}, "
               f"top-1 agree {self.top1_agree_batched:.2%}, top-5 agree {self.top5_agree_batched:.2%}",
               f"single vs single  : max |dp| = {self.max_diff_repeat:.3g}, "
               f"top-1 agree {self.top1_agree_repeat:.2%}, top-5 agree {self.top5_agree_repeat:.2%}"]
        for what, ids in (("batched", self.disagree_batched), ("repeat", self.disagree_repeat)):
            if ids:
                shown = ", ".join(ids[:20]) + (f" ... (+{len(ids) - 20})" if len(ids) > 20 else "")
                out.append(f"top-5 differs ({what}) on {len(ids)} images: {shown}")
        return out


def _agreement(a: np.ndarray, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    ia, _ = top5_from_probs(a)
    ib, _ = top5_from_probs(b)
    return ia[:, 0] == ib[:, 0], (ia == ib).all(axis=1)


def determinism(predict_one: Callable[[np.ndarray], np.ndarray],
                predict_batch: Callable[[np.ndarray], np.ndarray],
                examples: Iterable[Tuple[str, np.ndarray]], batch_size: int = 32
                ) -> DeterminismReport:
    """Run ``examples`` ((image id, one input without batch axis) pairs) three ways and compare.

    ``predict_one(x)`` returns the probabilities (1000,) of one input run
    alone; ``predict_batch(xs)`` those (n, 1000) of stacked inputs run as one
    batch. Examples are taken ``batch_size`` at a time: each chunk is run one
    at a time, as one batch, then one at a time again, so memory stays bounded.
    """
    ids: List[str] = []
    single, batched, again = [], [], []
    chunk: List[np.ndarray] = []

    def flush():
        if not chunk:
            return
        single.extend(np.asarray(predict_one(x)).reshape(-1) for x in chunk)
        batched.extend(np.asarray(predict_batch(np.stack(chunk))))
        again.extend(np.asarray(predict_one(x)).reshape(-1) for x in chunk)
        chunk.clear()

    for image_id, x in examples:
        ids.append(image_id)
        chunk.append(x)
        if len(chunk) == batch_size:
            flush()
    flush()
    if not ids:
        raise ValueError("no examples to compare")
    s, b, r = (np.asarray(v, dtype=np.float32).reshape(len(ids), -1) for v in (single, batched, again))
    t1b, t5b = _agreement(s, b)
    t1r, t5r = _agreement(s, r)
    return DeterminismReport(
        image_ids=ids, batch_size=batch_size,
        max_diff_batched=float(np.max(np.abs(s - b))), max_diff_repeat=float(np.max(np.abs(s - r))),
        top1_agree_batched=float(t1b.mean()), top5_agree_batched=float(t5b.mean()),
        top1_agree_repeat=float(t1r.mean()), top5_agree_repeat=float(t5r.mean()),
        disagree_batched=[i for i, ok in zip(ids, t5b) if not ok],
        disagree_repeat=[i for i, ok in zip(ids, t5r) if not ok],
        uniform_rows=int(np.sum(s.max(axis=1) == s.min(axis=1))),
        same_for_every_image=bool(np.all(s == s[0])))


def backend_functions(backend) -> Tuple[Callable, Callable]:
    """(predict_one, predict_batch) on uint8 pixels for a runner backend of either framework.

    Keras: the compiled single-example call and a batched call of the same
    model. Torch (or any backend without ``predict_batch``): ``predict`` on a
    batch of one and on the whole batch.
    """
    if hasattr(backend, "predict_batch") and hasattr(backend, "to_input"):
        return (lambda px: backend.predict_one(backend.to_input(px)),
                lambda pxs: backend.predict_batch(backend.to_input(pxs)))
    return (lambda px: backend.predict(px[None])[0], lambda pxs: backend.predict(pxs))
