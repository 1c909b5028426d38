#!/usr/bin/env bash
# At the fd limit accept() says EMFILE and the connection stays queued, as on
# Linux (issue 8, item 10): the same python server on the kernel and on lstack,
# 12 clients; none may see a reset; gazellectl counts the EMFILE accepts.
#   fd_limit.sh LIBLSTACK GAZELLECTL INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$1 ctl=$2 idx=$3
gz_require
gz_need /usr/bin/python3
gz_setup "fdlimit" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp 0
prog=$(dirname "$0")/fd_limit.py
for label in kernel lstack; do
  [ "$label" = lstack ] && { ip -n "$GZ_NS_L" addr del "$GZ_HOST/24" dev "$GZ_IF_L"; ip -n "$GZ_NS_P" neigh flush all; }
  gz_lstack_env "$([ "$label" = kernel ] && echo kernel || echo "$lib")" "$dir/lstack.conf" python3
  gz_bg ip netns exec "$GZ_NS_L" env "${GZ_ENV[@]}" /usr/bin/python3 "$prog" server >"$dir/server-$label.log" 2>&1
  server=${GZ_PIDS[-1]}
  gz_wait_server "$server" "$dir/server-$label.log" ready 60 || { gz_fail "$label server did not come up"; gz_finish "$dir/server-$label.log"; }
  timeout 60 ip netns exec "$GZ_NS_P" /usr/bin/python3 "$prog" client "$GZ_HOST" 12 >"$dir/client-$label.out" 2>&1 \
    || gz_fail "$label: $(tail -2 "$dir/client-$label.out")"
  sed "s/^/  $label: /" "$dir/client-$label.out"
  [ "$label" = lstack ] && { GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 20 "$ctl" lstack show --json >"$dir/ctl.out" 2>&1 || gz_fail "gazellectl failed"; }
  gz_stop_app "$server" 0 "the $label server" "$dir/server-$label.log"
  grep -q 'EMFILE [1-9]' "$dir/server-$label.log" || gz_fail "$label: the server never met its fd limit: $(tail -1 "$dir/server-$label.log")"
  # Every connection stayed queued until the server could take it.
  grep -q 'accepted 12 connections' "$dir/server-$label.log" || gz_fail "$label: $(grep -m1 stopped "$dir/server-$label.log") (want 12: none lost at the limit)"
done
n=$(gz_ctl_total "$dir/ctl.out" accept_fd_limit)
echo "  gazellectl: $n accepts met the fd limit"
[ "$n" -gt 0 ] || gz_fail "gazellectl counted no accept at the fd limit"
[ "$GZ_STATUS" = 0 ] && echo "fd-limit: all checks passed"
gz_finish "$dir/server-lstack.log" "$dir/ctl.out"
