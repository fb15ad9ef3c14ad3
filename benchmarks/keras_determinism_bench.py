"""`verify determinism` of Keras models with weights that discriminate (BN-calibrated).

Random Keras weights often give exactly uniform outputs, on which determinism cannot
show (``verify`` then says ``inconclusive``). This script makes, per model, seeded
random weights whose BatchNormalization statistics are calibrated on ``--calib``
images (``keras_backend.save_informative_weights``, as ``keras_single_bench.py``
does), saves them to a temporary ``.weights.h5`` and runs exactly
``imagenet-bench verify determinism --model M --weights FILE VAL --n N``, printing
its report and exit status (0 no difference, 1 a difference, 4 inconclusive)::

    python benchmarks/keras_determinism_bench.py [--models mobilenetV2,resnet50] [--n 100]
        [--calib 16] [--val ../shared/imagenet-val-subset]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VAL = os.path.join(HERE, "..", "..", "shared", "imagenet-val-subset")


def main(argv=None) -> int:
    """Calibrate, save and verify each model; exit 1 if any check found a difference."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="mobilenetV2,resnet50", help="keras registry models")
    ap.add_argument("--n", type=int, default=100, help="images checked (evenly spaced)")
    ap.add_argument("--calib", type=int, default=16, help="calibration images (the last ones)")
    ap.add_argument("--val", default=DEFAULT_VAL, help="validation directory")
    args = ap.parse_args(argv)

    import numpy as np
    from imagenet_bench.backends.keras import child as kb
    from imagenet_bench.cli import main as cli
    from imagenet_bench.data import datasets
    from imagenet_bench.models.registry import get_model
    from imagenet_bench.run import config as run_config

    images = datasets.discover(args.val)
    calib = list(range(images.num_images - args.calib, images.num_images))
    worst = 0
    for name in args.models.split(","):
        spec = get_model(f"keras:{name}")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{name}.informative.weights.h5")
            backend = kb.KerasBackend(config=run_config.build(str(spec.id), weights="none"))
            x = np.stack([backend.preprocess(images.paths[i]) for i in calib])
            del backend
            kb.release()
            nbn = kb.save_informative_weights(spec, x, path, seed=0)
            print(f"== keras:{name}: seed 0, {nbn} BN layers calibrated on images {calib[0]}..{calib[-1]}",
                  flush=True)
            rc = cli.main(["verify", "determinism", "--model", f"keras:{name}", "--weights", path,
                           args.val, "--n", str(args.n)])
            print(f"exit status {rc}", flush=True)
            worst = max(worst, 1 if rc == 1 else 0)
    return worst


if __name__ == "__main__":
    sys.exit(main())
