# shellcheck shell=bash
# tools/bench python: sequential GETs against python3 -m http.server.

bench_python() {
  gz_need /usr/bin/python3
  gz_setup bench-python 137
  local round v www
  run_dir=$(mktemp -d) www=$(mktemp -d)
  bench_confs
  printf '<html><body>lstack</body></html>\n' >"$www/index.html"
  # One line per run: round=R variant=V gets_per_s=... failed=...
  for round in $(seq "$rounds"); do
    for v in $(round_order "$round" kernel lstack-rtc lstack-thread); do
      start_app "$v" python3 "Serving HTTP" /usr/bin/python3 -u -m http.server 8000 --bind "$GZ_HOST" --directory "$www"
      warm_up curl -sf -o /dev/null "http://$GZ_HOST:8000/index.html"
      ip netns exec "$GZ_NS_P" timeout 300 taskset -c 0 /usr/bin/python3 -c '
import http.client, resource, statistics, sys, time
host, n = sys.argv[1], int(sys.argv[2])
failed, conn, rest, slept, t0 = 0, [], [], 0, time.monotonic()
nvcsw = lambda: resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
for i in range(n):
    try:
        sw, a = nvcsw(), time.monotonic_ns()
        c = http.client.HTTPConnection(host, 8000, timeout=5)
        c.connect()
        b = time.monotonic_ns()
        slept += nvcsw() > sw  # the client slept in connect()
        b = time.monotonic_ns()
        c.request("GET", "/index.html")
        ok = c.getresponse().read().startswith(b"<html>")
        c.close()
        conn.append(b - a)
        rest.append(time.monotonic_ns() - b)
    except OSError:
        ok = False
    failed += not ok
p50 = lambda xs: statistics.median(xs) / 1000 if xs else 0
print("round=%s variant=%s gets_per_s=%.1f failed=%d p50_connect_us=%.1f p50_rest_us=%.1f slept_pct=%.0f" % (sys.argv[3],
      sys.argv[4], n / (time.monotonic() - t0), failed, p50(conn), p50(rest), 100 * slept / n))
' "$GZ_HOST" "$gets" "$round" "$v" | tee -a "$raw"
      stop_server "$v"
    done
  done
  med() {  # VARIANT [FIELD]
    grep "variant=$1 " "$raw" | field "${2:-gets_per_s}" | median
  }
  out=$(result_path "python")
  {
    result_head "python" "python3 -m http.server, kernel vs lstack (LD_PRELOAD)" "python $rounds $gets"
    echo "- server: Debian's \`python3 -m http.server 8000\` (a thread per request) pinned to CPU 1; client (kernel, peer namespace, CPU 0): $gets sequential GETs, a new connection each (http.client)"
    echo "- lstack-rtc: stack_mode_rtc=1, low_power_mode=$bench_lpm; lstack-thread: as Gazelle documents it (stack thread, num_cpus=\"1\", low_power_mode=$bench_lpm, hugetlbfs dpdk_args)"
    echo "- each cell: the median of $rounds rounds; every round runs each variant, in another order"
    echo
    k=$(med kernel)
    echo "| kernel GETs/s | lstack-rtc | lstack-thread |"
    echo "| ---: | ---: | ---: |"
    echo "| $k | $(med lstack-rtc) ($(ratio "$(med lstack-rtc)" "$k")) | $(med lstack-thread) ($(ratio "$(med lstack-thread)" "$k")) |"
    echo
    # What bounds it: the client's connect() (a SYN-ACK from outside the client's kernel must
    # wake it, README "What bounds these figures") against the rest of each GET.
    echo "Where a GET's time goes, as the client sees it (µs; each round's median over its GETs, then the median of the rounds):"
    echo "\`connect()\` is the handshake, the rest is request, response and close; slept: the share of \`connect()\`s in"
    echo "which the client slept (its voluntary context switches). Over veth the kernel answers a SYN inside the client's"
    echo "own \`connect()\`; lstack answers from another CPU, so the client sleeps and its SYN-ACK must wake it."
    echo
    echo "| part | kernel | lstack-rtc | lstack-thread |"
    echo "| --- | ---: | ---: | ---: |"
    for f in connect rest slept; do
      local key="p50_${f}_us" name='`connect()` µs' row
      case $f in rest) name='the rest of the GET µs' ;; slept) key=slept_pct name='`connect()`s that slept, %' ;; esac
      k=$(med kernel $key) row="| $name | $k"
      for v in lstack-rtc lstack-thread; do
        row="$row | $(med $v $key)$([ $f = slept ] || echo " ($(ratio "$(med $v $key)" "$k"))")"
      done
      echo "$row |"
    done
  } >"$out"
  result_done "$out"
  rm -rf "$run_dir" "$www" "$conf_rtc" "$conf_thread" "$conf" "$log" "$raw"
}
