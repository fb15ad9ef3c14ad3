#!/usr/bin/env python
"""The 2019 study's Keras command line, kept as a thin wrapper over ``imagenet-bench predict``.

    python scripts/imagenet_keras_get_predictions.py VAL_DIR [-m MODEL] [-g GPU] [-o OUT]
        [--save-all-probs] [--preprocess legacy2019|reference] [--weights FILE]

No -m runs all 13 Keras models, as in 2019. The 2019 recipe (``legacy2019``:
load_img squash, nearest) is the default here; the caches are written in the
project's format (one ``keras-<model>....npz`` per model under OUT) by the same
run machinery as ``imagenet-bench predict --framework keras`` -- resumable,
shardable, with a progress bar. ``-g`` sets CUDA_VISIBLE_DEVICES before
TensorFlow starts, as the 2019 script did.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional



def translate(argv: Optional[List[str]] = None) -> List[str]:
    """The ``imagenet-bench`` argument list equivalent to a 2019 command line."""
    p = argparse.ArgumentParser(description="Keras ImageNet Inference (2019 command line)")
    p.add_argument("val_dir", metavar="DIR", help="path to imagenet val dataset folder")
    p.add_argument("-m", "--model", metavar="MODEL", default=None,
                   help="keras model (e.g. resnet50); default: all 13 Keras models")
    p.add_argument("-g", "--gpu", metavar="GPU", default="0", help="GPU to use (CUDA_VISIBLE_DEVICES)")
    p.add_argument("-o", "--output-dir", metavar="OUTPUT_DIR", default="keras_imagenet/",
                   help="directory for the caches (default keras_imagenet/)")
    p.add_argument("--save-all-probs", action="store_true", help="also store all 1,000 probabilities")
    p.add_argument("--preprocess", choices=("legacy2019", "reference"), default="legacy2019",
                   help="legacy2019 (default: the 2019 load_img squash) or reference")
    p.add_argument("--weights", help="imagenet (default), none, or a local .h5/.weights.h5 file")
    a = p.parse_args(argv)
    os.environ["CUDA_VISIBLE_DEVICES"] = str(a.gpu)
    out = ["predict", a.val_dir, "--framework", "keras", "--preprocess", a.preprocess,
           "--cache-dir", a.output_dir]
    out += ["--model", a.model] if a.model else ["--all"]
    if a.save_all_probs:
        out.append("--save-all-probs")
    if a.weights:
        out += ["--weights", a.weights]
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """Run ``imagenet-bench predict`` with the translated arguments."""
    from imagenet_bench.cli import main as cli
    return cli.main(translate(argv))


if __name__ == "__main__":
    sys.exit(main())
