#!/usr/bin/env bash
# The Debian package in the suite (tests/package/CMakeLists.txt). One step per ctest test:
#   package_test.sh build BUILD_DIR     cpack builds BUILD_DIR/dagminer_VERSION_amd64.deb; lintian: no error
#   package_test.sh contents BUILD_DIR  dpkg-deb -c and -I: files, modes, conffiles, dependencies, scripts
#   package_test.sh unit BUILD_DIR      the unit, unpacked into a scratch root, passes systemd-analyze verify
# `build` writes the package's path to BUILD_DIR/package-test/deb for the others (and
# tests/package/systemd_test.sh). Exit 77: skipped, saying why.
set -euo pipefail
step=$1
build=$(cd "$2" && pwd)
work=$build/package-test
mkdir -p "$work"

failures=0
check() {  # check DESCRIPTION COMMAND...: runs the command, reports and counts a failure
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
skip() {
  echo "skipped: $*"
  exit 77
}
has_line() { grep -qxF -- "$1" <<<"$2"; }
depends_on() { tr ',' '\n' <<<"$2" | sed 's/^ *//' | cut -d' ' -f1 | grep -qxF -- "$1"; }
matches() { grep -qE -- "$1" <<<"$2"; }

case $step in
  build)
    command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps is missing (Debian: apt-get install dpkg-dev)"
    rm -f "$work/deb"
    prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
    [ "$prefix" = /usr ] || { echo "the build in $build installs under '$prefix': a Debian package needs /usr (configure with -DCMAKE_INSTALL_PREFIX=/usr, as scripts/setup and scripts/package do)" >&2; exit 1; }
    out=$(cd "$build" && cpack -G DEB 2>&1) || { echo "$out" >&2; exit 1; }
    echo "$out"
    deb=$(sed -n 's/^CPack: - package: \(.*\) generated\.$/\1/p' <<<"$out")
    check "cpack names the package dagminer_VERSION_amd64.deb in the build directory" \
      matches "^$build/dagminer_[0-9][^_/]*_amd64\.deb\$" "$deb"
    [ -f "$deb" ] || exit 1
    echo "$deb" >"$work/deb"
    if command -v lintian >/dev/null; then
      check "lintian reports no error" lintian --fail-on error "$deb"
    else
      echo "lintian is not installed (Debian: apt-get install lintian): not run"
    fi
    ;;

  contents)
    [ -f "$work/deb" ] || { echo "no package: the package_build test failed" >&2; exit 1; }
    deb=$(cat "$work/deb")
    listing=$(dpkg-deb -c "$deb")
    echo "$listing"
    # Mode, owner and path; dates and sizes vary.
    entries=$(awk '{print $1, $2, $6}' <<<"$listing")
    check "the binary, root-owned and executable" has_line "-rwxr-xr-x root/root ./usr/bin/dagminer" "$entries"
    check "the unit in /usr/lib/systemd/system" has_line "-rw-r--r-- root/root ./usr/lib/systemd/system/dagminer.service" "$entries"
    check "the configuration, readable by owner and group only" has_line "-rw-r----- root/root ./etc/dagminer/dagminer.yaml" "$entries"
    check "the user, through sysusers.d" has_line "-rw-r--r-- root/root ./usr/lib/sysusers.d/dagminer.conf" "$entries"
    check "copyright and changelog" has_line "-rw-r--r-- root/root ./usr/share/doc/dagminer/changelog.gz" "$entries"
    check "nothing but these paths" test -z "$(awk '$1 !~ /^d/ {print $3}' <<<"$entries" | grep -vxE '\./(usr/bin/dagminer|usr/lib/systemd/system/dagminer\.service|etc/dagminer/dagminer\.yaml|usr/lib/sysusers\.d/dagminer\.conf|usr/share/doc/dagminer/(changelog\.gz|copyright)|usr/share/lintian/overrides/dagminer)')"
    check "the binary is stripped" test -z "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/dagminer | readelf -S - 2>/dev/null | grep -F .symtab || true)"

    info=$(dpkg-deb -I "$deb")
    echo "$info"
    check "control, conffiles and the maintainer scripts are there" \
      matches "conffiles.*control.*md5sums.*postinst.*postrm.*prerm" "$(tr '\n' ' ' <<<"$info")"
    check "the configuration is a conffile" test "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" = /etc/dagminer/dagminer.yaml
    depends=$(dpkg-deb -f "$deb" Depends)
    for lib in libboost-json1.81.0 libspdlog1.10-fmt9 libyaml-cpp0.7 libssl3 libsystemd0 libstdc++6 libc6 systemd; do
      check "Depends names $lib (dpkg-shlibdeps)" depends_on "$lib" "$depends"
    done
    check "Version is the binary's" test "$(dpkg-deb -f "$deb" Version)" = \
      "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/dagminer/changelog.gz | gzip -dc | sed -n '1s/^dagminer (\(.*\)) .*/\1/p')"
    check "Architecture amd64" test "$(dpkg-deb -f "$deb" Architecture)" = amd64
    postinst=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst)
    check "postinst creates the user" matches "^ *systemd-sysusers dagminer\.conf" "$postinst"
    check "postinst gives the configuration to group dagminer, mode 0640" \
      matches "dpkg-statoverride --update --add root dagminer 0640 /etc/dagminer/dagminer.yaml" "$postinst"
    check "postinst enables and starts nothing" test -z "$(grep -v '^#' <<<"$postinst" | grep -wE 'enable|start' || true)"
    postrm=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postrm)
    check "postrm removes state on purge only" matches '^if \[ "\$1" = purge \]; then' "$(grep -B1 'rm -rf' <<<"$postrm")"
    ;;

  unit)
    [ -f "$work/deb" ] || { echo "no package: the package_build test failed" >&2; exit 1; }
    command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing (Debian: apt-get install systemd)"
    root=$work/unpacked
    rm -rf "$root"
    dpkg-deb -x "$(cat "$work/deb")" "$root"
    unit=$root/usr/lib/systemd/system/dagminer.service
    # The unit names the installed paths: point them into the scratch root to verify it here.
    sed -e "s|/usr/bin/dagminer|$root/usr/bin/dagminer|g" -e "s|/etc/dagminer/|$root/etc/dagminer/|g" "$unit" >"$work/dagminer.service"
    check "systemd-analyze verify passes on the unpacked unit" systemd-analyze verify "$work/dagminer.service"
    check "the unit runs the packaged binary and configuration" \
      has_line "ExecStart=/usr/bin/dagminer run --config /etc/dagminer/dagminer.yaml" "$(cat "$unit")"
    # /bin/kill comes with procps, which minimal systems and containers lack; systemctl is systemd's.
    check "ExecReload has systemd send the signal" \
      test "$(sed -n 's/^ExecReload=+\{0,1\}\([^ ]*\) .*/\1/p' "$unit")" = systemctl
    ;;

  *)
    echo "usage: $0 build|contents|unit BUILD_DIR" >&2
    exit 2
    ;;
esac
echo "$failures failed"
[ "$failures" -eq 0 ]
