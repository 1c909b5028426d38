#!/usr/bin/env bash
# kni_switch = 1: the host's kernel stays reachable through ltran's exception path (a tap
# interface kni0 standing in for DPDK's removed KNI), beside an lstack process behind ltran:
# from the kernel peer, a kernel HTTP server on kni0's address answers (ARP, TCP, ping),
# and the lstack echo server answers on its own address, at the same time.
#   ltran_kni.sh LTRAN GAZELLECTL GZ_ECHO INDEX
set -u
. "$(dirname "$0")/lib.sh"
ltran=$1 ctl=$2 echo_bin=$3 idx=$4
gz_require
gz_setup ltran-kni "$idx"
gz_tmpdir dir
gz_tmpdir GZ_RUN_DIR
rmdir "$GZ_RUN_DIR"
net=${GZ_HOST%.*} kernel_ip=${GZ_HOST%.*}.9
gz_leftovers_mark
gz_ltran_conf "$dir/ltran.conf" '0'
sed -i 's/^kni_switch = 0;/kni_switch = 1;/' "$dir/ltran.conf"
gz_ltran_start "$ltran" "$dir/ltran.conf" "$dir/ltran.log"
ip -n "$GZ_NS_L" link show kni0 >/dev/null 2>&1 || { gz_fail "no kni0 interface in ltran's namespace"; gz_finish "$dir/ltran.log"; }
ip -n "$GZ_NS_L" addr add "$kernel_ip/24" dev kni0
ip -n "$GZ_NS_L" link set kni0 up
ip netns exec "$GZ_NS_L" ethtool -K kni0 tx off tso off gso off >/dev/null 2>&1 || true
mkdir -p "$dir/www" && echo "kernel behind ltran" >"$dir/www/index.html"
gz_bg ip netns exec "$GZ_NS_L" /usr/bin/python3 -m http.server --bind "$kernel_ip" --directory "$dir/www" 8000 >"$dir/http.log" 2>&1
gz_ltran_lstack_conf "$dir/lstack.conf" "$GZ_HOST"
gz_bg ip netns exec "$GZ_NS_L" env GAZELLE_RUN_DIR="$GZ_RUN_DIR" LSTACK_CONF_PATH="$dir/lstack.conf" "$echo_bin" server 7 >"$dir/echo.log" 2>&1
echo_pid=${GZ_PIDS[-1]}
gz_wait_server "$echo_pid" "$dir/echo.log" ready 60 || gz_fail "gz-echo behind ltran did not come up"
kernel_ok() { [ "$(ip netns exec "$GZ_NS_P" curl -s --max-time 2 "http://$kernel_ip:8000/")" = "kernel behind ltran" ]; }
gz_retry 20 kernel_ok || gz_fail "the kernel's HTTP server on kni0 ($kernel_ip) is not reachable through ltran"
ip netns exec "$GZ_NS_P" ping -c 3 -i 0.2 -W 2 "$kernel_ip" >"$dir/ping.txt" 2>&1 || gz_fail "ping to the kernel's address through kni0: $(tail -2 "$dir/ping.txt")"
got=$(ip netns exec "$GZ_NS_P" timeout 10 /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=5)
s.sendall(b"lstack behind ltran"); print(s.recv(100).decode())' "$GZ_HOST" 2>&1)
[ "$got" = "lstack behind ltran" ] || gz_fail "the lstack echo server beside kni0: $got"
kernel_ok || gz_fail "the kernel's server stopped answering once lstack served too"
GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" ltran show >"$dir/show.txt" 2>&1
sed 's/^/  ltran: /' "$dir/show.txt"
grep -qE "rx_to_kernel +[1-9]" "$dir/show.txt" || gz_fail "gazellectl ltran show counts nothing handed to the kernel"
gz_stop_app "$echo_pid" 0 gz-echo "$dir/echo.log"
gz_stop_app "$GZ_LTRAN_PID" 0 ltran "$dir/ltran.log"
ip -n "$GZ_NS_L" link show kni0 >/dev/null 2>&1 && gz_fail "kni0 left after ltran stopped"
GZ_FILE_PREFIX=$GZ_LTRAN_PREFIX
gz_leftovers_check "$GZ_RUN_DIR"
[ "$GZ_STATUS" = 0 ] && echo "ltran-kni: all checks passed"
gz_finish "$dir/ltran.log" "$dir/echo.log" "$dir/http.log"
