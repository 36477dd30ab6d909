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
#  then both are stopped by PID. Both run as systemd would run them with
#  Type=notify (NOTIFY_SOCKET, tests/install/notify_listen.py): READY=1 must
#  come, and only once what it promises exists (the TAP, the sockets); and
#  under strace: every system call within the unit's SystemCallFilter=, no
#  writable and executable memory (tests/install/syscalls.py);
#  6. systemd-analyze security --offline on both units (MEASURED);
#  7. the Debian package (tools/build-deb) installed with apt into a clean
#     Debian 12 root (mmdebstrap, packages from the host's apt cache where it
#     has them): the programs run there (--version, --help), the units are
#     where systemd looks.
# usage: install_test.sh BUILD_DIR SOURCE_DIR (prefix and dirs from the environment)
set -u
build=$1
src=$2
: "${PREFIX:?}" "${BINDIR:?}" "${SBINDIR:?}" "${UNITDIR:?}" "${DOCDIR:?}" "${MANDIR:?}"

tmp=$(mktemp -d /tmp/isthmus-install.XXXXXX)
stage=$tmp/stage
dp_pid=
d_pid=
listen_pids=
fails=0
cleanup() {
	for p in $listen_pids; do kill "$p" 2>/dev/null; done
	[ -n "$d_pid" ] && kill "$d_pid" 2>/dev/null
	[ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null
	for p in $d_pid $dp_pid; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	# nothing mounted may remain under $tmp before it is removed: the clean
	# root has the host's apt cache bind-mounted while mmdebstrap runs (and
	# /proc, /sys, /dev)
	awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r \
		| while read -r m; do umount -l "$m"; done
	if awk -v t="$tmp/" 'index($2, t) == 1 { f = 1 } END { exit !f }' /proc/mounts; then
		echo "FAIL still mounted under $tmp: not removing it"
	else
		rm -rf --one-file-system "$tmp"
	fi
}
trap cleanup EXIT
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
need() { command -v "$1" >/dev/null || { echo "FAIL $1 not found: run tools/setup ($2)"; exit 1; }; }
need systemd-analyze "Debian package systemd"
need setpriv "util-linux"
need unshare "util-linux"
need strace "strace"
need mmdebstrap "mmdebstrap"
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
for f in "$UNITDIR/isthmus-dp@.service" "$UNITDIR/isthmusd@.service" "$UNITDIR/isthmus.target" \
	 "$UNITDIR/isthmus-metrics@.service" "$UNITDIR/isthmus-metrics@.timer" \
	 "$UNITDIR/isthmus-ha@.service" "$DOCDIR/ha.md" \
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
ln -s "$UNITDIR/isthmus-metrics@.service" "$tmp/inst/isthmus-metrics@onprem.service"
ln -s "$UNITDIR/isthmus-metrics@.timer" "$tmp/inst/isthmus-metrics@onprem.timer"
ln -s "$UNITDIR/isthmus-ha@.service" "$tmp/inst/isthmus-ha@onprem.service"
out=$(unshare -m sh -c '
	mount -t overlay overlay -o "lowerdir=$1$2:$2" "$2" || exit 99
	systemd-analyze verify "$3/isthmus-dp@onprem.service" "$3/isthmusd@onprem.service" \
		"$4/isthmus.target" "$3/isthmus-metrics@onprem.service" "$3/isthmus-metrics@onprem.timer" \
		"$3/isthmus-ha@onprem.service"
' sh "$stage" "$PREFIX" "$tmp/inst" "$UNITDIR" 2>&1)
rc=$?
if [ $rc -eq 99 ]; then
	fail "systemd-analyze verify: cannot lay the staging root over $PREFIX (overlayfs): $out"
elif [ $rc -ne 0 ] || [ -n "$out" ]; then
	fail "systemd-analyze verify (rc $rc): $out"
else
	ok "systemd-analyze verify isthmus-dp@, isthmusd@, isthmus-metrics@, isthmus-ha@onprem.service, the timer, isthmus.target"
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
# listen() SOCKET PROMISES...: a stand-in for systemd's notification socket
listen() {
	local sock=$1; shift
	/usr/bin/python3 "$src/tests/install/notify_listen.py" "$sock" 60 "$@" >"$sock.log" 2>&1 &
	listen_pids="$listen_pids $!"
	for _ in $(seq 50); do grep -q listening "$sock.log" 2>/dev/null && break; sleep 0.1; done
}
# notified LOG WHAT: READY=1 came, with everything it promised in place
notified() {
	if grep -q "^READY=1: everything promised exists" "$1"; then
		ok "$2: $(grep -m1 'READY=1 ' "$1" | sed 's/^message from //')"
	else
		fail "$2: $(grep -e 'READY=1' -e 'no READY' "$1" | head -n2 | tr '\n' ' ')"
	fi
}
# child_of PID NAME: the process NAME among PID's descendants (strace's
# child, once it has executed the daemon), waited for up to 5 s
child_of() {
	local q p
	for _ in $(seq 50); do
		q=$1
		while [ -n "$q" ]; do
			for p in $q; do
				[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && { echo "$p"; return; }
			done
			q=$(for p in $q; do pgrep -P "$p"; done)
		done
		sleep 0.1
	done
}

listen "$tmp/notify-dp" --path "$tmp/run/dp.sock" --netdev isth-up
NOTIFY_SOCKET=$tmp/notify-dp unshare -n -- strace -f -qq -o "$tmp/dp.strace" \
	"$S$BINDIR/isthmus-dp" "${EAL[@]}" -- -c "$tmp/etc/isthmus/onprem.ini" >"$tmp/dp.log" 2>&1 &
dp_strace=$!
dp_pid=$(child_of $dp_strace isthmus-dp)
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
if grep -q '^Type=notify' "$S$UNITDIR/isthmus-dp@.service"; then
	notified "$tmp/notify-dp.log" "isthmus-dp notified READY=1 with the TAP and dp.sock there"
else
	fail "isthmus-dp@.service is not Type=notify (built without libsystemd-dev? tools/setup)"
fi

# --- 5. the installed isthmusd, with the unit's capabilities only ----------------
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$S$UNITDIR/isthmusd@.service" | tr 'A-Z' 'a-z' \
	| sed 's/cap_/+/g; s/ /,/g')
listen "$tmp/notify-d" --path "$tmp/run/isthmusd.sock"
NOTIFY_SOCKET=$tmp/notify-d nsenter -t "$dp_pid" -n -- setpriv --bounding-set=-all,"$caps" -- \
	strace -f -qq -o "$tmp/d.strace" \
	"$S$BINDIR/isthmusd" -c "$tmp/etc/isthmus/onprem.ini" >"$tmp/isthmusd.log" 2>&1 &
d_strace=$!
d_pid=$(child_of $d_strace isthmusd)
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
notified "$tmp/notify-d.log" "isthmusd notified READY=1 with isthmusd.sock there"
# a reload (systemctl reload: SIGHUP) is announced: RELOADING=1, then READY=1
kill -HUP "$d_pid"
reloaded() { grep -A1 ': RELOADING=1' "$tmp/notify-d.log" | grep -q ': READY=1'; }
for _ in $(seq 100); do reloaded && break; sleep 0.1; done
reloaded \
	&& ok "isthmusd: SIGHUP (ExecReload) notified RELOADING=1, then READY=1" \
	|| fail "isthmusd reload not notified: $(cat "$tmp/notify-d.log")"

# --- stop by PID ---------------------------------------------------------------
# SIGTERM to the daemon; strace exits with its status
for pair in "$d_pid:$d_strace" "$dp_pid:$dp_strace"; do
	p=${pair%:*} st=${pair#*:}
	kill -TERM "$p" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$st" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$st" 2>/dev/null; then fail "pid $p did not stop on SIGTERM in 10 s"; else
		wait "$st"; rc=$?
		[ $rc -eq 0 ] && ok "pid $p stopped on SIGTERM" || fail "pid $p exited $rc on SIGTERM"
	fi
done
d_pid= dp_pid=

# --- system calls: within the units' SystemCallFilter= ---------------------------
# iopl: DPDK's EAL asks for I/O-port access at start; without CAP_SYS_RAWIO
# (not in the unit) that is EPERM already, and EAL goes on without it.
out=$(/usr/bin/python3 "$src/tests/install/syscalls.py" "$S$UNITDIR/isthmus-dp@.service" \
	"$tmp/dp.strace" --eperm-ok iopl) && echo "$out" || { echo "$out"; fail "isthmus-dp system calls"; }
out=$(/usr/bin/python3 "$src/tests/install/syscalls.py" "$S$UNITDIR/isthmusd@.service" \
	"$tmp/d.strace") && echo "$out" || { echo "$out"; fail "isthmusd system calls"; }

# --- 6. systemd-analyze security ----------------------------------------------
# Exposure 0 (locked down) to 10; above 4.9 systemd calls it MEDIUM or worse.
for u in isthmus-dp isthmusd; do
	out=$(unshare -m sh -c '
		mount -t overlay overlay -o "lowerdir=$1$2:$2" "$2" || exit 99
		systemd-analyze security --offline=true --no-pager "$3"
	' sh "$stage" "$PREFIX" "$tmp/inst/$u@onprem.service" 2>&1)
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
	echo "MEASURED systemd-analyze security $u@onprem.service: ${score:-none}"
	case "$score" in
	[0-3].*\ OK|4.*\ OK) ok "$u@.service exposure $score" ;;
	*) fail "$u@.service exposure '${score:-?}': $(echo "$out" | tail -n3)" ;;
	esac
done

# --- 7. the package, installed with apt into a clean Debian 12 root -----------
# tools/build-deb builds in $src/build-deb (prefix /usr; incremental after the
# first time). The clean root: mmdebstrap --variant=apt (the Essential
# packages and apt, from the host's apt sources), kept as a tarball in
# build-deb/ and made again when older than 7 days, as sbuild keeps its
# chroots; each run unpacks it, and apt installs the .deb and what it Depends
# and Recommends on, as `apt install ./FILE.deb` on an appliance does. The
# host's apt cache is bind-mounted so that packages it has are not downloaded
# again; mmdebstrap is told to delete nothing from it.
t0=$(date +%s)
if out=$("$src/tools/build-deb" -o "$tmp/deb" "$src/build-deb" 2>&1); then
	deb=$(echo "$out" | tail -n1)
	ok "tools/build-deb: $(basename "$deb") in $(( $(date +%s) - t0 )) s"
	echo "$out" | grep '^Depends:'
else
	echo "$out" | tail -n 20; fail "tools/build-deb"; deb=
fi
root=$tmp/root
cache=/var/cache/apt/archives
base=$src/build-deb/clean-root-bookworm.tar
if [ -n "$deb" ] && { [ ! -s "$base" ] || [ -n "$(find "$base" -mtime +7)" ]; }; then
	t0=$(date +%s)
	sources=/etc/apt/sources.list.d/debian.sources
	[ -f $sources ] || sources=/etc/apt/sources.list
	if TMPDIR=$tmp mmdebstrap --mode=root --variant=apt --quiet \
		--aptopt='Acquire::Check-Valid-Until "false"' \
		--skip=download/empty --skip=essential/unlink --dpkgopt=force-unsafe-io \
		--setup-hook="mkdir -p \"\$1$cache\" && mount --bind $cache \"\$1$cache\"" \
		--customize-hook="umount \"\$1$cache\"" \
		bookworm "${base%.tar}.new.tar" "$sources" </dev/null >"$tmp/mmdebstrap.log" 2>&1; then
		mv "${base%.tar}.new.tar" "$base"
		echo "MEASURED mmdebstrap --variant=apt bookworm: $(( $(date +%s) - t0 )) s, $(du -m "$base" | cut -f1) MB tarball"
	else
		tail -n 20 "$tmp/mmdebstrap.log"; fail "mmdebstrap (a clean Debian 12 root)"; deb=
	fi
fi
if [ -n "$deb" ]; then
	t0=$(date +%s)
	mkdir -p "$root" && tar -C "$root" -xf "$base"
	cp "$deb" "$root/tmp/"
	# in a mount namespace of its own: nothing stays mounted when it ends
	if unshare -m sh -c '
		r=$1 cache=$2
		mount -t proc proc "$r/proc" && mount --rbind /sys "$r/sys" && mount --rbind /dev "$r/dev" \
			&& mount --bind "$cache" "$r$cache" && touch "$r/etc/resolv.conf" \
			&& mount --bind /etc/resolv.conf "$r/etc/resolv.conf" || exit 99
		chroot "$r" apt-get update -q || exit 1
		# what `apt install ./FILE.deb` brings, Recommends included (listed
		# only), then installed without them: the Recommends (dpdk and its
		# python3, driverctl) take as long again and run nothing tested here
		chroot "$r" apt-get install -s -q "/tmp/$3" | sed -n "s/^Inst \([^ ]*\) .*/\1/p" >"$r/tmp/closure" \
			&& [ -s "$r/tmp/closure" ] || exit 1
		DEBIAN_FRONTEND=noninteractive chroot "$r" apt-get install -y -q --no-install-recommends "/tmp/$3"
	' sh "$root" "$cache" "$(basename "$deb")" </dev/null >"$tmp/apt.log" 2>&1; then
		ok "apt installed $(basename "$deb") into a clean bookworm root in $(( $(date +%s) - t0 )) s:" \
			"$(grep 'newly installed' "$tmp/apt.log")"
		echo "MEASURED clean root with the package: $(du -sm --one-file-system "$root" | cut -f1) MB," \
			"$(chroot "$root" dpkg-query -W | wc -l) packages, $(( $(date +%s) - t0 )) s"
	else
		tail -n 20 "$tmp/apt.log"; fail "apt install $(basename "$deb") in the clean root"; deb=
	fi
fi
if [ -n "$deb" ]; then
	pkg_version=$(dpkg-deb -f "$deb" Version); pkg_version=${pkg_version%-*}
	dev=$(grep -E '^(gcc|gcc-12|cpp|cpp-12|clang|clang-14|tshark|libc6-dev|make|meson|dpkg-dev)$' "$root/tmp/closure" | paste -sd' ')
	[ -z "$dev" ] && ok "no compiler, tshark or build tool among the $(wc -l <"$root/tmp/closure") packages apt would install with Recommends" \
		|| fail "the package pulls in: $dev"
	for p in isthmus-dp isthmusd isthmusctl isthmus-bench isthmus-host-prep; do
		d=/usr/bin; [ $p = isthmus-host-prep ] && d=/usr/sbin
		v=$(chroot "$root" "$d/$p" --version 2>&1 | head -n1)
		h=$(chroot "$root" "$d/$p" --help 2>&1)
		[ "$v" = "$p $pkg_version" ] && [ -n "$h" ] \
			&& ok "in the root: $v; --help $(echo "$h" | wc -l) lines" \
			|| fail "in the root: $p --version: '$v' --help: $(echo "$h" | head -n2)"
	done
	# the libcharon apt chose is the very build isthmusd was linked against
	want=$(chroot "$root" /usr/bin/isthmusd --version | sed -n 's/.*libcharon build ID \([0-9a-f]*\).*/\1/p')
	got=$(readelf -n "$root/usr/lib/ipsec/libcharon.so.0" | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
	[ -n "$want" ] && [ "$want" = "$got" ] && ok "the root's libcharon is the build isthmusd checks for ($got)" \
		|| fail "the root's libcharon build ID $got, isthmusd wants $want"
	# EAL loads the installed DPDK drivers: net_tap probed, then the missing
	# configuration stops it (in a namespace: the TAP is never on the host)
	out=$(unshare -m -n sh -c '
		mount -t proc proc "$1/proc" && mount --rbind /sys "$1/sys" && mount --rbind /dev "$1/dev" || exit 99
		chroot "$1" /usr/bin/isthmus-dp -l 0 --no-huge -m 128 --no-pci \
			--vdev=net_tap0,iface=isth-pkg -- -c /etc/isthmus/none.ini
	' sh "$root" 2>&1)
	if echo "$out" | grep -q 'none.ini' && ! echo "$out" | grep -qi -e 'cannot open shared' \
		-e 'failed to initialize' -e 'probe failed' -e 'EAL initialisation failed'; then
		ok "in the root: EAL starts with the installed drivers (net_tap), then: $(echo "$out" | grep none.ini | head -n1)"
	else
		fail "in the root: isthmus-dp with EAL: $(echo "$out" | tail -n 5)"
	fi
	for u in isthmus-dp@.service isthmusd@.service isthmus.target; do
		[ -s "$root/lib/systemd/system/$u" ] || fail "the package has no /lib/systemd/system/$u"
	done
	grep -q '^Type=notify' "$root/lib/systemd/system/isthmusd@.service" \
		&& ok "the packaged units are Type=notify" || fail "the packaged units are not Type=notify"
fi

[ $fails -eq 0 ] && { echo "install: all checks passed"; exit 0; }
echo "install: $fails check(s) failed"; exit 1
