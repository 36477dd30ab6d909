# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/labperf.py: the netns case of how the lab uses its machine
(issue 18), run by netns_test.py like the others:

  lab_placement  a lab up without traffic: with two CPUs or more the two
                 appliances' workers run on different CPUs (their threads'
                 affinity, not only what isthmus-lab says), the placement and
                 its reason are written where isthmus-bench-lab reads them,
                 every net_af_packet port has the lab's 4096-frame rings
                 (the mappings of its sockets), and each isthmus-dp uses less
                 than 5 % of a core idle (/proc/PID/stat over 4 s)
"""
import os
import time

from isthmus_test import check
from lab import new_lab

IDLE_PCT_MAX = 5.0
RING_FRAMES, FRAME_SIZE = 4096, 2048   # isthmus-lab's default ISTHMUS_LAB_AF_PACKET


def dp_pid(lab, site):
    with open(os.path.join(lab.run, "dp-%s.pid" % site)) as f:
        return int(f.read())


def threads(pid):
    """{tid: (comm, set of CPUs it may run on)} of process @pid"""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            comm = f.read().strip()
        out[int(tid)] = (comm, os.sched_getaffinity(int(tid)))
    return out


def socket_maps(pid):
    """sizes in bytes of the socket mappings of @pid (net_af_packet's rings)"""
    sizes = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            if len(fields) > 5 and fields[5].startswith("socket:"):
                a, b = (int(x, 16) for x in fields[0].split("-"))
                sizes.append(b - a)
    return sizes


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def case_lab_placement(top, build):
    lab = new_lab(top, build)
    lab.up("--no-traffic")
    cpus = len(os.sched_getaffinity(0))
    with open(os.path.join(lab.run, "placement")) as f:
        note = f.read()
    print("  placement:\n    " + note.strip().replace("\n", "\n    "))
    check("site A: main lcore on CPU" in note and "site B:" in note and len(note.splitlines()) == 3,
          "isthmus-lab wrote the placement and its reason to %s/placement" % lab.run)
    workers = {}
    for site in "ab":
        pid = dp_pid(lab, site)
        t = threads(pid)
        workers[site] = set().union(*(c for comm, c in t.values() if comm.startswith("rte-worker")))
        main = t[pid][1]
        print("MEASURED site %s: main lcore CPUs %s, workers CPUs %s"
              % (site, sorted(main), sorted(workers[site])))
        said = note.splitlines()["ab".index(site)].split("worker(s) on CPU ")[-1].split()
        check(workers[site] == {int(c) for c in said},
              "site %s: its workers run where isthmus-lab says (CPU %s)" % (site, " ".join(said)))
        maps = socket_maps(pid)
        # DPDK maps each port's RX and TX ring together: 2 x frames x frame size
        want = 2 * RING_FRAMES * FRAME_SIZE
        check(len(maps) >= 4 and all(m >= want for m in maps),
              "site %s: every net_af_packet port has rings of %d frames (%s MB mapped each)"
              % (site, RING_FRAMES, sorted({m >> 20 for m in maps})))
    if cpus >= 2:
        check(not workers["a"] & workers["b"],
              "%d CPUs: the two appliances' workers share none (A %s, B %s)"
              % (cpus, sorted(workers["a"]), sorted(workers["b"])))
    else:
        check("one CPU" in note, "one CPU: isthmus-lab says why the workers share it")
    # idle: the pairing and the tunnel's set-up are over; nothing is sent
    time.sleep(1)
    pids = {site: dp_pid(lab, site) for site in "ab"}
    t0, c0 = time.monotonic(), {s: cpu_seconds(p) for s, p in pids.items()}
    time.sleep(4)
    t1, c1 = time.monotonic(), {s: cpu_seconds(p) for s, p in pids.items()}
    for site in "ab":
        pct = 100.0 * (c1[site] - c0[site]) / (t1 - t0)
        print("MEASURED site %s isthmus-dp idle: %.1f %% of a core over %.1f s (load average %s)"
              % (site, pct, t1 - t0, " ".join(open("/proc/loadavg").read().split()[:3])))
        check(pct < IDLE_PCT_MAX, "site %s: idle isthmus-dp uses %.1f %% of a core (< %g %%)"
              % (site, pct, IDLE_PCT_MAX))


CASES = {
    "lab_placement": case_lab_placement,
}
