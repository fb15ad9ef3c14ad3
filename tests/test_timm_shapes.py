"""Every runnable timm entry gives 1,000 outputs at the input size the registry states (slow).

Building 1,321 timm networks with weights is out of reach on 2 cores, so the
shapes are checked on PyTorch's ``meta`` device (no memory, no arithmetic):
``timm.create_model(name)`` under ``torch.device("meta")`` and a forward pass
of a ``(1, 3, input_size, input_size)`` meta tensor. Tags of one architecture
at one input size build the same network, so one tag per (architecture,
input_size) is built: 1,029 groups for the 1,321 entries of timm 1.0.31.
All groups took 966 s (all passed) on this shared 2-core machine, so by
default a deterministic sample runs: every ``IMAGENET_BENCH_TIMM_SHAPES_EVERY``-th
group in model-id order (default 8, ~130 groups); set it to 1 for all of them.
A few of the smallest networks are also built with random weights on the CPU
and run on a real image through the backend's transform.
"""
import json
import os
from collections import OrderedDict

import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from conftest import SUBSET  # noqa: E402

pytestmark = pytest.mark.slow

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "imagenet_bench", "models", "data")
EVERY = int(os.environ.get("IMAGENET_BENCH_TIMM_SHAPES_EVERY", "8"))


def _runnable():
    with open(os.path.join(DATA, "timm.json"), encoding="utf-8") as f:
        doc = json.load(f)
    if doc["versions"]["timm"] != timm.__version__:
        pytest.skip(f"timm.json lists timm {doc['versions']['timm']}, installed is {timm.__version__}")
    return [e for e in doc["entries"] if e["runnable"]]


def _groups():
    """One (model id, input size) per (architecture, input_size), in model-id order."""
    try:
        entries = _runnable()
    except pytest.skip.Exception:
        return []
    first = OrderedDict()
    for e in entries:
        first.setdefault((e["architecture"], e["input_size"]), (e["model"], e["input_size"]))
    return list(first.values())


GROUPS = _groups()


def test_groups_cover_every_runnable_entry():
    entries = _runnable()
    keys = {(m.split(":")[1].split(".")[0], s) for m, s in GROUPS}
    assert {(e["architecture"], e["input_size"]) for e in entries} == keys
    assert len(GROUPS) < len(entries)


@pytest.mark.parametrize("model,size", GROUPS[::EVERY], ids=lambda v: str(v))
def test_meta_forward_gives_1000_logits(model, size):
    with torch.device("meta"):
        net = timm.create_model(model[len("timm:"):], pretrained=False)
        out = net.eval()(torch.empty(1, 3, size, size))
    assert tuple(out.shape) == (1, 1000)


def _smallest(n=4):
    """The ``n`` runnable entries with the fewest parameters in timm's published table."""
    from imagenet_bench.models import timm_results
    sized = []
    for e in _runnable():
        rows = timm_results.rows(e["model"])
        if rows and rows[0].param_count_m:
            sized.append((rows[0].param_count_m, e["model"]))
    return [m for _, m in sorted(sized)[:n]]


def test_smallest_networks_run_on_a_real_image_with_random_weights():
    from imagenet_bench.backends import timm as backend
    from imagenet_bench.run import config as run_config
    if not SUBSET.is_dir():
        pytest.skip(f"real val subset not found at {SUBSET}")
    image = str(sorted(SUBSET.glob("*.JPEG"))[0])
    models = _smallest()
    for model in models:
        b = backend.from_config(run_config.build(model, weights="none", device="cpu", batch_size=1,
                                                 workers=0, threads=2))
        x = b.preprocess(image)
        e = next(e for e in _runnable() if e["model"] == model)
        assert x.shape == (3, e["input_size"], e["input_size"])
        probs = b.predict(x[None])
        assert probs.shape == (1, 1000) and abs(float(probs.sum()) - 1) < 1e-4
    assert len(models) == 4
