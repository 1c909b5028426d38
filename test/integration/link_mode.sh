#!/usr/bin/env bash
# Link mode as a user sets it up: `meson install` (into a DESTDIR here) puts
# liblstack.so, liblstack.pc and /etc/gazelle/lstack.Makefile in place; a plain
# C program then builds both ways (pkg-config, and the Makefile's LSTACK_LIBS)
# and links liblstack.
#   link_mode.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --destdir "$dest" >/dev/null
pc=$(find "$dest" -name liblstack.pc | head -1)
mk="$dest/etc/gazelle/lstack.Makefile"
[ -n "$pc" ] && [ -f "$mk" ] || { echo "FAIL: liblstack.pc or lstack.Makefile not installed"; exit 1; }
cat > "$dest/app.c" <<'C'
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
/* Never run: linking is the point. socket() must resolve to liblstack's. */
int main(int argc, char **argv) {
  (void)argv;
  if (argc > 99) close(socket(AF_INET, SOCK_STREAM, 0));
  return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
cc -o "$dest/app-pc" "$dest/app.c" $(pkg-config --cflags --libs liblstack)
libdir=$(dirname "$(find "$dest" -name 'liblstack.so' | head -1)")
ldd_out=$(LD_LIBRARY_PATH=$libdir ldd "$dest/app-pc")
echo "$ldd_out" | grep -q "liblstack.so" || { echo "FAIL: pkg-config build does not link liblstack"; exit 1; }
echo "ok: pkg-config --libs liblstack -> $(pkg-config --libs liblstack)"
cat > "$dest/Makefile" <<MK
-include $mk
app-mk: app.c
	\$(CC) -o \$@ \$< \$(LSTACK_LIBS) -L$libdir
MK
make -s -C "$dest" app-mk
LD_LIBRARY_PATH=$libdir ldd "$dest/app-mk" | grep -q "liblstack.so" || { echo "FAIL: LSTACK_LIBS does not link liblstack"; exit 1; }
echo "ok: \$(LSTACK_LIBS) from lstack.Makefile = $(sed -n 's/^LSTACK_LIBS = //p' "$mk")"
