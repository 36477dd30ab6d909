# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/lib/isthmus_test.py: what the Python tests share (pcap, appliance,
idle, netns, isthmusctl). A test imports it with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from isthmus_test import check, run_test  # noqa: E402

check(cond, what) prints every check ("  ok   what" or "  FAIL what") and a
failed check raises Fail: a test stops at its first failure. One behaviour
for every test, and this one rather than collecting failures and reporting
them at the end, because the steps of a test build on the checks before them
(a dataplane that started, a tunnel that came up, a counter that was read):
carrying on reports follow-on failures that bury the first one, or waits for
meson's timeout. The first FAIL line is the failure; the test's cleanup runs
from its finally blocks as before.
"""
import os
import subprocess
import sys


class Fail(Exception):
    """A failed check(); its message is what was checked."""


def check(cond, what):
    """Assert @cond; print the check either way."""
    print("  %s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    if not cond:
        raise Fail(what)


def run_test(test, *args):
    """Run test(*args) as the whole test and exit: 0 when it returns, 1 after
    a failed check (other exceptions end it with their traceback, also 1)."""
    try:
        test(*args)
    except Fail as e:
        print("FAILED: %s" % e, flush=True)
        sys.exit(1)
    print("all checks passed", flush=True)
    sys.exit(0)


def need_root(what):
    """Exit 77 (meson: skipped) unless running as root."""
    if os.geteuid() != 0:
        print("%s need root (namespaces, DPDK)" % what)
        sys.exit(77)


def sh(*args, ns=None, check_rc=True, **kw):
    """Run a command (in network namespace @ns); raise if it fails, unless
    @check_rc is false. Returns the CompletedProcess (text output)."""
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.returncode}: {r.stderr.strip()}")
    return r


def del_netns(*names):
    """Delete these network namespaces, those that exist."""
    for ns in names:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
