"""Code comments and docs say what the code does, not how it came to be: no issue or pull-request
references, no team history, and no machine state (load averages, "this machine") outside
docs/benchmarks.md, where each measured figure stands beside its command and conditions."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: a measurement log: dates, load averages and commit hashes belong here, beside each figure
MEASUREMENTS = ROOT / "docs" / "benchmarks.md"

ISSUE_REFERENCE = re.compile(r"(?i)\b(issue|issues|pr|pull request|ticket)\s?#?\d+"
                             r"|(?<![\w\"'&/=#-])#\d+\b")
TEAM_HISTORY = re.compile(r"(?i)\bengineers?\b|\bthe lead\b|\b(this|earlier|previous) session\b"
                          r"|\bnotes/i\d+|\bi\d{2}\.md\b|\bworktree\b")
MACHINE_STATE = re.compile(r"(?i)\bload (average|avg)\b|\bload ?[≈~]|\bthis machine\b"
                           r"|\bidle machine\b|\bshared 2-core\b|\b2 shared cores\b")


def _files():
    for folder, pattern in (("imagenet_bench", "*.py"), ("docs", "*.md")):
        yield from sorted((ROOT / folder).rglob(pattern))


def _hits(pattern, skip=()):
    return [f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
            for path in _files() if path not in skip
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if pattern.search(line)]


def test_no_issue_references():
    assert not _hits(ISSUE_REFERENCE), "\n".join(_hits(ISSUE_REFERENCE))


def test_no_team_history():
    assert not _hits(TEAM_HISTORY), "\n".join(_hits(TEAM_HISTORY))


def test_machine_state_only_beside_measurements():
    hits = _hits(MACHINE_STATE, skip=(MEASUREMENTS,))
    assert not hits, "\n".join(hits)


def test_the_patterns_catch_what_they_are_for():
    for text in ("(issue #23: a restart)", "issue 19's wording", "see #19", "PR 2603"):
        assert ISSUE_REFERENCE.search(text), text
    for text in ("color: '#1f77b4'", "CVPR 2021", "# 1,000 rows", "x = a  # noqa: E731"):
        assert not ISSUE_REFERENCE.search(text), text
    assert TEAM_HISTORY.search("shared with five other engineers' jobs")
    assert MACHINE_STATE.search("at load average 9.4") and MACHINE_STATE.search("load ≈ 3")
    assert not MACHINE_STATE.search("the loader validates")
