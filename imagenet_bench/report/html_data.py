"""What the HTML report shows, computed by the functions ``score``, ``compare`` and ``robustness`` use.

:func:`build` reads any folders of caches (project caches, the 2019 layout,
``predict`` and sweep folders, searched recursively; any mix of test sets) and
returns a :class:`Document`:

* ``rows``: one per model x test set, the results document
  (:func:`analysis.results.build`) of each test set's caches with the columns of
  ``score --ci --published`` plus params/GFLOPs from the catalog, images/s from the
  cache's ``timing`` and the recipe;
* ``robustness``: :func:`analysis.results.across_sets` over the same caches;
* ``pairs``: the rows of :func:`analysis.results.paired` for
  :func:`analysis.compare.family_pairs`, plus ``ids``: the (keras, torch) ``ModelId`` pair;
* ``skipped``: every file that could not be scored and why (incomplete, damaged,
  over another image list of its test set, a second copy) -- never dropped;
* ``header``: tool version, library versions found in the caches, the test
  sets with their fingerprints, and the command.

No metric is computed here. numpy and the standard library only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import imagenet_bench
from imagenet_bench.analysis import compare, corruption, results, robustness, scorer, stats
from imagenet_bench.cache import folder as cache_folder
from imagenet_bench.cache import northcutt2019
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets
from imagenet_bench.errors import BenchError, InputError
from imagenet_bench.analysis import published

CONFIDENCE = stats.DEFAULT_CONFIDENCE


@dataclass(frozen=True)
class Skipped:
    """A file the report could not score, and why."""

    path: str
    reason: str


@dataclass
class Document:
    """Everything the page shows (see the module docstring)."""

    rows: List[Dict]
    robustness: Optional[robustness.Table]
    pairs: List[Dict]
    skipped: List[Skipped]
    header: Dict
    notes: List[str] = field(default_factory=list)
    size: int = 0  # bytes of the page, once written
    corruption: Optional[corruption.Table] = None  # ImageNet-C errors, CE and mCE (None: no caches)


# --- reading the folders ---------------------------------------------------------------------

def _incomplete(path: str) -> str:
    return (f"incomplete: checkpoint of a run that has not finished ({os.path.basename(path)}). "
            f"Fix: run the same `imagenet-bench predict` command again to resume it")


def _reason(message: str) -> str:
    return f"incomplete: {message}" if "complete=False" in message else f"damaged: {message}"


def _read_folder(folder: str, preds: List, skipped: List[Skipped], use_index: bool = True,
                 verify: bool = False) -> None:
    """Every cache under ``folder`` (recursively) through the folder loading of every command
    (:func:`cache.folder.load_folder`, bad files kept aside), plus the 2019 layout."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if northcutt2019.is_2019_layout(root):
            try:
                preds += northcutt2019.load_directory(root)
            except BenchError as e:
                skipped.append(Skipped(root, f"2019 layout not readable: {e}"))
            dirs[:] = [d for d in dirs if d not in ("keras_imagenet", "pytorch_imagenet")]
        for name in sorted(files):
            if name.endswith(".partial.npz") and not name.startswith("."):
                path = os.path.join(root, name)
                skipped.append(Skipped(path, _incomplete(path)))
        if any(f.endswith(".npz") for f in files):
            found = cache_folder.load_folder(root, use_index=use_index, verify=verify, skip_bad=True)
            preds += [scorer.upgrade_identity(p) for p in found.preds]
            skipped += [Skipped(path, _reason(message)) for path, message in found.skipped]


def collect(folders: Sequence[str], use_index: bool = True, verify: bool = False
            ) -> Tuple[List[cache.Predictions], List[Skipped]]:
    """Every readable complete cache under ``folders`` and every file that is not one."""
    preds: List[cache.Predictions] = []
    skipped: List[Skipped] = []
    _refuse_overlaps(folders)
    for folder in folders:
        if not os.path.isdir(folder):
            raise InputError(f"--precomputed {folder}: no such directory. Fix: pass folders "
                             f"holding .npz caches (e.g. runs/, a sweep folder, "
                             f"precomputed/northcutt2019)")
        _read_folder(folder, preds, skipped, use_index, verify)
    if not preds and skipped:  # say what each file is: its reason carries its fix
        listed = "\n".join(f"  {s.path}: {s.reason}" for s in skipped[:5])
        more = f"\n  ... {len(skipped) - 5} more" if len(skipped) > 5 else ""
        raise InputError(f"{', '.join(folders)}: no complete prediction cache found; "
                         f"{len(skipped)} file{'s' if len(skipped) != 1 else ''} not usable:\n"
                         f"{listed}{more}\nFix: mend each as its line says")
    if not preds:
        raise InputError(f"{', '.join(folders)}: no complete prediction cache found. "
                         f"Fix: make some with `imagenet-bench predict` or try `imagenet-bench demo`")
    return preds, skipped


def _refuse_overlaps(folders: Sequence[str]) -> None:
    """Refuse one folder given twice, or one inside another (both are searched recursively:
    its caches would be read twice), naming the two."""
    real = [(f, os.path.realpath(f)) for f in folders]
    for i, (a, ra) in enumerate(real):
        for b, rb in real[i + 1:]:
            if ra == rb:
                raise InputError(f"--precomputed {a} and --precomputed {b} are the same folder. "
                                 f"Fix: give it once")
            inner, outer = (b, a) if rb.startswith(ra + os.sep) else (a, b)
            if rb.startswith(ra + os.sep) or ra.startswith(rb + os.sep):
                raise InputError(f"--precomputed {inner} is inside --precomputed {outer}, which "
                                 f"is searched recursively: its caches would be read twice. "
                                 f"Fix: give {outer} alone")


def by_test_set(preds: Sequence[cache.Predictions], skipped: List[Skipped]
                ) -> Dict[str, List[cache.Predictions]]:
    """``{test set: caches}`` in table order; per set, the caches over its most common image
    list are kept, the others (and second copies of a model) go to ``skipped`` with the reason."""
    out: Dict[str, List[cache.Predictions]] = {}
    for name in datasets.names():
        ps = [p for p in preds if datasets.name_of(p) == name]
        if not ps:
            continue
        groups: Dict[str, List[cache.Predictions]] = {}
        for p in ps:
            groups.setdefault(p.fingerprint, []).append(p)
        fp = max(groups, key=lambda f: (len(groups[f]), groups[f][0].num_images))
        kept = groups[fp]
        for other, others in groups.items():
            if other != fp:
                skipped += [Skipped(p.where(), (
                    f"mixed image lists: {p.num_images:,} images of {name} (fingerprint "
                    f"{other[:12]}), not the {kept[0].num_images:,} (fingerprint {fp[:12]}) of "
                    f"the {len(kept)} caches scored; accuracies over different images are not "
                    f"comparable. Fix: report that folder on its own")) for p in others]
        seen: Dict[str, cache.Predictions] = {}
        for p in kept:
            if p.qualname in seen:
                skipped.append(Skipped(p.where(), f"a second cache of {p.qualname} on the same "
                                                  f"images (scored: {seen[p.qualname].where()})"))
            else:
                seen[p.qualname] = p
        out[name] = list(seen.values())
    return out


# --- the rows ------------------------------------------------------------------------------

def score_rows(preds: Sequence[cache.Predictions], margin: float = published.DEFAULT_MARGIN,
               protocol: str = scorer.DEFAULT_PROTOCOL, with_calibration: bool = False) -> List[Dict]:
    """The rows of one test set: the results document (:func:`analysis.results.build`) with
    ``score --ci --published``'s columns (A/R under ``protocol``), catalog costs, timing and
    recipe (and with ``with_calibration`` the calibration columns); where no published figure
    exists the note stands in the likely-reason column."""
    options = results.Options(protocol=protocol, ci=True, confidence=CONFIDENCE, published=True,
                              margin=margin, extra=("costs", "timing", "recipe")
                              + (("calibration",) if with_calibration else ()))
    rows = results.build(preds, options)
    for row in rows:
        if row["published_acc1"] is None:
            row["likely_reason"] = row["published_note"]
    return rows


def _pairs(preds: Sequence[cache.Predictions], notes: List[str],
           protocol: str = scorer.DEFAULT_PROTOCOL) -> List[Dict]:
    try:
        pairs, _absent = compare.family_pairs(preds)
    except BenchError as e:
        notes.append(f"Keras-vs-PyTorch pairs: {e}")
        return []
    rows = results.paired(pairs, results.Options(protocol=protocol))
    return [dict(row, test_set=datasets.name_of(a), ids=(a.model_id, b.model_id))
            for row, (a, b) in zip(rows, pairs)]


def _robustness(preds: Sequence[cache.Predictions], notes: List[str],
                protocol: str = scorer.DEFAULT_PROTOCOL) -> Optional[robustness.Table]:
    try:
        table = results.across_sets(preds, protocol=protocol)
    except BenchError as e:
        notes.append(f"robustness: {e}")
        return None
    notes += table.notes
    return table


def _header(sets: Dict[str, List[cache.Predictions]], command: str) -> Dict:
    libs: Dict[str, set] = {}
    for ps in sets.values():
        for p in ps:
            for lib, version in (p.provenance.get("library_versions") or {}).items():
                libs.setdefault(lib, set()).add(str(version))
    return {
        "tool": f"imagenet_bench {imagenet_bench.__version__}",
        "libraries": {lib: sorted(v) for lib, v in sorted(libs.items())},
        "test_sets": [{"name": n, "title": datasets.get(n).title, "images": ps[0].num_images,
                       "fingerprint": ps[0].fingerprint, "caches": len(ps),
                       "tag": cache.dataset_tag(ps[0].num_images, ps[0].fingerprint, n)}
                      for n, ps in sets.items()],
        "command": command,
        "confidence": CONFIDENCE,
    }


def build(folders: Sequence[str], command: str = "", margin: float = published.DEFAULT_MARGIN,
          use_index: bool = True, verify: bool = False,
          protocol: str = scorer.DEFAULT_PROTOCOL, with_calibration: bool = False) -> Document:
    """The :class:`Document` of every cache under ``folders`` (``use_index``/``verify``: as
    the ``--no-index``/``--verify`` of every command; ImageNet-A/-R scored under ``protocol``,
    recorded in the header; ``with_calibration``: the calibration figures of every row)."""
    preds, skipped = collect(folders, use_index, verify)
    sets = by_test_set(preds, skipped)
    rows: List[Dict] = []
    for name, ps in sets.items():
        rows += score_rows(ps, margin, protocol, with_calibration)
    scored = [p for ps in sets.values() for p in ps]
    notes: List[str] = []
    table = _robustness(scored, notes, protocol)
    pairs = _pairs(scored, notes, protocol)
    header = dict(_header(sets, command), protocol=protocol)
    c_table = corruption.build(scored, lambda p: 100.0 - robustness.top1(p))
    notes += c_table.notes
    return Document(rows, table, pairs, skipped, header, notes,
                    corruption=c_table if c_table.summary else None)
