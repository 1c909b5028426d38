# Shared helpers for the integration tests (sourced). Each test builds its own
# topology: two network namespaces joined by a veth pair, lstack on one end
# (its kernel side has no address, so only lstack answers), a kernel peer on
# the other. Offloads are off on both ends, as on a real wire: a veth peer
# would otherwise send 64 KiB GSO frames and partial checksums.
#
#   gz_setup NAME INDEX        -> GZ_NS_L, GZ_NS_P, GZ_IF_L, GZ_IF_P, GZ_MAC, GZ_HOST, GZ_PEER
#   gz_conf FILE VDEV RTC      writes an lstack.conf for this topology
#   gz_bg CMD...               starts CMD in the background, remembers its PID
#   gz_teardown                kills what gz_bg started, deletes the namespaces
# Exit status 77 means SKIP (meson), always with the reason on stderr. Safe under set -e.

gz_skip() { echo "SKIP: $*" >&2; exit 77; }

gz_require() {
  [ "$(id -u)" = 0 ] || gz_skip "needs root (network namespaces, DPDK)"
  command -v ip >/dev/null || gz_skip "iproute2 missing (tools/bootstrap installs it)"
  local free
  free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
  [ "$free" -ge 128 ] || gz_skip "needs 256 MiB of free 2 MiB hugepages (have $free pages; tools/bootstrap reserves them)"
}

GZ_PIDS=()

gz_setup() {  # NAME INDEX [QUEUES]
  local name=$1 idx=$2 queues=${3:-1}
  GZ_NS_L=gzt-$name-l GZ_NS_P=gzt-$name-p GZ_IF_L=gzt${idx}l GZ_IF_P=gzt${idx}p
  GZ_HOST=192.168.$((100 + idx)).1 GZ_PEER=192.168.$((100 + idx)).2
  trap gz_teardown EXIT
  ip netns del "$GZ_NS_L" 2>/dev/null || true; ip netns del "$GZ_NS_P" 2>/dev/null || true
  ip netns add "$GZ_NS_L" && ip netns add "$GZ_NS_P" || gz_skip "cannot create network namespaces"
  ip link add "$GZ_IF_L" netns "$GZ_NS_L" numtxqueues "$queues" numrxqueues "$queues" type veth \
    peer name "$GZ_IF_P" netns "$GZ_NS_P" numtxqueues "$queues" numrxqueues "$queues" || gz_skip "cannot create a veth pair"
  ip -n "$GZ_NS_L" link set lo up
  ip -n "$GZ_NS_P" link set lo up
  ip -n "$GZ_NS_L" link set "$GZ_IF_L" up
  ip -n "$GZ_NS_P" link set "$GZ_IF_P" up
  ip -n "$GZ_NS_P" addr add "$GZ_PEER/24" dev "$GZ_IF_P"
  ip netns exec "$GZ_NS_L" ethtool -K "$GZ_IF_L" tx off tso off gso off gro off >/dev/null 2>&1 || true
  ip netns exec "$GZ_NS_P" ethtool -K "$GZ_IF_P" tx off tso off gso off gro off >/dev/null 2>&1 || true
  GZ_MAC=$(ip netns exec "$GZ_NS_L" cat "/sys/class/net/$GZ_IF_L/address")
}

# gz_conf FILE VDEV(af_packet|af_xdp) RTC(0|1) [CPUS]   (CPUS "0,1": two stacks, two queues)
gz_conf() {
  local file=$1 vdev=$2 rtc=$3 cpus=${4:-1} dev nq
  nq=$(echo "$cpus" | tr ',' '\n' | wc -l)
  case $vdev in
    # framesz: the PMD's fanout hands over datagrams the kernel reassembled
    af_packet) dev="net_af_packet0,iface=$GZ_IF_L,qpairs=$nq,framesz=8192,blocksz=8192,framecnt=512" ;;
    af_xdp) dev="net_af_xdp0,iface=$GZ_IF_L,start_queue=0,queue_count=$nq" ;;
    *) echo "gz_conf: unknown vdev $vdev" >&2; return 1 ;;
  esac
  cat > "$file" <<CONF
dpdk_args = ["--no-pci", "--in-memory", "--vdev", "$dev", "-l", "0", "--log-level", "lib.eal:error"];
num_cpus = "$cpus";
low_power_mode = 1;
stack_mode_rtc = $rtc;
host_addr = "$GZ_HOST";
mask_addr = "255.255.255.0";
gateway_addr = "$GZ_PEER";
devices = "$GZ_MAC";
tcp_conn_count = 1500;
mbuf_count_per_conn = 16;
use_ltran = 0;
kni_switch = 0;
CONF
}

gz_bg() {
  "$@" &
  GZ_PIDS+=($!)
}

gz_teardown() {
  local pid
  for pid in "${GZ_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${GZ_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  GZ_PIDS=()
  ip netns del "$GZ_NS_L" 2>/dev/null || true
  ip netns del "$GZ_NS_P" 2>/dev/null || true
  return 0
}

# gz_wait_line FILE TEXT SECONDS: wait until FILE contains TEXT.
gz_wait_line() {
  local i
  for i in $(seq $(( $3 * 10 ))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
