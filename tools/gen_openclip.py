"""Regenerate the open_clip data files of imagenet_bench from the installed open_clip.

    python tools/gen_openclip.py --results openclip_results.csv --commit SHA [--check]

``openclip.json``: every pretrained tag of ``open_clip.list_pretrained()`` in the
catalog schema (no model is built, nothing is downloaded): the image size of the
model config's ``vision_cfg``, and mean/std, interpolation and resize mode of the
preprocessing open_clip's ``create_model`` settles for the tag (``PreprocessCfg``
defaults merged with the tag's pretrained config, as ``factory.create_model``
merges them). ``shortest`` becomes a centre crop of a shorter-side resize,
``squash`` a squash. Tags whose tokenizer open_clip fetches from the Hugging
Face hub at run time (a ``hf_tokenizer_name`` in the model config) carry
that condition in ``not_runnable_reason`` (they stay runnable; the adapter runs
them only when the tokenizer is in the local hub cache).

``openclip_published.json``: the zero-shot top-1 of ImageNet-1k, -V2, -A, -R,
-Sketch and ObjectNet from ``docs/openclip_results.csv`` of mlfoundations/open_clip (not in
the wheel; take it with ``git show COMMIT:docs/openclip_results.csv``), keyed by
the catalog's model id and the package's published-table names. The CSV writes
fractions with four decimals; they are stored as percent with two.

``--check`` compares instead of writing and exits 1 when a committed file is stale.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
from typing import Dict, List, Optional

from imagenet_bench.cache import atomic
from imagenet_bench.models import catalog

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "imagenet_bench", "models", "data")
REPO = "mlfoundations/open_clip"
CSV_PATH = "docs/openclip_results.csv"
#: published-table name (DatasetSpec.published_table) -> column of openclip_results.csv
COLUMNS = {"imagenet": "ImageNet 1k", "v2": "ImageNet v2", "a": "ImageNet-A", "r": "ImageNet-R",
           "sketch": "ImageNet Sketch", "objectnet": "ObjectNet"}
CROP_MODES = {"shortest": "center", "squash": "squash", "longest": "border"}


def hub_tokenizer(arch: str) -> Optional[str]:
    """The Hugging Face hub repository open_clip's ``get_tokenizer(arch)`` loads, or None when
    its tokenizer ships in the wheel (the CLIP BPE vocabulary)."""
    import open_clip
    text = (open_clip.get_model_config(arch) or {}).get("text_cfg", {})
    return text.get("hf_tokenizer_name") or None


def _reason(repo: str) -> str:
    folder = "models--" + repo.replace("/", "--")
    return (f"its tokenizer is fetched from the Hugging Face hub at run time ({repo}); it runs "
            f"only when that is in the local hub cache (~/.cache/huggingface/hub/{folder})")


def entry(arch: str, tag: str, is_default: bool, published: Dict[str, Dict[str, float]],
          source: str) -> dict:
    """One catalog entry of ``arch.tag``."""
    import open_clip
    from open_clip.pretrained import get_pretrained_cfg
    from open_clip.transform import PreprocessCfg, merge_preprocess_dict
    cfg = open_clip.get_model_config(arch)
    pre = merge_preprocess_dict(PreprocessCfg(), get_pretrained_cfg(arch, tag))
    size = int(cfg["vision_cfg"]["image_size"])
    mode = CROP_MODES[pre["resize_mode"]]
    hub = get_pretrained_cfg(arch, tag).get("hf_hub", "")
    repo, file_name = os.path.split(hub.rstrip("/")) if hub.endswith(".bin") or hub.endswith(
        ".pt") or hub.endswith(".safetensors") else (hub.rstrip("/"), None)
    model = f"openclip:{arch}.{tag}"
    top1 = published.get(model, {}).get("imagenet")
    tok = hub_tokenizer(arch)
    return {
        "framework": "openclip", "architecture": arch, "weights": tag, "model": model,
        "aliases": [], "is_default": is_default, "builder": "open_clip:create_model",
        "input_size": size, "resize": size if mode == "center" else None, "crop": size,
        "crop_mode": mode, "interpolation": pre["interpolation"],
        "mean": [float(v) for v in pre["mean"]], "std": [float(v) for v in pre["std"]],
        "preprocessing": "torch", "preprocess_module": None, "num_classes": 1000,
        "label_set": "imagenet-1k", "runnable": True,
        "not_runnable_reason": _reason(tok) if tok else None,
        "published_top1": top1, "published_top5": None, "source": source if top1 is not None else None,
        "params": None, "gflops": None, "recipe": None,
        "url": f"hf-hub:{repo}" if repo else get_pretrained_cfg(arch, tag).get("url") or None,
        "file_name": file_name, "quantized_backend": None, "float_counterpart": None,
    }


def read_results(path: str) -> Dict[str, Dict[str, float]]:
    """model id -> {table: top-1 percent} from ``openclip_results.csv``."""
    out: Dict[str, Dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            figs = {t: round(100 * float(row[c]), 2) for t, c in COLUMNS.items() if row.get(c)}
            out[f"openclip:{row['name']}.{row['pretrained']}"] = figs
    return out


def texts(results: str, commit: str) -> Dict[str, str]:
    """file name -> text of both data files."""
    import open_clip
    published = read_results(results)
    tags = open_clip.list_pretrained()
    known = {f"openclip:{a}.{t}" for a, t in tags}
    published = {m: v for m, v in sorted(published.items()) if m in known}
    src = (f"zero-shot top-1, {REPO} {CSV_PATH} at commit {commit[:12]} (CLIP_benchmark; "
           f"OpenAI's 80 templates)")
    seen, rows = set(), []
    for arch, tag in tags:
        rows.append(entry(arch, tag, arch not in seen, published, src))
        seen.add(arch)
    head = {"generator": "tools/gen_openclip.py", "library": "openclip",
            "versions": {"open_clip_torch": open_clip.__version__}}
    pub_head = {"generator": "tools/gen_openclip.py", "repo": REPO, "file": CSV_PATH,
                "commit": commit, "source": src, "columns": COLUMNS, "metric": "top1"}
    return {"openclip.json": catalog.dumps(head, "entries", rows),
            "openclip_published.json": catalog.dumps(pub_head, "models", published)}


def main(argv: Optional[List[str]] = None) -> int:
    """Write (or ``--check``) both data files."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, help=f"{CSV_PATH} of {REPO}, saved at --commit")
    p.add_argument("--commit", required=True, help=f"the {REPO} commit the CSV was taken at")
    p.add_argument("--check", action="store_true", help="exit 1 if a committed file differs")
    args = p.parse_args(argv)
    stale = []
    for name, text in texts(args.results, args.commit).items():
        path = os.path.join(DATA_DIR, name)
        if args.check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(name)
        else:
            atomic.write_text(path, text)
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}; rerun without --check", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
