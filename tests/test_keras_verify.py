"""verify drift / determinism: they catch what they claim, and real architectures pass."""
import numpy as np
import pytest

from keras_helpers import backend as kb, keras, skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from conftest import make_valset  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402
from imagenet_bench.data import datasets  # noqa: E402
from imagenet_bench.backends import determinism as det  # noqa: E402
from imagenet_bench.backends.keras import verify as kv  # noqa: E402
from imagenet_bench.models.registry import get_model  # noqa: E402


def _always_training_bn():
    """A batch-norm layer class that ignores training=False: it updates its moving statistics."""

    class AlwaysTrainingBN(keras().layers.BatchNormalization):
        def call(self, inputs, training=None):
            return super().call(inputs, training=True)

    return AlwaysTrainingBN


def _toy_model(bn_cls):
    inp = keras().Input((8, 8, 3))
    x = keras().layers.Conv2D(4, 3, name="conv")(inp)
    x = bn_cls(name="leaky_bn")(x)
    x = keras().layers.GlobalAveragePooling2D()(x)
    return keras().Model(inp, keras().layers.Dense(1000, activation="softmax", name="fc")(x))


def _examples(n=3):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(1, 8, 8, 3)).astype(np.float32) for _ in range(n)]


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_drift_catches_and_names_a_batchnorm_running_in_training_mode():
    net = _toy_model(_always_training_bn())
    report = kv.drift(net, kb().compiled_call(net, 8), _examples())
    assert report.moved
    assert report.changed_variables == ["leaky_bn/moving_mean", "leaky_bn/moving_variance"]
    assert report.layer_change["leaky_bn"] > 0 and report.layer_change["conv"] == 0
    text = "\n".join(report.lines())
    assert "DRIFT in 1 of 3 layers" in text and "leaky_bn: max |change| =" in text


@pytest.mark.slow  # imports TensorFlow (~9 s in each process that runs it)
def test_plain_batchnorm_in_the_production_call_does_not_drift():
    net = _toy_model(keras().layers.BatchNormalization)
    report = kv.drift(net, kb().compiled_call(net, 8), _examples())
    assert not report.moved and report.before == report.after
    assert set(report.layer_change.values()) == {0.0} and report.num_variables == 8


@pytest.mark.slow
def test_drift_command_exits_1_on_drift_and_0_on_a_real_architecture(tmp_path, capsys, monkeypatch):
    root = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    assert cli.main(["verify", "drift", "--model", "mobilenetV2", "--weights", "none",
                     str(root), "--n", "3"]) == 0
    out = capsys.readouterr().out
    assert "no drift" in out and "3 examples run" in out and out.rstrip().endswith("OK")
    # the same command on a model whose batch norm updates itself fails and names the layer
    orig = kb().build_model

    def leaky(spec, weights, seed=0):
        net = orig(spec, weights, seed)
        x = _always_training_bn()(name="injected_bn")(net.output)
        return keras().Model(net.input, x)

    monkeypatch.setattr(kb(), "build_model", leaky)
    assert cli.main(["verify", "drift", "--model", "mobilenetV2", "--weights", "none",
                     str(root), "--n", "2"]) == 1
    out = capsys.readouterr().out
    assert "injected_bn: max |change|" in out and out.rstrip().endswith("FAILED")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["densenet121", "inceptionv3", "nasnetmobile"])
def test_real_architectures_show_zero_drift(name, tmp_path):
    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=2)))
    with kb().KerasBackend(get_model(f"keras:{name}"), weights=None) as b:
        report = kv.drift(b.keras_model, b.predict, (b.preprocess(p)[None] for p in vs.paths))
        stats = [v.path for v in b.keras_model.non_trainable_variables if "moving_" in v.path]
        assert stats and report.num_variables == len(b.keras_model.variables)  # BN stats included
    assert not report.moved and report.num_examples == 4


@pytest.mark.slow
def test_determinism_report_on_a_real_architecture(tmp_path):
    vs = datasets.discover(str(make_valset(tmp_path / "val", num_classes=2, per_class=3)))
    with kb().KerasBackend(get_model("keras:resnet50"), weights=None) as b:  # informative outputs
        rep = det.check(b, ((i, b.preprocess(p)) for i, p in zip(vs.image_ids, vs.paths)),
                        batch_size=4)
    assert rep.image_ids == vs.image_ids and rep.batch_size == 4
    assert rep.max_diff_repeat == 0.0 and rep.top5_agree_repeat == 1.0
    assert rep.max_diff_batched < 1e-5 and rep.ok == (not rep.disagree_batched)
    assert "single vs batched" in "\n".join(rep.lines())


def test_determinism_names_the_images_that_disagree():
    calls = {"n": 0}
    probs = np.eye(1000, dtype=np.float32)[[3, 7, 9]]

    def one(px):  # the second single run of image b flips its top-1
        calls["n"] += 1
        p = probs[int(px[0])].copy()
        if calls["n"] == 5:
            p = np.roll(p, 1)
        return p

    def batch(pxs):
        return np.stack([probs[int(x[0])] for x in pxs])

    rep = det.determinism(one, batch, [("a", np.array([0])), ("b", np.array([1])), ("c", np.array([2]))],
                          batch_size=8)
    assert not rep.ok and rep.disagree_repeat == ["b"] and rep.disagree_batched == []
    assert rep.max_diff_repeat == 1.0 and rep.top1_agree_repeat == pytest.approx(2 / 3)
    assert "top-5 differs (repeat) on 1 images: b" in "\n".join(rep.lines())
