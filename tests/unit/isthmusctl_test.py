#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""isthmusctl against stand-in isthmusd and isthmus-dp sockets (no daemon):
the pairing token never on the command line, read from standard input or a
mode-0600 file; pairing-token --ttl with units; a bad argument or unknown
command is exit status 2 before anything is contacted; --json of every
command parses; macs and sa print tables; sa --wireshark writes an esp_sa
table the installed tshark takes whole, ChaCha20-Poly1305 commented out where
it does not know it, and decrypts the AES-GCM SA of a capture with it;
status with both sites' versions, warning when they differ, and a peer too
old to send its version shown as "unknown" without a warning.

usage: isthmusctl_test.py ISTHMUSCTL
"""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from isthmus_test import check, run_test  # noqa: E402

CTL_MAGIC, CTL_VERSION, CTL_REPLY = 0x4D545349, 1, 0x8000
CTL_SEG_DEL, CTL_STATS, CTL_MACS, CTL_SA_LIST, CTL_SEG_CUTOVER, CTL_SEG_SET = 6, 7, 8, 9, 11, 14
CTL_D_STATUS, CTL_D_PAIRING_TOKEN, CTL_D_PAIR, CTL_D_UNPAIR = 0x40, 0x41, 0x42, 0x43
CTL_D_SA_KEYS, CTL_D_SEG, CTL_D_RELOAD, CTL_D_SEGMENTS = 0x44, 0x45, 0x46, 0x47
HDR = struct.Struct("<IHHII")
TOKEN = "isthmus1-AQoAAAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

# What the stand-ins answer, as the real daemons would (JSON where they send JSON).
# A name with a quote, a backslash and a control character: json-c escapes it.
ODD = 'we"b\\x\x01'
DP_REPLIES = {
    CTL_STATS: json.dumps({"appliance": "ut", "workers": 1, "counters": {"rx": 5},
                           "segments": [{"name": "web", "vni": 5101, "port": "lan", "vlan": 0,
                                         "macs": 1}]}),
    CTL_MACS: json.dumps([{"segment": "web", "vni": 5101, "mac": "02:00:00:00:00:01",
                           "side": "local", "last_seen": 7, "flaps": 0, "dampened": False,
                           "dampened_s": 0}]),
    CTL_SA_LIST: json.dumps([{"dir": "out", "spi": "0xc0ffee01", "cipher": "aes256gcm",
                              "esn": True, "backend": "ipsec-mb", "worker": 0, "packets": 3,
                              "bytes": 300, "seq": 3, "retired": False, "rekey_at_seq": None,
                              "seq_to_rekey": None, "peer": "198.18.0.2", "peer_port": 4500}]),
    CTL_SEG_SET: json.dumps({"segment": "db", "vni": 5200, "result": "added"}),
    CTL_SEG_CUTOVER: json.dumps({"segment": "web", "vni": 5101, "result": "cut over"}),
    CTL_SEG_DEL: "",
}
D_REPLIES = {
    CTL_D_STATUS: json.dumps({"name": "ut", "local_id": ODD, "peer_id": "b", "fingerprint": "ab",
                              "auth": "pubkey", "paired": True, "peer_fingerprint": "cd",
                              "uptime_s": 5, "dataplane": True, "dataplane_workers": 1,
                              "peer_refused": 0, "ike_sas": []}),
    CTL_D_SEGMENTS: json.dumps({"version": 3, "dropped": {"malformed": 0, "signature": 0},
                                "entries": [{"vni": 5101, "name": "web", "kind": "extend",
                                             "gateway_here": True}]}),
    CTL_D_SEG: "segment web (VNI 5101): extended at both sites",
    CTL_D_RELOAD: "segment web (VNI 5101): added\nsegment db (VNI 5200): removed\n",
    CTL_D_UNPAIR: "peer key forgotten",
    CTL_D_PAIRING_TOKEN: "isthmus1-token",
}


class FakeIsthmusd:
    """Answers each request as in @replies (default "paired with peer"),
    remembering (type, body)."""

    def __init__(self, path, replies=None):
        self.replies = replies if replies is not None else {}
        self.requests = []
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
            body = self.replies.get(typ, "paired with peer")
            body = body.encode() if isinstance(body, str) else body
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
            fake.replies[CTL_D_STATUS] = (base + ',"version":"%s"' % mine
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

    bad_arguments(ctl)
    json_everywhere(ctl)
    wireshark(ctl)


# A typo is a usage error (exit 2) found before anything is contacted: each of
# these against sockets that count requests, and against no socket at all.
BAD = [["bogus"], ["extend", "web", "5101", "lan", "65637"], ["extend", "web", "0", "lan"],
       ["extend", "web", "16777216", "lan"], ["extend", "web", "5101", "lan", "10",
                                              "peer.vlan=5000"],
       ["extend", "w\"b", "5101", "lan"], ["extend", "web", "5101", "l an"],
       ["extend", "web", "5101", "lan", "mss"], ["extend", "5101", "5101", "lan"],
       ["unextend", "16777216"], ["unextend"], ["cutover", "--local", "0"],
       ["cutover", "a b"], ["segment", "frob"], ["segments", "extend", "web", "x", "lan"],
       ["pairing-token", "--ttl", "abc"], ["pairing-token", "--ttl"], ["pair", "--bogus"],
       ["status", "now"], ["macs", "-x"], ["sa", "--wireshark", "--wireshark-version", "new"],
       ["sa", "--keys"], ["reload", "now"], ["unpair", "x"], ["stats", "--bogus"],
       # isthmusctl perftest: its reserved VNI is no segment's; bad parameters
       ["extend", "web", "16777215", "lan"], ["perftest", "--sizes", "63"],
       ["perftest", "--sizes", "64,64"], ["perftest", "--duration", "2m"],
       ["perftest", "--rate", "0"], ["perftest", "--probes", "1001"],
       ["perftest", "--plot", "x.svg"], ["perftest", "--plot", "a'b.png"], ["perftest", "now"],
       ["perftest", "--sizes"]]


def bad_arguments(ctl):
    with tempfile.TemporaryDirectory() as run:
        d = FakeIsthmusd(os.path.join(run, "isthmusd.sock"), D_REPLIES)
        dp = FakeIsthmusd(os.path.join(run, "dp.sock"), DP_REPLIES)
        for args in BAD:
            r = subprocess.run([ctl, "-r", run] + args, capture_output=True, text=True, timeout=20)
            r2 = subprocess.run([ctl, "-r", os.path.join(run, "none")] + args, capture_output=True,
                                text=True, timeout=20)
            check(r.returncode == 2 and r2.returncode == 2 and r.stderr.strip() and
                  not d.requests and not dp.requests,
                  "%s: exit 2 before contacting anything (%s)" % (" ".join(args),
                                                                 r.stderr.strip().split("\n")[0]))
        r = subprocess.run([ctl, "-r", os.path.join(run, "none"), "status"], capture_output=True,
                           text=True, timeout=20)
        check(r.returncode == 3, "no appliance to reach: exit 3 (%d)" % r.returncode)


def json_everywhere(ctl):
    """--json of every command parses (JSON on standard output, exit 0); the
    commands whose reply is a message carry it; macs and sa print tables without."""
    cmds = [["status"], ["stats"], ["segments"], ["segments", "--agreed"], ["macs"], ["sa"],
            ["extend", "db", "5200", "lan", "30", "mss=1300"], ["unextend", "web"],
            ["cutover", "5101"], ["extend", "--local", "db", "5200", "lan"],
            ["unextend", "--local", "web"], ["cutover", "--local", "web"], ["reload"],
            ["pairing-token"], ["unpair"]]
    with tempfile.TemporaryDirectory() as run:
        FakeIsthmusd(os.path.join(run, "isthmusd.sock"), D_REPLIES)
        FakeIsthmusd(os.path.join(run, "dp.sock"), DP_REPLIES)
        for args in cmds + [["pair"]]:
            r = subprocess.run([ctl, "-r", run, "--json"] + args, capture_output=True, text=True,
                               timeout=20, input=TOKEN + "\n")
            try:
                o = json.loads(r.stdout)
            except ValueError:
                o = None
            check(r.returncode == 0 and o is not None, "--json %s: JSON (%s)" % (
                " ".join(args), r.stdout.strip()[:80].replace("\n", " ")))
            if args[0] in ("extend", "unextend", "cutover", "reload", "unpair", "pair"):
                check(isinstance(o, dict) and o.get("command") == args[0] and o.get("message"),
                      "--json %s: {command, message}" % args[0])
        r = subprocess.run([ctl, "-r", run, "--json", "status"], capture_output=True, text=True)
        check(json.loads(r.stdout)["local_id"] == ODD, "an identity with a quote, a backslash and "
              "a control character comes back the same")
        r = subprocess.run([ctl, "-r", run, "--json", "reload"], capture_output=True, text=True)
        check("db (VNI 5200): removed" in json.loads(r.stdout)["message"], "reload's lines kept")
        r = subprocess.run([ctl, "-r", run, "--json", "extend", "--local", "db", "5200", "lan"],
                           capture_output=True, text=True)
        o = json.loads(r.stdout)
        check(o.get("result") == "added" and o.get("vni") == 5200 and o.get("local") is True,
              "extend --local --json carries the dataplane's result: %s" % o)
        for args, want in ((["macs"], "02:00:00:00:00:01"), (["sa"], "0xc0ffee01"),
                           (["segments", "--agreed"], "web")):
            r = subprocess.run([ctl, "-r", run] + args, capture_output=True, text=True)
            lines = r.stdout.splitlines()
            check(r.returncode == 0 and not r.stdout.lstrip().startswith(("[", "{")) and
                  len(lines) >= 2 and want in r.stdout,
                  "%s without --json: a table (%s)" % (" ".join(args), lines[:2]))


# Wireshark's names of the ciphers, as isthmusd writes them.
AES = "AES-GCM with 16 octet ICV [RFC4106]"
CHACHA = "ChaCha20 with Poly1305 [RFC7634]"


def tshark_knows(cipher):
    r = subprocess.run(["tshark", "-o", 'uat:esp_sa:"IPv4","*","*","*","%s","0x%s","NULL",""'
                        % (cipher, "00" * 36), "-v"], capture_output=True, timeout=60)
    return r.returncode == 0


def wireshark(ctl):
    """sa --wireshark with an AES-GCM and a ChaCha20-Poly1305 SA: the table
    the installed tshark reads whole, and it decrypts the AES-GCM SA's
    packets of a capture (built with the pcap tests' ESP sealing)."""
    if os.geteuid() != 0 or not shutil.which("tshark"):
        print("SKIP sa --wireshark: needs root and tshark")
        return
    sys.path.insert(0, os.path.join(HERE, "..", "pcap"))
    import isthmus_pcap as ip  # noqa: E402
    from scapy.all import Ether  # noqa: E402
    keys = ('"IPv4","%s","%s","0x%08x","%s","0x%s","NULL",""\n'
            % (ip.B_UP, ip.A_UP, ip.SPI_B_TO_A, AES, ip.KEY_B_TO_A.hex()) +
            '"IPv4","%s","%s","0x%08x","%s","0x%s","NULL",""\n'
            % (ip.A_UP, ip.B_UP, 0x3001, CHACHA, "11" * 36))
    knows = tshark_knows(CHACHA)
    print("MEASURED tshark here %s ChaCha20-Poly1305 in esp_sa" % ("takes" if knows else "refuses"))
    with tempfile.TemporaryDirectory() as run:
        FakeIsthmusd(os.path.join(run, "isthmusd.sock"), {CTL_D_SA_KEYS: keys})
        r = subprocess.run([ctl, "-r", run, "sa", "--wireshark"], capture_output=True, text=True)
        rows = [ln for ln in r.stdout.splitlines() if '"IPv4"' in ln]
        aes = [ln for ln in rows if AES in ln]
        cha = [ln for ln in rows if CHACHA in ln]
        check(r.returncode == 0 and len(aes) == 1 and not aes[0].startswith("#") and len(cha) == 1,
              "sa --wireshark: both SAs written, the AES-GCM one live")
        check(cha[0].startswith("#") != knows, "the ChaCha20-Poly1305 line is %s, as the tshark "
              "here %s it" % ("commented out" if not knows else "live",
                              "refuses" if not knows else "takes"))
        if not knows:
            check("4.2" in r.stdout and "4.2" in r.stderr, "the output says which Wireshark "
                  "decrypts ChaCha20-Poly1305")
        for ver, live in (("4.0", False), ("4.2.1", True), ("5.0", True)):
            v = subprocess.run([ctl, "-r", run, "sa", "--wireshark", "--wireshark-version", ver],
                               capture_output=True, text=True).stdout
            line = [ln for ln in v.splitlines() if CHACHA in ln and '"IPv4"' in ln][0]
            check(line.startswith("#") != live, "--wireshark-version %s: ChaCha20-Poly1305 %s"
                  % (ver, "live" if live else "commented out"))

        # tshark decrypts the AES-GCM SA with the table as written
        frame = bytes(Ether(src="02:00:00:00:0b:01", dst="02:00:00:00:0a:01", type=0x0800) /
                      ip.IP(src="192.0.2.20", dst="192.0.2.10") / ip.UDP(sport=9, dport=9) /
                      ip.Raw(ip.MARKER))
        pkts = [ip.tunnel_packet(ip.KEY_B_TO_A, ip.SPI_B_TO_A, seq,
                                 ip.vxlan_inner(frame, 5101, ip.B_VTEP, ip.A_VTEP))
                for seq in range(1, 6)]
        pcap = os.path.join(run, "esp.pcap")
        ip.write(pcap, pkts)

        def decrypted(table, tag):
            prof = os.path.join(run, "xdg", "wireshark", "profiles", tag)
            os.makedirs(prof)
            with open(os.path.join(prof, "esp_sa"), "w") as f:
                f.write(table)
            t = subprocess.run(["tshark", "-n", "-r", pcap, "-C", tag,
                                "-o", "esp.enable_encryption_decode:TRUE", "-Y", "vxlan.vni == 5101",
                                "-T", "fields", "-e", "esp.spi", "-e", "vxlan.vni"],
                               capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, XDG_CONFIG_HOME=os.path.join(run, "xdg")))
            return len([ln for ln in t.stdout.splitlines() if ln.strip()]), t.stderr

        n, err = decrypted(r.stdout, "isti")
        print("MEASURED tshark decrypted %d of %d AES-GCM packets with the esp_sa table" % (n, 5))
        check(n == 5 and "Error loading table" not in err, "tshark took the whole table, no "
              "error, and decrypted the AES-GCM SA (%d/5 packets; %s)" % (n, err.strip()[-200:]))
        if not knows:
            # what the comment prevents: the same table with the ChaCha20 line live
            v = subprocess.run([ctl, "-r", run, "sa", "--wireshark", "--wireshark-version", "4.2"],
                               capture_output=True, text=True).stdout
            n, err = decrypted(v, "live")
            # tshark 4.0.17 reports the table as broken and (unlike what the
            # GUI was seen to do) still uses its other lines: the check is the
            # error, which the comment avoids
            print("MEASURED with the ChaCha20-Poly1305 line live: %d of 5 decrypted, tshark: %s"
                  % (n, "Error loading table" in err and "table error" or "no error"))
            check("Error loading table 'ESP SAs'" in err, "with that line live this tshark "
                  "reports the table broken: %s" % err.strip()[-160:])


if __name__ == "__main__":
    run_test(main)
