"""verify determinism / drift: outputs or models that cannot show a difference end "inconclusive"
with exit status 4, never OK (issue #18 item 6). No framework is needed: the checks take plain
callables and a model-like object; the command is run with its backend replaced."""
import numpy as np
import pytest

from conftest import make_valset
from imagenet_bench.backends import determinism as det
from imagenet_bench.backends.keras import verify as kv
from imagenet_bench.cli import main as cli
from imagenet_bench.commands import verify as verify_cmd
from imagenet_bench.api import verifying
from imagenet_bench.run.backend import Backend

UNIFORM = np.full(1000, 0.001, np.float32)  # what random Keras weights give, exactly


def _examples(n=3):
    return [(f"img{i}", np.full((2, 2, 3), i, np.uint8)) for i in range(n)]


def test_uniform_outputs_are_inconclusive_not_ok():
    rep = det.determinism(lambda x: UNIFORM, lambda xs: np.stack([UNIFORM] * len(xs)), _examples(),
                         batch_size=2)
    assert rep.ok and rep.uniform_rows == 3  # nothing differed ...
    assert rep.inconclusive.startswith("all 3 outputs are uniform")  # ... because nothing could


def test_the_same_output_for_every_image_is_inconclusive():
    p = np.eye(1000, dtype=np.float32)[5]
    rep = det.determinism(lambda x: p, lambda xs: np.stack([p] * len(xs)), _examples(), batch_size=2)
    assert rep.uniform_rows == 0 and "all 3 images gave the same output" in rep.inconclusive


def test_informative_outputs_are_conclusive_and_a_difference_is_never_inconclusive():
    probs = np.eye(1000, dtype=np.float32)

    def one(x):
        return probs[int(x.flat[0])]
    rep = det.determinism(one, lambda xs: np.stack([one(x) for x in xs]), _examples(), batch_size=2)
    assert rep.ok and rep.inconclusive is None
    flip = {"n": 0}

    def flaky(x):  # uniform, but the repeated single run differs: a found difference
        flip["n"] += 1
        return UNIFORM * (1.5 if flip["n"] > 3 else 1.0)
    rep = det.determinism(flaky, lambda xs: np.stack([UNIFORM] * len(xs)), _examples(), batch_size=3)
    assert not rep.ok and rep.inconclusive is None


class _Var:
    def __init__(self, path, value):
        self.path, self.value = path, np.asarray(value, np.float32)

    def numpy(self):
        return self.value


class _Model:
    def __init__(self, trainable, state):
        self.trainable_variables = trainable
        self.non_trainable_variables = state
        self.variables = trainable + state


def test_drift_on_a_model_with_nothing_inference_could_move_is_inconclusive():
    model = _Model([_Var("dense/kernel", [1.0, 2.0])], [])
    rep = kv.drift(model, lambda x: x, [np.zeros(1)] * 2)
    assert not rep.moved and rep.num_state_variables == 0
    assert "no non-trainable variables" in rep.inconclusive
    with_bn = _Model([_Var("dense/kernel", [1.0])], [_Var("bn/moving_mean", [0.0])])
    rep = kv.drift(with_bn, lambda x: x, [np.zeros(1)])
    assert not rep.moved and rep.inconclusive is None  # a batch norm could have moved: conclusive
    assert kv.drift(with_bn, lambda x: x, []).inconclusive.startswith("no example was run")


class _UniformBackend(Backend):
    """The in-process backend the command would build, giving random-Keras-like outputs."""

    batch_size = 1

    class config:
        model_id = "torch:resnet18.IMAGENET1K_V1+random"

    def provenance(self):
        return {}

    def preprocess(self, path):
        return np.zeros((4, 4, 3), np.uint8)

    def predict(self, pxs):
        return np.stack([UNIFORM] * len(pxs))


def test_determinism_command_exits_4_inconclusive_on_uniform_outputs(tmp_path, capsys, monkeypatch):
    root = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    monkeypatch.setattr(verifying, "_backend", lambda *args: _UniformBackend())
    rc = cli.main(["verify", "determinism", "--framework", "torch", "--model", "resnet18",
                   "--weights", "none", str(root), "--n", "4", "-b", "2"])
    out = capsys.readouterr().out
    assert rc == verify_cmd.INCONCLUSIVE == 4
    assert out.rstrip().splitlines()[-1].startswith("inconclusive: all 4 outputs are uniform")
    assert "OK" not in out.split()


def test_exit_statuses_are_in_the_help(capsys):
    for check in ("drift", "determinism"):
        with pytest.raises(SystemExit):
            cli.main(["verify", check, "--help"])
        assert "4: inconclusive" in " ".join(capsys.readouterr().out.split())
