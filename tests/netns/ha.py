# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/ha.py: HA groups (docs/ha.md), run by netns_test.py like the
others. Each case brings up `tools/isthmus-lab up --ha` (site A a group: a1
preferred, a2; site B one appliance) or `--ha both` (B a group too: b1, b2)
and runs its events under traffic (class Traffic): a ping at 50/s from a-web
to b-web (`ping -i 0.02 -D`) and an iperf3 stream from a-app to b-app.

  ha_failover  kill -9 both processes of A's active member: gap < 2 s, the
               CHILD_SAs at B new (no SPI of before), the group's new active
               member announces B's MACs on A's switch (RARP, EtherType
               0x8035); the killed member back: standby (preempt off) and no
               gap; `isthmusctl ha switchover`: gap < 0.5 s
  ha_split     the VRRP between a1 and a2 dropped on the underlay bridge while
               both live: both claim the VIP, B holds one IKE_SA for the
               group, no echo request is delivered twice and no two members
               deliver the same frame, one member stands down (within 20 s:
               [ike] dpd = 2 here); healed: one active alone with the VIP, the
               other standby (or fault during its hold), traffic flows
  ha_both      both sites groups, B with preempt on (hold 3 s): kill -9 B's
               active member: gap < 2 s, new SPIs at A, RARP of A's MACs on
               B's switch; the killed member back takes over again after the
               hold time, gap < 2 s

Every window also asserts what would show a loop: no frame delivered twice to
a host (ping's DUP! and the echo requests per sequence number captured at
b-web), no MAC flap or loop counted by any member (l2guard), and on both
switches (`bridge monitor fdb`) a site's own hosts' MACs never learned on an
appliance's port, the other site's moving at most once per failover.
"""
import collections
import json
import re
import time

from isthmus_test import Fail, check
from lab import new_lab, pcap_fields, ping_stats, ping_times

WEB_A, WEB_B = "192.0.2.11", "192.0.2.21"
APP_A, APP_B = "198.51.100.11", "198.51.100.21"
MEMBERS = {"a": {"a": ("a1", "a2"), "b": ("b",)},
           "both": {"a": ("a1", "a2"), "b": ("b1", "b2")}}
VIP = {"a": "198.18.0.1", "b": "198.18.0.2"}


def _nt():
    """netns_test's outage(), imported when a case runs: netns_test imports
    this module for its case table."""
    import netns_test
    return netns_test


def ha_lab(top, build, mode, ha_a=(), ha_b=(), ike=None):
    """An HA lab (@mode "a" or "both"); @ha_a / @ha_b: lines for that site's
    members' [ha] section; @ike: lines for every [ike] section."""
    env = {"HA": mode}
    if ha_a:
        env["HA_A"] = "\n".join(ha_a)
    if ha_b:
        env["HA_B"] = "\n".join(ha_b)
    lab = new_lab(top, build, env=env, ike=ike)
    lab.members = MEMBERS[mode]
    lab.sites = lab.members["a"] + lab.members["b"]
    return lab


def ha_status(lab, m):
    """`isthmusctl --json ha status` of member @m (None when it does not
    answer: a member that is down)."""
    r = lab.ctl(m, "--json", "ha", "status", check_rc=False)
    if "unknown command 'ha'" in r.stdout:
        raise Fail("isthmusctl has no 'ha' command: this build has no HA mechanism "
                   "([ha], isthmusctl ha status, docs/ha.md)")
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def role(lab, m):
    st = ha_status(lab, m)
    return st.get("role") if st else None


def roles(lab, site):
    return {m: role(lab, m) for m in lab.members[site]}


def vip_holders(lab, site):
    """The members of @site whose TAP holds the VIP (keepalived's MASTER)."""
    out = []
    for m in lab.members[site]:
        r = lab.x(m, "ip", "-4", "-o", "addr", "show", "dev", "isth-up", check_rc=False)
        if " %s/" % VIP[site] in r.stdout:
            out.append(m)
    return out


def wait_roles(lab, want, timeout):
    """Wait until each member in @want reports its role; return the seconds
    it took, or fail saying what they reported."""
    t0 = time.monotonic()
    while True:
        got = {m: role(lab, m) for m in want}
        if got == want:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise Fail("roles after %.0f s: %s, not %s" % (timeout, got, want))
        time.sleep(0.05)


def sa_spis(lab, m):
    """The SPIs of the SAs in member @m's dataplane (isthmusctl sa)."""
    return {(s["dir"], s["spi"]) for s in json.loads(lab.ctl(m, "--json", "sa").stdout)}


class Traffic:
    """The traffic of one window and what watches it. Started by the
    constructor, @seconds long; finish() waits for its end and returns the
    figures (and prints them as a MEASURED line)."""

    def __init__(self, lab, tag, seconds):
        self.lab, self.tag, self.seconds = lab, tag, seconds
        self.caps = []
        # echo requests as they arrive at b-web (each one once)
        self.req = self._tcpdump("b-web", "eth0", "req", "icmp[icmptype] == icmp-echo")
        # what each member puts on its site's web and app bridges (its
        # ports' ingress on the switch): tunnel frames and RARP announcements
        self.ports = {}
        for site in "ab":
            for m in lab.members[site]:
                self.ports[m] = [self._tcpdump(site + "-sw", "%s-%s" % (m if len(m) == 2 else "dp", seg),
                                               "%s-%s" % (m, seg), "icmp or ether proto 0x8035")
                                 for seg in ("web", "app")]
        # both switches' forwarding tables: where each MAC is now, then every change
        self.fdb0 = {s: self._fdb(s) for s in "ab"}
        self.fdb = {s: lab.bg_file(s + "-sw", "%s-fdb-%s" % (tag, s), "bridge", "monitor", "fdb")
                    for s in "ab"}
        time.sleep(0.2)  # bridge monitor subscribes (it says nothing when it has)
        self.srv = lab.iperf_server("b-app")
        self.tcp = lab.bg_file("a-app", tag + "-iperf", "timeout", str(seconds + 15), "iperf3", "-c", APP_B,
                               "-t", str(seconds), "-i", "0.5", "-J")
        self.ping = lab.bg_file("a-web", tag + "-ping", "ping", "-D", "-n", "-i", "0.02", "-W", "1",
                                "-w", str(seconds), WEB_B)
        self.t0 = time.time()

    def _fdb(self, site):
        return self.lab.x(site + "-sw", "bridge", "fdb", "show", "dynamic").stdout

    def _tcpdump(self, ns, dev, name, flt):
        path = "%s/%s-%s.pcap" % (self.lab.run, self.tag, name)
        p = self.lab.tcpdump(ns, dev, path, "-Q", "in", "-s", "128", flt)
        self.caps.append(p)
        return path

    def finish(self, t_event, macs):
        """Wait for the window's end; check and return its figures: gap (the
        longest wait for a reply from the last one before @t_event on), loss,
        duplicates, tunnel frames and RARP per member port, fdb moves."""
        lab = self.lab
        out = lab.output_of(self.ping, timeout=self.seconds + 15)
        tcp_out = lab.output_of(self.tcp, timeout=30)
        lab.iperf_done(self.srv, None)
        time.sleep(0.3)
        for p in self.caps:
            p.send_signal(2)
            p.communicate(timeout=10)
        for p in self.fdb.values():
            p.terminate()
        f = {}
        times = ping_times(out)
        f["gap_ms"] = _nt().outage(times, t_event) * 1000
        tx, rx = ping_stats(out)
        f["sent"], f["received"] = tx, rx
        f["dup_replies"] = len(re.findall(r"DUP!", out))
        # the longest run of requests without a reply: unlike the gap, blind
        # to a pinger the machine did not schedule (then it sends fewer than
        # 50/s: "sent" against "expected" tells)
        answered = sorted({int(m) for m in re.findall(r"icmp_seq=(\d+)", out)})
        f["lost_run"] = max([b - a - 1 for a, b in zip(answered, answered[1:])] + [0])
        seqs = collections.Counter(int(s[0]) for s in pcap_fields(self.req, "icmp.type == 8", "icmp.seq"))
        f["dup_requests"] = sum(c - 1 for c in seqs.values())
        f["delivered"], f["rarp"] = {}, {}
        for m, paths in self.ports.items():
            # a member's ports: the tunnel's frames (the ping's, from the
            # other site's host) and RARP announcements (their source MAC)
            other = WEB_B if m.startswith("a") else WEB_A
            f["delivered"][m] = [(float(t), int(s)) for t, s in
                                 pcap_fields(paths[0], "icmp && ip.src == %s" % other, "frame.time_epoch",
                                             "icmp.seq")]
            f["rarp"][m] = [(float(t), src.lower()) for path in paths for t, src in
                            pcap_fields(path, "eth.type == 0x8035", "frame.time_epoch", "eth.src")]
        mine = set().union(*macs.values())
        f["moves"] = {s: fdb_moves(self.fdb0[s] + lab.output_of(p, timeout=5) + self._fdb(s), mine)
                      for s, p in self.fdb.items()}
        try:
            r = json.loads(tcp_out)
            f["tcp_mbps"] = r["end"]["sum_received"]["bits_per_second"] / 1e6
            f["tcp_stalled_s"] = 0.5 * max_run([i["sum"]["bytes"] == 0 for i in r["intervals"]])
        except (ValueError, KeyError):
            raise Fail("iperf3 a-app -> b-app gave no result: %s" % tcp_out[-500:])
        # a frame of the tunnel that both members of a group put on their switch
        f["both_delivered"] = sum(len(set.intersection(*[{s for _, s in f["delivered"][m]} for m in ms]))
                                  for ms in lab.members.values() if len(ms) == 2)
        print("MEASURED ha_%s gap_ms=%.0f longest_lost_run=%d sent=%d expected=%d received=%d loss=%d "
              "dup_replies=%d dup_requests=%d both_members_delivered=%d tcp_mbps=%.1f tcp_stalled_s=%.1f "
              "rarp=%s fdb_moves=%s"
              % (self.tag, f["gap_ms"], f["lost_run"], tx, self.seconds * 50, rx, tx - rx, f["dup_replies"],
                 f["dup_requests"],
                 f["both_delivered"], f["tcp_mbps"], f["tcp_stalled_s"],
                 {m: len(v) for m, v in f["rarp"].items()},
                 {s: {k: len(v) for k, v in mv.items() if v} for s, mv in f["moves"].items()}),
              flush=True)
        return f


def max_run(flags):
    """Longest run of True in @flags."""
    best = cur = 0
    for x in flags:
        cur = cur + 1 if x else 0
        best = max(best, cur)
    return best


def fdb_moves(out, macs):
    """From `bridge fdb show` and `bridge monitor fdb` output, the ports each
    MAC of @macs was learned on, in order, one entry per change:
    {mac: [port, ...]}."""
    seen = {m: [] for m in macs}
    for line in out.splitlines():
        if line.startswith("Deleted"):
            continue
        w = line.split()
        if len(w) >= 3 and w[0].lower() in seen and w[1] == "dev":
            ports = seen[w[0].lower()]
            if not ports or ports[-1] != w[2]:
                ports.append(w[2])
    return seen


def host_macs(lab):
    """{site: {its hosts' MACs}} of the web and app hosts."""
    return {s: {lab.mac("%s-%s" % (s, seg)).lower() for seg in ("web", "app")} for s in "ab"}


def check_window(lab, f, macs, max_gap_ms, moves_allowed):
    """What every window asserts: the gap, no duplicates, no two members
    delivering the same frame, no loop or flap (l2guard at every member that
    runs; on the switches, a site's own MACs only on host ports and the other
    site's moving at most @moves_allowed[site] times)."""
    check(f["gap_ms"] < max_gap_ms, "longest gap %.0f ms < %d ms" % (f["gap_ms"], max_gap_ms))
    check(f["dup_replies"] == 0, "no duplicate echo reply at a-web (ping's DUP!: %d)" % f["dup_replies"])
    check(f["dup_requests"] == 0, "no echo request delivered twice at b-web (%d)" % f["dup_requests"])
    check(f["both_delivered"] == 0, "no frame of the tunnel delivered by both members of a group (%d)"
          % f["both_delivered"])
    check(f["tcp_mbps"] > 0, "the TCP stream carried data (%.1f Mbit/s)" % f["tcp_mbps"])
    for m in lab.sites:
        try:
            c = lab.stats(m)["counters"]
        except Fail:
            continue  # a member that is down counts nothing
        bad = {k: c.get(k, 0) for k in ("mac_flaps", "drop_loop", "drop_mac_dampened")}
        check(not any(bad.values()), "%s counts no MAC flap or loop: %s" % (m, bad))
    for site, moves in f["moves"].items():
        own = {mac: ps for mac, ps in moves.items() if mac in macs[site] and
               any(not p.startswith(site + "-") for p in ps)}
        check(not own, "switch %s: its hosts' MACs only on host ports (%s)" % (site.upper(), own or "none moved"))
        far = {mac: ps for mac, ps in moves.items() if mac not in macs[site] and ps}
        check(all(len(ps) - 1 <= moves_allowed[site] for ps in far.values()),
              "switch %s: the other site's MACs moved at most %d time(s) (ports in turn: %s)"
              % (site.upper(), moves_allowed[site], far))


def check_rarp(f, member, macs, t_event):
    """@member announced the MACs @macs on its site's switch after @t_event."""
    seen = {mac for t, mac in f["rarp"][member] if t >= t_event}
    check(macs <= seen, "%s announced %s by RARP after the event (saw %s)"
          % (member, sorted(macs), sorted(seen) or "none"))


def check_standby_silent(f, member, t_event):
    """Standby @member put no frame of the tunnel on its switch before @t_event."""
    n = len([t for t, _ in f["delivered"][member] if t < t_event])
    check(n == 0, "standby %s delivered no frame before it took over (%d)" % (member, n))


def up_roles(lab, want):
    lab.up("--no-traffic", timeout=180)  # three or four appliances on a busy machine
    dt = wait_roles(lab, want, 15)
    print("  roles %s after %.1f s" % (want, dt))


def fail_over(lab, tag, victim, survivor, far, macs):
    """Kill -9 both processes of active @victim under traffic (window @tag;
    lab.kill: isthmus-dp and isthmusd, the appliance dies; its keepalived is
    left, as the TAP it watches goes with the dataplane):
    @survivor active within 5 s, gap < 2 s, the SAs at the far site's member
    @far all new, the far site's MACs announced by @survivor on its switch
    (RARP), @survivor silent before, no loop."""
    site, other = victim[0], "b" if victim[0] == "a" else "a"
    spis0 = sa_spis(lab, far)
    tr = Traffic(lab, tag, 8)
    time.sleep(2)
    t_kill = lab.kill(victim)
    dt = wait_roles(lab, {survivor: "active"}, 5)
    print("  %s active %.2f s after the kill" % (survivor, dt))
    f = tr.finish(t_kill, macs)
    spis1 = sa_spis(lab, far)
    print("MEASURED ha_%s_spis before=%s after=%s" % (tag, sorted(spis0), sorted(spis1)))
    check(spis1 and not (spis1 & spis0), "%s's SAs after %s's failover are all new (%d SAs, %d of before)"
          % (far.upper(), site.upper(), len(spis1), len(spis1 & spis0)))
    check_rarp(f, survivor, macs[other], t_kill)
    check_standby_silent(f, survivor, t_kill)
    check_window(lab, f, macs, 2000, {site: 1, other: 0})


def case_ha_failover(top, build):
    lab = ha_lab(top, build, "a")
    up_roles(lab, {"a1": "active", "a2": "standby"})
    check(vip_holders(lab, "a") == ["a1"], "a1 alone holds the VIP (%s)" % vip_holders(lab, "a"))
    macs = host_macs(lab)

    # 1. a1 dies
    fail_over(lab, "failover", "a1", "a2", "b", macs)

    # 2. a1 back: standby (preempt off), and nothing moves
    tr = Traffic(lab, "return", 6)
    t_start = time.time()
    lab.lab("start", "all", "a1")
    wait_roles(lab, {"a1": "standby", "a2": "active"}, 10)
    time.sleep(2)
    check(roles(lab, "a") == {"a1": "standby", "a2": "active"},
          "a1 back is standby, a2 stays active (preempt off): %s" % roles(lab, "a"))
    f = tr.finish(t_start, macs)
    check(not f["delivered"]["a1"], "a1 standby delivered no frame (%d)" % len(f["delivered"]["a1"]))
    check_window(lab, f, macs, 500, {"a": 0, "b": 0})

    # 3. planned switch-over back to a1
    tr = Traffic(lab, "switchover", 6)
    time.sleep(2)
    t_sw = time.time()
    lab.ctl("a2", "ha", "switchover")
    print("  isthmusctl ha switchover returned after %.2f s" % (time.time() - t_sw))
    wait_roles(lab, {"a1": "active", "a2": "standby"}, 2)
    f = tr.finish(t_sw, macs)
    check_window(lab, f, macs, 500, {"a": 1, "b": 0})


def case_ha_split(top, build):
    # a short liveness check: the member whose IKE_SA the peer replaced stands
    # down within dpd + about 8 s (docs/ha.md, "Split brain"); charon sends
    # its check after up to twice dpd without traffic, and VRRP's master-down
    # comes first: 20 s is the bound
    lab = ha_lab(top, build, "a", ike=["dpd = 2"])
    up_roles(lab, {"a1": "active", "a2": "standby"})
    macs = host_macs(lab)
    tr = Traffic(lab, "split", 30)
    time.sleep(2)
    rules = "%s/split.nft" % lab.run
    with open(rules, "w") as fh:
        # the members' VRRP (IP protocol 112) no longer reaches each other;
        # everything else on the underlay does
        fh.write('table bridge ha_split {\n chain cut {\n'
                 '  type filter hook forward priority 0; policy accept;\n'
                 '  iifname "u-a1" oifname "u-a2" ip protocol 112 counter drop\n'
                 '  iifname "u-a2" oifname "u-a1" ip protocol 112 counter drop\n }\n}\n')
    t_cut = time.time()
    lab.x("u", "nft", "-f", rules)
    # both may claim MASTER; B must hold one IKE_SA for the group throughout
    # (two at once for one sample: a replacement in flight, the newer
    # established, the older being deleted); one member must stand down
    holders, max_ike, two, t_down, r = set(), 0, 0, None, {}
    while time.time() < t_cut + 20 and t_down is None:
        holders.add(tuple(vip_holders(lab, "a")))
        n = len((lab.status("b") or {}).get("ike_sas", []))
        max_ike, two = max(max_ike, n), two + (n > 1)
        r = roles(lab, "a")
        if len(holders | {()}) > 2 and sorted(r.values()).count("active") == 1:
            t_down = time.time()   # both claimed it, one stood down since
        time.sleep(0.1)
    n_end = len((lab.status("b") or {}).get("ike_sas", []))
    print("  VIP holders seen during the split: %s; roles now %s; IKE_SAs at B: at most %d, "
          "%d sample(s) with more than one, %d now" % (sorted(holders), r, max_ike, two, n_end))
    print(lab.x("u", "nft", "list", "table", "bridge", "ha_split").stdout.strip())
    check(("a1", "a2") in holders, "both members claimed the VIP while their VRRP was cut (%s)" % sorted(holders))
    check(two <= 1 and n_end == 1, "B held one IKE_SA for the group (more than one in %d sample(s) of 0.1 s, "
          "%d at the end)" % (two, n_end))
    check(t_down is not None, "one member of A stood down within 20 s of the cut: %s" % r)
    print("MEASURED ha_split stand_down_s=%.1f" % (t_down - t_cut))
    time.sleep(1)
    t_heal = time.time()
    lab.x("u", "nft", "delete", "table", "bridge", "ha_split")
    # converged: the active member stays; the other is standby, or fault
    # while its split-brain hold lasts (docs/ha.md)
    active = [m for m, v in r.items() if v == "active"][0]
    other = "a2" if active == "a1" else "a1"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10 and not (role(lab, active) == "active" and
                                              role(lab, other) in ("standby", "fault")
                                              and vip_holders(lab, "a") == [active]):
        time.sleep(0.1)
    dt = time.monotonic() - t0
    r = roles(lab, "a")
    check(r[active] == "active" and r[other] in ("standby", "fault") and vip_holders(lab, "a") == [active],
          "healed: %s active and alone holding the VIP, %s %s (%.1f s)" % (active, other, r[other], dt))
    t_conv = time.time()
    f = tr.finish(t_cut, macs)
    print("MEASURED ha_split_heal converge_s=%.1f ike_sas_max=%d" % (dt, max_ike))
    # from a second after the stand-down until the heal, one member's ports
    # alone carry the tunnel's frames
    late = {m: [s for t, s in f["delivered"][m] if t_down + 1 <= t < t_heal] for m in ("a1", "a2")}
    check(sum(1 for v in late.values() if v) == 1,
          "one member alone delivered tunnel frames after the stand-down (%s)"
          % {m: len(v) for m, v in late.items()})
    tail = [t for t in ping_times(lab.output_of(tr.ping)) if t > t_conv]
    check(tail, "the ping is answered after the members converged (%d replies)" % len(tail))
    # the gap: at most until the stand-down and 2 s. Usually 0.2-0.3 s (B's
    # next hop follows the member holding its SAs), but ARP from the other
    # member can still move it back, and the member with the SAs may have
    # nothing to send that would move it again (docs/ha.md, "Split brain":
    # a known limit, 7.6 s seen once)
    check_window(lab, f, macs, (t_down - t_cut) * 1000 + 2000, {"a": 2, "b": 0})


def case_ha_both(top, build):
    lab = ha_lab(top, build, "both", ha_b=["preempt = yes", "preempt_delay = 3"])
    up_roles(lab, {"a1": "active", "a2": "standby", "b1": "active", "b2": "standby"})
    macs = host_macs(lab)
    fail_over(lab, "both_failover", "b1", "b2", "a1", macs)

    # b1 back: standby first, active again after the hold time (preempt on)
    tr = Traffic(lab, "both_preempt", 15)
    t_start = time.time()
    lab.lab("start", "all", "b1")
    t_up = time.time()
    wait_roles(lab, {"b1": "active", "b2": "standby"}, 12)
    t_back = time.time()
    print("MEASURED ha_both_preempt b1_started_s=%.1f active_again_after_s=%.1f"
          % (t_up - t_start, t_back - t_up))
    check(t_back - t_up >= 2.5, "b1 waited its hold time (3 s) before taking over (%.1f s)" % (t_back - t_up))
    f = tr.finish(t_start, macs)
    check_window(lab, f, macs, 2000, {"a": 0, "b": 1})


CASES = {
    "ha_failover": case_ha_failover,
    "ha_split": case_ha_split,
    "ha_both": case_ha_both,
}
