#!/usr/bin/env bash
# ltran's bond in mode 4 (802.3ad, LACP) with a real LACP partner. This kernel has no
# bonding driver, so the partner is DPDK's own: a second ltran in the peer's namespace
# with its own mode 4 bond over the peer's ends of the two veth pairs, and gz-echo behind
# it. DPDK's 802.3ad sends no data on a member until LACP has the pair collecting and
# distributing, so data through means both sides negotiated.
#  - gazellectl ltran show --json: bond mode 4, both members' links up;
#  - 64 MiB echoed from a python client behind ltran (LD_PRELOAD, use_ltran = 1) to the
#    partner, with the same sha256 both ways;
#  - SIGTERM to gz-echo and both ltrans: exit status 0, no crash, nothing left.
# Not here: failover. DPDK's LACP asks its partner for the long timeout (90 s) before the
# partner stops sending on a link it cannot see go down (af_packet members).
#   ltran_lacp.sh LIBLSTACK LTRAN GAZELLECTL GZ_ECHO INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$(realpath "$1") ltran=$2 GZ_CTL=$3 echo_bin=$4 idx=$5
gz_require
gz_need ethtool
gz_bond_setup ltran-lacp "$idx" none
gz_tmpdir dir
gz_tmpdir GZ_RUN_DIR
rmdir "$GZ_RUN_DIR"  # ltran makes it
gz_leftovers_mark
gz_ltran_bond_conf "$dir/ltran.conf" 4 100
gz_ltran_start "$ltran" "$dir/ltran.conf" "$dir/ltran.log"
logs=("$dir/ltran.log")

# The partner: a second ltran in the peer's namespace, its own mode 4 bond of the peer's
# two ends (bond_macs: another MAC), and gz-echo behind it serving $GZ_PEER.
peer_mac=$(printf '02:47:5a:01:%02x:02' $((idx % 256)))
prun=$dir/partner-run  # the partner ltran makes it
gz_ltran_bond_conf "$dir/partner.conf" 4 100
sed -i "s/$GZ_IF_L2,/$GZ_IF_P2,/; s/$GZ_IF_L,/$GZ_IF_P,/; s/--file-prefix $GZ_LTRAN_PREFIX/--file-prefix gzlt$GZ_IF_P/;
        s/^bond_macs = .*/bond_macs = \"$peer_mac\";/" "$dir/partner.conf"
gz_bg ip netns exec "$GZ_NS_P" env GAZELLE_RUN_DIR="$prun" "$ltran" --config-file "$dir/partner.conf" >"$dir/partner-ltran.log" 2>&1
partner_ltran=${GZ_PIDS[-1]}
logs+=("$dir/partner-ltran.log")
gz_wait_server "$partner_ltran" "$dir/partner-ltran.log" "ltran: serving" 30 || { gz_fail "the partner ltran did not come up"; gz_finish "${logs[@]}"; }
gz_ltran_lstack_conf "$dir/echo.conf" "$GZ_PEER"
sed -i "s/^devices = .*/devices = \"$peer_mac\";/; s/^gateway_addr = .*/gateway_addr = \"$GZ_HOST\";/" "$dir/echo.conf"
gz_bg ip netns exec "$GZ_NS_P" env LSTACK_CONF_PATH="$dir/echo.conf" GAZELLE_RUN_DIR="$prun" "$echo_bin" server 7 >"$dir/echo.log" 2>&1
partner=${GZ_PIDS[-1]}
logs+=("$dir/echo.log")
gz_wait_server "$partner" "$dir/echo.log" ready 60 || { gz_fail "gz-echo behind the partner ltran did not come up"; gz_finish "${logs[@]}"; }

json_is() { [ "$(gz_ltran_json "$1")" = "$2" ]; }
gz_retry 5 json_is "d['bond_mode'], [m['link_up'] for m in d['members']]" "(4, [True, True])" \
  || gz_fail "gazellectl ltran show --json: want bond mode 4 with both links up: $(gz_ltran_json d)"
echo "  ltran: $(GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$GZ_CTL" ltran show | grep -E 'bond:|members:' | tr -s ' ' | tr '\n' ';')"

# The client behind ltran. LACP settles within a few of its periods (fast: 1 s): the
# client retries its connection for 20 s.
gz_ltran_lstack_conf "$dir/client.conf" "$GZ_HOST"
total=$((64 << 20))
# LSTACK_DEBUG_STATS: a stalled connection's state at the client's exit (a run once
# stalled with the persist timer running over a 512 KiB window: lwIP patch 0015).
ip netns exec "$GZ_NS_L" env LD_PRELOAD="$lib" GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/client.conf" LSTACK_DEBUG_STATS=1 \
  timeout 120 /usr/bin/python3 -c '
import runpy, socket, sys, time
for _ in range(40):
    try:
        socket.create_connection((sys.argv[1], 7), timeout=1).close()
        break
    except OSError:
        time.sleep(0.5)
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$GZ_PEER" "$(dirname "$0")/echo_client.py" "$GZ_PEER" "$total" "$dir/progress" \
  >"$dir/client.out" 2>&1
rc=$?
sed 's/^/  client: /' "$dir/client.out"
[ "$rc" = 0 ] || gz_fail "64 MiB through the 802.3ad bond: the echo did not come back whole (exit status $rc)"
GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$GZ_CTL" ltran show | sed 's/^/  ltran show: /'
grep -q "ltran: bond: cannot" "$dir/ltran.log" && gz_fail "$(grep -m1 'ltran: bond: cannot' "$dir/ltran.log")"

# --- stops ---------------------------------------------------------------------------
gz_stop_app "$partner" 0 "gz-echo behind the partner" "$dir/echo.log"
gz_stop_app "$partner_ltran" 0 "the partner ltran" "$dir/partner-ltran.log"
gz_stop_app "$GZ_LTRAN_PID" 0 ltran "$dir/ltran.log"
[ ! -e "$GZ_RUN_DIR/ltran.sock" ] && [ ! -e "$prun/ltran.sock" ] || gz_fail "an ltran left its socket"
GZ_FILE_PREFIX=gzlt$GZ_IF_P
gz_leftovers_check "$prun"
GZ_FILE_PREFIX=$GZ_LTRAN_PREFIX
gz_leftovers_check "$GZ_RUN_DIR"
[ "$GZ_STATUS" = 0 ] && echo "ltran-lacp: all checks passed"
gz_finish "${logs[@]}"
