# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/observe.py: the netns cases of what an operator reads, run by
netns_test.py like the others:

  metrics      isthmusctl stats --prometheus against a lab carrying iperf3
               traffic: `promtool check metrics` accepts it (Debian's
               prometheus package; under CI=true its absence fails the case),
               per-port, per-segment and per-SA series hold what the traffic
               put there, HELP lines are the dataplane's own descriptions,
               -o writes the file node_exporter's textfile collector reads;
               isthmusctl stats -i 1 -c N: live rates close to iperf3's own
  log_priority the lab's processes as under journald (JOURNAL_STREAM set):
               every line carries a syslog priority prefix; a refused
               pairing, a refused SA, a MAC flap and a loop are warnings;
               routine lines (start, SAs installed, segments) are not
"""
import json
import os
import re
import shutil
import subprocess
import time

from isthmus_test import Fail, check
from lab import new_lab

WEB_A, WEB_B = "192.0.2.11", "192.0.2.21"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prom(text):
    """Prometheus text format: ({(name, frozenset(labels)): value}, {name: help})."""
    samples, helps = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, h = line[7:].partition(" ")
            helps[name] = h
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise Fail("not a Prometheus sample line: %r" % line)
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples, helps


def series(samples, name, **want):
    """Values of metric @name whose labels include @want."""
    return [v for (n, labels), v in samples.items()
            if n == name and all((k, str(x)) in labels for k, x in want.items())]


def counter_descs(top):
    """The dataplane's counter table (dataplane/counters.h): {name: description}."""
    with open(os.path.join(top, "dataplane", "counters.h")) as f:
        return dict(re.findall(r'X\((\w+), "((?:[^"\\]|\\.)*)"\)', f.read()))


def build_version(build):
    """The version this build reports (ctl/isthmus_version.h, made by meson)."""
    with open(os.path.join(build, "ctl", "isthmus_version.h")) as f:
        return re.search(r'#define ISTHMUS_VERSION "([^"]+)"', f.read()).group(1)


def promtool():
    """promtool's path; absent: the case fails under CI=true, else is skipped."""
    p = shutil.which("promtool")
    if p is None:
        if os.environ.get("CI") == "true":
            raise Fail("promtool not installed (Debian package prometheus; tools/setup installs it)")
        print("SKIP: promtool not installed (apt-get install prometheus)")
        raise SystemExit(77)
    return p


def case_metrics(top, build):
    tool = promtool()
    lab = new_lab(top, build)
    # bad arguments are refused before anything is contacted (exit 2, not 3)
    for bad in (["-i", "abc"], ["-i", "0"], ["-c", "2"], ["-i", "1", "-c", "0"], ["-o", "x"],
                ["--prometheus", "-i", "1"], ["--bogus"]):
        r = subprocess.run([lab.ctl_bin, "-r", "/nonexistent", "stats"] + bad,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=10)
        check(r.returncode == 2, "isthmusctl stats %s: exit %d (%s)" % (" ".join(bad), r.returncode,
                                                                      r.stdout.strip()))
    lab.up("--no-traffic")
    before = lab.stats("a")
    # live rates over 1 s rounds while iperf3 runs 4 s from A to B
    rounds = 8
    live = subprocess.Popen([lab.ctl_bin, "-r", "%s/site-a" % lab.run, "--json", "stats", "-i", "1",
                             "-c", str(rounds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lab.procs.append(live)
    time.sleep(0.5)
    rc, end, _ = lab.iperf("a-web", "b-web", WEB_B, 4)
    out, err = live.communicate(timeout=rounds + 10)
    check(rc == 0 and live.returncode == 0, "iperf3 (exit %d) and isthmusctl stats -i (exit %d: %s)"
          % (rc, live.returncode, err.strip()))
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    check(len(lines) == rounds, "stats -i 1 -c %d printed %d rounds" % (rounds, len(lines)))
    iperf_gbps = end["sum_sent"]["bits_per_second"] / 1e9
    sent = end["sum_sent"]["bytes"]
    web_a = [s["name"] for s in before["segments"] if s["vni"] == 5101][0]
    port_web = [s["port"] for s in before["segments"] if s["vni"] == 5101][0]

    def volume(kind, name, key):
        """Bytes the rates of @kind @name say passed over all rounds."""
        return sum(r[key] * 1e9 / 8 * l["interval_s"] for l in lines for r in l[kind]
                   if r["name"] == name and r.get(key) is not None)

    def peak(kind, name, key):
        return max([r[key] for l in lines for r in l[kind] if r["name"] == name and r.get(key)] or [0])

    sa_out = [r["name"] for r in lines[-1]["sas"] if r["name"].startswith("out ")]
    vols = (("segment %s to the peer" % web_a, volume("segments", web_a, "to_peer_gbps")),
            ("port %s rx" % port_web, volume("ports", port_web, "rx_gbps")),
            ("outbound SAs", sum(volume("sas", n, "gbps") for n in sa_out)))
    print("MEASURED iperf3_gbps=%.3f iperf3_bytes=%d live_segment_peak_gbps=%.3f "
          "live_segment_peak_pps=%.0f %s" % (iperf_gbps, sent, peak("segments", web_a, "to_peer_gbps"),
                                             peak("segments", web_a, "to_peer_pps"),
                                             " ".join("live_%s_bytes=%.0f" % (w.split()[0], v)
                                                      for w, v in vols)))
    # the rounds span the whole run: what the rates add up to is what iperf3
    # sent, plus each frame's headers (Ethernet/IP/TCP: ~5 %; in the SA also
    # VXLAN/UDP/IP: ~8 %) and retransmits
    for what, v in vols:
        check(0.98 * sent < v < 1.25 * sent,
              "stats -i: %s add up to %.0f bytes over %d rounds, iperf3 sent %d (x%.3f)"
              % (what, v, rounds, sent, v / sent))
    human = lab.ctl("a", "stats", "-i", "0.5", "-c", "1").stdout
    check(re.search(r"^\s+%s\s" % re.escape(web_a), human, re.M) and "Gbit/s" in human,
          "stats -i for people lists segment %s and Gbit/s:\n%s" % (web_a, human))

    # the textfile collector's file, written atomically, checked by promtool
    path = "%s/isthmus-a.prom" % lab.run
    lab.ctl("a", "stats", "--prometheus", "-o", path)
    after = lab.stats("a")
    check(not os.path.exists(path + ".tmp"), "no temporary file left beside %s" % path)
    with open(path) as f:
        text = f.read()
    r = subprocess.run([tool, "check", "metrics"], input=text, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    check(r.returncode == 0, "promtool check metrics: exit %d %s" % (r.returncode, r.stdout.strip()))
    samples, helps = parse_prom(text)
    print("MEASURED prometheus_samples=%d families=%d bytes=%d" % (len(samples), len(helps), len(text)))
    check(series(samples, "isthmus_build_info", version=build_version(build)) == [1.0],
          "isthmus_build_info{version=\"%s\"} 1" % build_version(build))
    check(series(samples, "isthmus_tunnel_up", appliance="site-a") == [1.0], "isthmus_tunnel_up 1")
    # every drop reason, under one family, labelled by reason
    drops = {k[5:] for k in after["counters"] if k.startswith("drop_")}
    reasons = {dict(l)["reason"] for (n, l) in samples if n == "isthmus_dropped_packets_total"}
    check(drops and reasons == drops, "isthmus_dropped_packets_total has every drop reason (%d)"
          % len(reasons))
    # HELP lines are the dataplane's own descriptions
    descs = counter_descs(top)
    check(helps.get("isthmus_local_rx_total") == descs["local_rx"] and
          helps.get("isthmus_fdb_learned_total") == descs["fdb_learned"],
          "HELP of isthmus_local_rx_total: %r" % helps.get("isthmus_local_rx_total"))
    check("# reason=\"icv\": %s" % descs["drop_icv"] in text, "drop reason icv described")
    # counters between the JSON report before and after
    for k in ("local_rx", "tunnel_out", "uplink_rx"):
        v = series(samples, "isthmus_%s_total" % k)
        check(v and before["counters"][k] <= v[0] <= after["counters"][k],
              "isthmus_%s_total %s within the reports' %d..%d" % (k, v, before["counters"][k],
                                                                  after["counters"][k]))
    # ports count bytes; the web segment's frames to the peer hold iperf3's bytes
    for p in after["ports"]:
        rx = series(samples, "isthmus_port_rx_bytes_total", port=p["name"])
        tx = series(samples, "isthmus_port_tx_bytes_total", port=p["name"])
        # iperf3's bytes came in on the web port and went out sealed on the uplink
        big = rx[0] if rx and p["name"] == port_web else tx[0] if tx and p["name"] == "uplink" else None
        check(rx and tx and rx[0] <= p["ibytes"] and tx[0] <= p["obytes"] and
              (big is None or big > sent),
              "port %s: rx %s tx %s bytes" % (p["name"], rx, tx))
    seg = series(samples, "isthmus_segment_tunnel_out_bytes_total", segment=web_a, vni=5101)
    check(seg and seg[0] - [s for s in before["segments"] if s["name"] == web_a][0]["tunnel_out_bytes"]
          > sent, "segment %s: %s bytes to the peer, iperf3 sent %d" % (web_a, seg, sent))
    for d in ("out", "in"):
        v = series(samples, "isthmus_sa_packets_total", dir=d)
        check(v and max(v) > 0, "isthmus_sa_packets_total{dir=\"%s\"}: %s" % (d, v))
    spis = {dict(l)["spi"] for (n, l) in samples if n == "isthmus_sa_bytes_total"}
    check(spis and all(re.fullmatch(r"0x[0-9a-f]{8}", s) for s in spis), "SPI labels %s" % spis)


def _nt():
    """netns_test's helpers, imported when a case runs (netns_test imports
    this module for its case table)."""
    import netns_test
    return netns_test


PRIO = re.compile(r"^<([0-7])>")
# the events that are warnings or errors in this case, and nothing else
WARNED = re.compile(r"refused: wrong pairing token|pairing failed|MAC \S+ flapping|"
                    r"loop on the local port")


def prio_lines(text):
    """[(priority or None, line)] of a log."""
    out = []
    for line in text.splitlines():
        m = PRIO.match(line)
        out.append((int(m.group(1)) if m else None, line))
    return out


def prio_of(lines, what, pattern):
    """The priorities of the lines of @what matching @pattern (at least one)."""
    found = [p for p, l in lines if re.search(pattern, l)]
    check(found, "%s: a line matching %r" % (what, pattern))
    return found


def case_log_priority(top, build):
    nt = _nt()
    lab = new_lab(top, build)
    # as systemd runs a unit with its output to the journal (sd-daemon(3) prefixes)
    lab.env["JOURNAL_STREAM"] = "8:4711"
    lab.up("--no-pair", "--no-traffic")
    for _ in range(50):
        if lab.status("a") and lab.status("b"):
            break
        time.sleep(0.1)
    token = lab.ctl("a", "pairing-token", "--ttl", "60").stdout.strip()
    nt.refused(lab, nt.tamper(token), "wrong token", "wrong pairing token",
               "refused: wrong pairing token")
    token = lab.ctl("a", "pairing-token", "--ttl", "60").stdout.strip()
    lab.ctl("b", "pair", input=token + "\n")
    check(lab.wait_tunnel(15) is not None, "tunnel up after pairing")
    nt.flap_both(lab, "02:00:5e:00:07:78")
    nt.loop_at_a(lab)
    lab.x("b-web", "/usr/bin/python3", "-c", nt.BCAST_SENDER, "5", "0.05")
    time.sleep(1)
    logs = {(w, s): prio_lines(lab.log(w, s)) for w in ("dp", "isthmusd") for s in "ab"}
    # isthmusd: every line has its priority (charon's too); isthmus-dp: every
    # message of its own and of DPDK (printf'd tables are info without one)
    for (w, s), lines in logs.items():
        bare = [l for p, l in lines if p is None and l.strip() and
                (w == "isthmusd" or re.match(r"(isthmus-dp: |EAL: )", l))]
        check(not bare, "%s %s: every message has a priority prefix (%d lines, %d without: %s)"
              % (w, s.upper(), len(lines), len(bare), bare[:3]))
    ia, ib, da, db = logs["isthmusd", "a"], logs["isthmusd", "b"], logs["dp", "a"], logs["dp", "b"]
    for what, lines, pattern, want in (
            ("isthmusd A", ia, r"refused: wrong pairing token", 4),
            ("isthmusd B", ib, r"pairing failed", 4),
            ("isthmus-dp A", da, r"MAC 02:00:5e:00:07:78 flapping", 4),
            ("isthmus-dp B", db, r"MAC 02:00:5e:00:07:78 flapping", 4),
            ("isthmus-dp A", da, r"loop on the local port", 4),
            ("isthmusd A", ia, r"isthmusd: started for peer", 5),
            ("isthmusd A", ia, r"IKE_SA isthmus\[\d+\] established", 5),
            ("isthmusd B", ib, r"isthmusd: paired with", 5),
            ("isthmus-dp A", da, r"isthmus-dp: (in|out)bound SA 0x[0-9a-f]+ installed", 6),
            ("isthmus-dp A", da, r"EAL: Detected CPU lcores", 6)):
        got = prio_of(lines, what, pattern)
        check(all(p == want for p in got), "%s: %r at priority %d (%s)" % (what, pattern, want, got))
    # EAL's lines once (DPDK's console stream would also send them to syslog)
    eal = [l for p, l in da if "EAL: Detected CPU lcores" in l]
    check(len(eal) == 1, "isthmus-dp A: EAL's first line printed once (%d)" % len(eal))
    # warnings and errors: those events and nothing else
    loud = [(w, s, l) for (w, s), lines in logs.items() for p, l in lines
            if p is not None and p <= 4 and not WARNED.search(l)]
    n = sum(1 for lines in logs.values() for p, l in lines if p is not None and p <= 4)
    print("MEASURED log_lines=%d warning_or_worse=%d unexpected=%d" %
          (sum(len(v) for v in logs.values()), n, len(loud)))
    check(not loud, "journalctl -p warning would show only the events: %s" % loud[:5])

    # the log type "isthmus" of isthmus-dp and no syslog(3) copy of EAL's lines:
    # a dataplane started on a missing configuration file, under strace
    trace = os.path.join(lab.run, "dp.strace")
    dp = os.path.join(build, "dataplane", "isthmus-dp")
    eal = ["--no-huge", "-m", "64", "--no-pci", "--file-prefix=%s-logt" % lab.P]
    env = dict(os.environ, JOURNAL_STREAM="8:4711")
    r = subprocess.run(["strace", "-f", "-e", "trace=connect", "-o", trace, dp] + eal +
                       ["--", "-c", "/nonexistent.ini"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=60)
    with open(trace) as f:
        syslog = [l for l in f if "/dev/log" in l]
    check(r.returncode != 0 and "<3>isthmus-dp: /nonexistent.ini" in r.stdout,
          "the missing file is an error: %s" % r.stdout.strip().splitlines()[-1:])
    # EAL opens syslog once (openlog, LOG_NDELAY) whatever the stream; with
    # no /dev/log here, a syslog(3) call finds it unconnected and tries again
    # (glibc): a line DPDK's console stream also sent to syslog shows as a
    # second connect (2 with it, 1 without, measured)
    lines = len(r.stdout.splitlines())
    check(len(syslog) <= 1 and lines >= 5, "isthmus-dp printed %d lines and connected to /dev/log "
          "%d time(s) (EAL's openlog): no line went to syslog too" % (lines, len(syslog)))
    r = subprocess.run([dp] + eal + ["--log-level=isthmus:critical", "--", "-c", "/nonexistent.ini"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    check(r.returncode != 0 and "isthmus-dp: " not in r.stdout and "<6>EAL: " in r.stdout,
          "--log-level=isthmus:critical quietens isthmus-dp's messages, not EAL's: %s"
          % r.stdout.strip().splitlines()[-1:])


CASES = {
    "metrics": case_metrics,
    "log_priority": case_log_priority,
}
