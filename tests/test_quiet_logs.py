"""TensorFlow/absl start-up lines stay off the terminal unless --debug (issue #18 item 9);
counts in messages use correct plurals."""
import os
import subprocess
import sys

import pytest

from imagenet_bench.errors import count

NOISE = ("absl::InitializeLog", "oneDNN custom operations")


def _import_child_stderr(debug: bool) -> str:
    env = dict(os.environ)
    env.pop("IMAGENET_BENCH_DEBUG", None)
    if debug:
        env["IMAGENET_BENCH_DEBUG"] = "1"
    proc = subprocess.run([sys.executable, "-c", "import imagenet_bench.backends.keras.child"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.slow
def test_tensorflow_start_up_lines_are_hidden_unless_debug():
    pytest.importorskip("tensorflow")
    loud = _import_child_stderr(debug=True)
    if not any(n in loud for n in NOISE):
        pytest.skip("this TensorFlow prints no start-up lines to hide")
    quiet = _import_child_stderr(debug=False)
    assert not any(n in quiet for n in NOISE), quiet


def test_import_quietly_replays_what_was_written_when_the_import_fails(capfd):
    from imagenet_bench.backends.keras.quiet import import_quietly
    with pytest.raises(ImportError):
        with import_quietly():
            os.write(2, b"why it failed\n")
            raise ImportError("no module")
    assert "why it failed" in capfd.readouterr().err
    with import_quietly():
        os.write(2, b"start-up banner\n")
    assert "start-up banner" not in capfd.readouterr().err


def test_plurals():
    assert count(1, "model") == "1 model" and count(2, "model") == "2 models"
    assert count(1, "class", "classes") == "1 class" and count(1000, "class", "classes") == "1,000 classes"
    assert count(0, "image") == "0 images"
