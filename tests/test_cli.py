"""The command line: help for every subcommand, formats, -o, exit codes, the command table of docs/cli.md."""
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_preds, write_caches

from imagenet_bench.cli import main as cli
from imagenet_bench.models import catalog

ROOT = Path(__file__).resolve().parents[1]


def _subcommands():
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_subcommand_has_help_and_is_in_the_command_table(capsys):
    table = (ROOT / "docs" / "cli.md").read_text()
    for name, sub in _subcommands().items():
        assert sub.description or sub.format_help(), name
        with pytest.raises(SystemExit) as e:
            cli.main([name, "--help"])
        assert e.value.code == 0
        assert "usage: imagenet-bench " + name in capsys.readouterr().out
        assert f"| `imagenet-bench {name}" in table, f"docs/cli.md does not list `imagenet-bench {name}`"


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "imagenet_bench", "models", "--framework", "keras",
                          "--format", "csv"], capture_output=True, text=True, check=True).stdout
    assert out.count("\n") == 1 + len(catalog.entries("keras"))
    e = next(e for e in catalog.entries("keras") if e.architecture == "NASNetLarge")
    assert (f"\n{e.model},keras,NASNetLarge,{e.weights},{e.input_size},{e.resize},{e.crop},"
            f"{e.interpolation},,,") in out


def _cache_dir(tmp_path):
    write_caches(tmp_path, [make_preds([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], [1, 2], "resnet50"),
                            make_preds([[1, 0, 0, 0, 0], [2, 0, 0, 0, 0]], [1, 2], "vgg16",
                                       framework="keras")])
    return str(tmp_path)


def test_formats_round_trip(tmp_path, capsys):
    d = _cache_dir(tmp_path)
    assert cli.main(["score", "--precomputed", d, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["framework"], r["model"], float(r["acc1"]), int(r["rank1"])) for r in rows] == \
           [("keras", "keras:VGG16.imagenet", 100.0, 1), ("torch", "torch:resnet50.IMAGENET1K_V1", 50.0, 2)]
    assert float(rows[1]["published_acc1"]) == 76.13
    assert float(rows[1]["delta_acc1"]) == pytest.approx(50 - 76.13)
    assert cli.main(["score", "--precomputed", d, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["model"] == "keras:VGG16.imagenet" and data[1]["acc5"] == 50.0 and data[1]["images"] == 2
    assert cli.main(["score", "--precomputed", d, "--format", "markdown"]) == 0
    md = capsys.readouterr().out.splitlines()
    assert md[2].startswith("| rank@1 | framework |") and md[3].startswith("|---:|---|")
    assert md[4].startswith("| 1 | keras | keras:VGG16.imagenet | 100.00 |")
    assert cli.main(["score", "--precomputed", d]) == 0
    text = capsys.readouterr().out
    assert "keras      keras:VGG16.imagenet" in text and "-26.13" in text


def test_output_file_is_written(tmp_path, capsys):
    d = _cache_dir(tmp_path / "c")
    out = tmp_path / "results.csv"
    assert cli.main(["score", "--precomputed", d, "--format", "csv", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert out.read_text().splitlines()[0].startswith("rank1,framework,model,acc1,acc5")


def test_errors_exit_non_zero_with_message(tmp_path, capsys):
    assert cli.main(["score", "--precomputed", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "imagenet-bench score: error:" in err and "no prediction caches found" in err
    assert cli.main(["import", str(tmp_path)]) == 2
    assert "no keras_imagenet/ or pytorch_imagenet/ folder" in capsys.readouterr().err
    assert cli.main(["models", "nothing*"]) == 2
    assert "no model matches 'nothing*'" in capsys.readouterr().err


def test_output_path_problems_are_errors_not_tracebacks(tmp_path, capsys):
    d = _cache_dir(tmp_path / "c")
    (tmp_path / "folder").mkdir()
    assert cli.main(["score", "--precomputed", d, "-o", str(tmp_path / "folder")]) == 2
    assert "is a directory" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert cli.main(["score", "--precomputed", str(tmp_path / "afile")]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err
    assert cli.main(["score", "--precomputed", d, "-o", str(tmp_path / "afile" / "t.csv")]) == 2
    assert "error:" in capsys.readouterr().err


def test_help_shows_each_default_once(capsys):
    with pytest.raises(SystemExit):
        cli.main(["score", "--help"])
    text = capsys.readouterr().out
    assert "(default: text) (default: text)" not in text and "(default: None)" not in text


def test_every_option_default_is_shown_once_and_only_once(capsys):
    """Each option with a default says it in --help, without repeating it."""
    for name, sub in _subcommands().items():
        text = sub.format_help()
        assert "default: None" not in text, name
        for action in sub._actions:
            if action.default in (None, False, "==SUPPRESS==") or not action.option_strings:
                continue
            helped = sub.formatter_class(prog="x")._expand_help(action)
            assert helped.count("default") == 1, (name, action.option_strings, helped)


def test_singular_titles_and_rounded_json(tmp_path, capsys):
    write_caches(tmp_path, [make_preds([[1, 0, 0, 0, 0]] * 3, [1, 1, 2], "resnet50")])
    assert cli.main(["score", "--precomputed", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("1 model ranked by top-1 on 3 images")
    assert cli.main(["score", "--precomputed", str(tmp_path), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert row["acc1"] == 66.6667 and row["delta_acc1"] == -9.46333  # 6 significant digits


def test_os_errors_have_one_colon(tmp_path, capsys, monkeypatch):
    from imagenet_bench.commands import score

    def no_space(args):
        raise OSError("No space left on device")

    monkeypatch.setattr(score, "run", no_space)
    assert cli.main(["score", "--precomputed", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: No space left on device. Fix:" in err and "::" not in err
