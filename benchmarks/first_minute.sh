#!/usr/bin/env bash
# A newcomer's first minute, timed: clone, README line 1 (fresh venv, light install,
# `imagenet-bench score`), then the size of the venv's site-packages.
#
#   bash benchmarks/first_minute.sh [REPO] [BRANCH]    (defaults: this checkout, its branch)
#
# Runs in a new temporary folder with PYTHONPATH and any active venv removed from the
# environment, so nothing of this machine's development setup is used.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${1:-$here}"
branch="${2:-$(git -C "$here" rev-parse --abbrev-ref HEAD)}"
work="$(mktemp -d)"
unset PYTHONPATH PYTHONDONTWRITEBYTECODE VIRTUAL_ENV
path=""
for d in ${PATH//:/ }; do [[ -f "$d/../pyvenv.cfg" ]] || path="${path:+$path:}$d"; done
export PATH="$path"  # no virtual environment's bin folder
echo "$(date -u '+%F %H:%M UTC'), $(uname -m), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg), $(python3 --version)"
start=$(date +%s.%N)
git clone -q --no-local --branch "$branch" "$repo" "$work/imagenet_bench"  # as over a network: reachable objects only
cd "$work/imagenet_bench"
line1=$(awk '/^```sh$/ {inblock=1; next} inblock {print; exit}' README.md)
echo "README line 1: $line1"
bash -c "set -euo pipefail; $line1" > "$work/table.txt" 2> "$work/install.log"
end=$(date +%s.%N)
grep -m1 "ranked by top-1" "$work/table.txt"
echo "rows: $(grep -cE '^ +[0-9]+ ' "$work/table.txt")"
echo "seconds from clone to table: $(python3 -c "print(round($end - $start, 1))")"
echo "site-packages: $(du -sm .venv/lib/python3*/site-packages | cut -f1) MB, of which:"
du -sm .venv/lib/python3*/site-packages/* | sort -rn | head -5 | sed 's#\t.*/site-packages/#  #'
echo "clone: $(du -sm --exclude=.venv . | cut -f1) MB on disk, of which .git $(du -sm .git | cut -f1) MB and precomputed/ $(du -sm precomputed | cut -f1) MB (MiB, du -m)"
rm -rf "$work"
