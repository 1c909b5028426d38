#!/usr/bin/env python3
"""Slow readers (issue 8, item 5), both halves of the test.

  slow_readers.py server            under liblstack: port 7100 accepts and never
                                    reads; port 7101 echoes. Runs until SIGTERM.
  slow_readers.py client HOST N     N connections to 7100 push all they can for
                                    3 s; then 200 round trips of 1000 bytes on
                                    7101 must each come back within 3 s.
"""
import selectors
import signal
import socket
import sys
import time


def listener(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(128)
    s.setblocking(False)
    return s


def server():
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    hold, echo = listener(7100), listener(7101)
    sel.register(hold, selectors.EVENT_READ, "hold")
    sel.register(echo, selectors.EVENT_READ, "echo")
    held = []
    print("ready", flush=True)
    while not stop:
        for key, _ in sel.select(0.5):
            if key.data == "hold":
                c, _ = hold.accept()
                held.append(c)  # never read
            elif key.data == "echo":
                c, _ = echo.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ, "conn")
            else:
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    continue
                key.fileobj.setblocking(True)
                key.fileobj.sendall(data)
                key.fileobj.setblocking(False)
    print(f"stopped, {len(held)} connections held unread", flush=True)
    return 0


def client(host, n):
    pushers = []
    for _ in range(n):
        s = socket.create_connection((host, 7100), timeout=3)
        s.setblocking(False)
        pushers.append(s)
    chunk = b"x" * 65536
    pushed = 0
    end = time.monotonic() + 3
    while time.monotonic() < end:
        progress = False
        for s in pushers:
            try:
                pushed += s.send(chunk)
                progress = True
            except BlockingIOError:
                pass
        if not progress:
            time.sleep(0.05)
    print(f"client: {n} unread connections took {pushed / 1e6:.1f} MB before their windows closed", flush=True)
    e = socket.create_connection((host, 7101), timeout=3)
    bad = 0
    for i in range(200):
        msg = (f"{i:06d}" * 200)[:1000].encode()
        try:
            e.sendall(msg)
            got = b""
            while len(got) < len(msg):
                part = e.recv(len(msg) - len(got))
                if not part:
                    raise OSError("closed")
                got += part
            bad += got != msg
        except OSError as err:
            print(f"client: round trip {i} failed: {err}", flush=True)
            bad += 1
            break
    print(f"client: {200 - bad}/200 round trips on the echo connection beside them", flush=True)
    for s in pushers:
        s.close()
    e.close()
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "server":
        sys.exit(server())
    if len(sys.argv) == 4 and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], int(sys.argv[3])))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
