"""``verify determinism`` of any in-process backend: one-at-a-time vs batched vs repeated.

:func:`determinism` compares, for the same preprocessed examples, one-at-a-time
outputs against batched outputs and against a second one-at-a-time run. It
needs only ``predict_one(x)`` and ``predict_batch(xs)`` (:func:`backend_functions`
makes them of a runner backend), so every library's backend is checked the
same way; :func:`check` is the check the torch and keras libraries declare
(``Library.verify_checks``). numpy only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional, Tuple

import numpy as np

from imagenet_bench.cache.store import top5_from_probs


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

    @property
    def failed(self) -> bool:
        """The check found a problem (not :attr:`ok`)."""
        return not self.ok

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
    return backend.single_and_batched()


def check(backend, examples: Iterable[Tuple[str, np.ndarray]], batch_size: int = 32
          ) -> DeterminismReport:
    """``verify determinism`` on an in-process runner backend: ``examples`` ((image id, pixels)
    pairs) one at a time, in batches of ``batch_size``, and one at a time again."""
    one, batch = backend_functions(backend)
    return determinism(one, batch, examples, batch_size=batch_size)
