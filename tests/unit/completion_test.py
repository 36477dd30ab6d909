#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bash completion of isthmusctl (deploy/completion/isthmusctl), sourced in a
bash and called as bash calls it (COMP_WORDS, COMP_CWORD; COMPREPLY read
back): commands, options, segment subcommands, appliance names under
/run/isthmus, segment and port names asked of a stand-in dataplane socket
through the real isthmusctl, and the [segment] keys of extend KEY=VALUE,
which must be those of docs/config.md (less vni, local and vlan, which
extend takes as arguments). Without an appliance to ask, names complete to
nothing, at once.

usage: completion_test.py SOURCE_ROOT ISTHMUSCTL
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from isthmus_test import check, run_test  # noqa: E402
from isthmusctl_test import CTL_STATS, FakeIsthmusd  # noqa: E402
from man_test import doc_keys  # noqa: E402

CALL = r'''
source "$1"; shift
complete -p isthmusctl >/dev/null || { echo "no complete -F for isthmusctl"; exit 1; }
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_isthmusctl
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(script, *words):
    """COMPREPLY for the command line WORDS, the last one being completed."""
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", CALL, "bash", script] + list(words),
                       capture_output=True, text=True, timeout=20)
    if r.returncode != 0:
        raise RuntimeError("bash: %s %s" % (r.stdout, r.stderr))
    return sorted(w for w in r.stdout.split("\n") if w)


def main():
    top, ctl = sys.argv[1:3]
    script = os.path.join(top, "deploy", "completion", "isthmusctl")
    with open(os.path.join(top, "docs", "config.md")) as f:
        seg_keys = sorted(set(doc_keys(f.read())["segment"]) - {"vni", "local", "vlan"})

    # what isthmusctl --help lists: every command, its options, the global options
    help_text = subprocess.run([ctl, "--help"], capture_output=True, text=True).stdout
    cmds, opts, sect = {}, set(), None
    for ln in help_text.split("\n"):
        if re.match(r"^\S.*:$", ln):
            sect = ln
        elif re.match(r"^  -", ln):
            opts.update(re.findall(r"(?<![\w-])(--?[\w-]+)", ln.split("  ")[1]))
        elif sect == "Commands:" and re.match(r"^  \S", ln):
            words = ln.split("  ")[1].split()
            for c in words[0].split("|"):
                cmds.setdefault(c, set()).update(
                    re.sub(r"[\[\]]", "", w) for w in words[1:] if w.lstrip("[").startswith("-"))
    check(len(cmds) >= 10 and opts, "isthmusctl --help: %d commands, options %s"
          % (len(cmds), sorted(opts)))
    got = complete(script, ctl, "")
    check(sorted(cmds) == got, "'isthmusctl ': every command of --help (%s)"
          % sorted(set(cmds) ^ set(got)))
    got = complete(script, ctl, "-")
    check(opts <= set(got), "'isthmusctl -': every option of --help (missing %s)"
          % sorted(opts - set(got)))
    for c, copts in sorted(cmds.items()):
        got = complete(script, ctl, c, "-")
        check(copts <= set(got), "'isthmusctl %s -': its options %s (missing %s)"
              % (c, sorted(copts), sorted(copts - set(got))))

    got = complete(script, ctl, "st")
    check(got == ["stats", "status"], "'isthmusctl st': %s" % got)
    got = complete(script, ctl, "--")
    check(got == sorted(o for o in opts if o.startswith("--")) and "--json" in got,
          "'isthmusctl --': the long options: %s" % got)
    got = complete(script, ctl, "-j", "segment", "")
    check(got == ["--agreed", "cutover", "extend", "list", "unextend"],
          "'isthmusctl -j segment ': %s" % got)
    got = complete(script, ctl, "sa", "--w")
    check(got == ["--wireshark", "--wireshark-version"], "'isthmusctl sa --w': %s" % got)

    with tempfile.TemporaryDirectory() as run:
        token = os.path.join(run, "token file.txt")  # a space: one reply, not two
        open(token, "w").close()
        got = complete(script, ctl, "pair", "--token-file", os.path.join(run, "tok"))
        check(got == [token], "'pair --token-file %s/tok': %s" % (run, got))

        # nothing answers: no names, and no wait
        t0 = time.monotonic()
        got = complete(script, ctl, "-r", run, "unextend", "")
        took = time.monotonic() - t0
        check(got == [] and took < 5, "'-r DIR unextend ' with no appliance: %s in %.2f s"
              % (got, took))
        print("MEASURED completion without an appliance: %.3f s" % took)

        segs = [{"name": "web", "vni": 5101, "port": "lan", "vlan": 101, "macs": 2},
                {"name": "web-2", "vni": 5102, "port": "trunk0", "vlan": 0, "macs": 0},
                {"name": "db", "vni": 5200, "port": "lan", "vlan": 200, "macs": 0}]
        stats = {"appliance": "ut", "workers": 1, "counters": {}, "segments": segs}
        fake = FakeIsthmusd(os.path.join(run, "dp.sock"), {CTL_STATS: json.dumps(stats)})
        got = complete(script, ctl, "-r", run, "unextend", "")
        check(got == ["db", "web", "web-2"], "'-r DIR unextend ': the appliance's segments %s"
              % got)
        check(any(t == CTL_STATS for t, _ in fake.requests), "asked through isthmusctl "
              "(a STATS request reached the socket)")
        got = complete(script, ctl, "--run-dir", run, "segment", "cutover", "we")
        check(got == ["web", "web-2"], "'--run-dir DIR segment cutover we': %s" % got)
        got = complete(script, ctl, "-r", run, "extend", "app", "5300", "")
        check(got == ["lan", "trunk0"], "'extend app 5300 ' completes the ports: %s" % got)
        got = complete(script, ctl, "-r", run, "extend", "app", "5300", "lan", "300", "")
        plain = sorted(w[:-1] for w in got if not w.startswith("peer."))
        peer = sorted(w[5:-1] for w in got if w.startswith("peer."))
        check(plain == seg_keys, "extend KEY=: the %d [segment] keys of docs/config.md "
              "(missing %s, extra %s)" % (len(seg_keys), sorted(set(seg_keys) - set(plain)),
                                          sorted(set(plain) - set(seg_keys))))
        check(peer == sorted(seg_keys + ["local", "vlan"]),
              "extend peer.KEY=: the same and peer.local, peer.vlan: %d" % len(peer))
        got = complete(script, ctl, "-r", run, "extend", "app", "5300", "lan", "storm_b")
        check(got == ["storm_broadcast=", "storm_burst="], "'... storm_b': %s" % got)

    # -n: the appliances under /run/isthmus (a directory of our own, removed)
    if os.geteuid() == 0:
        made_root = not os.path.isdir("/run/isthmus")
        name = "ct%d" % os.getpid()
        os.makedirs("/run/isthmus/" + name)
        try:
            got = complete(script, ctl, "-n", "ct%d" % os.getpid())
            check(got == [name], "'-n %s': %s" % (name, got))
        finally:
            os.rmdir("/run/isthmus/" + name)
            if made_root:
                os.rmdir("/run/isthmus")
    # what the completion says about itself: installed under its own name
    with open(script) as f:
        check(re.search(r"^complete -F _isthmusctl isthmusctl$", f.read(), re.M),
              "registered for isthmusctl")


if __name__ == "__main__":
    run_test(main)
