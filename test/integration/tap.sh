#!/usr/bin/env bash
# net_tap, the vdev that offers checksum offloads: lstack creates the tap in
# its namespace, the test moves the kernel end into the peer namespace, and the
# traffic must survive lstack leaving IPv4 and TCP checksums to the device
# (and trusting the device's rx verdicts). gazellectl must show the offloads.
#   tap.sh GZ_ECHO GAZELLECTL INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 ctl=$2 idx=$3 rtc=$4
gz_require
GZ_NS_L=gzt-tap$rtc-l GZ_NS_P=gzt-tap$rtc-p
GZ_HOST=192.168.$((100 + idx)).1 GZ_PEER=192.168.$((100 + idx)).2
tap=gztap$idx mac=02:00:00:00:$(printf %02x "$idx"):01
trap gz_teardown EXIT
ip netns del "$GZ_NS_L" 2>/dev/null; ip netns del "$GZ_NS_P" 2>/dev/null
ip netns add "$GZ_NS_L" && ip netns add "$GZ_NS_P" || gz_skip "cannot create network namespaces"
ip -n "$GZ_NS_P" link set lo up
conf=$(mktemp) log=$(mktemp) run=$(mktemp -d)
cat >"$conf" <<CONF
dpdk_args = ["--no-pci", "--in-memory", "--vdev", "net_tap0,iface=$tap,mac=$mac", "-l", "0", "--log-level", "lib.eal:error", "--log-level", "pmd.net.tap:crit"];
num_cpus = "1";
low_power_mode = 1;
stack_mode_rtc = $rtc;
host_addr = "$GZ_HOST";
mask_addr = "255.255.255.0";
devices = "$mac";
CONF
gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$run" "$echo_bin" server 7 >"$log" 2>&1
gz_wait_line "$log" ready 60 || { cat "$log"; echo "FAIL: lstack did not come up on net_tap"; exit 1; }
ip -n "$GZ_NS_L" link set "$tap" netns "$GZ_NS_P" || gz_skip "this kernel cannot move a tap device between namespaces"
ip -n "$GZ_NS_P" addr add "$GZ_PEER/24" dev "$tap"
ip -n "$GZ_NS_P" link set "$tap" up
ip netns exec "$GZ_NS_P" ethtool -K "$tap" tx off tso off gso off gro off >/dev/null 2>&1 || true
status=0
ip netns exec "$GZ_NS_P" ping -n -q -c 3 -i 0.2 -W 2 "$GZ_HOST" >/dev/null || { echo "FAIL: ping over net_tap"; status=1; }
peer=$(dirname "$0")/peer.py
timeout 120 ip netns exec "$GZ_NS_P" python3 "$peer" clients "$GZ_HOST" 7 100 65536 || status=1
timeout 300 ip netns exec "$GZ_NS_P" python3 "$peer" stream "$GZ_HOST" 7 100000000 || status=1
GAZELLE_RUN_DIR="$run" "$ctl" lstack show | tee "$log.ctl"
grep -q "checksums: rx ip device, rx tcp/udp device, tx ip device, tx tcp device" "$log.ctl" \
  || { echo "FAIL: net_tap's checksum offloads are not in use"; status=1; }
GAZELLE_RUN_DIR="$run" "$ctl" lstack show --json >"$log.json"
bad=$(gz_ctl_total "$log.json" rx_cksum_bad)
[ "$(gz_ctl_total "$log.json" rx_packets)" -gt 0 ] && [ "$bad" = 0 ] \
  || { echo "FAIL: checksum errors counted ($bad), or no counters"; status=1; }
exit $status
