"""``predict --checkpoint DIR`` / ``--checkpoints GLOB`` and ``score --checkpoint-series`` (issue #23, item 3).

The test writes a training run's folder: three checkpoints of the tiny model of
tests/corpus.py (epoch_1 and epoch_10 random, epoch_2 made to predict the first class, so it
is the best), plus a notes file and an optimizer state that are not loadable state dicts.
"""
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import make_valset
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli
from imagenet_bench.errors import InputError
from imagenet_bench.run import series

torch = pytest.importorskip("torch")
import corpus  # noqa: E402

TESTS = Path(__file__).resolve().parent


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _training_run(folder, classes, factory=corpus.tiny_model):
    """epoch_1, epoch_2, epoch_10 (+ notes.txt, optimizer.pt); epoch_2 predicts class 0."""
    folder.mkdir(parents=True)
    for epoch, seed in ((10, 3), (1, 1), (2, 2)):
        torch.manual_seed(seed)
        model = factory()
        sd = model.state_dict()
        if epoch == 2:
            bias = [k for k in sd if k.endswith("bias")][-1]
            sd[bias] = torch.zeros_like(sd[bias])
            sd[bias][classes[0]] = 50.0
        torch.save(sd, folder / f"epoch_{epoch}.pt")
    (folder / "notes.txt").write_text("lr 0.1, 10 epochs\n")
    torch.save({"step": 10, "exp_avg": torch.zeros(4)}, folder / "optimizer.pt")
    (folder / ".hidden").write_text("not a checkpoint")
    return folder


def _argv(val, out, *extra, factory="corpus:tiny_model"):
    return ["predict", "--model-factory", factory, "--name", "tiny", "--resize", "32", "--crop", "32",
            "-b", "2", "-j", "0", "--no-progress", "--checkpoint-every", "2", "-o", str(out), *extra,
            str(val)]


# --- discovery ---------------------------------------------------------------------------------

def test_natural_order_puts_epoch_2_before_epoch_10():
    names = ["epoch_10.pt", "epoch_2.pt", "epoch_1.pt", "Epoch_3.pt", "final.pt", "epoch_2b.pt"]
    assert sorted(names, key=series.natural_key) == [
        "epoch_1.pt", "epoch_2.pt", "epoch_2b.pt", "Epoch_3.pt", "epoch_10.pt", "final.pt"]


def test_discover_a_folder_and_a_pattern(tmp_path):
    run = tmp_path / "run"
    (run / "sub").mkdir(parents=True)
    for name in ("epoch_10.pth", "epoch_9.pth", ".lock", "sub/epoch_1.pth"):
        (run / name).write_bytes(b"x")
    source, base, files = series.discover(str(run))
    assert source == str(run) and [os.path.basename(f) for f in files] == ["epoch_9.pth", "epoch_10.pth"]
    source, base, files = series.discover(pattern=str(run / "**" / "epoch_*.pth"))
    assert [os.path.relpath(f, base) for f in files] == ["epoch_9.pth", "epoch_10.pth",
                                                         os.path.join("sub", "epoch_1.pth")]


def test_empty_folder_no_match_and_both_options_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="--checkpoint .*empty: the folder holds no file. Fix:"):
        series.discover(str(tmp_path / "empty"))
    with pytest.raises(InputError, match=r"--checkpoints .*epoch_\*\.pt: no file matches"):
        series.discover(pattern=str(tmp_path / "epoch_*.pt"))
    with pytest.raises(InputError, match="give one"):
        series.discover(str(tmp_path / "empty"), str(tmp_path / "*.pt"))


def test_a_series_takes_one_model(tmp_path, capsys):
    run = _training_run(tmp_path / "run", [0])
    val = make_valset(tmp_path / "val", num_classes=1, per_class=2)
    assert cli.main(["predict", "-m", "torch:resnet18,torch:alexnet", "--checkpoint", str(run),
                     str(val)]) == 2
    assert "a series is one architecture's checkpoints; 2 models were given" in capsys.readouterr().err


# --- a series end to end -------------------------------------------------------------------------

def test_folder_evaluated_in_order_skipping_unloadable_files_then_scored_as_a_series(tmp_path, capsys):
    val = make_valset(tmp_path / "val", num_classes=3, per_class=2)
    from imagenet_bench.data import datasets
    labels = sorted(set(datasets.discover(str(val)).labels.tolist()))
    run = _training_run(tmp_path / "run", labels)
    out = tmp_path / "out"
    assert cli.main(_argv(val, out, "--checkpoint", str(run))) == 0
    err = capsys.readouterr().err
    order = [ln.split(": ", 1)[1] for ln in err.splitlines() if ln.startswith("checkpoint ")]
    assert order == ["epoch_1.pt", "epoch_2.pt", "epoch_10.pt", "notes.txt", "optimizer.pt"]
    assert f"skipped {run / 'notes.txt'}: not a loadable state dict of custom:tiny" in err
    assert f"skipped {run / 'optimizer.pt'}: not a loadable state dict of custom:tiny" in err
    assert ("series: 3 of 5 checkpoints evaluated (" + str(run) + "); 2 skipped, not loadable "
            "state dicts: notes.txt, optimizer.pt") in err
    caches = {cache.load(p).provenance["checkpoint_series"]["name"]: cache.load(p)
              for p in cache.find_caches(str(out))}
    assert sorted(caches) == ["epoch_1.pt", "epoch_10.pt", "epoch_2.pt"]
    for position, name in enumerate(["epoch_1.pt", "epoch_2.pt", "epoch_10.pt"], 1):
        rec = caches[name].provenance["checkpoint_series"]
        assert rec == {"source": str(run), "file": str(run / name), "name": name,
                       "sha256": _sha(run / name), "position": position}
        assert caches[name].qualname.startswith(f"custom:tiny+ckpt-{_sha(run / name)[:8]}+recipe-")
    top1 = {n: 100.0 * np.mean(p.top5_idx[:, 0] == p.labels) for n, p in caches.items()}
    assert top1["epoch_2.pt"] == pytest.approx(100 / 3) and top1["epoch_2.pt"] > max(
        top1["epoch_1.pt"], top1["epoch_10.pt"])

    assert cli.main(["score", "--precomputed", str(out), "--checkpoint-series",
                     "--format", "csv"]) == 0
    table = capsys.readouterr().out
    lines = [ln.split(",") for ln in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    col = {h: i for i, h in enumerate(header)}
    assert [r[col["checkpoint"]] for r in rows] == ["epoch_1.pt", "epoch_2.pt", "epoch_10.pt"]
    assert [r[col["position"]] for r in rows] == ["1", "2", "3"]
    assert [r[col["best"]] for r in rows] == ["", "*", ""]
    assert float(rows[1][col["acc1"]]) == pytest.approx(top1["epoch_2.pt"])
    assert float(rows[1][col["delta_best"]]) == 0.0 and float(rows[0][col["delta_best"]]) < 0
    assert [r[col["sha8"]] for r in rows] == [_sha(run / n)[:8] for n in ("epoch_1.pt", "epoch_2.pt",
                                                                         "epoch_10.pt")]

    # resumable across checkpoints: the finished ones are reused, a missing one recomputed
    os.remove(next(p for p in cache.find_caches(str(out)) if "epoch_10" in str(
        cache.load(p).provenance["checkpoint_series"]["name"])))
    assert cli.main(_argv(val, out, "--checkpoints", str(run / "epoch_*.pt"))) == 0
    err = capsys.readouterr().err
    assert err.count("already holds this model's complete predictions; not recomputed") == 2
    assert "series: 3 of 3 checkpoints evaluated" in err
    records = sorted((cache.load(p).provenance["checkpoint_series"] for p in cache.find_caches(str(out))),
                     key=lambda r: r["position"])
    assert [(r["source"], r["name"], r["position"]) for r in records] == [
        (str(run / "epoch_*.pt"), n, i) for i, n in enumerate(["epoch_1.pt", "epoch_2.pt", "epoch_10.pt"], 1)]


def test_a_folder_of_nothing_loadable_exits_2_naming_every_file(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "a.txt").write_text("x")
    (run / "b.bin").write_bytes(b"\x00" * 10)
    val = make_valset(tmp_path / "val", num_classes=1, per_class=2)
    assert cli.main(_argv(val, tmp_path / "out", "--checkpoint", str(run))) == 2
    err = capsys.readouterr().err
    assert "series: 0 of 2 checkpoints evaluated" in err and "2 skipped" in err
    assert "a.txt, b.bin" in err and not cache.find_caches(str(tmp_path / "out"))


def test_score_checkpoint_series_without_a_series_says_how_to_make_one(tmp_path, capsys):
    from conftest import make_preds, write_caches
    write_caches(tmp_path / "c", [make_preds([[0, 1, 2, 3, 4]], [0], model="torch:resnet18")])
    assert cli.main(["score", "--precomputed", str(tmp_path / "c"), "--checkpoint-series"]) == 2
    assert "no cache belongs to a checkpoint series. Fix: make one with `imagenet-bench predict " \
        "--model M --checkpoint DIR VAL_DIR`" in capsys.readouterr().err


@pytest.mark.slow
def test_series_stopped_by_sigterm_in_its_second_checkpoint_resumes_there(tmp_path):
    """A real process: SIGTERM during checkpoint 2; the rerun reuses 1, resumes 2, runs 3."""
    val = make_valset(tmp_path / "val", num_classes=3, per_class=4)  # 12 images, 6 batches each
    from imagenet_bench.data import datasets
    labels = sorted(set(datasets.discover(str(val)).labels.tolist()))
    run = _training_run(tmp_path / "run", labels, factory=corpus.slow_tiny_model)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS.parent), str(TESTS)]),
               OMP_NUM_THREADS="1", CORPUS_PAUSE="0.3")
    argv = [sys.executable, "-m", "imagenet_bench"] + _argv(
        val, tmp_path / "out", "--checkpoint", str(run), factory="corpus:slow_tiny_model")
    ref = subprocess.run([a if a != str(tmp_path / "out") else str(tmp_path / "ref") for a in argv],
                         env=dict(env, CORPUS_PAUSE="0"), capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    out = tmp_path / "out"
    while time.time() < deadline and not (out.is_dir() and len(cache.find_caches(str(out))) == 1
                                          and list(out.glob("*.partial.npz"))):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    again = subprocess.run(argv, env=dict(env, CORPUS_PAUSE="0"), capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already holds this model's complete predictions") == 1
    assert again.stderr.count("resuming from") == 1
    assert "series: 3 of 5 checkpoints evaluated" in again.stderr
    for mine, theirs in zip(sorted(cache.find_caches(str(tmp_path / "out"))),
                            sorted(cache.find_caches(str(tmp_path / "ref")))):
        a, b = cache.load(mine), cache.load(theirs)
        assert os.path.basename(mine) == os.path.basename(theirs)
        assert np.array_equal(a.top5_idx, b.top5_idx) and np.array_equal(a.top5_prob, b.top5_prob)
        assert a.provenance["checkpoint_series"] == b.provenance["checkpoint_series"]
