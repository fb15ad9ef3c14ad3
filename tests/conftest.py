"""Shared fixtures: the ../shared data folder and small synthetic caches."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from imagenet_bench.cache import store as cache

#: ``../shared`` beside the repository (CI clones the repo with shared/ beside it)
SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference" / "northcutt2019"
VAL_SUBSET = SHARED / "imagenet-val-subset"


@pytest.fixture(autouse=True)
def _own_index_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own folder-index directory (``XDG_CACHE_HOME``), never ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


def need(path: Path) -> Path:
    """Skip the test (with the reason) unless ``path`` exists."""
    if not path.exists():
        pytest.skip(f"{path} not found: this test reads ../shared beside the repository")
    return path


@pytest.fixture
def reference_dir() -> Path:
    """The published 2019 outputs of the 34 models."""
    return need(REFERENCE)


@pytest.fixture
def val_subset_dir() -> Path:
    """The 1,300 real ImageNet validation images (flat, 227x227)."""
    return need(VAL_SUBSET)


def make_preds(top5, labels, model="m", framework="torch", ids=None, complete=True,
               probs=None, missing=None, **prov) -> cache.Predictions:
    """Build :class:`cache.Predictions` from small lists (probabilities made descending)."""
    top5 = np.asarray(top5, dtype=np.int16)
    n = len(top5)
    if probs is None:
        probs = np.tile(np.array([0.5, 0.2, 0.1, 0.05, 0.01], np.float32), (n, 1))
    if ids is None:
        ids = [f"n00000000/img_{i:05d}.JPEG" for i in range(n)]
    provenance = {"model": model, "framework": framework, "weights": "random",
                  "preprocessing": {"mode": "test"}, "library_versions": {},
                  "complete": complete}
    provenance.update(prov)
    return cache.Predictions.build(top5, probs, labels, ids, provenance, missing=missing)


def write_caches(directory, preds_list):
    """Save each Predictions into ``directory`` under its standard file name."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for p in preds_list:
        name = cache.cache_filename(p.model_id, p.num_images, p.fingerprint)
        paths.append(cache.save(os.path.join(directory, name), p))
    return paths


# --- synthetic validation sets (torch branch: dataset, pixels, runner, torch tests) ---------
from typing import List  # noqa: E402

from imagenet_bench.data import imagenet_meta  # noqa: E402

SUBSET = VAL_SUBSET


def official_files(num_classes: int, per_class: int, first_class: int = 0) -> List[tuple]:
    """(wnid, official file name) pairs whose official label is that wnid."""
    per_file = imagenet_meta.validation_wnids()
    wanted = imagenet_meta.wnids()[first_class:first_class + num_classes]
    out = []
    for wnid in wanted:
        nums = [i + 1 for i, w in enumerate(per_file) if w == wnid][:per_class]
        out += [(wnid, imagenet_meta.val_filename(n)) for n in nums]
    return out


def synthetic_image(seed: int, size=(80, 60)):
    """A smooth random RGB PIL image (gradients plus noise) of ``size`` (w, h)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(0, 255, 3)
    slope = rng.uniform(-2, 2, (2, 3))
    arr = base + xx[..., None] * slope[0] + yy[..., None] * slope[1] + rng.normal(0, 20, (h, w, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def make_valset(root, num_classes=3, per_class=3, layout="imagefolder", first_class=0,
                sizes=((80, 60), (50, 90), (64, 64))) -> Path:
    """Write a small validation set of synthetic JPEGs under ``root``; return ``root``."""
    root = Path(root)
    for i, (wnid, name) in enumerate(official_files(num_classes, per_class, first_class)):
        folder = root / wnid if layout == "imagefolder" else root
        folder.mkdir(parents=True, exist_ok=True)
        synthetic_image(i, sizes[i % len(sizes)]).save(folder / name, quality=90)
    return root


@pytest.fixture
def valdir(tmp_path):
    """A 3-class, 9-image ImageFolder tree."""
    return make_valset(tmp_path / "val")


def require_subset():
    """Skip unless ../shared/imagenet-val-subset is present."""
    if not SUBSET.is_dir():
        pytest.skip(f"real val subset not found at {SUBSET} (../shared beside the repository)")
    return SUBSET


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch):
    """Keep numeric libraries to 2 threads on the shared CI machines."""
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "2"))


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory):
    """The package built as a wheel once per session and unpacked: (its file names, the folder).

    For the tests that a non-editable install carries its package data."""
    import subprocess
    import sys
    import zipfile
    tmp = tmp_path_factory.mktemp("wheel")
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp / "dist"), str(repo)], check=True, cwd=str(tmp))
    (wheel,) = (tmp / "dist").glob("imagenet_bench-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        z.extractall(tmp / "site")
    return names, tmp / "site"


def run_from_site(site, code: str) -> list:
    """Standard output lines of ``python -c code`` importing the package from ``site`` only."""
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=str(site.parent), env=env).stdout.splitlines()


def same_provenance(a, b) -> bool:
    """Two caches' provenance equal except how they were made (``shards``, ``timing``: see
    ``imagenet_bench.cache.inspect``); both record their ``timing``."""
    from imagenet_bench.cache.inspect import RUN_ONLY_KEYS
    assert "timing" in a.provenance and "timing" in b.provenance
    strip = lambda p: {k: v for k, v in p.provenance.items() if k not in RUN_ONLY_KEYS}  # noqa: E731
    return strip(a) == strip(b)


def fake_config(name: str, recipe=None):
    """The RunConfig of a test backend (``custom:<name>``, run by library ``test``): the runner
    reads the identity and settings it writes in the provenance from ``backend.config``."""
    from imagenet_bench.models.identity import ModelId
    from imagenet_bench.models.recipe import Recipe
    from imagenet_bench.run.config import RunConfig
    return RunConfig(model_id=ModelId("custom", name, ""), framework="test", spec=None,
                     recipe=recipe or Recipe(resize=20, crop=16, squash=False, interpolation="bilinear",
                                             normalization="torch"))


def load_tool(name: str, folder: str = "tools"):
    """``<folder>/<name>.py`` of the repository as a module (``tools/`` generators,
    ``benchmarks/``, the 2019 ``scripts/``): scripts, not part of the package, so tests load
    them from their file (no sys.path edit)."""
    import importlib.util
    path = Path(__file__).resolve().parents[1] / folder / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def process_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (from /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def normalize(pixels, mean=None, std=None):
    """The numpy reference of torchvision's ``ToTensor`` + ``Normalize`` in float32: uint8 (..., 3)
    pixels to [0, 1], then ``(x - mean) / std``."""
    import numpy as np
    x = pixels.astype(np.float32) / np.float32(255)
    if mean is not None:
        x = x - np.asarray(mean, np.float32)
    if std is not None:
        x = x / np.asarray(std, np.float32)
    return x


def torchvision_recipe(weights):
    """The preprocessing recipe torchvision ``weights`` declare, read from ``weights.transforms()``
    (what the catalog generator records for each torchvision entry)."""
    from imagenet_bench.models.recipe import Recipe
    t = weights.transforms()
    mode = getattr(t.interpolation, "value", str(t.interpolation))
    return Recipe(resize=int(t.resize_size[0]), crop=int(t.crop_size[0]), squash=False,
                  interpolation=str(mode), normalization="torch", mean=tuple(t.mean), std=tuple(t.std),
                  antialias=bool(t.antialias) if t.antialias is not None else True)

