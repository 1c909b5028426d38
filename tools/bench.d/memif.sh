# shellcheck shell=bash
# tools/bench memif: redis on lstack at both ends over net_memif vs the kernel's loopback.

# redis with no kernel on the path: redis-server and redis-benchmark both under
# liblstack, joined by net_memif, each in run to completion busy-polling its own
# CPU (server 1, client 0); against both on the kernel's loopback, same pinning.
bench_memif() {
  gz_need redis-server redis-benchmark
  local lib=$lib_lstack dir csv round v p t variants="kernel-loopback lstack-memif" net=192.168.200
  [ -f "$lib" ] || { echo "bench: $lib is missing (build first)" >&2; exit 1; }
  GZ_NS_L=gzb-memif GZ_NS_P=gzb-memif-unused
  trap gz_teardown EXIT
  ip netns del "$GZ_NS_L" 2>/dev/null || true
  ip netns add "$GZ_NS_L" && ip -n "$GZ_NS_L" link set lo up || gz_skip "cannot create a network namespace"
  dir=$(mktemp -d) csv=$(mktemp)
  memif_conf() {  # NAME ROLE MAC ADDR
    cat >"$dir/$1.conf" <<CONF
dpdk_args = ["--no-pci", "--in-memory", "--vdev", "net_memif0,role=$2,socket=$dir/memif.sock,mac=$3", "-l", "0", "--log-level", "lib.eal:error", "--log-level", "pmd.net.memif:crit"];
num_cpus = "0";
stack_mode_rtc = 1;
low_power_mode = 0;
host_addr = "$4";
mask_addr = "255.255.255.0";
devices = "$3";
CONF
  }
  memif_conf server server 02:00:00:00:c8:01 "$net.1"
  memif_conf client client 02:00:00:00:c8:02 "$net.2"
  host_of() { [ "$1" = kernel-loopback ] && echo 127.0.0.1 || echo "$net.1"; }
  under() {  # VARIANT CONF PROGRAM: the prefix that runs PROGRAM on that variant
    [ "$1" = kernel-loopback ] && return 0
    echo env LD_PRELOAD="$lib" LSTACK_CONF_PATH="$dir/$2.conf" GAZELLE_RUN_DIR="$dir" GAZELLE_BIND_PROCNAME="$3"
  }
  bench_cmd() { echo "redis-benchmark -h $2 -c 50 -n ${3:-200000} -t set,get --csv$([ "$1" = 1 ] || echo " -P $1")"; }
  for round in $(seq "$rounds"); do
    for v in $(round_order "$round" $variants); do
      gz_bg ip netns exec "$GZ_NS_L" taskset -c 1 $(under "$v" server redis-server) redis-server --port 6379 --bind "$(host_of "$v")" \
        --dir "$dir" --save "" --appendonly no --protected-mode no --daemonize no >"$log" 2>&1
      gz_wait_line "$log" "Ready to accept connections" 60 || { cat "$log"; echo "bench: redis-server ($v) did not start" >&2; exit 1; }
      gz_retry 30 ip netns exec "$GZ_NS_L" taskset -c 0 $(under "$v" client redis-benchmark) $(bench_cmd 1 "$(host_of "$v")" 1000) >/dev/null \
        || { cat "$log"; echo "bench: no answer from redis-server ($v)" >&2; exit 1; }
      for p in 1 16; do
        redis_run "$round" "$v" "$p" "$csv" ip netns exec "$GZ_NS_L" timeout 300 taskset -c 0 \
          $(under "$v" client redis-benchmark) $(bench_cmd "$p" "$(host_of "$v")")
      done
      gz_stop 50 "${GZ_PIDS[-1]}"
      unset 'GZ_PIDS[-1]'
    done
  done
  out=$(result_path "memif")
  {
    result_head "memif" "redis lstack to lstack over net_memif vs the kernel's loopback" "memif $rounds"
    echo "- $(redis-server --version | cut -d' ' -f1-3), unmodified, pinned to CPU 1; \`$(bench_cmd 1 HOST)\`, then \`-P 16\`, pinned to CPU 0"
    echo "- kernel-loopback: both on 127.0.0.1 in a network namespace of their own"
    echo "- lstack-memif: both under \`LD_PRELOAD=liblstack.so\`, joined by net_memif (shared memory: no kernel, no copy"
    echo "  in the driver), run to completion, low_power_mode=0: each program busy-polls its stack on its own CPU"
    echo "- each cell: median of $rounds rounds; a round runs both variants, each round in another order"
    echo
    redis_table kernel-loopback $variants
    echo
    busy_line $variants
    echo
    echo "lstack.conf of the server (the client's differs in role, MAC and address):"
    echo
    echo '```'
    cat "$dir/server.conf"
    echo '```'
  } >"$out"
  result_done "$out"
  rm -rf "$dir" "$csv" "$conf" "$log" "$raw"
}
