#!/usr/bin/env bash
# ltran's bond through DPDK's bonding PMD: two net_af_packet members on two veth pairs
# cabled to one switch (a linux bridge in the peer's namespace holding the peer's address),
# bond_ports "0x3", bond_mode 1 (active-backup), bond_miimon 100; gz-echo behind ltran.
# af_packet never tells DPDK that a veth lost its carrier: ltran watches the kernel links
# itself and takes a member out of the bond when its link goes down.
#  - 1 GiB echoed through the bond; half-way, the peer's end of the active member goes
#    down: ltran says so (the time is printed; it reads the links every bond_miimon ms, and
#    more than bond_miimon + 500 ms, with this shell's polling, fails), the transfer completes
#    with the same sha256, gazellectl ltran show --json reports that member's link down and
#    the other one active;
#  - the link comes back: reported up, traffic stays where it is (no flap);
#  - 64 MiB more while the other member's link goes down: traffic goes back to the first
#    member (it really rejoined the bond), intact;
#  - SIGTERM to gz-echo and ltran: exit status 0, no crash, nothing left behind.
#   ltran_bond.sh LIBLSTACK LTRAN GAZELLECTL GZ_ECHO INDEX [MODE]
# (LIBLSTACK as the other ltran tests take it; gz-echo is linked with lstack.)
# MODE 6 (alb) passes the same checks by hand (same bridge). MODE 4 (802.3ad) puts the
# peer's ends in a kernel LACP bond instead, and SKIPs where the kernel has no bonding
# driver.
set -u
. "$(dirname "$0")/lib.sh"
ltran=$2 GZ_CTL=$3 echo_bin=$4 idx=$5 mode=${6:-1}
gz_require
gz_need ethtool
peer=bridge
[ "$mode" = 4 ] && peer=lacp
gz_bond_setup "ltran-bond$mode" "$idx" "$peer"
gz_tmpdir dir
gz_tmpdir GZ_RUN_DIR
rmdir "$GZ_RUN_DIR"  # ltran makes it
miimon=100
gz_leftovers_mark
gz_ltran_bond_conf "$dir/ltran.conf" "$mode" "$miimon"
gz_ltran_start "$ltran" "$dir/ltran.conf" "$dir/ltran.log"
logs=("$dir/ltran.log")
gz_ltran_lstack_conf "$dir/echo-lstack.conf" "$GZ_HOST"
gz_start_echo "$echo_bin" "$dir/echo-lstack.conf" "$dir/echo.log"
logs+=("$dir/echo.log")
peer_end=("$GZ_IF_P" "$GZ_IF_P2")  # by DPDK port id

# The client (echo_client.py) runs in the peer's namespace.

# transfer TOTAL OUT: starts the client (bounded) in the background: $xfer_pid.
transfer() {
  rm -f "$dir/progress"
  ip netns exec "$GZ_NS_P" timeout 300 /usr/bin/python3 "$(dirname "$0")/echo_client.py" "$GZ_HOST" "$1" "$dir/progress" >"$2" 2>&1 &
  xfer_pid=$!
}
# wait_progress BYTES: until the client received BYTES (60 s at most).
wait_progress() {
  local end=$((SECONDS + 60))
  until [ "$(cat "$dir/progress" 2>/dev/null || echo 0)" -ge "$1" ]; do
    kill -0 "$xfer_pid" 2>/dev/null || return 1
    [ "$SECONDS" -lt "$end" ] || return 1
    sleep 0.05
  done
}
# check_transfer OUT WHAT: the client's verdict.
check_transfer() {
  local rc
  wait "$xfer_pid"
  rc=$?
  sed 's/^/  client: /' "$1"
  [ "$rc" = 0 ] || gz_fail "$2: the echo did not come back whole (exit status $rc): $(tr '\n' ' ' <"$1")"
}
# fail_over PORT: the peer's end of member PORT goes down; waits for ltran's line and
# sets $took_ms (from `ip link set down` to the line, as seen from here).
fail_over() {
  local t0 t1 n=$(grep -c "ltran: bond: port $1 .* down" "$dir/ltran.log")
  t0=$(date +%s%N)
  ip -n "$GZ_NS_P" link set "${peer_end[$1]}" down
  for _ in $(seq 300); do
    [ "$(grep -c "ltran: bond: port $1 .* down" "$dir/ltran.log")" -gt "$n" ] && break
    sleep 0.01
  done
  t1=$(date +%s%N)
  took_ms=$(( (t1 - t0) / 1000000 ))
  if [ "$(grep -c "ltran: bond: port $1 .* down" "$dir/ltran.log")" -le "$n" ]; then
    gz_fail "ltran did not report port $1's link down within 3 s"
    return 1
  fi
  echo "  $(grep "ltran: bond: port $1 .* down" "$dir/ltran.log" | tail -1)   (${took_ms} ms after ip link set ${peer_end[$1]} down)"
  # The watch reads the links every bond_miimon ms; 400 ms more for this shell's polling on a busy machine.
  [ "$took_ms" -le $((miimon + 500)) ] || gz_fail "port $1's link down reported ${took_ms} ms after the fact (bond_miimon $miimon)"
}
# json_is EXPR WANT: gz_ltran_json EXPR prints WANT (for gz_retry).
json_is() { [ "$(gz_ltran_json "$1")" = "$2" ]; }
# link_back PORT: its peer's end up again; waits until gazellectl reports its link up.
link_back() {
  ip -n "$GZ_NS_P" link set "${peer_end[$1]}" up
  gz_retry 5 json_is "d['members'][$1]['link_up']" True \
    || gz_fail "gazellectl: port $1's link still down 5 s after it came back: $(gz_ltran_json d)"
}

# --- at start: both members up, port 0 active ---------------------------------------
[ "$(gz_ltran_json "d['bond_mode'], len(d['members'])")" = "($mode, 2)" ] \
  || gz_fail "gazellectl ltran show --json: want bond mode $mode with 2 members: $(gz_ltran_json d)"
gz_retry 5 json_is "[m['link_up'] for m in d['members']]" "[True, True]" \
  || gz_fail "both members' links should be up at start: $(gz_ltran_json d)"
first=$(gz_ltran_json "d['active_port']")
case $first in 0|1) ;; *) gz_fail "no active member at start: $(gz_ltran_json d)"; gz_finish "${logs[@]}" ;; esac
other=$((1 - first))
# active-backup gives the active member the bond's MAC (bond_macs), the others keep theirs.
mac_of() { ip -n "$GZ_NS_L" -br link show dev "$([ "$1" = 0 ] && echo "$GZ_IF_L" || echo "$GZ_IF_L2")" | awk '{print $3}'; }
check_mac() {
  [ "$mode" = 1 ] || return 0
  [ "$(mac_of "$1")" = "$GZ_MAC" ] || gz_fail "the active member (port $1) has MAC $(mac_of "$1"), not the bond's $GZ_MAC"
}
check_mac "$first"
echo "  at start: $(GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$GZ_CTL" ltran show | grep -E 'bond:|members:' | tr -s ' ' | tr '\n' ';')"
grep -q "not ready port" "$dir/ltran.log" && gz_fail "DPDK polled a stopped port: $(grep -m1 'not ready port' "$dir/ltran.log")"

# --- 1 GiB, the active member's link goes down half-way --------------------------------
total=$((1 << 30))
transfer "$total" "$dir/xfer1.out"
wait_progress $((total / 2)) || gz_fail "the 1 GiB echo did not reach half-way within 60 s: $(cat "$dir/xfer1.out")"
fail_over "$first"
show=$(gz_ltran_json "d['active_port'], d['members'][$first]['link_up'], d['members'][$other]['link_up']")
[ "$show" = "($other, False, True)" ] \
  || gz_fail "gazellectl after port $first went down: want (active port, port $first up, port $other up) = ($other, False, True), got $show"
check_mac "$other"
check_transfer "$dir/xfer1.out" "1 GiB with the active member's link going down"

# --- the link comes back: up, no flap --------------------------------------------------
link_back "$first"
[ "$(gz_ltran_json "d['active_port']")" = "$other" ] || gz_fail "traffic moved back to port $first when its link came up (flap): $(gz_ltran_json d)"
grep -q "ltran: bond: port $first .* up, port $other .* still active" "$dir/ltran.log" \
  || gz_fail "no 'ltran: bond: port $first (...) up, port $other (...) still active' line"
sleep 0.5  # the bond's own link monitor makes the rejoined member a standby (bond_miimon)

# --- and back: the other member's link goes down, the first one carries it again -----
total=$((64 << 20))
transfer "$total" "$dir/xfer2.out"
wait_progress $((total / 4)) || gz_fail "the 64 MiB echo did not reach a quarter within 60 s: $(cat "$dir/xfer2.out")"
fail_over "$other"
show=$(gz_ltran_json "d['active_port'], [m['link_up'] for m in d['members']]")
want="($first, [$([ "$first" = 0 ] && echo "True, False" || echo "False, True")])"
[ "$show" = "$want" ] || gz_fail "gazellectl after port $other went down: want $want, got $show"
check_transfer "$dir/xfer2.out" "64 MiB back over the member that rejoined"
link_back "$other"
GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$GZ_CTL" ltran show | sed 's/^/  ltran show: /'
grep 'ltran: bond:' "$dir/ltran.log" | sed 's/^/  /'
grep -q "ltran: bond: cannot" "$dir/ltran.log" && gz_fail "$(grep -m1 'ltran: bond: cannot' "$dir/ltran.log")"
grep -q "not ready port" "$dir/ltran.log" && gz_fail "DPDK polled a stopped port: $(grep -m1 'not ready port' "$dir/ltran.log")"

# --- stops ---------------------------------------------------------------------------
gz_stop_app "$GZ_ECHO_PID" 0 "gz-echo" "$dir/echo.log"
gz_stop_app "$GZ_LTRAN_PID" 0 ltran "$dir/ltran.log"
[ ! -e "$GZ_RUN_DIR/ltran.sock" ] || gz_fail "ltran left its socket"
GZ_FILE_PREFIX=$GZ_LTRAN_PREFIX
gz_leftovers_check "$GZ_RUN_DIR"
[ "$GZ_STATUS" = 0 ] && echo "ltran-bond (mode $mode): all checks passed"
gz_finish "${logs[@]}"
