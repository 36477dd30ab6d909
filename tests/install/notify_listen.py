#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Stand in for systemd's notification socket (sd_notify(3), Type=notify) and
check what a service promised when it says READY=1.

usage: notify_listen.py SOCKET TIMEOUT_S [--path P]... [--netdev IFACE]...

Binds the datagram socket SOCKET (give it as NOTIFY_SOCKET to the service),
prints every message received, and at the first READY=1 checks, at that very
moment, that each --path exists and that each --netdev is an interface in the
sender's network namespace (/proc/PID/net/dev, PID from the message's
credentials, as systemd takes it). Then waits for STOPPING=1 until the
timeout. Exit 0 if READY=1 came and every check passed, 1 otherwise.
"""
import os
import socket
import struct
import sys
import time


def main():
    path, timeout = sys.argv[1], float(sys.argv[2])
    paths, netdevs = [], []
    args = sys.argv[3:]
    while args:
        opt, val, args = args[0], args[1], args[2:]
        (paths if opt == "--path" else netdevs).append(val)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s.bind(path)
    print("listening", flush=True)
    t0, ready, ok = time.monotonic(), False, False
    while time.monotonic() - t0 < timeout:
        s.settimeout(max(0.1, timeout - (time.monotonic() - t0)))
        try:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            break
        pid = next((struct.unpack("iII", d[:12])[0] for lvl, typ, d in anc
                    if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS), 0)
        fields = dict(l.split("=", 1) for l in msg.decode(errors="replace").splitlines() if "=" in l)
        print("message from pid %d after %.2f s: %s" % (pid, time.monotonic() - t0,
                                                      " ".join("%s=%s" % kv for kv in fields.items())),
              flush=True)
        if fields.get("READY") == "1" and not ready:
            ready = True
            missing = [p for p in paths if not os.path.exists(p)]
            try:
                with open("/proc/%d/net/dev" % pid) as f:
                    devs = {l.split(":")[0].strip() for l in f.readlines()[2:]}
            except OSError:
                devs = set()
            missing += ["interface " + d for d in netdevs if d not in devs]
            ok = not missing
            print("READY=1: %s" % ("everything promised exists" if ok else
                                   "missing at READY=1: " + ", ".join(missing)), flush=True)
        if fields.get("STOPPING") == "1":
            break
    if not ready:
        print("no READY=1 in %.0f s" % timeout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
