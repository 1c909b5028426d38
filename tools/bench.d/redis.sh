# shellcheck shell=bash
# tools/bench redis (and ltran): Debian's redis-server, redis-benchmark SET/GET.

# redis_run ROUND VARIANT PIPELINE CSV CMD...: runs CMD (a redis-benchmark with
# --csv, SET and GET), one raw line per test: round=R variant=V pipeline=P
# test=SET rps=... avg_ms=... p50_ms=... p99_ms=... max_ms=... cpu0_busy=...
# cpu1_busy=... (its --csv: test, rps, avg, min, p50, p95, p99, max latency in
# ms), or one FAILED line.
redis_run() {
  local round=$1 v=$2 p=$3 csv=$4 c0
  shift 4
  c0=$(cpu_snap)
  if "$@" >"$csv" 2>&1 && [ "$(grep -cE '^"(SET|GET)",' "$csv")" = 2 ]; then
    awk -F, -v r="$round" -v v="$v" -v p="$p" -v b="$(cpu_busy "$c0" "$(cpu_snap)")" '/^"(SET|GET)",/ { gsub(/"/, "")
      printf "round=%s variant=%s pipeline=%s test=%s rps=%s avg_ms=%s p50_ms=%s p99_ms=%s max_ms=%s %s\n", r, v, p, $1, $2, $3, $5, $7, $8, b }' \
      "$csv" | tee -a "$raw"
  else
    echo "round=$round variant=$v pipeline=$p FAILED: $(tr '\r' '\n' <"$csv" | grep -v '^ *$' | tail -2 | tr '\n' ' ')" | tee -a "$raw"
  fi
}

# redis_med FIELD VARIANT PIPELINE TEST [ROUND]: FIELD's median over the
# rounds in $raw (ROUND's value with ROUND).
redis_med() { grep "variant=$2 pipeline=$3 test=$4 " "$raw" | grep "^round=${5:-[0-9]*} " | field "$1" | median; }

# redis_table BASELINE VARIANTS...: the medians per pipeline and test, each
# variant against BASELINE (tools/bench redis, ltran and memif).
redis_table() {
  local base=$1 p t v
  shift
  echo "| pipeline | test | variant | requests/s | p50 ms | p99 ms | vs kernel |"
  echo "| ---: | --- | --- | ---: | ---: | ---: | ---: |"
  for p in 1 16; do
    for t in SET GET; do
      for v in "$@"; do
        echo "| $p | $t | $v | $(redis_med rps "$v" $p $t) | $(redis_med p50_ms "$v" $p $t) | $(redis_med p99_ms "$v" $p $t) | $(ratio "$(redis_med rps "$v" $p $t)" "$(redis_med rps "$base" $p $t)") |"
      done
    done
  done
}

bench_redis() {
  gz_need redis-server redis-benchmark
  gz_setup bench-redis 140
  local lib=$lib_lstack csv round p v t variants
  [ -f "$lib" ] || { echo "bench: $lib is missing (build first)" >&2; exit 1; }
  run_dir=$(mktemp -d) csv=$(mktemp)
  variants=${bench_variants:-kernel lstack-rtc lstack-thread}
  bench_confs
  case $variants in *ltran*) ltran_confs ;; esac
  bench_cmd() { echo "redis-benchmark -h $GZ_HOST -c 50 -n 200000 -t set,get --csv$([ "$1" = 1 ] || echo " -P $1")"; }
  start_redis() {  # VARIANT
    start_app "$1" redis-server "Ready to accept connections" redis-server --port 6379 --bind "$GZ_HOST" --dir "$run_dir" \
      --save "" --appendonly no --protected-mode no --daemonize no
  }

  for round in $(seq "$rounds"); do
    for v in $(round_order "$round" $variants); do
      start_redis "$v"
      warm_up redis-cli -h "$GZ_HOST" ping
      for p in 1 16; do
        redis_run "$round" "$v" "$p" "$csv" ip netns exec "$GZ_NS_P" timeout 300 taskset -c 0 $(bench_cmd "$p")
      done
      stop_server "$v"
    done
  done

  out=$(result_path "${bench_name:-redis}")
  {
    result_head "${bench_name:-redis}" "Debian's redis-server, kernel vs lstack (LD_PRELOAD)$([ -n "${bench_name:-}" ] && echo ", through ltran")" \
      "${bench_name:-redis} $rounds"
    echo "- $(redis-server --version | cut -d' ' -f1-3), unmodified, \`redis-server --port 6379 --bind $GZ_HOST --save \"\" --appendonly no --protected-mode no\`, pinned to CPU 1 (taskset) in every variant"
    echo "- client, kernel, peer namespace, pinned to CPU 0: \`$(bench_cmd 1)\`, then the same with \`-P 16\`"
    echo "- topology: two netns joined by veth, offloads off; kernel = the address on the server's veth end"
    echo "- lstack-rtc: \`LD_PRELOAD=build/preload/liblstack.so GAZELLE_BIND_PROCNAME=redis-server\`, net_af_xdp (copy mode on veth),"
    echo "  one stack, stack_mode_rtc=1, low_power_mode=$bench_lpm (redis' own thread busy-polls the stack), \`--in-memory\`"
    echo "- lstack-thread: the configuration Gazelle documents: stack_mode_rtc=0, num_cpus=\"1\" (the stack thread on redis' CPU),"
    echo "  low_power_mode=$bench_lpm (Gazelle's default: 0), dpdk_args with \`--socket-mem --huge-dir --file-prefix\`"
    case $variants in *ltran*)
      echo "- ltran-rtc / ltran-thread: redis-server behind ltran (use_ltran = 1, \`--no-huge\`, a net_memif port of its own);"
      echo "  ltran owns the server's veth end (net_af_xdp, copy mode), its dispatch loop on CPU 0 beside the client;"
      echo "  redis as lstack-rtc (rtc) or as Gazelle documents it (a stack thread, low_power_mode=$bench_lpm)" ;;
    esac
    echo "- each cell: median of $rounds rounds; a round runs every variant, each round in another order"
    echo
    redis_table kernel $variants
    echo
    busy_line $variants
    echo
    echo "Per round (requests/s, and the ratio to the kernel in the same round):"
    echo
    echo "| round | pipeline | test | $(echo $variants | sed 's/ / | /g') |"
    echo "| ---: | ---: | --- |$(for v in $variants; do printf ' ---: |'; done)"
    for round in $(seq "$rounds"); do
      for p in 1 16; do
        for t in SET GET; do
          k=$(redis_med rps kernel $p $t "$round")
          printf '| %s | %s | %s | %s |' "$round" "$p" "$t" "$k"
          for v in ${variants#kernel }; do
            printf ' %s (%s) |' "$(redis_med rps "$v" $p $t "$round")" "$(ratio "$(redis_med rps "$v" $p $t "$round")" "$k")"
          done
          echo
        done
      done
    done
    for v in ${variants#kernel }; do
      echo
      echo "lstack.conf of $v:"
      echo
      echo '```'
      case $v in
        lstack-rtc) cat "$conf_rtc" ;; lstack-thread) cat "$conf_thread" ;;
        ltran-rtc) cat "$conf_ltran_rtc" ;; ltran-thread) cat "$conf_ltran_thread" ;;
      esac
      echo '```'
    done
    case $variants in *ltran*) echo; echo "ltran.conf:"; echo; echo '```'; cat "$ltran_conf"; echo '```' ;; esac
  } >"$out"
  result_done "$out"
  rm -rf "$run_dir" "$csv" "$conf" "$conf_rtc" "$conf_thread" "$log" "$raw"
}
