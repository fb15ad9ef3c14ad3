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

from imagenet_bench.commands import run_settings
from imagenet_bench.commands._common import add_test_set_arg, exit_codes_text
from imagenet_bench.errors import InputError

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


def offering(check: str) -> list:
    """The model libraries that declare ``check`` among their ``verify_checks``, in listing order
    (none while the plugins cannot be read: the command then reports why; --help never raises)."""
    from imagenet_bench.errors import BenchError
    from imagenet_bench.models import libraries
    try:
        libs = libraries.libraries()
    except BenchError:
        return []
    return [lib.name for lib in libs if check in dict(lib.verify_checks)]


def _common(p: argparse.ArgumentParser, check: str) -> None:
    add_test_set_arg(p)
    p.add_argument("--model", "-m", required=True, help="registry model name")
    p.add_argument("--framework", choices=offering(check), default=None,
                   help="the model library whose in-process backend is checked (default: the "
                        "model name's framework prefix, else keras)")
    p.add_argument("--n", type=int, default=200, help="number of images (200), evenly spaced")
    p.add_argument("--devkit", metavar="DIR", help="labels of a flat directory from the ILSVRC2012 devkit")
    run_settings.add(p, f"verify {check}")


def _check(args, spec):
    """The ``verify`` check of ``spec``'s library (``Library.verify_checks``), imported now."""
    from imagenet_bench.models import libraries
    lib = libraries.get(spec.id.framework)
    target = dict(lib.verify_checks).get(args.check)
    if target is None:
        raise InputError(f"verify {args.check}: the {lib.name} library does not offer it. Fix: "
                         f"--framework {' or '.join(offering(args.check))}")
    return lib.import_adapter(target)


def _backend(args, spec):
    """The model in this process, built by its library's in-process adapter (``Library.in_process``)
    from a RunConfig, so the checks see exactly what ``predict`` runs."""
    from imagenet_bench.models import libraries
    from imagenet_bench.run import config as run_config

    lib = libraries.get(spec.id.framework)
    if lib.in_process is None:
        raise InputError(f"verify {args.check}: the {lib.name} library has no in-process backend. "
                         f"Fix: --framework {' or '.join(offering(args.check)) or 'torch'}")
    run_settings.check_ranges(args)
    resources = dict(device="cpu", batch_size=args.batch_size, workers=0) \
        if lib.capabilities.batching else {}
    cfg = run_config.build(str(spec.id), lib.name, **resources, **run_settings.build_options(
        args, leave=("device", "workers", "batch_size")))
    return lib.import_adapter(lib.in_process)(cfg)


def _library_of(name: str, check: str) -> str:
    """The library of a name given without one, looked up in every library as ``predict -m``
    looks it up: the one that has it; among several, those offering ``check`` first, then
    keras (the long-standing default), with a note naming the others' ids. A name no
    library has is refused, pointing at the catalog names that contain it, if any."""
    from imagenet_bench.errors import BenchError
    from imagenet_bench.models import libraries, registry
    hits = {}
    for fw in libraries.names():
        try:
            hits[fw] = str(registry.resolve(name, fw)[0])
        except (BenchError, KeyError):
            continue
    if not hits:
        from imagenet_bench.models import catalog
        near = catalog.match(f"*{name}*")
        fix = (f"`imagenet-bench models '*{name}*'` lists the {len(near)} names containing it "
               f"(e.g. {near[0].model})" if near else "`imagenet-bench models` lists every name")
        raise InputError(f"verify -m {name}: no model library has a model named {name}. Fix: {fix}")
    usable = [fw for fw in hits if fw in offering(check)] or list(hits)
    pick = "keras" if "keras" in usable else usable[0]
    others = [hits[fw] for fw in hits if fw != pick]
    if others:
        print(f"note: -m {name} taken as {hits[pick]}; {' and '.join(others)} "
              f"{'is' if len(others) == 1 else 'are'} named so too: give the full id for "
              f"{'it' if len(others) == 1 else 'one of them'}", file=sys.stderr)
    return pick


def _check_framework(args) -> None:
    """Fill in ``args.framework`` from the model name's prefix (else keras); refuse a check the
    model's library does not offer, naming the check that does apply."""
    prefix = args.model.partition(":")[0].lower() if ":" in args.model else None
    if args.framework is None:
        args.framework = prefix or _library_of(args.model, args.check)
    have = offering(args.check)
    if have and args.framework not in have:
        others = [c for c in ("determinism", "drift") if c != args.check and args.framework in offering(c)]
        fix = (f"`imagenet-bench verify {others[0]} -m {args.model} VAL_DIR`, or "
               if others else "")
        raise InputError(f"verify {args.check} -m {args.model}: the {args.framework} library does "
                         f"not offer this check (it is offered for {' and '.join(have)}). Fix: "
                         f"{fix}a model of {' or '.join(have)}, e.g. -m keras:ResNet50")


def run(args) -> int:
    """Run the chosen check; print its report; 0 if it passed, 1 if it found a problem."""
    from imagenet_bench.data import datasets
    from imagenet_bench.models import registry

    _check_framework(args)
    try:
        spec = registry.get_model(args.model, args.framework)
    except KeyError as e:
        raise InputError(f"{e.args[0]}. Fix: name a model `imagenet-bench models` lists") from None

    check = _check(args, spec)
    valset = datasets.discover(args.val_dir, args.dataset, devkit=args.devkit)
    rows = datasets.spaced_rows(valset.num_images, args.n)
    backend = _backend(args, spec)
    images = ((valset.image_ids[r], backend.preprocess(valset.paths[r])) for r in rows)
    try:
        print(f"verify {args.check}: {spec.id} ({backend.config.model_id}), {len(rows)} of "
              f"{valset.num_images} images of {valset.root}")
        report = check(backend, images, batch_size=getattr(args, "batch_size", None) or 1)
        failed = report.failed
    finally:
        if hasattr(backend, "close"):
            backend.close()
    for line in report.lines():
        print(line)
    if not failed and report.inconclusive:
        print(f"inconclusive: {report.inconclusive}")
        sys.stdout.flush()
        return INCONCLUSIVE
    print("FAILED" if failed else "OK")
    sys.stdout.flush()
    return 1 if failed else 0
