#!/usr/bin/env bash
# Debian's unmodified iperf3 server with LD_PRELOAD=liblstack.so (bound to
# lstack's address); from the kernel peer a 10 s upload, then a 10 s download
# (-R). Each must exit 0, report no error and a nonzero received bitrate.
#   apps_iperf3.sh LIBLSTACK VDEV INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 vdev=$2 idx=$3 rtc=$4
gz_require
gz_need iperf3
py=$(command -v /usr/bin/python3 python3 | head -1)
gz_setup "iperf3-$vdev-$rtc" "$idx"
gz_tmpdir dir
conf=$dir/lstack.conf log=$dir/iperf3-server.log
gz_conf "$conf" "$vdev" "$rtc"
gz_lstack_env "$lib" "$conf" iperf3
gz_leftovers_mark
gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" iperf3 -s -B "$GZ_HOST" -p 5201 --forceflush >"$log" 2>&1
server=${GZ_PIDS[-1]}
gz_wait_server "$server" "$log" "Server listening" 60 || { gz_fail "iperf3 -s did not come up (exited, or not ready in 60 s)"; gz_finish "$log"; }

# run LABEL ARGS...: one client run; prints the bitrate the receiving side saw.
run() {
  local label=$1 rc msg
  shift
  timeout 40 ip netns exec "$GZ_NS_P" iperf3 -c "$GZ_HOST" -p 5201 -t 10 --connect-timeout 5000 --json "$@" \
    >"$dir/$label.json" 2>"$dir/$label.err"
  rc=$?
  [ "$rc" = 0 ] || gz_fail "iperf3 -c $GZ_HOST -t 10 $*: exit status $rc$([ "$rc" = 124 ] && echo ' (timed out after 40 s)') $(head -c 300 "$dir/$label.err")"
  msg=$("$py" - "$dir/$label.json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"output is not JSON ({e})"); sys.exit(1)
if d.get("error"):
    print(f"iperf3 error: {d['error']}"); sys.exit(1)
try:
    rx = d["end"]["sum_received"]["bits_per_second"]
    tx = d["end"]["sum_sent"]
except KeyError as e:
    print(f"no end summary ({e})"); sys.exit(1)
print(f"receiver {rx / 1e6:.1f} Mbit/s, sender {tx['bits_per_second'] / 1e6:.1f} Mbit/s, "
      f"{tx.get('retransmits', '?')} retransmits")
sys.exit(0 if rx > 0 else 1)
PY
)
  rc=$?
  echo "  $label: $msg"
  [ "$rc" = 0 ] || gz_fail "iperf3 $label: $msg"
}
run upload
run download -R

kill -0 "$server" 2>/dev/null || gz_fail "iperf3 -s exited during the test"
grep -qi 'error' "$log" && gz_fail "the iperf3 server reported: $(grep -i error "$log" | head -3)"
# iperf3 -s ends on SIGTERM with "interrupt - the server has terminated" and status 1, as on the kernel.
gz_stop_app "$server" 1 "iperf3 -s" "$log"
grep -q 'the server has terminated' "$log" || gz_fail "iperf3 -s did not report its stop"
gz_leftovers_check "${GZ_RUN_DIR:-}"
[ "$GZ_STATUS" = 0 ] && echo "apps-iperf3 ($vdev, stack_mode_rtc=$rtc): all checks passed"
gz_finish "$log"
