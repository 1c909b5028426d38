# shellcheck shell=bash
# tools/bench echo: 64 B request/response, gz-echo on the kernel and lstack.

bench_echo() {
  gz_setup bench 40
  echo_l=build/test/integration/gz-echo echo_k=build/test/integration/gz-echo-kernel rr=build/tools/benchsrc/gz-rr
  variants="kernel lstack-rtc lstack-thread"
  for round in $(seq "$rounds"); do
    for conns in 1 64; do
      for v in $variants; do
        start_server "$v"
        line=$(ip netns exec "$GZ_NS_P" taskset -c 0 "$rr" "$GZ_HOST" 7 "$conns" 64 "$secs") || line="$line FAILED"
        stop_server "$v"
        echo "round=$round variant=$v $line" | tee -a "$raw"
      done
    done
  done

  out=$(result_path "echo")
  {
    result_head "echo" "64 B request/response, kernel vs lstack" "echo $rounds $secs"
    echo "- topology: two netns joined by veth, offloads off; server pinned to CPU 1, client gz-rr (kernel) pinned to CPU 0"
    echo "- lstack: net_af_xdp (copy mode on veth), one stack; rtc = stack_mode_rtc=1 busy polling in the app thread;"
    echo "  thread = stack thread with low_power_mode=1 next to the app thread on the same CPU"
    echo "- each cell: median of $rounds rounds of $secs s, variants interleaved within each round"
    echo
    echo "| conns | variant | requests/s | p50 µs | p99 µs | vs kernel |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: |"
    for conns in 1 64; do
      krps=""
      for v in $variants; do
        med() { grep "variant=$v " "$raw" | grep "conns=$conns " | field "$1" | median; }
        rps=$(med rps) p50=$(med p50_us) p99=$(med p99_us)
        [ "$v" = kernel ] && krps=$rps
        ratio=$(awk -v a="$rps" -v b="$krps" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
        echo "| $conns | $v | $rps | $p50 | $p99 | $ratio |"
      done
    done
  } >"$out"
  result_done "$out"
}
