"""Command lines of the Keras backend: predict --framework keras, verify, the 2019 wrapper."""
import os

import pytest

from keras_helpers import skip_without_keras

skip_without_keras()  # finds keras and tensorflow, imports neither (see keras_helpers)

from conftest import make_valset  # noqa: E402
from imagenet_bench.cache import store as cache  # noqa: E402
from imagenet_bench.cli import main as cli  # noqa: E402



def _wrapper():
    from conftest import load_tool
    return load_tool("imagenet_keras_get_predictions", "scripts")


def test_2019_command_line_translates_to_predict(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    w = _wrapper()
    assert w.translate(["VAL", "-m", "xception", "-g", "1", "-o", "OUT", "--save-all-probs"]) == [
        "predict", "VAL", "--framework", "keras", "--preprocess", "legacy2019", "--cache-dir", "OUT",
        "--model", "xception", "--save-all-probs"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "1"
    assert "--all" in w.translate(["VAL"])  # no -m: all 13 models, as in 2019


@pytest.mark.slow
def test_2019_wrapper_writes_a_cache(tmp_path):
    root = make_valset(tmp_path / "val", num_classes=2, per_class=1)
    assert _wrapper().main([str(root), "-m", "mobilenet", "--weights", "none",
                            "-o", str(tmp_path / "out")]) == 0
    (path,) = (tmp_path / "out").glob("keras-MobileNet.imagenet+legacy2019+random.val2-*.npz")
    assert cache.load(str(path)).provenance["preprocess_mode"] == "legacy2019"


@pytest.mark.slow
def test_predict_without_weights_offline_exits_2_naming_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    root = make_valset(tmp_path / "val", num_classes=1, per_class=1)
    assert cli.main(["predict", "--framework", "keras", "--model", "xception", str(root),
                     "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "kh" / "models" / "xception_weights_tf_dim_ordering_tf_kernels.h5") in err
    assert "--weights FILE" in err


def test_verify_rejects_unknown_model_and_torch_drift(tmp_path, capsys):
    root = make_valset(tmp_path / "val", num_classes=1, per_class=1)
    assert cli.main(["verify", "determinism", "--model", "nope", str(root)]) == 2
    assert "no model library has a model named nope" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["verify", "drift", "--framework", "torch", "--model", "resnet18", str(root)])
    assert "invalid choice: 'torch'" in capsys.readouterr().err


@pytest.mark.slow
def test_verify_determinism_works_for_the_torch_backend(tmp_path, capsys):
    pytest.importorskip("torchvision")
    root = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    rc = cli.main(["verify", "determinism", "--framework", "torch", "--model", "squeezenet1_1",
                   "--weights", "none", str(root), "--n", "4", "-b", "4"])
    out = capsys.readouterr().out
    assert "torch:squeezenet1_1" in out and "single vs batched" in out and "single vs single" in out
    # repeated one-at-a-time runs must be bitwise identical on CPU
    assert "single vs single  : max |dp| = 0, top-1 agree 100.00%, top-5 agree 100.00%" in out
    # the exit status follows the batched comparison the report prints
    batched_differs = "top-5 differs (batched)" in out
    assert rc == (1 if batched_differs else 0)
    assert out.rstrip().endswith("FAILED" if batched_differs else "OK")


@pytest.mark.slow
def test_predict_with_a_local_weights_file_records_its_hash(tmp_path):
    from imagenet_bench.backends.keras import child as kb
    from imagenet_bench.models.registry import get_model
    wfile = tmp_path / "mnv2.weights.h5"
    with kb.KerasBackend(get_model("keras:mobilenetV2"), weights=None, seed=5) as b:
        b.keras_model.save_weights(str(wfile))
    root = make_valset(tmp_path / "val", num_classes=1, per_class=2)
    assert cli.main(["predict", "--framework", "keras", "--model", "mobilenetV2", "--weights", str(wfile),
                     str(root), "-o", str(tmp_path / "out"), "--no-progress"]) == 0
    sha = kb.file_sha256(str(wfile))
    (path,) = (tmp_path / "out").glob(f"keras-MobileNetV2.imagenet+ckpt-{sha[:8]}.val2-*.npz")
    assert cache.load(str(path)).provenance["weights"] == f"file:{wfile} sha256:{sha}"
