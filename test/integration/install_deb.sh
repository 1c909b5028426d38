#!/usr/bin/env bash
# The .deb as a user installs it. tools/package deb builds it (or $GZ_DEB names a
# prebuilt one); `apt-get install ./gazelle_*.deb gcc make libc6-dev pkg-config
# redis-server redis-tools` puts it into a fresh Debian 12 chroot (debootstrap
# --variant=minbase bookworm, from the host's Debian mirror), and there:
#   - gazellectl --version and ltran --version print the project's version, ltran
#     --help its usage, /etc/gazelle holds the three conffiles,
#     the unit waits for dev-hugepages.mount, the man pages are in place;
#   - a C server built by a Makefile that does `-include /etc/gazelle/lstack.Makefile`
#     and links $(LSTACK_LIBS) links the installed liblstack.so (ldd) and, with the
#     installed /etc/gazelle/lstack.conf edited for the veth, answers a client in the
#     peer namespace, then exits 0;
#   - Debian's redis-server with LD_PRELOAD of the installed liblstack.so (net_af_xdp
#     on the veth end in the lstack namespace) answers redis-cli PING/SET/GET from the
#     peer namespace over the kernel, the installed gazellectl shows it, and SIGTERM
#     ends it with status 0 (RDB saved, no crash report, nothing left behind);
#   - the installed ltran, its /etc/gazelle/ltran.conf edited for the veth, started as
#     its unit starts it; redis-server as user redis behind it (use_ltran = 1, no
#     privilege, --no-huge) answers redis-cli, the installed gazellectl lists it, and
#     SIGTERM ends both with status 0.
# Each command in the chroot runs in a mount namespace of its own (unshare -m: proc,
# sysfs, /dev and a private hugetlbfs mounted inside), in the test's network namespace
# where it must. The debootstrapped base system is cached as a tarball, and apt's
# downloads beside it, in /var/cache/gazelle-test/, so a rerun takes no debootstrap.
#   install_deb.sh SOURCE_DIR VERSION INDEX
# GZ_DEB=FILE: test that .deb instead of building one. GZ_DEBIAN_MIRROR=URL: the mirror
# (default: the host's apt source for bookworm). GZ_KEEP=1 keeps the chroot.
set -u
. "$(dirname "$0")/lib.sh"
src=$1 version=$2 idx=$3
start=$SECONDS
gz_require
gz_need debootstrap wget unshare chroot
cache=/var/cache/gazelle-test
suite=bookworm

# The Debian mirror this machine installs from (deb822 .sources first, then sources.list).
host_mirror() {
  local m
  m=$(awk 'BEGIN { RS = ""; FS = "\n" }
    { t = u = s = ""
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^Types:/) t = $i; else if ($i ~ /^URIs:/) u = $i; else if ($i ~ /^Suites:/) s = $i
      }
      if (t ~ /[ \t]deb([ \t]|$)/ && s ~ /[ \t]'"$suite"'([ \t]|$)/) { sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); print a[1]; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  [ -n "$m" ] || m=$(awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                          if ($(i + 1) == "'"$suite"'") { print $i; exit } }' /etc/apt/sources.list 2>/dev/null)
  echo "${m:-http://deb.debian.org/debian}"
}
mirror=${GZ_DEBIAN_MIRROR:-$(host_mirror)}
mirror=${mirror%/}
wget -q -T 20 -t 2 --spider "$mirror/dists/$suite/Release" ||
  gz_skip "the Debian mirror $mirror ($([ -n "${GZ_DEBIAN_MIRROR:-}" ] && echo GZ_DEBIAN_MIRROR || echo "this machine's apt sources")) is unreachable: cannot debootstrap or apt-get install"
echo "mirror: $mirror"

# The namespaces first: from here on the trap cleans up whatever exists.
gz_setup "install-deb" "$idx"
root=
# Mounts exist only in the chroot commands' own mount namespaces and end with them;
# the chroot is removed only when nothing is mounted under it.
chroot_cleanup() {
  [ -n "$root" ] && [ -d "$root" ] || return 0
  if grep -q " $root/" /proc/self/mountinfo; then
    echo "kept $root: something is still mounted under it" >&2
  elif [ "${GZ_KEEP:-0}" = 1 ]; then
    echo "kept: $root" >&2
  else
    rm -rf --one-file-system "$root"
  fi
}
trap 'gz_teardown; chroot_cleanup' EXIT
gz_tmpdir dir
log=$dir/steps.log
: >"$log"
# try TITLE CMD...: runs CMD with its output in $log; on failure fails the test with
# the end of that output and returns 1. step TITLE CMD...: the same, but stops the test
# (what follows needs it).
try() {
  local title=$1 t0=$SECONDS from
  shift
  echo "== $title" >>"$log"
  from=$(($(wc -l <"$log") + 1))
  if ! "$@" >>"$log" 2>&1; then
    gz_fail "$title failed:"$'\n'"$(tail -n +"$from" "$log" | tail -n 12)"
    return 1
  fi
  echo "  $title: $((SECONDS - t0)) s"
}
step() { try "$@" || gz_finish; }

# --- the package ------------------------------------------------------------------
if [ -n "${GZ_DEB:-}" ]; then
  deb=$(realpath "$GZ_DEB")
  [ -f "$deb" ] || { gz_fail "GZ_DEB=$GZ_DEB: no such file"; gz_finish; }
  echo "package: $deb (GZ_DEB)"
else
  step "tools/package deb" "$src/tools/package" deb
  deb=$(tail -n 1 "$log")
  [ -f "$deb" ] || { gz_fail "tools/package deb printed no package path: $(tail -n 3 "$log")"; gz_finish; }
  echo "package: $deb"
fi
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
  gz_fail "$(basename "$deb") is version $(dpkg-deb -f "$deb" Version), the project $version"

# --- a fresh Debian 12 ------------------------------------------------------------
# The base system once per mirror, as a tarball: extracting it is a fresh debootstrap
# (made again when a month old, so it stays close to what debootstrap gives today).
mkdir -p "$cache/apt-archives/partial"
base=$cache/$suite-minbase-$(printf %s "$mirror" | sha256sum | cut -c1-12).tar
find "$base" -mtime +30 -delete 2>/dev/null
make_base() {
  local tmp
  tmp=$(mktemp -d /var/tmp/gzt-debootstrap.XXXXXX)
  debootstrap --variant=minbase --cache-dir="$cache/apt-archives" "$suite" "$tmp/root" "$mirror" || { rm -rf --one-file-system "$tmp"; return 1; }
  rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/archives/"*.deb
  tar -C "$tmp/root" --numeric-owner -cpf "$base.new" . && mv "$base.new" "$base"
  local rc=$?
  rm -rf --one-file-system "$tmp"
  return $rc
}
if [ ! -s "$base" ]; then
  exec 9>"$cache/lock"
  flock 9
  [ -s "$base" ] || step "debootstrap --variant=minbase $suite (cached in $base)" make_base
  exec 9>&-
fi
root=$(mktemp -d /var/tmp/gzt-chroot.XXXXXX)
chmod 755 "$root"
step "extract the base system" tar -C "$root" --numeric-owner -xpf "$base"
# A chroot's package scripts must not start services (redis-server) on this machine.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

# crcmd NETNS CMD...: CR = the command that runs CMD in the chroot with a clean
# environment, in a new mount namespace (proc, the sysfs of NETNS, /dev, a private
# hugetlbfs, apt's cache) and in network namespace NETNS ("host": this machine's).
# Each part execs the next: the pid of "${CR[@]} &" is CMD's. cr NETNS CMD... runs it.
cr_script='r=$1 cache=$2
shift 2
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount --rbind /dev "$r/dev"
mount -t hugetlbfs nodev "$r/dev/hugepages"
mount --bind "$cache" "$r/var/cache/apt/archives"
exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"'
crcmd() {
  local ns=$1
  shift
  CR=()
  [ "$ns" = host ] || CR=(ip netns exec "$ns")
  CR+=(unshare -m --propagation private /bin/sh -ec "$cr_script" sh "$root" "$cache/apt-archives" "$@")
}
cr() {
  crcmd "$@"
  "${CR[@]}"
}

cp "$deb" "$root/tmp/"
debname=$(basename "$deb")
step "apt-get update (in the chroot)" cr host apt-get update -q
step "apt-get install ./$debname gcc make libc6-dev pkg-config redis-server redis-tools (in the chroot)" \
  cr host sh -c "cd /tmp && apt-get install -y -q -o Dpkg::Use-Pty=0 ./$debname gcc make libc6-dev pkg-config redis-server redis-tools"
cr host apt-get autoclean -q >/dev/null 2>&1  # the cache keeps only what the mirror still has
cr host dpkg-query -W -f='${Status} ${Version}\n' gazelle >"$dir/status" 2>&1
[ "$(cat "$dir/status")" = "install ok installed $version" ] || gz_fail "dpkg-query gazelle: $(cat "$dir/status")"

# --- what was installed -------------------------------------------------------------
out=$(cr host gazellectl --version 2>&1)
[ "$out" = "gazellectl $version" ] && echo "  gazellectl --version: $out" || gz_fail "gazellectl --version printed: ${out:-nothing}"
out=$(cr host ltran --version 2>&1)
[ "$out" = "ltran $version" ] && echo "  ltran --version: $out" || gz_fail "ltran --version printed: ${out:-nothing}"
out=$(cr host ltran --help 2>&1)
[ "$out" = "usage: ltran [--config-file FILE]   (default /etc/gazelle/ltran.conf)" ] || gz_fail "ltran --help printed: ${out:-nothing}"
conffiles=$(cr host dpkg-query -W -f='${Conffiles}\n' gazelle | awk 'NF {print $1}' | sort | tr '\n' ' ')
[ "$conffiles" = "/etc/gazelle/lstack.Makefile /etc/gazelle/lstack.conf /etc/gazelle/ltran.conf " ] ||
  gz_fail "the package's conffiles are '$conffiles', want /etc/gazelle's lstack.Makefile, lstack.conf, ltran.conf"
grep -qx 'Requires=dev-hugepages.mount' "$root/lib/systemd/system/ltran.service" &&
  grep -qx 'ExecStart=/usr/bin/ltran --config-file /etc/gazelle/ltran.conf' "$root/lib/systemd/system/ltran.service" ||
  gz_fail "/lib/systemd/system/ltran.service: no Requires=dev-hugepages.mount or ExecStart=/usr/bin/ltran"
for m in man8/gazellectl.8 man8/ltran.8 man5/lstack.conf.5 man5/ltran.conf.5; do
  zcat "$root/usr/share/man/$m.gz" 2>/dev/null | grep -q '^\.TH ' || gz_fail "man page /usr/share/man/$m.gz missing or not roff"
done
zcat "$root/usr/share/man/man8/gazellectl.8.gz" | grep -q 'lstack capture' || gz_fail "gazellectl(8) does not document lstack capture"
out=$(cr host pkg-config --libs liblstack 2>&1)
out=${out% }  # pkg-config ends its line with a space
[ "$out" = "-llstack" ] || gz_fail "pkg-config --libs liblstack printed: ${out:-nothing}"

# --- link mode: a program built with lstack.Makefile -------------------------------------
mkdir -p "$root/root/app"
cat >"$root/root/app/hello.c" <<'C'
/* A plain POSIX TCP server: one connection, one line back. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7000, one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
    perror("socket/bind/listen");
    return 1;
  }
  printf("listening on port %d\n", port);
  fflush(stdout);
  int c = accept(s, NULL, NULL);
  char in[128], out[256];
  ssize_t n = c < 0 ? -1 : read(c, in, sizeof in - 1);
  if (n <= 0) {
    perror("accept/read");
    return 1;
  }
  in[n] = '\0';
  int m = snprintf(out, sizeof out, "hello from a program linked with $(LSTACK_LIBS): %s", in);
  if (write(c, out, (size_t)m) != m) {
    perror("write");
    return 1;
  }
  close(c);
  close(s);
  return 0;
}
C
printf '%s\n' '-include /etc/gazelle/lstack.Makefile' 'hello: hello.c' \
  '	$(CC) -O2 -Wall -o $@ $< $(LSTACK_LIBS)' >"$root/root/app/Makefile"
built=0
if try "make (in the chroot: -include /etc/gazelle/lstack.Makefile, \$(LSTACK_LIBS))" cr host make -C /root/app hello; then
  cr host ldd /root/app/hello >"$dir/ldd" 2>&1
  grep -q 'liblstack.so => /usr/lib/x86_64-linux-gnu/liblstack.so' "$dir/ldd" && built=1 ||
    gz_fail "the program built with lstack.Makefile does not link the installed liblstack.so: $(tr '\n' ' ' <"$dir/ldd")"
fi

# The installed lstack.conf, edited as a user does: net_af_xdp on the veth end in the
# lstack namespace; dpdk_args as Gazelle documents them (hugetlbfs files, --file-prefix).
GZ_DPDK_STYLE=gazelle gz_conf "$root/etc/gazelle/lstack.conf" af_xdp 0 >/dev/null
gz_leftovers_mark
: >"$dir/hello.log"
if [ "$built" = 1 ]; then
  crcmd "$GZ_NS_L" /root/app/hello 7000
  gz_bg "${CR[@]}" >"$dir/hello.log" 2>&1
  hello=${GZ_PIDS[-1]}
  if gz_wait_server "$hello" "$dir/hello.log" "listening on port 7000" 60; then
    reply=$(timeout 30 ip netns exec "$GZ_NS_P" bash -c "exec 3<>/dev/tcp/$GZ_HOST/7000 && echo ping >&3 && cat <&3" 2>&1)
    [ "$reply" = 'hello from a program linked with $(LSTACK_LIBS): ping' ] &&
      echo "  the linked program answered from $GZ_HOST: $reply" ||
      gz_fail "the program linked with \$(LSTACK_LIBS) answered: ${reply:-nothing}"
    gz_wait_exit "$hello" 0 "the program linked with \$(LSTACK_LIBS)" "$dir/hello.log"
  else
    gz_fail "the program linked with \$(LSTACK_LIBS) did not start: $(tail -n 5 "$dir/hello.log")"
  fi
fi
gz_leftovers_check "$root/run/gazelle"

# --- redis-server on the installed liblstack.so ---------------------------------------
rcli() {  # redis-cli from the chroot, in the peer namespace
  crcmd "$GZ_NS_P" redis-cli -h "$GZ_HOST" "$@"
  timeout 20 "${CR[@]}" 2>&1
}
mkdir -p "$root/root/redis"
gz_leftovers_mark
crcmd "$GZ_NS_L" env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/liblstack.so GAZELLE_BIND_PROCNAME=redis-server \
  redis-server --port 6379 --bind 0.0.0.0 --dir /root/redis --save "3600 1" --appendonly no \
  --protected-mode no --daemonize no
gz_bg "${CR[@]}" >"$dir/redis-server.log" 2>&1
server=${GZ_PIDS[-1]}
if gz_wait_server "$server" "$dir/redis-server.log" "Ready to accept connections" 60; then
  fails=${#GZ_FAILS[@]}
  ! grep -q 'cannot be preloaded' "$dir/redis-server.log" ||
    gz_fail "redis-server runs without lstack: $(grep -m1 'cannot be preloaded' "$dir/redis-server.log")"
  reply=$(rcli ping)
  [ "$reply" = PONG ] || gz_fail "redis-cli -h $GZ_HOST ping from the peer namespace answered: ${reply:-nothing}"
  reply=$(rcli set installed "gazelle $version")
  [ "$reply" = OK ] || gz_fail "redis-cli set answered: ${reply:-nothing}"
  reply=$(rcli get installed)
  [ "$reply" = "gazelle $version" ] || gz_fail "redis-cli get answered: ${reply:-nothing}"
  [ ${#GZ_FAILS[@]} = "$fails" ] && echo "  redis-server on the installed liblstack.so answered PING, SET, GET from $GZ_PEER"
  # The installed gazellectl reads the installed liblstack's control socket.
  crcmd host gazellectl lstack show "$server" -c
  if ! timeout 30 "${CR[@]}" >"$dir/ctl.txt" 2>&1; then
    gz_fail "gazellectl lstack show $server -c: $(head -n 3 "$dir/ctl.txt")"
  elif ! grep -Eq '^tcp +LISTEN .* 0\.0\.0\.0:6379 ' "$dir/ctl.txt"; then
    gz_fail "gazellectl lstack show $server -c does not list redis' listener: $(head -n 5 "$dir/ctl.txt")"
  else
    echo "  the installed gazellectl lists redis' listener: $(grep -E '^tcp +LISTEN' "$dir/ctl.txt" | tr -s ' ')"
  fi
  kill -0 "$server" 2>/dev/null || gz_fail "redis-server exited during the test"
  # As systemd stops it: SIGTERM; redis writes its RDB and exits 0.
  gz_stop_app "$server" 0 redis-server "$dir/redis-server.log"
  grep -q 'DB saved on disk' "$dir/redis-server.log" && [ -s "$root/root/redis/dump.rdb" ] ||
    gz_fail "redis-server did not save its RDB on SIGTERM"
else
  gz_fail "redis-server on the installed liblstack.so did not come up (exited, or not ready in 60 s)"
fi
gz_leftovers_check "$root/run/gazelle"
[ ! -e "$root/run/dpdk/$GZ_FILE_PREFIX" ] || gz_fail "DPDK runtime directory left in the chroot: /run/dpdk/$GZ_FILE_PREFIX"

# --- ltran from the package, redis-server behind it as user redis ----------------------
# The installed /etc/gazelle/ltran.conf edited as a user does: the EAL arguments for the
# veth end (net_af_packet, hugepage files under a file prefix), the subnet, the bond's MAC,
# and who may attach. Started as its systemd unit starts it; redis-server runs as its own
# unprivileged user behind it (use_ltran = 1, --no-huge), answers, and both stop on SIGTERM.
gz_ltran_conf "$dir/ltran.ref" '0, "redis"'
for key in forward_kit_args dispatch_subnet bond_macs allow_uids; do
  # --socket-mem 256: the sample's dispatch_max_clients (30) with 8 KiB frames: ltran's pool alone is about 129 MiB
  line=$(grep "^$key = " "$dir/ltran.ref" | sed 's/--socket-mem 128 /--socket-mem 256 /')
  sed -i "s|^$key = .*|$line|" "$root/etc/gazelle/ltran.conf"
  grep -qxF "$line" "$root/etc/gazelle/ltran.conf" || gz_fail "/etc/gazelle/ltran.conf has no line '$key = ...' to edit"
done
gz_ltran_lstack_conf "$root/etc/gazelle/lstack-ltran.conf" "$GZ_HOST"
crcmd "$GZ_NS_L" /usr/bin/ltran --config-file /etc/gazelle/ltran.conf
gz_bg "${CR[@]}" >"$dir/ltran.log" 2>&1
ltran=${GZ_PIDS[-1]}
if gz_wait_server "$ltran" "$dir/ltran.log" "ltran: serving" 60; then
  crcmd "$GZ_NS_L" setpriv --reuid=redis --regid=redis --init-groups env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/liblstack.so \
    LSTACK_CONF_PATH=/etc/gazelle/lstack-ltran.conf GAZELLE_BIND_PROCNAME=redis-server \
    redis-server --port 6379 --bind 0.0.0.0 --dir /var/lib/redis --save '' --appendonly no --protected-mode no --daemonize no
  gz_bg "${CR[@]}" >"$dir/redis-ltran.log" 2>&1
  server=${GZ_PIDS[-1]}
  if gz_wait_server "$server" "$dir/redis-ltran.log" "Ready to accept connections" 60; then
    fails=${#GZ_FAILS[@]}
    pong() { [ "$(rcli ping)" = PONG ]; }
    gz_retry 20 pong || gz_fail "redis-server (user redis, behind the installed ltran) answered ping: $(rcli ping)"
    reply=$(rcli set behind-ltran yes)
    [ "$reply" = OK ] || gz_fail "redis-server behind ltran answered set: ${reply:-nothing}"
    [ ${#GZ_FAILS[@]} = "$fails" ] && echo "  redis-server as user redis behind the installed ltran answered PING, SET"
    crcmd host gazellectl ltran show -i
    timeout 30 "${CR[@]}" >"$dir/ltran-show.txt" 2>&1
    grep -q " redis-server .* tcp:6379" "$dir/ltran-show.txt" &&
      echo "  the installed gazellectl lists it: $(grep -m1 ' redis-server ' "$dir/ltran-show.txt" | tr -s ' ')" ||
      gz_fail "gazellectl ltran show -i does not list redis-server with tcp:6379: $(head -n 5 "$dir/ltran-show.txt")"
    gz_stop_app "$server" 0 "redis-server behind ltran" "$dir/redis-ltran.log"
  else
    gz_fail "redis-server behind the installed ltran did not come up: $(tail -n 5 "$dir/redis-ltran.log")"
  fi
  gz_stop_app "$ltran" 0 "the installed ltran" "$dir/ltran.log"
else
  gz_fail "the installed ltran did not come up: $(tail -n 5 "$dir/ltran.log")"
fi

echo "install-deb: $((SECONDS - start)) s"
[ "$GZ_STATUS" = 0 ] && echo "install-deb: all checks passed"
gz_finish "$log" "$dir/hello.log" "$dir/redis-server.log" "$dir/ltran.log" "$dir/redis-ltran.log"
