"""Where caches live by default (stdlib only): one constant each, used by every command.

* :data:`RUNS_DIR` — where ``predict`` and ``import`` write (relative to the
  working directory; git-ignored in the repository), so a user's own runs
  never mix with the shipped outputs.
* :func:`shipped_dir` — ``precomputed/northcutt2019/`` of the checkout this
  package is installed from (``pip install -e .``): the 34 model outputs of
  the 2019 study, converted to this project's cache format. ``score``,
  ``compare``, ``errors`` and ``per-class`` read it when no
  ``--precomputed`` is given.
"""
from __future__ import annotations

import os

#: default output folder of ``predict`` and ``import``
RUNS_DIR = "runs"
#: the shipped set, relative to the repository root
SHIPPED_RELPATH = os.path.join("precomputed", "northcutt2019")


def repository_root() -> str:
    """The folder above the ``imagenet_bench`` package (the checkout, for an editable install)."""
    here = os.path.dirname(os.path.abspath(__file__))  # .../imagenet_bench/cache
    return os.path.dirname(os.path.dirname(here))


def shipped_dir() -> str:
    """Absolute path of the shipped 2019 outputs (it may be absent outside a checkout)."""
    return os.path.join(repository_root(), SHIPPED_RELPATH)
