"""A partial cache that cannot lead to a valid result is not left to be resumed (issue #18).

Outputs that no image can explain (the wrong shape, non-finite probabilities) stop the
run at the batch that shows them, naming the model and its options rather than an
image; that batch is never saved, and the partial is removed when resuming could only
repeat the error (the shape, always; non-finite outputs, when no image was finished).
"""
from __future__ import annotations

import numpy as np
import pytest

from test_runner import NumpyBackend, opts
from imagenet_bench.data import datasets
from imagenet_bench.run import runner


class Broken(NumpyBackend):
    """Good outputs for ``good`` batches, then ``kind`` ("nan" or "shape")."""

    def __init__(self, kind, good=0):
        super().__init__(batch_size=2)
        self.kind, self.good = kind, good

    def predict(self, batch):
        probs = super().predict(batch)
        if self.calls <= self.good:
            return probs
        return np.full_like(probs, np.nan) if self.kind == "nan" else probs[:, :10]


@pytest.mark.parametrize("kind, good, kept", [("nan", 0, False), ("shape", 0, False),
                                              ("shape", 2, False), ("nan", 2, True)])
def test_image_independent_failures_leave_no_partial_to_resume_into_them(tmp_path, valdir,
                                                                         kind, good, kept):
    vs = datasets.discover(str(valdir))
    lines = []
    o = opts(tmp_path / "o", checkpoint_every=1)
    o.log = lines.append
    with pytest.raises(runner.ImageIndependentError) as e:
        runner.run(vs, Broken(kind, good), o)
    text = str(e.value)
    assert "custom:linear" in text and ".JPEG" not in text  # the model, never an image
    assert ("non-finite" if kind == "nan" else "shape (2, 10)") in text
    partial = list((tmp_path / "o").glob("*.partial.npz"))
    assert bool(partial) == kept
    if kept:  # the finished rows are valid: resuming with a healthy model completes the cache
        b = NumpyBackend()
        res = runner.run(vs, b, opts(tmp_path / "o"))
        assert res.complete and b.calls == 5 - good
    else:
        assert any("removed" in m and "could not give a valid cache" in m for m in lines) or good == 0
        b = NumpyBackend()
        assert runner.run(vs, b, opts(tmp_path / "o")).complete and b.calls == 5
