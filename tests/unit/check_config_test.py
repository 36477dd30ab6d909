#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""isthmus-dp --check-config and isthmusd --check-config, like sshd -t: the
example configurations are valid (status 0, nothing printed), a broken one is
status 1 with the loader's error; isthmus-dp reports usage errors before EAL
starts (no DPDK runtime directory made); isthmus-host-prep check reports the
loader's error for a broken NAME.ini.

usage: check_config_test.py SOURCE_ROOT ISTHMUS_DP ISTHMUSD
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from isthmus_test import check, run_test  # noqa: E402


def run(*args, env=None):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, **(env or {})))


def main():
    top, dp, d = sys.argv[1:4]
    for name in ("onprem.ini", "cloud.ini"):
        path = os.path.join(top, "configs", name)
        for prog in (dp, d):
            r = run(prog, "--check-config", path)
            check(r.returncode == 0 and not r.stdout and not r.stderr,
                  "%s --check-config %s: valid, silent" % (os.path.basename(prog), name))
    r = run(dp, "--check-config", os.path.join(top, "configs", "onprem.ini"), "--show",
            "appliance.name")
    check(r.returncode == 0 and r.stdout == "onprem\n", "--show appliance.name: %r" % r.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(top, "configs", "onprem.ini")) as f:
            text = f.read()
        broken = os.path.join(tmp, "broken.ini")
        with open(broken, "w") as f:
            f.write(text.replace("[uplink]", "[uplink]\nnot_a_key = 1", 1))
        for prog in (dp, d):
            r = run(prog, "--check-config", broken)
            check(r.returncode == 1 and "not_a_key" in r.stderr and broken in r.stderr,
                  "%s --check-config: broken file refused with the loader's error: %s"
                  % (os.path.basename(prog), r.stderr.strip()))
        # driver = af_xdp / af_packet ports: the devargs checked by the loader
        xdp = text.replace("port = 0000:0b:00.0", "driver = af_xdp\niface = ens192\nqueues = 2",
                           1).replace("port = 0000:13:00.0", "driver = af_packet\niface = ens224", 1)
        good = os.path.join(tmp, "xdp.ini")
        with open(good, "w") as f:
            f.write(xdp)
        r = run(dp, "--check-config", good, "--show", "ports.af_xdp")
        check(r.returncode == 0 and r.stdout == "ens192 2 0\n",
              "af_xdp uplink and af_packet trunk valid, --show ports.af_xdp: %r %s"
              % (r.stdout, r.stderr.strip()))
        for what, old, new, want in (
                ("an unknown driver", "driver = af_xdp", "driver = xdp", "'xdp': af_xdp or af_packet"),
                ("driver and port", "driver = af_xdp", "driver = af_xdp\nport = 0", "exactly one of"),
                ("no iface", "iface = ens192\n", "", "iface: missing"),
                ("an af_xdp key on af_packet", "iface = ens224", "iface = ens224\nbusy_budget = 64",
                 "busy_budget: only for driver = af_xdp"),
                ("an af_xdp key without driver", "port = 0000:13:00.0", "port = 0\nstart_queue = 1",
                 "start_queue: only for driver = af_xdp"),
                ("iface without driver", "port = 0000:13:00.0", "port = 0\niface = x", "iface: only with"),
                ("0 queues", "queues = 2", "queues = 0", "queues: 0 out of range"),
                ("a bad force_copy", "queues = 2", "queues = 2\nforce_copy = maybe", "force_copy"),
                ("an interface name with a comma", "iface = ens192", "iface = ens1,x=1",
                 "not a safe name"),
                ("one interface twice", "iface = ens224", "iface = ens192",
                 "'ens192' is already the interface of [uplink]"),
                ("a local MTU over an XDP page", "\nmtu = 1380", "\nmtu = 9000",
                 "mtu: 9000: with a driver = af_xdp port")):
            bad = os.path.join(tmp, "xdp-bad.ini")
            src = xdp if old in xdp else text
            with open(bad, "w") as f:
                f.write(src.replace(old, new, 1))
            r = run(dp, "--check-config", bad)
            check(r.returncode == 1 and want in r.stderr, "%s refused: %s" % (what, r.stderr.strip()))
        r = run(dp, "--check-config", os.path.join(tmp, "absent.ini"))
        check(r.returncode == 1 and "absent.ini" in r.stderr, "a missing file: status 1")
        # usage errors before EAL: no runtime directory for this file prefix
        prefix = "ccheck%d" % os.getpid()
        for args in (["--", "--bogus"], ["--", "-c", broken, "--max-seconds", "abc"], [],
                     ["--check-config"]):
            r = run(dp, "--no-huge", "-m", "64", "--file-prefix=" + prefix, *args)
            check(r.returncode == 2 and not os.path.exists("/var/run/dpdk/" + prefix) and
                  "EAL:" not in r.stdout + r.stderr,
                  "isthmus-dp %s: usage error (2) before EAL starts" % " ".join(args))
        # isthmus-host-prep check reads NAME.ini through isthmus-dp
        etc = os.path.join(tmp, "etc", "isthmus")
        os.makedirs(etc)
        with open(os.path.join(etc, "onprem.ini"), "w") as f:
            f.write(text.replace("[uplink]", "[uplink]\nnot_a_key = 1", 1))
        with open(os.path.join(etc, "onprem.env"), "w") as f:
            f.write('EAL_ARGS="--no-huge -m 512"\n')
        r = run("bash", os.path.join(top, "tools", "isthmus-host-prep"), "check", "onprem",
                env={"ISTHMUS_SYSCONFDIR": os.path.join(tmp, "etc"), "ISTHMUS_DP": dp})
        check(r.returncode == 1 and "not_a_key" in r.stderr and "isthmus-dp:" in r.stderr,
              "host-prep check: the loader's error for a broken onprem.ini: %s"
              % [ln for ln in r.stderr.splitlines() if "not_a_key" in ln])
        with open(os.path.join(etc, "onprem.ini"), "w") as f:
            f.write(text)
        r = run("bash", os.path.join(top, "tools", "isthmus-host-prep"), "check", "onprem",
                env={"ISTHMUS_SYSCONFDIR": os.path.join(tmp, "etc"), "ISTHMUS_DP": dp})
        check("not_a_key" not in r.stderr and "[appliance] name" not in r.stderr,
              "host-prep check: the valid onprem.ini passes, its name read by isthmus-dp")


if __name__ == "__main__":
    run_test(main)
