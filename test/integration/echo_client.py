# Echo client for the ltran bond tests: sends TOTAL bytes (a random MiB, each
# with its number in front) to HOST port 7 and reads the echo back; prints the
# sha256 of both ways and the longest pause in what came back; PROGRESS holds
# the bytes received so far. Exit status 0: all came back, the same.
#   echo_client.py HOST TOTAL PROGRESS
import hashlib, os, socket, sys, threading, time
host, total, progress = sys.argv[1], int(sys.argv[2]), sys.argv[3]
block = os.urandom(1 << 20)
s = socket.create_connection((host, 7), timeout=10)
s.settimeout(30)  # a stall of 30 s fails
sent = hashlib.sha256()
error = []
def send():
    try:
        left, i = total, 0
        while left:
            chunk = (i.to_bytes(8, "little") + block[8:])[:left]
            sent.update(chunk)
            s.sendall(chunk)
            left -= len(chunk)
            i += 1
    except OSError as e:
        error.append("send: %r" % e)
t = threading.Thread(target=send)
t.start()
got, h, last, stall, mark = 0, hashlib.sha256(), time.monotonic(), 0.0, 0
try:
    while got < total:
        data = s.recv(1 << 20)
        if not data:
            break
        now = time.monotonic()
        stall, last = max(stall, now - last), now
        h.update(data)
        got += len(data)
        if got - mark >= 4 << 20:
            mark = got
            with open(progress + ".tmp", "w") as f:
                f.write(str(got))
            os.replace(progress + ".tmp", progress)
except OSError as e:
    error.append("recv: %r" % e)
t.join()
print("sent %d sha256 %s" % (total, sent.hexdigest()))
print("got %d sha256 %s longest_stall_ms %d" % (got, h.hexdigest(), stall * 1000))
for e in error:
    print(e)
sys.exit(0 if not error and got == total and h.digest() == sent.digest() else 1)
