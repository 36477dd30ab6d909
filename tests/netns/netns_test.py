#!/usr/bin/python3
"""tests/netns/netns_test.py TOP BUILD CASE: end-to-end tests of the two-site
lab (issues 5 and 6). Each case brings up its own lab (tools/isthmus-lab with
ISTHMUS_LAB=nt<pid>), checks, prints what it measured and removes the lab.

Hosts (tools/isthmus-lab): site A web 192.0.2.11 / 2001:db8:5101::11,
app 198.51.100.11 / 2001:db8:5102::11; site B .21 / ::21. Each site's hosts
hang on a switch namespace (P-a-sw, P-b-sw: bridges br-web, br-app) with the
appliance's local ports.
"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab import Fail, check, main, new_lab, ping_stats, ping_times, rtt  # noqa: E402

WEB_A, WEB_B = "192.0.2.11", "192.0.2.21"
APP_A, APP_B = "198.51.100.11", "198.51.100.21"
WEB6_B, APP6_B = "2001:db8:5101::21", "2001:db8:5102::21"


def ping_ok(lab, ns, dst, what, n=5, *extra):
    r = lab.x(ns, "ping", "-c", str(n), "-i", "0.2", "-W", "2", *extra, dst, check_rc=False)
    tx, rx = ping_stats(r.stdout)
    check(r.returncode == 0 and rx == tx == n, "%s: %d/%d replies, %s" % (what, rx, tx, rtt(r.stdout)))
    return r


# -- issue 6 test 1 ------------------------------------------------------------
def case_stretch(top, build):
    """ARP, IPv4, IPv6 (global and link-local), broadcast, multicast across the
    stretch; the two segments isolated from each other."""
    lab = new_lab(top, build)
    lab.up("--no-traffic")

    # ARP: a's request (broadcast) crosses, b's reply comes back
    lab.x("a-web", "ip", "neigh", "flush", "dev", "eth0")
    lab.x("b-web", "ip", "neigh", "flush", "dev", "eth0")
    ping_ok(lab, "a-web", WEB_B, "IPv4 ping web A -> B (after ARP)", 3)
    mac_a, mac_b = lab.mac("a-web"), lab.mac("b-web")
    neigh = lab.x("a-web", "ip", "neigh", "show", WEB_B, "dev", "eth0").stdout
    check("lladdr " + mac_b in neigh, "ARP at A resolved %s to B's MAC %s (%s)" % (WEB_B, mac_b, neigh.strip()))
    neigh = lab.x("b-web", "ip", "neigh", "show", WEB_A, "dev", "eth0").stdout
    check("lladdr " + mac_a in neigh, "B learned %s -> %s from A's ARP request" % (WEB_A, mac_a))
    ping_ok(lab, "a-app", APP_B, "IPv4 ping app A -> B")
    ping_ok(lab, "b-app", APP_A, "IPv4 ping app B -> A")

    # IPv6
    ping_ok(lab, "a-web", WEB6_B, "IPv6 ping web A -> B (global)")
    ping_ok(lab, "a-app", APP6_B, "IPv6 ping app A -> B (global)")
    ll = lab.ll6("b-web")
    check(ll is not None, "B web host has a link-local address (%s)" % ll)
    ping_ok(lab, "a-web", ll + "%eth0", "IPv6 ping web A -> B (link-local)")

    # broadcast and multicast: only a host at B can answer these from .21
    for ns in ("b-web", "a-web"):
        lab.x(ns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_broadcasts=0")
    r = lab.x("a-web", "ping", "-b", "-c", "3", "-i", "0.3", "-W", "2", "192.0.2.255", check_rc=False)
    check("from %s" % WEB_B in r.stdout, "broadcast ping 192.0.2.255 from A answered by B's host")
    r = lab.x("a-web", "ping", "-c", "3", "-i", "0.3", "-W", "2", "-I", "eth0", "224.0.0.1", check_rc=False)
    check("from %s" % WEB_B in r.stdout, "IPv4 multicast ping 224.0.0.1 from A answered by B's host")
    r = lab.x("a-web", "ping", "-c", "3", "-i", "0.3", "-W", "2", "ff02::1%eth0", check_rc=False)
    check("from %s%%eth0" % ll in r.stdout, "IPv6 multicast ping ff02::1 from A answered by B's host (%s)" % ll)

    # isolation: web hosts speaking the app subnet do not reach the app segment
    lab.x("a-web", "ip", "addr", "add", "198.51.100.99/24", "dev", "eth0")
    lab.x("a-web", "ip", "addr", "add", "2001:db8:5102::99/64", "dev", "eth0", "nodad")
    r = lab.x("a-web", "ping", "-c", "3", "-i", "0.3", "-W", "1", "-I", "198.51.100.99", APP_B, check_rc=False)
    check(ping_stats(r.stdout)[1] == 0, "web host with an app address gets no reply from B's app host")
    r = lab.x("a-web", "ping", "-c", "3", "-i", "0.3", "-W", "1", APP6_B, check_rc=False)
    check(ping_stats(r.stdout)[1] == 0, "... nor over IPv6 (2001:db8:5102::99 -> ::21)")
    for ns in ("b-app", "a-app"):
        neigh = lab.x(ns, "ip", "-4", "neigh", "show").stdout + lab.x(ns, "ip", "-6", "neigh", "show").stdout
        check("198.51.100.99" not in neigh and "2001:db8:5102::99" not in neigh,
              "app host %s never heard the web host's ARP/ND" % ns)
    # and the app segment itself still works
    ping_ok(lab, "a-app", APP_B, "IPv4 ping app A -> B still fine", 2)


# -- issue 6 test 2 ------------------------------------------------------------
def case_tcp(top, build):
    """iperf3 across the stretch, both directions."""
    lab = new_lab(top, build)
    lab.up("--no-traffic")
    for seg, ns_c, ns_s, dst, rev in (("web", "a-web", "b-web", WEB_B, False),
                                      ("app", "a-app", "b-app", APP_B, True)):
        srv = lab.bg(ns_s, "iperf3", "-s", "-1")
        time.sleep(0.3)
        args = ["timeout", "20", "iperf3", "-c", dst, "-t", "3", "-J"] + (["-R"] if rev else [])
        r = lab.x(ns_c, *args, check_rc=False, timeout=30)
        srv.wait(timeout=10)
        try:
            end = json.loads(r.stdout)["end"]
            rx = end["sum_received"]
        except (ValueError, KeyError):
            print(r.stdout[-2000:])
            raise Fail("iperf3 %s gave no result" % seg)
        mbit = rx["bits_per_second"] / 1e6
        check(r.returncode == 0 and rx["bytes"] > 1_000_000,
              "TCP %s %s: %.1f MB in %.1f s = %.0f Mbit/s, %d retransmits" %
              (seg, "B -> A" if rev else "A -> B", rx["bytes"] / 1e6, rx["seconds"], mbit,
               end.get("sum_sent", {}).get("retransmits", -1)))
        print("MEASURED tcp_%s_%s_mbit_s=%.0f" % (seg, "b_to_a" if rev else "a_to_b", mbit))


# -- issue 6 test 3 ------------------------------------------------------------
VM_MAC, VM_IP = "02:00:5e:00:02:32", "192.0.2.50"

# Runs in the VM's namespace: waits for a line on stdin, then sends a RARP
# request from the VM's MAC on eth0 as ESXi does after a vMotion (broadcast,
# ethertype 0x8035, opcode 3 "request reverse", sender and target = the MAC,
# addresses 0), and prints the time it was sent.
RARP_SENDER = r"""
import socket, struct, sys, time
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 3) + mac + bytes(4) + mac + bytes(4)
frame = b"\xff" * 6 + mac + struct.pack("!H", 0x8035) + arp + bytes(60 - 14 - len(arp))
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()
t = time.time()
s.send(frame)
sys.stdout.write("%.6f\n" % t); sys.stdout.flush()
"""


def case_migrate(top, build):
    """A VM (MAC M, IP I) moves from site A's switch to site B's, a RARP from M
    is sent at B, and pings to I from a third host at A recover within 1 s."""
    lab = new_lab(top, build)
    lab.up("--no-traffic")
    vm = lab.add_ns("vm")
    lab.x("vm", "ip", "link", "add", "eth0", "address", VM_MAC, "type", "veth",
          "peer", "name", "vm", "netns", lab.ns("a-sw"))
    lab.x("vm", "ip", "addr", "add", VM_IP + "/24", "dev", "eth0")
    lab.x("vm", "ip", "link", "set", "eth0", "mtu", "1380")
    lab.x("vm", "ethtool", "-K", "eth0", "tx", "off")
    lab.x("vm", "ip", "link", "set", "eth0", "up")
    lab.x("a-sw", "ip", "link", "set", "vm", "master", "br-web", "up")

    # before: the VM at A talks to both sites, so both appliances know M
    # (A as local, B as remote): the move has to correct both
    ping_ok(lab, "a-web", VM_IP, "before: A host -> VM at site A", 3)
    ping_ok(lab, "vm", WEB_B, "before: VM at site A -> B host", 3)
    macs = {s: lab.ctl(s, "--json", "macs").stdout for s in "ab"}
    check(VM_MAC in macs["a"] and VM_MAC in macs["b"], "both appliances have learned M %s" % VM_MAC)

    rarp = lab.bg("vm", "/usr/bin/python3", "-c", RARP_SENDER, VM_MAC, stdin=subprocess.PIPE)
    check(rarp.stdout.readline().strip() == "ready", "RARP sender ready in the VM namespace")
    # the third host pings I every 10 ms for 5 s
    pinger = lab.bg("a-web", "ping", "-D", "-n", "-i", "0.01", "-W", "1", "-w", "5", VM_IP)
    time.sleep(1.5)
    # the move: the VM's port leaves A's switch and joins B's, then the RARP
    t_move = time.time()
    lab.x("a-sw", "ip", "link", "set", "vm", "netns", lab.ns("b-sw"))
    lab.x("b-sw", "ip", "link", "set", "vm", "master", "br-web", "up")
    rarp.stdin.write("go\n")
    rarp.stdin.flush()
    t_rarp = float(rarp.stdout.readline())
    rarp.wait(timeout=5)
    out = pinger.communicate(timeout=15)[0]
    times = ping_times(out)
    before = [t for t in times if t < t_move]
    after = [t for t in times if t > t_rarp]
    tx, rx = ping_stats(out)
    print("  pings: %d sent, %d answered (%d before the move, %d after the RARP)" %
          (tx, rx, len(before), len(after)))
    check(len(before) > 20, "pings to the VM answered before the move")
    check(len(after) > 20, "pings to the VM answered after the move")
    recovery = after[0] - t_rarp
    outage = after[0] - before[-1]
    print("MEASURED migrate_recovery_after_rarp_s=%.3f" % recovery)
    print("MEASURED migrate_outage_s=%.3f (last reply before the move to first after; the move took %.3f s)"
          % (outage, t_rarp - t_move))
    check(recovery < 1.0, "traffic to the VM recovered %.3f s after the RARP (< 1 s)" % recovery)
    # the VM is at B now, as both appliances see it
    for s, side in (("a", "remote"), ("b", "local")):
        entries = [m for m in json.loads(lab.ctl(s, "--json", "macs").stdout) if m["mac"] == VM_MAC]
        check(entries and entries[0]["side"] == side, "site %s has M as %s (%s)" % (s.upper(), side, entries))
    ping_ok(lab, "b-web", VM_IP, "after: B host -> VM at site B (local at B)", 3)
    check(lab.stats("a")["counters"]["fdb_moved"] >= 1, "site A counted the MAC move (fdb_moved)")


CASES = {
    "migrate": case_migrate,
    "stretch": case_stretch,
    "tcp": case_tcp,
}

if __name__ == "__main__":
    main(CASES)
