"""The layer order of docs/ARCHITECTURE.md, enforced: import-linter's `lint-imports` checks the
contracts of .importlinter (a `layers` contract: no upward import; an `acyclic_siblings`
contract: no import cycle between sibling modules or subpackages at any depth)."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _lint_imports():
    exe = shutil.which("lint-imports") or os.path.join(os.path.dirname(sys.executable), "lint-imports")
    if not os.path.exists(exe):
        pytest.fail("lint-imports not found: pip install -e '.[test]' (import-linter is in the test extra)")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([exe, "--no-cache", os.path.join(ROOT, ".importlinter")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_contracts_are_kept():
    out = _lint_imports()
    print(out.stdout[-3000:])
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in out.stdout


def test_the_contract_lists_every_subpackage_in_the_documented_order():
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, ".importlinter"))
    layers = [s.strip().strip("()") for s in cfg["importlinter:contract:layers"]["layers"].split()]
    order = [x.split(".")[-1] for x in layers]
    pkg = os.path.join(ROOT, "imagenet_bench")
    subpackages = {n for n in os.listdir(pkg) if os.path.isfile(os.path.join(pkg, n, "__init__.py"))}
    assert subpackages - set(order) == set(), f"subpackages outside the layers contract: " \
                                              f"{sorted(subpackages - set(order))}"
    with open(os.path.join(ROOT, "docs", "ARCHITECTURE.md"), encoding="utf-8") as f:
        doc = f.read()
    documented = " < ".join(f"`{x}`" for x in reversed(order))
    assert documented in doc, f"docs/ARCHITECTURE.md should state the layer order {documented}"
