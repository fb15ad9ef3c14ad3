"""One name works everywhere (issue #18 item 2): every id a command prints goes through every
command's name resolution and comes back as the same model.

The printed ids come from ``models --format csv`` (the catalog), from ``predict``'s own
output line of a few tiny runs, and from ``score``'s table of their caches. The resolvers
are those the commands call: ``models NAME`` (:func:`api.catalog.named`), ``predict``
(:func:`run.config.build`), the selectors of ``compare``/``per-class``
(:func:`analysis.compare.find_model`) and ``robustness`` (:func:`analysis.robustness.resolve`),
and ``verify`` (its framework rule, then ``registry.get_model``). No model is run except
the tiny ones.
"""
from __future__ import annotations

import csv
import io
import re
from types import SimpleNamespace

import pytest

from imagenet_bench.api import verifying

import corpus
from imagenet_bench.analysis import compare, robustness
from imagenet_bench.cli import main as cli
from imagenet_bench.commands import models as models_command
from imagenet_bench.commands import verify
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.models import registry
from imagenet_bench.models.identity import CUSTOM, from_string
from imagenet_bench.run import config as run_config

#: settings a name may carry that predict turns back into options itself
NAMABLE = {"random", "legacy2019", "bf16", "fp16"}


def _out(capsys, argv):
    capsys.readouterr()
    rc = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out.out, out.err


def _catalog_ids(capsys):
    out, _ = _out(capsys, ["models", "--format", "csv"])
    return [r["model"] for r in csv.DictReader(io.StringIO(out))]


def _fake(name, fingerprint="f" * 64):
    """What the selectors read of a cache: its id, parsed id and fingerprint."""
    return SimpleNamespace(qualname=name, model_id=from_string(name), fingerprint=fingerprint,
                           where=lambda: name)


def _check_selectors(name, others=()):
    """compare/per-class and robustness find ``name`` among caches of it and ``others``."""
    preds = [_fake(name)] + [_fake(o) for o in others if o != name]
    assert compare.find_model(preds, name).qualname == name
    assert robustness.resolve(preds, name, sorted(p.qualname for p in preds)) == name


def _check_verify(name):
    """verify takes the name; a library that does not offer the check is refused for that,
    naming the model as given (never as an unknown name)."""
    args = cli.build_parser().parse_args(["verify", "determinism", "-m", name, "VAL"])
    if from_string(name).framework not in verify.offering("determinism"):
        with pytest.raises(InputError, match=f"-m {re.escape(name)}: the .* does not offer"):
            verifying._framework(args.check, args.model, args.framework)
        return
    framework = verifying._framework(args.check, args.model, args.framework)
    assert str(registry.get_model(name, framework).id) == str(from_string(name).base)


def test_every_catalog_id_resolves_to_its_own_entry_in_every_command(capsys):
    ids = _catalog_ids(capsys)
    assert len(ids) > 1000
    for name in ids:
        mid, entry = registry.resolve(name)  # predict's lookup (run.config.build calls it)
        assert (str(mid), entry.model) == (name, name)
    for name in ids[::40] + ["torch:resnet18.IMAGENET1K_V1", "keras:ResNet50.imagenet"]:
        assert models_command.named(name)[0][0].model == name
        _check_selectors(name, others=ids[:3])
        _check_verify(name)


@pytest.mark.parametrize("short, canonical", [("torch:resnet18", "torch:resnet18.IMAGENET1K_V1"),
                                              ("keras:ResNet50", "keras:ResNet50.imagenet"),
                                              ("ResNet50_Weights.IMAGENET1K_V2",
                                               "torch:resnet50.IMAGENET1K_V2")])
def test_models_lists_the_entry_of_a_short_name_or_alias(capsys, short, canonical):
    out, _ = _out(capsys, ["models", short, "--format", "csv"])
    assert [r["model"] for r in csv.DictReader(io.StringIO(out))][0] == canonical


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The ids ``predict`` printed for tiny runs and ``score`` listed for their caches."""
    root = tmp_path_factory.mktemp("names")
    val = corpus.small_valset(root)
    out = root / "runs"
    said = []
    for extra in ([], ["--interpolation", "bicubic"]):
        import contextlib
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert cli.main(corpus.predict_argv(val, out, *extra)) == 0
        said += re.findall(r"^(\S+): acc@1", buf.getvalue(), re.M)
    buf = io.StringIO()
    import contextlib
    with contextlib.redirect_stdout(buf):
        assert cli.main(["score", "--precomputed", str(out), "--format", "csv"]) == 0
    scored = [r["model"] for r in csv.DictReader(io.StringIO(buf.getvalue()))]
    return said, scored


def test_predict_and_score_print_the_same_ids_and_the_selectors_take_them(printed):
    said, scored = printed
    assert len(said) == 2 and sorted(said) == sorted(scored)
    assert any("+recipe-" in s for s in said)
    for name in said:
        _check_selectors(name, others=said)


@pytest.mark.parametrize("name", ["torch:resnet18.IMAGENET1K_V1+random",
                                  "torch:resnet18.IMAGENET1K_V1+bf16+random",
                                  "keras:ResNet50.imagenet+legacy2019",
                                  "timm:resnet18.a1_in1k+fp16"])
def test_a_run_id_with_settings_works_in_every_command(capsys, name):
    cfg = run_config.build(name)  # what predict runs
    assert str(cfg.model_id) == name
    found, notes = models_command.named(name)
    assert found[0].model == str(from_string(name).base)
    assert "is a run setting" in notes[0]
    _check_selectors(name, others=["torch:resnet50.IMAGENET1K_V1"])
    _check_verify(name)


def test_per_class_and_robustness_agree_on_a_base_name_of_a_random_run():
    preds = [_fake("torch:resnet18.IMAGENET1K_V1+random"), _fake("torch:resnet50.IMAGENET1K_V1")]
    for name in ("torch:resnet18", "resnet18", "torch:resnet18.IMAGENET1K_V1"):
        assert compare.find_model(preds, name).qualname == preds[0].qualname
        assert robustness.resolve(preds, name, []) == preds[0].qualname


@pytest.mark.parametrize("setting, words", [("recipe-1234abcd", "--resize 256 --crop 224"),
                                            ("ckpt-1234abcd", "--checkpoint FILE")])
def test_predict_refuses_a_hash_setting_naming_the_options_instead(setting, words):
    with pytest.raises(InputError, match=re.escape(words)):
        run_config.build(f"torch:resnet18.IMAGENET1K_V1+{setting}")


def test_a_custom_id_is_refused_by_predict_with_the_factory_options(printed):
    said, _ = printed
    for name in said:
        assert name.startswith(f"{CUSTOM}:")
        with pytest.raises(BenchError, match=r"--model-factory MODULE:CALLABLE --name tiny"):
            registry.resolve(name)


# --- the ids of a checkpoint series, a sweep and a report --------------------------------------

def _run_quiet(argv):
    import contextlib
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def series_run(tmp_path_factory):
    """A training run of the tiny model: epoch_1, epoch_2 and model_best (a byte copy of
    epoch_2), predicted as a series; (caches folder, predict's stderr)."""
    torch = pytest.importorskip("torch")
    import shutil
    root = tmp_path_factory.mktemp("series")
    val = corpus.small_valset(root)
    run = root / "run"
    run.mkdir()
    for epoch in (1, 2):
        torch.manual_seed(epoch)
        torch.save(corpus.tiny_model().state_dict(), run / f"epoch_{epoch}.pt")
    shutil.copy(run / "epoch_2.pt", run / "model_best.pt")
    out = root / "runs"
    rc, _, err = _run_quiet(corpus.predict_argv(val, out, "--checkpoint", str(run)))
    assert rc == 0, err
    return out, err


@pytest.mark.slow
def test_a_byte_copy_in_a_checkpoint_series_is_named_and_evaluated_once(series_run):
    out, err = series_run
    assert "model_best.pt has the same bytes as epoch_2.pt" in err
    assert "series: 2 of 2 distinct checkpoints evaluated" in err
    assert "1 identical to another file, not evaluated again: model_best.pt = epoch_2.pt" in err
    rc, table, _ = _run_quiet(["score", "--precomputed", out, "--checkpoint-series", "--format", "csv"])
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["checkpoint"] for r in rows] == ["epoch_1.pt", "epoch_2.pt (= model_best.pt)"]


@pytest.mark.slow
def test_the_ids_score_checkpoint_series_prints_are_taken_by_every_command(series_run):
    out, _ = series_run
    rc, table, _ = _run_quiet(["score", "--precomputed", out, "--checkpoint-series", "--format", "csv"])
    ids = [r["model"] for r in csv.DictReader(io.StringIO(table))]
    assert len(ids) == 2 and all("+ckpt-" in i for i in ids)
    for name in ids:
        _check_selectors(name, others=ids)
        rc, text, err = _run_quiet(["per-class", "--precomputed", out, name, "--format", "csv"])
        assert rc == 0, err


def test_the_ids_sweep_status_collect_and_report_print_are_taken_by_every_command(tmp_path):
    import json

    from conftest import make_valset
    from imagenet_bench.report import html_data
    from imagenet_bench.sweep import plan as plans
    from sweep_helpers import fake_cache
    val = make_valset(tmp_path / "val", num_classes=2, per_class=2)
    folder = tmp_path / "sw"
    rc, _, err = _run_quiet(["sweep", "plan", folder, "torch:squeezenet1_1", "torch:alexnet",
                             "--data", f"imagenet-val={val}"])
    assert rc == 0, err
    plan = plans.read(str(folder))
    for job in plan["jobs"]:
        fake_cache(plan, job)
    rc, status, _ = _run_quiet(["sweep", "status", folder, "--jobs", "--format", "json"])
    rc2, collected, _ = _run_quiet(["sweep", "collect", folder, "--format", "json"])
    assert rc == rc2 == 0
    doc = html_data.build([str(folder / "caches")])
    printed = {"status": [r["model"] for r in json.loads(status)],
               "collect": [r["model"] for r in json.loads(collected)],
               "report": [r["model"] for r in doc.rows]}
    assert all(sorted(v) == sorted(printed["status"]) for v in printed.values()), printed
    for name in printed["status"]:
        mid, entry = registry.resolve(name)  # what predict and `sweep plan` resolve
        assert entry.model == name and str(mid) == name
        assert models_command.named(name)[0][0].model == name
        _check_selectors(name, others=printed["status"])
        _check_verify(name)
