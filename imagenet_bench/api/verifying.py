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


def _framework(check: str, model: str, framework: Optional[str]) -> str:
    """The library whose check runs: ``framework``, else the model name's prefix (else keras);
    refuse a check it does not offer, naming the check that does apply."""
    prefix = model.partition(":")[0].lower() if ":" in model else None
    framework = framework or prefix or "keras"
    have = offering(check)
    if have and framework not in have:
        others = [c for c in ("determinism", "drift") if c != check and framework in offering(c)]
        fix = f"`imagenet-bench verify {others[0]} -m {model} VAL_DIR`, or " if others else ""
        raise InputError(f"verify {check} -m {model}: the {framework} library does not offer "
                         f"this check (it is offered for {' and '.join(have)}). Fix: {fix}a model "
                         f"of {' or '.join(have)}, e.g. -m keras:ResNet50")
    return framework


def _backend(check: str, spec, weights, checkpoint, preprocess, batch_size):
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
    cfg = run_config.build(str(spec.id), lib.name, weights=weights, checkpoint=checkpoint,
                           preprocess=preprocess, **resources)
    from imagenet_bench.run import backend
    return backend.check(lib.import_adapter(lib.in_process)(cfg), lib.name)


def verify(check: str, model: str, data: str, *, framework: Optional[str] = None, n: int = 200,
           weights: Optional[str] = None, checkpoint: Optional[str] = None,
           preprocess: str = "reference", batch_size: Optional[int] = None,
           dataset: str = "imagenet-val", devkit: Optional[str] = None) -> Verification:
    """Run the library's ``check`` ("determinism" or "drift") on ``n`` images of ``data`` spaced
    evenly (``imagenet-bench verify CHECK``)."""
    from imagenet_bench.data import datasets
    from imagenet_bench.models import libraries, registry
    framework = _framework(check, model, framework)
    try:
        spec = registry.get_model(model, framework)
    except KeyError as e:
        raise InputError(str(e.args[0])) from None
    lib = libraries.get(spec.id.framework)
    target = dict(lib.verify_checks).get(check)
    if target is None:
        raise InputError(f"verify {check}: the {lib.name} library does not offer it. Fix: "
                         f"--framework {' or '.join(offering(check))}")
    run_check = lib.import_adapter(target)
    valset = datasets.discover(data, dataset, devkit=devkit)
    rows = datasets.spaced_rows(valset.num_images, n)
    backend = _backend(check, spec, weights, checkpoint, preprocess, batch_size)
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
