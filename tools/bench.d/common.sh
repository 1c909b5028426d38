# shellcheck shell=bash
# tools/bench's shared parts: starting and stopping the variants, their
# configs, and the report helpers. Sourced by tools/bench (not run alone).

start_server() {  # VARIANT
  case $1 in
    kernel)
      ip -n "$GZ_NS_L" addr add "$GZ_HOST/24" dev "$GZ_IF_L"
      gz_bg ip netns exec "$GZ_NS_L" taskset -c 1 "$echo_k" server 7 >"$log" 2>&1 ;;
    lstack-rtc|lstack-thread)
      gz_conf "$conf" af_xdp "$([ "$1" = lstack-rtc ] && echo 1 || echo 0)"
      sed -i 's/^low_power_mode = 1;/low_power_mode = 0;/' "$conf"
      [ "$1" = lstack-thread ] && sed -i 's/^low_power_mode = 0;/low_power_mode = 1;/' "$conf"
      gz_bg ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR=/tmp taskset -c 1 "$echo_l" server 7 >"$log" 2>&1 ;;
  esac
  gz_wait_line "$log" ready 60 || { cat "$log"; echo "bench: $1 server did not start" >&2; exit 1; }
}

stop_server() {  # VARIANT
  gz_stop 50 "${GZ_PIDS[-1]}"
  unset 'GZ_PIDS[-1]'
  case $1 in ltran-*) gz_stop 50 "$GZ_LTRAN_PID"; unset 'GZ_PIDS[-1]' ;; esac
  [ "$1" = kernel ] && ip -n "$GZ_NS_L" addr del "$GZ_HOST/24" dev "$GZ_IF_L"
  ip -n "$GZ_NS_P" neigh flush all
  return 0
}

# bench_confs: $conf_rtc (run to completion, busy polling in the program's
# thread: the tuned layout) and $conf_thread (as Gazelle documents it: a stack
# thread on the program's CPU, num_cpus = "1", low_power_mode at its default 0,
# dpdk_args with hugetlbfs files).
# GZ_BENCH_LOW_POWER=1: both with low_power_mode = 1 instead (as the sample
# conf/lstack.conf ships run to completion); the results say which.
bench_lpm=${GZ_BENCH_LOW_POWER:-0}
bench_confs() {
  conf_rtc=$(mktemp) conf_thread=$(mktemp)
  gz_conf "$conf_rtc" af_xdp 1
  sed -i "s/^low_power_mode = 1;/low_power_mode = $bench_lpm;/" "$conf_rtc"
  GZ_DPDK_STYLE=gazelle gz_conf "$conf_thread" af_xdp 0 1
  sed -i "s/^low_power_mode = 1;/low_power_mode = $bench_lpm;/" "$conf_thread"
}

# ltran variants (tools/bench ltran): ltran owns the server's veth end (net_af_xdp, as
# lstack-rtc), pinned to CPU 0 beside the client (EAL -l 0), hugepage files as Gazelle
# documents them; the program behind it runs unprivileged (--no-huge), in run to
# completion (busy polling) or as Gazelle documents it (a stack thread, low_power_mode=0).
ltran_confs() {
  ltran_conf=$(mktemp) conf_ltran_rtc=$(mktemp) conf_ltran_thread=$(mktemp)
  gz_ltran_conf "$ltran_conf" 0
  sed -i "s#--vdev net_af_packet0,iface=$GZ_IF_L[^ ]*#--vdev net_af_xdp0,iface=$GZ_IF_L,start_queue=0,queue_count=1#" "$ltran_conf"
  gz_ltran_lstack_conf "$conf_ltran_rtc" "$GZ_HOST"
  gz_ltran_lstack_conf "$conf_ltran_thread" "$GZ_HOST"
  sed -i 's/^low_power_mode = 1;/low_power_mode = 0;/; s/^stack_mode_rtc = 0;/stack_mode_rtc = 1;/' "$conf_ltran_rtc"
  sed -i 's/^low_power_mode = 1;/low_power_mode = 0;/' "$conf_ltran_thread"
}
start_ltran() {
  GZ_RUN_DIR=$run_dir gz_ltran_start "$root/build/ltran/ltran" "$ltran_conf" "$run_dir/ltran.log"
}

# The library every lstack variant preloads (GZ_LIB: another build's, for an A/B).
lib_lstack=$(realpath "${GZ_LIB:-$root/build/preload/liblstack.so}")

# start_app VARIANT PROCNAME READY CMD...: the program on CPU 1, on the kernel
# (the address on the server's veth end) or under LD_PRELOAD with the
# variant's config; waits until its log says READY.
start_app() {
  local v=$1 name=$2 ready=$3 pre=() c=$conf_rtc
  shift 3
  [ "$v" = lstack-thread ] && c=$conf_thread
  case $v in ltran-*) start_ltran; c=$conf_ltran_rtc; [ "$v" = ltran-thread ] && c=$conf_ltran_thread ;; esac
  if [ "$v" = kernel ]; then
    ip -n "$GZ_NS_L" addr add "$GZ_HOST/24" dev "$GZ_IF_L"
  else
    pre=(env LD_PRELOAD="$lib_lstack" LSTACK_CONF_PATH="$c" GAZELLE_RUN_DIR="$run_dir"
         GAZELLE_BIND_PROCNAME="$name")
  fi
  gz_bg ip netns exec "$GZ_NS_L" taskset -c 1 "${pre[@]}" "$@" >"$log" 2>&1
  [ -z "$ready" ] && return 0  # the caller checks readiness itself
  gz_wait_line "$log" "$ready" 60 || { cat "$log"; echo "bench: $name ($v) did not start" >&2; exit 1; }
}

# warm_up CMD...: one request from the peer before the clock starts, in every
# variant. A program on lstack prints that it is ready before DPDK has started
# (lstack starts it at the first call that needs the data path, so that a
# program may fork first, as nginx's master does): without this the first
# request of a run would wait for that start (about 0.2 s on this machine).
warm_up() {
  gz_retry 30 ip netns exec "$GZ_NS_P" "$@" >/dev/null || { cat "$log"; echo "bench: no answer to $*" >&2; exit 1; }
}

# The variants in another order each round: drift hits all alike.
round_order() {  # ROUND VARIANTS...
  local r=$1
  shift
  printf '%s\n' "$@" | awk -v r="$r" '{a[NR]=$0} END {for (i = 0; i < NR; i++) print a[(i + r) % NR + 1]}'
}

# Report helpers: FIELD=value out of the raw key=value lines on stdin; the
# median of the numbers on stdin (the lower middle one for an even count);
# A / B as "1.23x" ("-" when either is missing); the raw lines, verbatim.
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else print "-" }'; }
# A against B as a change: "-3.4%" ("-" when either is missing).
change() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%+.1f%%", (a / b - 1) * 100; else print "-" }'; }
raw_lines() {
  echo "Raw lines:"
  echo
  echo '```'
  cat "$raw"
  echo '```'
}

# plot_result RESULT.md: RESULT.png beside it (tools/bench-plot), linked from it.
plot_result() {
  if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-matplotlib >/dev/null 2>&1 \
      || { echo "bench: no plot: python3-matplotlib could not be installed" >&2; return 0; }
  fi
  tools/bench-plot "$1" >/dev/null && printf '\n![%s](%s)\n' "each variant against the kernel" "$(basename "${1%.md}.png")" >>"$1"
}

# cpu_snap, then cpu_busy BEFORE AFTER: how busy CPU 0 (the clients) and CPU 1
# (the server) were in between, from /proc/stat: "cpu0_busy=93 cpu1_busy=100"
# (percent). A client CPU near 100 bounds what any server can show.
cpu_snap() { awk '/^cpu[01] / {print $1, $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
cpu_busy() {
  paste -d' ' <(echo "$1") <(echo "$2") | awk '{ b = $5 - $2; i = $6 - $3; printf "%s%s_busy=%d", (NR > 1 ? " " : ""), $1, ((b + i) > 0 ? 100 * b / (b + i) : 0) }'
}
# busy_line VARIANTS...: the median busy shares per variant, as one sentence
# (the raw lines carry cpu0_busy / cpu1_busy).
busy_line() {
  local v out=""
  for v in "$@"; do
    out="$out${out:+; }$v $(grep "variant=$v " "$raw" | field cpu0_busy | median)% / $(grep "variant=$v " "$raw" | field cpu1_busy | median)%"
  done
  echo "CPU busy during the runs, median (CPU 0, the client / CPU 1, the server): $out."
}

# result_path NAME: bench/results/NAME-<date>.md (the folder made).
result_path() {
  mkdir -p bench/results
  echo "bench/results/$1-$(date -u +%Y%m%d-%H%M).md"
}
# result_head NAME TITLE COMMAND: a result's title, its exact command (tools/bench COMMAND), the machine.
result_head() {
  echo "# tools/bench $1: $2"
  echo
  echo "- command: \`tools/bench $3\` ($(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))"
  machine
  [ "$lib_lstack" = "$root/build/preload/liblstack.so" ] || echo "- liblstack: \`GZ_LIB=$lib_lstack\` (not this tree's build)"
}
# result_done RESULT.md: the raw lines at its end, its PNG beside it, then the
# result on stdout.
result_done() {
  { echo; raw_lines; } >>"$1"
  plot_result "$1"
  cat "$1"
  echo "bench: written to $1"
}

machine() {
  echo "- machine: $(nproc) cores, $(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo), kernel $(uname -r)"
}
