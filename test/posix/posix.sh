#!/usr/bin/env bash
# The same black-box program (posix-check) on the kernel stack and linked with
# liblstack, against the same kernel peer: both must pass every check.
#   posix.sh POSIX_CHECK_KERNEL POSIX_CHECK_LSTACK INDEX RTC
set -u
. "$(dirname "$0")/../integration/lib.sh"
kernel_bin=$1 lstack_bin=$2 idx=$3 rtc=$4
gz_require
gz_setup "posix-$rtc" "$idx"
plog=$(mktemp) conf=$(mktemp)
gz_bg ip netns exec "$GZ_NS_P" python3 "$(dirname "$0")/../integration/peer.py" posix-peer >"$plog" 2>&1
gz_wait_line "$plog" "echo server" 30 || { cat "$plog"; echo "FAIL: peer did not start"; exit 1; }
status=0
echo "=== kernel"
ip -n "$GZ_NS_L" addr add "$GZ_HOST/24" dev "$GZ_IF_L"
timeout 120 ip netns exec "$GZ_NS_L" "$kernel_bin" "$GZ_PEER" "$GZ_HOST" || status=1
ip -n "$GZ_NS_L" addr del "$GZ_HOST/24" dev "$GZ_IF_L"
ip -n "$GZ_NS_P" neigh flush all
echo "=== lstack (stack_mode_rtc=$rtc)"
gz_conf "$conf" af_xdp "$rtc"
timeout 120 ip netns exec "$GZ_NS_L" env LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$(mktemp -d)" "$lstack_bin" "$GZ_PEER" "$GZ_HOST" 2>&1 \
  | grep -vE '^(EAL|TELEMETRY|libbpf|libxdp):' || status=1
[ "${PIPESTATUS[0]}" = 0 ] || status=1
exit $status
