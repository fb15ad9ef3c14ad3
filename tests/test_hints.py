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
           "--job-name", "--requeue", "--array", "--gpus-per-node", "--cpus-per-task", "--mem",
           # `hf download ORG/NAME --revision REV` (huggingface_hub's CLI), named by the hf library
           "--revision"}


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


# --- the suggested fix, run (issue #18): the message names a fix; doing it works -----------

import os  # noqa: E402
import re as _re  # noqa: E402

import pytest  # noqa: E402


def _cli(capsys, argv):
    capsys.readouterr()
    rc = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


def _a_caches(folder):
    """Two ImageNet-A caches with non-official image names (tests/test_protocol.py)."""
    import set_caches
    import test_protocol
    set_caches.write(folder, [test_protocol._cache(test_protocol.A, 15, 13),
                              test_protocol._cache(test_protocol.B, 14, 11)])
    return folder


def test_robustness_without_a_folder_names_precomputed_and_it_works(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, text = _cli(capsys, ["robustness"])
    assert rc == 2 and "no such directory. Fix: pass the folder holding the .npz caches (--precomputed DIR" in text
    rc, text = _cli(capsys, ["robustness", "--precomputed", _a_caches(tmp_path / "mine")])
    assert rc == 0, text


def test_score_labels_real_on_other_names_suggests_dropping_it_and_that_works(tmp_path, capsys):
    folder = _a_caches(tmp_path / "a")
    rc, text = _cli(capsys, ["score", "--precomputed", folder, "--labels", "real"])
    assert rc == 2 and "leave out --labels real" in text and "--labels original" not in text
    rc, text = _cli(capsys, ["score", "--precomputed", folder])
    assert rc == 0, text


def test_a_v2_layout_given_as_val_suggests_v2_sets_that_read_it(tmp_path):
    from imagenet_bench.data import datasets
    from imagenet_bench.errors import InputError
    from conftest import synthetic_image
    for k in (0, 1):
        (tmp_path / "v2" / str(k)).mkdir(parents=True)
        synthetic_image(k).save(tmp_path / "v2" / str(k) / f"img{k}.jpeg")
    with pytest.raises(InputError) as e:
        datasets.discover(str(tmp_path / "v2"), datasets.DEFAULT)
    named = _re.findall(r"imagenet-v2-[\w.-]*\w", str(e.value))
    assert named and "name the set imagenet-v2-" in str(e.value)
    for name in named:  # each suggested --dataset value exists and reads the folder
        assert datasets.discover(str(tmp_path / "v2"), name).num_images == 2


def test_verify_drift_of_a_torch_model_points_at_determinism_which_takes_it(capsys, tmp_path):
    from imagenet_bench.api import verifying
    rc, text = _cli(capsys, ["verify", "drift", "-m", "torch:resnet18", tmp_path])
    assert rc == 2 and "--framework keras" not in text
    (fix,) = _re.findall(r"`imagenet-bench (verify determinism [^`]+)`", text)
    args = cli.build_parser().parse_args(fix.replace("VAL_DIR", str(tmp_path)).split())
    # what run() does before building the model
    assert verifying._framework(args.check, args.model, args.framework) == "torch"


@pytest.mark.parametrize("bad", ["a:b", "tiny+random", "bad name"])
def test_name_errors_show_a_form_name_takes_and_it_runs(tmp_path, capsys, bad):
    import corpus
    val = corpus.small_valset(tmp_path)
    argv = corpus.predict_argv(val, tmp_path / "out")
    at = argv.index("--name") + 1
    rc, text = _cli(capsys, argv[:at] + [bad] + argv[at + 1:])
    assert rc == 2 and "--framework custom" not in text and "framework:architecture" not in text
    good = _re.search(r"e\.g\. --name (\S+) ", text).group(1)
    rc, text = _cli(capsys, argv[:at] + [good] + argv[at + 1:])
    assert rc == 0 and f"custom:{good}" in text, text


def test_an_unwritable_output_names_the_users_path_not_a_temporary_file(tmp_path, capsys,
                                                                       monkeypatch):
    import tempfile
    folder = _a_caches(tmp_path / "a")
    (tmp_path / "afile").write_text("")
    rc, text = _cli(capsys, ["score", "--precomputed", folder, "-o", tmp_path / "afile" / "x.txt"])
    assert rc == 2 and f"{tmp_path / 'afile' / 'x.txt'}: a file is in the way" in text

    def refuse(*args, dir=None, prefix="", **kwargs):
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}q1w2.tmp"))
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    for argv in (["score", "--precomputed", folder, "-o", tmp_path / "t.csv"],
                 ["robustness", "--precomputed", folder, "-o", tmp_path / "t.csv"]):
        rc, text = _cli(capsys, argv)
        assert rc == 2 and f"{tmp_path / 't.csv'}: Permission denied" in text, text
        assert ".tmp" not in text


@pytest.mark.slow
@pytest.mark.parametrize("weights", [[], ["--weights", "none"]])
def test_a_checkpoint_wrapped_in_state_dict_is_unwrapped_and_recorded(tmp_path, capsys, weights):
    import numpy as np
    import torch
    import torchvision
    import corpus
    from imagenet_bench.cache import store
    torch.manual_seed(1)
    sd = torchvision.models.resnet18().state_dict()
    torch.save(sd, tmp_path / "plain.pth")
    torch.save({"state_dict": sd, "epoch": 3}, tmp_path / "wrapped.pth")
    val = corpus.small_valset(tmp_path)
    caches = {}
    for name in ("plain", "wrapped"):
        rc, text = _cli(capsys, ["predict", "-m", "torch:resnet18", *weights, "--checkpoint",
                                 tmp_path / f"{name}.pth", "-o", tmp_path / name, "--no-progress",
                                 "-j", "0", val])
        assert rc == 0, text
        (path,) = (tmp_path / name).glob("*.npz")
        caches[name] = store.load(str(path))
    assert np.array_equal(caches["plain"].top5_idx, caches["wrapped"].top5_idx)
    assert caches["wrapped"].provenance["checkpoint_unwrapped"] == "state_dict"
    assert "checkpoint_unwrapped" not in caches["plain"].provenance
