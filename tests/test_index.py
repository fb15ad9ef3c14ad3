"""The folder index (cache/index.py, cache/folder.py): trusted only for an unchanged file,
rebuilt when damaged, safe under two processes, never required, never in the caches folder."""
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import corpus
from conftest import make_preds, write_caches
from test_robustness import _caches as robustness_caches
from imagenet_bench.models.identity import from_string
from imagenet_bench.cache import folder, index
from imagenet_bench.cache import store as cache
from imagenet_bench.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]


def _good(n_models=6, n=40, seed=0):
    """Caches over ``n`` real-looking val ids, models right more or less often, some missing rows."""
    rng = np.random.default_rng(seed)
    out = []
    for m in range(n_models):
        p = corpus.good_preds(n, f"model{m}", correct_rows=np.flatnonzero(rng.random(n) < 0.3 + 0.1 * m),
                              missing=rng.random(n) < 0.05)
        out.append(p)
    return out


def _run(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _index_file(d):
    return index.index_path(str(d))


def test_index_and_no_index_give_the_same_tables(tmp_path, capsys):
    d = tmp_path / "val"
    write_caches(d, _good())
    keep = tmp_path / "keep.npy"
    np.save(keep, np.arange(0, 40, 3))
    labels = tmp_path / "labels.npy"
    np.save(labels, np.random.default_rng(1).integers(0, 40, 40))
    rob, _ = robustness_caches(tmp_path)
    commands = [
        ["score", "--precomputed", str(d), "--format", "csv", "--ci"],
        ["score", "--precomputed", str(d), "--format", "csv", "--keep", str(keep)],
        ["score", "--precomputed", str(d), "--format", "csv", "--labels", str(labels)],
        ["compare", "torch:model1", "torch:model4", "--precomputed", str(d), "--format", "csv"],
        ["compare", "torch:model1", "torch:model4", "--precomputed", str(d), "--top", "5"],
        ["per-class", "torch:model2", "--precomputed", str(d)],
        ["errors", "--precomputed", str(d)],
        ["robustness", "--precomputed", str(rob), "--format", "csv"],
        ["score", "--precomputed", str(rob), "--allow-mixed-datasets", "--format", "csv"],
    ]
    for argv in commands:
        cold = _run(argv, capsys)
        warm = _run(argv, capsys)
        plain = _run(argv + ["--no-index"], capsys)
        assert cold[0] == 0, cold
        assert cold == warm == plain, argv
    assert os.path.exists(_index_file(d))
    loaded = folder.load_folder(str(d))
    assert (loaded.indexed, loaded.validated) == (6, 0)  # warm: nothing re-read
    assert all(isinstance(p, folder.IndexedPredictions) for p in loaded.preds)


def test_the_index_is_never_written_into_the_caches_folder(tmp_path, capsys):
    d = tmp_path / "val"
    write_caches(d, _good(3))
    before = sorted(os.listdir(d))
    assert _run(["score", "--precomputed", str(d)], capsys)[0] == 0
    assert sorted(os.listdir(d)) == before
    assert Path(_index_file(d)).parent == Path(os.environ["XDG_CACHE_HOME"]) / "imagenet_bench" / "index"


def _stored_npz(path: Path, preds: cache.Predictions) -> bytes:
    """``preds`` as an uncompressed .npz (as np.savez writes): equal shapes, equal size."""
    arrays = corpus.raw_arrays(preds)
    corpus.zip_members(path, {k: corpus.npy_bytes(v) for k, v in arrays.items()})
    return path.read_bytes()


def test_a_rewrite_in_place_with_size_and_mtime_restored_is_seen(tmp_path, capsys):
    d = tmp_path / "val"
    d.mkdir()
    p = corpus.good_preds(40, "m", correct_rows=range(10))
    path = d / cache.cache_filename(from_string("torch:m"), 40, p.fingerprint)
    _stored_npz(path, p)
    rc, out, _ = _run(["score", "--precomputed", str(d), "--format", "csv"], capsys)
    assert rc == 0 and ",25.0" in out  # 10 of 40
    st = path.stat()
    p.top5_idx[20, 0] = p.labels[20]  # one more right
    data = _stored_npz(tmp_path / "new.npz", p)
    assert len(data) == st.st_size
    with open(path, "r+b") as f:  # same inode, same size
        f.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    st2 = path.stat()
    assert (st2.st_ino, st2.st_size, st2.st_mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns)
    rc, out, _ = _run(["score", "--precomputed", str(d), "--format", "csv"], capsys)
    assert rc == 0 and ",27.5" in out, out  # 11 of 40: the new content, not the indexed figure


def test_a_damaged_index_file_is_rebuilt_silently(tmp_path, capsys):
    d = tmp_path / "val"
    write_caches(d, _good(4))
    argv = ["score", "--precomputed", str(d), "--format", "csv"]
    first = _run(argv, capsys)
    path = _index_file(d)
    with open(path, "r+b") as f:  # garbage over the header and the first pages
        f.write(os.urandom(8192))
    again = _run(argv, capsys)
    assert again == first  # same table, no error, no note
    with sqlite3.connect(path) as db:  # a working index again, every cache in it
        assert db.execute("SELECT count(*) FROM caches").fetchone()[0] == 4


def test_a_damaged_row_is_re_derived_not_trusted(tmp_path, capsys):
    d = tmp_path / "val"
    write_caches(d, _good(4))
    argv = ["score", "--precomputed", str(d), "--format", "csv"]
    first = _run(argv, capsys)
    with sqlite3.connect(_index_file(d)) as db:  # other figures, without the CRC to match
        db.execute("UPDATE arrays SET bits = randomblob(length(bits))")
        names = [r[0] for r in db.execute("SELECT name FROM arrays")]
    idx = index.Index(str(d)).open()
    assert [idx.column(n, "bits") for n in names] == [None] * 4  # the CRC catches it
    assert _run(argv, capsys) == first  # re-derived from the files, not the damaged bits
    assert all(idx.column(n, "bits") is not None for n in names)  # and written back


@pytest.mark.slow  # spawns three processes
def test_two_score_processes_at_once_on_a_fresh_folder(tmp_path, capsys):
    d = tmp_path / "val"
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 1000, 20000)
    write_caches(d, [make_preds(rng.integers(0, 1000, (20000, 5)), labels, f"m{i}")
                     for i in range(24)])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "imagenet_bench", "score", "--precomputed", str(d), "--format", "csv"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    plain = subprocess.run(cmd + ["--no-index"], capture_output=True, text=True, env=env)
    for out, err, rc in results:
        assert rc == 0, err
        assert (out, err) == (plain.stdout, plain.stderr)
    loaded = folder.load_folder(str(d))
    assert (loaded.indexed, loaded.validated) == (24, 0)


def test_every_bad_file_is_listed_in_one_error_and_skip_bad_scores_the_rest(tmp_path, capsys):
    d = tmp_path / "val"
    paths = write_caches(d, _good(8))
    good = Path(paths[0]).read_bytes()
    Path(d / "torch-cut.val40-0.npz").write_bytes(good[:len(good) // 2])  # truncated
    arrays = corpus.raw_arrays(corpus.good_preds(40, "nan"))
    arrays["top5_prob"][3, 0] = np.nan
    corpus.zip_members(d / "torch-nan.val40-0.npz", {k: corpus.npy_bytes(v)
                                                     for k, v in arrays.items()})
    Path(d / "torch-empty.val40-0.npz").write_bytes(b"")
    rc, out, err = _run(["score", "--precomputed", str(d)], capsys)
    assert rc == 2 and out == ""
    assert "3 of the 11 cache files in" in err
    for name, what in (("torch-cut.val40-0.npz", "cannot be read as a cache"),
                       ("torch-nan.val40-0.npz", "non-finite probability at row 3"),
                       ("torch-empty.val40-0.npz", "it is empty")):
        line = next(line for line in err.splitlines() if line.strip().startswith(name))
        assert what in line and "Fix:" in line, line
    assert "pass --skip-bad to use the other 8" in err
    rc, out, err = _run(["score", "--precomputed", str(d), "--skip-bad"], capsys)
    assert rc == 0 and "8 models ranked" in out
    assert "skipped 3 cache files that cannot be used (--skip-bad)" in err
    assert err.index("torch-cut") < err.index("torch-empty") < err.index("torch-nan")


def test_debug_says_how_many_files_the_index_served(tmp_path, capsys, monkeypatch):
    d = tmp_path / "val"
    write_caches(d, _good(3))
    monkeypatch.delenv("IMAGENET_BENCH_DEBUG", raising=False)
    lines = []
    for argv in (["--debug", "score"], ["--debug", "score"], ["--debug", "score", "--verify"], ["score"]):
        rc, _, err = _run([*argv, "--precomputed", str(d)], capsys)
        assert rc == 0, err
        lines.append([ln for ln in err.splitlines() if ln.startswith("debug: ")])
    assert lines[0] == [f"debug: {d}: 3 cache files: 0 trusted from the folder index, 3 validated in full"]
    assert lines[1] == [f"debug: {d}: 3 cache files: 3 trusted from the folder index, 0 validated in full"]
    assert lines[2] == [f"debug: {d}: 3 cache files: 0 trusted from the folder index, 3 validated in full"]
    assert lines[3] == []  # without --debug: nothing


def test_verify_revalidates_every_file_and_a_changed_file_is_never_trusted(tmp_path, capsys):
    d = tmp_path / "val"
    paths = write_caches(d, _good(3))
    assert folder.load_folder(str(d)).validated == 3
    assert folder.load_folder(str(d)).validated == 0
    assert folder.load_folder(str(d), verify=True).validated == 3
    Path(paths[1]).write_bytes(Path(paths[1]).read_bytes()[:100])  # new identity, bad content
    with pytest.raises(cache.CacheError, match="cannot be read as a cache"):
        folder.load_folder(str(d))
    rc, _, err = _run(["score", "--precomputed", str(d)], capsys)
    assert rc == 2 and os.path.basename(paths[1]) in err


def test_no_usable_index_directory_falls_back_to_reading_the_files(tmp_path, monkeypatch, capsys):
    d = tmp_path / "val"
    write_caches(d, _good(3))
    plain = _run(["score", "--precomputed", str(d), "--no-index"], capsys)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # makedirs fails under a file
    assert _run(["score", "--precomputed", str(d)], capsys) == plain


def test_stale_rows_and_indexes_of_vanished_folders_are_pruned(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    pa = write_caches(a, _good(2))
    write_caches(b, _good(2))
    folder.load_folder(str(a))
    folder.load_folder(str(b))
    os.unlink(pa[0])
    folder.load_folder(str(a))
    with sqlite3.connect(_index_file(a)) as db:
        assert [r[0] for r in db.execute("SELECT name FROM caches")] == [os.path.basename(pa[1])]
    index_b = _index_file(b)
    for f in os.listdir(b):
        os.unlink(b / f)
    b.rmdir()
    removed = index.prune()
    assert os.path.basename(index_b) in removed and not os.path.exists(index_b)
    assert os.path.exists(_index_file(a))


def test_an_index_of_another_version_is_ignored_and_pruned(tmp_path, monkeypatch):
    d = tmp_path / "val"
    write_caches(d, _good(2))
    folder.load_folder(str(d))
    old = _index_file(d)
    monkeypatch.setattr(index, "INDEX_VERSION", index.INDEX_VERSION + 1)
    assert _index_file(d) != old
    loaded = folder.load_folder(str(d))
    assert loaded.validated == 2  # a fresh index: the old one is not read
    assert not os.path.exists(old)  # and it was pruned when the new one was made


def test_lazy_arrays_match_a_full_load(tmp_path):
    d = tmp_path / "val"
    paths = write_caches(d, _good(2))
    folder.load_folder(str(d))
    warm = folder.load_folder(str(d)).preds
    for p, path in zip(warm, paths):
        full = cache.load(path)
        assert isinstance(p, folder.IndexedPredictions)
        for name in ("top5_idx", "top5_prob", "labels", "missing", "image_ids_blob"):
            assert np.array_equal(getattr(p, name), getattr(full, name)), name
        assert np.array_equal(p.top1_pred(), full.top5_idx[:, 0])
        assert p.provenance == full.provenance and p.num_images == full.num_images


READERS = ("score", "compare", "per-class", "errors", "robustness")


@pytest.mark.parametrize("case", [c for c in corpus.CASES if c.kind in ("cache", "2019") and not c.slow],
                         ids=lambda c: c.name)
def test_corpus_cases_read_the_same_with_and_without_the_index(case, tmp_path, monkeypatch, capsys):
    """Every cache case of the corpus: index cold, index warm and --no-index say the same."""
    import contextlib
    setup = case.build(tmp_path)
    if setup.argv is None or setup.argv[0] not in READERS:
        pytest.skip(f"{case.name} does not read a folder through a scoring command")
    corpus.apply(setup, monkeypatch)
    runs = []
    for extra in ([], [], ["--no-index"]):
        with contextlib.ExitStack() as stack:
            for make in setup.hold:
                stack.enter_context(make())
            runs.append(_run(setup.argv + extra, capsys))
    assert runs[0][0] == setup.rc, runs[0]
    assert runs[0] == runs[1] == runs[2]


def test_warm_commands_read_only_what_they_need(tmp_path, monkeypatch, capsys):
    """Index warm: score, compare and per-class open no cache file; custom labels read
    top5_idx only, never top5_prob, and no header is parsed again."""
    from imagenet_bench.cache import checks, npz
    d = tmp_path / "val"
    write_caches(d, _good(5))
    labels = tmp_path / "labels.npy"
    np.save(labels, np.arange(40) % 7)
    assert _run(["score", "--precomputed", str(d)], capsys)[0] == 0  # builds the index
    reads, inspected = [], []
    real_read, real_inspect = npz.read_member, checks.inspect_npz
    monkeypatch.setattr(npz, "read_member", lambda fp, name, m: reads.append(name) or real_read(fp, name, m))
    monkeypatch.setattr(checks, "inspect_npz", lambda *a, **k: inspected.append(a[0]) or real_inspect(*a, **k))
    for argv in (["score"], ["compare", "torch:model1", "torch:model2"], ["per-class", "torch:model3"]):
        assert _run(argv + ["--precomputed", str(d)], capsys)[0] == 0
    assert reads == [] and inspected == []
    assert _run(["score", "--precomputed", str(d), "--labels", str(labels)], capsys)[0] == 0
    assert reads == ["top5_idx"] * 5 and inspected == []


def test_npy_headers_of_every_version_are_read(tmp_path):
    """Format 1.0, 2.0 and 3.0 npy headers (numpy writes 3.0 for non-latin-1 field names)."""
    import io
    from imagenet_bench.cache import checks
    for version in ((1, 0), (2, 0), (3, 0)):
        b = io.BytesIO()
        np.lib.format.write_array(b, np.zeros((3, 5), np.int16), version=version)
        raw = b.getvalue()
        shape, fortran, dtype, header_len = checks.read_header_order(io.BytesIO(raw))
        assert (shape, fortran, dtype) == ((3, 5), False, np.dtype(np.int16)), version
        assert len(raw) - header_len == 30
