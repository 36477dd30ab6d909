#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Check a daemon's system calls, traced with `strace -f -o TRACE`, against
what its unit allows: the unit's SystemCallFilter= sets, expanded with
`systemd-analyze syscall-filter` (groups within groups), and that it never
maps memory both writable and executable (MemoryDenyWriteExecute=).

usage: syscalls.py UNIT_FILE TRACE [--eperm-ok CALL]...

--eperm-ok: a call outside the filter that the daemon already sees fail
with EPERM under the unit's capabilities (the filter answers EPERM too:
SystemCallErrorNumber=EPERM), so filtering it changes nothing.
Prints one MEASURED line; exit 0 if every call is allowed.
"""
import re
import subprocess
import sys


def groups():
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                         text=True, check=True).stdout
    g, cur = {}, None
    for line in out.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if line.startswith("@"):
            cur = g.setdefault(s, [])
        elif cur is not None:
            cur.append(s)
    return g


def expand(g, name, depth=0):
    if not name.startswith("@"):
        return {name}
    if depth > 10 or name not in g:
        raise SystemExit("syscalls.py: unknown system call group %s" % name)
    return set().union(*(expand(g, m, depth + 1) for m in g[name]))


def main():
    unit, trace = sys.argv[1], sys.argv[2]
    eperm_ok = set(sys.argv[4::2]) if len(sys.argv) > 3 else set()
    g = groups()
    allowed, sets = set(), []
    for line in open(unit):
        m = re.match(r"SystemCallFilter=(.*)", line.strip())
        if m:
            if m.group(1).startswith("~"):
                raise SystemExit("syscalls.py: deny lists are not handled")
            for name in m.group(1).split():
                sets.append(name)
                allowed |= expand(g, name)
    if not allowed:
        print("FAIL %s has no SystemCallFilter=" % unit)
        return 1
    used, wx = set(), []
    for line in open(trace):
        m = re.match(r"\d+\s+(?:<\.\.\. )?([a-z0-9_]+)[( ]", line)
        if m:
            used.add(m.group(1))
        if re.search(r"\b(mmap|mprotect|pkey_mprotect)\(", line) and "PROT_WRITE" in line \
                and "PROT_EXEC" in line:
            wx.append(line.strip())
    outside = sorted(used - allowed - eperm_ok)
    print("MEASURED %s: %d distinct system calls traced, all within %s%s; %d W+X mappings"
          % (unit.split("/")[-1], len(used), " ".join(sets),
             " (+ %s, EPERM either way)" % " ".join(sorted(used & eperm_ok - allowed))
             if used & eperm_ok - allowed else "", len(wx)) if not outside else
          "FAIL %s: outside %s: %s" % (unit.split("/")[-1], " ".join(sets), " ".join(outside)))
    for line in wx[:3]:
        print("FAIL writable and executable: %s" % line)
    return 1 if outside or wx or not used else 0


if __name__ == "__main__":
    sys.exit(main())
