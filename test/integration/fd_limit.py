#!/usr/bin/env python3
"""A server at its fd limit (issue 8, item 10): accept() fails with EMFILE and
the connection stays queued, as on Linux, instead of being reset.

  fd_limit.py server          (under test) listens on 7 with room for 4 more fds;
                              on EMFILE it closes every connection it holds (each
                              peer sees a clean EOF) and accepts again; echoes the rest;
                              says at the end how many it accepted (each one, once queued)
  fd_limit.py client HOST N   N connections, then each must show either a clean
                              EOF or an echo: never a reset
"""
import errno
import os
import resource
import select
import signal
import socket
import sys
import time


def server():
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    lsn = socket.socket()
    lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsn.bind(("0.0.0.0", 7))
    lsn.listen(64)
    select.select([lsn], [], [], 0)  # up and running first (under lstack: DPDK started), then the limit
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 4, hard))
    held, emfile, accepted = [], 0, 0
    print("ready", flush=True)
    while not stop:
        try:
            ready, _, _ = select.select([lsn] + held, [], [], 0.5)
        except InterruptedError:
            continue
        for s in ready:
            if s is lsn:
                try:
                    c, _ = lsn.accept()
                    held.append(c)
                    accepted += 1
                except OSError as e:
                    if e.errno not in (errno.EMFILE, errno.ENFILE):
                        raise
                    emfile += 1
                    for c in held:
                        c.close()
                    held = []
                continue
            data = s.recv(4096)
            if data:
                s.sendall(data)
            else:
                held.remove(s)
                s.close()
    print(f"stopped: accept() said EMFILE {emfile} times, accepted {accepted} connections", flush=True)
    return 0


def client(host, n):
    conns = [socket.create_connection((host, 7), timeout=3) for _ in range(n)]
    time.sleep(1.5)  # the server works through its queue meanwhile
    eof = echoed = reset = 0
    for c in conns:
        try:
            c.settimeout(0.2)
            try:
                got = c.recv(16)
            except socket.timeout:
                got = None
            if got == b"":
                eof += 1
                continue
            c.settimeout(3)
            c.sendall(b"ping")
            echoed += c.recv(16) == b"ping"
        except ConnectionResetError:
            reset += 1
        except OSError as e:
            print(f"client: {type(e).__name__}: {e}")
            reset += 1
    print(f"client: {n} connections: {eof} closed cleanly by the server, {echoed} echoed, {reset} reset or failed",
          flush=True)
    return 0 if reset == 0 and eof + echoed == n and eof > 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "server":
        sys.exit(server())
    if len(sys.argv) == 4 and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], int(sys.argv[3])))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
