"""The core install (numpy and tqdm only, README's first line): every command's help and the
version print, scoring runs, and a command that needs an extra says which one, as an error with
its fix rather than a traceback. Every module outside the standard library, numpy, tqdm and
imagenet_bench is made unimportable in a fresh interpreter."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import VAL_SUBSET, need

ROOT = Path(__file__).resolve().parents[1]

CORE = r"""
import contextlib, importlib.abc, io, json, sys
ALLOWED = set(sys.stdlib_module_names) | {"imagenet_bench", "numpy", "tqdm", "_distutils_hack"}
class CoreOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in ALLOWED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, CoreOnly())
from imagenet_bench.cli.main import COMMANDS, main
def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    return {"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue()}
argvs = json.loads(sys.argv[1])
print(json.dumps([run(a) for a in argvs]))
"""


def _core(argvs):
    done = subprocess.run([sys.executable, "-c", CORE, json.dumps(argvs)], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow  # a fresh interpreter that reads every command's parser
def test_help_version_and_scoring_need_numpy_only(tmp_path):
    from imagenet_bench.cli.main import COMMANDS
    argvs = [["--help"], ["--version"]] + [[c, "--help"] for c in COMMANDS] + [
        ["verify", "variants", "--help"], ["sweep", "plan", "--help"], ["score"]]
    results = _core(argvs)
    for r in results:
        assert r["code"] == 0 and "Traceback" not in r["err"], r
    assert "usage: imagenet-bench" in results[0]["out"]
    assert "keras:NASNetLarge.imagenet+legacy2019" in results[-1]["out"]  # the shipped table


@pytest.mark.slow
def test_a_command_that_needs_an_extra_names_it(tmp_path):
    val = str(need(VAL_SUBSET))
    (predict,) = _core([["predict", "-m", "torch:resnet18", val, "--cache-dir", str(tmp_path)]])
    assert predict["code"] == 2 and "Traceback" not in predict["err"]
    assert ("the torch library's models need torch, which is not installed. "
            "Fix: pip install 'imagenet_bench[torch]'") in predict["err"]
    assert not list(tmp_path.iterdir())
