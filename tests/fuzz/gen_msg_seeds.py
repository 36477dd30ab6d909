#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed corpora for the harnesses of what reaches isthmusd from the network
and from files: fuzz_config, fuzz_segstore, fuzz_pairing, fuzz_segsync.

    gen_msg_seeds.py KIND SOURCE_ROOT DIR

KIND config:   every configuration file of the tree (configs/, tests/pcap/,
               tools/lab/), the lab's variants the netns tests ask for (their
               ike=/web=/uplink= lines), the configurations the unit tests
               write, and one file per key documented in docs/config.md.
KIND segstore: the segments.state texts test_segstore.c reads and refuses.
KIND pairing, segsync: op scripts (layouts: fuzz_pairing.c, fuzz_segsync.c)
               for the exchanges test_pairing.c and the segsync netns cases
               run: genuine, replayed, altered, expired, refused.
"""
import glob
import os
import re
import struct
import sys


def put(out, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


# ---- configuration files ---------------------------------------------------

# A value for each documented key that its section accepts (or that shows a
# refusal the loader must word without echoing secrets).
SAMPLE = {
    "name": "seed", "rx_mode": "poll", "burst": "1", "mbufs": "4096",
    "mac_table_size": "1024", "run_dir": "/run/isthmus/seed",
    "port": "1", "vdev": "net_tap0,iface=up0", "address": "198.18.0.1", "peer": "198.18.0.2",
    "gateway": "198.18.0.254", "peer_route": "198.18.0.0/15", "peer_nat": "yes",
    "peer_mac": "02:00:5e:12:00:02", "mtu": "1612", "reass_flows": "16",
    "reass_timeout_ms": "10", "local_vtep": "198.19.0.1", "peer_vtep": "198.19.0.2",
    "src_port_base": "4600", "tap": "isth-up", "tap_prefix": "24", "exception_rate": "0",
    "exception_burst": "1", "mode": "trunk", "vni": "5101", "local": "web", "vlan": "10",
    "mac_limit": "1", "aging": "1", "gateway_site": "peer", "gateway6": "2001:db8::1",
    "local_egress": "yes", "router_mac": "02:00:5e:00:01:01", "mss_clamp": "no", "mss": "536",
    "storm_broadcast": "100", "storm_multicast": "100", "storm_unknown": "100",
    "storm_burst": "10", "flap_moves": "1", "flap_window": "3600", "flap_dampen": "86400",
    "pmtu": "yes", "pmtu_rate": "100000", "local_id": "seed.isthmus", "peer_id": "peer.isthmus",
    "auth": "psk", "psk_file": "/etc/isthmus/psk", "role": "responder",
    "ike_proposals": "aes256gcm16-prfsha256-x25519", "esp_proposals": "aes256gcm16-x25519-noesn",
    "ike_rekey": "60s", "child_rekey": "10", "child_rekey_bytes": "1000000",
    "child_rekey_packets": "1000", "dpd": "3s", "nat_keepalive": "1s", "child_sas": "64",
    "replay_window": "4096", "state_dir": "/var/lib/isthmus/seed", "pairing_port": "4601",
    "outbound_seq_start": "4294967295", "cipher": "chacha20poly1305", "backend": "sodium",
    "esn": "yes", "out.N": None, "in.N": None,
}

SECTION_OF_DOC = {"appliance": "appliance", "uplink": "uplink", "local NAME": "local web",
                  "segment NAME": "segment workload-web", "ike": "ike", "test": "test",
                  "sa.static": "sa.static"}

STATIC_SA = ("[sa.static]\ncipher = aes256gcm\n"
             "out.0 = 0x00001001 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa0a1a2a3\n"
             "in.0 = 0x00002001 404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5fb0b1b2b3\n")


def sections(text):
    """[(header, [lines])] of an INI text, comments kept."""
    out, cur = [], None
    for line in text.splitlines():
        m = re.match(r"\s*\[([^\]]+)\]", line)
        if m:
            cur = (m.group(1), [])
            out.append(cur)
        elif cur is not None:
            cur[1].append(line)
        else:
            out.append((None, [line]))
    return out


def join(secs):
    lines = []
    for head, body in secs:
        if head is not None:
            lines.append("[%s]" % head)
        lines.extend(body)
    return "\n".join(lines) + "\n"


def with_lines(text, section, add):
    """@p text with @p add set in [section] (replacing keys given there), the
    section appended if missing."""
    secs = sections(text)
    keys = {a.split("=")[0].strip() for a in add if "=" in a}
    for i, (head, body) in enumerate(secs):
        if head == section:
            body = [b for b in body if b.split("=")[0].strip() not in keys]
            secs[i] = (head, body + list(add))
            return join(secs)
    return join(secs + [(section, list(add))])


def c_configs(path):
    """The INI texts a C unit test writes: runs of string literals starting with '[appliance]'."""
    src = open(path).read()
    out = []
    for m in re.finditer(r'((?:"(?:[^"\\]|\\.)*"\s*)+)', src):
        lits = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
        text = "".join(lits)
        if "[appliance]" in text and "[uplink]" in text:
            out.append(bytes(text, "utf-8").decode("unicode_escape"))
    return out


def netns_variants(root):
    """The lines the netns cases add to the lab's files (new_lab(ike=[...], web=[...], ...))."""
    found = {"ike": set(), "segment workload-web": set(), "uplink": set()}
    for path in glob.glob(os.path.join(root, "tests", "netns", "*.py")):
        src = open(path).read()
        for kw, sec in (("ike", "ike"), ("web", "segment workload-web")):
            for m in re.finditer(kw + r"=\[([^\]]*)\]", src):
                for s in re.findall(r'"([^"%]*)"', m.group(1)):
                    if "=" in s:
                        found[sec].add(s)
        for m in re.finditer(r'uplink="([^"%]*)"', src):
            found["uplink"].add(m.group(1).replace("\\n", "\n"))
    return found


def documented_keys(root):
    """(section as written in a file, key) for every row of docs/config.md's tables."""
    out, sec = [], None
    for line in open(os.path.join(root, "docs", "config.md")):
        m = re.match(r"## \[([^\]]+)\]", line)
        if m:
            sec = SECTION_OF_DOC.get(m.group(1))
            continue
        m = re.match(r"\| `([a-z_.N0-9]+)`(?: / `([a-z_]+)`)? \|", line)
        if m and sec:
            out.append((sec, m.group(1)))
            if m.group(2):
                out.append((sec, m.group(2)))
    return out


def gen_config(root, out):
    files = (sorted(glob.glob(os.path.join(root, "configs", "*.ini"))) +
             sorted(glob.glob(os.path.join(root, "tests", "pcap", "*.ini"))) +
             sorted(glob.glob(os.path.join(root, "tools", "lab", "*.ini"))))
    n = 0
    for path in files:
        put(out, "file-%s-%s" % (os.path.basename(os.path.dirname(path)), os.path.basename(path)),
            open(path).read())
        n += 1
    base = open(os.path.join(root, "tools", "lab", "site-a.ini")).read()
    for sec, lines in sorted(netns_variants(root).items()):
        for i, line in enumerate(sorted(lines)):
            add = [l.strip() for l in line.split("\n") if l.strip()]
            put(out, "netns-%s-%d" % (sec.split()[0], i), with_lines(base, sec, add))
            n += 1
    put(out, "netns-test-seq", with_lines(base, "test", ["outbound_seq_start = 4294967000"]))
    put(out, "netns-trunk", with_lines(with_lines(base, "local web", ["mode = trunk"]),
                                       "segment workload-web", ["vlan = 101"]))
    for t in sorted(glob.glob(os.path.join(root, "tests", "unit", "test_*.c"))):
        for i, text in enumerate(c_configs(t)):
            put(out, "unit-%s-%d" % (os.path.basename(t)[:-2], i), text)
            n += 1
    for sec, key in documented_keys(root):
        if key in ("out.N", "in.N") or sec == "sa.static":
            text = base + STATIC_SA
            if key not in ("out.N", "in.N"):
                text = with_lines(text, sec, ["%s = %s" % (key, SAMPLE.get(key, "1"))])
        elif key == "vdev":
            text = with_lines(base, sec, ["vdev = %s" % SAMPLE["vdev"]]).replace(
                "port = net_af_packet0\n", "", 1)
        else:
            text = with_lines(base, sec, ["%s = %s" % (key, SAMPLE.get(key, "1"))])
        put(out, "key-%s-%s" % (sec.split()[0], key.replace(".", "_")), text)
        n += 1
    # refusals the unit tests check: structure, twice, stray lines, a bad key with a secret
    put(out, "bad-twice", base + "[ike]\ndpd = 1h\n")
    put(out, "bad-stray", base.replace("mbufs = 4096", "mbufs 4096"))
    put(out, "bad-static-key", base + STATIC_SA.replace("a0a1a2a3\n", "a0a1a2zz\n"))
    put(out, "bad-static-short", base + STATIC_SA.replace("0x00001001 0001", "0x00001001 01"))
    put(out, "bad-long", base.replace("name = site-a", "name = " + "x" * 300))
    put(out, "empty", "")
    return n


# ---- segments.state -----------------------------------------------------------

def gen_segstore(root, out):
    good = ("isthmus-segments 1\nversion 3\n"
            "extend 7 x-1.y 1\tvni=7 local=db\tvni=7 local=db\n"
            "unextend 5101 web -\n"
            "extend 5103 db -\tvni=5103 local=db mss=1300\tvni=5103 local=db2\n"
            "cutover 16777215 lan10 0\n")
    bad_lines = ["", "extend 5103 db -", "extend 5103 db -\tvni=5103",
                 "extend 5103 db -\t\tvni=5103", "unextend 5101 web -\tvni=5101",
                 "grow 5101 web -", "unextend 0 web -", "unextend 16777216 web -",
                 "unextend 5101 ../x -", 'unextend 5101 we"b -', "cutover 5101 web 2",
                 "cutover 5101 web", "cutover 5101 web - extra",
                 "extend 5103 db -\tvni=5103\x01\tvni=5103"]
    seeds = {"good": good, "good-noeol": good.rstrip("\n"), "empty-set": "isthmus-segments 1\nversion 0\n",
             "v2": "isthmus-segments 2\nversion 1\n", "noversion": "isthmus-segments 1\n",
             "negative": "isthmus-segments 1\nversion -1\n",
             "order": "isthmus-segments 1\nversion 1\nunextend 5 b -\nunextend 4 a -\n",
             "twice": "isthmus-segments 1\nversion 1\nunextend 5 b -\nunextend 5 a -\n",
             "bigversion": "isthmus-segments 1\nversion 18446744073709551615\n",
             "overflow": "isthmus-segments 1\nversion 18446744073709551616\n",
             "many": "isthmus-segments 1\nversion 9\n" +
                     "".join("unextend %d s%d -\n" % (v, v) for v in range(1, 200))}
    for i, line in enumerate(bad_lines):
        seeds["badline-%02d" % i] = "isthmus-segments 1\nversion 1\n" + line + "\n"
    n = 0
    for name, text in sorted(seeds.items()):
        for mode in (0, 1):  # segstore_parse / segstore_load
            put(out, "%s-%d" % (name, mode), bytes([mode]) + text.encode())
            n += 1
    put(out, "nul-1", b"\x01isthmus-segments 1\nversion 1\x00\n")
    return n + 1


# ---- pairing op scripts (fuzz_pairing.c) ----------------------------------------

def gen_pairing(root, out):
    # ops: 0 raw req, 1 auth req, 2 replay, 3 time, 4 raw reply, 5 auth reply,
    #      6 A's reply to B, 7 token
    A = struct.pack
    seeds = {
        # test_pairing: a pairing, its retransmission, another request refused
        "pair": [A("BBBB", 1, 0, 1, 0), A("BB", 2, 0), A("BBBB", 1, 1, 2, 0), A("B", 6)],
        "pair-real-request": [A("BBBB", 1, 0, 1, 16), A("BB", 2, 0), A("B", 6), A("BBBB", 1, 1, 1, 16)],
        "wrong-secret": [A("BBBB", 1, 0, 1, 1), A("BBBB", 1, 0, 1, 0)],
        "wrong-fpr": [A("BBBB", 1, 0, 1, 2), A("BBBB", 1, 0, 3, 0)],
        "expired": [A("BBH", 3, 0, 1000), A("BBBB", 1, 0, 1, 0)],
        "altered": [A("BBBB", 1, 0, 1, 0), A("BBBHB", 2, 0, 0, 12, 0x01), A("BBBHB", 2, 0, 0, 70, 0x80)],
        "raw": [A("<BH", 0, 20) + b"ISP1\0\0\0\0\0\x02ab" + b"\0" * 8,
                A("<BH", 0, 4) + b"ISP2"],
        "reply-good": [A("BBBB", 5, 0, 0, 0), A("BBBB", 5, 0, 0, 1), A("BBBB", 5, 0, 0, 2),
                       A("BBBB", 5, 0, 0, 4), A("BBBB", 5, 0, 0, 8)],
        "reply-refusal": [A("BBBB", 5, 0, 3, 16), A("BBBB", 5, 0, 4, 16)],
        "reply-raw": [A("<BH", 4, 4) + b"ISP2", A("<BH", 4, 60) + b"ISP2" + b"\0\0\0\x04\0\0" + b"\0" * 54],
        "token": [A("BB", 7, 0), A("BB", 7, 1) + A("B", 20) + b"isthmus1-AAAAAAAAAAA",
                  A("BB", 7, 1) + A("B", 9) + b"isthmus1-", A("BB", 7, 2) + A("BBB", 5, 0x01, 0)],
        "replay-after-use": [A("BBBB", 1, 0, 1, 0), A("BBBB", 1, 2, 1, 0), A("BB", 2, 0),
                             A("BB", 2, 1), A("BBH", 3, 0, 2000), A("BB", 2, 0)],
    }
    # pasted tokens: another version, damaged, not ours, a valid one of another appliance
    import base64
    for name, ver, ln in (("token-v2", 2, 63), ("token-short", 1, 62), ("token-other", 1, 63)):
        raw = bytes([ver]) + bytes(range(1, ln))
        text = b"isthmus1-" + base64.urlsafe_b64encode(raw).rstrip(b"=")
        seeds[name] = [A("BB", 7, 1) + A("B", len(text)) + text]
    seeds["token-prefix"] = [A("BB", 7, 1) + A("B", 12) + b"isthmus2-AAA"]
    n = 0
    for name, ops in sorted(seeds.items()):
        for cfg in (0, 1, 2):
            put(out, "%s-%d" % (name, cfg), bytes([cfg]) + b"".join(ops))
            n += 1
    return n


# ---- segment agreement op scripts (fuzz_segsync.c) ------------------------------

def gen_segsync(root, out):
    def signed(typ, nonce, version, status=0, body=b"", digest=0, key=0):
        # op 1: a datagram signed with the peer's key (key 1: another key)
        return struct.pack("<BBBQiBBH", 1, typ, nonce, version, status, digest, key,
                           len(body)) + body

    def raw(b):
        return struct.pack("<BH", 0, len(b)) + b

    put_ = b"put extend 7001 seedseg -\tlocal=db vni=7001\tlocal=db vni=7001"
    unext = b"put unextend 5101 workload-web -"
    cut = b"put cutover 5102 workload-app 0"
    deln = b"del 5101 workload-web"
    seeds = {
        # the two-phase exchange, as netns_segsync's extend/unextend/cutover run it
        "unextend": [signed(1, 1, 0, body=unext), signed(3, 1, 1)],
        "cutover": [signed(1, 2, 0, body=cut), signed(3, 2, 1), signed(3, 2, 1)],
        "extend": [signed(1, 3, 0, body=put_), signed(3, 3, 1)],
        "unextend-del": [signed(1, 1, 0, body=unext), signed(3, 1, 1), signed(1, 4, 1, body=deln),
                         signed(3, 4, 2)],
        "abort": [signed(1, 1, 0, body=unext), signed(7, 1, 0), signed(3, 1, 1)],
        "stale": [signed(1, 1, 5, body=unext), signed(3, 9, 6)],
        "busy": [signed(1, 1, 0, body=unext), signed(1, 2, 0, body=cut), signed(1, 1, 0, body=unext)],
        "badbody": [signed(1, 1, 0, body=b"put extend 0 x -"), signed(1, 2, 0, body=b"del x"),
                    signed(1, 3, 0, body=b"grow")],
        "sync": [signed(5, 1, 0), signed(5, 2, 3, digest=1), signed(5, 3, 0, digest=2)],
        "syncreply": [struct.pack("<BB", 4, 0),
                      signed(6, 0xff, 2, body=b"isthmus-segments 1\nversion 2\nunextend 5101 workload-web -\n",
                             digest=1),
                      struct.pack("<BB", 4, 0),
                      signed(6, 0xff, 1, body=b"isthmus-segments 1\nversion 1\n", digest=1)],
        # the peer's set clashing with this site's file, unreadable, or behind
        "syncreply-bad": [struct.pack("<BB", 4, 0),
                          signed(6, 0xff, 3, body=b"isthmus-segments 1\nversion 3\n"
                                 b"extend 5101 other -\tlocal=db vni=5101\tlocal=db vni=5101\n"),
                          struct.pack("<BB", 4, 0),
                          signed(6, 0xff, 4, body=b"isthmus-segments 1\nversion 3\n"),
                          struct.pack("<BB", 4, 0),
                          signed(6, 0xff, 0, body=b"")],
        "sync-ahead": [signed(1, 1, 0, body=unext), signed(3, 1, 1), signed(5, 2, 0), signed(5, 3, 1),
                       signed(5, 4, 1, digest=1), signed(5, 5, 2)],
        "votes": [signed(2, 1, 0, status=-16, body=b"busy"), signed(4, 1, 0)],
        "forged": [signed(1, 1, 0, body=unext, key=1), signed(3, 1, 1, key=1),
                   raw(b"ISS1" + b"\0" * 132), raw(b"ISS2"), raw(b"")],
        "replay": [signed(1, 1, 0, body=unext), signed(3, 1, 1), struct.pack("<BB", 2, 0),
                   struct.pack("<BB", 2, 1), struct.pack("<BBHB", 3, 0, 5, 0x10)],
        "expire": [signed(1, 1, 0, body=unext), struct.pack("<BB", 5, 11), signed(3, 1, 1)],
    }
    n = 0
    for name, ops in sorted(seeds.items()):
        for cfg in (0, 1):
            put(out, "%s-%d" % (name, cfg), bytes([cfg]) + b"".join(ops))
            n += 1
    return n


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: gen_msg_seeds.py config|segstore|pairing|segsync SOURCE_ROOT DIR")
    kind, root, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    n = {"config": gen_config, "segstore": gen_segstore, "pairing": gen_pairing,
         "segsync": gen_segsync}[kind](root, out)
    print("gen_msg_seeds.py: %d %s seeds in %s" % (n, kind, out))


if __name__ == "__main__":
    main()
