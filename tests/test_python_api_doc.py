"""docs/python-api.md runs: every ```python block is executed in order in one namespace (from
the repository root, as a reader's notebook would), and the output block that follows it is
what it prints. The blocks before "## Predicting" read the shipped caches only; the
predicting blocks run a random-weight model on real images (slow)."""
import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from conftest import SUBSET

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"


def _blocks(text: str):
    """[(section is predicting, code, expected output or None)] in document order."""
    out = []
    for m in re.finditer(r"```python\n(.*?)```\n(?:\n```\n(.*?)```\n)?", text, re.S):
        out.append(("## Predicting" in text[:m.start()], m.group(1), m.group(2)))
    return out


def _run(blocks):
    ns, cwd = {}, os.getcwd()
    os.chdir(ROOT)
    try:
        for _, code, want in blocks:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                exec(compile(code, str(DOC), "exec"), ns)
            if want is not None:
                assert buf.getvalue() == want, f"block:\n{code}\nprinted:\n{buf.getvalue()}"
    finally:
        os.chdir(cwd)


def test_the_doc_has_scoring_and_predicting_blocks():
    blocks = _blocks(DOC.read_text(encoding="utf-8"))
    assert sum(not p for p, _, _ in blocks) >= 4 and sum(p for p, _, _ in blocks) >= 2
    assert all(want for _, _, want in blocks)


@pytest.mark.slow
def test_every_code_block_of_the_python_api_page_prints_what_it_shows():
    if not SUBSET.is_dir():
        pytest.skip(f"real val subset not found at {SUBSET}")
    _run(_blocks(DOC.read_text(encoding="utf-8")))


@pytest.mark.slow  # a 50,000-image comparison
def test_the_readmes_python_example_runs_and_prints_the_table_and_the_comparison():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    ns, cwd, buf = {}, os.getcwd(), io.StringIO()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(code, "README.md", "exec"), ns)
    finally:
        os.chdir(cwd)
    assert len(ns["caches"]) == 34 and len(ns["table"]) == 34
    printed = buf.getvalue()
    assert "keras:ResNet50.imagenet+legacy2019  torch:resnet50.IMAGENET1K_V1+legacy2019" in printed
    assert "34 models ranked by top-1 on 50000 images" in printed  # the table's text form
    assert "keras:NASNetLarge.imagenet+legacy2019" in printed.split("\n\n")[1].splitlines()[2]
