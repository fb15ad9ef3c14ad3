"""Golden outputs of the table commands: what `score`, `compare`, `robustness`, `errors`,
`per-class`, `sweep collect` and the HTML report's data print today, on the shipped 2019
caches and on a small mixed val/A/V2 folder built from synthetic caches.

    PYTHONPATH=tests python tools/golden.py          # rewrite tests/data/golden/*.txt from this checkout
    PYTHONPATH=tests python tools/golden.py --check  # compare instead, exit 1 naming the files that differ

(the synthetic-cache builders it uses live in tests/: set_caches, report_helpers)

tests/test_golden.py compares the same outputs with the files. Each file holds one command's
exit code, standard output and standard error; folder paths are written as <SHIPPED> and
<DIR> so the files do not depend on where the checkout or the temporary folder lives.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"
FORMATS = ("text", "csv", "markdown", "json", "tsv")
FULL = ["--ci", "--published", "--labels", "real"]

# (file name, folder kind, argv after the command's folder option is added)
# the folder kinds: shipped (precomputed/northcutt2019), mixed (val/A/V2 caches), val (the
# mixed folder's val caches alone: official file names, so ReaL labels apply), sweep (a sweep
# folder whose plan names the mixed folder's caches and one job not run)
CASES: List[Tuple[str, str, List[str]]] = (
    [("score.shipped.plain", "shipped", ["score"])]
    + [(f"score.shipped.full.{f}", "shipped", ["score", *FULL, "--format", f]) for f in FORMATS]
    + [("score.mixed.plain", "mixed", ["score", "--allow-mixed-datasets"])]
    + [(f"score.mixed.full.{f}", "mixed", ["score", "--allow-mixed-datasets", "--ci",
                                           "--published", "--format", f]) for f in FORMATS]
    + [("score.mixed.refused", "mixed", ["score"]),
       ("score.mixed.real", "mixed", ["score", "--allow-mixed-datasets", *FULL]),
       ("score.mixed.unmasked", "mixed", ["score", "--allow-mixed-datasets", "--ci",
                                          "--published", "--protocol", "unmasked"]),
       ("compare.shipped.pairs", "shipped", ["compare"]),
       ("compare.shipped.two.csv", "shipped", ["compare", "keras:resnet50", "torch:resnet50",
                                               "--ci", "--labels", "real", "--format", "csv"]),
       ("compare.mixed.pairs", "mixed", ["compare", "--format", "json"]),
       ("robustness.shipped", "shipped", ["robustness"]),
       ("robustness.mixed.text", "mixed", ["robustness"]),
       ("robustness.mixed.csv", "mixed", ["robustness", "--format", "csv"]),
       ("robustness.mixed.json", "mixed", ["robustness", "--format", "json"]),
       ("errors.shipped", "shipped", ["errors", "--limit", "15", "--labels", "real"]),
       ("errors.mixed", "mixed", ["errors"]),
       ("errors.val", "val", ["errors", "--labels", "real"]),
       ("score.val.full.csv", "val", ["score", *FULL, "--format", "csv"]),
       ("compare.val.two", "val", ["compare", "torch:resnet50", "timm:resnet50.a1_in1k", "--ci",
                                   "--labels", "real"]),
       ("per-class.val", "val", ["per-class", "timm:resnet18.a1_in1k", "--ci", "--sort",
                                 "accuracy"]),
       ("per-class.shipped", "shipped", ["per-class", "torch:resnet50", "--ci"]),
       ("per-class.mixed", "mixed", ["per-class", "timm:resnet18.a1_in1k", "--format", "json"]),
       ("sweep-collect.csv", "sweep", ["sweep", "collect", "--format", "csv"]),
       ("sweep-collect.json", "sweep", ["sweep", "collect", "--format", "json"]),
       ("sweep-collect.timm", "sweep", ["sweep", "collect", "--format", "timm"]),
       ("report-data.shipped", "shipped", ["report"]),
       ("report-data.mixed", "mixed", ["report"])])


def build_folders(tmp: str) -> Dict[str, str]:
    """The mixed val/A/V2 folder, its val caches alone, and a sweep folder over the mixed
    folder's caches (one job pending)."""
    import report_helpers  # noqa: E402 (tests/)
    from imagenet_bench.sweep import plan as plans

    mixed = os.path.join(tmp, "mixed")
    report_helpers.mixed_folder(mixed, bad_files=False)
    sweep = os.path.join(tmp, "sweep")
    os.makedirs(sweep)
    from imagenet_bench.cache.folder import load_folder
    caches = sorted(load_folder(mixed, use_index=False).preds, key=lambda p: p.path)
    from imagenet_bench.data import datasets
    val = os.path.join(tmp, "val")
    os.makedirs(val)
    for p in caches:
        if datasets.name_of(p) == datasets.DEFAULT:
            shutil.copy(p.path, val)
    jobs, sets = [], {}
    for p in caches:
        name = datasets.name_of(p)
        sets.setdefault(name, {"dir": "<DIR>", "images": p.num_images,
                               "fingerprint": p.fingerprint})
        mid = p.model_id
        jobs.append({"job": os.path.basename(p.path)[:-4], "model": p.model, "name": p.model,
                     "framework": mid.framework, "architecture": mid.arch, "dataset": name,
                     "images": p.num_images, "cache": os.path.basename(p.path), "group": None,
                     "done": True, "task": None})
    jobs.append(dict(jobs[0], job="pending-job", model="torch:resnet34.IMAGENET1K_V1",
                     name="torch:resnet34.IMAGENET1K_V1", architecture="resnet34", done=False,
                     cache="torch-resnet34.IMAGENET1K_V1.never-written.npz"))
    request = {"models": sorted({j["model"] for j in jobs}),
               "data": [[name, "<DIR>"] for name in sets]}
    plan = {"plan_version": plans.PLAN_VERSION, "request": request, "caches": mixed, "datasets": sets,
            "jobs": jobs, "tasks": [], "skipped": []}
    with open(os.path.join(sweep, plans.PLAN_FILE), "w", encoding="utf-8") as f:
        json.dump(plan, f, indent=1)
    return {"mixed": mixed, "val": val, "sweep": sweep}


def _argv(kind: str, argv: List[str], folders: Dict[str, str], out: str) -> List[str]:
    if kind == "sweep":
        extra = ["-o", out] if "timm" in argv else []
        return argv[:2] + [folders["sweep"]] + argv[2:] + extra
    if argv[0] == "report":
        return ["report", "--precomputed", folders[kind], "-o", out + ".html"]
    return argv + ["--precomputed", folders[kind]]


def _report_data(path: str) -> str:
    """The table data the page embeds (its ``report-data`` script), one key per line."""
    text = Path(path).read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    return json.dumps(json.loads(found.group(1).replace("<\\/", "</")), indent=1,
                      ensure_ascii=False) + "\n"


def run_case(name: str, kind: str, argv: List[str], folders: Dict[str, str], tmp: str) -> str:
    """One case's text: exit code, standard output and standard error (paths normalised)."""
    from imagenet_bench.cli.main import main
    out = os.path.join(tmp, "out", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(_argv(kind, argv, folders, out))
    body = stdout.getvalue()
    if argv[0] == "report" and code == 0:
        body = _report_data(out + ".html")
    elif "timm" in argv and code == 0:
        body += "".join(f"--- {f}\n{Path(out, f).read_text(encoding='utf-8')}"
                        for f in sorted(os.listdir(out)))
    err = stderr.getvalue()
    if argv[0] == "report":  # the timing and size of the page vary
        err = re.sub(r"\([0-9.]+ MB\)(.*) in [0-9.]+ s", r"(N MB)\1 in N s", err)
    text = f"exit {code}\n--- stdout\n{body}--- stderr\n{err}"
    return normalise(text, folders, tmp)


def normalise(text: str, folders: Dict[str, str], tmp: str) -> str:
    """Paths as placeholders: the shipped folder, the temporary folder."""
    from imagenet_bench.cache import locations
    return text.replace(locations.shipped_dir(), "<SHIPPED>").replace(
        os.path.realpath(tmp), "<DIR>").replace(tmp, "<DIR>")


def outputs(select: Callable[[str], bool] = lambda name: True) -> Dict[str, str]:
    """``{file name: text}`` of every selected case, made in a temporary folder (its own
    folder index under it, so no state outside is read or written)."""
    from imagenet_bench.cache import locations
    results: Dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = os.path.join(tmp, "xdg")
        try:
            folders = dict(build_folders(tmp), shipped=locations.shipped_dir())
            for name, kind, argv in CASES:
                if select(name):
                    results[name] = run_case(name, kind, argv, folders, tmp)
        finally:
            if old is None:
                os.environ.pop("XDG_CACHE_HOME", None)
            else:
                os.environ["XDG_CACHE_HOME"] = old
    return results


def main(argv=None) -> int:
    """Rewrite (or with --check compare) the golden files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    made = outputs()
    if args.check:
        differ = [n for n, t in made.items()
                  if not (GOLDEN / f"{n}.txt").is_file()
                  or (GOLDEN / f"{n}.txt").read_text(encoding="utf-8") != t]
        for n in differ:
            print(f"differs: tests/data/golden/{n}.txt")
        return 1 if differ else 0
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for n, t in made.items():
        (GOLDEN / f"{n}.txt").write_text(t, encoding="utf-8")
    print(f"wrote {len(made)} files to {GOLDEN.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
