#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""isthmusctl's handling of pairing secrets and durations, against a stand-in
isthmusd socket (no daemon, no root): the token never on the command line,
read from standard input or a mode-0600 file; pairing-token --ttl with units;
status with both sites' versions, warning when they differ, and a peer too
old to send its version shown as "unknown" without a warning.

usage: isthmusctl_test.py ISTHMUSCTL
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from isthmus_test import check, run_test  # noqa: E402

CTL_MAGIC, CTL_VERSION, CTL_REPLY = 0x4D545349, 1, 0x8000
CTL_D_STATUS, CTL_D_PAIRING_TOKEN, CTL_D_PAIR = 0x40, 0x41, 0x42
HDR = struct.Struct("<IHHII")
TOKEN = "isthmus1-AQoAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


class FakeIsthmusd:
    """Answers each request with "ok" (status: self.status), remembering (type, body)."""

    def __init__(self, path):
        self.requests = []
        self.status = b"{}"
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.bind(path)
        self.s.listen(4)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            c, _ = self.s.accept()
            msg = c.recv(70000)
            magic, ver, typ, ln, seq = HDR.unpack_from(msg)
            self.requests.append((typ, msg[HDR.size:]))
            body = {CTL_D_PAIRING_TOKEN: b"isthmus1-token",
                    CTL_D_STATUS: self.status}.get(typ, b"paired with peer")
            c.send(HDR.pack(CTL_MAGIC, CTL_VERSION, typ | CTL_REPLY, HDR.size + 8 + len(body), seq)
                   + struct.pack("<iI", 0, len(body)) + body)
            c.close()


def main():
    ctl = sys.argv[1]
    with tempfile.TemporaryDirectory() as run:
        fake = FakeIsthmusd(os.path.join(run, "isthmusd.sock"))

        def run_ctl(*args, stdin=""):
            return subprocess.run([ctl, "-r", run] + list(args), input=stdin, text=True,
                                  capture_output=True, timeout=20)

        # --ttl: units, an upper bound, garbage refused (strtoul made '1h' 1 s)
        for arg, want in (("90", 90), ("90s", 90), ("15m", 900), ("1h", 3600), ("24h", 86400)):
            n = len(fake.requests)
            r = run_ctl("pairing-token", "--ttl", arg)
            got = struct.unpack_from("<I", fake.requests[-1][1])[0] if len(fake.requests) > n else None
            check(r.returncode == 0 and got == want, "--ttl %s asks for %s s (%s)" % (arg, want, got))
        for arg in ("1x", "h", "-5", "0", "25h", "86401", "1h30m", "99999999999999999999"):
            n = len(fake.requests)
            r = run_ctl("pairing-token", "--ttl", arg)
            check(r.returncode == 2 and "duration" in r.stderr and len(fake.requests) == n,
                  "--ttl %s refused: %s" % (arg, r.stderr.strip()))

        # pair: the token on the command line is refused, nothing sent
        n = len(fake.requests)
        r = run_ctl("pair", TOKEN)
        check(r.returncode == 2 and "--token-file" in r.stderr and len(fake.requests) == n,
              "pair TOKEN refused, pointing at stdin / --token-file: %s" % r.stderr.strip().split("\n")[0])

        def sent_token():
            typ, body = fake.requests[-1]
            return body.split(b"\0", 1)[0].decode() if typ == CTL_D_PAIR else None

        # from standard input (one line, surrounding line end removed)
        r = run_ctl("pair", stdin=TOKEN + "\r\n")
        check(r.returncode == 0 and sent_token() == TOKEN and "paired" in r.stdout,
              "pair reads the token from standard input")
        n = len(fake.requests)
        r = run_ctl("pair", stdin="")
        check(r.returncode == 2 and len(fake.requests) == n, "empty standard input refused: %s"
              % r.stderr.strip())
        r = run_ctl("pair", stdin="x" * 300 + "\n")
        check(r.returncode == 2 and len(fake.requests) == n, "an over-long line refused")

        # from a file: only if group and others cannot read it
        path = os.path.join(run, "token")
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o640)
        r = run_ctl("pair", "--token-file", path)
        check(r.returncode == 2 and "chmod 600" in r.stderr and len(fake.requests) == n,
              "a group-readable token file refused: %s" % r.stderr.strip())
        os.chmod(path, 0o600)
        r = run_ctl("pair", "--token-file", path)
        check(r.returncode == 0 and sent_token() == TOKEN, "a mode 0600 token file is read")

        # status: both versions; a warning (stderr, exit 0) only when both are known and differ
        base = ('{"name":"a","local_id":"a","peer_id":"b","fingerprint":"f","auth":"pubkey",'
                '"paired":true,"peer_fingerprint":"g","uptime_s":1,"dataplane":true,'
                '"peer_refused":0,"ike_sas":[]')
        for mine, peer, warn in (("1.0+git5.gaaaaaaa", "1.0+git5.gaaaaaaa", False),
                                 ("1.0+git6.gbbbbbb", "1.0+git5.gaaaaaaa", True),
                                 ("1.0", "unknown", False), ("1.0", None, False)):
            fake.status = (base + ',"version":"%s"' % mine
                           + (',"peer_version":"%s"' % peer if peer else "") + "}").encode()
            r = run_ctl("status")
            line = [l for l in r.stdout.splitlines() if l.startswith("version")]
            check(r.returncode == 0 and line == ["version     %s here, %s at the peer"
                                                 % (mine, peer or "unknown")]
                  and ("different versions" in r.stderr) == warn,
                  "status: %s here, %s at the peer: %s, %s" % (mine, peer, line,
                                                             r.stderr.strip() or "no warning"))

        r = subprocess.run([ctl, "--help"], capture_output=True, text=True)
        check("--token-file" in r.stdout and "24h" in r.stdout and "pair TOKEN" not in r.stdout,
              "--help describes the new forms")
        r = subprocess.run([ctl, "--version"], capture_output=True, text=True)
        check(r.returncode == 0 and r.stdout.startswith("isthmusctl ") and len(r.stdout.split()) == 2,
              "--version: %s" % r.stdout.strip())


if __name__ == "__main__":
    run_test(main)
