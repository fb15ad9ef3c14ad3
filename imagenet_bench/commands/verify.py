"""``imagenet-bench verify``: check that inference neither changes the model nor depends on batching.

* ``verify drift --model NAME VAL [--n N]`` (Keras): fingerprints every
  variable (batch-norm moving mean/variance included), runs N images through
  the production call, reports the largest change per layer. Exit 1 if
  anything moved; exit 4 (inconclusive) if the model has no variable inference
  could move.
* ``verify determinism --model NAME VAL [--n N] [--framework keras|torch]``:
  one-at-a-time vs batched vs a second one-at-a-time run; maximum probability
  difference, top-1/top-5 agreement, the images that disagree. Exit 1 if the
  repeated run is not bitwise identical or any top-5 differs; exit 4
  (inconclusive) if the outputs could not show a difference (uniform over the
  classes, or the same for every image).
* ``verify variants --model NAME VAL [--variants LIST]``: the same weights run
  every way (batch, numerics, compiler, ONNX Runtime, Keras backends), paired
  against fp32 (:mod:`imagenet_bench.commands.variants`).

N images are taken evenly spaced over VAL (in ImageFolder order).
"""
from __future__ import annotations

import argparse
import sys

from imagenet_bench.api.verifying import offering
from imagenet_bench.commands import run_settings
from imagenet_bench.commands._common import add_test_set_arg, exit_codes_text

#: exit status of a check whose outputs could not show a difference ("inconclusive: ...")
INCONCLUSIVE = 4
EXIT_STATUSES = exit_codes_text((0, 1, 2, 4))


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``verify`` with its ``drift`` and ``determinism`` checks."""
    p = subparsers.add_parser(
        "verify", help="check inference: variable drift, determinism of single vs batched outputs",
        description="Checks of the inference path on N validation images. " + EXIT_STATUSES)
    sub = p.add_subparsers(dest="check", metavar="CHECK")
    sub.required = True
    d = sub.add_parser("drift", help="do any variables (incl. batch-norm statistics) change "
                                     "while predicting? (keras)", description=EXIT_STATUSES)
    _common(d, "drift")
    d.set_defaults(func=run)
    t = sub.add_parser("determinism", help="one-at-a-time vs batched vs repeated outputs (keras, torch)",
                       description=EXIT_STATUSES)
    _common(t, "determinism")
    t.set_defaults(func=run)
    from imagenet_bench.commands import variants
    variants.add_parser(sub)
    return p


def _common(p: argparse.ArgumentParser, check: str) -> None:
    add_test_set_arg(p)
    p.add_argument("--model", "-m", required=True, help="registry model name")
    p.add_argument("--framework", choices=offering(check), default=None,
                   help="the model library whose in-process backend is checked (default: the "
                        "model name's framework prefix, else keras)")
    p.add_argument("--n", type=int, default=200, help="number of images (200), evenly spaced")
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit")
    run_settings.add(p, f"verify {check}")


def run(args) -> int:
    """Run the chosen check (:func:`imagenet_bench.api.verify`); print its report; 0 if it
    passed, 1 if it found a problem, 4 if inconclusive."""
    from imagenet_bench import api
    run_settings.check_ranges(args)
    found = api.verify(args.check, args.model, args.val_dir, framework=args.framework, n=args.n,
                       batch_size=getattr(args, "batch_size", None), dataset=args.dataset,
                       devkit=args.devkit, **run_settings.build_options(
                           args, leave=("device", "workers", "batch_size")))
    print(found.title)
    for line in found.lines():
        print(line)
    if found.inconclusive:
        print(f"inconclusive: {found.inconclusive}")
        sys.stdout.flush()
        return INCONCLUSIVE
    print("FAILED" if found.failed else "OK")
    sys.stdout.flush()
    return 1 if found.failed else 0
