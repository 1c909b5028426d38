# shellcheck shell=bash
# tools/bench all: every workload, one summary.

# Every workload, one after another (each interleaves its variants round by
# round), then the connection scale test (10,000 held for 20 s), then one
# summary: bench/results/all-<date>.md with every case's median and ratio, and
# one plot of them all beside it (each workload's own result and plot too).
bench_all() {
  local w one files=() scale
  one=$(mktemp) scale=$(mktemp)
  for w in "redis $rounds" "nginx $rounds 10" "iperf3 $rounds 10" "sockperf $rounds 10" "python $rounds" "memif $rounds"; do
    echo "bench all: tools/bench $w"
    GZ_NO_BUILD=1 tools/bench $w >"$one" 2>&1 || { tail -20 "$one"; echo "bench all: tools/bench $w failed" >&2; exit 1; }
    files+=("$(sed -n 's/^bench: written to //p' "$one")")
  done
  echo "bench all: the connection scale test (10,000 connections, held 20 s)"
  timeout 900 bash test/integration/scale.sh build/test/integration/gz-echo build/ctl/gazellectl 83 10000 20 >"$scale" 2>&1 \
    || echo "bench all: the scale test failed (its output is in the summary)" >&2
  out=$(result_path all)
  {
    result_head all "every workload, kernel vs lstack in each mode" "all $rounds"
    echo "- each workload interleaves its variants round by round ($rounds rounds); its own result, with the exact"
    echo "  commands, configs and every round, is linked below; \"vs kernel\" is against the kernel in the same run"
    echo "- lstack-rtc: run to completion, low_power_mode=$bench_lpm (the program's thread busy-polls); lstack-thread: as"
    echo "  Gazelle documents it (a stack thread on the program's CPU, num_cpus=\"1\", low_power_mode=$bench_lpm, hugetlbfs"
    echo "  files); lstack-memif: redis-server and redis-benchmark both on lstack over net_memif, against both on"
    echo "  the kernel's loopback"
    echo
    for w in "${files[@]}"; do echo "- [$(basename "$w")]($(basename "$w"))"; done
    echo
    tools/bench-plot --summary "${out%.md}.png" "${files[@]}"
    echo
    echo "![every case against the kernel]($(basename "${out%.md}.png"))"
    echo
    echo "Connection scale (\`test/integration/scale.sh ... 10000 20\`: 10,000 connections from four peer"
    echo "addresses, each exchanging a little now and then, held 20 s; memory per connection):"
    echo
    echo '```'
    grep -E "server: TcpCurrEstab|client: (rtt|first|exchanges)|scale: |FAIL" "$scale"
    echo '```'
  } >"$out"
  cat "$out"
  echo "bench: written to $out"
  rm -f "$one" "$scale" "$conf" "$log" "$raw"
}
