#!/usr/bin/env bash
# Who uses lstack under LD_PRELOAD, with Debian's curl as the client: the
# lstack namespace's kernel has no address, so a curl that reaches the peer's
# kernel web server went through lstack, and one the kernel serves fails to
# connect (curl exit 7) and starts no DPDK.
#   GAZELLE_BIND_PROCNAME=curl -> lstack;  =redis-server -> the kernel
#   GAZELLE_THREAD_NAME=curl   -> lstack;  =nosuch       -> the kernel
#   bash -c 'curl ...' with GAZELLE_BIND_PROCNAME=curl: bash passes through, its child curl uses lstack
#   exec: python3 fetches through lstack, then execs curl in the same process, which starts lstack afresh
#   procname.sh LIBLSTACK INDEX
set -u
. "$(dirname "$0")/lib.sh"
lib=$(realpath "$1") idx=$2
gz_require
command -v curl >/dev/null || gz_skip "curl missing (tools/bootstrap installs it)"
gz_setup procname "$idx"
dir=$(mktemp -d)
conf=$dir/lstack.conf
gz_conf "$conf" af_xdp 0
mkdir "$dir/www"
head -c 300000 /dev/urandom > "$dir/www/file.bin"
want=$(sha256sum < "$dir/www/file.bin" | cut -d' ' -f1)
gz_bg ip netns exec "$GZ_NS_P" python3 -m http.server 8080 --bind "$GZ_PEER" --directory "$dir/www" >"$dir/http.log" 2>&1
for _ in $(seq 50); do ip netns exec "$GZ_NS_P" curl -s -o /dev/null "http://$GZ_PEER:8080/" && break; sleep 0.2; done
url=http://$GZ_PEER:8080/file.bin
status=0

fetch() {  # EXPECT(lstack|kernel) LABEL ENV... -- CMD...
  local expect=$1 label=$2 envs=() out=$dir/out rc got
  shift 2
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -f "$out"
  timeout 60 ip netns exec "$GZ_NS_L" env LD_PRELOAD="$lib" LSTACK_CONF_PATH="$conf" GAZELLE_RUN_DIR="$dir" \
    "${envs[@]}" "$@" >"$dir/stdout" 2>"$dir/stderr"
  rc=$?
  got=$( [ -f "$out" ] && sha256sum < "$out" | cut -d' ' -f1 )
  if [ "$expect" = lstack ] && [ "$rc" = 0 ] && [ "$got" = "$want" ]; then
    echo "ok: $label: fetched through lstack, sha256 matches"
  elif [ "$expect" = kernel ] && [ "$rc" = 7 ] && ! grep -qE "EAL|lstack|xsk|TELEMETRY" "$dir/stderr"; then
    echo "ok: $label: the kernel served it (curl: could not connect: no route there), no DPDK started"
  else
    echo "FAIL: $label: expected $expect, got exit $rc, sha256 ${got:-none}"; sed 's/^/  /' "$dir/stderr" | tail -5
    status=1
  fi
}

curl_cmd=(curl -sS --max-time 20 -o "$dir/out" "$url")
fetch lstack "GAZELLE_BIND_PROCNAME=curl" GAZELLE_BIND_PROCNAME=curl -- "${curl_cmd[@]}"
fetch kernel "GAZELLE_BIND_PROCNAME=redis-server" GAZELLE_BIND_PROCNAME=redis-server -- "${curl_cmd[@]}"
fetch lstack "GAZELLE_THREAD_NAME=curl" GAZELLE_THREAD_NAME=curl -- "${curl_cmd[@]}"
fetch kernel "GAZELLE_THREAD_NAME=nosuch" GAZELLE_THREAD_NAME=nosuch -- "${curl_cmd[@]}"
fetch lstack "bash -c 'curl' with GAZELLE_BIND_PROCNAME=curl" GAZELLE_BIND_PROCNAME=curl -- \
  bash -c 'exec 3>&1; '"$(printf '%q ' "${curl_cmd[@]}")"
# exec: the python process uses lstack, then becomes curl, which must start lstack again cleanly.
fetch lstack "python3 fetches, then execs curl" -- python3 -c '
import os, socket, sys
host, url, out = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.create_connection((host, 8080), timeout=20)
s.sendall(b"GET /file.bin HTTP/1.0\r\n\r\n")
body = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    body += chunk
assert body.startswith(b"HTTP/1.0 200"), body[:40]
os.execvp("curl", ["curl", "-sS", "--max-time", "20", "-o", out, url])
' "$GZ_PEER" "$url" "$dir/out"
rm -rf "$dir"
exit $status
