#!/usr/bin/env python
"""The 2019 study's command line, kept as a thin wrapper over ``imagenet-bench predict``.

    python scripts/imagenet_pytorch_get_predictions.py VAL_DIR -m MODEL -g GPU -b BATCH -o OUT [--save-all-probs]

``-m all`` runs the 21 registry torchvision models; ``-g N`` selects
``cuda:N`` (the CPU is used, with a note, where there is no CUDA). Everything
else -- preprocessing (each weight's own recipe by default; ``--preprocess
legacy2019`` for the 2019 pipeline), resumable caches, shards -- is
``imagenet-bench predict``'s, and so are the cache files it writes.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional



def to_predict_argv(argv: Optional[List[str]] = None) -> List[str]:
    """Translate the 2019 arguments into ``imagenet-bench predict`` arguments."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("val_dir", metavar="VAL_DIR", help="ImageNet validation images (wnid folders or flat)")
    p.add_argument("-m", "--model", default="all", help="torchvision model name, or 'all' (default)")
    p.add_argument("-g", "--gpu", type=int, default=None, help="CUDA device index (default: auto)")
    p.add_argument("-b", "--batch-size", type=int, default=32, help="batch size (32, as in 2019)")
    p.add_argument("-o", "--output-dir", default="runs",
                   help="where caches are written (default: runs, as imagenet-bench predict)")
    p.add_argument("--save-all-probs", action="store_true", help="also store all 1,000 probabilities")
    p.add_argument("--preprocess", choices=("reference", "legacy2019"), default="reference",
                   help="reference (each weight's own recipe) or legacy2019 (the 2019 pipeline)")
    a = p.parse_args(argv)
    out = ["predict", "--framework", "torch", a.val_dir, "-b", str(a.batch_size), "--cache-dir", a.output_dir,
           "--preprocess", a.preprocess]
    out += ["--all"] if a.model == "all" else ["--model", a.model]
    if a.gpu is not None:
        import torch
        if torch.cuda.is_available():
            out += ["--device", f"cuda:{a.gpu}"]
        else:
            print(f"-g {a.gpu}: no CUDA device here; running on the CPU", file=sys.stderr)
            out += ["--device", "cpu"]
    if a.save_all_probs:
        out.append("--save-all-probs")
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``imagenet-bench predict`` with the translated arguments."""
    from imagenet_bench.cli import main as cli
    return cli.main(to_predict_argv(argv))


if __name__ == "__main__":
    sys.exit(main())
