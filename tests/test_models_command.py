"""``imagenet-bench models``: columns, formats and filters, checked against the catalog."""
import csv
import fnmatch
import io
import json

import pytest

from imagenet_bench.cli import main as cli
from imagenet_bench.commands import models as models_cmd
from imagenet_bench.models import catalog

HEAD = ("model,framework,architecture,weights,input_size,resize,crop,interpolation,mean,std,"
        "published_top1,published_top5,params,source")


def _csv(capsys, *args):
    assert cli.main(["models", "--format", "csv", *args]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_csv_lists_every_entry_with_the_issue_columns_first(capsys):
    rows = _csv(capsys)
    assert list(rows[0])[:14] == HEAD.split(",")
    assert list(rows[0]) == list(models_cmd.CSV_KEYS)
    assert [r["model"] for r in rows] == [e.model for e in catalog.entries()]
    for r, e in zip(rows, catalog.entries()):
        assert (r["framework"], r["architecture"], r["weights"]) == (e.framework, e.architecture,
                                                                     e.weights)
        assert int(r["input_size"]) == e.input_size and int(r["crop"]) == e.crop
        assert r["resize"] == ("" if e.resize is None else str(e.resize))
        if e.mean is None:
            assert r["mean"] == r["std"] == ""
        else:
            assert tuple(float(v) for v in r["mean"].split()) == e.mean
            assert tuple(float(v) for v in r["std"].split()) == e.std
        top1 = None if r["published_top1"] == "" else float(r["published_top1"])
        assert top1 == e.published_top1 and r["source"] == (e.source or "")
        assert r["runnable"] == ("yes" if e.runnable else "no")


def test_json_carries_every_field(capsys):
    assert cli.main(["models", "--format", "json", "--framework", "keras"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = catalog.entries("keras")
    assert len(data) == len(expected)
    for d, e in zip(data, expected):
        assert list(d) == list(catalog.KEYS)
        assert catalog.validate(d, "json output") == e


def test_pattern_is_case_insensitive_over_ids_architectures_and_aliases(capsys):
    for pattern in ("resnet50", "RESNET50*", "*_Weights.IMAGENET1K_V2", "keras:*v2*"):
        want = [e.model for e in catalog.entries()
                if any(fnmatch.fnmatchcase(n.lower(), pattern.lower())
                       for n in (e.model, e.architecture) + e.aliases)]
        assert want, pattern
        assert [r["model"] for r in _csv(capsys, pattern)] == want, pattern
    got = {r["model"] for r in _csv(capsys, "resnet50")}
    assert {"torch:resnet50.IMAGENET1K_V1", "keras:ResNet50.imagenet"} <= got
    assert [r["model"] for r in _csv(capsys, "ResNet50_Weights.IMAGENET1K_V2")] == \
           ["torch:resnet50.IMAGENET1K_V2"]


def test_framework_filter(capsys):
    rows = _csv(capsys, "--framework", "torch", "*vgg16*")
    assert rows and {r["framework"] for r in rows} == {"torch"}
    assert len(rows) == len([e for e in catalog.entries("torch")
                             if fnmatch.fnmatch(e.model.lower(), "*vgg16*")
                             or any("vgg16" in a.lower() for a in e.aliases)])


def test_table_shows_the_readable_columns_and_the_not_runnable_reason(capsys):
    assert cli.main(["models", "vgg16*", "--framework", "torch"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    n = len(catalog.match("vgg16*", "torch"))
    assert lines[0] == f"{n} models" and lines[2].split()[:3] == ["model", "input", "resize"]
    feat = next(line for line in lines if line.startswith("torch:vgg16.IMAGENET1K_FEATURES"))
    assert "not runnable:" in feat and "256->224" in feat


def test_no_match_is_an_input_error_that_says_how_to_list(capsys):
    assert cli.main(["models", "resnet5O"]) == 2
    err = capsys.readouterr().err
    assert "no model matches 'resnet5O'" in err and "`imagenet-bench models`" in err
    assert cli.main(["models", "--framework", "keras", "alexnet"]) == 2
    assert "in framework 'keras'" in capsys.readouterr().err


def test_bad_format_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["models", "--format", "xml"])
    assert e.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err


def test_models_help_describes_each_library_from_its_declaration(capsys, monkeypatch):
    from imagenet_bench.models import libraries
    monkeypatch.setenv("COLUMNS", "4000")
    with pytest.raises(SystemExit):
        cli.main(["models", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for lib in libraries.libraries():
        assert f"{lib.name}: {' '.join(lib.description.split())}" in out, lib.name

