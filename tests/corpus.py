"""A corpus of bad inputs: each case builds its files in a folder and says what must happen.

Every case is a function ``build(root) -> Setup`` registered with :func:`case`.
``Setup`` holds the command line to run (or an API call), the exit status and
message patterns expected, and the files whose bytes must be unchanged
afterwards (finished work that must not be lost). ``outcome`` classifies the
case: ``refused`` (exit 2 with a named error), ``handled`` (the run goes on and
reports it, e.g. a skipped bad image) or ``correct`` (accepted, with the right
numbers). ``tests/test_corpus.py`` runs one test per case.

``python tests/corpus.py DIR`` writes every case's files under ``DIR/<case>/``
(for trying them by hand) and prints the count per outcome.
"""
from __future__ import annotations

import errno
import io
import json
import os
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
from numpy.lib import format as npy_format

from imagenet_bench.cache import npz
from imagenet_bench.cache import store as cache
from imagenet_bench.data import imagenet_meta
from imagenet_bench.models.identity import from_string

# --- the case registry -----------------------------------------------------------------------


@dataclass
class Setup:
    """What to run for a case and what must hold afterwards."""

    argv: Optional[List[str]] = None  # imagenet-bench arguments (None: ``call`` instead)
    call: Optional[Callable[[], object]] = None  # an API call (a BenchError counts as exit 2)
    rc: int = 2  # expected exit status
    messages: Sequence[str] = ()  # regexes that must appear in stderr + stdout
    absent: Sequence[str] = ()  # regexes that must NOT appear
    protect: Sequence[Path] = ()  # files whose bytes must be unchanged
    patches: Sequence[tuple] = ()  # (object, attribute, value) applied with monkeypatch
    env: Dict[str, str] = field(default_factory=dict)  # environment variables set
    hold: Sequence[Callable] = ()  # context managers entered around the call
    check: Optional[Callable[[str], None]] = None  # more assertions on the combined output



def apply(setup: "Setup", monkeypatch) -> None:
    """Put ``setup``'s environment variables and patches in place through pytest's ``monkeypatch``."""
    for name, value in setup.env.items():
        monkeypatch.setenv(name, value)
    for obj, attr, value in setup.patches:
        if isinstance(obj, dict):
            if value is DELETE:
                monkeypatch.delitem(obj, attr, raising=False)
            else:
                monkeypatch.setitem(obj, attr, value)
        else:
            monkeypatch.setattr(obj, attr, value, raising=False)


@dataclass
class Case:
    """One bad input."""

    name: str
    kind: str  # cache | 2019 | image | run | option | backend
    outcome: str  # refused | handled | correct
    build: Callable[[Path], Setup]
    slow: bool = False  # runs a model (even a tiny one) or spawns processes


CASES: List[Case] = []


def case(kind: str, outcome: str, slow: bool = False):
    """Register the decorated ``build(root) -> Setup`` as a case named after the function."""
    assert outcome in ("refused", "handled", "correct")

    def deco(fn):
        CASES.append(Case(fn.__name__, kind, outcome, fn, slow))
        return fn
    return deco


# --- builders ---------------------------------------------------------------------------------

def wnid_ids(n: int, first_class: int = 0) -> List[str]:
    """``n`` real-looking image ids ``wnid/ILSVRC2012_val_*.JPEG``, one class each (classes first_class...)."""
    w = imagenet_meta.wnids()
    return [f"{w[first_class + i]}/ILSVRC2012_val_{first_class + i + 1:08d}.JPEG" for i in range(n)]


def good_preds(n: int = 4, model: str = "good", correct_rows: Optional[Sequence[int]] = None,
               missing=None, first_class: int = 0) -> cache.Predictions:
    """A valid cache over ``n`` ids of different classes; ``correct_rows`` get the label at top-1."""
    labels = np.arange(first_class, first_class + n)
    right = set(range(n) if correct_rows is None else correct_rows)
    top5 = np.array([[labels[r] if r in right else (labels[r] + 1) % 1000,
                      *[(labels[r] + k) % 1000 for k in (2, 3, 4, 5)]] for r in range(n)])
    probs = np.tile(np.array([0.5, 0.2, 0.1, 0.05, 0.01], np.float32), (n, 1))
    prov = {"model": model, "framework": "torch", "weights": "random",
            "preprocessing": {"mode": "test"}, "library_versions": {}, "complete": True}
    return cache.Predictions.build(top5, probs, labels, wnid_ids(n, first_class), prov, missing=missing)


def raw_arrays(p: cache.Predictions) -> Dict[str, np.ndarray]:
    """The arrays a cache file holds (writable copies), for editing."""
    return {"top5_idx": p.top5_idx.copy(), "top5_prob": p.top5_prob.copy(), "labels": p.labels.copy(),
            "missing": p.missing.copy(), "image_ids": p.image_ids_blob.copy(),
            "provenance": np.frombuffer(json.dumps(p.provenance).encode(), np.uint8).copy()}


def set_provenance(arrays: Dict[str, np.ndarray], prov) -> None:
    """Replace the provenance blob with ``prov`` as JSON."""
    arrays["provenance"] = np.frombuffer(json.dumps(prov).encode(), np.uint8).copy()


def cache_dir(root: Path, with_good: bool = True) -> Path:
    """``root/pre`` with one valid cache in it (finished work that must survive)."""
    d = root / "pre"
    d.mkdir(parents=True, exist_ok=True)
    if with_good:
        p = good_preds(4, "good")
        cache.save(str(d / cache.cache_filename(from_string("torch:good"), 4, p.fingerprint)), p)
    return d


def protected(d: Path) -> List[Path]:
    """Every regular file now in ``d`` (they must be unchanged after the case runs)."""
    return [p for p in sorted(d.rglob("*")) if p.is_file() and not p.is_symlink()]


def npy_header(shape, descr: str = "<i2") -> bytes:
    """The bytes of a version-1.0 npy header declaring ``shape`` of ``descr``."""
    buf = io.BytesIO()
    npy_format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue()


def zip_members(path: Path, members: Dict[str, bytes], compress: bool = False) -> Path:
    """Write ``{name: bytes}`` as an npz-style zip (``name.npy`` members)."""
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as z:
        for name, data in members.items():
            z.writestr(name + ".npy", data)
    return path


def npy_bytes(arr: np.ndarray) -> bytes:
    """``arr`` as .npy file bytes."""
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def zip_bomb_member(z: zipfile.ZipFile, name: str, shape, descr: str) -> None:
    """Add member ``name.npy``: a header declaring ``shape`` then zeros, deflated (tiny on disk)."""
    head = npy_header(shape, descr)
    size = int(np.prod(shape)) * np.dtype(descr).itemsize
    chunk = bytes(16 << 20)
    with z.open(name + ".npy", "w", force_zip64=True) as f:
        f.write(head)
        while size > 0:
            f.write(chunk[:min(size, len(chunk))])
            size -= len(chunk)


def bad_cache_case(edit: Callable[[Dict[str, np.ndarray]], None], messages: Sequence[str],
                   n: int = 4) -> Callable[[Path], Setup]:
    """A builder: a good cache's arrays edited by ``edit``, saved beside a valid cache."""
    def build(root: Path) -> Setup:
        d = cache_dir(root)
        arrays = raw_arrays(good_preds(n, "bad", first_class=100))
        edit(arrays)
        keep = protected(d)
        np.savez(d / "torch-bad.val4-00000000.npz", **arrays)
        return Setup(argv=["score", "--precomputed", str(d)], messages=["bad.*npz", *messages],
                     protect=keep)
    return build


def _register_cache_edit(name: str, edit, messages: Sequence[str]) -> None:
    build = bad_cache_case(edit, messages)
    build.__name__ = name
    case("cache", "refused")(build)


def _prov_edit(key, value):
    def edit(a):
        prov = json.loads(a["provenance"].tobytes())
        prov[key] = value
        set_provenance(a, prov)
    return edit


# --- cache cases ------------------------------------------------------------------------------

for _key, _value, _msg in [
    ("complete", "false", r"'complete' is 'false'.*expected true or false"),
    ("complete", None, r"'complete' is None"),
    ("complete", 1, r"'complete' is 1 \(builtins.int\)"),
    ("num_images", "4", r"'num_images' is '4'"),
    ("num_images", 4.0, r"'num_images' is 4.0 \(builtins.float\)"),
    ("num_images", True, r"'num_images' is True"),
    ("num_images", None, r"'num_images' is None"),
    ("num_images", -4, r"'num_images' is -4"),
    ("model", None, r"'model' is None"),
    ("model", 50, r"'model' is 50"),
    ("model", "", r"'model' is ''"),
    ("framework", ["torch"], r"'framework' is \['torch'\]"),
    ("format_version", "1", r"'format_version' is '1'"),
    ("weights", {"x": 1}, r"'weights' is \{'x': 1\}"),
    ("library_versions", "torch 2", r"'library_versions' is 'torch 2'"),
    ("fingerprint", "abc", r"'fingerprint' is 'abc'"),
]:
    _register_cache_edit(f"prov_{_key}_{type(_value).__name__}_{str(_value)[:6]}".replace(" ", "_")
                         .replace("'", "").replace("[", "").replace("]", "").replace("{", "")
                         .replace("}", "").replace(":", "").replace(",", "").replace("-", "neg")
                         .replace(".", "_"),
                         _prov_edit(_key, _value), [_msg, "Fix:"])

_register_cache_edit("prov_json_null", lambda a: set_provenance(a, None),
                     [r"provenance is NoneType", "Fix:"])
_register_cache_edit("prov_json_list", lambda a: set_provenance(a, [1, 2]),
                     [r"provenance is list", "Fix:"])
_register_cache_edit("prov_not_utf8", lambda a: a.update(provenance=np.frombuffer(b"\xff\xfe{", np.uint8)),
                     [r"cannot be read as a cache.*UnicodeDecodeError"])
_register_cache_edit("prov_not_json", lambda a: a.update(provenance=np.frombuffer(b"{model:", np.uint8)),
                     [r"cannot be read as a cache.*JSONDecodeError"])
_register_cache_edit("missing_float32", lambda a: a.update(missing=np.zeros(4, np.float32)),
                     [r"missing has dtype float32, expected bool"])
_register_cache_edit("missing_int8", lambda a: a.update(missing=np.zeros(4, np.int8)),
                     [r"missing has dtype int8, expected bool"])
_register_cache_edit("missing_wrong_length", lambda a: a.update(missing=np.zeros(3, bool)),
                     [r"missing has shape \(3,\), expected \(4,\)"])
_register_cache_edit("labels_altered", lambda a: a.update(labels=np.array([100, 101, 102, 7], np.int16)),
                     [r"1 label\(s\) disagree with the wnid of their image id, e.g. row 3", "labels altered"])
_register_cache_edit("labels_all_shifted", lambda a: a.update(labels=(a["labels"] + 1).astype(np.int16)),
                     [r"4 label\(s\) disagree"])
_register_cache_edit("cache_labels_float", lambda a: a.update(labels=a["labels"].astype(np.float32)),
                     [r"labels has dtype float32, expected an integer type"])
_register_cache_edit("top5_idx_float", lambda a: a.update(top5_idx=a["top5_idx"].astype(np.float64)),
                     [r"top5_idx has dtype float64"])
_register_cache_edit("top5_idx_out_of_range", lambda a: a["top5_idx"].__setitem__((2, 3), 1000),
                     [r"class index out of range 0-999 at row 2"])
_register_cache_edit("top5_idx_wrong_shape", lambda a: a.update(top5_idx=a["top5_idx"][:, :3]),
                     [r"top5_idx has shape \(4, 3\), expected \(4, 5\)"])
_register_cache_edit("top5_prob_nan", lambda a: a["top5_prob"].__setitem__((1, 0), np.nan),
                     [r"non-finite probability at row 1"])
_register_cache_edit("ids_edited", lambda a: a["image_ids"].__setitem__(12, ord("X")),
                     [r"fingerprint does not match"])
_register_cache_edit("object_member", lambda a: a.update(extra=np.array([{"a": 1}], dtype=object)),
                     [r"member extra holds Python objects"])
_register_cache_edit("incomplete", _prov_edit("complete", False),
                     [r"did not finish \(complete=False\).*resume it"])


@case("cache", "refused")
def duplicate_image_ids(root: Path) -> Setup:
    d = cache_dir(root)
    ids = wnid_ids(4, 100)
    ids[3] = ids[1]
    p = good_preds(4, "dup", first_class=100)
    arrays = raw_arrays(p)
    arrays["labels"][3] = arrays["labels"][1]
    blob = np.frombuffer("\n".join(ids).encode(), np.uint8)
    prov = dict(p.provenance, fingerprint=cache.fingerprint(ids))
    arrays["image_ids"] = blob.copy()
    set_provenance(arrays, prov)
    keep = protected(d)
    np.savez(d / "torch-dup.val4-00000000.npz", **arrays)
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"image id 'n\d{8}/ILSVRC2012_val_00000102.JPEG' appears more than once "
                           r"\(again at row 3\)"])


@case("cache", "refused")
def ids_not_utf8(root: Path) -> Setup:
    d = cache_dir(root)
    p = good_preds(4, "latin", first_class=100)
    arrays = raw_arrays(p)
    blob = bytearray(arrays["image_ids"].tobytes())
    blob[blob.index(b"\n", blob.index(b"\n") + 1) + 12] = 0xE9  # a Latin-1 byte in row 2
    arrays["image_ids"] = np.frombuffer(bytes(blob), np.uint8).copy()
    set_provenance(arrays, dict(p.provenance, fingerprint=__import__("hashlib").sha256(bytes(blob)).hexdigest()))
    keep = protected(d)
    np.savez(d / "torch-latin.val4-0.npz", **arrays)
    return Setup(argv=["errors", "--precomputed", str(d)], protect=keep,
                 messages=[r"image id of row 2 is not valid UTF-8"])


@case("cache", "refused")
def symlink_loop_npz(root: Path) -> Setup:
    d = cache_dir(root)
    os.symlink(d / "torch-loop.val4-0.npz", d / "torch-loop.val4-0.npz")
    return Setup(argv=["score", "--precomputed", str(d)], protect=protected(d),
                 messages=[r"torch-loop.val4-0.npz: is a broken symbolic link"])


@case("cache", "correct")
def symlink_to_a_good_cache(root: Path) -> Setup:
    d = cache_dir(root)
    (good,) = protected(d)
    elsewhere = root / "elsewhere.npz"
    os.rename(good, elsewhere)
    os.symlink(elsewhere, good)
    return Setup(argv=["score", "--precomputed", str(d)], rc=0, protect=[elsewhere],
                 check=_expect_line("good", "100.00"))


@case("cache", "correct")
def damaged_checkpoint_beside_caches(root: Path) -> Setup:
    """The scorer never reads checkpoints, whatever they hold."""
    d = cache_dir(root)
    (d / "torch-x.val4-0.partial.npz").write_bytes(b"garbage")
    return Setup(argv=["score", "--precomputed", str(d)], rc=0, protect=protected(d),
                 check=_expect_line("good", "100.00"))


@case("cache", "refused")
def zero_row_cache(root: Path) -> Setup:
    d = cache_dir(root, with_good=False)
    prov = {"model": "empty", "framework": "torch", "weights": "random", "preprocessing": "x",
            "library_versions": {}, "complete": True}
    p = cache.Predictions.build(np.zeros((0, 5)), np.zeros((0, 5)), np.zeros(0), [], prov)
    cache.save(str(d / "torch-empty.val0-0.npz"), p)
    return Setup(argv=["score", "--precomputed", str(d)], protect=protected(d),
                 messages=[r"no images left to score for torch:empty"])


def _expect_line(model: str, value: str):
    def check(out: str) -> None:
        line = next(li for li in out.splitlines() if model in li and "ranked" not in li)
        assert value in line, line
    return check


@case("cache", "correct")
def missing_rows_holding_right_answers(root: Path) -> Setup:
    """Rows marked missing whose top-5 happens to hold the label still count as wrong."""
    d = cache_dir(root, with_good=False)
    p = good_preds(4, "holes", missing=[False, False, True, True])
    cache.save(str(d / cache.cache_filename(from_string("torch:holes"), 4, p.fingerprint)), p)

    def check(out: str) -> None:
        line = next(li for li in out.splitlines() if "holes" in li)
        assert "50.00" in line and "100.00" not in line, line
    return Setup(argv=["score", "--precomputed", str(d)], rc=0, messages=["holes"],
                 protect=protected(d), check=check)


@case("cache", "refused")
def npy_named_npz(root: Path) -> Setup:
    d = cache_dir(root)
    keep = protected(d)
    np.save(d / "x.npy", np.zeros((4, 5), np.int16))
    os.rename(d / "x.npy", d / "torch-x.val4-0.npz")
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"torch-x.val4-0.npz: is a single-array .npy file named .npz"])


@case("cache", "refused")
def zero_byte_npz(root: Path) -> Setup:
    d = cache_dir(root)
    keep = protected(d)
    (d / "torch-empty.val4-0.npz").write_bytes(b"")
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"torch-empty.val4-0.npz: cannot be read as a cache: it is empty \(0 bytes\)"])


@case("cache", "refused")
def truncated_npz(root: Path) -> Setup:
    d = cache_dir(root)
    keep = protected(d)
    data = keep[0].read_bytes()
    (d / "torch-cut.val4-0.npz").write_bytes(data[: len(data) // 2])
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"torch-cut.val4-0.npz: cannot be read as a cache \(BadZipFile"])


@case("cache", "refused")
def random_bytes_npz(root: Path) -> Setup:
    d = cache_dir(root)
    keep = protected(d)
    (d / "torch-noise.val4-0.npz").write_bytes(np.random.default_rng(0).bytes(300))
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"torch-noise.val4-0.npz: cannot be read as a cache \(not a zip archive"])


@case("cache", "refused")
def directory_named_npz(root: Path) -> Setup:
    d = cache_dir(root)
    (d / "torch-dir.val4-0.npz").mkdir()
    return Setup(argv=["score", "--precomputed", str(d)], protect=protected(d),
                 messages=[r"torch-dir.val4-0.npz: is a directory"])


@case("cache", "refused")
def broken_symlink_npz(root: Path) -> Setup:
    d = cache_dir(root)
    os.symlink(root / "nowhere.npz", d / "torch-link.val4-0.npz")
    return Setup(argv=["score", "--precomputed", str(d)], protect=protected(d),
                 messages=[r"torch-link.val4-0.npz: is a broken symbolic link \(to .*nowhere.npz\)"])


@case("cache", "refused")
def header_declares_huge_rows(root: Path) -> Setup:
    """top5_idx's npy header claims 4e9 rows (40 GB) while the file holds a few bytes."""
    d = cache_dir(root)
    keep = protected(d)
    zip_members(d / "torch-huge.val4-0.npz", {"top5_idx": npy_header((4_000_000_000, 5)) + b"\0" * 16})
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"top5_idx declares 4,000,000,000 rows, more than the 2,000,000"])


@case("cache", "refused")
def header_declares_37gib_blob(root: Path) -> Setup:
    """The provenance member's header claims a 37 GiB byte blob (MemoryError before)."""
    d = cache_dir(root)
    keep = protected(d)
    arrays = raw_arrays(good_preds(4, "blob"))
    members = {k: npy_bytes(v) for k, v in arrays.items() if k != "provenance"}
    members["provenance"] = npy_header((37 << 30,), "|u1") + b"{}"
    zip_members(d / "torch-blob.val4-0.npz", members)
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"member provenance declares shape \(39728447488,\) \(37.0 GiB\), "
                           r"expected a 1-D blob of at most"])


@case("cache", "refused")
def header_declares_more_than_stored(root: Path) -> Setup:
    """A member's header declares (4, 5) int16 but the member holds only 8 bytes of data."""
    d = cache_dir(root)
    keep = protected(d)
    arrays = raw_arrays(good_preds(4, "short"))
    members = {k: npy_bytes(v) for k, v in arrays.items()}
    members["top5_prob"] = npy_header((4, 5), "<f4") + b"\0" * 8
    zip_members(d / "torch-short.val4-0.npz", members)
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"member top5_prob declares 80 bytes of data but holds 8 bytes: truncated or forged"])


@case("cache", "refused")
def zip_bomb_all_probs(root: Path) -> Setup:
    """all_probs of the right shape, deflated 1000x: 100 MB of zeros in ~100 kB."""
    d = cache_dir(root)
    keep = protected(d)
    p = good_preds(4, "bomb")
    arrays = raw_arrays(p)
    with zipfile.ZipFile(d / "torch-bomb.val4-0.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for k, v in arrays.items():
            z.writestr(k + ".npy", npy_bytes(v))
        zip_bomb_member(z, "all_probs", (52_000, 1000), "<f2")
    return Setup(argv=["score", "--precomputed", str(d)], protect=keep,
                 messages=[r"member all_probs inflates from [\d,]+ bytes to 99.2 MiB: a zip bomb"])


@case("cache", "refused")
def unreadable_cache(root: Path) -> Setup:
    """A cache without read permission (injected: tests run as root, which ignores modes)."""
    from imagenet_bench.cache import checks
    d = cache_dir(root)
    target = protected(d)[0]
    real_open = open

    def fake_open(path, *a, **k):
        if str(path) == str(target):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *a, **k)
    return Setup(argv=["score", "--precomputed", str(d)], protect=[target],
                 patches=[(checks, "open", fake_open)],
                 messages=[r"is unreadable \(permission denied\)", "make it readable"],
                 absent=[r"delete it"])


@case("cache", "refused")
def same_model_twice(root: Path) -> Setup:
    d = cache_dir(root)
    p = good_preds(4, "good")
    cache.save(str(d / "copy-of-good.npz"), p)
    return Setup(argv=["score", "--precomputed", str(d)], protect=protected(d),
                 messages=[r"torch:good appears twice for the same images"])


@case("cache", "refused")
def mixed_datasets_in_errors(root: Path) -> Setup:
    """`errors` has no --allow-mixed-datasets: its message must not suggest it."""
    d = cache_dir(root)
    p = good_preds(5, "other", first_class=300)
    cache.save(str(d / cache.cache_filename(from_string("torch:other"), 5, p.fingerprint)), p)
    return Setup(argv=["errors", "--precomputed", str(d)], protect=protected(d),
                 messages=[r"different image lists", r"folder of its own"],
                 absent=[r"--allow-mixed-datasets"])


@case("cache", "refused")
def numpy_scalar_provenance(root: Path) -> Setup:
    """Predictions built in Python with numpy scalars in provenance are refused when saved."""
    p = good_preds(4, "np")
    p.provenance["complete"] = np.bool_(True)
    return Setup(call=lambda: cache.save(str(root / "np.npz"), p),
                 messages=[r"'complete' is np.True_ \(numpy.bool"])


@case("cache", "refused")
def numpy_value_nested_in_provenance(root: Path) -> Setup:
    p = good_preds(4, "np")
    p.provenance["preprocessing"] = {"crop": np.int64(224)}
    return Setup(call=lambda: cache.save(str(root / "np.npz"), p),
                 messages=[r"provenance cannot be stored as JSON .*int64.*plain Python values"])


# --- 2019 layout ------------------------------------------------------------------------------

N2019 = imagenet_meta.NUM_VAL_IMAGES


def layout_2019(root: Path, preds=None, probs=None, model: str = "resnet50", fw: str = "keras") -> Path:
    """A 2019-layout folder with one model; preds/probs default to a 60 %-correct int64/float32 pair."""
    d = root / "y2019"
    sub = d / f"{fw if fw == 'keras' else 'pytorch'}_imagenet"
    sub.mkdir(parents=True, exist_ok=True)
    if preds is None:
        preds = reference_preds()
    if probs is None:
        probs = np.tile(np.array([0.1, 0.5, 0.2, 0.1, 0.1], np.float32), (len(preds), 1))
    if not isinstance(preds, (str, Path)):
        np.save(sub / f"{model}_{fw}_imagenet_top5preds.npy", preds)
    if not isinstance(probs, (str, Path)):
        np.save(sub / f"{model}_{fw}_imagenet_top5probs.npy", probs)
    return d


def reference_preds() -> np.ndarray:
    """int64 (50000, 5): column 1 (the most probable) holds the label for 60 % of rows."""
    labels = np.arange(N2019) // 50
    rng = np.random.default_rng(1)
    preds = (labels[:, None] + np.arange(1, 6)[None]) % 1000
    hit = rng.random(N2019) < 0.6
    preds[hit, 1] = labels[hit]
    return preds.astype(np.int64)


def _expect_acc(expected: str):
    def check(out: str) -> None:
        assert expected in out, f"expected acc@1 {expected} in output:\n{out}"
    return check


def _ref_acc1() -> str:
    labels = np.arange(N2019) // 50
    return f"{100.0 * (reference_preds()[:, 1] == labels).mean():.2f}"


for _dtype, _outcome in [("int32", "correct"), ("uint16", "correct"), ("uint64", "correct"),
                         ("int16", "correct"), ("uint8", "refused"), ("int8", "refused")]:
    def _build(root: Path, dtype=_dtype, outcome=_outcome) -> Setup:
        d = layout_2019(root, preds=reference_preds().astype(dtype))
        if outcome == "correct":
            return Setup(argv=["score", "--precomputed", str(d)], rc=0,
                         messages=[r"keras:ResNet50\.imagenet\+legacy2019"],
                         check=_expect_acc(_ref_acc1()))
        return Setup(argv=["score", "--precomputed", str(d)],
                     messages=[rf"dtype {dtype} cannot hold class indices 0-999", "re-copy the original"])
    _build.__name__ = f"y2019_preds_{_dtype}"
    case("2019", _outcome)(_build)


@case("2019", "correct")
def y2019_probs_float16(root: Path) -> Setup:
    probs = np.tile(np.array([0.1, 0.5, 0.2, 0.1, 0.1], np.float16), (N2019, 1))
    d = layout_2019(root, probs=probs)
    return Setup(argv=["score", "--precomputed", str(d)], rc=0, check=_expect_acc(_ref_acc1()))


@case("2019", "refused")
def y2019_preds_float(root: Path) -> Setup:
    d = layout_2019(root, preds=reference_preds().astype(np.float64))
    return Setup(argv=["score", "--precomputed", str(d)], messages=[r"dtype float64, expected integer"])


@case("2019", "refused")
def y2019_preds_bool(root: Path) -> Setup:
    d = layout_2019(root, preds=np.ones((N2019, 5), bool))
    return Setup(argv=["score", "--precomputed", str(d)], messages=[r"dtype bool, expected integer"])


@case("2019", "refused")
def y2019_probs_without_preds(root: Path) -> Setup:
    d = layout_2019(root)
    layout_2019(root, preds="absent", model="vgg16")
    return Setup(argv=["score", "--precomputed", str(d)],
                 messages=[r"vgg16_keras_imagenet_top5probs.npy: its predictions file .*"
                           r"vgg16_keras_imagenet_top5preds.npy is missing"])


@case("2019", "refused")
def y2019_preds_without_probs(root: Path) -> Setup:
    d = layout_2019(root)
    layout_2019(root, probs="absent", model="vgg16")
    return Setup(argv=["score", "--precomputed", str(d)],
                 messages=[r"vgg16_keras_imagenet_top5preds.npy: its probabilities file .* is missing"])


@case("2019", "refused")
def y2019_npz_named_npy(root: Path) -> Setup:
    d = layout_2019(root, preds="absent")
    np.savez(d / "keras_imagenet" / "x.npz", a=reference_preds())
    os.rename(d / "keras_imagenet" / "x.npz", d / "keras_imagenet" / "resnet50_keras_imagenet_top5preds.npy")
    return Setup(argv=["score", "--precomputed", str(d)],
                 messages=[r"top5preds.npy: is an .npz \(zip\) archive named .npy"])


@case("2019", "refused")
def y2019_zero_byte_npy(root: Path) -> Setup:
    d = layout_2019(root, preds="absent")
    (d / "keras_imagenet" / "resnet50_keras_imagenet_top5preds.npy").write_bytes(b"")
    return Setup(argv=["score", "--precomputed", str(d)],
                 messages=[r"2019 predictions .*top5preds.npy: cannot be read: it is empty \(0 bytes\)"])


@case("2019", "refused")
def y2019_header_declares_huge(root: Path) -> Setup:
    d = layout_2019(root, preds="absent")
    (d / "keras_imagenet" / "resnet50_keras_imagenet_top5preds.npy").write_bytes(
        npy_header((5_000_000_000, 5), "<i8") + b"\0" * 64)
    return Setup(argv=["score", "--precomputed", str(d)],
                 messages=[r"declares shape \(5000000000, 5\) int64; 5000000000 rows, but the image list has 50000"])


@case("2019", "refused")
def y2019_truncated_npy(root: Path) -> Setup:
    d = layout_2019(root)
    f = d / "keras_imagenet" / "resnet50_keras_imagenet_top5probs.npy"
    f.write_bytes(f.read_bytes()[:5000])
    return Setup(argv=["score", "--precomputed", str(d)], messages=[r"top5probs.npy: declares .* truncated"])


@case("2019", "refused")
def y2019_object_npy(root: Path) -> Setup:
    d = layout_2019(root, preds="absent")
    np.save(d / "keras_imagenet" / "resnet50_keras_imagenet_top5preds.npy",
            np.array([None] * 5, dtype=object), allow_pickle=True)
    return Setup(argv=["score", "--precomputed", str(d)], messages=[r"holds Python objects \(pickled data\)"])


@case("2019", "refused")
def y2019_wrong_rows(root: Path) -> Setup:
    d = layout_2019(root, preds=reference_preds()[:49999])
    return Setup(argv=["score", "--precomputed", str(d)],
                 messages=[r"49999 rows, but the image list has 50000.*--val-dir"])


@case("2019", "refused")
def y2019_three_dims(root: Path) -> Setup:
    d = layout_2019(root, preds=reference_preds()[:, :, None])
    return Setup(argv=["score", "--precomputed", str(d)], messages=[r"declares shape \(50000, 5, 1\)"])


@case("2019", "refused")
def y2019_class_index_1000(root: Path) -> Setup:
    preds = reference_preds()
    preds[7, 2] = 1000
    d = layout_2019(root, preds=preds)
    return Setup(argv=["score", "--precomputed", str(d)], messages=[r"class index out of range 0-999 at row 7"])


@case("2019", "refused")
def y2019_negative_probability(root: Path) -> Setup:
    probs = np.tile(np.array([0.1, 0.5, 0.2, 0.1, 0.1], np.float32), (N2019, 1))
    probs[3, 0] = -0.5
    d = layout_2019(root, probs=probs)
    return Setup(argv=["score", "--precomputed", str(d)], messages=[r"not finite or negative at row 3"])


@case("2019", "refused")
def y2019_uint8_import_writes_nothing(root: Path) -> Setup:
    """`import` of uint8 predictions is refused and writes no table (it did, with 18.88 %, before)."""
    d = layout_2019(root, preds=reference_preds().astype(np.uint8))
    out = root / "out"

    def check(_: str) -> None:
        assert not out.exists() or not list(out.iterdir()), list(out.iterdir())
    return Setup(argv=["import", str(d), "-o", str(out)], check=check,
                 messages=[r"dtype uint8 cannot hold class indices"])


# --- options ----------------------------------------------------------------------------------

def _score_with(root: Path, option: str, value) -> Setup:
    d = cache_dir(root)
    path = root / "opt.npy"
    if isinstance(value, bytes):
        path.write_bytes(value)
    elif value is not None:
        np.save(path, value)
    return Setup(argv=["score", "--precomputed", str(d), option, str(path)], protect=protected(d))


@case("option", "refused")
def keep_file_missing(root: Path) -> Setup:
    s = _score_with(root, "--keep", None)
    s.messages, s.absent = [r"--keep .*opt.npy: no such file. Fix: check the path"], [r"numpy.save"]
    return s


@case("option", "refused")
def keep_is_npz(root: Path) -> Setup:
    s = _score_with(root, "--keep", None)
    np.savez(root / "opt.npz", a=np.arange(2))
    os.rename(root / "opt.npz", root / "opt.npy")
    s.messages = [r"opt.npy: is an .npz \(zip\) archive named .npy"]
    return s


@case("option", "refused")
def keep_two_dims(root: Path) -> Setup:
    s = _score_with(root, "--keep", np.zeros((2, 2), np.int64))
    s.messages = [r"--keep .*opt.npy: declares shape \(2, 2\) int64; expected a 1-D array"]
    return s


@case("option", "refused")
def keep_header_huge(root: Path) -> Setup:
    s = _score_with(root, "--keep", npy_header((10 ** 10,), "<i8"))
    s.messages = [r"declares shape \(10000000000,\).*more entries than the 4 images"]
    return s


@case("option", "refused")
def keep_out_of_range(root: Path) -> Setup:
    s = _score_with(root, "--keep", np.array([0, 9]))
    s.messages = [r"index 9 is outside 0..3"]
    return s


@case("option", "refused")
def keep_zero_bytes(root: Path) -> Setup:
    s = _score_with(root, "--omit", b"")
    s.messages = [r"--omit .*opt.npy: cannot be read: it is empty \(0 bytes\)"]
    return s


@case("option", "refused")
def labels_float(root: Path) -> Setup:
    s = _score_with(root, "--labels", np.zeros(4, np.float32))
    s.messages = [r"--labels .*expected a 1-D integer array, got dtype float32"]
    return s


@case("option", "refused")
def labels_too_many(root: Path) -> Setup:
    s = _score_with(root, "--labels", np.zeros(7, np.int64))
    s.messages = [r"more entries than the 4 images"]
    return s


@case("option", "refused")
def precomputed_is_file(root: Path) -> Setup:
    f = root / "file.npz"
    f.write_bytes(b"x")
    return Setup(argv=["score", "--precomputed", str(f)], messages=[r"is a file, not a directory"])


@case("option", "refused")
def precomputed_absent(root: Path) -> Setup:
    return Setup(argv=["score", "--precomputed", str(root / "nope")], messages=[r"nope: no such directory"])


@case("option", "refused")
def output_is_a_directory(root: Path) -> Setup:
    d = cache_dir(root)
    (root / "table").mkdir()
    return Setup(argv=["score", "--precomputed", str(d), "-o", str(root / "table")], protect=protected(d),
                 messages=[r"error: .*table is a directory; give a file name. Fix:"], absent=["error::"])


@case("option", "refused")
def output_under_a_file(root: Path) -> Setup:
    d = cache_dir(root)
    (root / "f.txt").write_text("x")
    return Setup(argv=["score", "--precomputed", str(d), "-o", str(root / "f.txt" / "t.csv")],
                 protect=[root / "f.txt", *protected(d)],
                 messages=[r"f.txt/t.csv: a file is in the way where a folder is needed: \S*f.txt. Fix:"])


@case("option", "refused")
def keep_is_a_directory(root: Path) -> Setup:
    d = cache_dir(root)
    (root / "k").mkdir()
    return Setup(argv=["score", "--precomputed", str(d), "--keep", str(root / "k")], protect=protected(d),
                 messages=[r"--keep .*k: is a directory, not a file"])


# --- images and runs (a tiny random model) ----------------------------------------------------

def tiny_model():
    """A 1,000-class model small enough for tests: global average of RGB -> linear (seeded)."""
    import torch
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 1000))


def slow_tiny_model():
    """:func:`tiny_model` pausing per batch (same outputs): for SIGTERM and lock tests.

    The pause is ``$CORPUS_PAUSE`` seconds (default 0.25).
    """
    import time

    import torch

    class Slow(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = tiny_model()

        def forward(self, x):
            time.sleep(float(os.environ.get("CORPUS_PAUSE", "0.25")))
            return self.inner(x)
    return Slow()


def must_not_build():
    """A model factory that fails if called: proves a check happened before the model was built."""
    raise AssertionError("the model was built before the check that should have refused the run")


def small_valset(root: Path, per_class: int = 2, classes: int = 2) -> Path:
    """A few synthetic JPEGs in wnid folders, under official file names."""
    from conftest import make_valset
    return make_valset(root / "val", num_classes=classes, per_class=per_class)


def predict_argv(val: Path, out: Path, *extra: str, factory: str = "corpus:tiny_model") -> List[str]:
    """``predict`` with the tiny model, 32-pixel crops, no workers."""
    return ["predict", "--model-factory", factory, "--name", "tiny", "--resize", "32", "--crop", "32",
            "-b", "2", "-j", "0", "--no-progress", "--checkpoint-every", "2", "-o", str(out), *extra,
            str(val)]


def first_image(val: Path) -> Path:
    """The first image of the ImageFolder tree (sorted)."""
    return sorted(val.rglob("*.JPEG"))[0]


def png_bytes(width: int, height: int, bit_depth: int = 1, color_type: int = 0) -> bytes:
    """A valid all-zero greyscale PNG of any size, written without allocating its pixels in PIL."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\0" + bytes((width * bit_depth + 7) // 8)
    co = zlib.compressobj(9)
    idat = b"".join(co.compress(row) for _ in range(height)) + co.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _replace_image(val: Path, data: Optional[bytes] = None, link_to: Optional[str] = None) -> Path:
    img = first_image(val)
    img.unlink()
    if link_to is not None:
        os.symlink(link_to, img)
    else:
        img.write_bytes(data)
    return img


def _image_case(name: str, make: Callable[[Path], Path], outcome: str, messages: Sequence[str],
                skip: bool = False, check: Optional[Callable] = None) -> None:
    def build(root: Path) -> Setup:
        val = small_valset(root)
        bad = make(val)
        extra = ["--skip-bad-images"] if skip else []
        msgs = [m.replace("{name}", bad.name) for m in messages]
        return Setup(argv=predict_argv(val, root / "out", *extra), rc=0 if outcome != "refused" else 2,
                     messages=msgs, check=check)
    build.__name__ = name
    case("image", outcome, slow=True)(build)


_BOMB = lambda val: _replace_image(val, png_bytes(20000, 20000))  # noqa: E731  400 Mpx, 50 kB
_STRIP = lambda val: _replace_image(val, png_bytes(200000, 1, 8))  # noqa: E731  200000x1
_LINK = lambda val: _replace_image(val, link_to="/nonexistent/target.JPEG")  # noqa: E731
_image_case("image_decompression_bomb", _BOMB, "refused",
            [r"{name}: cannot read image \(decompression bomb: Image size \(400000000 pixels\)",
             "--skip-bad-images"])
_image_case("image_decompression_bomb_skipped", _BOMB, "handled",
            [r"skipped unreadable image .*{name}: decompression bomb", r"1 unreadable, counted wrong"],
            skip=True)
_image_case("image_200000x1_strip", _STRIP, "refused",
            [r"{name}: cannot read image \(200000x1 pixels would become 6400000x32"])
_image_case("image_200000x1_strip_skipped", _STRIP, "handled",
            [r"1 unreadable, counted wrong"], skip=True)
_image_case("image_broken_symlink", _LINK, "refused",
            [r"{name}: cannot read image \(broken symbolic link to /nonexistent/target.JPEG\)"])
_image_case("image_broken_symlink_skipped", _LINK, "handled",
            [r"unreadable: .*{name}: broken symbolic link", r"1 unreadable, counted wrong"], skip=True)
_image_case("image_zero_bytes", lambda val: _replace_image(val, b""), "refused",
            [r"{name}: cannot read image \(UnidentifiedImageError"])
_image_case("image_text_named_jpeg", lambda val: _replace_image(val, b"hello, not a JPEG\n"), "refused",
            [r"{name}: cannot read image"])
_image_case("image_truncated_jpeg",
            lambda val: _replace_image(val, first_image(val).read_bytes()[:400]), "refused",
            [r"{name}: cannot read image \("])


def _pil_image_case(name: str, mode: str, make_array: Callable[[], np.ndarray], fmt: str,
                    expect_mean: float) -> None:
    """A valid image in an unusual mode: predicted, and decoded to the expected brightness."""
    def build(root: Path) -> Setup:
        from PIL import Image
        val = small_valset(root)
        img = first_image(val)
        arr = make_array()
        (Image.fromarray(arr) if mode == "I;16" else Image.fromarray(arr, mode)).save(img, format=fmt)

        def check(out: str) -> None:
            from imagenet_bench.data import pixels
            mean = float(np.asarray(pixels.load_rgb(str(img))).mean())
            assert abs(mean - expect_mean) < 1.0, f"decoded mean {mean}, expected {expect_mean}"
        return Setup(argv=predict_argv(val, root / "out"), rc=0, messages=[r"custom:tiny\+recipe-[0-9a-f]{8}: acc@1"],
                     check=check)
    build.__name__ = name
    case("image", "correct", slow=True)(build)


_pil_image_case("image_16bit_png", "I;16", lambda: np.full((40, 40), 32896, np.uint16), "PNG", 128.0)
_pil_image_case("image_cmyk_jpeg", "CMYK", lambda: np.zeros((40, 40, 4), np.uint8), "JPEG", 255.0)
_pil_image_case("image_grey_png", "L", lambda: np.full((40, 40), 77, np.uint8), "PNG", 77.0)
_pil_image_case("image_rgba_png", "RGBA", lambda: np.full((40, 40, 4), 200, np.uint8), "PNG", 200.0)
_pil_image_case("image_1x1", "RGB", lambda: np.full((1, 1, 3), 50, np.uint8), "PNG", 50.0)


# --- runner: checkpoints, output folder, locks, disk --------------------------------------------

def _run_once(root: Path, *extra: str) -> Path:
    """Run the tiny model once over a small set; return the output folder."""
    from imagenet_bench.cli import main as cli
    val = small_valset(root)
    out = root / "out"
    assert cli.main(predict_argv(val, out, *extra)) == 0
    return out


def _partial_beside(root: Path, data: bytes) -> Setup:
    """A finished cache's checkpoint name holding ``data``, and the command that resumes it."""
    out = _run_once(root)
    (final,) = cache.find_caches(str(out))
    os.remove(final)
    ckpt = Path(final[:-4] + ".partial.npz")
    ckpt.write_bytes(data)
    return Setup(argv=predict_argv(root / "val", out), protect=[ckpt])


@case("run", "refused", slow=True)
def checkpoint_random_bytes(root: Path) -> Setup:
    s = _partial_beside(root, np.random.default_rng(0).bytes(500))
    s.messages = [r"partial.npz: cannot be read as a checkpoint \(not a zip archive", "--overwrite"]
    return s


@case("run", "refused", slow=True)
def checkpoint_zero_bytes(root: Path) -> Setup:
    s = _partial_beside(root, b"")
    s.messages = [r"partial.npz: cannot be read as a checkpoint: it is empty", "--overwrite"]
    return s


@case("run", "refused", slow=True)
def checkpoint_missing_member(root: Path) -> Setup:
    buf = io.BytesIO()
    np.savez(buf, top5_idx=np.zeros((4, 5), np.int16), done=np.zeros(4, bool))
    s = _partial_beside(root, buf.getvalue())
    s.messages = [r"checkpoint .*partial.npz is damaged and cannot be resumed from \(KeyError", "--overwrite"]
    return s


@case("run", "refused", slow=True)
def checkpoint_header_huge(root: Path) -> Setup:
    data = io.BytesIO()
    zip_members(data, {"done": npy_header((3_000_000_000,), "|b1"), "top5_idx": npy_header((5, 5))})
    s = _partial_beside(root, data.getvalue())
    s.messages = [r"done declares 3,000,000,000 rows"]
    return s


@case("run", "handled", slow=True)
def checkpoint_damaged_overwrite(root: Path) -> Setup:
    s = _partial_beside(root, b"garbage")
    s.argv = s.argv[:-1] + ["--overwrite", s.argv[-1]]
    s.rc, s.protect = 0, []
    s.messages = [r"--overwrite: discarding damaged checkpoint", r"custom:tiny\+recipe-[0-9a-f]{8}: acc@1"]
    return s


@case("run", "refused", slow=True)
def checkpoint_wrong_shapes(root: Path) -> Setup:
    """A checkpoint whose arrays disagree with its own rows."""
    meta = {"checkpoint_version": 1, "key": {}, "start": 0, "stop": 4, "bad": [], "complete": False}
    buf = io.BytesIO()
    np.savez(buf, top5_idx=np.zeros((4, 5), np.int16), top5_prob=np.zeros((4, 5), np.float32),
             missing=np.zeros(4, bool), done=np.zeros(4, np.int8),
             meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    s = _partial_beside(root, buf.getvalue())
    s.messages = [r"done is int8 \(4,\), expected bool \(4,\)"]
    return s


@case("run", "refused", slow=True)
def output_folder_is_a_file(root: Path) -> Setup:
    val = small_valset(root)
    (root / "out").write_text("a file where the output folder should be")
    return Setup(argv=predict_argv(val, root / "out", factory="corpus:must_not_build"),
                 protect=[root / "out"], messages=[r"output folder .*out is not writable", "-o"])


@case("run", "refused", slow=True)
def output_folder_unwritable(root: Path) -> Setup:
    """Write permission denied (injected; root ignores modes), found before any model is built."""
    import tempfile
    val = small_valset(root)
    real = tempfile.TemporaryFile

    def denied(*a, **k):
        if str(root / "out") in str(k.get("dir", "")):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(*a, **k)
    return Setup(argv=predict_argv(val, root / "out", factory="corpus:must_not_build"),
                 patches=[(tempfile, "TemporaryFile", denied)],
                 messages=[r"output folder .*out is not writable \(Permission denied\)"])


@case("run", "handled", slow=True)
def stale_temporaries_cleaned(root: Path) -> Setup:
    """A run killed during its final write left a .tmp; the next run removes it."""
    out = _run_once(root)
    (final,) = cache.find_caches(str(out))
    os.remove(final)
    stale = Path(out) / f".{os.path.basename(final)}.abc123.tmp"
    stale.write_bytes(b"torn")

    def check(_: str) -> None:
        assert not stale.exists(), "stale temporary left in place"
    return Setup(argv=predict_argv(root / "val", out), rc=0, check=check, messages=[r"acc@1"])


def _enospc_when(fragment: str, unless: str = "\0", real=np.savez):
    """``real`` (a writer taking a file or path first) failing with ENOSPC on matching names."""

    def savez(file, *a, **k):
        name = str(getattr(file, "name", file))
        if fragment in name and unless not in name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(file, *a, **k)
    return savez


@case("run", "refused", slow=True)
def disk_full_on_final_write(root: Path) -> Setup:
    val = small_valset(root)
    out = root / "out"

    def check(_: str) -> None:
        ckpts = list(out.glob("*.partial.npz"))
        assert len(ckpts) == 1, "the finished checkpoint must be kept"
        assert not list(out.glob(".*.tmp")), "temporary left behind"
    return Setup(argv=predict_argv(val, out), check=check,
                 patches=[(npz, "write", _enospc_when(".val4-", unless=".partial", real=npz.write))],
                 messages=[r"val4-\w+\.npz: no space left on the device while writing it \(about [\d,]+ "
                           r"bytes needed, .* free in", "Nothing finished was lost"])


@case("run", "refused", slow=True)
def disk_full_on_checkpoint(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=predict_argv(val, root / "out"), patches=[(np, "savez", _enospc_when(".partial.npz"))],
                 messages=[r"partial.npz: no space left on the device"])


@case("run", "refused", slow=True)
def second_run_on_same_cache(root: Path) -> Setup:
    """Another process holds the lock of the checkpoint this run would write."""
    from imagenet_bench.run import locks
    out = _run_once(root)
    (final,) = cache.find_caches(str(out))
    os.remove(final)
    ckpt = final[:-4] + ".partial.npz"
    return Setup(argv=predict_argv(root / "val", out), hold=[lambda: locks.hold(ckpt)],
                 messages=[rf"another run is writing the same files: pid {os.getpid()} on host "])


@case("run", "refused", slow=True)
def corrupt_checkpoint_option_file(root: Path) -> Setup:
    val = small_valset(root)
    (root / "w.pth").write_bytes(b"not a state dict")
    return Setup(argv=predict_argv(val, root / "out", "--checkpoint", str(root / "w.pth")),
                 protect=[root / "w.pth"],
                 messages=[r"w.pth: cannot be loaded as a PyTorch state_dict \(UnpicklingError"])


for _opt, _val, _msg in [("--crop", "0", r"--crop 0: must be at least 1"),
                         ("--resize", "-1", r"--resize -1: must be at least 1"),
                         ("--threads", "0", r"--threads 0: must be at least 1"),
                         ("-j", "-1", r"--workers -1: must be at least 0"),
                         ("--checkpoint-every", "0", r"--checkpoint-every 0: must be at least 1"),
                         ("--std", "0.5,0,0.5", r"--std 0.5,0.0,0.5: every value must be above 0"),
                         ("--device", "foo", r"--device 'foo' is not a device")]:
    def _build(root: Path, opt=_opt, val=_val, msg=_msg) -> Setup:
        valdir = small_valset(root)
        argv = predict_argv(valdir, root / "out")
        if opt in argv:  # an option is given once (a second one is refused as such)
            argv[argv.index(opt) + 1] = val
            return Setup(argv=argv, messages=[msg])
        return Setup(argv=argv[:-1] + [opt, val, argv[-1]], messages=[msg])
    _build.__name__ = f"predict_option_{_opt.strip('-').replace('-', '_')}_{_val}".replace(",", "_").replace(
        "-", "neg").replace(".", "")
    case("option", "refused", slow=_opt in ("--std", "--device"))(_build)


NOT_CALLABLE = [1, 2]


def failing_factory():
    """A factory with a bug of its own."""
    return {}["missing"]


@case("option", "refused", slow=True)
def model_factory_not_callable(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=predict_argv(val, root / "out", factory="corpus:NOT_CALLABLE"),
                 messages=[r"--model-factory 'corpus:NOT_CALLABLE' is a list, not a callable"])


@case("option", "refused", slow=True)
def model_factory_raises(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=predict_argv(val, root / "out", factory="corpus:failing_factory"),
                 messages=[r"--model-factory 'corpus:failing_factory' raised KeyError: 'missing'.*--debug"])


@case("run", "refused")
def bad_rank_environment(root: Path) -> Setup:
    from imagenet_bench.run import runner
    return Setup(call=runner.shard_from_env, env={"RANK": "x", "WORLD_SIZE": "2"},
                 messages=[r"RANK='x' / WORLD_SIZE='2' are not integers"])


# --- backends and installs --------------------------------------------------------------------

#: a patch value meaning "delete this key" (re-imported on next use)
DELETE = object()


def _hide(missing: str, *reimport: str) -> List[tuple]:
    """Patches making ``import <missing>`` fail as if it were not installed; ``reimport`` modules are
    dropped from ``sys.modules`` so that importing them again meets the missing one."""
    return [(sys.modules, missing, None)] + [(sys.modules, m, DELETE) for m in reimport]


@case("backend", "refused")
def predict_without_torch(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=predict_argv(val, root / "out"),
                 patches=_hide("torch", "imagenet_bench.backends.torch"),
                 messages=[r"models need torch|no imagenet_bench.backends.torch", r"pip install 'imagenet_bench\[torch\]'"])


@case("backend", "refused")
def verify_without_keras(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=["verify", "drift", "--model", "mobilenetV2", str(val)],
                 patches=_hide("keras", "imagenet_bench.backends.keras.child"),
                 messages=[r"pip install 'imagenet_bench\[keras\]'"])


@case("backend", "refused")
def verify_torch_without_torch(root: Path) -> Setup:
    val = small_valset(root)
    return Setup(argv=["verify", "determinism", "--framework", "torch", "--model", "resnet18", str(val)],
                 patches=_hide("torch", "imagenet_bench.backends.torch"),
                 messages=[r"pip install 'imagenet_bench\[torch\]'"])


@case("backend", "refused")
def demo_without_torch(root: Path) -> Setup:
    return Setup(argv=["demo", "--dir", str(root / "demo")],
                 patches=_hide("torch", "imagenet_bench.backends.torch"),
                 messages=[r"pip install 'imagenet_bench\[demo\]'"])


def die_at_startup(conn, *args) -> None:
    """A Keras child that dies before answering (as when TensorFlow crashes on import)."""
    os._exit(3)


def die_after_ready(conn, qualname, *args) -> None:
    """A Keras child that says it is ready, then dies."""
    conn.send(("ready", ("mobilenetv2", {"weights": "x"})))
    os._exit(4)


def _keras_backend(target):
    from imagenet_bench.backends.keras import parent
    from imagenet_bench.run import config

    class Dying(parent.KerasProcessBackend):
        _target = staticmethod(target)
    return Dying(config.build("keras:mobilenetV2", weights="none"))


@case("backend", "refused", slow=True)
def keras_child_dies_at_startup(root: Path) -> Setup:
    return Setup(call=lambda: _keras_backend(die_at_startup),
                 messages=[r"Keras worker process for keras:[\w.+-]+ died while starting \(exit code 3\)"])


@case("backend", "refused", slow=True)
def keras_child_dies_after_ready(root: Path) -> Setup:
    def call():
        b = _keras_backend(die_after_ready)
        try:
            b._proc.join(10)
            for _ in range(3):  # a send may still succeed into the pipe buffer; the reply cannot come
                b.predict(np.zeros((1, 224, 224, 3), np.uint8))
        finally:
            b.close()
    return Setup(call=call, messages=[r"Keras worker process for keras:[\w.+-]+ died \(exit code 4\); "
                                      r"finished images are checkpointed"])


# --- issue #18 round 2: contradictions, nothing to do, recipe values (refused before any image) --

def _refused_before_images(root: Path, *extra: str, messages: Sequence[str]) -> Setup:
    """``predict`` on a VAL_DIR that does not exist: refused for the option (never for the folder,
    which proves no image was looked at) and nothing written under ``-o``."""
    out = root / "runs"

    def nothing_written(_text: str) -> None:
        assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())
    return Setup(argv=["predict", str(root / "val"), "-o", str(out), "--no-progress", *extra],
                 messages=messages, absent=[r"val: ", "skip-bad-images"], check=nothing_written)


@case("option", "refused")
def name_bf16_contradicts_amp(root: Path) -> Setup:
    return _refused_before_images(root, "-m", "torch:resnet18+bf16", "--amp", "fp16", messages=[
        r"torch:resnet18\+bf16: \+bf16 in the name contradicts --amp fp16.*Fix: drop \+bf16 from "
        r"the name, or leave --amp out"])


@case("option", "refused")
def name_random_contradicts_weights(root: Path) -> Setup:
    return _refused_before_images(
        root, "-m", "torch:resnet18+random", "--weights", "IMAGENET1K_V1", messages=[
            r"\+random in the name contradicts --weights IMAGENET1K_V1.*leave --weights out"])


@case("option", "refused")
def name_legacy_contradicts_preprocess(root: Path) -> Setup:
    return _refused_before_images(
        root, "-m", "torch:resnet18+legacy2019", "--preprocess", "reference", messages=[
            r"\+legacy2019 in the name contradicts --preprocess reference"])


@case("option", "refused")
def model_name_empty(root: Path) -> Setup:
    return _refused_before_images(root, "-m", "", messages=[r"--model '': no model name given. Fix: -m NAME"])


@case("option", "refused")
def model_list_only_commas(root: Path) -> Setup:
    return _refused_before_images(root, "-m", ",", messages=[r"--model ',': no model name given"])


@case("option", "refused")
def all_selects_nothing(root: Path) -> Setup:
    return _refused_before_images(root, "--all", "--framework", "timm", messages=[
        r"--all --framework timm: selects no model.*Fix: --all --framework keras or torch"])


def _recipe_value_case(option: str, value: str, message: str):
    def build(root: Path) -> Setup:
        return _refused_before_images(root, "-m", "torch:resnet18", option, value,
                                      messages=[message])
    build.__name__ = f"recipe_{option.strip('-').replace('-', '_')}_{value.replace('.', '_')}"
    case("option", "refused")(build)


for _option, _value, _message in (
        ("--std", "nan", r"--std nan,nan,nan: every value must be a finite number.*leave --std out"),
        ("--std", "inf", r"--std inf,inf,inf: every value must be a finite number"),
        ("--mean", "nan", r"--mean nan,nan,nan: every value must be a finite number"),
        ("--mean", "0.5,inf,0.5", r"--mean 0.5,inf,0.5: every value must be a finite number"),
        ("--resize", "100000", r"--resize 100000: must be a number of pixels from 1 to 4096"),
        ("--crop", "5000", r"--crop 5000: must be a number of pixels from 1 to 4096"),
        ("--crop-pct", "nan", r"--crop-pct nan: must be a finite fraction above 0"),
        ("--crop-pct", "0", r"--crop-pct 0.0: must be a finite fraction above 0"),
        ("--img-size", "100000", r"--img-size 100000: must be a number of pixels from 1 to 4096")):
    _recipe_value_case(_option, _value, _message)



# --- issue #18 round 2: images counted once; class-folder links that lead nowhere named -------

def _discover_argv(root: Path, val: Path, *extra: str) -> List[str]:
    return ["predict", str(val), "-m", "torch:resnet18", "--weights", "none", "-o", str(root / "runs"),
            "--no-progress", *extra]


def _a_jpeg() -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 30, 200)).save(buf, "JPEG")
    return buf.getvalue()


@case("image", "refused")
def flat_files_differing_by_case(root: Path) -> Setup:
    val = root / "val"
    val.mkdir()
    for name in ("ILSVRC2012_val_00000347.JPEG", "ILSVRC2012_val_00000347.jpeg",
                 "ILSVRC2012_val_00000355.JPEG"):
        (val / name).write_bytes(_a_jpeg())
    return Setup(argv=_discover_argv(root, val), messages=[
        r"ILSVRC2012_val_00000347.JPEG and ILSVRC2012_val_00000347.jpeg are one image \(same "
        r"validation number\); it would be counted twice. Fix: keep one of the two files"])


@case("image", "refused")
def class_folder_files_differing_by_case(root: Path) -> Setup:
    val = root / "val" / "n01440764"
    val.mkdir(parents=True)
    for name in ("sketch_1.JPEG", "SKETCH_1.JPEG"):
        (val / name).write_bytes(_a_jpeg())
    return Setup(argv=_discover_argv(root, root / "val", "--dataset", "imagenet-sketch"), messages=[
        r"n01440764/SKETCH_1.JPEG and n01440764/sketch_1.JPEG are one image \(same name but for "
        r"case\)"])


def _class_folder_link_case(root: Path, make_link) -> Setup:
    val = root / "val"
    (val / "n01440764").mkdir(parents=True)
    (val / "n01440764" / "a.JPEG").write_bytes(_a_jpeg())
    make_link(val / "n01443537")
    return Setup(argv=_discover_argv(root, val, "--dataset", "imagenet-sketch"), messages=[])


@case("image", "refused")
def class_folder_link_broken(root: Path) -> Setup:
    s = _class_folder_link_case(root, lambda p: os.symlink(str(root / "gone"), p))
    s.messages = [r"1 class folder link\(s\) lead nowhere.*val/n01443537 is a broken symbolic link "
                  r"\(to .*gone\).*Fix: restore each link's target, or remove the link"]
    return s


@case("image", "refused")
def class_folder_link_loop(root: Path) -> Setup:
    s = _class_folder_link_case(root, lambda p: os.symlink(p.name, p))
    s.messages = [r"val/n01443537 is a symbolic link loop"]
    return s



# --- issue #18 round 2: a check that cannot fail says so ---------------------------------------

def _uniform_outputs():
    """An in-process backend whose every output is exactly 0.001 (random Keras weights do this)."""
    from imagenet_bench.run.backend import Backend

    class UniformOutputs(Backend):
        batch_size = 1

        class config:
            model_id = "keras:MobileNetV2.imagenet+random"

        def provenance(self):
            return {}

        def preprocess(self, path):
            return np.zeros((4, 4, 3), np.uint8)

        def predict(self, pxs):
            return np.full((len(pxs), 1000), 0.001, np.float32)

    return UniformOutputs()



@case("backend", "handled")
def determinism_on_uniform_outputs(root: Path) -> Setup:
    from imagenet_bench.api import verifying
    val = small_valset(root)
    return Setup(argv=["verify", "determinism", "--model", "mobilenetV2", "--weights", "none",
                       str(val), "--n", "3", "-b", "2"], rc=4,
                 patches=[(verifying, "_backend", lambda *args: _uniform_outputs())],
                 messages=[r"inconclusive: all 3 outputs are uniform .*no difference could show"],
                 absent=[r"^OK$"])



# --- issue #18 round 3: one protocol, one name, hints that work, equivalent runs ------------

def _a_folder(root: Path) -> Path:
    """Two ImageNet-A caches (masked 100.00 / 93.33, unmasked 86.67 / 73.33; tests/test_protocol.py)."""
    import set_caches
    import test_protocol
    d = root / "a"
    set_caches.write(d, [test_protocol._cache(test_protocol.A, 15, 13),
                         test_protocol._cache(test_protocol.B, 14, 11)])
    return d


def _protocol_case(command: str, flag: Sequence[str], want: str):
    def build(root: Path) -> Setup:
        d = _a_folder(root)
        models = ["timm:resnet18.a1_in1k", "timm:resnet50.a1_in1k"] if command in (
            "compare", "per-class") else []
        return Setup(argv=[command, *models, "--precomputed", str(d), "--format", "csv", *flag],
                     rc=0, messages=[want], protect=list(d.glob("*.npz")))
    build.__name__ = f"protocol_{command.replace('-', '_')}_{'unmasked' if flag else 'masked'}"
    case("cache", "correct")(build)


for _command, _masked, _unmasked in (
        ("score", r"timm:resnet18.a1_in1k,100\.0+,", r"timm:resnet18.a1_in1k,86\.66"),
        ("compare", r",100\.0+,93\.33", r",86\.66\d*,73\.33"),
        ("errors", r",masked", r",unmasked"),
        ("robustness", r"timm:resnet50.a1_in1k,93\.33", r"timm:resnet50.a1_in1k,73\.33")):
    _protocol_case(_command, (), _masked)
    _protocol_case(_command, ("--protocol", "unmasked"), _unmasked)


@case("option", "refused")
def robustness_without_its_folder(root: Path) -> Setup:
    return Setup(argv=["robustness", "--precomputed", str(root / "nowhere")],
                 messages=[r"nowhere: no such directory. Fix: pass the folder holding the .npz caches \(--precomputed DIR"])


@case("option", "refused")
def score_real_labels_on_other_names(root: Path) -> Setup:
    d = _a_folder(root)
    return Setup(argv=["score", "--precomputed", str(d), "--labels", "real"],
                 messages=[r"not an official ImageNet 2012 validation file.*leave out --labels real"],
                 absent=[r"--labels original"])


@case("option", "refused")
def verify_drift_of_a_torch_model(root: Path) -> Setup:
    return Setup(argv=["verify", "drift", "-m", "torch:resnet18", str(small_valset(root))],
                 messages=[r"the torch library does not offer this check.*verify determinism -m "
                           r"torch:resnet18 VAL_DIR"], absent=[r"--framework keras"])


@case("image", "refused")
def v2_layout_given_as_val(root: Path) -> Setup:
    from conftest import synthetic_image
    for k in (0, 1):
        (root / "v2" / str(k)).mkdir(parents=True, exist_ok=True)
        synthetic_image(k).save(root / "v2" / str(k) / f"img{k}.jpeg")
    return _refused_at_discovery(root, root / "v2", [r"name the set imagenet-v2-matched-frequency=DIR"])


def _refused_at_discovery(root: Path, val: Path, messages: Sequence[str]) -> Setup:
    return Setup(argv=["predict", str(val), "-m", "torch:resnet18", "--weights", "none", "-o",
                       str(root / "runs"), "--no-progress"], messages=messages)


for _bad in ("a:b", "tiny+random", "bad name"):
    def _name_case(root: Path, _bad=_bad) -> Setup:
        argv = predict_argv(small_valset(root), root / "out")
        argv[argv.index("--name") + 1] = _bad
        return Setup(argv=argv, messages=[r"--name .*e\.g\. --name my_resnet"],
                     absent=[r"--framework custom", r"framework:architecture"])
    _name_case.__name__ = f"name_option_{_bad.replace(':', '_colon_').replace('+', '_plus_').replace(' ', '_')}"
    case("option", "refused")(_name_case)


@case("option", "refused")
def output_under_a_file_names_the_users_path(root: Path) -> Setup:
    d = _a_folder(root)
    (root / "f").write_text("x")
    return Setup(argv=["robustness", "--precomputed", str(d), "-o", str(root / "f" / "t.txt")],
                 messages=[r"f/t.txt: a file is in the way where a folder is needed: \S*f\. Fix"],
                 absent=[r"\.tmp"], protect=[root / "f"])


@case("option", "refused")
def custom_id_given_to_predict(root: Path) -> Setup:
    return _refused_before_images(root, "-m", "custom:tiny", messages=[
        r"'custom:tiny' is the id of a --model-factory model.*--model-factory MODULE:CALLABLE --name tiny"])


@case("option", "refused")
def recipe_hash_given_to_predict(root: Path) -> Setup:
    return _refused_before_images(root, "-m", "torch:resnet18+recipe-1234abcd", messages=[
        r"\+recipe-1234abcd cannot be requested by name: it is a hash of the recipe options.*--resize 256"])


@case("option", "refused")
def checkpoint_hash_given_to_predict(root: Path) -> Setup:
    return _refused_before_images(root, "-m", "torch:resnet18+ckpt-1234abcd", messages=[
        r"\+ckpt-1234abcd cannot be requested by name.*--checkpoint FILE.*sha256 starts with 1234abcd"])


@case("option", "correct")
def models_accepts_a_printed_run_id(root: Path) -> Setup:
    return Setup(argv=["models", "torch:resnet18.IMAGENET1K_V1+random", "--format", "csv"], rc=0,
                 messages=[r"\+random is a run setting", r"\ntorch:resnet18.IMAGENET1K_V1,torch,"])


@case("option", "correct")
def models_accepts_a_short_name(root: Path) -> Setup:
    return Setup(argv=["models", "keras:ResNet50", "--format", "csv"], rc=0,
                 messages=[r"\nkeras:ResNet50.imagenet,keras,"])


@case("run", "refused")
def resumed_with_another_batch_size(root: Path) -> Setup:
    """A partial of -b 2 given -b 1: refused, naming the value it was started with and -b 2."""
    val = small_valset(root)
    out = root / "out"
    argv = predict_argv(val, out)
    argv[argv.index("-b") + 1] = "1"
    _partial_of(argv=predict_argv(val, out))
    return Setup(argv=argv, messages=[r"batch_size: 2 it was started with \(this run: 1\).*\(-b 2\)"])


def _partial_of(argv: List[str]) -> None:
    """Start ``predict argv`` and stop it after its first checkpoint (a partial cache)."""
    from unittest import mock
    from imagenet_bench.cli import main as cli
    from imagenet_bench.run import runner
    real = runner.checkpoint.State.save

    def save_then_stop(self, path):
        real(self, path)
        raise KeyboardInterrupt
    with mock.patch.object(runner.checkpoint.State, "save", save_then_stop):
        cli.main(argv)


@case("run", "correct")
def complete_cache_serves_another_batch_size(root: Path) -> Setup:
    val = small_valset(root)
    out = root / "out"
    from imagenet_bench.cli import main as cli
    cli.main(predict_argv(val, out))
    argv = predict_argv(val, out)
    argv[argv.index("-b") + 1] = "3"
    return Setup(argv=argv, rc=0, protect=list(out.glob("*.npz")), messages=[
        r"already holds this model's complete predictions \(made with batch_size: 2 there "
        r"\(this run: 3\): the same predictions\)"])


@case("run", "correct")
def complete_cache_with_all_probs_serves_a_plain_run(root: Path) -> Setup:
    val = small_valset(root)
    out = root / "out"
    from imagenet_bench.cli import main as cli
    cli.main(predict_argv(val, out, "--save-all-probs"))
    return Setup(argv=predict_argv(val, out), rc=0, protect=list(out.glob("*.npz")),
                 messages=[r"already holds this model's complete predictions"])


import corpus_round3  # noqa: E402,F401  (registers round 3's cases into CASES)


def counts() -> Dict[str, int]:
    """Number of cases per outcome."""
    out: Dict[str, int] = {}
    for c in CASES:
        out[c.outcome] = out.get(c.outcome, 0) + 1
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """Write every case's files under DIR/<case>/ and print the counts."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python tests/corpus.py DIR", file=sys.stderr)
        return 2
    cases = sys.modules["corpus"].CASES if "corpus" in sys.modules else CASES  # (run as a script)
    for c in cases:
        folder = Path(argv[0]) / c.name
        folder.mkdir(parents=True, exist_ok=True)
        s = c.build(folder)
        print(f"{c.kind:8} {c.outcome:8} {c.name}: {' '.join(s.argv) if s.argv else '(API call)'}")
    print(f"{len(CASES)} cases: " + ", ".join(f"{v} {k}" for k, v in sorted(counts().items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
