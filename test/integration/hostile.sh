#!/usr/bin/env bash
# Hostile peers (issue 8, item 10): crafted frames from the peer namespace
# (scapy), first against the kernel serving the same python program, then
# against lstack: every verdict must be the kernel's (SYN+FIN, martian sources,
# TTL 0, lying UDP lengths), a client must connect within 1 s after 300
# spoofed SYNs, the server must survive, and gazellectl must count the drops.
#   hostile.sh LIBLSTACK GAZELLECTL INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 ctl=$2 idx=$3
gz_require
gz_need /usr/bin/python3
/usr/bin/python3 -c 'import scapy' 2>/dev/null || gz_skip "python3-scapy is not installed (tools/bootstrap installs it)"
gz_setup "hostile" "$idx"
gz_tmpdir dir
prog=$(dirname "$0")/hostile.py
run() {  # LABEL: server on the kernel (LABEL kernel) or on lstack, probes, stop
  local label=$1
  gz_lstack_env "$([ "$label" = kernel ] && echo kernel || echo "$lib")" "$dir/lstack.conf" python3
  gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$prog" server >"$dir/server-$label.log" 2>&1
  server=${GZ_PIDS[-1]}
  gz_wait_server "$server" "$dir/server-$label.log" ready 60 || { gz_fail "$label server did not come up"; gz_finish "$dir/server-$label.log"; }
  timeout 120 ip netns exec "$GZ_NS_P" /usr/bin/python3 "$prog" probe "$GZ_IF_P" "$GZ_HOST" >"$dir/$label.out" 2>&1 \
    || gz_fail "$label probe failed: $(tail -3 "$dir/$label.out")"
  sed "s/^/  $label: /" "$dir/$label.out"
  if [ "$label" = lstack ]; then
    GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 20 "$ctl" lstack show --json >"$dir/ctl.out" 2>&1 || gz_fail "gazellectl failed"
  fi
  kill -0 "$server" 2>/dev/null || gz_fail "the $label server did not survive the probes"
  gz_stop_app "$server" 0 "the $label server" "$dir/server-$label.log"
}
gz_conf "$dir/lstack.conf" af_xdp 0
run kernel
ip -n "$GZ_NS_L" addr del "$GZ_HOST/24" dev "$GZ_IF_L"
ip -n "$GZ_NS_P" neigh flush all
run lstack
# Same verdicts, case by case (the flood line compares its outcome, not its time).
verdicts() { sed -E 's/ in [0-9.]+ s$//; s/ after [0-9.]+ s$//' "$1" | grep ': '; }
if ! diff <(verdicts "$dir/kernel.out") <(verdicts "$dir/lstack.out") >"$dir/diff"; then
  gz_fail "lstack answered the crafted frames otherwise than the kernel:"
  cat "$dir/diff"
fi
grep -q 'client after 300 spoofed SYNs: connected' "$dir/lstack.out" || gz_fail "no connection after the SYN flood"
secs=$(sed -n 's/.*spoofed SYNs: connected in \([0-9.]*\) s/\1/p' "$dir/lstack.out")
awk -v s="${secs:-99}" 'BEGIN { exit !(s < 1.0) }' || gz_fail "after the SYN flood a client needed ${secs:-?} s to connect (limit 1 s)"
evicted=$(gz_ctl_total "$dir/ctl.out" syn_evicted)
proterr=$(gz_ctl_total "$dir/ctl.out" tcp_proterr)
lenerr=$(gz_ctl_total "$dir/ctl.out" udp_lenerr)
echo "  gazellectl: $evicted half-open evicted, tcp proterr $proterr, udp lenerr $lenerr"
[ "$evicted" -gt 0 ] || gz_fail "gazellectl counted no evicted half-open connection"
[ "$proterr" -gt 0 ] || gz_fail "gazellectl counted no SYN+FIN drop (tcp proterr)"
[ "$lenerr" -ge 2 ] || gz_fail "gazellectl counted $lenerr UDP length drops (want 2)"
[ "$GZ_STATUS" = 0 ] && echo "hostile-peers: all checks passed"
gz_finish "$dir/server-lstack.log" "$dir/ctl.out"
