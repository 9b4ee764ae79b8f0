#!/usr/bin/env bash
# Installs a built porta into a temporary prefix and builds a consumer program against it twice:
# through CMake's find_package(porta) and through pkg-config; checks that pkg-config --cflags hands
# out nothing private and that the installed porta program runs. Usage: check_install.sh BUILD_DIR
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libporta.so' | head -1)")
cmake -S "$here" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/b" >/dev/null
out1=$(LD_LIBRARY_PATH="$libdir" PORTA_BACKEND=cpu "$tmp/b/app")
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc "$here/app.c" $(pkg-config --cflags --libs porta) -o "$tmp/app2"
out2=$(LD_LIBRARY_PATH="$libdir" PORTA_BACKEND=cpu "$tmp/app2")
echo "find_package: $out1"
echo "pkg-config:   $out2"
[ "$out1" = "7 10 15 22" ] && [ "$out2" = "7 10 15 22" ]
# the public headers need nothing of porta's dependencies: no private include folder or define
cflags=$(pkg-config --cflags porta)
echo "pkg-config --cflags: $cflags"
case "$cflags" in *cjson* | *utf8proc* | *openblas* | *UTF8PROC* | *-D*) echo "private flags leak"; exit 1 ;; esac
# the installed program finds the installed library by itself (RUNPATH \$ORIGIN/../lib)
[ ! -x "$tmp/prefix/bin/porta" ] || "$tmp/prefix/bin/porta" --version | head -1
