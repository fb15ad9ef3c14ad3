"""Golden outputs: what the table commands print on the shipped 2019 caches and on a small mixed
val/A/V2 folder is what tests/data/golden/ holds (``PYTHONPATH=tests python tools/golden.py`` rewrites it; a
change there is a change of behaviour, to be read in the diff)."""
import difflib

import pytest

from conftest import load_tool

golden = load_tool("golden")
SYNTHETIC = [n for n, kind, argv in golden.CASES if kind != "shipped" and argv[0] != "report"]
SLOW = [n for n, _, _ in golden.CASES if n not in SYNTHETIC]


def _check(names):
    made = golden.outputs(lambda name: name in names)
    assert sorted(made) == sorted(names)
    differ = []
    for name, text in made.items():
        want = (golden.GOLDEN / f"{name}.txt").read_text(encoding="utf-8")
        if text != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), text.splitlines(True),
                                                f"golden/{name}.txt", "today", n=1))
            differ.append(diff[:3000])
    assert not differ, "\n".join(differ)


def test_synthetic_folders_print_the_golden_outputs():
    _check(SYNTHETIC)


@pytest.mark.slow
def test_shipped_caches_and_report_data_print_the_golden_outputs():
    _check(SLOW)


def test_every_golden_file_belongs_to_a_case():
    names = {n for n, _, _ in golden.CASES}
    assert {p.stem for p in golden.GOLDEN.glob("*.txt")} == names
