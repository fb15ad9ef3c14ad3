"""Every hint true: each command-line option named in the package's messages exists."""
import argparse
import ast
import re
from pathlib import Path

import imagenet_bench
from imagenet_bench.cli import main as cli

PACKAGE = Path(imagenet_bench.__file__).parent
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
#: options of other programs that messages legitimately name (tool -> its options)
FOREIGN = {"--signal",  # sbatch/srun --signal=TERM@60 (SIGTERM before the time limit)
           # Chromium's switches, given by report/browser.py to the headless browser
           "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--hide-scrollbars", "--window-size",
           # sbatch options of the script `imagenet-bench sweep sbatch` prints
           "--job-name", "--requeue", "--array", "--gpus-per-node", "--cpus-per-task", "--mem"}


def all_options(parser: argparse.ArgumentParser) -> set:
    """Every option string of ``parser`` and of its subcommand parsers, recursively."""
    found = set()
    for action in parser._actions:
        found.update(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= all_options(sub)
    return found


def message_strings(tree: ast.AST):
    """(line, text) of every string literal that is not a docstring (f-string parts included)."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def named_options():
    """{option: [file:line, ...]} over the package's string literals."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in message_strings(tree):
            for opt in OPTION.findall(text):
                out.setdefault(opt, []).append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return out


def test_every_option_named_in_a_message_exists():
    have = all_options(cli.build_parser()) | FOREIGN
    named = named_options()
    assert len(named) > 20, "the scan found too few options: is the pattern broken?"
    missing = {opt: where for opt, where in named.items() if opt not in have}
    assert not missing, f"messages name options no command has: {missing}"


def test_scan_finds_a_planted_false_hint(tmp_path):
    tree = ast.parse('def f():\n    """Docstring --ignored."""\n    raise X(f"use --no-such-option {1}")\n')
    texts = [t for _, t in message_strings(tree)]
    assert OPTION.findall(" ".join(texts)) == ["--no-such-option"]
