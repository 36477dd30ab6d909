#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/install: `meson install` into a staging root, then check what landed:
#  1. the files (binaries, units, host preparation, man pages, examples, docs);
#  2. `systemd-analyze verify` of the installed units, the staging root laid
#     over the prefix in a private mount namespace (overlayfs), so that the
#     ExecStart= binaries and man: pages are checked where the units name them;
#  3. isthmus-host-prep from the staging root: dry run changes nothing, clear
#     errors for the shipped .env on a host without those NICs;
#  4. the installed isthmus-dp started on the example onprem.ini (its two
#     PCI ports replaced by net_null vdevs, run_dir/state_dir in a temp dir) in
#     a network namespace of its own (unshare -n: its exception TAP never
#     appears on the host); isthmusctl stats must answer;
#  5. the installed isthmusd in the same namespace with only the unit's
#     capabilities (setpriv bounding set): isthmusctl status must answer;
#  then both are stopped by PID.
# usage: install_test.sh BUILD_DIR SOURCE_DIR (prefix and dirs from the environment)
set -u
build=$1
src=$2
: "${PREFIX:?}" "${BINDIR:?}" "${SBINDIR:?}" "${UNITDIR:?}" "${DOCDIR:?}" "${MANDIR:?}"

tmp=$(mktemp -d /tmp/isthmus-install.XXXXXX)
stage=$tmp/stage
dp_pid=
d_pid=
fails=0
cleanup() {
	[ -n "$d_pid" ] && kill "$d_pid" 2>/dev/null
	[ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null
	for p in $d_pid $dp_pid; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
need() { command -v "$1" >/dev/null || { echo "FAIL $1 not found: run tools/setup ($2)"; exit 1; }; }
need systemd-analyze "Debian package systemd"
need setpriv "util-linux"
need unshare "util-linux"
[ "$(id -u)" -eq 0 ] || { echo "FAIL must run as root (namespaces, TAP)"; exit 1; }

# --- 1. install and look ------------------------------------------------------
if ! meson install -C "$build" --destdir "$stage" --no-rebuild --quiet >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"; echo "FAIL meson install"; exit 1
fi
S=$stage
for f in "$BINDIR/isthmus-dp" "$BINDIR/isthmusd" "$BINDIR/isthmusctl" "$BINDIR/isthmus-bench" \
	 "$SBINDIR/isthmus-host-prep"; do
	[ -x "$S$f" ] && ok "executable $f" || fail "missing executable $f"
done
for f in "$UNITDIR/isthmus-dp@.service" "$UNITDIR/isthmusd@.service" \
	 "$DOCDIR/deploy.md" "$DOCDIR/config.md" "$DOCDIR/README.md" "$DOCDIR/BENCHMARKS.md" \
	 "$DOCDIR/examples/onprem.ini" "$DOCDIR/examples/cloud.ini" \
	 "$DOCDIR/examples/onprem.env" "$DOCDIR/examples/cloud.env" \
	 "$MANDIR/man8/isthmus-dp.8" "$MANDIR/man8/isthmusd.8" "$MANDIR/man8/isthmusctl.8" \
	 "$MANDIR/man8/isthmus-host-prep.8" "$MANDIR/man1/isthmus-bench.1"; do
	[ -s "$S$f" ] && ok "file $f" || fail "missing file $f (man pages: help2man, tools/setup)"
done
# the man page is the program's --help
grep -q 'stats.\{0,2\}interval' "$S$MANDIR/man8/isthmus-dp.8" && ok "isthmus-dp.8 has the --help options" \
	|| fail "isthmus-dp.8 does not match --help"
# the units name the installed paths
grep -q "^ExecStart=$BINDIR/isthmus-dp " "$S$UNITDIR/isthmus-dp@.service" && ok "unit runs $BINDIR/isthmus-dp" \
	|| fail "isthmus-dp@.service: ExecStart is not $BINDIR/isthmus-dp"

# --- 2. systemd-analyze verify --------------------------------------------------
# Instances by symlink name; any output at all (unknown key, bad value, missing
# binary or man page) is a failure: verify itself exits 0 on most of them.
mkdir -p "$tmp/inst"
ln -s "$UNITDIR/isthmus-dp@.service" "$tmp/inst/isthmus-dp@onprem.service"
ln -s "$UNITDIR/isthmusd@.service" "$tmp/inst/isthmusd@onprem.service"
out=$(unshare -m sh -c '
	mount -t overlay overlay -o "lowerdir=$1$2:$2" "$2" || exit 99
	systemd-analyze verify "$3/isthmus-dp@onprem.service" "$3/isthmusd@onprem.service"
' sh "$stage" "$PREFIX" "$tmp/inst" 2>&1)
rc=$?
if [ $rc -eq 99 ]; then
	fail "systemd-analyze verify: cannot lay the staging root over $PREFIX (overlayfs): $out"
elif [ $rc -ne 0 ] || [ -n "$out" ]; then
	fail "systemd-analyze verify (rc $rc): $out"
else
	ok "systemd-analyze verify isthmus-dp@onprem.service isthmusd@onprem.service"
fi

# --- 3. isthmus-hostprep --------------------------------------------------------
HP=$S$SBINDIR/isthmus-host-prep
# host-prep reads NAME.ini with isthmus-dp --check-config: the staged one
export ISTHMUS_DP=$S$BINDIR/isthmus-dp
before=$(cat /proc/sys/vm/nr_hugepages)
out=$("$HP" --dry-run hugepages $((before + 2)) 2>&1)
[ "$(cat /proc/sys/vm/nr_hugepages)" = "$before" ] && echo "$out" | grep -q "would write" \
	&& ok "host-prep --dry-run hugepages changes nothing" || fail "host-prep --dry-run hugepages: $out"
out=$("$HP" --dry-run bind lo 2>&1) && fail "host-prep bind lo succeeded" \
	|| { echo "$out" | grep -q "not a PCI NIC" && ok "host-prep refuses lo: not a PCI NIC" || fail "host-prep bind lo: $out"; }
mkdir -p "$tmp/etc/isthmus"
sed -e "s|^port = 0000:0b:00.0|port = net_null0|" -e "s|^port = 0000:13:00.0|port = net_null1|" \
    -e "s|^\[appliance\]|[appliance]\nrun_dir = $tmp/run|" \
    -e "s|^state_dir = .*|state_dir = $tmp/state|" \
    "$S$DOCDIR/examples/onprem.ini" >"$tmp/etc/isthmus/onprem.ini"
cp "$S$DOCDIR/examples/onprem.env" "$tmp/etc/isthmus/onprem.env"
out=$(ISTHMUS_SYSCONFDIR=$tmp/etc "$HP" check onprem 2>&1)
if [ -e /sys/bus/pci/devices/0000:0b:00.0 ]; then
	ok "host-prep check (this host has 0000:0b:00.0: not checking the missing-NIC message)"
elif echo "$out" | grep -q "0000:0b:00.0 (EAL -a): no such PCI device"; then
	ok "host-prep check names the missing NIC of the shipped onprem.env"
else
	fail "host-prep check with the shipped onprem.env: $out"
fi
EAL=(-l 0,1 --no-huge -m 256 --no-pci --file-prefix="isthmus-install-$$"
     --vdev=net_null0,no-rx=1 --vdev=net_null1,no-rx=1)
out=$(EAL_ARGS="${EAL[*]}" ISTHMUS_SYSCONFDIR=$tmp/etc "$HP" check onprem 2>&1) \
	&& ok "host-prep check onprem with vdevs: ready" || fail "host-prep check with vdevs: $out"

# --- 4. the installed isthmus-dp ------------------------------------------------
unshare -n -- "$S$BINDIR/isthmus-dp" "${EAL[@]}" -- -c "$tmp/etc/isthmus/onprem.ini" \
	>"$tmp/dp.log" 2>&1 &
dp_pid=$!
CTL=$S$BINDIR/isthmusctl
up=0
for _ in $(seq 100); do
	kill -0 "$dp_pid" 2>/dev/null || break
	"$CTL" -r "$tmp/run" stats >"$tmp/stats.txt" 2>&1 && { up=1; break; }
	sleep 0.1
done
if [ $up -eq 1 ] && [ -s "$tmp/stats.txt" ]; then
	ok "installed isthmus-dp up on the example onprem.ini; isthmusctl stats answers"
else
	fail "installed isthmus-dp did not answer isthmusctl stats in 10 s:"; cat "$tmp/dp.log" "$tmp/stats.txt" 2>/dev/null
fi
if nsenter -t "$dp_pid" -n ip -o addr show dev isth-up 2>/dev/null | grep -q '198.18.10.10/24'; then
	ok "exception TAP isth-up holds 198.18.10.10/24 (in the test's namespace)"
else
	fail "no exception TAP isth-up with 198.18.10.10/24"
fi

# --- 5. the installed isthmusd, with the unit's capabilities only ----------------
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$S$UNITDIR/isthmusd@.service" | tr 'A-Z' 'a-z' \
	| sed 's/cap_/+/g; s/ /,/g')
nsenter -t "$dp_pid" -n -- setpriv --bounding-set=-all,"$caps" -- \
	"$S$BINDIR/isthmusd" -c "$tmp/etc/isthmus/onprem.ini" >"$tmp/isthmusd.log" 2>&1 &
d_pid=$!
up=0
for _ in $(seq 100); do
	kill -0 "$d_pid" 2>/dev/null || break
	"$CTL" -r "$tmp/run" status >"$tmp/status.txt" 2>&1 && { up=1; break; }
	sleep 0.1
done
if [ $up -eq 1 ]; then
	ok "installed isthmusd up with capabilities {$caps} only; isthmusctl status answers"
else
	fail "installed isthmusd did not answer isthmusctl status in 10 s:"; cat "$tmp/isthmusd.log" "$tmp/status.txt"
fi
ls -A "$tmp/state" 2>/dev/null | grep -q . \
	&& ok "isthmusd wrote its identity under state_dir" || fail "no identity in $tmp/state"

# --- stop by PID ---------------------------------------------------------------
for p in "$d_pid" "$dp_pid"; do
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$p" 2>/dev/null; then fail "pid $p did not stop on SIGTERM in 10 s"; else
		wait "$p"; rc=$?
		[ $rc -eq 0 ] && ok "pid $p stopped on SIGTERM" || fail "pid $p exited $rc on SIGTERM"
	fi
done
d_pid= dp_pid=

[ $fails -eq 0 ] && { echo "install: all checks passed"; exit 0; }
echo "install: $fails check(s) failed"; exit 1
