# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/perftest.py: isthmusctl perftest in the lab, run by
netns_test.py like the others:

  perftest   on an underlay of 1400 bytes (--mtu; [uplink] mtu 1500): site B first with [appliance] perftest = deny: A's perftest is
             refused by the peer (and B's own refused here), B counts the
             HELLO as an unarmed perftest frame. Then B allowed (its
             dataplane restarted with the new file): a test of 64- and
             1400-byte frames each way while a host pings across the web
             segment: RTT, throughput and loss computed and plausible, the
             path MTU the underlay's (1302-byte frames), the plot written; captures on the dataplanes' local-port peers at
             both sites see the ping but not one perftest frame (EtherType
             0x88b5 or the perftest MAC). Last, Ctrl-C while the peer
             generates (after 6 s of A's: longer than the peer's 5 s
             idle disarm, so the keepalives are needed): isthmusctl ends at
             once, "stopped", and neither dataplane sends another perftest
             frame.
"""
import json
import signal
import subprocess
import time

from isthmus_test import Fail, check
from lab import new_lab, ping_stats

WEB_A, WEB_B = "192.0.2.11", "192.0.2.21"
UNDERLAY_MTU = 1400
PT_FILTER = "eth.type == 0x88b5 || eth.addr == 02:49:53:50:54:00"


def counters(lab, site):
    return lab.stats(site)["counters"]


def port_captures(lab):
    """tcpdump on each dataplane local port's peer (dp-* in each site's
    switch): what the dataplane delivers to a port arrives there."""
    caps = []
    for site in "ab":
        for port in ("web", "app", "db"):
            path = "%s/pt-%s-%s.pcap" % (lab.run, site, port)
            p = lab.tcpdump("%s-sw" % site, "dp-" + port, path, "-q", "-s", "96")
            caps.append((site, port, p, path))
    return caps


def count(path, flt=None):
    args = ["tshark", "-r", path, "-T", "fields", "-e", "frame.number"]
    if flt:
        args += ["-Y", flt]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return len(r.stdout.split())


def case_perftest(top, build):
    lab = new_lab(top, build, env={"B_PERFTEST": "deny"})
    # an underlay of 1400 bytes under [uplink] mtu = 1500: the path MTU
    # perftest finds is the underlay's, not the configured one
    lab.up("--no-traffic", "--mtu", str(UNDERLAY_MTU))
    check(lab.wait_tunnel() is not None, "tunnel up")

    # -- refused: B's file says deny ---------------------------------------
    unarmed0 = counters(lab, "b")["drop_perftest_unarmed"]
    r = lab.ctl("a", "perftest", "--duration", "1s", check_rc=False)
    print("  A, B denying: exit %d: %s" % (r.returncode, r.stdout.strip().splitlines()[0]))
    check(r.returncode == 1 and "refused by the peer" in r.stdout and
          "not allowed there" in r.stdout, "A's perftest refused by B (perftest = deny there)")
    r = lab.ctl("b", "perftest", "--duration", "1s", check_rc=False)
    check(r.returncode == 1 and "not allowed on this appliance" in r.stdout,
          "B's own perftest refused at B: %s" % r.stdout.strip())
    c = counters(lab, "b")
    hellos = c["drop_perftest_unarmed"] - unarmed0
    check(hellos > 0 and 0 < c["perftest_tx"] <= hellos,
          "B counted A's HELLOs as unarmed (%d) and sent nothing but its NAKs (%d)"
          % (hellos, c["perftest_tx"]))

    # -- allowed at both: B's dataplane restarted with perftest = allow -------
    conf = "%s/conf/site-b.ini" % lab.run
    with open(conf) as f:
        text = f.read()
    check("perftest = deny" in text, "B's file says perftest = deny")
    with open(conf, "w") as f:
        f.write(text.replace("perftest = deny", "perftest = allow"))
    t0 = time.monotonic()
    lab.kill_start("dp", "b")
    check(lab.wait_tunnel(30) is not None, "tunnel up again after B's dataplane restart")
    for _ in range(100):  # the new CHILD_SAs reach both dataplanes
        if lab.x("a-web", "ping", "-c", "1", "-W", "1", WEB_B, check_rc=False).returncode == 0:
            break
        time.sleep(0.2)

    print("  B's dataplane restarted, tunnel and ping through in %.1f s" % (time.monotonic() - t0))
    caps = port_captures(lab)
    ping = lab.bg_file("a-web", "pt-ping", "ping", "-i", "0.05", "-c", "160", "-W", "1", WEB_B)
    png = "%s/perftest.png" % lab.run
    t0 = time.monotonic()
    r = lab.ctl("a", "--json", "perftest", "--duration", "1s", "--sizes", "64,1200", "--plot",
                png, check_rc=False)
    took = time.monotonic() - t0
    out = r.stdout
    try:
        j = json.loads(out[out.index("{"):])
    except ValueError:
        raise Fail("perftest --json: exit %d, not JSON: %s" % (r.returncode, out))
    ping_out = lab.output_of(ping, timeout=30)
    for _, _, p, _ in caps:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=10)
    print("  perftest (64,1200 bytes, 1 s each way) took %.1f s, exit %d" % (took, r.returncode))
    check(r.returncode == 0 and j["state"] == "done", "perftest done: %s" % j.get("error"))
    rtt = j["rtt"]
    print("MEASURED perftest rtt: %d/%d probes, min %.3f avg %.3f max %.3f ms"
          % (rtt["received"], rtt["sent"], rtt["min_us"] / 1000, rtt["avg_us"] / 1000,
             rtt["max_us"] / 1000))
    check(rtt["sent"] == 20 and rtt["received"] > 0 and rtt["lost"] == rtt["sent"] - rtt["received"],
          "probes sent, answered, lost accounted")
    check(0 < rtt["min_us"] <= rtt["avg_us"] <= rtt["max_us"] < 1e6, "RTT plausible")
    st = j["stages"]
    check([(s["direction"], s["frame"]) for s in st] ==
          [("out", 64), ("in", 64), ("out", 1200), ("in", 1200)], "a stage per size and direction")
    # the largest frame F whose outer IPv4 packet, 60 + roundup4(F + 38) bytes
    # (docs/design.md, "Wire format"), fits the underlay
    want = max(f for f in range(64, 2000) if 60 + (f + 38 + 3) // 4 * 4 <= UNDERLAY_MTU)
    pm = j["pmtu"]
    print("MEASURED perftest path MTU: frames up to %d bytes whole, outer IPv4 %d "
          "(underlay %d, [uplink] mtu %d)" % (pm["frame"], pm["outer_ip"], UNDERLAY_MTU,
                                              pm["uplink_mtu"]))
    check(pm["frame"] == want and pm["outer_ip"] == UNDERLAY_MTU and pm["uplink_mtu"] == 1500,
          "path MTU: the largest frame the %d-byte underlay carries whole (%d)"
          % (UNDERLAY_MTU, want))
    for s in st:
        print("MEASURED perftest %-3s %4d B: sent %d received %d lost %d, %.1f Mbit/s "
              "(offered %.1f), %.1f kpps" % (s["direction"], s["frame"], s["sent"], s["received"],
                                            s["lost"], s["throughput_mbps"], s["offered_mbps"],
                                            s["kpps"]))
        check(s["sent"] > 0 and 0 < s["received"] <= s["sent"] and
              s["lost"] == s["sent"] - s["received"],
              "%s %d: loss accounted (sent = received + lost)" % (s["direction"], s["frame"]))
        check(s["throughput_mbps"] > 0 and s["throughput_mbps"] <= s["offered_mbps"] + 1e-6 and
              s["offered_mbps"] <= j["rate_mbps"] * 1.05,
              "%s %d: throughput > 0, within what was offered, within the rate cap"
              % (s["direction"], s["frame"]))
        expect = s["received"] * s["frame"] * 8 / s["duration_us"]
        check(abs(expect - s["throughput_mbps"]) < 0.01 * expect + 0.01,
              "%s %d: throughput is the frames received over the sender's time"
              % (s["direction"], s["frame"]))
    with open(png, "rb") as f:
        check(f.read(8) == b"\x89PNG\r\n\x1a\n", "--plot wrote a PNG")
    # no perftest frame ever reached a port, the ping did
    seen = {}
    for site, port, _, path in caps:
        seen[(site, port)] = (count(path), count(path, PT_FILTER))
    print("  frames on the local ports' peers (all, perftest): %s" % seen)
    check(all(v[1] == 0 for v in seen.values()), "no perftest frame on any local port")
    check(seen[("b", "web")][0] > 0 and seen[("a", "web")][0] > 0,
          "the captures work: they saw the web segment's ping")
    sent, recv = ping_stats(ping_out)[:2]
    print("MEASURED perftest ping across the web segment during the test: %d/%d" % (recv, sent))
    check(sent > 0 and recv >= 0.9 * sent, "production traffic (ping) passes during the test")
    for site in "ab":
        c = counters(lab, site)
        check(c["perftest_rx"] > 0 and c["perftest_tx"] > 0 and c["drop_perftest_bad"] == 0,
              "site %s: perftest frames both ways, none malformed" % site.upper())

    # -- Ctrl-C while the peer generates ------------------------------------
    p = subprocess.Popen([lab.ctl_bin, "-r", "%s/site-a" % lab.run, "perftest", "--duration",
                          "6s", "--sizes", "1400"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lab.procs.append(p)
    lines, t_end = [], time.monotonic() + 20
    while time.monotonic() < t_end:
        line = p.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "peer -> here" in line:
            break
    check(any("peer -> here" in l for l in lines), "test reached the peer's generation: %s" % lines)
    time.sleep(1.0)
    b0 = counters(lab, "b")["perftest_tx"]
    time.sleep(0.3)
    check(counters(lab, "b")["perftest_tx"] > b0, "B generating before Ctrl-C")
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    rest, _ = p.communicate(timeout=10)
    stop_s = time.monotonic() - t0
    print("MEASURED perftest Ctrl-C: isthmusctl ended %.2f s after SIGINT, exit %d"
          % (stop_s, p.returncode))
    check(stop_s < 1.5 and p.returncode == 1 and "stopped" in rest,
          "Ctrl-C stops the test at once: %s" % (rest.strip().splitlines() or [""])[0])
    time.sleep(0.3)
    c0 = {s: counters(lab, s)["perftest_tx"] for s in "ab"}
    time.sleep(1.0)
    c1 = {s: counters(lab, s)["perftest_tx"] for s in "ab"}
    check(c0 == c1, "neither dataplane generates after Ctrl-C: %s -> %s" % (c0, c1))
    st = lab.ctl("a", "--json", "perftest", "--duration", "100ms", "--sizes", "64", "--probes", "3",
                 check_rc=False)
    check(st.returncode == 0 and json.loads(st.stdout)["state"] == "done",
          "a new test runs after the stopped one (exit %d)" % st.returncode)


CASES = {"perftest": case_perftest}
