# Shared helpers for the integration tests (sourced). Each test builds its own
# topology: two network namespaces joined by a veth pair, lstack on one end
# (its kernel side has no address, so only lstack answers), a kernel peer on
# the other. Offloads are off on both ends, as on a real wire: a veth peer
# would otherwise send 64 KiB GSO frames and partial checksums.
#
#   gz_setup NAME INDEX        -> GZ_NS_L, GZ_NS_P, GZ_IF_L, GZ_IF_P, GZ_MAC, GZ_HOST, GZ_PEER
#   gz_conf FILE VDEV RTC      writes an lstack.conf for this topology; GZ_DPDK_STYLE=gazelle
#                              gives it dpdk_args as Gazelle documents them (hugetlbfs files,
#                              --file-prefix, --socket-mem, --legacy-mem) instead of --in-memory
#   gz_bg CMD...               starts CMD in the background, remembers its PID
#   gz_teardown                kills what gz_bg started (and their children), deletes the
#                              namespaces and the gz_tmpdir directories
# Stopping as users do, and what a stop leaves behind:
#   gz_stop_app PID WANT NAME LOG...  SIGTERM, waits (bounded), checks the exit status is WANT
#                              and the logs have no crash report
#   gz_hold PORT LOG [REQUEST] a kernel peer's connection held open to PORT (peer.py held)
#   gz_held_ended NAME         after NAME's stop: the peer saw that end (EOF), as on the kernel
#   gz_leftovers_mark          records the free hugepages before lstack starts
#   gz_leftovers_check         after the stop: hugepages, DPDK files, control sockets, XDP as before
# For the tests that run real programs under LD_PRELOAD (apps_*.sh):
#   gz_need PROGRAM...         SKIP unless every PROGRAM is installed
#   gz_tmpdir VAR              sets VAR to a new temporary directory (GZ_KEEP=1 keeps it)
#   gz_lstack_env LIB CONF NAME  -> GZ_ENV: env assignments that put a program on lstack
#                              (LIB "kernel": the same test on the kernel, to check the test)
#   gz_wait_server PID FILE TEXT SECONDS  waits for TEXT in FILE while PID lives
#   gz_retry SECONDS CMD...    runs CMD until it succeeds
#   gz_same_sha256 WANT GOT    compares two files by sha256, says how they differ
#   gz_fail REASON / gz_finish LOG...  records a failed check / prints the logs on failure, exits
# Exit status 77 means SKIP (meson), always with the reason on stderr. Safe under set -e.

# In CI (CI=true: root, hugepages reserved by bootstrap) the data path must run: a
# test that would SKIP fails instead, with the same reason.
gz_skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: would SKIP, but CI must run the data path: $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

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

# gz_queues CPUS: how many stacks (and device queues) num_cpus = CPUS makes ("0,1": 2).
gz_queues() { echo "$1" | tr ',' '\n' | wc -l; }

# gz_conf FILE VDEV(af_packet|af_xdp) RTC(0|1) [CPUS]   (CPUS "0,1": two stacks, two queues)
gz_conf() {
  local file=$1 vdev=$2 rtc=$3 cpus=${4:-1} dev nq
  nq=$(gz_queues "$cpus")
  case $vdev in
    # framesz: the PMD's fanout hands over datagrams the kernel reassembled
    af_packet) dev="net_af_packet0,iface=$GZ_IF_L,qpairs=$nq,framesz=8192,blocksz=8192,framecnt=512" ;;
    # GZ_AF_XDP_ARGS: more vdev arguments (e.g. GZ_AF_XDP_ARGS=,busy_budget=0 tools/bench nginx).
    af_xdp) dev="net_af_xdp0,iface=$GZ_IF_L,start_queue=0,queue_count=$nq${GZ_AF_XDP_ARGS:-}" ;;
    *) echo "gz_conf: unknown vdev $vdev" >&2; return 1 ;;
  esac
  local eal='"--in-memory"' style=${GZ_DPDK_STYLE:-inmem}
  if [ "${GZ_DPDK_STYLE_SWAP:-0}" = 1 ]; then
    case $style in gazelle) style=inmem ;; *) style=gazelle ;; esac
  fi
  echo "lstack.conf: dpdk_args of the $style form"
  if [ "$style" = gazelle ]; then
    # Gazelle's documented form: hugepage files in a hugetlbfs directory under a
    # file prefix of this process's own, memory reserved up front.
    # 256 MiB per stack: lstack refuses less than its pools need (af_packet's 8 KiB
    # frames: about 206 MiB a stack), naming dpdk_args.
    GZ_FILE_PREFIX=gz$GZ_IF_L
    local free
    free=$(gz_huge_free 2>/dev/null || echo 0)
    [ "$free" -ge $((128 * nq)) ] || gz_skip "needs $((256 * nq)) MiB of free 2 MiB hugepages for $nq stack(s) (have $free pages)"
    eal="\"--socket-mem\", \"$((256 * nq))\", \"--huge-dir\", \"/dev/hugepages\", \"--proc-type\", \"primary\", \"--legacy-mem\", \"--file-prefix\", \"$GZ_FILE_PREFIX\""
  fi
  gz_write_conf "$file" "\"--no-pci\", $eal, \"--vdev\", \"$dev\"" "$GZ_HOST" "$cpus" "$rtc" 0
}

# gz_write_conf FILE DPDK_ARGS HOST CPUS RTC USE_LTRAN: the lstack.conf every test writes
# (DPDK_ARGS: the list's items before "-l 0" and the log level), readable by any user.
gz_write_conf() {
  cat >"$1" <<CONF
dpdk_args = [$2, "-l", "0", "--log-level", "lib.eal:error"];
num_cpus = "$4";
low_power_mode = 1;
stack_mode_rtc = $5;
host_addr = "$3";
mask_addr = "255.255.255.0";
gateway_addr = "$GZ_PEER";
devices = "$GZ_MAC";
tcp_conn_count = 1500;
mbuf_count_per_conn = 16;
use_ltran = $6;
kni_switch = 0;
CONF
  chmod 644 "$1"
}

gz_bg() {
  "$@" &
  GZ_PIDS+=($!)
}

# gz_descendants PID: the children of PID, their children... (nginx's workers)
gz_descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$c"
    gz_descendants "$c"
  done
}

GZ_TMPDIRS=()
GZ_FILE_PREFIX=

# gz_stop_app PID WANT NAME LOG...: stops PID (a child of this shell) with SIGTERM as a
# user or systemd does, waits up to 20 s, and checks its exit status (WANT: what the
# program gives on the kernel: 0 for redis, 1 for iperf3, 143 for python's default
# handler) and that no LOG holds a crash report. A program still alive is killed and fails.
gz_stop_app() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || { gz_fail "$3 had exited before SIGTERM"; return; }
  gz_wait_exit "$@"
}

# gz_wait_exit PID WANT NAME LOG...: as gz_stop_app, once the stop was asked for otherwise
# (nginx -s quit).
gz_wait_exit() {
  local pid=$1 want=$2 name=$3 rc
  shift 3
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null
    gz_fail "$name still ran 20 s after it was asked to stop (killed)"
  fi
  wait "$pid" 2>/dev/null
  rc=$?
  [ "$rc" = "$want" ] || gz_fail "$name stopped: exit status $rc, want $want (as on the kernel)"
  gz_no_crash "$name" "$@"
}

# gz_hold PORT LOG [REQUEST]: from the peer namespace, a connection to the lstack host's
# PORT held open (REQUEST, a line, answered first if given) until the server ends it.
# When a process ends, the kernel closes its sockets: the peer sees EOF (what was
# written, then FIN), not silence. gz_held_ended NAME, after NAME stopped, checks that
# the peer saw it within 20 s of the hold (peer.py held).
GZ_HELD= GZ_HELD_LOG=
gz_hold() {
  local port=$1
  GZ_HELD_LOG=$2
  shift 2
  gz_bg ip netns exec "$GZ_NS_P" python3 "$(dirname "${BASH_SOURCE[0]}")/peer.py" held "$GZ_HOST" "$port" 20 "$@" \
    >"$GZ_HELD_LOG" 2>&1
  GZ_HELD=${GZ_PIDS[-1]}
  gz_wait_line "$GZ_HELD_LOG" "peer: held: " 15 || gz_fail "no connection held open to port $port: $(cat "$GZ_HELD_LOG")"
}
gz_held_ended() {
  gz_wait_exit "$GZ_HELD" 0 "the connection held open to $1 as it stopped (peer.py held: EOF)" "$GZ_HELD_LOG"
  echo "  held connection: $(tail -1 "$GZ_HELD_LOG")"
}

# gz_no_crash NAME LOG...: fails if a LOG shows a crash, an abort or a sanitizer report.
gz_no_crash() {
  local name=$1 f
  shift
  for f in "$@"; do
    if grep -qE 'terminate called|exception not rethrown|Aborted|Segmentation fault|BUG REPORT|crashed by signal|AddressSanitizer|runtime error:|core dumped' "$f" 2>/dev/null; then
      gz_fail "$name: crash report in $f: $(grep -m2 -E 'terminate called|exception not rethrown|Aborted|Segmentation fault|BUG REPORT|crashed by signal|AddressSanitizer|runtime error:|core dumped' "$f")"
    fi
  done
}

GZ_HUGE_FREE=
gz_huge_free() { cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages; }
GZ_RTE_DIR_BEFORE=
gz_leftovers_mark() {
  GZ_HUGE_FREE=$(gz_huge_free)
  GZ_RTE_DIR_BEFORE=$([ -e /var/run/dpdk/rte ] && echo yes || echo no)
}

# gz_leftovers_check [RUN_DIR]: after lstack's process stopped, nothing of it remains:
# the free hugepages are back, no hugepage file or DPDK runtime directory of its file
# prefix, no control socket in RUN_DIR, no XDP program on the lstack-side veth.
gz_leftovers_check() {
  local run_dir=${1:-} now
  # At least as many: a stale prefix of an earlier crash may have been cleared meanwhile.
  for _ in $(seq 20); do [ "$(gz_huge_free)" -ge "$GZ_HUGE_FREE" ] && break; sleep 0.1; done
  now=$(gz_huge_free)
  [ "$now" -ge "$GZ_HUGE_FREE" ] || gz_fail "free hugepages: $now after the stop, $GZ_HUGE_FREE before the start"
  if [ -n "$GZ_FILE_PREFIX" ]; then
    ! ls /dev/hugepages/"${GZ_FILE_PREFIX}"map_* >/dev/null 2>&1 || gz_fail "hugepage files left: $(ls /dev/hugepages | grep -c "^${GZ_FILE_PREFIX}map_") x /dev/hugepages/${GZ_FILE_PREFIX}map_*"
    [ ! -e "/var/run/dpdk/$GZ_FILE_PREFIX" ] || gz_fail "DPDK runtime directory left: /var/run/dpdk/$GZ_FILE_PREFIX ($(ls "/var/run/dpdk/$GZ_FILE_PREFIX" | tr '\n' ' '))"
  fi
  if [ "$GZ_RTE_DIR_BEFORE" = no ] && [ -e /var/run/dpdk/rte ]; then
    gz_fail "DPDK runtime directory left: /var/run/dpdk/rte ($(ls /var/run/dpdk/rte | tr '\n' ' '))"
  fi
  if [ -n "$run_dir" ] && ls "$run_dir"/*lstack.*.sock >/dev/null 2>&1; then
    gz_fail "control socket left: $(ls "$run_dir")"
  fi
  if ip -n "$GZ_NS_L" link show dev "$GZ_IF_L" 2>/dev/null | grep -q 'prog/xdp'; then
    gz_fail "XDP program left on $GZ_IF_L: $(ip -n "$GZ_NS_L" link show dev "$GZ_IF_L" | grep -o 'prog/xdp.*')"
  fi
}

# gz_stop TENTHS PID...: SIGTERM to each PID, SIGKILL to those still alive after TENTHS x 0.1 s.
gz_stop() {
  local tenths=$1 pid
  shift
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq "$tenths"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

gz_teardown() {
  local pid kids=()
  for pid in "${GZ_PIDS[@]}"; do kids+=($(gz_descendants "$pid")); done
  gz_stop 50 "${GZ_PIDS[@]}"
  gz_stop 20 "${kids[@]}"  # children the processes above left behind (a master killed before its workers)
  GZ_PIDS=()
  ip netns del "$GZ_NS_L" 2>/dev/null || true
  ip netns del "$GZ_NS_P" 2>/dev/null || true
  if [ "${GZ_KEEP:-0}" = 1 ]; then
    [ ${#GZ_TMPDIRS[@]} = 0 ] || echo "kept: ${GZ_TMPDIRS[*]}" >&2
  else
    rm -rf "${GZ_TMPDIRS[@]}"
  fi
  GZ_TMPDIRS=()
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

# gz_start_echo GZ_ECHO CONF LOG [ENV-ARGS...]: gz-echo's TCP echo server on port 7
# in the lstack namespace, with CONF and $GZ_RUN_DIR (ENV-ARGS go to env first,
# e.g. -u MALLOC_PERTURB_); GZ_ECHO_PID is its pid (ip netns exec and env exec
# it). A server that does not come up within 60 s fails the test and ends it.
gz_start_echo() {
  local bin=$1 conf=$2 log=$3
  shift 3
  gz_bg ip netns exec "$GZ_NS_L" env "$@" LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$bin" server 7 >"$log" 2>&1
  GZ_ECHO_PID=${GZ_PIDS[-1]}
  gz_wait_server "$GZ_ECHO_PID" "$log" ready 60 || { gz_fail "the echo server did not come up"; gz_finish "$log"; }
}

# gz_wait_server PID FILE TEXT SECONDS: gz_wait_line, but gives up as soon as PID has exited.
gz_wait_server() {
  local end=$((SECONDS + $4))
  until grep -q "$3" "$2" 2>/dev/null; do
    kill -0 "$1" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.1
  done
}

gz_need() {  # PROGRAM...
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null || gz_skip "$p is not installed (tools/bootstrap installs it)"
  done
}

# gz_tmpdir VAR: VAR = a new directory, removed by gz_teardown (kept with GZ_KEEP=1). Not
# in $(...): the list of directories lives in this shell.
gz_tmpdir() {  # VAR
  local gz_tmpdir_new
  gz_tmpdir_new=$(mktemp -d /tmp/gzt.XXXXXX)
  chmod 755 "$gz_tmpdir_new"
  GZ_TMPDIRS+=("$gz_tmpdir_new")
  printf -v "$1" %s "$gz_tmpdir_new"
}

# gz_lstack_env LIB CONF PROCNAME: GZ_ENV holds what puts an unmodified program on
# lstack, for `env "${GZ_ENV[@]}" PROGRAM ...`: LD_PRELOAD, LSTACK_CONF_PATH, a fresh
# GAZELLE_RUN_DIR (control sockets) and GAZELLE_BIND_PROCNAME. LIB "kernel" runs the
# same test on the kernel instead (GZ_HOST on the lstack-side veth): a check of the test.
gz_lstack_env() {
  local gz_run_dir
  if [ "$1" = kernel ]; then
    ip -n "$GZ_NS_L" -4 addr show dev "$GZ_IF_L" | grep -q "inet $GZ_HOST/" \
      || ip -n "$GZ_NS_L" addr add "$GZ_HOST/24" dev "$GZ_IF_L"
    GZ_ENV=(GZ_ON_KERNEL=1) GZ_RUN_DIR=
    return 0
  fi
  gz_tmpdir gz_run_dir
  GZ_RUN_DIR=$gz_run_dir
  # GZ_PRELOAD_EXTRA (e.g. libasan.so:libubsan.so, with build-asan's liblstack) goes first.
  GZ_ENV=(LD_PRELOAD="${GZ_PRELOAD_EXTRA:+$GZ_PRELOAD_EXTRA:}$(realpath "$1")" LSTACK_CONF_PATH="$2"
          GAZELLE_RUN_DIR="$gz_run_dir" GAZELLE_BIND_PROCNAME="$3")
}

# gz_retry SECONDS CMD...: runs CMD every 0.2 s until it succeeds; 1 if it never did.
gz_retry() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.2
  done
}

# gz_same_sha256 WANT GOT: 0 if the two files are equal, else prints both digests and sizes.
gz_same_sha256() {
  local a b
  a=$(sha256sum <"$1" | cut -d' ' -f1)
  b=$(sha256sum <"$2" 2>/dev/null | cut -d' ' -f1)
  [ "$a" = "$b" ] && return 0
  echo "  want sha256 $a ($(stat -c %s "$1") bytes), got ${b:-nothing} ($(stat -c %s "$2" 2>/dev/null || echo no file) bytes)"
  return 1
}

GZ_STATUS=0 GZ_FAILS=()
gz_fail() {  # REASON: one failed check; the test goes on and fails at gz_finish
  echo "FAIL: $*"
  GZ_STATUS=1
  GZ_FAILS+=("FAIL: $*")
}

# gz_finish LOG...: exits with the verdict of the checks; on failure prints the end of
# every LOG, then the failed checks again (meson shows only a log's last lines).
gz_finish() {
  local f
  if [ "$GZ_STATUS" != 0 ]; then
    for f in "$@"; do
      echo "----- $f (last 60 lines)"
      tail -n 60 "$f" 2>/dev/null || echo "(missing)"
    done
    echo "-----"
    printf '%s\n' "${GZ_FAILS[@]}"
  fi
  exit "$GZ_STATUS"
}

# gz_nginx_site DIR LISTEN: DIR/nginx.conf for Debian's nginx (`nginx -p DIR -c DIR/nginx.conf`):
# master and one worker (as root), every path inside DIR, sendfile, `listen LISTEN;`, serving
# DIR/www, which gets big.bin (10 MiB random) and small.html.
gz_nginx_site() {
  local dir=$1 listen=$2
  mkdir -p "$dir/www" "$dir/tmp"
  head -c $((10 << 20)) /dev/urandom >"$dir/www/big.bin"
  printf '<html><body>lstack small page</body></html>\n' >"$dir/www/small.html"
  cat >"$dir/nginx.conf" <<CONF
user root;
master_process on;
daemon off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  access_log $dir/access.log;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  sendfile on;
  keepalive_requests 100000;
  server {
    listen $listen;
    root $dir/www;
  }
}
CONF
}

# gz_ctl_total FILE COUNTER: the sum over every process of a counter's total,
# from `gazellectl lstack show --json` output (one object per line).
gz_ctl_total() {
  /usr/bin/python3 -c 'import json, sys
print(sum(json.loads(l)["total"][sys.argv[2]] for l in open(sys.argv[1]) if l.startswith("{")))' "$1" "$2" 2>/dev/null || echo 0
}

# --- ltran -------------------------------------------------------------------
# gz_ltran_conf FILE ALLOW_UIDS [EXTRA]: an ltran.conf for this topology, as Gazelle
# documents it (hugepage files under a prefix of ltran's own, --socket-mem,
# --legacy-mem, Gazelle's --map-perfect, which ltran leaves out for stock DPDK): its
# port is net_af_packet on the lstack-side veth, it dispatches 192.168.(100+idx).0/24
# (dispatch_subnet_length 8 host bits). ALLOW_UIDS: libconfig list items, e.g. 0, "www-data".
gz_ltran_conf() {
  local file=$1 allow=$2 extra=${3:-}
  GZ_LTRAN_PREFIX=gzlt$GZ_IF_L
  cat >"$file" <<CONF
forward_kit = "dpdk";
forward_kit_args = "-l 0 --socket-mem 128 --huge-dir /dev/hugepages --proc-type primary --legacy-mem --map-perfect --file-prefix $GZ_LTRAN_PREFIX --no-pci --vdev net_af_packet0,iface=$GZ_IF_L,framesz=8192,blocksz=8192,framecnt=512 --log-level lib.eal:error";
kni_switch = 0;
dispatch_max_clients = 8;
dispatch_subnet = "${GZ_HOST%.*}.0";
dispatch_subnet_length = 8;
bond_mode = 1;
bond_miimon = 100;
bond_mtu = 1500;
bond_ports = "0x1";
bond_macs = "$GZ_MAC";
tcp_conn_scan_interval = 10;
unix_prefix = "";
allow_uids = [$allow];
$extra
CONF
}

# gz_ltran_lstack_conf FILE HOST [hugepages]: lstack.conf of a process behind ltran
# (use_ltran = 1) serving HOST. Unprivileged form by default (--no-huge: anonymous
# memory, no hugepages, no capabilities); "hugepages": Gazelle's documented form for
# a process behind ltran (--socket-mem, --huge-dir, --legacy-mem, --map-perfect) under
# a file prefix of its own.
gz_ltran_lstack_conf() {
  local file=$1 host=$2 eal='"--no-huge", "-m", "256"'
  if [ "${3:-}" = hugepages ]; then
    eal="\"--socket-mem\", \"256\", \"--huge-dir\", \"/dev/hugepages\", \"--proc-type\", \"primary\", \"--legacy-mem\", \"--map-perfect\", \"--file-prefix\", \"gzlt${host##*.}$GZ_IF_L\""
  fi
  gz_write_conf "$file" "$eal" "$host" 1 0 1
}

# gz_ltran_start LTRAN CONF LOG: starts ltran in the lstack namespace (GZ_LTRAN_PID) with
# GAZELLE_RUN_DIR=$GZ_RUN_DIR and waits for its socket; fails the test if it does not come up.
gz_ltran_start() {
  gz_bg ip netns exec "$GZ_NS_L" env GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$1" --config-file "$2" >"$3" 2>&1
  GZ_LTRAN_PID=${GZ_PIDS[-1]}
  gz_wait_server "$GZ_LTRAN_PID" "$3" "ltran: serving" 30 || { gz_fail "ltran did not come up"; gz_finish "$3"; }
}

# --- ltran's bond ------------------------------------------------------------
# gz_bond_setup NAME INDEX [PEER]: two veth pairs between the ltran namespace and the
# peer's, as two NIC ports cabled to one switch: GZ_IF_L/GZ_IF_L2 (ltran's members, DPDK
# ports 0 and 1) facing GZ_IF_P/GZ_IF_P2. PEER "bridge" (default): the peer's ends in a
# linux bridge (no STP) holding GZ_PEER: a switch, so the peer reaches ltran's bond MAC on
# whichever link carries it (learned from what the bond sends; a port whose link goes down
# is forgotten at once). PEER "lacp": the peer's ends in a kernel 802.3ad bond (lacp_rate
# fast), the partner bond_mode 4 needs. PEER "none": the peer's ends bare (up, offloads
# off, no address): a DPDK program there drives them. GZ_MAC: the bond's MAC (bond_macs), one of ours:
# af_packet lets the bond give it to its members. Offloads off on every end.
gz_bond_setup() {
  local name=$1 idx=$2 peer=${3:-bridge} i
  GZ_NS_L=gzt-$name-l GZ_NS_P=gzt-$name-p
  GZ_IF_L=gzt${idx}la GZ_IF_L2=gzt${idx}lb GZ_IF_P=gzt${idx}pa GZ_IF_P2=gzt${idx}pb GZ_BR=gzt${idx}br
  GZ_HOST=192.168.$((100 + idx)).1 GZ_PEER=192.168.$((100 + idx)).2
  GZ_MAC=$(printf '02:47:5a:00:%02x:01' $((idx % 256)))
  trap gz_teardown EXIT
  ip netns del "$GZ_NS_L" 2>/dev/null || true; ip netns del "$GZ_NS_P" 2>/dev/null || true
  ip netns add "$GZ_NS_L" && ip netns add "$GZ_NS_P" || gz_skip "cannot create network namespaces"
  ip link add "$GZ_IF_L" netns "$GZ_NS_L" type veth peer name "$GZ_IF_P" netns "$GZ_NS_P" \
    && ip link add "$GZ_IF_L2" netns "$GZ_NS_L" type veth peer name "$GZ_IF_P2" netns "$GZ_NS_P" || gz_skip "cannot create veth pairs"
  if [ "$peer" = lacp ]; then
    ip -n "$GZ_NS_P" link add "$GZ_BR" type bond mode 802.3ad lacp_rate fast miimon 50 || gz_skip "cannot create a kernel 802.3ad bond"
  elif [ "$peer" = bridge ]; then
    ip -n "$GZ_NS_P" link add "$GZ_BR" type bridge stp_state 0 forward_delay 0 || gz_skip "cannot create a bridge"
  fi
  if [ "$peer" != none ]; then
    for i in "$GZ_IF_P" "$GZ_IF_P2"; do ip -n "$GZ_NS_P" link set "$i" master "$GZ_BR"; done
  fi
  ip -n "$GZ_NS_L" link set lo up
  ip -n "$GZ_NS_P" link set lo up
  # No IPv6 on ltran's side: the kernel's own router solicitations would only be noise on the links.
  ip netns exec "$GZ_NS_L" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
  for i in "$GZ_IF_L" "$GZ_IF_L2"; do
    ip -n "$GZ_NS_L" link set "$i" up
    ip netns exec "$GZ_NS_L" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  for i in "$GZ_IF_P" "$GZ_IF_P2" "$GZ_BR"; do
    [ "$peer" = none ] && [ "$i" = "$GZ_BR" ] && continue
    ip -n "$GZ_NS_P" link set "$i" up
    ip netns exec "$GZ_NS_P" ethtool -K "$i" tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  [ "$peer" = none ] || ip -n "$GZ_NS_P" addr add "$GZ_PEER/24" dev "$GZ_BR"
}

# gz_ltran_bond_conf FILE MODE [MIIMON]: gz_ltran_conf's ltran.conf with both members in
# one bond: net_af_packet0 on GZ_IF_L (DPDK port 0), net_af_packet1 on GZ_IF_L2 (port 1),
# bond_ports "0x3", bond_mode MODE, bond_miimon MIIMON (100), bond_macs GZ_MAC.
gz_ltran_bond_conf() {
  local file=$1 mode=$2 miimon=${3:-100}
  gz_ltran_conf "$file" 0
  local frames=framesz=8192,blocksz=8192,framecnt=512
  sed -i "s#--vdev net_af_packet0,iface=$GZ_IF_L[^ ]*#--vdev net_af_packet0,iface=$GZ_IF_L,$frames --vdev net_af_packet1,iface=$GZ_IF_L2,$frames#;
          s#^bond_mode = .*#bond_mode = $mode;#; s#^bond_miimon = .*#bond_miimon = $miimon;#; s#^bond_ports = .*#bond_ports = \"0x3\";#" "$file"
}

# gz_ltran_json EXPR: EXPR (python, over the dict d) of `gazellectl ltran show --json`
# ($GZ_CTL, $GZ_RUN_DIR); "error: ..." when gazellectl or the JSON fails.
gz_ltran_json() {
  GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$GZ_CTL" ltran show --json 2>&1 | /usr/bin/python3 -c 'import json, sys
text = sys.stdin.read()
try:
    d = json.loads(text)
    print(eval(sys.argv[1], {"d": d}))
except Exception as e:
    print("error:", e, text.strip()[:200].replace("\n", " "))' "$1"
}
