#!/usr/bin/env python3
"""The kernel-side peer of the integration tests (runs in the peer namespace).

  peer.py clients HOST PORT CONNS BYTES   CONNS concurrent connections each send
                                          BYTES and check the echo byte for byte
  peer.py stream HOST PORT BYTES          one connection, BYTES each way at once,
                                          sha256 of what was sent == of what came back
  peer.py server PORT                     a kernel echo server (for lstack as client)
  peer.py sequential HOST PORT COUNT WHO  COUNT short connections one after the other:
                                          connect, 32 bytes echoed, then WHO closes
                                          first ("client", or "server": wait for its FIN)
  peer.py posix-peer                      echo on 9000, close at once on 9002 (posix-check)
  peer.py sink PORT DELAY_MS PACE_MS      one connection on PORT: nothing read for DELAY_MS
                                          (the sender's data waits in its stack), then to EOF,
                                          64 KiB a read, PACE_MS between reads (a slow reader);
                                          prints its length and sha256
  peer.py churn HOST PORT COUNT FIRST_PORT ADDR...  COUNT short connections, 64 at a time,
                                          each from its own (ADDR, port) (ports from
                                          FIRST_PORT on): 8 bytes echoed, the server closes
                                          first, then we do; no 4-tuple comes twice
  peer.py udp HOST PORT COUNT SIZE [FLOWS] COUNT datagrams of SIZE bytes, at most 32 in
                                          flight, from FLOWS source ports, each echo
                                          checked; loss reported
  peer.py held HOST PORT SECONDS [REQUEST]  one connection held open: REQUEST (a line)
                                          sent and its answer read first, if given;
                                          then waits up to SECONDS for the server to end
                                          it (EOF, as when its process ends); a reset or
                                          the timeout fails
Every wait is bounded; exit status 0 only when every byte matched.
"""
import errno
import hashlib
import os
import selectors
import socket
import socketserver
import sys
import threading
import time


def pattern(conn, size):
    seed = hashlib.sha256(str(conn).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def clients(host, port, nconns, nbytes, deadline_s=300):
    sel = selectors.DefaultSelector()
    state = {}
    for k in range(nconns):
        s = socket.create_connection((host, port), timeout=30)
        s.setblocking(False)
        state[s] = {"k": k, "out": pattern(k, nbytes), "sent": 0, "got": bytearray()}
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    deadline = time.monotonic() + deadline_s
    open_ = set(state)
    while open_ and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=5):
            s, st = key.fileobj, state[key.fileobj]
            if ev & selectors.EVENT_WRITE and st["sent"] < nbytes:
                st["sent"] += s.send(st["out"][st["sent"]:st["sent"] + 65536])
                if st["sent"] == nbytes:
                    sel.modify(s, selectors.EVENT_READ)
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    continue
                st["got"] += data
                if not data or len(st["got"]) >= nbytes:
                    sel.unregister(s)
                    open_.discard(s)
    good = sum(1 for st in state.values() if bytes(st["got"]) == st["out"])
    for s in state:
        s.close()
    print(f"peer: {good}/{nconns} connections echoed {nbytes} bytes intact")
    return 0 if good == nconns else 1


def stream(host, port, nbytes):
    s = socket.create_connection((host, port), timeout=60)
    sent_hash, got_hash = hashlib.sha256(), hashlib.sha256()
    block = pattern("stream", 1 << 20)
    got = [0]

    def reader():
        while got[0] < nbytes:
            data = s.recv(1 << 20)
            if not data:
                break
            got_hash.update(data)
            got[0] += len(data)

    t = threading.Thread(target=reader)
    t.start()
    start = time.monotonic()
    sent = 0
    while sent < nbytes:
        chunk = block[: min(len(block), nbytes - sent)]
        s.sendall(chunk)
        sent_hash.update(chunk)
        sent += len(chunk)
    t.join(timeout=600)
    secs = time.monotonic() - start
    s.close()
    ok = got[0] == nbytes and sent_hash.hexdigest() == got_hash.hexdigest()
    print(f"peer: stream {nbytes} bytes each way in {secs:.1f} s ({2 * nbytes / secs / 1e6:.0f} MB/s), "
          f"sha256 sent {sent_hash.hexdigest()[:16]} echoed {got_hash.hexdigest()[:16]}: {'match' if ok else 'MISMATCH'}")
    return 0 if ok else 1


def udp(host, port, count, size, flows=1, window=32, deadline_s=120):
    """flows sockets (source ports) take turns: with several stacks behind a
    hashing NIC, datagrams then land on queues of stacks that do not hold the
    server's socket."""
    import select
    socks = []
    for _ in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, port))
        s.setblocking(False)
        socks.append(s)
    outstanding, got, corrupt, sent = {}, 0, 0, 0
    deadline = time.monotonic() + deadline_s
    while (sent < count or outstanding) and time.monotonic() < deadline:
        while sent < count and len(outstanding) < window:
            payload = sent.to_bytes(4, "big") + pattern(sent, size - 4)
            socks[sent % flows].send(payload)
            outstanding[sent] = payload
            sent += 1
        ready, _, _ = select.select(socks, [], [], 0.2)
        if not ready:
            outstanding.clear()  # whatever is still out now counts as lost
            continue
        for s in ready:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            seq = int.from_bytes(data[:4], "big")
            if outstanding.pop(seq, None) == data:
                got += 1
            else:
                corrupt += 1
    lost = count - got - corrupt
    print(f"peer: udp {count} datagrams of {size} B from {flows} source ports: {got} echoed intact, "
          f"{lost} lost, {corrupt} corrupt")
    return 0 if corrupt == 0 and got > 0 else 1


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class Closer(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.close()


class DialBack(socketserver.BaseRequestHandler):
    """Reads a port number, connects back to the caller on it, says "hi", closes."""
    def handle(self):
        port = int(self.request.recv(16).decode().strip() or "0")
        time.sleep(0.3)  # let the caller block in accept() first
        with socket.create_connection((self.client_address[0], port), timeout=10) as s:
            s.sendall(b"hi")


def posix_peer():
    """Echo on 9000, close at once on 9002, dial back on 9003, nothing on 9001 (posix-check)."""
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    for port, handler in ((9002, Closer), (9003, DialBack)):
        srv = socketserver.ThreadingTCPServer(("0.0.0.0", port), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    return server(9000)


def sequential(host, port, count, who, deadline_s=600):
    """Each connection must connect within 3 s and echo within 3 s: the kernel
    retries an unanswered SYN after 1 s, so a lost handshake shows up."""
    start = time.monotonic()
    bad = []
    slow = 0
    used = {}  # local port -> (connection, when): a failure on a reused port says so
    reused = 0
    for i in range(count):
        if time.monotonic() - start > deadline_s:
            bad.append(f"deadline of {deadline_s} s reached after {i} connections")
            break
        msg = f"{i:08d}".encode() * 4
        t0 = time.monotonic()
        s = socket.socket()
        s.settimeout(3)
        try:
            s.connect((host, port))
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(len(msg) - len(got))
                if not chunk:
                    break
                got += chunk
            if got != msg:
                raise OSError(f"echo of {len(got)} bytes instead of {len(msg)}")
            if who == "server":
                if s.recv(1) != b"":
                    raise OSError("bytes after the echo instead of the server's FIN")
        except OSError as e:
            lport = s.getsockname()[1]
            before = used.get(lport)
            reuse = f", port last used by connection {before[0]} {t0 - before[1]:.1f} s before" if before else ""
            bad.append(f"connection {i} (local port {lport}{reuse}): {type(e).__name__}: {e}")
        finally:
            lp = s.getsockname()[1]
            reused += lp in used
            used[lp] = (i, t0)
            s.close()
        slow += time.monotonic() - t0 > 1.0
        if len(bad) >= 10:
            break
    took = time.monotonic() - start
    print(f"sequential: {count - len(bad)}/{count} connections ({who} closes first) in {took:.1f} s, "
          f"{slow} took over 1 s, {reused} on a local port used before")
    for b in bad:
        print("  " + b)
    if who == "server" and reused == 0:
        print("  no local port was used twice: the server's TIME-WAIT was never met (narrow the port range)")
        return 1
    return 0 if not bad and slow == 0 else 1


def churn(host, port, count, first_port, addrs, window=64, deadline_s=300):
    """Every connection from a 4-tuple of its own, so the server's TIME-WAIT
    pcbs pile up (none is reopened by a port that comes round again). Each must
    echo and see the server's FIN within 5 s."""
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    opened = done = 0
    bad = []

    def open_one(i):
        s = socket.socket()
        s.setblocking(False)
        local = (addrs[i % len(addrs)], first_port + i // len(addrs))
        try:
            s.bind(local)
            err = s.connect_ex((host, port))
            if err not in (0, errno.EINPROGRESS):
                raise OSError(err, os.strerror(err))
        except OSError as e:
            s.close()
            bad.append(f"connection {i} (local {local[0]}:{local[1]}): {e}")
            return
        sel.register(s, selectors.EVENT_WRITE,
                     {"i": i, "local": local, "msg": f"{i:08d}".encode(), "got": b"", "t0": time.monotonic()})

    def finish(s, st, err=None):
        nonlocal done
        sel.unregister(s)
        s.close()
        if err is None:
            done += 1
        else:
            bad.append(f"connection {st['i']} (local {st['local'][0]}:{st['local'][1]}): {err}")

    while (opened < count or sel.get_map()) and len(bad) < 10:
        if time.monotonic() - start > deadline_s:
            bad.append(f"deadline of {deadline_s} s reached after {done} connections")
            break
        while opened < count and len(sel.get_map()) < window:
            open_one(opened)
            opened += 1
        for key, _ in sel.select(timeout=0.5):
            s, st = key.fileobj, key.data
            try:
                if "sent" not in st:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        raise OSError(err, os.strerror(err))
                    s.send(st["msg"])
                    st["sent"] = True
                    sel.modify(s, selectors.EVENT_READ, st)
                    continue
                chunk = s.recv(64)
                if chunk:
                    st["got"] += chunk
                    continue
                if st["got"] != st["msg"]:
                    raise OSError(f"echo {st['got']!r} before the FIN, want {st['msg']!r}")
                finish(s, st)
            except OSError as e:
                finish(s, st, f"{type(e).__name__}: {e}")
        for key in list(sel.get_map().values()):
            if time.monotonic() - key.data["t0"] > 5:
                finish(key.fileobj, key.data, "no echo and FIN within 5 s")
    took = time.monotonic() - start
    print(f"churn: {done}/{count} connections (server closes first, each from its own address and port) "
          f"in {took:.1f} s, {done / took:.0f} a second")
    for b in bad:
        print("  " + b)
    return 0 if done == count else 1


def server(port):
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("0.0.0.0", port), Echo) as srv:
        print(f"peer: echo server on {port}", flush=True)
        srv.serve_forever()


def sink(port, delay_ms, pace_ms, deadline_s=20):
    with socket.create_server(("0.0.0.0", port)) as srv:
        srv.settimeout(deadline_s)
        print(f"peer: sink on {port}", flush=True)
        conn, _ = srv.accept()
        with conn:
            time.sleep(delay_ms / 1000)
            conn.settimeout(deadline_s)
            digest, total = hashlib.sha256(), 0
            while True:
                try:
                    chunk = conn.recv(1 << 16)
                except OSError as e:  # a reset: the sender's stack let the connection go
                    print(f"peer: sink: {e} after {total} bytes", flush=True)
                    return 1
                if not chunk:
                    break
                digest.update(chunk)
                total += len(chunk)
                time.sleep(pace_ms / 1000)
            print(f"peer: sink got {total} bytes sha256 {digest.hexdigest()}", flush=True)
    return 0


def held(host, port, seconds, request=None):
    with socket.create_connection((host, port), timeout=10) as s:
        if request is not None:
            s.sendall(request.encode() + b"\r\n")
            print(f"peer: held: {request} answered {s.recv(4096)!r}", flush=True)
        else:
            print("peer: held: connected", flush=True)
        s.settimeout(seconds)
        start = time.monotonic()
        try:
            extra = s.recv(4096)
        except OSError as e:
            print(f"peer: held: {e!r} after {time.monotonic() - start:.1f} s, no EOF", flush=True)
            return 1
        if extra:
            print(f"peer: held: unexpected {extra!r}", flush=True)
            return 1
        print(f"peer: held: EOF after {time.monotonic() - start:.1f} s", flush=True)
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "clients" and len(argv) == 6:
        return clients(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    if cmd == "stream" and len(argv) == 5:
        return stream(argv[2], int(argv[3]), int(argv[4]))
    if cmd == "udp" and len(argv) in (6, 7):
        return udp(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), int(argv[6]) if len(argv) == 7 else 1)
    if cmd == "sequential" and len(argv) == 6:
        return sequential(argv[2], int(argv[3]), int(argv[4]), argv[5])
    if cmd == "churn" and len(argv) >= 7:
        return churn(argv[2], int(argv[3]), int(argv[4]), int(argv[5]), argv[6:])
    if cmd == "posix-peer" and len(argv) == 2:
        return posix_peer()
    if cmd == "sink" and len(argv) == 5:
        return sink(int(argv[2]), int(argv[3]), int(argv[4]))
    if cmd == "held" and len(argv) in (5, 6):
        return held(argv[2], int(argv[3]), float(argv[4]), argv[5] if len(argv) == 6 else None)
    if cmd == "server" and len(argv) == 3:
        return server(int(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
