#!/usr/bin/env bash
# CI service: a one-node SLURM cluster for the sweep tests (tests/test_sweep_slurm.py).
set -euo pipefail
exec "$(dirname "$0")/../../tools/slurm-local/start.sh"
