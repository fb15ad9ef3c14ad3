"""The ``verify`` checks from Python: :func:`verify_determinism`, :func:`verify_drift` (the
library's check module and its in-process backend imported when called)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from imagenet_bench.errors import InputError


@dataclass
class Verification:
    """What a check found: ``title`` (model and images), ``report`` (the check's own report:
    ``lines()``, ``failed``, ``inconclusive``)."""

    title: str
    report: object

    @property
    def failed(self) -> bool:
        """A difference was found."""
        return bool(self.report.failed)

    @property
    def inconclusive(self) -> Optional[str]:
        """Why the outputs could not show a difference (None: they could)."""
        return None if self.failed else self.report.inconclusive

    def lines(self) -> List[str]:
        """The check's report, line by line."""
        return list(self.report.lines())

    def __repr__(self) -> str:
        verdict = ("FAILED" if self.failed else
                   f"inconclusive: {self.inconclusive}" if self.inconclusive else "OK")
        return "\n".join([self.title, *self.lines(), verdict])


def offering(check: str) -> list:
    """The model libraries that declare ``check`` among their ``verify_checks``, in listing order
    (none while the plugins cannot be read: the check then reports why; --help never raises)."""
    from imagenet_bench.errors import BenchError
    from imagenet_bench.models import libraries
    try:
        libs = libraries.libraries()
    except BenchError:
        return []
    return [lib.name for lib in libs if check in dict(lib.verify_checks)]


def _library_of(name: str, check: str) -> str:
    """The library of a name given without one, looked up in every library as ``predict -m``
    looks it up: the one that has it; among several, those offering ``check`` first, then
    keras (the long-standing default), with a note naming the others' ids. A name no
    library has is refused, pointing at the catalog names that contain it, if any."""
    import sys

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


def _framework(check: str, model: str, framework: Optional[str]) -> str:
    """The library whose check runs: ``framework``, else the model name's prefix, else the
    library that has the name; refuse a check it does not offer, naming the check that does
    apply."""
    prefix = model.partition(":")[0].lower() if ":" in model else None
    framework = framework or prefix or _library_of(model, check)
    have = offering(check)
    if have and framework not in have:
        others = [c for c in ("determinism", "drift") if c != check and framework in offering(c)]
        fix = f"`imagenet-bench verify {others[0]} -m {model} VAL_DIR`, or " if others else ""
        raise InputError(f"verify {check} -m {model}: the {framework} library does not offer "
                         f"this check (it is offered for {' and '.join(have)}). Fix: {fix}a model "
                         f"of {' or '.join(have)}, e.g. -m keras:ResNet50")
    return framework


def _backend(check: str, spec, batch_size: Optional[int], settings: dict):
    """The model in this process, built by its library's in-process adapter from a RunConfig,
    so the check sees exactly what ``predict`` runs."""
    from imagenet_bench.models import libraries
    from imagenet_bench.run import config as run_config
    lib = libraries.get(spec.id.framework)
    if lib.in_process is None:
        raise InputError(f"verify {check}: the {lib.name} library has no in-process backend. "
                         f"Fix: choose a model of {' or '.join(offering(check))}")
    resources = dict(device="cpu", batch_size=batch_size, workers=0) \
        if lib.capabilities.batching else {}
    cfg = run_config.build(str(spec.id), lib.name, **resources, **settings)
    from imagenet_bench.run import backend
    return backend.check(lib.import_adapter(lib.in_process)(cfg), lib.name)


def verify(check: str, model: str, data: str, *, framework: Optional[str] = None, n: int = 200,
           batch_size: Optional[int] = None, dataset: str = "imagenet-val",
           devkit: Optional[str] = None, **settings) -> Verification:
    """Run the library's ``check`` ("determinism" or "drift") on ``n`` images of ``data`` spaced
    evenly (``imagenet-bench verify CHECK``). ``settings``: the run settings of ``predict``
    (``weights``, ``checkpoint``, ``preprocess``, ``resize``, ``crop``, ``img_size``,
    ``crop_pct``, ``interpolation``, ``mean``, ``std``, ``amp``, ``threads``), as
    :func:`imagenet_bench.run.config.build` takes them."""
    from imagenet_bench.data import datasets
    from imagenet_bench.models import libraries, registry
    framework = _framework(check, model, framework)
    try:
        spec = registry.get_model(model, framework)
    except KeyError as e:
        raise InputError(f"{e.args[0]}. Fix: name a model `imagenet-bench models` lists") from None
    lib = libraries.get(spec.id.framework)
    target = dict(lib.verify_checks).get(check)
    if target is None:
        raise InputError(f"verify {check}: the {lib.name} library does not offer it. Fix: "
                         f"--framework {' or '.join(offering(check))}")
    run_check = lib.import_adapter(target)
    valset = datasets.discover(data, dataset, devkit=devkit)
    rows = datasets.spaced_rows(valset.num_images, n)
    backend = _backend(check, spec, batch_size, settings)
    images = ((valset.image_ids[r], backend.preprocess(valset.paths[r])) for r in rows)
    title = (f"verify {check}: {spec.id} ({backend.config.model_id}), {len(rows)} of "
             f"{valset.num_images} images of {valset.root}")
    try:
        report = run_check(backend, images, batch_size=batch_size or 1)
    finally:
        backend.close()
    return Verification(title, report)


def verify_determinism(model: str, data: str, *, batch_size: int = 32, **options) -> Verification:
    """One-at-a-time vs batched vs a second one-at-a-time run (``verify determinism``)."""
    return verify("determinism", model, data, batch_size=batch_size, **options)


def verify_drift(model: str, data: str, **options) -> Verification:
    """Do any variables (batch-norm statistics included) change while predicting? (Keras;
    ``verify drift``)."""
    return verify("drift", model, data, **options)
