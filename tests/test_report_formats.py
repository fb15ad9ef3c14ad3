"""report/formats: one registry of --format values, one module per format; every command offers
the same set under the same names; the tsv format (added as one module, report/formats/tsv.py)."""
import argparse
import csv
import io
import math
import pkgutil

import pytest

from imagenet_bench.cli import main as cli
from imagenet_bench.report import formats, tables
from imagenet_bench.report.cells import Column

COLS = [Column("model", "model"), Column("acc1", "top-1"), Column("likely_reason", "reason")]
ROWS = [{"model": "torch:a", "acc1": 76.130001, "likely_reason": "resize 256,\tcentre crop\n224"},
        {"model": "keras:b", "acc1": float("nan"), "likely_reason": None}]


def test_the_registry_is_what_the_format_modules_declare():
    assert formats.names() == ["text", "csv", "markdown", "json", "tsv"]
    assert [f.name for f in formats.registered().values()] == [m.FORMAT.name for m in formats.MODULES]
    with pytest.raises(ValueError, match="unknown format 'xml'; choose one of text, csv, markdown, json, tsv"):
        tables.render(ROWS, COLS, "xml")


def test_every_module_of_the_package_is_listed_once_in_the_explicit_registry():
    # the registry is an explicit tuple of imports (no discovery); this catches a format module
    # added to report/formats/ without its line in MODULES
    here = {info.name for info in pkgutil.iter_modules(formats.__path__)}
    listed = [m.__name__.rsplit(".", 1)[1] for m in formats.MODULES]
    assert sorted(listed) == sorted(here) and len(set(listed)) == len(listed), (listed, here)


def test_a_format_declared_twice_is_refused(monkeypatch):
    monkeypatch.setattr(formats, "MODULES", formats.MODULES + (formats.MODULES[1],))
    formats.registered.cache_clear()
    try:
        with pytest.raises(TypeError, match="report format 'csv' declared twice"):
            formats.registered()
    finally:
        monkeypatch.undo()
        formats.registered.cache_clear()
    assert formats.names()[-1] == "tsv"


def test_tsv_has_one_field_per_column_and_csvs_numbers():
    text = tables.render(ROWS, COLS, "tsv", title="ignored: tsv has no title")
    lines = text.splitlines()
    assert lines[0] == "model\tacc1\tlikely_reason"
    assert [len(line.split("\t")) for line in lines] == [3, 3, 3]
    assert lines[1] == "torch:a\t76.13\tresize 256, centre crop 224"
    assert lines[2] == "keras:b\t\t"
    as_csv = list(csv.reader(io.StringIO(tables.render(ROWS, COLS, "csv"))))
    assert as_csv[1][1] == lines[1].split("\t")[1]  # the same digits as CSV
    assert math.isnan(ROWS[1]["acc1"])


def _format_choices(parser):
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for path, choices in _format_choices(sub).items():
                    out[f"{name} {path}".strip()] = choices
        elif "--format" in action.option_strings:
            out[""] = tuple(action.choices)
    return out


def test_every_command_offers_the_registrys_formats_under_the_same_names():
    choices = _format_choices(cli.build_parser())
    assert {"score", "compare", "models", "robustness", "errors", "per-class", "verify variants"} \
        <= set(choices), sorted(choices)
    registry = tuple(formats.names())
    assert "sweep status" in choices, sorted(choices)
    # sweep collect adds "timm" (one results CSV per test set, a folder of files, not a table)
    odd = {k: v for k, v in choices.items() if v != registry and v != registry + ("timm",)}
    assert odd == {}, odd


def test_models_lists_in_tsv(capsys):
    assert cli.main(["models", "resnet50*", "--framework", "torch", "--format", "tsv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split("\t")
    assert header[:4] == ["model", "framework", "architecture", "weights"]
    assert any(line.startswith("torch:resnet50.IMAGENET1K_V2\ttorch\tresnet50\tIMAGENET1K_V2\t")
               for line in lines[1:])
    assert all(len(line.split("\t")) == len(header) for line in lines)
