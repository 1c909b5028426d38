#!/usr/bin/env python3
"""Hostile peers (issue 8, item 10): crafted frames, the same against the kernel
and against lstack, which must behave alike.

  hostile.py server                  TCP echo on 7 (listen backlog 255), UDP echo
                                     on 5000; until SIGTERM (runs under test)
  hostile.py probe IFACE HOST        (peer side, scapy) every case below; prints
                                     one "case: verdict" line each
Cases: SYN+FIN, SYN from 0.0.0.0, SYN from 127.0.0.1, SYN with TTL 0 (answered
or silent); UDP length 0, 65535, and shorter than the datagram (echoed bytes);
300 spoofed SYNs from unused addresses of the subnet, then a real client.
"""
import selectors
import signal
import socket
import sys
import time


def server():
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    t = socket.socket()
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("0.0.0.0", 7))
    t.listen(255)
    t.setblocking(False)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", 5000))
    u.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(t, selectors.EVENT_READ, "tcp")
    sel.register(u, selectors.EVENT_READ, "udp")
    conns = []
    print("ready", flush=True)
    while not stop:
        for key, _ in sel.select(0.5):
            try:
                if key.data == "tcp":
                    c, _ = t.accept()
                    conns.append(c)
                else:
                    data, peer = u.recvfrom(65536)
                    u.sendto(data, peer)
            except (BlockingIOError, ConnectionError):
                pass
    return 0


def probe(iface, host):
    from scapy.all import IP, TCP, UDP, Ether, AsyncSniffer, conf, sendp, get_if_hwaddr, getmacbyip, Raw
    conf.verb = 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, 9))
    my_ip = s.getsockname()[0]
    s.close()
    dst_mac = getmacbyip(host)
    src_mac = get_if_hwaddr(iface)
    eth = Ether(src=src_mac, dst=dst_mac)

    def answered(frame, match, wait=1.0):
        sn = AsyncSniffer(iface=iface, lfilter=match, store=True)
        sn.start()
        time.sleep(0.2)
        sendp(frame, iface=iface)
        time.sleep(wait)
        got = sn.stop()
        return got

    def tcp_case(name, ip, flags, sport):
        got = answered(eth / ip / TCP(sport=sport, dport=7, flags=flags, seq=1000),
                       lambda p: TCP in p and p[IP].src == host and p[TCP].sport == 7 and p[TCP].dport == sport)
        print(f"{name}: {'answered ' + str(got[0][TCP].flags) if got else 'silent'}", flush=True)

    tcp_case("syn+fin", IP(src=my_ip, dst=host), "SF", 40001)
    tcp_case("syn from 0.0.0.0", IP(src="0.0.0.0", dst=host), "S", 40002)
    tcp_case("syn from 127.0.0.1", IP(src="127.0.0.1", dst=host), "S", 40003)
    tcp_case("syn with ttl 0", IP(src=my_ip, dst=host, ttl=0), "S", 40004)

    def udp_case(name, length, payload, sport):
        d = IP(src=my_ip, dst=host) / UDP(sport=sport, dport=5000, len=length, chksum=0) / Raw(payload)
        got = answered(eth / d, lambda p: UDP in p and p[IP].src == host and p[UDP].dport == sport)
        print(f"{name}: {'echoed ' + str(len(bytes(got[0][UDP].payload))) + ' bytes' if got else 'silent'}", flush=True)

    udp_case("udp length 0", 0, b"x" * 20, 41001)
    udp_case("udp length 65535", 65535, b"x" * 20, 41002)
    udp_case("udp length 12 of 28", 12, b"abcd" + b"y" * 16, 41003)

    # 300 SYNs from addresses of the subnet nobody holds (.100 to .249): nothing
    # answers their SYN-ACKs, so each half-open connection lingers.
    prefix = host.rsplit(".", 1)[0]
    flood = [eth / IP(src=f"{prefix}.{100 + i % 150}", dst=host) / TCP(sport=20000 + i, dport=7, flags="S", seq=i)
             for i in range(300)]
    sendp(flood, iface=iface)
    time.sleep(0.3)
    t0 = time.monotonic()
    try:
        c = socket.create_connection((host, 7), timeout=3)
        c.close()
        print(f"client after 300 spoofed SYNs: connected in {time.monotonic() - t0:.2f} s", flush=True)
    except OSError as e:
        print(f"client after 300 spoofed SYNs: {type(e).__name__} after {time.monotonic() - t0:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "server":
        sys.exit(server())
    if len(sys.argv) == 4 and sys.argv[1] == "probe":
        sys.exit(probe(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
