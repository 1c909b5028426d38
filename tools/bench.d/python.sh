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
import http.client, sys, time
host, n = sys.argv[1], int(sys.argv[2])
failed, t0 = 0, time.monotonic()
for i in range(n):
    try:
        c = http.client.HTTPConnection(host, 8000, timeout=5)
        c.request("GET", "/index.html")
        ok = c.getresponse().read().startswith(b"<html>")
        c.close()
    except OSError:
        ok = False
    failed += not ok
print("round=%s variant=%s gets_per_s=%.1f failed=%d" % (sys.argv[3], sys.argv[4], n / (time.monotonic() - t0), failed))
' "$GZ_HOST" "$gets" "$round" "$v" | tee -a "$raw"
      stop_server "$v"
    done
  done
  med() {  # VARIANT
    grep "variant=$1 " "$raw" | field gets_per_s | median
  }
  out=$(result_path "python")
  {
    result_head "python" "python3 -m http.server, kernel vs lstack (LD_PRELOAD)" "python $rounds $gets"
    echo "- server: Debian's \`python3 -m http.server 8000\` (a thread per request) pinned to CPU 1; client (kernel, peer namespace, CPU 0): $gets sequential GETs, a new connection each (http.client)"
    echo "- lstack-rtc: stack_mode_rtc=1, low_power_mode=0; lstack-thread: as Gazelle documents it (stack thread, num_cpus=\"1\", low_power_mode=0, hugetlbfs dpdk_args)"
    echo "- each cell: the median of $rounds rounds; every round runs each variant, in another order"
    echo
    k=$(med kernel)
    echo "| kernel GETs/s | lstack-rtc | lstack-thread |"
    echo "| ---: | ---: | ---: |"
    echo "| $k | $(med lstack-rtc) ($(ratio "$(med lstack-rtc)" "$k")) | $(med lstack-thread) ($(ratio "$(med lstack-thread)" "$k")) |"
  } >"$out"
  result_done "$out"
  rm -rf "$run_dir" "$www" "$conf_rtc" "$conf_thread" "$conf" "$log" "$raw"
}
