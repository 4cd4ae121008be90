#!/usr/bin/env bash
# The package under a real systemd (ctest label systemd): a minimal Debian 12 booted with
# systemd-nspawn -b, the package installed there with apt, then the service driven through
# systemctl. Needs root, debootstrap, systemd-nspawn and the Debian archive; exit 77 (skipped)
# without them.
#   systemd_test.sh BUILD_DIR   (after package_test.sh build, which leaves the package's path)
# Cached under BUILD_DIR/systemd-test: the debootstrapped root (base/) and the packages apt
# and debootstrap fetched (debs/); each run boots a fresh copy of base/.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$build/systemd-test
mirror=${DAGMINER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
machine=dagminer-test-$$

skip() {
  echo "skipped: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn)"
for tool in debootstrap systemd-nspawn nsenter; do
  command -v "$tool" >/dev/null || skip "$tool is missing (Debian: apt-get install debootstrap systemd-container)"
done
[ -f "$build/package-test/deb" ] || { echo "no package: the package_build test failed" >&2; exit 1; }
deb=$(cat "$build/package-test/deb")

failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAILED: $what" >&2; failures=$((failures + 1)); fi
}
seconds() { echo $(($(date +%s) - started)); }
started=$(date +%s)

# --- the container -----------------------------------------------------------------------
mkdir -p "$work/debs"
base=$work/base
if [ ! -e "$base/.complete" ]; then
  rm -rf "$base"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus --cache-dir="$work/debs" \
    bookworm "$base" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  chroot "$base" apt-get update >>"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  touch "$base/.complete"
  echo "debootstrap: $(seconds) s"
fi
root=$work/root
rm -rf "$root"
cp -a "$base" "$root"
cp "$deb" "$root/srv/dagminer.deb"
# The upgrade: the same package under a later version.
repack=$work/repack
rm -rf "$repack"
dpkg-deb -R "$deb" "$repack"
upgrade_version="$(dpkg-deb -f "$deb" Version)+upgrade"
sed -i "s/^Version: .*/Version: $upgrade_version/" "$repack/DEBIAN/control"
dpkg-deb --root-owner-group -b "$repack" "$root/srv/dagminer-upgrade.deb" >/dev/null

systemd-nspawn -q -D "$root" -b --register=no --keep-unit -M "$machine" --console=passive \
  --bind="$work/debs:/var/cache/apt/archives" >"$work/console.log" 2>&1 &
nspawn=$!
shutdown() {
  kill -TERM "$nspawn" 2>/dev/null || true  # nspawn powers the container off
  for _ in $(seq 50); do kill -0 "$nspawn" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$nspawn" 2>/dev/null || true
}
trap shutdown EXIT
leader=
for _ in $(seq 100); do
  leader=$(pgrep -P "$nspawn" | head -n 1 || true)
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || { cat "$work/console.log" >&2; echo "the container did not start" >&2; exit 1; }
ct() { nsenter --target "$leader" --all -- "$@"; }
state=
for _ in $(seq 150); do  # until the container's systemd answers
  # The first child seen may be nspawn's short-lived intermediate one: the leader is looked up
  # again until the container's init answers.
  leader=$(pgrep -P "$nspawn" | tail -n 1 || true)
  [ -n "$leader" ] && state=$(ct systemctl is-system-running --wait 2>/dev/null || true)
  [ -n "$state" ] && break
  sleep 0.2
done
[ -n "$state" ] || { tail -20 "$work/console.log" >&2; echo "the container's systemd did not answer" >&2; exit 1; }
echo "container booted: $state ($(seconds) s)"
property() { ct systemctl show dagminer.service -p "$1" --value; }
eventually() {  # eventually SECONDS COMMAND...: true once the command succeeds
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
journal_since() { ct journalctl -u dagminer.service --no-pager -o cat --after-cursor="$1"; }
cursor() { ct journalctl --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }

# --- install -----------------------------------------------------------------------------
ct env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /srv/dagminer.deb >"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log" >&2; exit 1; }
echo "installed with apt ($(seconds) s)"
check "installing enables nothing" test "$(ct systemctl is-enabled dagminer.service || true)" = disabled
check "installing starts nothing" test "$(ct systemctl is-active dagminer.service || true)" = inactive
groups=" $(ct id -nG dagminer) "
check "the dagminer user is in video and render" test "${groups/ video /}" != "$groups" -a "${groups/ render /}" != "$groups"
check "the configuration is root:dagminer 0640" test "$(ct stat -c '%U:%G %a' /etc/dagminer/dagminer.yaml)" = "root:dagminer 640"

# --- a local pool, and the configuration edited to mine it -----------------------------------
ct systemd-run -q --unit=poolsim -p Type=exec /usr/bin/dagminer poolsim --port 3333 --difficulty 1e-8 \
  --job-interval 0 --cache-dir /var/cache/poolsim
cat >"$root/etc/dagminer/dagminer.yaml" <<'YAML'
# edited by tests/package/systemd_test.sh: the local pool simulator, on the CPU backend
pools:
  - {name: local, url: "stratum+tcp://127.0.0.1:3333", user: test-wallet, worker: systemd}
devices: cpu
cpu_threads: 1
prepare_next_epoch: false
max_share_rate: 100000   # the CPU finds a few shares a second at the pool's difficulty; keep it
share_journal: /var/lib/dagminer/shares.jsonl
YAML
edited=$(md5sum <"$root/etc/dagminer/dagminer.yaml")

# --- start: Type=notify, STATUS, shares ---------------------------------------------------------
check "systemctl start returns once the daemon is ready" ct systemctl start dagminer.service
check "the unit is active" test "$(ct systemctl is-active dagminer.service)" = active
check "the daemon reports a STATUS line" eventually 30 bash -c "[[ \"\$(nsenter --target $leader --all -- systemctl show dagminer.service -p StatusText --value)\" == *'pools up'* ]]"
accepted() { [[ "$(property StatusText)" =~ shares\ A/R/S\ [1-9][0-9]*/ ]]; }
check "shares are accepted by the local pool" eventually 90 accepted
check "the STATUS line shows the CPU's rate, not 0.00 MH/s" \
  eventually 10 bash -c "[[ \"\$(nsenter --target $leader --all -- systemctl show dagminer.service -p StatusText --value)\" =~ ^(0\.0[1-9]|0\.[1-9][0-9]|[1-9][0-9]*\.[0-9]{2})\ (H|kH|MH)/s ]]"
echo "STATUS: $(property StatusText)"

# --- reload keeps the process ----------------------------------------------------------------
pid=$(property MainPID)
at=$(cursor)
check "systemctl reload succeeds" ct systemctl reload dagminer.service
check "reload keeps the process" test "$(property MainPID)" = "$pid"
check "the daemon read its configuration again" eventually 10 bash -c "grep -q 'configuration reloaded' <<<\"\$(nsenter --target $leader --all -- journalctl -u dagminer.service --no-pager -o cat --after-cursor='$at')\""

# --- an upgrade keeps the edited configuration and restarts the daemon ------------------------
ct env DEBIAN_FRONTEND=noninteractive apt-get install -y /srv/dagminer-upgrade.deb >>"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log" >&2; exit 1; }
check "the upgrade is installed" test "$(ct dpkg-query -W -f '${Version}' dagminer)" = "$upgrade_version"
check "the upgrade keeps the edited configuration" test "$(md5sum <"$root/etc/dagminer/dagminer.yaml")" = "$edited"
check "the upgrade keeps root:dagminer 0640" test "$(ct stat -c '%U:%G %a' /etc/dagminer/dagminer.yaml)" = "root:dagminer 640"
check "the upgrade restarted the running daemon" test "$(property MainPID)" != "$pid" -a "$(ct systemctl is-active dagminer.service)" = active

# --- the watchdog kills a frozen process and systemd restarts it ---------------------------------
mkdir -p "$root/etc/systemd/system/dagminer.service.d"
printf '[Service]\nWatchdogSec=3s\nTimeoutAbortSec=3s\nRestartSec=1s\n' >"$root/etc/systemd/system/dagminer.service.d/watchdog.conf"
ct systemctl daemon-reload
ct systemctl restart dagminer.service
pid=$(property MainPID)
restarts=$(property NRestarts)
at=$(cursor)
ct systemctl kill --kill-whom=main --signal=SIGSTOP dagminer.service
restarted() { [ "$(property MainPID)" != "$pid" ] && [ "$(property MainPID)" != 0 ] && [ "$(ct systemctl is-active dagminer.service)" = active ]; }
check "a frozen daemon is restarted" eventually 40 restarted
check "it was the watchdog" eventually 5 bash -c "grep -q 'Watchdog timeout' <<<\"\$(nsenter --target $leader --all -- journalctl -u dagminer.service --no-pager -o cat --after-cursor='$at')\""
check "systemd counted the restart" test "$(property NRestarts)" -gt "$restarts"
rm -r "$root/etc/systemd/system/dagminer.service.d"
ct systemctl daemon-reload

# --- stop -----------------------------------------------------------------------------------
check "systemctl stop succeeds" ct systemctl stop dagminer.service
check "the daemon exited with status 0" test "$(property ExecMainStatus)" = 0 -a "$(property Result)" = success

# --- a broken configuration is refused before the daemon starts -------------------------------
cp "$root/etc/dagminer/dagminer.yaml" "$work/good.yaml"
printf 'pools:\n  - {name: local, url: "nonsense://x"}\nstrategy: sideways\n' >"$root/etc/dagminer/dagminer.yaml"
at=$(cursor)
check "start fails on a broken configuration" test "$(ct systemctl start dagminer.service >/dev/null 2>&1; echo $?)" != 0
log=$(journal_since "$at")
echo "$log" | tail -n 8
check "ExecStartPre (check-config) refused it, naming the problem" grep -q "strategy" <<<"$log"
check "the daemon itself never started" test -z "$(grep -F 'starting with' <<<"$log" || true)"
cp "$work/good.yaml" "$root/etc/dagminer/dagminer.yaml"

# --- remove keeps the state, purge removes it ------------------------------------------------------
ct env DEBIAN_FRONTEND=noninteractive apt-get remove -y dagminer >>"$work/apt.log" 2>&1
check "remove keeps the state" test -s "$root/var/lib/dagminer/shares.jsonl"
ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y dagminer >>"$work/apt.log" 2>&1
check "purge removes the state" test ! -e "$root/var/lib/dagminer" -a ! -e "$root/var/cache/dagminer"
check "purge removes the configuration and its override" test ! -e "$root/etc/dagminer/dagminer.yaml" -a -z "$(ct dpkg-statoverride --list /etc/dagminer/dagminer.yaml || true)"

if [ "$failures" -ne 0 ]; then
  echo "--- the journal of the pool simulator and the daemon:"
  ct journalctl -u poolsim.service -u dagminer.service --no-pager -o short-monotonic | tail -n 60
fi
echo "systemd test: $(seconds) s, $failures failed"
[ "$failures" -eq 0 ]
