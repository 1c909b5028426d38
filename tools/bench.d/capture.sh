# shellcheck shell=bash
# tools/bench capture: redis-benchmark with and without a capture of every frame.

# Capture's cost (issue 11: at most 5% of redis-benchmark's throughput): each
# lstack mode with and without a capture of every frame to a pcap file running
# (gazellectl unpinned, as an operator starts it), the kernel beside them.
bench_capture() {
  gz_need redis-server redis-benchmark
  gz_setup bench-capture 136
  gz_need tcpdump
  local round v base p cap pcap variants="kernel kernel+tcpdump lstack-rtc lstack-rtc+capture lstack-thread lstack-thread+capture"
  run_dir=$(mktemp -d) pcap=$(mktemp -d)
  bench_confs
  cmd() { echo "redis-benchmark -h $GZ_HOST -c 50 -n 200000 -t set,get --csv$([ "$1" = 1 ] || echo " -P $1")"; }
  for round in $(seq "$rounds"); do
    for v in $(round_order "$round" $variants); do
      base=${v%+*}
      start_app "$base" redis-server "Ready to accept connections" redis-server --port 6379 --bind "$GZ_HOST" \
        --dir "$run_dir" --save "" --appendonly no --protected-mode no --daemonize no
      warm_up redis-cli -h "$GZ_HOST" ping
      cap=
      if [ "$v" = kernel+tcpdump ]; then  # the reference: the kernel's AF_PACKET mmap ring
        ip netns exec "$GZ_NS_L" tcpdump -i "$GZ_IF_L" -w "$pcap/all.pcap" >"$pcap/cap.log" 2>&1 &
        cap=$!
        gz_wait_line "$pcap/cap.log" "listening on" 20 || { cat "$pcap/cap.log"; echo "bench: tcpdump did not start" >&2; exit 1; }
      elif [ "$v" != "$base" ]; then
        GAZELLE_RUN_DIR="$run_dir" build/ctl/gazellectl lstack capture "${GZ_PIDS[-1]}" -w "$pcap/all.pcap" >"$pcap/cap.log" 2>&1 &
        cap=$!
        gz_wait_line "$pcap/cap.log" capturing 20 || { cat "$pcap/cap.log"; echo "bench: capture did not start" >&2; exit 1; }
      fi
      for p in 1 16; do
        ip netns exec "$GZ_NS_P" timeout 300 taskset -c 0 $(cmd "$p") 2>&1 | awk -F, -v r="$round" -v v="$v" -v p="$p" \
          '/^"(SET|GET)",/ { gsub(/"/, ""); printf "round=%s variant=%s pipeline=%s test=%s rps=%s p99_ms=%s\n", r, v, p, $1, $2, $7 }' \
          | tee -a "$raw"
      done
      if [ -n "$cap" ]; then
        kill -INT "$cap"; wait "$cap" || true
        echo "round=$round variant=$v frames=$(sed -n 's/ packets captured//p' "$pcap/cap.log") dropped=$(sed -n 's/ packets dropped by \(lstack\|kernel\)//p' "$pcap/cap.log") bytes=$(stat -c %s "$pcap/all.pcap")" | tee -a "$raw"
        rm -f "$pcap/all.pcap"
      fi
      stop_server "$base"
    done
  done
  med() { grep "variant=$1 pipeline=$2 test=$3 " "$raw" | field "$4" | median; }
  out=$(result_path "capture")
  {
    result_head "capture" "redis-benchmark with \`gazellectl lstack capture\` of every frame running" "capture $rounds"
    echo "- server: Debian's redis-server pinned to CPU 1; client (kernel, peer namespace, CPU 0): \`$(cmd 1)\`, then with \`-P 16\`"
    echo "- +capture: \`gazellectl lstack capture PID -w FILE\` (no filter, snaplen 262144: every frame whole) running through both runs;"
    echo "  lstack's capture thread writes the file (it lives in redis' process, so on redis' CPU); gazellectl only follows"
    echo "- kernel+tcpdump, the reference: \`tcpdump -i VETH -w FILE\` in the server's namespace (AF_PACKET's mmap ring), unpinned"
    echo "- lstack-rtc / lstack-thread: as in \`tools/bench redis\` (net_af_xdp; rtc with low_power_mode=$bench_lpm; thread as Gazelle documents it)"
    echo "- each cell: median of $rounds rounds, every variant each round in another order; the bar: capture costs at most 5%"
    echo
    echo "| pipeline | test | kernel | +tcpdump (cost) | lstack-rtc | +capture (cost) | lstack-thread | +capture (cost) |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for p in 1 16; do
      for t in SET GET; do
        k=$(med kernel $p $t rps) kc=$(med kernel+tcpdump $p $t rps)
        r=$(med lstack-rtc $p $t rps) rc=$(med lstack-rtc+capture $p $t rps)
        th=$(med lstack-thread $p $t rps) tc=$(med lstack-thread+capture $p $t rps)
        echo "| $p | $t | $k | $kc ($(change "$kc" "$k")) | $r | $rc ($(change "$rc" "$r")) | $th | $tc ($(change "$tc" "$th")) |"
      done
    done
  } >"$out"
  result_done "$out"
  rm -rf "$run_dir" "$pcap" "$conf_rtc" "$conf_thread" "$conf" "$log" "$raw"
}
