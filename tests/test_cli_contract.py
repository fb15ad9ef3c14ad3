"""The command line's contract: one exit-status table that every command follows, and old
spellings that still work, each printing one line on standard error that names the new one."""
from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from conftest import make_valset
from imagenet_bench.cli import main as cli
from imagenet_bench.commands import _common
from imagenet_bench.commands import score as score_cmd
from imagenet_bench.api import verifying
from imagenet_bench.run import signals
from imagenet_bench.run.backend import Backend

INPUT_ERROR, INTERNAL, DIFFERENCE, INCONCLUSIVE = 2, 3, 1, 4


@pytest.fixture(scope="module")
def valset(tmp_path_factory):
    return make_valset(tmp_path_factory.mktemp("val"), num_classes=2, per_class=2)


def _error_paths(tmp, valset):
    """(argv, what the message must name) of one user error of every command."""
    missing = str(tmp / "missing")
    a_file = tmp / "a_file"
    a_file.write_text("x")
    return {
        "score": (["score", "--precomputed", missing], "no such directory"),
        "models": (["models", "nosuchmodel*"], "no model matches"),
        "import": (["import", str(tmp)], "no keras_imagenet/ or pytorch_imagenet/ folder"),
        "compare": (["compare", "--confidence", "2"], "--confidence 2.0"),
        "errors": (["errors", "--limit", "0"], "--limit 0"),
        "per-class": (["per-class", "x", "--confidence", "2"], "--confidence 2.0"),
        "robustness": (["robustness", "--precomputed", missing], "no such directory"),
        "report": (["report", "--precomputed", missing, "-o", str(tmp / "r.html")], "missing"),
        "predict": (["predict", "-m", "torch:resnet18", "-b", "0", str(valset)], "--batch-size 0"),
        "prepare-val": (["prepare-val", str(valset), str(tmp / "dst")], "already holds wnid folders"),
        "demo": (["demo", "--cache-dir", str(a_file)], "a_file"),
        "verify drift": (["verify", "drift", "-m", "keras:ResNet50", "--n", "0", str(valset)],
                         "--n 0"),
        "verify determinism": (["verify", "determinism", "-m", "torch:resnet18", "--resize", "0",
                                str(valset)], "--resize 0"),
        "verify variants": (["verify", "variants", "-m", "torch:resnet18", "--variants", "int4",
                             str(valset)], "int4"),
        "sweep plan": (["sweep", "plan", str(tmp / "sw"), "--data", f"imagenet-val={valset}"],
                       "no model"),
        "sweep status": (["sweep", "status", missing], "missing"),
    }


def test_every_command_exits_2_on_a_user_error_with_its_fix(tmp_path, valset, capsys):
    paths = _error_paths(tmp_path, valset)
    words = {w for argv, _ in paths.values() for w in argv[:1]}
    assert words == set(cli.COMMANDS)  # every command's error path is run
    for command, (argv, named) in paths.items():
        assert cli.main(argv) == INPUT_ERROR, command
        err = capsys.readouterr().err
        assert named in err and "Fix:" in err and "Traceback" not in err, (command, err)
    assert _common.EXIT_CODES[INPUT_ERROR].startswith("usage or input error")


class _Backend(Backend):
    """The in-process backend `verify` would build, with outputs chosen by the test."""

    batch_size = 2

    class config:
        model_id = "torch:resnet18.IMAGENET1K_V1+random"

    def __init__(self, outputs):
        self.outputs, self.calls, self.index = outputs, 0, {}

    def provenance(self):
        return {}

    def preprocess(self, path):  # each image: pixels holding its own number
        return np.full((4, 4, 3), self.index.setdefault(path, len(self.index)), np.uint8)

    def predict(self, pxs):
        self.calls += 1
        return np.stack([self.outputs(px, self.calls) for px in pxs])


@pytest.mark.parametrize("outputs, code", [
    (lambda px, call: np.eye(1000, dtype=np.float32)[int(px.flat[0]) % 7], 0),  # no difference
    (lambda px, call: np.eye(1000, dtype=np.float32)[(int(px.flat[0]) + call) % 7], DIFFERENCE),
    (lambda px, call: np.full(1000, 0.001, np.float32), INCONCLUSIVE),  # uniform: cannot tell
])
def test_verify_exits_with_the_tables_status_for_each_outcome(valset, monkeypatch, capsys,
                                                               outputs, code):
    monkeypatch.setattr(verifying, "_backend", lambda *args: _Backend(outputs))
    rc = cli.main(["verify", "determinism", "--framework", "torch", "-m", "resnet18",
                   "--weights", "none", str(valset), "--n", "4", "-b", "2"])
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert rc == code and code in _common.EXIT_CODES
    assert last == {0: "OK", DIFFERENCE: "FAILED"}.get(code, last)
    assert code != INCONCLUSIVE or last.startswith("inconclusive:")


@pytest.mark.parametrize("raised, code", [(RuntimeError("boom"), INTERNAL),
                                          (KeyboardInterrupt(), signals.EXIT_INTERRUPTED),
                                          (signals.Terminated(), signals.EXIT_TERMINATED)])
def test_a_bug_and_the_signals_exit_with_the_tables_status(monkeypatch, capsys, raised, code):
    def run(args):
        raise raised
    monkeypatch.setattr(score_cmd, "run", run)
    assert cli.main(["score"]) == code and code in _common.EXIT_CODES
    err = capsys.readouterr().err
    assert ("internal error" in err and "rerun as `imagenet-bench --debug score ...`" in err) \
        if code == INTERNAL else "kept" in err


@pytest.mark.parametrize("argv, option, command", [
    (["sweep", "plan", "SW", "-m", "torch:resnet18", "--data", "imagenet-val=V", "--checkpoint",
      "x.pth"], "--checkpoint", "sweep plan"),
    (["verify", "drift", "-m", "torch:resnet18", "V", "--workers", "2"], "--workers", "verify drift"),
    (["verify", "determinism", "-m", "torch:resnet18", "V", "--device", "cpu"], "--device",
     "verify determinism")])
def test_a_run_setting_a_command_leaves_out_is_refused_with_the_reason(capsys, argv, option,
                                                                        command):
    from imagenet_bench.commands import run_settings
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    reason = run_settings.DIFFERENCES[command][option.lstrip("-")]
    assert e.value.code == INPUT_ERROR
    assert f"{option} is not taken by {command}: {reason}. Fix: leave {option} out" in \
        capsys.readouterr().err


def test_an_abbreviated_option_is_refused_not_read_as_another(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["score", "--pub"])  # argparse alone would read it as --published
    assert e.value.code == INPUT_ERROR
    assert "unrecognized arguments: --pub" in capsys.readouterr().err


def test_the_table_is_in_the_help_and_in_docs_cli(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    with open(_docs_cli(), encoding="utf-8") as f:
        docs = f.read()
    for code, meaning in _common.EXIT_CODES.items():
        assert f"{code:<4d}{meaning}" in out
        assert f"| {code} | {meaning} |" in docs


def _docs_cli():
    import os
    return os.path.join(os.path.dirname(__file__), "..", "docs", "cli.md")


#: (command words, old spelling, new spelling, dest, the note's "use ..." part) of every
#: deprecated spelling
DEPRECATED = [
    (["predict", "-m", "m", "V"], ["-o", "D"], ["--cache-dir", "D"], "out", "--cache-dir"),
    (["predict", "-m", "m", "V"], ["--out", "D"], ["--cache-dir", "D"], "out", "--cache-dir"),
    (["import", "S"], ["-o", "D"], ["--cache-dir", "D"], "output", "--cache-dir"),
    (["import", "S"], ["--output", "D"], ["--cache-dir", "D"], "output", "--cache-dir"),
    (["sweep", "plan", "S", "--data", "imagenet-val=V"], ["--caches", "D"], ["--cache-dir", "D"],
     "caches", "--cache-dir"),
    (["demo"], ["--dir", "D"], ["--cache-dir", "D"], "dir", "--cache-dir"),
    (["sweep", "plan", "S"], ["torch:a", "torch:b", "--data", "imagenet-val=V"],
     ["-m", "torch:a", "-m", "torch:b", "--data", "imagenet-val=V"], "models", "-m MODEL"),
    (["predict", "-m", "m"], ["--dataset", "imagenet-a", "V"], ["imagenet-a=V"], "dataset",
     "NAME=DIR"),
    (["sweep", "run", "S"], ["-j", "3"], ["--parallel", "3"], "parallel", "--parallel"),
    (["errors"], ["--show-real"], ["--labels", "real"], "labels", "--labels real"),
    (["score"], ["--unmasked"], ["--protocol", "unmasked"], "protocol", "--protocol unmasked"),
]


def _parse(argv):
    parser = cli.build_parser(only=argv[0])
    return parser.parse_args(argv)


@pytest.mark.parametrize("base, old, new, dest, note", DEPRECATED,
                         ids=[f"{b[0]} {o[0]}" for b, o, _, _, _ in DEPRECATED])
def test_an_old_spelling_works_and_names_the_new_one_on_stderr(capsys, base, old, new, dest, note):
    want = _parse(base + new)
    assert capsys.readouterr().err == ""
    got = _parse(base + old)
    lines = capsys.readouterr().err.splitlines()
    assert getattr(got, dest) == getattr(want, dest)
    assert {k: v for k, v in vars(got).items() if k != "old_models"} == {
        k: v for k, v in vars(want).items() if k != "old_models"}
    command = " ".join(base[:2]) if base[0] == "sweep" else base[0]
    assert lines == [f"imagenet-bench {command}: note: {' '.join(old[:2]) if dest == 'models' else old[0]} "
                     f"is deprecated; use {note}"]


def test_the_note_never_enters_a_table(capsys):
    """A deprecated spelling on a command that prints a table: the table on stdout is the same
    as with the new spelling; the note is on stderr only."""
    assert cli.main(["score", "--unmasked", "--format", "csv"]) == 0
    old = capsys.readouterr()
    assert cli.main(["score", "--protocol", "unmasked", "--format", "csv"]) == 0
    new = capsys.readouterr()
    assert old.out == new.out and "deprecated" not in old.out
    rows = list(csv.DictReader(io.StringIO(old.out)))
    assert len(rows) == 34 and "deprecated" in old.err and "deprecated" not in new.err


def test_hidden_old_spellings_are_not_in_the_help(capsys):
    for words, old in ((["predict"], "--out"), (["sweep", "run"], "-j N"),
                       (["errors"], "--show-real"), (["score"], "--unmasked")):
        with pytest.raises(SystemExit):
            cli.main(words + ["--help"])
        assert old not in capsys.readouterr().out


def test_collecting_corruptions_of_a_sweep_that_has_not_run_says_to_run_it(tmp_path, valset,
                                                                           capsys):
    sw = str(tmp_path / "sw")
    assert cli.main(["sweep", "plan", sw, "-m", "torch:resnet18", "--data",
                     f"imagenet-val={valset}"]) == 0
    capsys.readouterr()
    assert cli.main(["sweep", "collect", sw, "--corruptions", "summary"]) == INPUT_ERROR
    assert (f"no job of this sweep has run yet ({sw}/caches does not exist). Fix: imagenet-bench "
            f"sweep run {sw}") in capsys.readouterr().err
