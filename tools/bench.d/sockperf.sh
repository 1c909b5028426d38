# shellcheck shell=bash
# tools/bench sockperf: Debian's sockperf ping-pong, UDP and TCP.

# Debian's sockperf 3.7: `sockperf server` on CPU 1 (the kernel, or lstack),
# `sockperf ping-pong` from the peer namespace on CPU 0, UDP then TCP, 64-byte
# messages for SECONDS; sockperf reports latency one way (half the round trip).
bench_sockperf() {
  # sockperf exits 0 even when the server never answered: its percentiles say whether it did.
  # (Its output is read whole first: grep -q leaving early would kill it with SIGPIPE, and
  # pipefail would call that a failure.)
  sockperf_answers() {  # [--tcp]
    local out
    out=$(ip netns exec "$GZ_NS_P" timeout 10 sockperf ping-pong -i "$GZ_HOST" -p 11111 "$@" -t 1 -m 64 2>&1) || true
    grep -q "percentile 50.000" <<<"$out"
  }
  # sockperf_start VARIANT PROTO (udp|tcp): the server of that variant, answering.
  sockperf_start() {
    local o=()
    [ "$2" = tcp ] && o=(--tcp)
    start_app "$1" sockperf "" sockperf server -i "$GZ_HOST" -p 11111 "${o[@]}"
    gz_retry 30 sockperf_answers "${o[@]}" || { cat "$log"; echo "bench: sockperf server ($1, $2) does not answer" >&2; exit 1; }
  }
  # sockperf_pingpong PROTO: the client for SECONDS, its output into $out_f; pct P: its
  # percentile P (50.000, 99.000) in us, empty when it got no answer.
  sockperf_pingpong() {
    local o=()
    [ "$1" = tcp ] && o=(--tcp)
    ip netns exec "$GZ_NS_P" timeout $((secs + 30)) taskset -c 0 sockperf ping-pong -i "$GZ_HOST" -p 11111 "${o[@]}" \
      -t "$secs" -m 64 >"$out_f" 2>&1 || true
  }
  pct() { sed -n "s/.*percentile $1 = *\([0-9.]*\).*/\1/p" "$out_f" | tail -1; }
  # sockperf_share: one more run per lstack variant and protocol (not in the medians) with
  # gazellectl's latency histograms recording (`lstack show -l`): how much of sockperf's round
  # trip is lstack's own, from the rx burst to the program's read (and for TCP a write until its
  # burst is handed to the driver), and how much the driver's transmit call takes, in which veth
  # runs the client's receive. One line each into $raw.
  sockperf_share() {
    local v proto client lat=$run_dir/lat.json
    for v in lstack-rtc lstack-thread; do
      for proto in udp tcp; do
        sockperf_start "$v" "$proto"
        sockperf_pingpong "$proto" &
        client=$!
        sleep 1
        GAZELLE_RUN_DIR=$run_dir build/ctl/gazellectl lstack show "${GZ_PIDS[-1]}" -l $((secs > 3 ? secs - 2 : 1)) --json >"$lat" 2>&1 || true
        wait "$client" || true
        /usr/bin/python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
r, s, v = d["receive"], d["send"], d["device"]
print("share variant=%s proto=%s rtt_p50_us=%.2f rx_p50_us=%.2f tx_p50_us=%.2f dev_p50_us=%.2f samples=%d/%d/%d" % (sys.argv[2],
      sys.argv[3], 2 * float(sys.argv[4]), r["p50_us"], s["p50_us"], v["p50_us"], r["samples"], s["samples"], v["samples"]))' \
          "$lat" "$v" "$proto" "$(pct 50.000)" 2>/dev/null | tee -a "$raw" \
          || echo "share variant=$v proto=$proto FAILED: $(head -c 200 "$lat")" | tee -a "$raw"
        stop_server "$v"
      done
    done
  }
  gz_need sockperf
  gz_setup bench-sockperf 129
  local round v proto out_f
  run_dir=$(mktemp -d) out_f=$(mktemp)
  bench_confs
  # One line per run: round=R variant=V proto=udp|tcp p50_us=... p99_us=... avg_us=...
  for round in $(seq "$rounds"); do
    for v in $(round_order "$round" kernel lstack-rtc lstack-thread); do
      for proto in udp tcp; do
        sockperf_start "$v" "$proto"
        sockperf_pingpong "$proto"
        if [ -n "$(pct 50.000)" ]; then
          echo "round=$round variant=$v proto=$proto p50_us=$(pct 50.000) p99_us=$(pct 99.000)" \
            "avg_us=$(sed -n 's/.*avg-latency=\([0-9.]*\).*/\1/p' "$out_f" | tail -1)" | tee -a "$raw"
        else
          echo "round=$round variant=$v proto=$proto FAILED: $(tail -c 200 "$out_f" | tr '\n' ' ')" | tee -a "$raw"
        fi
        stop_server "$v"
      done
    done
  done
  sockperf_share
  med() {  # FIELD VARIANT PROTO
    grep "variant=$2 proto=$3 p50" "$raw" | field "$1" | median
  }
  out=$(result_path "sockperf")
  {
    result_head "sockperf" "sockperf ping-pong latency, kernel vs lstack (LD_PRELOAD)" "sockperf $rounds $secs"
    echo "- server: Debian's \`sockperf server -i $GZ_HOST -p 11111\` (\`--tcp\` for TCP) pinned to CPU 1; client (kernel, peer namespace, CPU 0): \`sockperf ping-pong -t $secs -m 64\`"
    echo "- latency one way in µs (half the round trip, as sockperf reports it): lower is better, so a ratio under 1.00x beats the kernel"
    echo "- lstack-rtc: stack_mode_rtc=1, low_power_mode=$bench_lpm; lstack-thread: as Gazelle documents it (stack thread, num_cpus=\"1\", low_power_mode=$bench_lpm, hugetlbfs dpdk_args)"
    echo "- each cell: the median of $rounds rounds; every round runs each variant, in another order"
    echo
    echo "| proto | kernel p50 / p99 µs | lstack-rtc p50 / p99 | lstack-thread p50 / p99 |"
    echo "| --- | ---: | ---: | ---: |"
    for proto in udp tcp; do
      local k50 k99 cells=""
      k50=$(med p50_us kernel $proto) k99=$(med p99_us kernel $proto)
      for v in lstack-rtc lstack-thread; do
        cells="$cells | $(med p50_us $v $proto) / $(med p99_us $v $proto) ($(ratio "$(med p50_us $v $proto)" "$k50") / $(ratio "$(med p99_us $v $proto)" "$k99"))"
      done
      echo "| $proto | $k50 / $k99$cells |"
    done
    echo
    echo "How much of the round trip is lstack's own: one more run per variant and protocol (not in the medians) with"
    echo "\`gazellectl lstack show PID -l\` recording for its middle seconds. rx: from the stack's rx burst to the program's"
    echo "read of that frame; tx (TCP only): a \`write()\` until the burst carrying it is handed to the driver; device: that"
    echo "call into net_af_xdp, whose \`sendto()\` kick builds an skb per frame, in which veth runs the client's receive and"
    echo "its wake-up on CPU 1. The rest of the round trip is the client's kernel on CPU 0 (its send, af_xdp's receive copy,"
    echo "waking from idle) and the program between its read and its write."
    echo
    echo "| variant | proto | round trip p50 µs | lstack rx p50 µs | lstack tx p50 µs | device (driver call) p50 µs |"
    echo "| --- | --- | ---: | ---: | ---: | ---: |"
    grep "^share " "$raw" | grep -v FAILED | while read -r line; do
      f() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
      echo "| $(f variant) | $(f proto) | $(f rtt_p50_us) | $(f rx_p50_us) | $([ "$(f proto)" = tcp ] && f tx_p50_us || echo -) | $(f dev_p50_us) |"
    done
  } >"$out"
  result_done "$out"
  rm -rf "$run_dir" "$out_f" "$conf_rtc" "$conf_thread" "$conf" "$log" "$raw"
}
