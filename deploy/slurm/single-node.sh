#!/bin/bash
# A private single-node Slurm cluster on this machine, to try the job array (and to test it):
#
#   sudo deploy/slurm/single-node.sh start DIR     # needs slurm-wlm (Debian/Ubuntu: apt-get install slurm-wlm)
#   export SLURM_CONF=DIR/slurm.conf               # then sbatch, squeue, scontrol talk to it
#   sudo deploy/slurm/single-node.sh stop DIR
#
# Everything lives in DIR: its own config, munge key and socket, state, logs, and free TCP ports,
# so it does not touch /etc/slurm or a cluster the machine belongs to. Memory limits are enforced
# by Slurm's accounting poller (OverMemoryKill), which needs no cgroup setup.
set -euo pipefail
action=${1:?usage: $0 start|stop DIR} dir=${2:?usage: $0 start|stop DIR}
mkdir -p "$dir"
dir=$(realpath "$dir")

stop() {
  for pidfile in slurmd.pid slurmctld.pid munged.pid; do
    if [ -s "$dir/$pidfile" ]; then kill "$(cat "$dir/$pidfile")" 2>/dev/null || true; fi
  done
  sleep 1
}

if [ "$action" = stop ]; then stop; exit 0; fi
[ "$action" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "slurmd must run as root" >&2; exit 1; }
for prog in munged mungekey slurmctld slurmd; do
  command -v "$prog" >/dev/null || [ -x "/usr/sbin/$prog" ] || { echo "$prog not found: install slurm-wlm" >&2; exit 1; }
done
export PATH=$PATH:/usr/sbin
stop
mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chmod 700 "$dir/munge"
[ -s "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null \
  || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge/munge.seed"

ports=$(python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
read -r ctld_port slurmd_port <<<"$ports"
host=$(hostname -s)
cpus=$(getconf _NPROCESSORS_ONLN)   # not nproc: it follows OMP_NUM_THREADS
mem=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
cat > "$dir/slurm.conf" <<CONF
ClusterName=wcdl-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
JobAcctGatherParams=OverMemoryKill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
MaxArraySize=10001
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=grading Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$dir/slurm.conf"
slurmd -f "$dir/slurm.conf"
for _ in $(seq 60); do
  if scontrol ping >/dev/null 2>&1 && sinfo -h -o %T 2>/dev/null | grep -qx idle; then
    echo "Slurm is up: export SLURM_CONF=$dir/slurm.conf"
    exit 0
  fi
  sleep 1
done
echo "Slurm did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
tail -n 5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
