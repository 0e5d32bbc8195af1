#!/usr/bin/env bash
# Builds the Debian package: a build without tests or fault injection, with
# Debian's compiler and linker flags (dpkg-buildflags, hardening=+all), in
# BUILD_DIR (default build-deb/), then `cpack -G DEB` there
# (packaging/cpack.cmake). Prints the path of the .deb on its last line.
# Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build-deb}
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cxxflags="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
cmake -S . -B "$dir" -G Ninja -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=None -DNETLAB_BUILD_TESTS=OFF -DNETLAB_TESTING=OFF \
    "-DCMAKE_CXX_FLAGS=$cxxflags" "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" "$@" >/dev/null
cmake --build "$dir"
rm -f "$dir"/netlab_*.deb
(cd "$dir" && cpack -G DEB >/dev/null)
deb=$(ls "$dir"/netlab_*.deb)
echo "$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")"
