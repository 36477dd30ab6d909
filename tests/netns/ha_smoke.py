#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/ha_smoke.py: the HA mechanism on one member (docs/ha.md), short.

  ha_smoke  the two-site lab, paired; then site A becomes a member of an HA
            group alone: its own address 198.18.0.3, the group's VIP the
            198.18.0.1 site B has as its peer. Its dataplane starts as
            standby (nothing forwarded: asserted with a ping between the
            sites' hosts, and drop_ha_standby); keepalived (VRRPv3, the file
            isthmusctl ha keepalived-config writes) makes it MASTER, isthmusd
            brings a fresh IKE_SA up from the VIP and the hosts reach each
            other; RUN_DIR/ha.down puts keepalived in FAULT and forwarding
            stops; cleared, the member is elected again with new SAs; a
            switch-over with no other member is refused (exit 1).

usage: ha_smoke.py TOP BUILD ha_smoke
"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from isthmus_test import Fail, check  # noqa: E402
from lab import main, new_lab  # noqa: E402
from observe import parse_prom, promtool, series  # noqa: E402

WEB_B = "192.0.2.21"
OWN_A, VIP = "198.18.0.3", "198.18.0.1"


def ha(lab):
    """site A's HA status (isthmusctl ha status --json), {} if not answering."""
    r = lab.ctl("a", "--json", "ha", "status", check_rc=False)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {}


def wait_for(what, pred, timeout):
    """Seconds until pred() holds (polled every 20 ms), or Fail."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.02)
    raise Fail("%s: not within %.0f s" % (what, timeout))


def pings(lab, n=10):
    """Replies to @n pings from A's web host to B's, 0.1 s apart."""
    out = lab.x("a-web", "ping", "-n", "-c", str(n), "-i", "0.1", "-W", "1", WEB_B,
                check_rc=False).stdout
    m = re.search(r"(\d+) received", out)
    return int(m.group(1)) if m else 0


def write_down(lab, text):
    with open("%s/site-a/ha.down" % lab.run, "w") as f:
        f.write(text + "\n")


def case_ha_smoke(top, build):
    lab = new_lab(top, build)
    lab.up("--no-traffic")
    check(pings(lab, 3) == 3, "the lab forwards before HA is configured")

    # site A becomes a one-member HA group: own address .3, VIP .1
    for what in ("isthmusd", "dp"):
        check(lab.stop(what, "a")[1], "site A's %s stopped" % what)
    conf = "%s/conf/site-a.ini" % lab.run
    with open(conf) as f:
        text = f.read()
    text = text.replace("address = %s\n" % VIP, "address = %s\n" % OWN_A, 1)
    text += "\n[ha]\ngroup = smoke\nvip = %s/24\nvrid = 77\nadvert_interval = 100\n" % VIP
    with open(conf, "w") as f:
        f.write(text)
    lab.lab("start", "dp", "a")
    lab.lab("start", "isthmusd", "a")
    wait_for("isthmusd at A answering", lambda: ha(lab).get("role"), 10)
    st = ha(lab)
    check(st.get("role") == "standby" and st.get("group") == "smoke" and st.get("vip") == VIP,
          "a fresh member is standby (fail safe): %s" % {k: st.get(k) for k in ("role", "group", "vip")})
    before = lab.stats("a")["counters"]["drop_ha_standby"]
    got = pings(lab, 5)
    check(got == 0, "standby: nothing crosses (%d of 5 pings answered)" % got)
    dropped = lab.stats("a")["counters"]["drop_ha_standby"] - before
    check(dropped >= 5, "standby: the host's frames dropped as drop_ha_standby (%d)" % dropped)
    check(not lab.child_sas("a"), "standby: no CHILD_SA")

    # keepalived, with the file isthmusctl writes for this member
    kconf = "%s/keepalived-a.conf" % lab.run
    r = lab.ctl("a", "ha", "keepalived-config")
    with open(kconf, "w") as f:
        f.write(r.stdout)
    check("virtual_ipaddress" in r.stdout and "%s/24 dev isth-up" % VIP in r.stdout and
          "nopreempt" in r.stdout and "advert_int 0.10" in r.stdout,
          "keepalived-config: VIP on the TAP, nopreempt, 100 ms adverts")
    t0 = time.monotonic()
    lab.bg_file("a", "keepalived-a", "/usr/sbin/keepalived", "--dont-fork", "--log-console",
                "--vrrp", "-f", kconf, "-p", "%s/keepalived-a.pid" % lab.run,
                "-r", "%s/vrrp-a.pid" % lab.run)
    t_active = wait_for("MASTER", lambda: ha(lab).get("role") == "active", 10)
    t_tunnel = wait_for("tunnel from the VIP", lambda: lab.child_sas("a") and lab.child_sas("b"), 15)
    spis1 = lab.spis("a")
    print("MEASURED ha_smoke elected %.2f s after keepalived started, tunnel up %.2f s after"
          % (t_active, time.monotonic() - t0))
    peers = {ike["peer"] for ike in (lab.status("b") or {}).get("ike_sas", [])}
    check(peers == {VIP}, "site B's IKE_SA is with the VIP (%s)" % sorted(peers))
    # site B announces the MACs of its local ports through the new tunnel
    # (B's web host's, learned before): RARP frames, flooded at site A
    rarp = wait_for("B's announcement", lambda: lab.stats("b")["counters"]["ha_rarp_sent"] >= 1, 5)
    cb = lab.stats("b")["counters"]
    print("MEASURED ha_smoke site B announced %d MAC(s) (RARP) %.2f s after the tunnel"
          % (cb["ha_rarp_sent"], rarp))
    got = pings(lab, 10)
    check(got >= 9, "active: the hosts reach each other (%d of 10)" % got)
    fo = ha(lab).get("last_failover") or {}
    check(fo.get("gap_ms") is not None, "the last failover has its time to the tunnel: %s" % fo)
    print("MEASURED ha_smoke tunnel up %s ms after MASTER (isthmusd)" % fo.get("gap_ms"))
    # the metrics: the role as a state set, isthmusd's failovers; promtool accepts them
    prom = lab.ctl("a", "stats", "--prometheus").stdout
    r = subprocess.run([promtool(), "check", "metrics"], input=prom, capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, "promtool check metrics accepts the HA series: %s"
          % (r.stdout + r.stderr).strip()[:300])
    samples, _ = parse_prom(prom)
    check(series(samples, "isthmus_ha_role", group="smoke", role="active") == [1.0] and
          series(samples, "isthmus_ha_role", group="smoke", role="standby") == [0.0] and
          series(samples, "isthmus_ha_failovers_total", group="smoke") == [1.0] and
          series(samples, "isthmus_ha_split_brain_total", group="smoke") == [0.0],
          "isthmus_ha_role{role=active} 1, standby 0; failovers 1, split brains 0")
    del t_tunnel

    # ha.down: keepalived FAULT, forwarding stops
    t0 = time.monotonic()
    write_down(lab, "1 test")
    t_fault = wait_for("FAULT", lambda: ha(lab).get("role") == "fault", 5)
    print("MEASURED ha_smoke ha.down to fault %.0f ms" % (t_fault * 1000))
    got = pings(lab, 5)
    check(got == 0, "fault: nothing crosses (%d of 5 answered)" % got)
    wait_for("fault: the member's IKE_SA gone", lambda: not lab.child_sas("a"), 5)

    # cleared: elected again (alone), with new SAs
    write_down(lab, "0")
    t_back = wait_for("MASTER again", lambda: ha(lab).get("role") == "active", 10)
    wait_for("tunnel again", lambda: lab.child_sas("a") and lab.child_sas("b"), 15)
    spis2 = lab.spis("a")
    check(spis2 and not set(spis1) & set(spis2), "new SAs after the new election (%s, then %s)"
          % (spis1, spis2))
    got = pings(lab, 10)
    check(got >= 9, "active again: the hosts reach each other (%d of 10)" % got)
    c = ha(lab).get("counters", {})
    check(c.get("failovers") == 2, "two elections counted: %s" % c)
    print("MEASURED ha_smoke ha.down cleared to active %.2f s; counters %s" % (t_back, c))

    # a switch-over with no other member: resigned, back as BACKUP, elected
    # again as no one took over: refused (exit 1), and active again
    t0 = time.monotonic()
    r = lab.ctl("a", "ha", "switchover", check_rc=False)
    check(r.returncode == 1 and "no other member took over" in r.stdout,
          "switchover alone: exit 1, no other member (exit %d: %s)" % (r.returncode, r.stdout.strip()))
    wait_for("active after the refused switch-over", lambda: ha(lab).get("role") == "active", 10)
    print("MEASURED ha_smoke switchover without a standby refused after %.2f s"
          % (time.monotonic() - t0))


CASES = {"ha_smoke": case_ha_smoke}

if __name__ == "__main__":
    main(CASES)
