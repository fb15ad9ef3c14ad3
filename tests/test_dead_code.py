"""Nothing dead, nothing unflagged: vulture (min confidence 60: every unused function, class,
method, attribute, variable, import) finds no unused code in the package, benchmarks, tools or
scripts -- counting the tests as users, with tools/vulture_whitelist.py naming what only a
library or a string uses -- and ruff (ruff.toml: pyflakes, E7, E9) passes."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = ("imagenet_bench", "benchmarks", "tools", "scripts")
MIN_CONFIDENCE = 60


def _tool(name):
    exe = shutil.which(name) or os.path.join(os.path.dirname(sys.executable), name)
    if not os.path.exists(exe):
        pytest.fail(f"{name} not found: pip install -e '.[test]' (it is in the test extra)")
    return exe


def test_vulture_finds_no_dead_code():
    paths = [*CODE, "tests", os.path.join("tools", "vulture_whitelist.py")]
    out = subprocess.run([_tool("vulture"), *paths, "--min-confidence", str(MIN_CONFIDENCE),
                          "--exclude", "build,tests/plugins/*/build"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode in (0, 3), out.stderr  # 3: vulture found unused code
    # the tests use the package; their own fixtures and corpus cases are found by pytest
    dead = [line for line in out.stdout.splitlines() if line.startswith(CODE)]
    print("\n".join(dead) or f"vulture --min-confidence {MIN_CONFIDENCE}: no dead code in {', '.join(CODE)}")
    assert dead == [], "dead code (delete it, or name its user in tools/vulture_whitelist.py):\n" + \
        "\n".join(dead)


def test_no_code_has_only_the_tests_as_users():
    """The same vulture run without the tests: what only a test uses goes (or gets a user)."""
    paths = [*CODE, os.path.join("tools", "vulture_whitelist.py")]
    out = subprocess.run([_tool("vulture"), *paths, "--min-confidence", str(MIN_CONFIDENCE),
                          "--exclude", "build,tests"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode in (0, 3), out.stderr
    dead = [line for line in out.stdout.splitlines() if line.startswith(CODE)]
    print("\n".join(dead) or f"vulture --min-confidence {MIN_CONFIDENCE} without tests/: no code only "
                             f"the tests use")
    assert dead == [], "used by the tests alone (move it into the tests, or give it a user):\n" + \
        "\n".join(dead)


def test_ruff_passes():
    out = subprocess.run([_tool("ruff"), "check", *CODE, "tests", "--output-format", "concise"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    print(out.stdout[-2000:])
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
