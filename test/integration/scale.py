"""The peer side of scale.sh: many idle TCP connections to one echo server,
from several local addresses, each exchanging a little now and then.

  scale.py HOST PORT CONNS HOLD_SECONDS ADDR...

Prints: "connected N in T s", "rtt_before_us X" (one connection's median round
trip before the others exist), "holding" (the shell samples the server now),
"rtt_loaded_us Y" (the same with all of them open), then per second the
exchanges made and at the end "exchanges M failed F dead D".
"""
import os, random, select, socket, sys, time

host, port, conns, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
addrs = sys.argv[5:]


def rtt_us(count=300):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for _ in range(count):
        t = time.perf_counter()
        s.sendall(b"r" * 32)
        got = 0
        while got < 32:
            got += len(s.recv(64))
        samples.append((time.perf_counter() - t) * 1e6)
    s.close()
    samples.sort()
    return samples[len(samples) // 2]


def connect_all():
    ep, socks, t0 = select.epoll(), [], time.monotonic()
    for start in range(0, conns, 500):  # batches: the listener's backlog is 1024
        batch = []
        for i in range(start, min(start + 500, conns)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((addrs[i % len(addrs)], 0))
            s.setblocking(False)
            s.connect_ex((host, port))
            batch.append(s)
            ep.register(s.fileno(), select.EPOLLOUT)
        pending, deadline = {s.fileno(): s for s in batch}, time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            for fd, ev in ep.poll(1):
                s = pending.pop(fd, None)
                if s is None:
                    continue
                ep.unregister(fd)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err != 0:
                    sys.exit("connect from %s failed: %s" % (s.getsockname()[0], os.strerror(err)))
        if pending:
            sys.exit("%d connections did not complete in 30 s" % len(pending))
        socks += batch
    print("connected %d in %.1f s" % (len(socks), time.monotonic() - t0), flush=True)
    return socks


def exchange(socks, picked, timeout=10):
    """Each picked connection sends 8 bytes and must get them back: failures
    (not answered in time, answered wrong, closed or reset)."""
    ep, want, bad = select.epoll(), {}, 0
    for i in picked:
        s = socks[i]
        msg = b"%08d" % i
        try:
            s.send(msg)
        except OSError:
            bad += 1
            continue
        want[s.fileno()] = (s, msg, bytearray())
        ep.register(s.fileno(), select.EPOLLIN)
    deadline = time.monotonic() + timeout
    while want and time.monotonic() < deadline:
        for fd, _ in ep.poll(1, len(want)):
            s, msg, got = want[fd]
            try:
                data = s.recv(64)
            except OSError:
                data = b""
            got += data
            if not data or len(got) >= len(msg):
                bad += not data or bytes(got) != msg
                ep.unregister(fd)
                del want[fd]
    ep.close()
    return bad + len(want)


before = rtt_us()
print("rtt_before_us %.0f" % before, flush=True)
socks = connect_all()
failed = exchange(socks, range(len(socks)), timeout=60)  # every one answers once
print("first exchange: %d failed" % failed, flush=True)
print("holding", flush=True)
time.sleep(3)  # the shell samples the server's memory and counters
print("rtt_loaded_us %.0f" % rtt_us(), flush=True)
made, end = 0, time.monotonic() + hold
while time.monotonic() < end:
    picked = random.sample(range(len(socks)), min(1000, len(socks)))
    failed += exchange(socks, picked)
    made += len(picked)
    time.sleep(0.5)
# None may have been closed or reset meanwhile: a readable idle socket is one.
# (maxevents: python's default is FD_SETSIZE - 1, which capped this count at 1023.)
ep = select.epoll()
for s in socks:
    ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
dead = len(ep.poll(0, len(socks)))
print("exchanges %d failed %d dead %d" % (made, failed, dead), flush=True)
for s in socks:
    s.close()
