#!/usr/bin/env bash
# gazellectl lstack capture (issue 11, item 2) against a live lstack process
# whose traffic this test made: tcpdump -r reads the file; it holds exactly the
# frames the stack counted while it ran (both directions, ARP and ICMP
# included), the handshake, the 4000 bytes each way and the echo request and
# reply; a BPF filter and -c are honoured; -G starts new files; a second
# capture is refused while one runs; a bad filter is a usage error.
#   capture.sh GZ_ECHO GAZELLECTL INDEX RTC
set -u
. "$(dirname "$0")/lib.sh"
echo_bin=$1 ctl=$2 idx=$3 rtc=$4
gz_require
gz_need /usr/bin/python3 tcpdump
gz_setup "cap" "$idx"
gz_tmpdir dir
gz_conf "$dir/lstack.conf" af_xdp "$rtc"
gz_tmpdir GZ_RUN_DIR
gz_leftovers_mark
gz_start_echo "$echo_bin" "$dir/lstack.conf" "$dir/server.log"
pid=$GZ_ECHO_PID
ctl() { GAZELLE_RUN_DIR="$GZ_RUN_DIR" timeout 60 "$ctl" lstack "$@"; }
# What the peer's kernel sent and received (its namespace's MIB-II, only this
# test's traffic): TCP segments out and in, ICMP messages out and in.
segments() {
  ip netns exec "$GZ_NS_P" awk '$1 == "Tcp:" && $2 ~ /^[0-9]/ {to = $12; ti = $11}
    $1 == "Icmp:" && $2 ~ /^[0-9]/ {io = $16; ii = $2} END {print to, ti, io, ii}' /proc/net/snmp
}
# One connection: 4 messages of 1000 bytes, each echoed, then a close.
exchange() {
  ip netns exec "$GZ_NS_P" /usr/bin/python3 - "$GZ_HOST" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
for i in range(4):
    s.sendall(bytes([65 + i]) * 1000)
    got = 0
    while got < 1000:
        got += len(s.recv(4096))
s.close()
PY
}
# A capture in the background ($cap: gazellectl's own pid), and its end: a
# signal as a user's Ctrl-C, then a bounded wait; its exit status in $rc.
cap_start() {
  local log=$1; shift
  GAZELLE_RUN_DIR="$GZ_RUN_DIR" "$ctl" lstack capture "$@" >"$log" 2>&1 &
  cap=$!
  gz_wait_line "$log" "capturing lstack pid $pid" 20 || gz_fail "capture $* did not start: $(cat "$log")"
}
cap_end() {  # SIGNAL ('' to wait for it to end by itself)
  local i
  [ -n "$1" ] && kill "-$1" "$cap" 2>/dev/null
  for i in $(seq 100); do kill -0 "$cap" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$cap" 2>/dev/null; then gz_fail "gazellectl capture did not end"; kill -KILL "$cap"; fi
  wait "$cap"; rc=$?
}
# tcpdump's one-line view of a capture file (an unreadable file fails the check).
view() { tcpdump -r "$1" -nn "${@:2}" 2>"$dir/tcpdump.err"; }

# 1. Everything, until SIGINT: the file matches the stack's own counters.
read -r to0 ti0 io0 ii0 < <(segments)
cap_start "$dir/cap1.log" "$pid" -w "$dir/all.pcap"
ctl capture "$pid" -w "$dir/second.pcap" >"$dir/busy.log" 2>&1
[ $? = 1 ] && grep -q "another capture is running" "$dir/busy.log" || gz_fail "a second capture: $(cat "$dir/busy.log")"
exchange || gz_fail "the exchange failed"
ip netns exec "$GZ_NS_P" ping -c 2 -i 0.2 -W 2 "$GZ_HOST" >/dev/null || gz_fail "ping failed"
sleep 1  # the last ACKs
cap_end INT
read -r to1 ti1 io1 ii1 < <(segments)
[ "$rc" = 0 ] || gz_fail "capture exited $rc after SIGINT: $(cat "$dir/cap1.log")"
grep -q "^0 packets dropped by lstack" "$dir/cap1.log" || gz_fail "drops: $(tail -2 "$dir/cap1.log")"
rx_tcp=$(view "$dir/all.pcap" "tcp and dst host $GZ_HOST" | wc -l) tx_tcp=$(view "$dir/all.pcap" "tcp and src host $GZ_HOST" | wc -l)
rx_icmp=$(view "$dir/all.pcap" "icmp and dst host $GZ_HOST" | wc -l) tx_icmp=$(view "$dir/all.pcap" "icmp and src host $GZ_HOST" | wc -l)
echo "  capture 1: $(view "$dir/all.pcap" | wc -l) frames; TCP in $rx_tcp / out $tx_tcp, ICMP in $rx_icmp / out $tx_icmp;" \
  "the peer's kernel sent $((to1 - to0)) / received $((ti1 - ti0)) TCP segments, sent $((io1 - io0)) / received $((ii1 - ii0)) ICMP"
[ -s "$dir/tcpdump.err" ] && ! grep -q "^reading from file" "$dir/tcpdump.err" && gz_fail "tcpdump -r: $(cat "$dir/tcpdump.err")"
[ "$rx_tcp" = "$((to1 - to0))" ] && [ "$tx_tcp" = "$((ti1 - ti0))" ] && [ "$rx_icmp" = "$((io1 - io0))" ] \
  && [ "$tx_icmp" = "$((ii1 - ii0))" ] && [ "$rx_icmp" = 2 ] || gz_fail "the file disagrees with what the peer sent and received"
syns=$(view "$dir/all.pcap" 'tcp port 7 and tcp[tcpflags] & tcp-syn != 0' | wc -l)
[ "$syns" = 2 ] || gz_fail "$syns SYN/SYN-ACK frames, want 2"
# Payload each way, from tcpdump's "length N" of each segment.
in=$(view "$dir/all.pcap" "tcp and dst host $GZ_HOST and dst port 7" | awk '{s += $NF} END {print s + 0}')
out=$(view "$dir/all.pcap" "tcp and src host $GZ_HOST and src port 7" | awk '{s += $NF} END {print s + 0}')
echo "  payload: $in bytes in, $out bytes out"
[ "$in" = 4000 ] && [ "$out" = 4000 ] || gz_fail "payload $in in / $out out, want 4000 each way"
view "$dir/all.pcap" icmp | grep -q "ICMP echo request" && view "$dir/all.pcap" icmp | grep -q "ICMP echo reply" \
  || gz_fail "the ping's request and reply are not both in the file"
first=$(view "$dir/all.pcap" -tt -c 1 | awk '{print int($1)}')
[ $(( $(date +%s) - ${first:-0} )) -lt 60 ] || gz_fail "timestamps are off: first frame at ${first:-none}"

# 2. A filter and a count: 3 segments the peer sent with data, then it stops by itself.
cap_start "$dir/cap2.log" "$GZ_HOST" -w "$dir/f.pcap" -f "tcp and src host $GZ_PEER and tcp[tcpflags] & tcp-push != 0" -c 3 -s 96
exchange || gz_fail "the second exchange failed"
cap_end ''
[ "$rc" = 0 ] || gz_fail "filtered capture exited $rc: $(cat "$dir/cap2.log")"
n=$(view "$dir/f.pcap" | wc -l)
m=$(view "$dir/f.pcap" "src host $GZ_PEER and tcp[tcpflags] & tcp-push != 0" | wc -l)
snap=$(/usr/bin/python3 -c 'import struct, sys
print(struct.unpack("<I", open(sys.argv[1], "rb").read()[16:20])[0])' "$dir/f.pcap")
echo "  capture 2: $n frames, $m matching the filter, snaplen $snap"
[ "$n" = 3 ] && [ "$m" = 3 ] && [ "$snap" = 96 ] || gz_fail "filter/-c/-s not honoured: $n frames, $m matching, snaplen $snap"

# 3. -G 1 under steady traffic (a 4 s stream both ways): a new file (strftime-named)
# every second, each holding frames; SIGTERM in the middle of the stream ends it at once.
ip netns exec "$GZ_NS_P" /usr/bin/python3 - "$GZ_HOST" >"$dir/stream.log" 2>&1 <<'PY' &
import socket, sys, threading, time
s = socket.create_connection((sys.argv[1], 7), timeout=10)
def drain():
    while s.recv(65536):
        pass
threading.Thread(target=drain, daemon=True).start()
end = time.monotonic() + 4
while time.monotonic() < end:
    s.sendall(b"s" * 65536)
s.shutdown(socket.SHUT_WR)
time.sleep(0.5)
PY
stream=$!
sleep 0.3
cap_start "$dir/cap3.log" "$pid" -w "$dir/rot-%s.pcap" -G 1
sleep 2.5
t0=$SECONDS
cap_end TERM
[ "$rc" = 0 ] && [ $((SECONDS - t0)) -le 3 ] && ! grep -q "ended the capture" "$dir/cap3.log" \
  || gz_fail "-G capture under traffic: exit $rc after $((SECONDS - t0)) s: $(tail -4 "$dir/cap3.log")"
wait "$stream"
files=0 full=0
for f in "$dir"/rot-*.pcap; do
  files=$((files + 1))
  [ "$(view "$f" | wc -l)" -gt 0 ] && full=$((full + 1))
done
echo "  capture 3 (-G 1 over a 2.5 s stream): $files files, $full with frames; $(grep -E 'captured|dropped' "$dir/cap3.log" | tr '\n' ' ')"
[ "$files" -ge 2 ] && [ "$full" -ge 2 ] || gz_fail "-G 1 under traffic wrote $files file(s), $full with frames"

# Errors.
ctl capture "$pid" -w "$dir/x.pcap" -f "tcp porrt 7" >"$dir/err1" 2>&1; [ $? = 2 ] && grep -q "bad filter" "$dir/err1" \
  || gz_fail "a bad filter: $(cat "$dir/err1")"
ctl capture "$pid" >"$dir/err2" 2>&1; [ $? = 2 ] || gz_fail "no -w: not a usage error"
ctl capture "$pid" -w - >"$dir/err4" 2>&1; [ $? = 2 ] && grep -q "regular files only" "$dir/err4" || gz_fail "-w -: $(cat "$dir/err4")"
ctl capture "$pid" -w "$dir/x.pcap" -G 5 >"$dir/err5" 2>&1; [ $? = 2 ] || gz_fail "-G without strftime codes: not a usage error"
ctl capture 999999 -w "$dir/x.pcap" >"$dir/err3" 2>&1; [ $? = 1 ] && grep -q "no such process" "$dir/err3" \
  || gz_fail "pid 999999: $(cat "$dir/err3")"
exchange || gz_fail "the server stopped answering after the captures"

gz_stop_app "$pid" 0 "the echo server" "$dir/server.log"
gz_leftovers_check
[ "$GZ_STATUS" = 0 ] && echo "capture: all checks passed"
gz_finish "$dir/server.log"
