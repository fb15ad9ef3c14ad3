"""Isolation between Keras models: in-process release vs a child process per model.

In one process, runs a sequence of models (random weights, same 4 images),
each built, used and released by ``KerasBackend`` (``clear_session`` + GC),
and prints the resident memory after each release relative to a baseline
taken after a warm-up model -- raw, and after ``malloc_trim(0)`` (which hands
freed heap pages back to the OS). Checks that repeated models give bitwise
identical outputs. Then times what a child process per model would add: a
fresh interpreter importing the Keras backend. ::

    python benchmarks/keras_isolation_bench.py [--models mobilenet densenet121 mobilenet ...]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

from imagenet_bench.run.memory import rss_mb  # noqa: E402


def main(argv=None) -> int:
    """Print the memory table and the child-process start-up cost."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # not MobileNets: with random weights their outputs are exactly uniform, so
    # "identical to its first run" would prove nothing
    ap.add_argument("--models", nargs="+", default=["densenet121", "resnet50", "densenet121",
                                                     "nasnetlarge", "densenet121", "resnet50"])
    args = ap.parse_args(argv)
    import numpy as np
    from imagenet_bench.backends.keras import child as kb
    from imagenet_bench.models.registry import get_model

    rng = np.random.default_rng(0)
    images = {s: rng.integers(0, 256, (4, s, s, 3), dtype=np.uint8) for s in (224, 299, 331)}

    def run(name):
        with kb.KerasBackend(get_model(f"keras:{name}"), weights=None, seed=0) as b:
            return b.predict(images[b.input_size])

    run("mobilenet")  # TF start-up allocations happen once, before the baseline
    base_raw, base = rss_mb(False), rss_mb(True)
    print(f"baseline after a warm-up model: {base_raw:.0f} MB raw, {base:.0f} MB after malloc_trim")
    first = {}
    for name in args.models:
        t = time.perf_counter()
        out = run(name)
        dt = time.perf_counter() - t
        same = "" if name not in first else (
            " identical to its first run" if np.array_equal(out, first[name]) else " DIFFERS from its first run")
        first.setdefault(name, out)
        print(f"after {name:12s} ({dt:5.1f} s): RSS {rss_mb(False) - base_raw:+7.1f} MB raw, "
              f"{rss_mb(True) - base:+7.1f} MB trimmed{same}")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import imagenet_bench.backends.keras.child"], check=True, cwd=ROOT)
    print(f"child process per model: +{time.perf_counter() - t:.1f} s start-up "
          f"(interpreter + TensorFlow/Keras import) per model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
