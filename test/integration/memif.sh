#!/usr/bin/env bash
# net_memif: two lstack processes joined by shared memory (no kernel on the
# path): gz-echo as the server (memif role=server) and gz-echo as the client
# (role=client); CONNS connections each echo BYTES. Both run inside a network
# namespace of their own, though no packet reaches a kernel interface.
#   memif.sh GZ_ECHO INDEX CONNS BYTES
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 idx=$2 conns=$3 bytes=$4
gz_require
GZ_NS_L=gzt-memif-$idx GZ_NS_P=gzt-memif-$idx-unused
trap gz_teardown EXIT
ip netns del "$GZ_NS_L" 2>/dev/null || true
ip netns add "$GZ_NS_L" || gz_skip "cannot create a network namespace"
dir=$(mktemp -d) net=192.168.$((100 + idx))
conf() {  # NAME ROLE MAC CPU ADDR
  cat >"$dir/$1.conf" <<CONF
dpdk_args = ["--no-pci", "--in-memory", "--vdev", "net_memif0,role=$2,socket=$dir/memif.sock,mac=$3", "-l", "0", "--log-level", "lib.eal:error", "--log-level", "pmd.net.memif:crit"];
num_cpus = "$4";
low_power_mode = 1;
host_addr = "$5";
mask_addr = "255.255.255.0";
devices = "$3";
CONF
}
conf server server 02:00:00:00:$(printf %02x "$idx"):01 1 "$net.1"
conf client client 02:00:00:00:$(printf %02x "$idx"):02 0 "$net.2"
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$dir/server.conf" GAZELLE_RUN_DIR="$dir" "$echo_bin" server 7 >"$dir/server.log" 2>&1
gz_wait_line "$dir/server.log" ready 60 || { cat "$dir/server.log"; echo "FAIL: the memif server did not come up"; exit 1; }
timeout 300 ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$dir/client.conf" GAZELLE_RUN_DIR="$dir" \
  "$echo_bin" client "$net.1" 7 "$conns" "$bytes" >"$dir/client.log" 2>&1
rc=$?
grep -vE '^(EAL|TELEMETRY|rte_pmd_memif_probe)' "$dir/client.log"
[ $rc = 0 ] || { echo "FAIL: lstack <-> lstack over net_memif (client exit $rc)"; exit 1; }
