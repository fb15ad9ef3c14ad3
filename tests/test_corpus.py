"""One test per case of the bad-input corpus (tests/corpus.py).

Each case runs the command line (or an API call) on its bad input and checks
the exit status, the message (what, where, how to fix), that no traceback is
printed, and that the files of finished work are byte-for-byte unchanged.
"""
import contextlib
import hashlib
import os
import re

import pytest

import corpus
from imagenet_bench.cli import main as cli
from imagenet_bench.errors import BenchError


def _param(c):
    marks = [pytest.mark.slow] if c.slow else []
    return pytest.param(c, id=c.name, marks=marks)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", [_param(c) for c in corpus.CASES])
def test_case(case, tmp_path, monkeypatch, capsys):
    setup = case.build(tmp_path)
    before = {p: _digest(p) for p in setup.protect}
    corpus.apply(setup, monkeypatch)
    capsys.readouterr()
    with contextlib.ExitStack() as stack:
        for make in setup.hold:
            stack.enter_context(make())
        if setup.argv is not None:
            try:
                rc = cli.main(setup.argv)
            except SystemExit as e:  # a usage error (argparse): its message is on stderr
                rc = e.code
        else:
            try:
                setup.call()
                rc = 0
            except BenchError as e:
                print(f"error: {e}")
                rc = 2
    out, err = capsys.readouterr()
    text = out + err
    assert rc == setup.rc, f"exit status {rc}, expected {setup.rc}; output:\n{text}"
    assert "Traceback" not in text and "internal error" not in text, text
    for pattern in setup.messages:
        assert re.search(pattern, text, re.S), f"{pattern!r} not in output:\n{text}"
    if setup.rc == 2:
        assert "Fix:" in text or "to resume" in text, f"no fix given:\n{text}"
    for pattern in setup.absent:
        assert not re.search(pattern, text), f"{pattern!r} should not be in output:\n{text}"
    for path, digest in before.items():
        assert path.exists() and _digest(path) == digest, f"finished work changed: {path}"
    if setup.check:
        setup.check(text)


def test_corpus_is_large_and_classified():
    counts = corpus.counts()
    assert len(corpus.CASES) == sum(counts.values()) >= 90
    assert len({c.name for c in corpus.CASES}) == len(corpus.CASES), "duplicate case names"
    assert set(counts) == {"refused", "handled", "correct"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode; the corpus case "
                                               "unreadable_cache injects the PermissionError instead")
def test_unreadable_cache_real_permissions(tmp_path, capsys):
    setup = corpus.unreadable_cache(tmp_path)
    target = setup.protect[0]
    target.chmod(0)
    try:
        assert cli.main(setup.argv) == 2
    finally:
        target.chmod(0o644)
    err = capsys.readouterr().err
    assert "is unreadable (permission denied)" in err and "delete it" not in err


def test_debug_shows_the_traceback_of_an_input_error(tmp_path):
    with pytest.raises(BenchError, match="no such directory"):
        cli.main(["--debug", "score", "--precomputed", str(tmp_path / "nope")])


def test_a_bug_is_reported_as_internal_error_not_hidden(monkeypatch, capsys, tmp_path):
    from imagenet_bench.commands import score

    def broken(args):
        raise TypeError("unsupported operand")
    monkeypatch.setattr(score, "run", broken)
    assert cli.main(["score", "--precomputed", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert "internal error (TypeError: unsupported operand)" in err and "--debug" in err
    with pytest.raises(TypeError):
        cli.main(["--debug", "score", "--precomputed", str(tmp_path)])
