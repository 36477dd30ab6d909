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
import os
import socket
import struct
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
    import json
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


CASES = {
    "stretch": case_stretch,
    "tcp": case_tcp,
}

if __name__ == "__main__":
    main(CASES)
