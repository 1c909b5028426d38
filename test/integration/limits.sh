#!/usr/bin/env bash
# Resource limits give the POSIX errno, nothing crashes: with tcp_conn_count=4
# the fifth TCP socket of gz-echo's client fails with ENOBUFS.
#   limits.sh GZ_ECHO INDEX
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 idx=$2
gz_require
gz_setup limits "$idx"
conf=$(mktemp) plog=$(mktemp) out=$(mktemp)
gz_conf "$conf" af_xdp 0
sed -i 's/^tcp_conn_count = .*/tcp_conn_count = 4;/' "$conf"
gz_bg ip netns exec "$GZ_NS_P" python3 "$(dirname "$0")/peer.py" server 9000 >"$plog" 2>&1
gz_wait_line "$plog" "echo server" 30 || { cat "$plog"; echo "FAIL: peer server did not start"; exit 1; }
timeout 120 ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$echo_bin" client "$GZ_PEER" 9000 5 1000 >"$out" 2>&1
rc=$?
grep -v -E '^(EAL|TELEMETRY|libbpf|libxdp):' "$out"
[ $rc != 0 ] || { echo "FAIL: five sockets with tcp_conn_count=4 succeeded"; exit 1; }
grep -q "gz-echo: socket: No buffer space available" "$out" || { echo "FAIL: expected ENOBUFS from socket()"; exit 1; }
echo "ok: the fifth socket fails with ENOBUFS"
