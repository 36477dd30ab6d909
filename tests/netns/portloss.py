# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/portloss.py: every frame a port loses is counted, run by
netns_test.py like the others:

  portloss   site B's local port `web` (net_af_packet on web0) flooded with
             small frames from its veth peer (dp-web, in B's switch) by a
             sender pinned to the CPU of B's worker, the worker at nice 19
             meanwhile, so it cannot empty the socket's receive ring: the
             kernel drops frames there, which DPDK 22.11's PMD does not count. Once the flood stops and the
             worker has read what is left, what the kernel handed to web0
             (`ip -s link` RX packets) equals what isthmus-dp read (ipackets)
             plus what it counts as missed (imissed, the kernel's ring drops
             read from PACKET_STATISTICS: docs/dataplane.md, "Port counters"),
             exactly; missed > 0; the same figures in `isthmusctl stats`
             (JSON, people's table, Prometheus) and DPDK telemetry
             (/isthmus/ports).

Why exact: web0's RX counter is its veth peer's successful transmissions
(veth_get_stats64), each of which the kernel then offers to every AF_PACKET
socket bound to web0, where it lands in the ring (read later: ipackets) or is
dropped and counted (tp_drops: imissed). Frames the receive backlog refused
are not in that counter (they are the sender's tx_dropped, printed), the
kernel sends nothing of its own on web0 (no IPv6 there: isthmus-lab's
quiet_if), and what isthmus-dp sends on web0 is never offered to its own
socket. The counters are read when no frame moves (checked: web0's counter
the same before and after the report).
"""
import json
import os
import re
import subprocess
import time

from isthmus_test import Fail, check
from lab import new_lab

# a bounded flood of 60-byte frames (64 on the wire) to one unknown unicast
# MAC, from a fixed source, on an AF_PACKET socket: prints sent=N
FLOOD = r"""
import socket, sys, time
iface, seconds, limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
frame = bytes.fromhex("020000009999" "020000009998" "88b5") + bytes(46)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
send, sent, t0 = s.send, 0, time.monotonic()
while sent < limit and time.monotonic() - t0 < seconds:
    for _ in range(256):
        try:
            send(frame)
            sent += 1
        except OSError:
            pass
print("sent=%d seconds=%.2f" % (sent, time.monotonic() - t0))
"""


def link_stats(lab, ns, dev):
    """The kernel's counters of @dev in namespace @ns (ip -s -j link)."""
    out = lab.x(ns, "ip", "-s", "-j", "link", "show", "dev", dev).stdout
    st = json.loads(out)[0]["stats64"]
    return {"rx": st["rx"]["packets"], "rx_dropped": st["rx"]["dropped"],
            "tx": st["tx"]["packets"], "tx_dropped": st["tx"]["dropped"]}


def worker_tids(pid):
    """The thread ids of a dataplane's workers (DPDK 22.11 names them rte-worker-N)."""
    tids = []
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().startswith("rte-worker-"):
                tids.append(int(tid))
    return tids


def port(stats, name):
    return [p for p in stats["ports"] if p["name"] == name][0]


def quiet_read(lab, site, ns, dev, name):
    """(web0's counters, the dataplane's report, port @name of it) read while
    no frame moves: web0's RX counter and the port's ipackets the same before
    and after the report (bounded: 40 tries, 0.25 s apart)."""
    for _ in range(40):
        k0 = link_stats(lab, ns, dev)
        st = lab.stats(site)
        k1 = link_stats(lab, ns, dev)
        again = port(lab.stats(site), name)
        if k0["rx"] == k1["rx"] and again["ipackets"] == port(st, name)["ipackets"] and \
                again["imissed"] == port(st, name)["imissed"]:
            return k1, st, port(st, name)
        time.sleep(0.25)
    raise Fail("%s/%s: traffic never stopped (rx %d -> %d)" % (ns, dev, k0["rx"], k1["rx"]))


def case_portloss(top, build):
    nt = __import__("netns_test")
    lab = new_lab(top, build)
    lab.up("--no-pair")
    prefix = "%s-lab-b" % lab.P
    k0, st0, p0 = quiet_read(lab, "b", "b", "web0", "web")
    peer0 = link_stats(lab, "b-sw", "dp-web")
    check(p0["driver"] == "net_af_packet" and "rx_kernel_drops" in p0 and "rx_nombuf" in p0,
          "port web: driver %s, members %s" % (p0.get("driver"), sorted(p0)))
    # The sender on the CPU of B's worker (isthmus-lab: workers on CPU 1),
    # the worker at nice 19 meanwhile: the scheduler then gives the sender
    # most of that CPU whatever its slice length, and the ring (the PMD's
    # default of 512 frames) overflows while the worker waits its turn.
    tids = worker_tids(lab.pid("dp", "b"))
    check(tids, "site B's worker threads: %s" % tids)
    # live rates over the flood's first 2 s: the port's missed frames per second
    live = subprocess.Popen([lab.ctl_bin, "-r", "%s/site-b" % lab.run, "--json", "stats", "-i", "1",
                             "-c", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.procs.append(live)
    for t in tids:
        os.setpriority(os.PRIO_PROCESS, t, 19)
    try:
        r = lab.x("b-sw", "taskset", "-c", "1", "/usr/bin/python3", "-c", FLOOD, "dp-web", "4",
                  "2000000", timeout=30)
    finally:
        for t in tids:
            os.setpriority(os.PRIO_PROCESS, t, 0)
    sent = int(re.search(r"sent=(\d+)", r.stdout).group(1))
    k1, st1, p1 = quiet_read(lab, "b", "b", "web0", "web")
    peer1 = link_stats(lab, "b-sw", "dp-web")
    handed = k1["rx"] - k0["rx"]
    got = p1["ipackets"] - p0["ipackets"]
    missed = p1["imissed"] - p0["imissed"]
    kdrops = p1["rx_kernel_drops"] - p0["rx_kernel_drops"]
    peer_tx = peer1["tx"] - peer0["tx"]
    print("MEASURED sent=%d peer_tx=%d peer_tx_dropped=%d web0_rx=%d web0_rx_dropped=%d "
          "dp_ipackets=%d dp_imissed=%d dp_rx_kernel_drops=%d rx_nombuf=%d difference=%d "
          "missed_pct=%.1f %s" % (
              sent, peer_tx, peer1["tx_dropped"] - peer0["tx_dropped"], handed,
              k1["rx_dropped"] - k0["rx_dropped"], got, missed, kdrops,
              p1["rx_nombuf"] - p0["rx_nombuf"], handed - got - missed,
              100.0 * missed / max(handed, 1), r.stdout.strip()))
    check(handed >= 0.5 * sent and peer_tx == handed,
          "web0 received what its peer sent: %d of %d sent, peer tx %d" % (handed, sent, peer_tx))
    check(missed > 0, "the worker fell behind: %d frames missed" % missed)
    out, err = live.communicate(timeout=20)
    rows = [r for l in out.splitlines() if l.strip() for r in json.loads(l)["ports"]
            if r["name"] == "web"]
    check(live.returncode == 0 and rows and max(r["rx_missed_pps"] for r in rows) > 0,
          "isthmusctl stats -i: port web's rx_missed_pps %s (%s)"
          % ([round(r["rx_missed_pps"]) for r in rows], err.strip()))
    check(missed == kdrops, "af_packet: missed (%d) is the kernel's ring drops (%d)" % (missed, kdrops))
    check(handed == got + missed,
          "every frame counted: web0 received %d = read %d + missed %d (difference %d)"
          % (handed, got, missed, handed - got - missed))
    # the other ports saw nothing of it and lost nothing
    for p in st1["ports"]:
        if p["name"] != "web":
            check(p["imissed"] == port(st0, p["name"])["imissed"],
                  "port %s: imissed %d" % (p["name"], p["imissed"]))

    # the same figures everywhere an operator reads them
    tel = nt.telemetry(prefix, "/isthmus/ports")
    # (a stray frame from B's web host may have been read since: ipackets may grow)
    check(tel["web"]["imissed"] == p1["imissed"] and tel["web"]["ipackets"] >= p1["ipackets"] and
          tel["web"]["rx_kernel_drops"] == p1["rx_kernel_drops"],
          "telemetry /isthmus/ports web: %s" % tel["web"])
    prom = lab.ctl("b", "stats", "--prometheus").stdout
    m = re.search(r'^isthmus_port_rx_missed_packets_total\{[^}]*port="web"[^}]*\} (\d+)$', prom, re.M)
    check(m and int(m.group(1)) == p1["imissed"],
          "Prometheus isthmus_port_rx_missed_packets_total{port=\"web\"}: %s"
          % (m.group(1) if m else None))
    human = lab.ctl("b", "stats").stdout
    m = re.search(r"^\s+web\s+(\d+)\s+%d\s+\d+$" % p1["imissed"], human, re.M)
    check(m and int(m.group(1)) >= p1["ipackets"],
          "isthmusctl stats lists port web with rx >= %d, missed %d:\n%s"
          % (p1["ipackets"], p1["imissed"], human))
    # reading again adds nothing: PACKET_STATISTICS resets on read, the sums stay
    again = port(lab.stats("b"), "web")
    check(again["imissed"] == p1["imissed"], "imissed stays %d after more reads (%d)"
          % (p1["imissed"], again["imissed"]))


CASES = {
    "portloss": case_portloss,
}
