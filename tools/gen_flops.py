"""Compute params and GFLOPs of the catalog entries whose library publishes none.

torchvision publishes both (``weights.meta``: ``num_params``, ``_ops``), Keras publishes
params (``count_params()`` at catalog generation) but no FLOPs, timm publishes neither in
its wheel. For each timm entry this tool builds the tagged model on PyTorch's ``meta``
device (no memory, no weights) and counts one forward pass of a 1x3xSxS input (S = the
entry's ``input_size``) with ``torch.utils.flop_counter.FlopCounterMode``; GFLOPs are
reported as torchvision reports them, multiply-adds / 1e9 (the counter's FLOPs / 2: the
two agree on every torchvision model checked, e.g. resnet50 4.089, vit_b_16 17.564).

The results go to ``imagenet_bench/models/data/flops.json`` (``{"models": {id: {"params",
"gflops", "input_size"} | {"error"}}}``), which ``models/catalog.py`` merges into entries
whose own ``params``/``gflops`` are null. Resumable: entries already in the file are kept;
the file is rewritten atomically every 25 models. Keras publishes no FLOPs either: with
``--keras`` each Keras Applications entry is built with random weights on Keras' PyTorch
backend (``KERAS_BACKEND=torch``, so the same counter sees every convolution and matmul)
and counted on one 1xSxSx3 input (about 1 s per model; e.g. ResNet50 3.858, MobileNetV2
0.301, VGG16 15.47 — torchvision's VGG16 ``_ops`` is 15.47 too). Before counting, every tag listed in timm's results tables gets timm's
``param_count`` (millions, 2 decimals) as its params; the meta-device count replaces it.

Published GMACs first: with ``--timm-benchmarks GIT_DIR`` (a clone of
github:huggingface/pytorch-image-models; ``--timm-commit`` names the commit, default its
HEAD, recorded in the file) every 1000-class timm entry whose (architecture, input_size)
appears in that commit's ``results/benchmark-infer-*.csv`` with an ``infer_gmacs`` value
gets it as its ``gflops`` (``gflops_source`` says which file): timm's GMACs are
multiply-accumulates / 1e9, the convention of torchvision's ``_ops`` this catalog uses,
so the number is stored as published, not doubled. Where several files list a pair,
the newest PyTorch version's file wins. Entries with another head (e.g. 21k classes) are
counted on the meta device instead, since timm benchmarks the default 1000-class head.

Usage: ``python tools/gen_flops.py [--timm-benchmarks GIT_DIR [--timm-commit SHA]]
[--limit N] [--report] [--keras]`` (timm on the meta device: about 1 s per model).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "imagenet_bench", "models", "data", "flops.json")


def count(model, size: int):
    """(params, GFLOPs as multiply-adds / 1e9) of ``model`` (on the meta device) at ``size``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    params = sum(p.numel() for p in model.parameters())
    fc = FlopCounterMode(display=False)
    with fc, torch.no_grad():
        model(torch.empty(1, 3, size, size, device="meta"))
    return int(params), round(fc.get_total_flops() / 2 / 1e9, 4)


def keras_entries(data: dict) -> int:
    """Count params/GFLOPs of every Keras catalog entry on Keras' torch backend into ``data``."""
    os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported (nothing here has)
    import keras
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from imagenet_bench.models import catalog
    n = 0
    for e in catalog.load("keras"):
        if "gflops" in data["models"].get(e.model, {}):
            continue
        build = getattr(keras.applications, e.builder.partition(":")[2])
        fc = FlopCounterMode(display=False)
        try:
            model = build(weights=None)
            with fc, torch.no_grad():
                model(torch.zeros(1, e.input_size, e.input_size, 3), training=False)
        except Exception as err:  # e.g. NASNetMobile refuses the torch backend: left empty
            data["models"][e.model] = {"error": f"{type(err).__name__}: {str(err)[:200]}"}
            print(f"{e.model}: not counted ({type(err).__name__})", flush=True)
            continue
        data["models"][e.model] = {"params": int(model.count_params()),
                                   "gflops": round(fc.get_total_flops() / 2 / 1e9, 4),
                                   "input_size": e.input_size,
                                   "gflops_source": f"counted on keras {keras.__version__} "
                                                    f"(torch backend {torch.__version__})"}
        n += 1
        write(data)
        print(f"{e.model}: {data['models'][e.model]['gflops']} GFLOPs", flush=True)
        keras.backend.clear_session()
    return n


def timm_entry(entry):
    """params/GFLOPs of one timm catalog entry, built on the meta device."""
    import timm
    import torch
    with torch.device("meta"):
        model = timm.create_model(f"{entry.architecture}.{entry.weights}", pretrained=False)
    try:
        params, gflops = count(model.eval(), entry.input_size)
    except Exception as err:  # the forward fails on meta (e.g. cait, pit): params still count
        return {"params": int(sum(p.numel() for p in model.parameters())),
                "input_size": entry.input_size,
                "error": f"GFLOPs not counted: {type(err).__name__}: {str(err)[:160]}"}
    return {"params": params, "gflops": gflops, "input_size": entry.input_size}


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True,
                          capture_output=True, text=True).stdout


def published_gmacs(git_dir: str, commit: str):
    """(full commit, {(arch, img_size): (gmacs, file)}) from timm's benchmark-infer CSVs."""
    commit = _git(git_dir, "rev-parse", commit).strip()
    files = [f for f in _git(git_dir, "ls-tree", "--name-only", commit, "results/").split()
             if os.path.basename(f).startswith("benchmark-infer-") and f.endswith(".csv")]
    # newest PyTorch version first (pt291 > pt240 > ...), then by name, so the newest wins
    files.sort(key=lambda f: (-int(re.search(r"-pt(\d+)-", f).group(1)), f))
    out = {}
    for f in files:
        for row in csv.DictReader(io.StringIO(_git(git_dir, "show", f"{commit}:{f}"))):
            try:
                key, gmacs = (row["model"], int(row["infer_img_size"])), float(row["infer_gmacs"])
            except (KeyError, TypeError, ValueError):
                continue
            out.setdefault(key, (gmacs, os.path.basename(f)))
    return commit, out


def add_published(data: dict, git_dir: str, commit: str) -> int:
    """Set ``gflops`` from timm's published GMACs (a meta-device count made before is kept
    as ``gflops_counted``)."""
    from imagenet_bench.models import catalog
    commit, table = published_gmacs(git_dir, commit)
    data["timm_benchmarks"] = {"repo": "github:huggingface/pytorch-image-models",
                               "commit": commit, "pairs": len(table)}
    n = 0
    for e in catalog.load("timm"):
        got = table.get((e.architecture, e.input_size))
        row = data["models"].setdefault(e.model, {})
        if got is None or e.num_classes != 1000 or "gflops_source" in row:
            continue
        if "gflops" in row:  # a meta-device count made before: the published figure wins
            row["gflops_counted"] = row["gflops"]
        row.update(gflops=got[0], gflops_source=f"timm {got[1]} infer_gmacs @ {commit[:12]}")
        n += 1
    return n


def write(data: dict) -> None:
    from imagenet_bench.cache.atomic import write_text
    write_text(OUT, json.dumps(data, indent=1, sort_keys=True) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="compute at most N new entries")
    ap.add_argument("--report", action="store_true", help="only count what is filled in")
    ap.add_argument("--timm-benchmarks", metavar="GIT_DIR",
                    help="git dir of a pytorch-image-models clone: take its published GMACs")
    ap.add_argument("--timm-commit", default="HEAD", help="commit of --timm-benchmarks")
    ap.add_argument("--published-only", action="store_true",
                    help="stop after taking the published figures (no meta-device counting)")
    ap.add_argument("--keras", action="store_true",
                    help="count the Keras entries (on Keras' torch backend) and stop")
    args = ap.parse_args()
    from imagenet_bench.models import catalog
    if args.report:
        for fw in ("torch", "keras", "timm"):
            es = catalog.entries(fw)
            print(f"{fw}: {len(es)} entries, params {sum(e.params is not None for e in es)}, "
                  f"GFLOPs {sum(e.gflops is not None for e in es)} "
                  f"({sum(e.gflops is None for e in es)} empty)")
        return 0
    data = {"models": {}}
    if os.path.exists(OUT):
        with open(OUT, encoding="utf-8") as f:
            data = json.load(f)
    if args.keras:
        n = keras_entries(data)
        write(data)
        print(f"{n} Keras entries counted into {OUT}")
        return 0
    import timm
    import torch
    data.update(generator="tools/gen_flops.py",
                method="meta-device forward, torch.utils.flop_counter.FlopCounterMode; "
                       "gflops = counted FLOPs / 2 / 1e9 (multiply-adds, as torchvision's _ops)",
                versions={"torch": torch.__version__, "timm": timm.__version__})
    # runnable entries first (what a sweep collects), then the rest; catalog order within each
    # params of every tag timm's results tables list (param_count, millions, 2 decimals), where
    # the meta-device count has not been made (it replaces them when it is)
    from imagenet_bench.models import timm_results
    for e in catalog.load("timm"):
        rows = timm_results.rows(e.model)
        if e.model not in data["models"] and rows and rows[0].param_count_m is not None:
            data["models"][e.model] = {"params": int(round(rows[0].param_count_m * 1e6)),
                                       "params_source": "timm results param_count (millions)"}
    if args.timm_benchmarks:
        n = add_published(data, args.timm_benchmarks, args.timm_commit)
        print(f"{n} timm entries took timm's published GMACs "
              f"(commit {data['timm_benchmarks']['commit']})")
    write(data)
    if args.published_only:
        return 0
    def needed(row: dict) -> bool:
        return "params" not in row or ("error" not in row and "gflops" not in row)
    todo = sorted((e for e in catalog.load("timm") if needed(data["models"].get(e.model, {}))),
                  key=lambda e: not e.runnable)
    if args.limit is not None:
        todo = todo[:args.limit]
    t0 = time.time()
    for i, e in enumerate(todo, 1):
        old = data["models"].get(e.model, {})
        try:
            row = data["models"][e.model] = timm_entry(e)
            if "gflops_source" in old:  # the published figure stays; the count is kept beside it
                if "gflops" in row:
                    row["gflops_counted"] = row["gflops"]
                row.pop("error", None)  # GFLOPs are known: only the count is missing
                row.update(gflops=old["gflops"], gflops_source=old["gflops_source"])
        except Exception as err:  # a model that does not build or run on meta: left empty
            data["models"][e.model] = dict(old, error=f"{type(err).__name__}: {str(err)[:200]}")
        if i % 25 == 0 or i == len(todo):
            write(data)
            print(f"{i}/{len(todo)} ({time.time() - t0:.0f} s)", flush=True)
    errors = sum("error" in v for v in data["models"].values())
    print(f"{len(data['models'])} entries in {OUT}; {errors} without a count (their error is stored)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
