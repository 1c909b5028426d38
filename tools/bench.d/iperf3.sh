# shellcheck shell=bash
# tools/bench iperf3: Debian's iperf3 both ways, and where each CPU's time went.

# iperf3_profile: one more run per variant and direction under `perf record -a`
# (not in the medians), from its third second to its last but one: where each
# CPU's time went (tools/bench-profile), rows into $run_dir/profile.md.
iperf3_profile() {
  local v dir client rate
  for v in kernel lstack-rtc lstack-thread; do
    start_app "$v" iperf3 "Server listening" iperf3 -s -B "$GZ_HOST" -p 5201 --forceflush
    for dir in upload download; do
      ip netns exec "$GZ_NS_P" timeout $((secs + 30)) taskset -c 0 iperf3 -c "$GZ_HOST" -p 5201 -t "$secs" --json \
        $([ "$dir" = download ] && echo -R) >"$run_dir/out.json" 2>&1 &
      client=$!
      sleep 2
      perf record -a -g -e cpu-clock -F 999 -o "$run_dir/perf.data" -- sleep $((secs - 3)) >/dev/null 2>&1
      wait "$client" || true
      # the payload rate over the profiled seconds (the client's interval reports)
      rate=$(/usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
iv = [i["sum"]["bits_per_second"] for i in d["intervals"][2:n - 1]]
print(sum(iv) / len(iv) / 8)' "$run_dir/out.json" "$secs" 2>/dev/null) || rate=0
      tools/bench-profile "$run_dir/perf.data" "$rate" "$v $dir, $(awk -v r="$rate" 'BEGIN { printf "%.2f", r * 8 / 1e9 }') Gbit/s" \
        >>"$run_dir/profile.md" || echo "| $v $dir | no profile |" >>"$run_dir/profile.md"
    done
    stop_server "$v"
  done
}

bench_iperf3() {
  gz_need iperf3 perf
  [ "$secs" -ge 5 ] || { echo "bench: iperf3 needs SECONDS >= 5 (the profile skips the first two and the last)" >&2; exit 2; }
  gz_setup bench-iperf3 139
  local round v dir
  run_dir=$(mktemp -d)
  bench_confs
  # One line per run: round=R variant=V direction=upload|download gbps=...
  for round in $(seq "$rounds"); do
    for v in $(round_order "$round" kernel lstack-rtc lstack-thread); do
      start_app "$v" iperf3 "Server listening" iperf3 -s -B "$GZ_HOST" -p 5201 --forceflush
      for dir in upload download; do
        c0=$(cpu_snap)
        ip netns exec "$GZ_NS_P" timeout $((secs + 30)) taskset -c 0 iperf3 -c "$GZ_HOST" -p 5201 -t "$secs" --json \
          $([ "$dir" = download ] && echo -R) >"$run_dir/out.json" 2>&1
        /usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("round=%s variant=%s direction=%s gbps=%.3f retransmits=%s %s" % (sys.argv[2], sys.argv[3], sys.argv[4],
      d["end"]["sum_received"]["bits_per_second"] / 1e9, d["end"]["sum_sent"].get("retransmits", "-"), sys.argv[5]))' \
          "$run_dir/out.json" "$round" "$v" "$dir" "$(cpu_busy "$c0" "$(cpu_snap)")" 2>/dev/null | tee -a "$raw" \
          || echo "round=$round variant=$v direction=$dir FAILED: $(head -c 200 "$run_dir/out.json")" | tee -a "$raw"
      done
      stop_server "$v"
    done
  done
  iperf3_profile
  med() {  # VARIANT DIRECTION
    grep "variant=$1 direction=$2 gbps" "$raw" | field gbps | median
  }
  out=$(result_path "iperf3")
  {
    result_head "iperf3" "Debian's iperf3 server, kernel vs lstack (LD_PRELOAD)" "iperf3 $rounds $secs"
    echo "- server: \`iperf3 -s -B $GZ_HOST\` pinned to CPU 1 in every variant; client (kernel, peer namespace, CPU 0): \`iperf3 -c $GZ_HOST -t $secs\` (upload: the server receives) and with \`-R\` (download: the server sends)"
    echo "- topology: two netns joined by veth, offloads off; lstack: net_af_xdp (copy mode on veth), one stack"
    echo "- lstack-rtc: stack_mode_rtc=1, low_power_mode=$bench_lpm; lstack-thread: as Gazelle documents it (stack thread, num_cpus=\"1\" on the server's CPU, low_power_mode=$bench_lpm, hugetlbfs dpdk_args)"
    echo "- each cell: the median of $rounds rounds of the receiver's bitrate; every round runs each variant, in another order"
    echo
    echo "| direction | kernel Gbit/s | lstack-rtc Gbit/s | lstack-thread Gbit/s |"
    echo "| --- | ---: | ---: | ---: |"
    for dir in upload download; do
      k=$(med kernel $dir)
      echo "| $dir | $k | $(med lstack-rtc $dir) ($(ratio "$(med lstack-rtc $dir)" "$k")) | $(med lstack-thread $dir) ($(ratio "$(med lstack-thread $dir)" "$k")) |"
    done
    echo
    busy_line kernel lstack-rtc lstack-thread
    echo
    echo "Where each CPU's time went: one more run per variant and direction under \`perf record -a -g -e cpu-clock -F 999\`"
    echo "(not in the medians; perf slows every run, so compare the rows with each other), its seconds 3 to $((secs - 1)),"
    echo "sorted by call chain (\`tools/bench-profile\`, which defines the parts): CPU milliseconds per GB moved (share of"
    echo "that CPU). CPU 0 runs the client, CPU 1 the server. On the lstack rows, ip-receive on CPU 1 is the client's kernel"
    echo "receiving what lstack sent (veth runs it inside the sender's transmit), xdp-transmit and xdp-receive are net_af_xdp's"
    echo "copy mode on veth, user is the program with lstack."
    echo
    tools/bench-profile --header
    cat "$run_dir/profile.md"
  } >"$out"
  result_done "$out"
  rm -rf "$run_dir" "$conf_rtc" "$conf_thread" "$conf" "$log" "$raw"
}
