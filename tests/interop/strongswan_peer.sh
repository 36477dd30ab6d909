#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/interop/strongswan_peer.sh: an Isthmus appliance (isthmus-dp + isthmusd,
# [ike] auth = psk) stretches a segment to a site that runs stock Debian
# strongSwan (charon with kernel-libipsec, configured with swanctl) plus a
# Linux VXLAN device and a bridge. Hosts on both sides ARP, ping and exchange
# TCP; the ESP on the underlay is decoded by tshark with the keys isthmusd
# hands out. Then the stock site closes the tunnel (isthmusd must bring it
# back), and isthmusd restarts as responder with the stock site initiating.
# docs/interop.md describes the same setup for operators.
#
#  ns isti-a-web 192.0.2.11                         ns isti-b-web 192.0.2.21
#        | eth0                                            | eth0
#        | web0 (net_af_packet1)                           | web0
#  +-----+-------------------------+     +------------------+-----------------+
#  | ns isti-a: Isthmus            |     | ns isti-b: stock strongSwan        |
#  | isthmus-dp, isthmusd (PSK)    |     | charon + kernel-libipsec (ipsec0)  |
#  | VTEP 198.19.1.1               |     | br0 = web0 + vx0 (VNI 5101)        |
#  | TAP isti-up 198.18.0.1        |     | VTEP 198.19.2.1 on lo              |
#  +--------------- up0 ===========+=====+= up0 198.18.0.2 ------------------+
#
# usage: strongswan_peer.sh ISTHMUS_DP ISTHMUSD ISTHMUSCTL
# Runs as root. Without root it skips (exit 77), except under CI=true, where
# it fails: in CI nothing may skip.
set -euo pipefail

DP=$1 ISTHMUSD=$2 CTL=$3
NS_A=isti-a NS_B=isti-b H_A=isti-a-web H_B=isti-b-web
ALL_NS=("$H_A" "$H_B" "$NS_A" "$NS_B")
VNI=5101
UL_A=198.18.0.1 UL_B=198.18.0.2          # underlay (RFC 2544)
VTEP_A=198.19.1.1 VTEP_B=198.19.2.1      # VXLAN tunnel endpoints (RFC 2544)
IP_HA=192.0.2.11 IP_HB=192.0.2.21        # hosts on the segment (TEST-NET-1)
ID_A=isthmus-a.example ID_B=strongswan-b.example
# The libipsec TUN (ipsec0) has a fixed MTU of 1400 (and reads at most 1400
# bytes), so a VXLAN packet leaving site B may be 1400 bytes: 1350-byte IP
# packets in 1364-byte frames (docs/interop.md, "MTU").
HOST_MTU=1350

SKIP=77
if [ "$(id -u)" -ne 0 ]; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: the interop test needs root (CI=true: no skipping)" >&2
		exit 1
	fi
	echo "SKIP: the interop test needs root (network namespaces, DPDK)" >&2
	exit $SKIP
fi
for tool in /usr/lib/ipsec/charon swanctl ip iperf3 tshark ethtool unshare bridge; do
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL: $tool is missing: run tools/setup" >&2
		exit 1
	fi
done
if [ ! -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ]; then
	echo "FAIL: strongSwan's kernel-libipsec plugin is missing (libcharon-extra-plugins): run tools/setup" >&2
	exit 1
fi
for ns in "${ALL_NS[@]}"; do
	if ip netns list | grep "^$ns\b" >/dev/null; then
		echo "FAIL: namespace $ns exists: another interop test is running, or one was killed" \
		     "(ip netns del $ns)" >&2
		exit 1
	fi
done

T0=$(date +%s.%N)
tmp=$(mktemp -d /tmp/isthmus-interop.XXXXXX)
chmod 700 "$tmp"
PIDS=()
created_ns=()

t() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '[%6ss] %s\n' "$(t "$T0")" "$*"; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# running, and not a zombie (our children stay zombies until waited for)
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "${st:0:1}" != Z ]
}

# start time of a process (clock ticks since boot): with the PID, its identity
starttime() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
# remember a process to stop at exit
track() { PIDS+=("$1:$(starttime "$1")"); }

dump_logs() {
	for f in "$tmp"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines)"
		tail -40 "$f"
	done
}

fail() {
	echo "FAIL: $*" >&2
	dump_logs >&2
	exit 1
}

cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	# stop what we started, newest first, by PID
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		pid=${PIDS[$i]%:*}
		# the same process, not a later one that reuses an exited one's PID
		[ "$(starttime "$pid")" = "${PIDS[$i]#*:}" ] || continue
		kill -TERM "$pid" 2>/dev/null || continue
		for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${created_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	[ "${KEEP_TMP:-}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
	log "cleanup done (exit $rc)"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# (grep -q in a pipe would end it early and, with pipefail, fail the writer
# with SIGPIPE: pipes end in "grep PATTERN >/dev/null")
# Poll CMD (a shell string) every 0.1 s until it succeeds, at most SECONDS s.
wait_for() {
	local secs=$1 what=$2 cmd=$3 n
	n=$(awk -v s="$secs" 'BEGIN { print int(s * 10) }')
	for _ in $(seq 1 "$n"); do
		if eval "$cmd" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	fail "$what: not within $secs s"
}


# isthmus-dp's SAs as "dir:spi" words, sorted
dp_sas() {
	"$CTL" -r "$tmp/a/run" --json sa 2>/dev/null | /usr/bin/python3 -c '
import json, sys
print(" ".join(sorted("%s:%08x" % (s["dir"], int(s["spi"], 16)) for s in json.load(sys.stdin))))'
}
# ping until one answer comes back, at most SECS s; prints the seconds it took
ping_recovers() {
	local from=$1 to=$2 secs=$3 t0
	t0=$(date +%s.%N)
	for _ in $(seq 1 $((secs * 5))); do
		if nsx "$from" ping -c 1 -W 0.2 "$to" >/dev/null 2>&1; then
			t "$t0"
			return 0
		fi
	done
	return 1
}

# ---------------------------------------------------------------- topology
t1=$(date +%s.%N)
for ns in "${ALL_NS[@]}"; do
	ip netns add "$ns"
	created_ns+=("$ns")
	nsx "$ns" ip link set lo up
done
# veths are created directly inside the namespaces: no names in the host's
# namespace, so nothing can collide with the lab or another test there
ip link add up0 netns "$NS_A" type veth peer name up0 netns "$NS_B"
ip link add eth0 netns "$H_A" type veth peer name web0 netns "$NS_A"
ip link add eth0 netns "$H_B" type veth peer name web0 netns "$NS_B"

# site A: the dataplane owns up0 and web0 (af_packet); no kernel chatter on them
for ifc in up0 web0; do
	nsx "$NS_A" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
	nsx "$NS_A" ip link set "$ifc" up
done

# site B: plain Linux. Underlay address on up0, VTEP on lo, VXLAN + bridge.
nsx "$NS_B" ip addr add "$UL_B/24" dev up0
nsx "$NS_B" ip link set up0 up
nsx "$NS_B" ip addr add "$VTEP_B/32" dev lo
nsx "$NS_B" ip link add vx0 type vxlan id "$VNI" local "$VTEP_B" remote "$VTEP_A" dstport 4789
nsx "$NS_B" ip link set vx0 mtu "$HOST_MTU"
nsx "$NS_B" ip link add br0 type bridge
nsx "$NS_B" ip link set vx0 master br0
nsx "$NS_B" ip link set web0 master br0
nsx "$NS_B" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1
# br_netfilter is on in new namespaces and makes the bridge refragment frames
for k in iptables ip6tables arptables; do
	f=/proc/sys/net/bridge/bridge-nf-call-$k
	if nsx "$NS_B" test -e "$f"; then nsx "$NS_B" sh -c "echo 0 > $f"; fi
done
for ifc in vx0 web0 br0; do nsx "$NS_B" ip link set "$ifc" up; done

# hosts
for h in "$H_A:$IP_HA" "$H_B:$IP_HB"; do
	ns=${h%%:*} ip=${h#*:}
	nsx "$ns" ip addr add "$ip/24" dev eth0
	nsx "$ns" ip link set eth0 mtu "$HOST_MTU"
	# veth leaves checksums to "hardware"; the dataplane reads frames with
	# af_packet before anything fills them in: hosts compute their own
	nsx "$ns" ethtool -K eth0 tx off >/dev/null
	nsx "$ns" ip link set eth0 up
done
MAC_HA=$(nsx "$H_A" cat /sys/class/net/eth0/address)
MAC_HB=$(nsx "$H_B" cat /sys/class/net/eth0/address)
log "topology: 4 namespaces, underlay $UL_A <-> $UL_B, VNI $VNI ($(t "$t1") s)"

# Capture the underlay at site B from before IKE to after the pings (the
# capture starts slowly), decoded at the end with the live keys. At B: A's
# dataplane sends with af_packet's qdisc bypass, which captures at A miss.
# (SIGTERM stops it: background jobs of a script ignore SIGINT.)
nsx "$NS_B" dumpcap -i up0 -q -w "$tmp/underlay.pcapng" -a duration:90 -c 2000 -f "udp port 4500" \
	>"$tmp/dumpcap.log" 2>&1 </dev/null &
PID_TS=$!
track "$PID_TS"

# ---------------------------------------------------------------- site B: strongSwan
t1=$(date +%s.%N)
mkdir -p "$tmp/b/run" "$tmp/b/etc"
cat >"$tmp/b/etc/strongswan.conf" <<EOF
# site B: stock charon, userspace ESP (kernel-libipsec): docs/interop.md
charon {
	load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey curve25519 chapoly aes gcm sha2 hmac kdf kernel-libipsec kernel-netlink socket-default vici updown
	install_routes = yes
	filelog {
		b {
			path = $tmp/charon-b.log
			default = 1
			ike = 2
			flush_line = yes
			time_format = %H:%M:%S
		}
	}
	syslog {
		daemon {
			default = -1
		}
	}
	plugins {
		vici {
			socket = unix://$tmp/b/run/charon.vici
		}
	}
}
EOF
PSK=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
cat >"$tmp/b/etc/swanctl.conf" <<EOF
# site B: joins the Isthmus appliance at $UL_A (docs/interop.md)
connections {
	isthmus {
		version = 2
		local_addrs = $UL_B
		remote_addrs = $UL_A
		proposals = aes256gcm16-prfsha256-x25519,chacha20poly1305-prfsha256-x25519
		encap = yes
		dpd_delay = 10s
		local {
			auth = psk
			id = $ID_B
		}
		remote {
			auth = psk
			id = $ID_A
		}
		children {
			vxlan {
				local_ts = $VTEP_B/32
				remote_ts = $VTEP_A/32
				mode = tunnel
				esp_proposals = aes256gcm16-x25519,chacha20poly1305-x25519
				start_action = none
			}
		}
	}
}
secrets {
	ike-isthmus {
		id-a = $ID_A
		id-b = $ID_B
		secret = "$PSK"
	}
}
EOF
chmod 600 "$tmp/b/etc/swanctl.conf"
VICI_B=unix://$tmp/b/run/charon.vici
# charon's pid file path is fixed (/var/run/charon.pid): its own mount
# namespace with a private /run. ip netns exec, unshare and sh all exec, so
# $! is charon's PID.
STRONGSWAN_CONF=$tmp/b/etc/strongswan.conf ip netns exec "$NS_B" \
	unshare -m sh -c "mount --bind '$tmp/b/run' /run && exec /usr/lib/ipsec/charon" \
	>"$tmp/charon-b.stdout.log" 2>&1 </dev/null &
PID_CHARON=$!
track "$PID_CHARON"
wait_for 10 "strongSwan's vici socket" \
	"alive $PID_CHARON && nsx $NS_B swanctl --stats --uri $VICI_B"
alive "$PID_CHARON" || fail "charon exited"
nsx "$NS_B" swanctl --load-all --file "$tmp/b/etc/swanctl.conf" --uri "$VICI_B" \
	>"$tmp/swanctl-load.log" 2>&1 || fail "swanctl --load-all"
grep -q "loaded connection 'isthmus'" "$tmp/swanctl-load.log" || fail "swanctl did not load the connection"
nsx "$NS_B" ip link show ipsec0 >/dev/null 2>&1 || fail "kernel-libipsec created no ipsec0 TUN"
log "site B: charon $(/usr/lib/ipsec/charon --version 2>/dev/null | head -1 || true)(pid $PID_CHARON), swanctl loaded, ipsec0 mtu $(nsx "$NS_B" cat /sys/class/net/ipsec0/mtu) ($(t "$t1") s)"

# ---------------------------------------------------------------- site A: Isthmus
t1=$(date +%s.%N)
mkdir -p "$tmp/a/run" "$tmp/a/state"
chmod 700 "$tmp/a/state"
printf '%s\n' "$PSK" >"$tmp/a/psk"
chmod 600 "$tmp/a/psk"
cat >"$tmp/a/site-a.ini" <<EOF
; site A: Isthmus, joined by a stock strongSwan site (docs/interop.md)
[appliance]
name = isti-a
mbufs = 4096
run_dir = $tmp/a/run

[uplink]
port = net_af_packet0
address = $UL_A
peer = $UL_B
tap = isti-up
tap_prefix = 24
mtu = 1500
local_vtep = $VTEP_A
peer_vtep = $VTEP_B

[local web]
port = net_af_packet1
mode = access
mtu = $HOST_MTU

[segment workload-web]
local = web
vni = $VNI

[ike]
auth = psk
psk_file = $tmp/a/psk
local_id = $ID_A
peer_id = $ID_B
state_dir = $tmp/a/state
EOF
ip netns exec "$NS_A" "$DP" -l 0,1 --no-huge -m 256 --no-pci --file-prefix=isti-a \
	--log-level=pmd.net.tap:error \
	--vdev=net_af_packet0,iface=up0 --vdev=net_af_packet1,iface=web0 \
	-- -c "$tmp/a/site-a.ini" >"$tmp/isthmus-dp-a.log" 2>&1 </dev/null &
PID_DP=$!
track "$PID_DP"
wait_for 15 "isthmus-dp's exception TAP and control socket" \
	"alive $PID_DP && nsx $NS_A ip link show isti-up && test -S $tmp/a/run/dp.sock"
t_dp=$(t "$t1")
wait_for 15 "dumpcap capturing" "grep 'Capturing on' $tmp/dumpcap.log >/dev/null"
t1=$(date +%s.%N)
ip netns exec "$NS_A" "$ISTHMUSD" -c "$tmp/a/site-a.ini" -d 1 >"$tmp/isthmusd-a.log" 2>&1 </dev/null &
PID_D=$!
track "$PID_D"
log "site A: isthmus-dp up ($t_dp s), isthmusd started (pid $PID_D)"

# ---------------------------------------------------------------- IKE
# The lower underlay address (A) initiates; B only responds (start_action = none).
wait_for 20 "IKE_SA and CHILD_SA established (swanctl --list-sas at site B)" \
	"alive $PID_D && nsx $NS_B swanctl --list-sas --uri $VICI_B | grep 'ESTABLISHED' >/dev/null &&
	 nsx $NS_B swanctl --list-sas --uri $VICI_B | grep 'INSTALLED, TUNNEL' >/dev/null"
t_ike=$(t "$t1")
nsx "$NS_B" swanctl --list-sas --uri "$VICI_B" >"$tmp/list-sas.txt"
grep -q "$ID_B\[$ID_A\]\|$ID_A" "$tmp/list-sas.txt" || fail "IKE_SA identities: $(cat "$tmp/list-sas.txt")"
grep -q "AES_GCM_16-256" "$tmp/list-sas.txt" || fail "ESP is not AES-GCM-256: $(cat "$tmp/list-sas.txt")"
grep -q "local  *$VTEP_B/32\$" "$tmp/list-sas.txt" && grep -q "remote *$VTEP_A/32\$" "$tmp/list-sas.txt" || fail "traffic selectors: $(cat "$tmp/list-sas.txt")"
grep -q "INSTALLED, TUNNEL-in-UDP" "$tmp/list-sas.txt" || fail "CHILD_SA not UDP-encapsulated: $(cat "$tmp/list-sas.txt")"
"$CTL" -r "$tmp/a/run" status >"$tmp/isthmusctl-status.txt" 2>&1 || fail "isthmusctl status"
grep -q "ESTABLISHED" "$tmp/isthmusctl-status.txt" || fail "isthmusctl status shows no IKE_SA: $(cat "$tmp/isthmusctl-status.txt")"
wait_for 5 "the SA pair in isthmus-dp" \
	"test \$('$CTL' -r '$tmp/a/run' --json sa | grep -o '\"spi\"' | wc -l) -ge 2"
log "IKE: IKE_SA + CHILD_SA up in $t_ike s (isthmusd initiator, strongSwan responder, PSK)"
sed 's/^/    B: /' "$tmp/list-sas.txt"
sed 's/^/    A: /' "$tmp/isthmusctl-status.txt"

# ---------------------------------------------------------------- ARP + ping
t1=$(date +%s.%N)
out=$(nsx "$H_A" ping -c 1 -W 1 -w 10 "$IP_HB" 2>&1) || fail "first ping A -> B (ARP across the stretch): $out"
t_first=$(t "$t1")
got=$(nsx "$H_A" ip neigh show "$IP_HB" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
[ "$got" = "$MAC_HB" ] || fail "ARP at A resolved $IP_HB to '$got', expected B's host MAC $MAC_HB"
log "ARP A -> B: $IP_HB is at $got (first ping answered after $t_first s)"

out=$(nsx "$H_A" ping -c 10 -i 0.1 -W 2 "$IP_HB" 2>&1) || fail "ping A -> B: $out"
echo "$out" | grep " 0% packet loss" >/dev/null || fail "ping A -> B lost packets: $out"
log "ping A -> B: $(echo "$out" | tail -1)"

nsx "$H_B" ip neigh flush dev eth0
out=$(nsx "$H_B" ping -c 10 -i 0.1 -W 2 "$IP_HA" 2>&1) || fail "ping B -> A: $out"
echo "$out" | grep " 0% packet loss" >/dev/null || fail "ping B -> A lost packets: $out"
got=$(nsx "$H_B" ip neigh show "$IP_HA" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
[ "$got" = "$MAC_HA" ] || fail "ARP at B resolved $IP_HA to '$got', expected A's host MAC $MAC_HA"
log "ARP B -> A: $IP_HA is at $got; ping B -> A: $(echo "$out" | tail -1)"

# full-size frames: 1350-byte IP packets (VXLAN packet = the 1400-byte ipsec0 MTU)
size=$((HOST_MTU - 28))
out=$(nsx "$H_A" ping -c 3 -i 0.1 -W 2 -M do -s "$size" "$IP_HB" 2>&1) || fail "ping A -> B at MTU $HOST_MTU: $out"
out=$(nsx "$H_B" ping -c 3 -i 0.1 -W 2 -M do -s "$size" "$IP_HA" 2>&1) || fail "ping B -> A at MTU $HOST_MTU: $out"
log "full-size ($HOST_MTU-byte IP) pings both ways: ok"

# the MAC tables learnt the hosts: isthmus-dp knows B's host behind the tunnel
"$CTL" -r "$tmp/a/run" macs >"$tmp/macs.txt" 2>&1 || fail "isthmusctl macs"
grep -qi "$MAC_HB" "$tmp/macs.txt" || fail "isthmus-dp did not learn B's host MAC $MAC_HB: $(cat "$tmp/macs.txt")"
nsx "$NS_B" bridge fdb show dev vx0 | grep -i "$MAC_HA" >/dev/null || fail "B's bridge did not learn A's host MAC on vx0"

t1=$(date +%s.%N)
kill -TERM "$PID_TS" 2>/dev/null || true
for _ in $(seq 1 50); do alive "$PID_TS" || break; sleep 0.1; done
log "capture stopped ($(t "$t1") s)"

# ---------------------------------------------------------------- TCP
t1=$(date +%s.%N)
nsx "$H_B" iperf3 -s -1 -D -B "$IP_HB" --pidfile "$tmp/iperf3.pid" >/dev/null 2>&1 || fail "iperf3 server"
wait_for 5 "iperf3 server" "test -s $tmp/iperf3.pid && nsx $H_B ss -ltn | grep ':5201' >/dev/null"
track "$(cat "$tmp/iperf3.pid")"
out=$(nsx "$H_A" timeout 20 iperf3 -c "$IP_HB" -t 3 -J 2>"$tmp/iperf3.err") ||
	fail "iperf3 A -> B: $(echo "$out" | tail -5) $(cat "$tmp/iperf3.err")"
mbit=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["end"]; print("%.1f %d" % (d["sum_received"]["bits_per_second"]/1e6, d["sum_sent"]["retransmits"]))')
set -- $mbit
awk -v m="$1" 'BEGIN { exit !(m >= 1.0) }' || fail "iperf3 A -> B: only $1 Mbit/s"
log "TCP A -> B: $1 Mbit/s received, $2 retransmits (iperf3 -t 3, $(t "$t1") s)"
# where the retransmits come from (informational): ESP that charon's socket at
# B had no room for (userspace ESP is the slower half)
rcvbuf=$(nsx "$NS_B" nstat -az UdpRcvbufErrors 2>/dev/null | awk '$1 == "UdpRcvbufErrors" {print $2}')
log "    site B UDP receive-buffer drops so far: ${rcvbuf:-?}"

t1=$(date +%s.%N)
nsx "$H_B" iperf3 -s -1 -D -B "$IP_HB" --pidfile "$tmp/iperf3b.pid" >/dev/null 2>&1 || fail "iperf3 server"
wait_for 5 "iperf3 server" "test -s $tmp/iperf3b.pid && nsx $H_B ss -ltn | grep ':5201' >/dev/null"
track "$(cat "$tmp/iperf3b.pid")"
out=$(nsx "$H_A" timeout 20 iperf3 -c "$IP_HB" -t 3 -J -R 2>"$tmp/iperf3.err") ||
	fail "iperf3 B -> A: $(echo "$out" | tail -5) $(cat "$tmp/iperf3.err")"
mbit=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin)["end"]; print("%.1f %d" % (d["sum_received"]["bits_per_second"]/1e6, d["sum_sent"]["retransmits"]))')
set -- $mbit
awk -v m="$1" 'BEGIN { exit !(m >= 1.0) }' || fail "iperf3 B -> A: only $1 Mbit/s"
log "TCP B -> A: $1 Mbit/s received, $2 retransmits (iperf3 -R -t 3, $(t "$t1") s)"

# ---------------------------------------------------------------- the wire
# What crossed the underlay is standard ESP-in-UDP carrying VXLAN: tshark
# decrypts it with the keys isthmusd hands out and dissects VXLAN VNI $VNI
# and the hosts' ICMP inside, in both directions.
"$CTL" -r "$tmp/a/run" sa --wireshark >"$tmp/esp_sa" 2>/dev/null || fail "isthmusctl sa --wireshark"
[ "$(wc -l <"$tmp/esp_sa")" -ge 2 ] || fail "isthmusctl sa --wireshark gave $(wc -l <"$tmp/esp_sa") SAs"
# tshark reads ESP SAs from its profile's esp_sa table: a private profile
mkdir -p "$tmp/xdg/wireshark/profiles/isti"
cp "$tmp/esp_sa" "$tmp/xdg/wireshark/profiles/isti/esp_sa"
decoded=$(XDG_CONFIG_HOME=$tmp/xdg tshark -n -r "$tmp/underlay.pcapng" -C isti \
	-o "esp.enable_encryption_decode:TRUE" \
	-Y "vxlan.vni == $VNI && icmp" -T fields -e ip.src -e esp.spi -e vxlan.vni -e eth.src 2>&1 || true)
n_ab=$(echo "$decoded" | awk -v s="$UL_A" -v m="$MAC_HA" '$1 ~ "^"s && tolower($0) ~ m' | wc -l)
n_ba=$(echo "$decoded" | awk -v s="$UL_B" -v m="$MAC_HB" '$1 ~ "^"s && tolower($0) ~ m' | wc -l)
[ "$n_ab" -ge 10 ] && [ "$n_ba" -ge 10 ] ||
	fail "tshark decoded $n_ab A->B and $n_ba B->A ICMP-in-VXLAN-$VNI packets from the ESP: $decoded"
log "wire: tshark decrypted the ESP-in-UDP and found VXLAN VNI $VNI with the hosts' ICMP: $n_ab packets A -> B, $n_ba B -> A"

# ---------------------------------------------------------------- counters
nsx "$NS_B" swanctl --list-sas --uri "$VICI_B" >"$tmp/list-sas.txt"
# "    in  c1a2b3c4,  123456 bytes,  789 packets, ..."
in_b=$(awk '$1 == "in" && $4 == "bytes," {s += $3} END {print s + 0}' "$tmp/list-sas.txt")
out_b=$(awk '$1 == "out" && $4 == "bytes," {s += $3} END {print s + 0}' "$tmp/list-sas.txt")
[ "$in_b" -gt 1000000 ] && [ "$out_b" -gt 1000000 ] || fail "strongSwan CHILD_SA counters: in $in_b, out $out_b bytes"
alive "$PID_D" && alive "$PID_DP" && alive "$PID_CHARON" || fail "a daemon died"
grep -q "IKE_SA isthmus\[[0-9]*\] established" "$tmp/charon-b.log" || fail "charon-b.log has no established IKE_SA"
log "strongSwan counters: $in_b bytes in, $out_b bytes out; all daemons alive"

# ---------------------------------------------------------------- the peer closes
# The stock site deletes the IKE_SA (swanctl --terminate): isthmusd brings the
# tunnel back by itself (close_action = start), isthmus-dp drops the old SAs
# and takes the new ones, and traffic recovers.
old=$(dp_sas)
t1=$(date +%s.%N)
nsx "$NS_B" swanctl --terminate --ike isthmus --uri "$VICI_B" >"$tmp/terminate.log" 2>&1 ||
	fail "swanctl --terminate: $(cat "$tmp/terminate.log")"
wait_for 20 "isthmusd re-establishing after the peer closed the tunnel" \
	"nsx $NS_B swanctl --list-sas --uri $VICI_B | grep 'INSTALLED, TUNNEL' >/dev/null"
t_re=$(t "$t1")
rec=$(ping_recovers "$H_A" "$IP_HB" 10) || fail "no ping A -> B within 10 s of the new CHILD_SA"
out=$(nsx "$H_B" ping -c 3 -i 0.2 -W 2 "$IP_HA" 2>&1) || fail "ping B -> A after re-establishing: $out"
new=$(dp_sas)
[ "$(echo "$new" | wc -w)" -eq 2 ] || fail "isthmus-dp holds '$new' after re-establishing (expected one SA pair; before: '$old')"
for sa in $new; do
	case " $old " in *" $sa "*) fail "isthmus-dp still uses the old SA $sa (before: '$old', now: '$new')" ;; esac
done
log "peer closed the tunnel: isthmusd re-established it in $t_re s, traffic after $rec s more; dataplane SAs '$old' -> '$new'"

# ---------------------------------------------------------------- Isthmus as responder
# isthmusd restarts with [ike] role = responder and the stock site initiates.
t1=$(date +%s.%N)
kill -TERM "$PID_D"
for _ in $(seq 1 50); do alive "$PID_D" || break; sleep 0.1; done
alive "$PID_D" && fail "isthmusd did not stop on SIGTERM within 5 s"
wait "$PID_D" 2>/dev/null || true
sed -i 's/^\[ike\]$/[ike]\nrole = responder/' "$tmp/a/site-a.ini"
grep -x "role = responder" "$tmp/a/site-a.ini" >/dev/null || fail "could not set role = responder"
# the stock site notices the old IKE_SA is gone (isthmusd deletes it on stop)
wait_for 10 "strongSwan dropping the IKE_SA of the stopped isthmusd" \
	"! nsx $NS_B swanctl --list-sas --uri $VICI_B | grep ESTABLISHED >/dev/null"
ip netns exec "$NS_A" "$ISTHMUSD" -c "$tmp/a/site-a.ini" -d 1 >"$tmp/isthmusd-a2.log" 2>&1 </dev/null &
PID_D=$!
track "$PID_D"
wait_for 10 "isthmusd (responder) up" "test -S $tmp/a/run/isthmusd.sock && alive $PID_D &&
	grep 'started for peer .* (responder)' $tmp/isthmusd-a2.log"
sleep 0.5
grep "initiating IKE_SA" "$tmp/isthmusd-a2.log" >/dev/null && fail "isthmusd initiated although role = responder"
nsx "$NS_B" timeout 15 swanctl --initiate --child vxlan --uri "$VICI_B" >"$tmp/initiate.log" 2>&1 ||
	fail "swanctl --initiate: $(tail -5 "$tmp/initiate.log")"
grep "CHILD_SA vxlan{[0-9]*} established" "$tmp/initiate.log" >/dev/null ||
	fail "swanctl --initiate: $(tail -5 "$tmp/initiate.log")"
wait_for 5 "the SA pair in isthmus-dp" "test \$(dp_sas | wc -w) -eq 2"
rec=$(ping_recovers "$H_B" "$IP_HA" 10) || fail "no ping B -> A with Isthmus as responder"
out=$(nsx "$H_A" ping -c 3 -i 0.2 -W 2 "$IP_HB" 2>&1) || fail "ping A -> B with Isthmus as responder: $out"
log "isthmusd restarted as responder, strongSwan initiated: tunnel and pings back in $(t "$t1") s"

log "PASS: Isthmus <-> stock strongSwan + Linux VXLAN (total $(t "$T0") s)"
