# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/afxdp.py: the lab on AF_XDP ports, run by netns_test.py like
the other cases:

  af_xdp   ISTHMUS_LAB_PORTS=af_xdp: both appliances' uplink and local ports
           are `driver = af_xdp` (net_af_xdp on the lab's veths, native XDP).
           The XDP program sits on each port's interface in native mode; an
           idle worker blocks on its AF_XDP sockets; ping and 3 s of iperf3
           TCP cross the stretched segment; what site A sent on its uplink
           is what site B's XDP program saw, which is what it redirected to
           the socket (and B's dataplane read) plus what it dropped on a full
           RX ring, counted in B's uplink imissed; B's web port sent at
           least the bytes iperf3 received; and an idle appliance spends
           under 5 % of a core.
  af_xdp_refused
           what isthmus-dp says when the host cannot run an af_xdp port: a
           missing interface, RSS over queues the port does not read, no
           CAP_SYS_ADMIN, no CAP_NET_RAW, a veth MTU too large for XDP; and
           that the capabilities the drop-in gives suffice
  af_xdp_busy_poll
           the same with both uplinks in preferred busy polling
           (busy_budget = 64: SO_PREFER_BUSY_POLL, a recvfrom() on an empty
           poll); idle workers still block in poll()
"""
import os
import re
import time

from isthmus_test import check
from lab import new_lab, ping_stats, rtt

WEB_B = "192.0.2.21"
IDLE_S = 4


def xdp_mode(lab, site, dev):
    """'xdp' (native), 'xdpgeneric', 'xdpoffload' or None: the program on @dev."""
    out = lab.x(site, "ip", "-d", "link", "show", dev).stdout
    m = re.search(r"\b(xdp|xdpgeneric|xdpoffload)\b", out.splitlines()[0])
    return m.group(1) if m else None


def veth_xdp(lab, site, dev):
    """veth's per-queue XDP counters of @dev (ethtool -S), summed over queues."""
    tot = {}
    for line in lab.x(site, "ethtool", "-S", dev).stdout.splitlines():
        m = re.match(r"\s*rx_queue_\d+_(xdp_packets|xdp_redirect|xdp_drops|drops):\s*(\d+)", line)
        if m:
            tot[m.group(1)] = tot.get(m.group(1), 0) + int(m.group(2))
    return tot


def port(stats, name):
    return [p for p in stats["ports"] if p["name"] == name][0]


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_af_xdp(top, build, what, env):
    lab = new_lab(top, build, env=dict(env, PORTS="af_xdp"))
    lab.up("--no-traffic")
    for site in ("a", "b"):
        for dev in ("up0", "web0", "app0", "db0"):
            mode = xdp_mode(lab, site, dev)
            check(mode == "xdp", "site %s %s: XDP program in native mode (%s)" % (site, dev, mode))
        log = lab.log("dp", site)
        check("idles blocked in the kernel on its queues' sockets" in log,
              "site %s: the idle worker blocks on its AF_XDP sockets" % site)

    sa, sb = lab.stats("a"), lab.stats("b")
    ka = veth_xdp(lab, "b", "up0")
    r = lab.x("a-web", "ping", "-c", "20", "-i", "0.05", "-W", "2", WEB_B, check_rc=False)
    sent, recv = ping_stats(r.stdout)
    check(r.returncode == 0 and recv == sent == 20, "ping A -> B over af_xdp: %d/%d replies, %s"
          % (recv, sent, rtt(r.stdout)))
    rc, end, _ = lab.iperf("a-web", "b-web", WEB_B, 3)
    got = end["sum_received"]["bytes"]
    gbps = end["sum_received"]["bits_per_second"] / 1e9
    retr = end["sum_sent"].get("retransmits", 0)
    check(rc == 0 and got > 0, "iperf3 TCP A -> B over af_xdp: %.2f Gbit/s, %d bytes, %d "
          "retransmits" % (gbps, got, retr))
    time.sleep(1)   # the last ACKs and completions settle
    sa2, sb2 = lab.stats("a"), lab.stats("b")
    kb = veth_xdp(lab, "b", "up0")

    a_up_tx = port(sa2, "uplink")["opackets"] - port(sa, "uplink")["opackets"]
    b_up_rx = port(sb2, "uplink")["ipackets"] - port(sb, "uplink")["ipackets"]
    b_missed = port(sb2, "uplink")["imissed"] - port(sb, "uplink")["imissed"]
    b_xdp = kb.get("xdp_packets", 0) - ka.get("xdp_packets", 0)
    b_redir = kb.get("xdp_redirect", 0) - ka.get("xdp_redirect", 0)
    b_web_tx = port(sb2, "web")["obytes"] - port(sb, "web")["obytes"]
    # the underlay veth loses nothing and only A's dataplane sends on it (A's
    # kernel has no address there); a DPD or keepalive between the two
    # readings of A's and B's counters may add a frame or two
    check(abs(b_xdp - a_up_tx) <= 4, "B's up0 XDP program saw what A's uplink sent (%d vs %d)"
          % (b_xdp, a_up_tx))
    # a redirect fails when the socket's RX ring is full: veth counts the
    # frame as dropped (and the socket as rx_ring_full)
    b_drops = (kb.get("xdp_drops", 0) + kb.get("drops", 0)) - (ka.get("xdp_drops", 0) + ka.get("drops", 0))
    check(b_xdp == b_redir + b_drops, "B's XDP program: %d frames = %d redirected to the socket "
          "+ %d dropped (RX ring full)" % (b_xdp, b_redir, b_drops))
    check(b_up_rx == b_redir, "B's dataplane read every frame the socket got (%d of %d)"
          % (b_up_rx, b_redir))
    check(b_missed == b_drops, "B's uplink imissed counts the frames dropped on a full ring "
          "(%d, dropped %d)" % (b_missed, b_drops))
    check(b_web_tx >= got, "B's web port sent at least the TCP bytes iperf3 received (%d >= %d)"
          % (b_web_tx, got))

    # idle: the workers block on their sockets
    time.sleep(1)
    pids = {s: int(open(os.path.join(lab.run, "dp-%s.pid" % s)).read()) for s in ("a", "b")}
    c0 = {s: cpu_s(p) for s, p in pids.items()}
    t0 = time.monotonic()
    time.sleep(IDLE_S)
    dt = time.monotonic() - t0
    idle = {s: (cpu_s(p) - c0[s]) / dt * 100 for s, p in pids.items()}
    for s in ("a", "b"):
        check(idle[s] < 5.0, "site %s idle on af_xdp: %.1f %% of a core over %d s (under 5 %%)"
              % (s, idle[s], IDLE_S))
    print("MEASURED %s tcp_gbps=%.3f retransmits=%d ping_%s a_uplink_tx=%d b_xdp_packets=%d "
          "b_xdp_redirect=%d b_ring_full_drops=%d b_uplink_rx=%d b_imissed=%d "
          "idle_cpu_a=%.1f%% idle_cpu_b=%.1f%%"
          % (what, gbps, retr, rtt(r.stdout).replace(" ", "_").replace(",", ""), a_up_tx, b_xdp,
             b_redir, b_drops, b_up_rx, b_missed, idle["a"], idle["b"]), flush=True)


def case_af_xdp(top, build):
    run_af_xdp(top, build, "af_xdp", {})


def case_af_xdp_busy_poll(top, build):
    line = "busy_budget = 64"
    run_af_xdp(top, build, "af_xdp_busy_poll", {"A_UPLINK": line, "B_UPLINK": line})


REFUSED_INI = """
[appliance]
name = xr
run_dir = {run}
mbufs = 2048

[uplink]
driver = af_xdp
iface = up0
address = 198.18.0.1
peer = 198.18.0.2
peer_mac = 02:00:5e:12:00:02
local_vtep = 198.19.0.1
peer_vtep = 198.19.0.2

[local lan]
driver = af_xdp
iface = {lan}
mode = access

[segment web]
local = lan
vni = 100
"""


def case_af_xdp_refused(top, build):
    """What isthmus-dp says when the host cannot run an af_xdp port (one
    appliance in a namespace of its own, no lab): each refusal a sentence
    naming the cause and the fix, exit status 1."""
    lab = new_lab(top, build)
    lab.add_ns("xr")
    for a, b, opts in (("up0", "p0", []), ("lan0", "h0", []),
                       ("v4", "v4p", ["numrxqueues", "4", "numtxqueues", "4"])):
        lab.x("xr", "ip", "link", "add", a, *opts, "type", "veth", "peer", "name", b, *opts)
        lab.x("xr", "ip", "link", "set", a, "up")
        lab.x("xr", "ip", "link", "set", b, "up")
    lab.x("xr", "ethtool", "-L", "v4", "rx", "4", "tx", "4")
    dp = os.path.join(build, "dataplane", "isthmus-dp")

    def start(lan, caps=None):
        conf = os.path.join(lab.run, "xr-%s.ini" % lan)
        os.makedirs(lab.run, exist_ok=True)
        with open(conf, "w") as f:
            f.write(REFUSED_INI.format(run=os.path.join(lab.run, "xr"), lan=lan))
        pre = ["setpriv", "--bounding-set", caps, "--inh-caps=-all", "--"] if caps else []
        r = lab.x("xr", *pre, dp, "-l", "0,1", "--no-huge", "-m", "128", "--no-pci",
                  "--file-prefix=%s-xr" % lab.P, "--", "-c", conf, "--max-seconds", "1",
                  check_rc=False, timeout=60)
        return r.returncode, [ln for ln in r.stdout.splitlines() if ln.startswith("isthmus-dp: ")]

    rc, msg = start("lan9")
    check(rc == 1 and any("no interface 'lan9' in this network namespace" in m for m in msg),
          "a missing interface: %s" % msg)
    rc, msg = start("v4")
    check(rc == 1 and any("'v4' spreads received frames over 4 queues but the port reads 1"
                          in m for m in msg), "an interface with 4 RX queues: %s" % msg)
    rc, msg = start("lan0", "-all,+net_admin,+net_raw,+ipc_lock,+bpf,+perfmon")
    check(rc == 1 and any("lacks CAP_SYS_ADMIN" in m for m in msg),
          "without CAP_SYS_ADMIN (CAP_BPF alone): %s" % msg)
    rc, msg = start("lan0", "-all,+net_admin,+ipc_lock,+sys_admin")
    check(rc == 1 and any("refuses AF_XDP sockets" in m and "CAP_NET_RAW" in m for m in msg),
          "without CAP_NET_RAW: %s" % msg)
    lab.x("xr", "ip", "link", "set", "h0", "mtu", "9000")
    lab.x("xr", "ip", "link", "set", "lan0", "mtu", "9000")
    rc, msg = start("lan0")
    check(rc == 1 and any("'lan0' has MTU 9000: native XDP" in m for m in msg),
          "a veth pair at MTU 9000: %s" % msg)
    lab.x("xr", "ip", "link", "set", "lan0", "mtu", "1500")
    lab.x("xr", "ip", "link", "set", "h0", "mtu", "1500")
    rc, msg = start("lan0", "-all,+net_admin,+net_raw,+ipc_lock,+sys_admin")
    check(rc == 0 and not msg, "with CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK and CAP_SYS_ADMIN "
          "only: runs (exit %d) %s" % (rc, msg))


CASES = {
    "af_xdp_refused": case_af_xdp_refused,
    "af_xdp": case_af_xdp,
    "af_xdp_busy_poll": case_af_xdp_busy_poll,
}
