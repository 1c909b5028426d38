# shellcheck shell=bash
# tools/bench nginx: Debian's nginx (one worker), wrk keep-alive and Connection: close.

bench_nginx() {
  gz_need nginx wrk curl
  gz_setup bench-nginx 138
  local round v mode site
  run_dir=$(mktemp -d) site=$(mktemp -d)
  bench_confs
  gz_nginx_site "$site" 80
  head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 >"$site/www/1k.html"
  sed -i 's|access_log .*;|access_log off;|; s|^error_log \(.*\) info;|error_log \1 warn;|' "$site/nginx.conf"
  # One line per run: round=R variant=V mode=keepalive|close rps=... p50_ms=... p99_ms=... errors=...
  for round in $(seq "$rounds"); do
    for v in $(round_order "$round" kernel lstack-rtc lstack-thread); do
      start_app "$v" nginx "" nginx -p "$site" -c "$site/nginx.conf" -e "$site/error.log"
      gz_retry 30 ip netns exec "$GZ_NS_P" curl -sf -o /dev/null "http://$GZ_HOST/1k.html" \
        || { cat "$log" "$site/error.log"; echo "bench: nginx ($v) did not serve" >&2; exit 1; }
      for mode in keepalive close; do
        c0=$(cpu_snap)
        ip netns exec "$GZ_NS_P" timeout $((secs + 30)) taskset -c 0 wrk -t1 -c32 -d"${secs}s" --latency --timeout 5s \
          $([ "$mode" = close ] && echo "-H Connection:close") "http://$GZ_HOST/1k.html" >"$run_dir/wrk.out" 2>&1
        awk -v r="$round" -v v="$v" -v m="$mode" -v b="$(cpu_busy "$c0" "$(cpu_snap)")" '
          function ms(x) { if (x ~ /us$/) return x / 1000; if (x ~ /ms$/) return x + 0; if (x ~ /s$/) return x * 1000; return x }
          /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /Requests\/sec:/ { rps = $2 }
          /Socket errors/ { err = $0 } /Non-2xx/ { err = err " " $0 }
          END { printf "round=%s variant=%s mode=%s rps=%s p50_ms=%s p99_ms=%s %s errors=%s\n", r, v, m, rps, p50, p99, b, (err == "" ? "none" : "\"" err "\"") }' \
          "$run_dir/wrk.out" | tee -a "$raw"
      done
      stop_server "$v"
    done
  done
  med() {  # FIELD VARIANT MODE
    grep "variant=$2 mode=$3 " "$raw" | field "$1" | median
  }
  out=$(result_path "nginx")
  {
    result_head "nginx" "Debian's nginx, kernel vs lstack (LD_PRELOAD)" "nginx $rounds $secs"
    echo "- $(nginx -v 2>&1 | sed 's/^nginx version: //'), master + 1 worker pinned to CPU 1 (taskset), access_log off, a 1 KiB page"
    echo "- client (kernel, peer namespace, CPU 0): \`wrk -t1 -c32 -d${secs}s --latency http://$GZ_HOST/1k.html\`; close: the same with \`-H Connection:close\`"
    echo "- lstack-rtc: stack_mode_rtc=1, low_power_mode=$bench_lpm; lstack-thread: as Gazelle documents it (stack thread, num_cpus=\"1\" on the worker's CPU, low_power_mode=$bench_lpm, hugetlbfs dpdk_args)"
    echo "- each cell: the median of $rounds rounds; every round runs each variant, in another order"
    echo
    echo "| mode | kernel req/s (p50/p99 ms) | lstack-rtc | lstack-thread |"
    echo "| --- | ---: | ---: | ---: |"
    for mode in keepalive close; do
      k=$(med rps kernel $mode)
      row="| $mode | $k ($(med p50_ms kernel $mode)/$(med p99_ms kernel $mode))"
      for v in lstack-rtc lstack-thread; do
        row="$row | $(med rps $v $mode) ($(ratio "$(med rps $v $mode)" "$k"), $(med p50_ms $v $mode)/$(med p99_ms $v $mode))"
      done
      echo "$row |"
    done
    echo
    busy_line kernel lstack-rtc lstack-thread
  } >"$out"
  result_done "$out"
  rm -rf "$run_dir" "$site" "$conf_rtc" "$conf_thread" "$conf" "$log" "$raw"
}
