"""One image at a time: the 2019 Keras method against the project's path, same images, one run.

* 2019: for each image ``load_img(path, target_size=(s, s))``, ``img_to_array``,
  ``preprocess_input``, ``model.predict(x)`` -- sequential, as
  cgnorthcutt/benchmarking-keras-pytorch did.
* project: what ``predict --framework keras`` runs -- ``runner.run`` with the
  model in its own child process (``KerasProcessBackend``) and the legacy2019
  recipe (identical pixels): decoding in the runner's background thread, each
  image alone through the ``tf.function``-compiled ``model(x, training=False)``,
  checkpoints and the atomic cache write included (process start-up is not
  timed; it is ~6 s once per model).

Both load the same weights and are warmed up on one image first. Prints
images/s of each, the ratio (goal >= 4x), whether the top-5 of every image
agree (goal: identical) and how informative the outputs are (distinct top-1
classes, largest probability).

``--weights informative`` (default): random weights (``weights=None`` after
``keras.utils.set_random_seed(0)``) whose BatchNormalization moving
statistics are then set from ``--calib`` images (the ones after the first N,
legacy2019 pixels) by ``keras_backend.calibrate_batchnorm`` -- a standard
data-dependent init. Plain random MobileNets (``--weights none``) output
exactly uniform probabilities, which makes the top-5 check vacuous. The
weights are saved to a temporary ``.weights.h5`` and that file is given to
both paths (``--weights FILE`` for the project's), so they run identical
weights::

    python benchmarks/keras_single_bench.py [--model mobilenet] [--n 200]
        [--weights informative|none|imagenet|FILE] [--calib 16] [--val ../shared/imagenet-val-subset]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TF C++ logs out of the figures
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VAL = os.path.join(HERE, "..", "..", "shared", "imagenet-val-subset")


def main(argv=None) -> int:
    """Run both methods and print the comparison; exit 1 if the top-5 differ anywhere."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mobilenet", help="keras registry model (mobilenet)")
    ap.add_argument("--n", type=int, default=200, help="images (the first N, 200)")
    ap.add_argument("--weights", default="informative",
                    help="informative (random + BN calibration, default), none (random), imagenet or a file")
    ap.add_argument("--calib", type=int, default=16, help="calibration images for --weights informative (16)")
    ap.add_argument("--val", default=DEFAULT_VAL, help="validation directory (../shared subset)")
    args = ap.parse_args(argv)

    import numpy as np
    from imagenet_bench.cache import store as cache
    from imagenet_bench.data import datasets
    from imagenet_bench.backends.keras import child as kb
    from imagenet_bench.run import config as run_config
    from imagenet_bench.run import runner
    from imagenet_bench.backends.keras.parent import KerasProcessBackend
    from imagenet_bench.models.registry import get_model
    import keras

    if not os.path.isdir(args.val):
        print(f"no validation images at {args.val}; pass --val DIR", file=sys.stderr)
        return 2
    all_images = datasets.discover(args.val)
    n = min(args.n, all_images.num_images)
    vs = all_images.select(list(range(n)))
    spec = get_model(f"keras:{args.model}")
    s, pre = spec.study.legacy_resize, kb._preprocess_input(spec)

    def load_2019(path):
        return pre(np.expand_dims(keras.utils.img_to_array(keras.utils.load_img(path, target_size=(s, s))), 0))

    tmp = tempfile.TemporaryDirectory()
    weights = None if args.weights.lower() in kb.NO_WEIGHTS else args.weights
    if args.weights.lower() == "informative":
        total = all_images.num_images  # calibrate on the images after the first N when there are any
        rows = list(range(n, min(total, n + args.calib))) or list(range(min(total, args.calib)))
        t = time.perf_counter()
        weights = os.path.join(tmp.name, f"{args.model}.informative.weights.h5")
        nbn = kb.save_informative_weights(
            spec, np.concatenate([load_2019(all_images.paths[i]) for i in rows]), weights, seed=0)
        print(f"informative weights: seed 0, {nbn} BN layers calibrated on images {rows[0]}..{rows[-1]} "
              f"({time.perf_counter() - t:.1f} s), saved to a temporary .weights.h5 used by both paths")
    model = kb.build_model(spec, weights, seed=0)
    backend = KerasProcessBackend(run_config.build(str(spec.id), weights=weights or "none",
                                                   preprocess="legacy2019"))

    def predict_2019(path):
        return model.predict(load_2019(path), verbose=0)[0]

    predict_2019(vs.paths[0])  # warm-up both paths
    backend.predict(backend.preprocess(vs.paths[0])[None])

    t = time.perf_counter()
    old = np.stack([predict_2019(p) for p in vs.paths])
    t_old = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as out:
        opts = runner.RunOptions(out_dir=out, progress=False, log=lambda m: None, shard=runner.Shard())
        t = time.perf_counter()
        res = runner.run(vs, backend, opts)
        t_new = time.perf_counter() - t
        new = cache.load(res.cache_path)
    backend.close()
    tmp.cleanup()

    old_idx, old_prob = cache.top5_from_probs(old)
    same = (old_idx == new.top5_idx).all(axis=1)
    print(f"keras:{args.model} weights={args.weights} legacy2019, {n} images of {vs.root}")
    print(f"2019 load_img + model.predict per image : {n / t_old:7.1f} img/s ({1000 * t_old / n:.1f} ms/img)")
    print(f"project runner + compiled call         : {n / t_new:7.1f} img/s ({1000 * t_new / n:.1f} ms/img)")
    print(f"speed-up {t_old / t_new:.2f}x; top-5 identical on {int(same.sum())}/{n} images; "
          f"max |top-5 prob diff| {float(np.abs(old_prob - new.top5_prob).max()):.3g}")
    uniform = int((old.max(1) == old.min(1)).sum())
    print(f"outputs: {len(set(old_idx[:, 0].tolist()))} distinct top-1 classes, {uniform}/{n} images "
          f"with exactly uniform probabilities"
          + (" -- top-5 agreement is vacuous for these outputs" if uniform == n else ""))
    top = old.max(1)
    print(f"largest probability per image: min {top.min():.4f} median {float(np.median(top)):.4f} "
          f"max {top.max():.4f} (uniform = {1 / old.shape[1]:.4f}); "
          f"images per top-1 class: at most {int(np.bincount(old_idx[:, 0]).max())}")
    return 0 if same.all() else 1


if __name__ == "__main__":
    sys.exit(main())
