"""The run settings are declared once (commands/run_settings.py): predict, every verify command
and sweep plan accept each of them with the same spellings, default, choices, type and help, or
the difference is listed with its reason (``run_settings.DIFFERENCES``)."""
from __future__ import annotations

import argparse
import dataclasses
import inspect

import pytest

from imagenet_bench.cli.main import build_parser
from imagenet_bench.commands import run_settings
from imagenet_bench.models import recipe as recipes
from imagenet_bench.run import config

COMMANDS = ("predict", "verify drift", "verify determinism", "verify variants", "sweep plan")
#: the words each command needs besides the settings
REQUIRED = {"predict": ["-m", "torch:resnet18", "VAL"], "verify drift": ["-m", "m", "VAL"],
            "verify determinism": ["-m", "m", "VAL"], "verify variants": ["-m", "m", "VAL"],
            "sweep plan": ["DIR", "--data", "imagenet-val=VAL"]}


def _subparser(parser: argparse.ArgumentParser, words):
    for word in words:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


@pytest.fixture(scope="module")
def parsers():
    root = build_parser()
    return {c: _subparser(root, c.split()) for c in COMMANDS}


def _actions(parser):
    return {a.dest: a for a in parser._actions if a.option_strings}


def _described(action):
    return dict(flags=tuple(action.option_strings), default=action.default, choices=action.choices,
                type=action.type, help=action.help, nargs=action.nargs, const=action.const)


def test_the_settings_are_config_builds_keywords_and_fill_runconfig_fields():
    """The declaration is derived from RunConfig: every keyword of config.build that sets how a
    model runs is one setting, and each lands in a RunConfig field (a recipe option in
    ``overrides``, weights in ``pretrained``/``checkpoint``)."""
    keywords = set(inspect.signature(config.build).parameters) - {"name", "framework", "factory",
                                                                 "seed"}
    assert set(run_settings.SETTINGS) == keywords
    fields = {f.name for f in dataclasses.fields(config.RunConfig)}
    recipe_options = set(inspect.signature(recipes.from_options).parameters) - {"recipe"}
    for name in run_settings.SETTINGS:
        assert name in fields or name in recipe_options or (name == "weights" and "pretrained" in fields), name


def test_every_command_takes_every_setting_alike_or_says_why(parsers, capsys):
    reference = _actions(parsers["predict"])
    report = []
    for command, parser in parsers.items():
        actions = _actions(parser)
        listed = run_settings.DIFFERENCES.get(command, {})
        for name in run_settings.SETTINGS:
            if name in listed:
                assert name not in actions, f"{command} lists {name} as left out but takes it"
                report.append(f"{command:19s} {name:14s} left out: {listed[name]}")
                continue
            mine, theirs = _described(actions[name]), _described(reference[name])
            overrides = {k: v for k, v in listed.items() if k.startswith(name + "=")}
            if overrides:
                (key, why), = overrides.items()
                assert mine.pop("default") == int(key.split("=")[1]) and theirs.pop("default") is None
                report.append(f"{command:19s} {name:14s} default {key.split('=')[1]}: {why}")
            assert mine == theirs, (command, name)
        for key, why in listed.items():
            if " " in key:  # a value the parser accepts and the command refuses
                name, value = key.split(" ")
                assert value in actions[name].choices
                report.append(f"{command:19s} {name:14s} {value} refused: {why}")
    with capsys.disabled():
        print(f"\nrun settings ({len(run_settings.SETTINGS)}: {', '.join(run_settings.SETTINGS)}) "
              f"taken alike by {', '.join(COMMANDS)}, except:\n" + "\n".join(report))
    assert all(k.split("=")[0].split(" ")[0] in run_settings.SETTINGS
               for listed in run_settings.DIFFERENCES.values() for k in listed)


def test_a_setting_parses_to_the_same_value_everywhere(parsers):
    """The same command-line words give the same values in every command that takes them."""
    words = ["--resize", "288", "--crop", "256", "--mean", "0.5", "--interpolation", "bicubic",
             "--img-size", "256", "--crop-pct", "0.9", "--threads", "2", "-b", "4"]
    got = {c: run_settings.build_options(parser.parse_args(
        (["--amp"] if "amp" in _actions(parser) else []) + words + REQUIRED[c]))
        for c, parser in parsers.items()}
    assert got["predict"]["mean"] == [0.5] and got["predict"]["batch_size"] == 4
    assert got["predict"]["amp"] == "auto"
    for command, options in got.items():
        assert options == {k: v for k, v in got["predict"].items() if k in options}, command


@pytest.mark.parametrize("words, message", [
    (["--resize", "0"], "--resize 0: must be at least 1. Fix: pass --resize 1 or more"),
    (["-j", "-1"], "--workers -1: must be at least 0. Fix:"),
    (["-b", "0"], "--batch-size 0: must be at least 1. Fix:"),
])
def test_a_value_below_its_bound_is_refused_the_same_way(parsers, words, message):
    for command in ("predict", "verify variants", "sweep plan"):  # (verify drift: a helper checks)
        parser = parsers[command]
        argv = words + REQUIRED[command]
        with pytest.raises(run_settings.InputError, match=message.replace(".", r"\.")):
            run_settings.check_ranges(parser.parse_args(argv))


def test_sweep_plan_refuses_amp_auto_with_its_fix(tmp_path, capsys):
    from imagenet_bench.cli.main import main
    assert main(["sweep", "plan", str(tmp_path / "sw"), "-m", "torch:resnet18", "--data",
                 f"imagenet-val={tmp_path}", "--amp"]) == 2
    err = capsys.readouterr().err
    assert "--amp auto: a sweep names its jobs' caches when it is planned" in err
    assert "Fix: --amp bf16 or --amp fp16" in err
