#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine (as root): munged, slurmctld, slurmd.
#
#   sudo tools/slurm-local/start.sh [STATE_DIR]     (default /tmp/imagenet_bench-slurm)
#
# Needs Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge). The config is
# written to STATE_DIR/slurm.conf and linked from /etc/slurm/slurm.conf (where sbatch,
# squeue and scancel look for it) unless another config is already there; otherwise
# export SLURM_CONF=STATE_DIR/slurm.conf. No slurmdbd: accounting is off (sacct does not
# work), which imagenet-bench sweep does not need. Stop with tools/slurm-local/stop.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${1:-/tmp/imagenet_bench-slurm}
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$state/ctld" "$state/spool" /run/munge
sed -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEM@|$mem|g" -e "s|@STATE@|$state|g" \
  "$here/slurm.conf.in" > "$state/slurm.conf"
touch "$state/cgroup.conf"
if [ ! -e /etc/slurm/slurm.conf ] || grep -q imagenet-bench-local /etc/slurm/slurm.conf; then
  mkdir -p /etc/slurm
  ln -sfn "$state/slurm.conf" /etc/slurm/slurm.conf
fi
export SLURM_CONF=$state/slurm.conf
# munge: a key of its own when none is installed, daemon as the munge user
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown -R munge:munge /etc/munge /run/munge 2>/dev/null || true
chmod 700 /etc/munge; chmod 400 /etc/munge/munge.key
mkdir -p /var/lib/munge /var/log/munge; chown munge:munge /var/lib/munge /var/log/munge
if ! munge -n >/dev/null 2>&1 </dev/null; then
  su -s /bin/sh munge -c "/usr/sbin/munged" || /usr/sbin/munged --force
fi
for pidfile in slurmctld slurmd; do
  if [ -f "$state/$pidfile.pid" ] && kill -0 "$(cat "$state/$pidfile.pid")" 2>/dev/null; then
    kill "$(cat "$state/$pidfile.pid")"; sleep 1
  fi
done
/usr/sbin/slurmctld -f "$state/slurm.conf"
/usr/sbin/slurmd -f "$state/slurm.conf"
for _ in $(seq 1 60); do
  if sinfo -h -o %t 2>/dev/null | grep -q -E '^(idle|mix|alloc)'; then
    echo "slurm-local: node $host up ($cpus CPUs); SLURM_CONF=$state/slurm.conf"
    sinfo
    exit 0
  fi
  sleep 0.5
done
echo "slurm-local: the node did not come up within 30 s; see $state/slurmctld.log and $state/slurmd.log" >&2
sinfo >&2 || true
exit 1
