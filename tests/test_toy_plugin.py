"""A model library added by a plugin alone: tests/plugins/toy, installed into a folder of its own.

The plugin (its own pyproject.toml, a Library declaration, a two-entry catalog, a tiny torch
network) is installed with ``pip install --no-deps --no-build-isolation --target TMP`` and the
commands run in subprocesses with ``PYTHONPATH=TMP:<repo>``, so neither this test venv nor any
other test sees it. Nothing in imagenet_bench names it: the commands find it through the
entry-point group ``imagenet_bench.libraries`` (docs/EXTENDING.md).
"""
import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_valset

REPO = Path(__file__).resolve().parents[1]
TOY = REPO / "tests" / "plugins" / "toy"

pytestmark = pytest.mark.slow  # pip install + one framework import per command (~40 s)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """(environment with the plugin importable, its install folder)."""
    pytest.importorskip("torch")
    work = tmp_path_factory.mktemp("toy")
    src = work / "src"
    shutil.copytree(TOY, src)  # pip builds in the source folder: keep the repository clean
    target = work / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                           "--no-index", "--quiet", "--target", str(target), str(src)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), str(REPO)]))
    return env, target


def bench(env, *argv):
    """Run ``python -m imagenet_bench ARGV`` in a subprocess; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "imagenet_bench", *argv], capture_output=True,
                          text=True, env=env, cwd=str(REPO), timeout=300)


def test_the_toy_library_works_through_every_command(toy, tmp_path):
    env, target = toy
    assert sorted(p.name for p in target.glob("toy_imagenet_bench*")) == [
        "toy_imagenet_bench", "toy_imagenet_bench-0.1.0.dist-info"]
    # models: the two-entry catalog, read without importing torch
    out = bench(env, "models", "--framework", "toy", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["model"], r["framework"], r["crop"]) for r in rows] == [
        ("toy:tiny.v1", "toy", "32"), ("toy:tiny.v2", "toy", "32")]
    val, runs = make_valset(tmp_path / "val", num_classes=2, per_class=2), tmp_path / "runs"
    # predict both weights with random weights, as any library's model
    for name in ("toy:tiny.v1", "toy:tiny.v2"):
        out = bench(env, "predict", "-m", name, "--weights", "none", "-j", "0", "--no-progress",
                    "-o", str(runs), str(val))
        assert out.returncode == 0, out.stderr
        assert f"{name}+random: acc@1" in out.stdout
    names = sorted(p.name for p in runs.glob("*.npz"))
    assert [n.split(".val4-")[0] for n in names] == ["toy-tiny.v1+random", "toy-tiny.v2+random"]
    from imagenet_bench.cache import store as cache
    prov = cache.load(str(runs / names[0])).provenance
    assert (prov["model"], prov["framework"], prov["backend"], prov["builder"]) == (
        "toy:tiny.v1+random", "toy", "toy", "toy_imagenet_bench.backend:tiny")
    assert prov["preprocessing"]["resize"] == 36 and prov["preprocessing"]["crop"] == 32
    # score and compare read the caches like any other
    out = bench(env, "score", "--precomputed", str(runs), "--format", "csv")
    assert out.returncode == 0, out.stderr
    scored = [r["model"] for r in csv.DictReader(io.StringIO(out.stdout))]
    assert sorted(scored) == ["toy:tiny.v1+random", "toy:tiny.v2+random"], out.stdout
    out = bench(env, "compare", "toy:tiny.v1+random", "toy:tiny.v2+random", "--precomputed",
                str(runs))
    assert out.returncode == 0, out.stderr
    assert "toy:tiny.v1+random" in out.stdout and "toy:tiny.v2+random" in out.stdout
    # verify variants: the package's torch variants apply to a library whose backends are torch's
    out = bench(env, "verify", "variants", "-m", "toy:tiny.v1", "--weights", "none", "--variants",
                "batch1,channels_last", "-b", "2", "-j", "0", "--no-progress", "--format", "csv",
                "--cache-dir", str(tmp_path / "variants"), str(val))
    assert out.returncode == 0, out.stderr
    table = list(csv.reader(io.StringIO(out.stdout)))
    assert [r[0] for r in table[1:]] == ["fp32", "batch1", "channels_last"]
    assert all(r[1] == "ok" for r in table[1:]), table
    print("\n".join(["", "$ imagenet-bench models --framework toy --format csv",
                     *(f"{r['model']},{r['framework']},{r['crop']}" for r in rows),
                     f"predict: {', '.join(names)}", f"score: {', '.join(scored)}",
                     "verify variants: " + ", ".join(f"{r[0]} {r[1]}" for r in table[1:])]))


def test_without_the_plugin_on_the_path_no_toy_library_exists(toy):
    env = dict(toy[0], PYTHONPATH=str(REPO))
    out = bench(env, "models", "--framework", "toy")
    assert out.returncode == 2
    from imagenet_bench.models import libraries
    installed = libraries.names()  # the package's own libraries, as this test venv registers them
    assert "toy" not in installed and {"keras", "timm", "torch"} <= set(installed)
    assert (f"--framework toy: no such backend. Fix: --framework one of {', '.join(sorted(installed))}"
            in out.stderr), out.stderr
