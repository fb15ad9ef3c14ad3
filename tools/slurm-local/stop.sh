#!/usr/bin/env bash
# Stop the cluster tools/slurm-local/start.sh started (by its pid files).
set -uo pipefail
state=${1:-/tmp/imagenet_bench-slurm}
for name in slurmd slurmctld; do
  if [ -f "$state/$name.pid" ]; then kill "$(cat "$state/$name.pid")" 2>/dev/null && echo "stopped $name"; fi
done
