#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""pcap_test.py DP SRCDIR WORKDIR CASE: one test of the isthmus-dp pcap suite.

CASE is one of
  config   bad configuration files are refused with file:line, section and key
  encap    local frames -> UDP 4500 ESP, expected SPI,
           strictly increasing sequence numbers, nothing in clear; decrypted
           independently, each carries VXLAN with the segment's VNI and the
           frame without its tag
  decap    that uplink pcap into the peer yields the original frames
           byte for byte, in order, VLAN per the peer's mapping
  bad      bad uplink input: no output, and exactly the right counter
  bridge   local destination not tunnelled, MAC move both ways,
           aging, the per-segment table limit
  signal   DPDK telemetry (/isthmus/...) answers while the appliance is busy;
           SIGINT and SIGTERM stop it cleanly: exit 0, final counters printed
           and written, every frame accounted for
  gateway  local egress: ARP for the gateway answered locally,
           the remote gateway's ARP stopped
  l2guard  L2 safety: a MAC flapping between the trunk and the
           tunnel is counted and reported, dampening drops and counts, one
           move (vMotion) is no flap; a frame A sent to the trunk coming back
           is a loop, dropped, not tunnelled, but the same frame repeated by
           its host after it moved to A is not; one IP claimed by two MACs on
           the two sides is an IP conflict, by one MAC on both sides is not
  segments 1000 segments on one trunk: each VLAN reaches its own VNI, an
           unconfigured VLAN is dropped and counted
  frag     uplink MTU 1500 and 576: outer fragments after sealing,
           reassembled by tshark, an independent ESP and the peer
  reass    reassembly at the peer: order, interleaving, timeout,
           overlap, duplicates, a full table, IKE through the exception path
  pmtu     ICMP fragmentation needed / ICMPv6 packet too big from
           the gateway, rate-limited
  workers  two workers on each side: each seals with its own SA and UDP
           source port; the peer opens each SA on one worker, and frames for a
           single-queue port reach it through the TX ring
  mss      TCP MSS clamping of SYN and SYN-ACK, IPv4 and IPv6,
           tagged and untagged, both directions, to the value computed here
           from the uplink MTU; checksums verified by tshark; options at odd
           alignment; malformed options passed untouched; mss_clamp = no and
           mss = N
  storm    storm control: floods of broadcast, multicast and unknown
           unicast cut to the bucket, counted per class and per segment; known
           unicast and other segments never limited
"""
import os
import re
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import gen_pcaps as G  # noqa: E402
from isthmus_test import Fail, check, run_test  # noqa: E402
from isthmus_pcap import (A_UP, A_UP_MAC, A_VTEP, B_UP, B_VTEP, KEY_A_TO_B, MARKER, SPI_A_TO_B,  # noqa: E402
                          check_counters, esp_open, read, remove_runtime_dir, run_dp, write,
                          KEY_B_TO_A, SPI_B_TO_A, tunnel_packet, vxlan_inner)


def unwrap_uplink(frame, key=KEY_A_TO_B):
    """Outer headers of an uplink frame, and the decrypted inner packet."""
    assert frame[12:14] == b"\x08\x00", "not IPv4"
    ip = frame[14:34]
    udp = frame[34:42]
    out = {
        "src": ".".join(str(b) for b in ip[12:16]), "dst": ".".join(str(b) for b in ip[16:20]),
        "sport": int.from_bytes(udp[0:2], "big"), "dport": int.from_bytes(udp[2:4], "big"),
        "ucsum": int.from_bytes(udp[6:8], "big"),
    }
    spi, seq, nh, inner = esp_open(key, frame[42:])
    out.update(spi=spi, seq=seq, nh=nh, inner=inner)
    return out


def ip_csum_ok(hdr):
    """RFC 1071: the one's complement sum of a correct IPv4 header is 0xffff."""
    total = sum(int.from_bytes(hdr[i:i + 2], "big") for i in range(0, len(hdr), 2))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total == 0xffff


def parse_vxlan(inner):
    """(src, dst, dport, flags, vni, frame) of inner IPv4/UDP/VXLAN."""
    src = ".".join(str(b) for b in inner[12:16])
    dst = ".".join(str(b) for b in inner[16:20])
    dport = int.from_bytes(inner[22:24], "big")
    flags = inner[28]
    vni = int.from_bytes(inner[32:35], "big")
    return src, dst, dport, flags, vni, inner[36:]


def run_a(dp, src, work, local_pcap, name="a", config="a.ini", **kw):
    up, lo = os.path.join(work, name + "-uplink-out.pcap"), os.path.join(work, name + "-local-out.pcap")
    rc, st, out, err = run_dp(dp, work, name, os.path.join(src, config),
                              [(local_pcap, lo), (kw.pop("uplink_in", os.path.join(work, "empty.pcap")), up)],
                              **kw)
    return st, read(up), read(lo)


def case_encap(dp, src, work):
    frames = G.local_frames()
    # One frame over the MTU (a 1501-byte IP packet) last: dropped and counted
    big = G.retag(frames[14][1] + b"!", 102)
    assert len(frames[14][1]) == 1518
    # ... and a 3000-byte one, larger than an mbuf: net_pcap chains mbufs for it
    huge = G.retag(frames[14][1] + b"#" * (3000 - 1518), 102)
    lpath = os.path.join(work, "local-big.pcap")
    write(lpath, [f for _, f in frames] + [big, huge])
    st, up, lo = run_a(dp, src, work, lpath)
    check(len(up) == len(frames), "%d frames in, %d ESP packets out" % (len(frames), len(up)))
    check(lo == [], "nothing sent back on the local port")
    check(st["counters"]["tunnel_out"] == len(frames), "tunnel_out counts every frame")
    try:
        check_counters(st, {"drop_too_big": 1, "drop_multiseg": 1})
        check(True, "the 1519-byte frame (over MTU 1500) is dropped as drop_too_big, the 3000-byte "
              "one (chained mbufs) as drop_multiseg, nothing else")
    except AssertionError as ex:
        check(False, str(ex))
    # tshark's own dissection: UDP 4500, ESP, SPI, sequence numbers
    t = subprocess.run(["tshark", "-r", os.path.join(work, "a-uplink-out.pcap"), "-T", "fields",
                        "-e", "udp.dstport", "-e", "esp.spi", "-e", "esp.sequence",
                        "-e", "ip.src", "-e", "ip.dst"],
                       capture_output=True, text=True, check=True)
    rows = [r.split("\t") for r in t.stdout.splitlines() if r.strip()]
    check(len(rows) == len(frames), "tshark sees %d packets" % len(rows))
    check(all(r[0] == "4500" for r in rows), "tshark: every packet is UDP to 4500")
    check(all(int(r[1], 16) == SPI_A_TO_B for r in rows), "tshark: every ESP SPI is 0x%08x" % SPI_A_TO_B)
    seqs = [int(r[2]) for r in rows]
    check(all(b > a for a, b in zip(seqs, seqs[1:])) and seqs[:1] == [1],
          "tshark: sequence numbers start at 1 and strictly increase (%s)" % seqs)
    check(all(r[3] == A_UP and r[4] == B_UP for r in rows), "outer IPv4 %s -> %s" % (A_UP, B_UP))
    raw = open(os.path.join(work, "a-uplink-out.pcap"), "rb").read()
    check(MARKER not in raw and b"ISTHMUS" not in raw, "the clear-text marker appears nowhere on the uplink")
    vni_of = {101: 5101, 102: 5102, 0: 5100}
    for i, ((vlan, f), pkt) in enumerate(zip(frames, up)):
        u = unwrap_uplink(pkt)
        s, d, dport, flags, vni, inner_frame = parse_vxlan(u["inner"])
        check(ip_csum_ok(pkt[14:34]) and ip_csum_ok(u["inner"][:20]),
              "packet %d: outer and inner IPv4 header checksums are right" % i)
        ok = (u["sport"] == 4500 and u["dport"] == 4500 and u["ucsum"] == 0 and u["nh"] == 4 and
              s == A_VTEP and d == B_VTEP and dport == 4789 and flags == 0x08 and vni == vni_of[vlan] and
              inner_frame == G.strip_tag(f) and len(pkt) <= 14 + 1700)
        check(ok, "packet %d (VLAN %d, %d bytes): UDP 4500->4500 csum 0, ESP next header 4, "
              "VXLAN %s->%s:4789 I flag, VNI %d, frame untagged and intact" % (i, vlan, len(f), A_VTEP,
                                                                                  B_VTEP, vni_of[vlan]))
    check(max(len(f) for _, f in frames) == 1518, "largest frame is 1518 bytes (MTU 1500, tagged)")
    check(sum(1 for v, f in frames if v == 0) == 2, "the native VLAN: an untagged and a priority-tagged frame")


def case_decap(dp, src, work):
    frames = G.local_frames()
    _, up, _ = run_a(dp, src, work, os.path.join(work, "local.pcap"))
    check(len(up) == len(frames), "A sealed every frame")
    e = os.path.join(work, "empty.pcap")
    outs = [os.path.join(work, n) for n in ("b-trunk-out.pcap", "b-db-out.pcap", "b-uplink-out.pcap")]
    rc, st, _, _ = run_dp(dp, work, "b", os.path.join(src, "b.ini"),
                          [(e, outs[0]), (e, outs[1]), (os.path.join(work, "a-uplink-out.pcap"), outs[2])])
    trunk, db, back = (read(o) for o in outs)
    want_trunk = [G.at_b_trunk(v, f) for v, f in frames if v in (101, 0)]
    want_db = [G.strip_tag(f) for v, f in frames if v == 102]
    check(trunk == want_trunk, "B's trunk: the %d VLAN 101 and native frames of A, byte for byte, in "
          "order, as VLAN 201 and 200 (got %d)" % (len(want_trunk), len(trunk)))
    check(db == want_db, "B's access port: the %d VLAN 102 frames of A, byte for byte, in order, "
          "untagged (got %d)" % (len(want_db), len(db)))
    check(back == [], "split horizon: nothing back into the tunnel")
    check(st["counters"]["tunnel_in"] == len(frames), "tunnel_in counts every frame")
    check_counters(st, {})


def case_bad(dp, src, work):
    cases, good = G.bad_uplink()
    e = os.path.join(work, "empty.pcap")
    outs = [os.path.join(work, n) for n in ("bad-trunk-out.pcap", "bad-db-out.pcap", "bad-uplink-out.pcap")]
    # B without peer_mac: it must learn A's MAC from the first authenticated packet only
    with open(os.path.join(work, "b-nomac.ini"), "w") as fh:
        fh.write("".join(l for l in open(os.path.join(src, "b.ini")) if not l.startswith("peer_mac")))
    rc, st, _, _ = run_dp(dp, work, "bad", os.path.join(work, "b-nomac.ini"),
                          [(e, outs[0]), (e, outs[1]), (os.path.join(work, "bad-uplink.pcap"), outs[2])])
    trunk, db, back = (read(o) for o in outs)
    want = [G.retag(f[:12] + b"\x81\x00\x00\x00" + f[12:], 201) for f in good]
    check(trunk == want, "only the %d good packets come out, intact and in order (got %d)" %
          (len(want), len(trunk)))
    check(db == [], "nothing on the access port")
    arp_req = [f for f in back if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01" and
               f[38:42] == bytes([198, 18, 0, 1])]
    check(back != [] and arp_req == back,
          "only ARP requests for the next hop 198.18.0.1 leave B's uplink (%d)" % len(back))
    check((st["nexthop"] or "").lower() == A_UP_MAC, "B learned the next hop %s from the first authenticated packet, "
          "not from the forgery (nexthop %s)" % (A_UP_MAC, st["nexthop"]))
    expected = {}
    for _, c in cases:
        if c and c.startswith("drop_"):
            expected[c] = expected.get(c, 0) + 1
    try:
        check_counters(st, expected)
        check(True, "each bad packet bumped exactly its counter: %s" % expected)
    except AssertionError as ex:
        check(False, str(ex))
    nexc = sum(1 for _, c in cases if c == "exception")
    check(st["counters"]["exception"] == nexc, "%d packets for the exception path" % nexc)
    check(st["counters"]["tunnel_in"] == len(good), "tunnel_in = %d" % len(good))
    sa = [s for s in st["sas"] if s["dir"] == "in"][0]
    check(sa["errors"]["icv"] == expected["drop_icv"] and sa["errors"]["replayed"] == 1,
          "the SA's own counters agree (icv %d, replayed 1): %s" % (expected["drop_icv"], sa["errors"]))


def case_bridge(dp, src, work):
    local, uplink, tunnelled, delivered = G.bridge_frames()
    st, up, lo = run_a(dp, src, work, os.path.join(work, "bridge-local.pcap"), name="bridge",
                       config="a-bridge.ini", uplink_in=os.path.join(work, "bridge-uplink.pcap"),
                       idle_ms=3500)
    got = []
    for p in up:
        got.append(parse_vxlan(unwrap_uplink(p)["inner"])[5])
    want = [G.strip_tag(f) for f in tunnelled]
    check(got == want, "tunnelled exactly L0, L2, L3, L4-L13, L14 in order (got %d of %d)" % (len(got), len(want)))
    check(G.strip_tag(local[1]) not in got and G.strip_tag(local[15]) not in got,
          "frames to M1 while it is local (L1, L15) are not tunnelled")
    check(lo == delivered, "the RARP from the other side is delivered on the trunk, VLAN 101")
    c = st["counters"]
    check(c["drop_local_dst"] == 2, "drop_local_dst = 2 (got %d)" % c["drop_local_dst"])
    check(c["fdb_moved"] == 2, "M1 moved twice: to the remote side on its RARP, back on its GARP "
          "(fdb_moved %d)" % c["fdb_moved"])
    check(c["fdb_limit"] == 6, "segment 'small' (limit 4): 6 of 10 MACs not learned (fdb_limit %d)" % c["fdb_limit"])
    seg = {s["name"]: s for s in st["segments"]}
    check(seg["small"]["macs"] == 4 and seg["small"]["limit_hits"] == 6,
          "segment 'small' holds 4 MACs, 6 limit hits: %s" % seg["small"])
    fdb = {(e["segment"], e["mac"]): e["side"] for e in st["fdb"]}
    check(fdb.get(("web", G.M1)) == "local", "M1 is local at the end: %s" % fdb.get(("web", G.M1)))
    check(fdb.get(("web", G.M2)) == "local", "M2 is local")
    check(("short", G.M3) not in fdb and st["fdb_aged"] == 1,
          "M3 aged out of segment 'short' (aging 1 s), and only it (fdb_aged %d)" % st["fdb_aged"])
    check(len(fdb) == 6, "6 entries left: M1, M2 and 4 in 'small' (%d)" % len(fdb))
    check_counters(st, {"drop_local_dst": 2, "drop_ethertype": 1})


def case_gateway(dp, src, work):
    """local egress on segment web, whose gateway lives at the peer:
    an ARP request for the gateway is answered here with the local router's
    MAC and not tunnelled; the remote gateway's ARP reply from the tunnel is
    stopped; other ARP passes both ways. The same for IPv6 neighbor discovery
    (gateway6): a solicitation for the gateway is answered with the router's
    advertisement (built here independently by scapy, checksum included); the
    remote gateway's advertisement and its solicitations are stopped; a DAD
    probe and solicitations for other addresses cross. The local router's own
    ARP and ND for the gateway address stay on this side."""
    from scapy.all import ARP, Dot1Q, Ether, IPv6, ICMPv6ND_NS, ICMPv6ND_NA, \
        ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr
    with open(os.path.join(src, "a.ini")) as fh:
        text = fh.read()
    router, remote_gw, host = "02:00:5e:00:01:01", "02:00:5e:00:99:99", "02:00:00:00:00:0a"
    text = text.replace("[segment web]\nvlan = 101\nvni = 5101\n",
                        "[segment web]\nvlan = 101\nvni = 5101\ngateway = 192.0.2.1\n"
                        "gateway6 = 2001:db8:5::1\ngateway_site = peer\nlocal_egress = yes\nrouter_mac = %s\n" % router)
    conf = os.path.join(work, "gw.ini")
    with open(conf, "w") as fh:
        fh.write(text)
    who_gw = Ether(src=host, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=101) / \
        ARP(op=1, hwsrc=host, psrc="192.0.2.10", pdst="192.0.2.1")
    who_other = Ether(src=host, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=101) / \
        ARP(op=1, hwsrc=host, psrc="192.0.2.10", pdst="192.0.2.20")
    gw6, host6, other6 = "2001:db8:5::1", "2001:db8:5::10", "2001:db8:5::20"
    sn_gw = "ff02::1:ff00:1"   # solicited-node multicast address of gw6
    ns_gw = Ether(src=host, dst="33:33:ff:00:00:01") / Dot1Q(vlan=101) / \
        IPv6(src=host6, dst=sn_gw, hlim=255) / ICMPv6ND_NS(tgt=gw6) / ICMPv6NDOptSrcLLAddr(lladdr=host)
    ns_gw_nud = Ether(src=host, dst=router) / Dot1Q(vlan=101) / \
        IPv6(src=host6, dst=gw6, hlim=255) / ICMPv6ND_NS(tgt=gw6)   # unicast, no option
    ns_other = Ether(src=host, dst="33:33:ff:00:00:20") / Dot1Q(vlan=101) / \
        IPv6(src=host6, dst="ff02::1:ff00:20", hlim=255) / ICMPv6ND_NS(tgt=other6) / \
        ICMPv6NDOptSrcLLAddr(lladdr=host)
    ns_dad = Ether(src=host, dst="33:33:ff:00:00:01") / Dot1Q(vlan=101) / \
        IPv6(src="::", dst=sn_gw, hlim=255) / ICMPv6ND_NS(tgt=gw6)
    # the local router speaking for the gateway address: kept from the tunnel
    r_reply = Ether(src=router, dst=host) / Dot1Q(vlan=101) / \
        ARP(op=2, hwsrc=router, psrc="192.0.2.1", hwdst=host, pdst="192.0.2.10")
    r_request = Ether(src=router, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=101) / \
        ARP(op=1, hwsrc=router, psrc="192.0.2.1", pdst="192.0.2.30")
    r_na = Ether(src=router, dst="33:33:00:00:00:01") / Dot1Q(vlan=101) / \
        IPv6(src=gw6, dst="ff02::1", hlim=255) / ICMPv6ND_NA(R=1, S=0, O=1, tgt=gw6) / \
        ICMPv6NDOptDstLLAddr(lladdr=router)
    r_ns = Ether(src=router, dst="33:33:ff:00:00:30") / Dot1Q(vlan=101) / \
        IPv6(src=gw6, dst="ff02::1:ff00:30", hlim=255) / ICMPv6ND_NS(tgt="2001:db8:5::30") / \
        ICMPv6NDOptSrcLLAddr(lladdr=router)
    write(os.path.join(work, "gw-local.pcap"), [who_gw, who_other, ns_gw, ns_gw_nud, ns_other,
                                                ns_dad, r_reply, r_request, r_na, r_ns])
    gw_reply = Ether(src=remote_gw, dst=host) / ARP(op=2, hwsrc=remote_gw, psrc="192.0.2.1",
                                                     hwdst=host, pdst="192.0.2.10")
    other_reply = Ether(src="02:00:00:00:00:14", dst=host) / \
        ARP(op=2, hwsrc="02:00:00:00:00:14", psrc="192.0.2.20", hwdst=host, pdst="192.0.2.10")
    gw_na = Ether(src=remote_gw, dst="33:33:00:00:00:01") / \
        IPv6(src=gw6, dst="ff02::1", hlim=255) / ICMPv6ND_NA(R=1, S=0, O=1, tgt=gw6) / \
        ICMPv6NDOptDstLLAddr(lladdr=remote_gw)
    gw_ns = Ether(src=remote_gw, dst="33:33:ff:00:00:10") / \
        IPv6(src=gw6, dst="ff02::1:ff00:10", hlim=255) / ICMPv6ND_NS(tgt=host6) / \
        ICMPv6NDOptSrcLLAddr(lladdr=remote_gw)
    other_na = Ether(src="02:00:00:00:00:14", dst=host) / \
        IPv6(src=other6, dst=host6, hlim=255) / ICMPv6ND_NA(R=0, S=1, O=1, tgt=other6) / \
        ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:14")
    write(os.path.join(work, "gw-uplink.pcap"),
          [tunnel_packet(KEY_B_TO_A, SPI_B_TO_A, seq, vxlan_inner(bytes(f), 5101, B_VTEP, A_VTEP))
           for seq, f in ((1, gw_reply), (2, other_reply), (3, gw_na), (4, gw_ns), (5, other_na))])
    st, up, lo = run_a(dp, src, work, os.path.join(work, "gw-local.pcap"), name="gw", config=conf,
                       uplink_in=os.path.join(work, "gw-uplink.pcap"))
    answer = bytes(Ether(src=router, dst=host) / Dot1Q(vlan=101) /
                   ARP(op=2, hwsrc=router, psrc="192.0.2.1", hwdst=host, pdst="192.0.2.10"))
    check(answer in lo, "the ARP request for the gateway is answered on the trunk, VLAN 101, with "
          "the local router's MAC")
    na_answer = lambda dst_ip: bytes(
        Ether(src=router, dst=host) / Dot1Q(vlan=101) / IPv6(src=gw6, dst=dst_ip, hlim=255) /
        ICMPv6ND_NA(R=1, S=1, O=1, tgt=gw6) / ICMPv6NDOptDstLLAddr(lladdr=router))
    check(lo.count(na_answer(host6)) == 2,
          "both solicitations for gateway6 (multicast with an option, unicast without) are "
          "answered with the router's advertisement, checksum as scapy computes it (%d)"
          % lo.count(na_answer(host6)))
    tunnelled = [parse_vxlan(unwrap_uplink(p)["inner"])[5] for p in up]
    check(tunnelled == [G.strip_tag(bytes(f)) for f in (who_other, ns_other, ns_dad)],
          "only the other ARP request, the other solicitation and the DAD probe cross the "
          "tunnel (%d tunnelled)" % len(tunnelled))
    other_na_tagged = bytes(Ether(src="02:00:00:00:00:14", dst=host) / Dot1Q(vlan=101) /
                            other_na.payload)
    check(other_na_tagged in lo, "the other host's advertisement from the tunnel is delivered")
    other_tagged = bytes(Ether(src="02:00:00:00:00:14", dst=host) / Dot1Q(vlan=101) /
                         ARP(op=2, hwsrc="02:00:00:00:00:14", psrc="192.0.2.20", hwdst=host,
                             pdst="192.0.2.10"))
    check(other_tagged in lo, "the other host's ARP reply from the tunnel is delivered")
    check(not any(remote_gw.replace(":", "") in f.hex() for f in lo),
          "nothing of the remote gateway (ARP reply, advertisement, solicitation) reaches the "
          "local side")
    c = st["counters"]
    check(c["gw_arp_answered"] == 3, "gw_arp_answered = 3: one ARP, two ND (got %d)"
          % c["gw_arp_answered"])
    check_counters(st, {"drop_remote_gateway": 3, "drop_local_gateway": 4})
    check(not any(router.replace(":", "") in parse_vxlan(unwrap_uplink(p)["inner"])[5].hex() for p in up),
          "the local router's ARP reply, request, advertisement and solicitation for the gateway "
          "address do not cross the tunnel (drop_local_gateway 4)")


def case_l2guard(dp, src, work):
    with open(os.path.join(src, "a-bridge.ini")) as fh:
        text = fh.read()
    text = text.replace("; TEST ONLY", "[segment damp]\nvlan = 105\nvni = 5105\nflap_moves = 3\n"
                        "flap_window = 10\nflap_dampen = 30\n\n; TEST ONLY")
    conf = os.path.join(work, "l2guard.ini")
    with open(conf, "w") as fh:
        fh.write(text)
    local, uplink, tunnelled, remote = G.l2guard_frames()
    rc, st, out, err = run_dp(dp, work, "l2guard", conf,
                              [(os.path.join(work, "l2guard-local.pcap"), os.path.join(work, "g-local-out.pcap")),
                               (os.path.join(work, "l2guard-uplink.pcap"), os.path.join(work, "g-uplink-out.pcap"))])
    up, lo = read(os.path.join(work, "g-uplink-out.pcap")), read(os.path.join(work, "g-local-out.pcap"))
    got = [parse_vxlan(unwrap_uplink(p)["inner"])[5] for p in up]
    want = [G.strip_tag(local[i]) for i in tunnelled]
    check(got == want, "tunnelled: every local frame but the dampened L6, L7 and the looped L9 "
          "(%d of %d)" % (len(got), len(want)))
    check(G.strip_tag(local[9]) not in got, "the looped frame does not go back into the tunnel")
    vlan_of = {5101: 101, 5105: 105}
    check(lo == [G.add_tag(f, vlan_of[vni]) for vni, f in remote],
          "every frame from the tunnel is delivered on the trunk (%d of %d)" % (len(lo), len(remote)))
    c = st["counters"]
    check(c["mac_flaps"] == 2, "two flaps: FLAP on web, DAMP on damp (mac_flaps %d)" % c["mac_flaps"])
    check(c["fdb_moved"] == 12, "moves: FLAP 7, DAMP 3 (the 4th undone), VMOT 1, SAME 1 (fdb_moved %d)"
          % c["fdb_moved"])
    check(c["ip_conflicts"] == 1, "one IP conflict, 192.0.2.50 (ip_conflicts %d)" % c["ip_conflicts"])
    try:
        check_counters(st, {"drop_mac_dampened": 2, "drop_loop": 1})
        check(True, "drop_mac_dampened = 2, drop_loop = 1, no other drop")
    except AssertionError as ex:
        check(False, str(ex))
    fdb = {(e["segment"], e["mac"]): e for e in st["fdb"]}
    f, d, v = fdb[("web", G.FLAP)], fdb[("damp", G.DAMP)], fdb[("web", G.VMOT)]
    check(f["flaps"] == 1 and not f["dampened"], "FLAP: 1 flap, not dampened (report only): %s" % f)
    check(d["flaps"] == 1 and d["dampened"] and d["side"] == "remote" and 25 <= d["dampened_s"] <= 31,
          "DAMP: 1 flap, dampened for ~30 s, kept on the remote side: %s" % d)
    check(v["flaps"] == 0 and v["side"] == "remote",
          "VMOT: one move is no flap, and the looped frame did not move it back: %s" % v)
    seg = {s["name"]: s for s in st["segments"]}
    check((seg["web"]["mac_flaps"], seg["web"]["loops"], seg["web"]["ip_conflicts"]) == (1, 1, 1),
          "segment web: 1 flap, 1 loop, 1 IP conflict: %s" % seg["web"])
    check(seg["damp"]["mac_flaps"] == 1 and seg["damp"]["ip_conflicts"] == 0, "segment damp: 1 flap")
    kinds = sorted((e["kind"], e["segment"], e["mac"]) for e in st["l2guard"]["events"])
    check(kinds == sorted([("mac_flap", "web", G.FLAP), ("mac_flap", "damp", G.DAMP),
                           ("loop", "web", G.VMOT), ("ip_conflict", "web", G.C2)]),
          "stats JSON reports: %s" % kinds)
    ipc = [e for e in st["l2guard"]["events"] if e["kind"] == "ip_conflict"]
    check(ipc and ipc[0]["ip"] == "192.0.2.50" and ipc[0]["other_mac"] == G.C1 and ipc[0]["side"] == "remote",
          "the conflict names 192.0.2.50, C2 (remote) and C1: %s" % ipc)
    check(re.search(r"segment web: MAC %s flapping .*\(6 moves in 10 s\)" % G.FLAP, out) is not None,
          "log line for the flap of FLAP")
    check(re.search(r"segment damp: MAC %s flapping .*kept remote.*local side dropped for 30 s"
                    % G.DAMP, out) is not None, "log line for the dampened DAMP")
    check(re.search(r"segment web: loop on the local port: a frame from %s" % G.VMOT, out) is not None,
          "log line for the loop, naming segment and MAC")
    check(re.search(r"segment web: IP conflict: 192\.0\.2\.50 claimed by %s \(remote\) and %s \(local\)"
                    % (G.C2, G.C1), out) is not None, "log line for the IP conflict")
    check("192.0.2.60" not in out, "the same MAC on both sides is no conflict")
    l2guard_loop_padded(dp, src, work)
    l2guard_damp_outlives_aging(dp, src, work, text)
    for burst in (1, 2):
        l2guard_moved_repeat(dp, src, work, burst)


def l2guard_damp_outlives_aging(dp, src, work, text):
    """The same frames with aging = 1 s on both segments and 3 s idle before
    exit: the web MACs age out (aging ran), the dampened DAMP stays, still
    dampened on the remote side, because dampening (30 s) outlasts aging."""
    text = text.replace("flap_dampen = 30\n", "flap_dampen = 30\naging = 1\n")
    web = text.index("[segment web]\n") + len("[segment web]\n")
    text = text[:web] + "aging = 1\n" + text[web:]
    conf = os.path.join(work, "l2guard-aging.ini")
    with open(conf, "w") as fh:
        fh.write(text)
    rc, st, out, err = run_dp(dp, work, "l2guard-aging", conf,
                              [(os.path.join(work, "l2guard-local.pcap"), os.path.join(work, "ga-local-out.pcap")),
                               (os.path.join(work, "l2guard-uplink.pcap"), os.path.join(work, "ga-uplink-out.pcap"))],
                              idle_ms=3000)
    fdb = {(e["segment"], e["mac"]): e for e in st["fdb"]}
    check(st["fdb_aged"] >= 3 and not [k for k in fdb if k[0] == "web"],
          "aging = 1 s: every web MAC aged out during the 3 s idle (fdb_aged %d, left %s)"
          % (st["fdb_aged"], sorted(fdb)))
    d = fdb.get(("damp", G.DAMP))
    check(d is not None and d["dampened"] and d["side"] == "remote" and 20 <= d["dampened_s"] <= 31,
          "the dampened DAMP outlives aging = 1 s, still dampened and remote: %s" % d)


def l2guard_moved_repeat(dp, src, work, burst):
    """A host's MLD report and ARP request repeated byte for byte from the new
    site right after a move (vMotion) are forwarded, not taken for a loop; the
    same frames from a host still remote coming back are loops (see
    G.moved_repeat_frames for the order)."""
    conf = os.path.join(work, "moved-%d.ini" % burst)
    with open(os.path.join(src, "a-bridge.ini")) as fh, open(conf, "w") as out_fh:
        out_fh.write(fh.read().replace("burst = 1\n", "burst = %d\n" % burst))
    local, uplink, tunnelled, looped = G.moved_repeat_frames(burst)
    paths = [os.path.join(work, "moved%d-%s.pcap" % (burst, n)) for n in ("lo", "up", "lo-out", "up-out")]
    write(paths[0], local)
    write(paths[1], uplink)
    rc, st, out, err = run_dp(dp, work, "moved%d" % burst, conf, [(paths[0], paths[2]), (paths[1], paths[3])])
    what = "burst %d: " % burst
    got = [parse_vxlan(unwrap_uplink(p)["inner"])[5] for p in read(paths[3])]
    check(got == [G.strip_tag(local[i]) for i in tunnelled],
          what + "the moved hosts' repeats are tunnelled with the other frames, the looped L%s are not "
          "(%d frames tunnelled of %d)" % (looped, len(got), len(tunnelled)))
    check(len(read(paths[2])) == len(uplink), what + "every frame from the tunnel delivered on the trunk")
    c = st["counters"]
    repeats = 2 if burst == 1 else 1
    check(c["l2guard_host_repeat"] == repeats and c["mac_flaps"] == 0,
          what + "%d repeat(s) of a frame A sent, from a host at A since: l2guard_host_repeat %d, "
          "mac_flaps %d" % (repeats, c["l2guard_host_repeat"], c["mac_flaps"]))
    try:
        check_counters(st, {"drop_loop": len(looped)})
        check(True, what + "drop_loop = %d (LOOPER's frames back), no other drop" % len(looped))
    except AssertionError as ex:
        check(False, what + str(ex))
    seg = {s["name"]: s for s in st["segments"]}
    events = [(e["kind"], e["mac"]) for e in st["l2guard"]["events"]]
    check(seg["web"]["loops"] == len(looped) and events == [("loop", G.LOOPER)],
          what + "the loops counted on segment web (%d) and reported for LOOPER only: %s"
          % (seg["web"]["loops"], events))
    fdb = {e["mac"]: e["side"] for e in st["fdb"] if e["segment"] == "web"}
    want = {G.MOVED: "local", G.LOOPER: "remote"}
    if burst == 1:
        want[G.ARPH] = "local"
    check(all(fdb.get(m) == side for m, side in want.items()),
          what + "MAC table: the moved hosts local, LOOPER still remote: %s" % fdb)


def l2guard_loop_padded(dp, src, work):
    """A short broadcast A delivered on the trunk comes back padded to the
    Ethernet minimum (as after a real link): still a loop (review finding)."""
    from scapy.all import ARP, Ether, IP, UDP, Raw
    bcast, v = "ff:ff:ff:ff:ff:ff", "02:00:00:00:07:03"

    def filler(n):
        return bytes(Ether(src="02:00:00:00:08:%02x" % n, dst="02:00:00:00:09:99") / IP() / UDP() /
                     Raw(b"f%d" % n))
    rarp = bytes(Ether(src=v, dst=bcast, type=0x8035) / ARP(op=3, hwsrc=v, hwdst=v, psrc="0.0.0.0",
                                                            pdst="0.0.0.0"))
    rarp2 = bytes(Ether(src=v, dst=bcast, type=0x8035) / ARP(op=3, hwsrc=v, hwdst=v, psrc="0.0.0.1",
                                                             pdst="0.0.0.0"))
    # burst 1: L0, U0 (the 42-byte RARP, delivered as 46 bytes), L1 (it, padded
    # to 60), U1, L2, U2 (a second RARP), L3 (it, unpadded), U3
    local = [G.add_tag(filler(1), 101), G.add_tag(rarp, 101) + b"\0" * 14, G.add_tag(filler(2), 101),
             G.add_tag(rarp2, 101)]
    remote = [rarp, filler(3), rarp2, filler(4)]
    lpath, upath = os.path.join(work, "lp-local.pcap"), os.path.join(work, "lp-up.pcap")
    write(lpath, local)
    write(upath, [bytes(tunnel_packet(KEY_B_TO_A, SPI_B_TO_A, i + 1, vxlan_inner(f, 5101, B_VTEP, A_VTEP)))
                  for i, f in enumerate(remote)])
    rc, st, out, err = run_dp(dp, work, "looppad", os.path.join(src, "a-bridge.ini"),
                              [(lpath, os.path.join(work, "lp-lo.pcap")),
                               (upath, os.path.join(work, "lp-upo.pcap"))])
    c = st["counters"]
    check(c["drop_loop"] == 2, "a looped 46-byte broadcast is a loop padded to 60 bytes as well as "
          "unpadded (drop_loop %d of 2)" % c["drop_loop"])


def case_segments(dp, src, work):
    base = open(os.path.join(src, "a.ini")).read()
    head, tail = base.split("[segment web]", 1)
    tail = tail[tail.index("; TEST ONLY"):]
    segs = "".join("[segment s%d]\nvlan = %d\nvni = %d\n\n" % (v, v, 100000 + v) for v in range(1, 1001))
    cfg = os.path.join(work, "many.ini")
    with open(cfg, "w") as fh:
        fh.write(head + segs + tail)
    vlans = [1, 2, 77, 500, 999, 1000, 1001]
    frames = [bytes(G.Ether(src="02:00:00:00:05:%02x" % (i + 1), dst="ff:ff:ff:ff:ff:ff") / G.Dot1Q(vlan=v) /
                    G.IP(src="192.0.2.1", dst="192.0.2.255") / G.UDP(dport=9) / G.Raw(b"vlan %d" % v))
              for i, v in enumerate(vlans)]
    lpath = os.path.join(work, "many-local.pcap")
    write(lpath, frames)
    st, up, lo = run_a(dp, src, work, lpath, name="many", config=cfg)
    got = [(parse_vxlan(unwrap_uplink(p)["inner"])[4], parse_vxlan(unwrap_uplink(p)["inner"])[5]) for p in up]
    want = [(100000 + v, G.strip_tag(f)) for v, f in zip(vlans, frames) if v <= 1000]
    check(len(st["segments"]) == 1000, "1000 segments configured")
    check(got == want, "VLANs 1, 2, 77, 500, 999, 1000 each reach VNI 100000 + VLAN, frames intact")
    try:
        check_counters(st, {"drop_unknown_vlan": 1})
        check(True, "VLAN 1001 (no segment) is dropped as drop_unknown_vlan")
    except AssertionError as ex:
        check(False, str(ex))


KEY_A_TO_B_1 = bytes.fromhex(
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3fa4a5a6a7")
TWO_WORKERS = ("--lcores", "0@0,1@1,2@0")   # main lcore + 2 workers on 2 CPUs


def case_workers(dp, src, work):
    frames = G.local_frames()
    halves = (frames[:8], frames[8:])
    lin = [os.path.join(work, "w-local-%d.pcap" % i) for i in (0, 1)]
    for path, h in zip(lin, halves):
        write(path, [f for _, f in h])
    extra = ("out.1 = 0x00001002 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3fa4a5a6a7\n"
             "in.1 = 0x00002002 606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7fb4b5b6b7\n")
    extra_b = ("in.1 = 0x00001002 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3fa4a5a6a7\n"
               "out.1 = 0x00002002 606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7fb4b5b6b7\n")
    for name, add in (("a", extra), ("b", extra_b)):
        with open(os.path.join(work, name + "2.ini"), "w") as fh:
            fh.write(open(os.path.join(src, name + ".ini")).read().rstrip("\n") + "\n" + add)
    e = os.path.join(work, "empty.pcap")
    aup = [os.path.join(work, "w-a-up-%d.pcap" % i) for i in (0, 1)]
    alo = [os.path.join(work, "w-a-lo-%d.pcap" % i) for i in (0, 1)]
    rc, st, out, _ = run_dp(dp, work, "w-a", os.path.join(work, "a2.ini"), [(lin, alo), (e, aup)],
                            lcores=TWO_WORKERS)
    check("2 worker(s)" in out, "A runs two workers")
    for i, key, spi, sport in ((0, KEY_A_TO_B, 0x1001, 4500), (1, KEY_A_TO_B_1, 0x1002, 4501)):
        pk = [unwrap_uplink(p, key) for p in read(aup[i])]
        seqs = [u["seq"] for u in pk]
        check([parse_vxlan(u["inner"])[5] for u in pk] == [G.strip_tag(f) for _, f in halves[i]] and
              all(u["spi"] == spi and u["sport"] == sport for u in pk) and seqs == list(range(1, len(pk) + 1)),
              "worker %d sealed its %d frames, in order, with its own SA 0x%04x (seq 1..%d) from UDP port %d"
              % (i, len(halves[i]), spi, len(halves[i]), sport))
    ids = [[int.from_bytes(p[18:20], "big") for p in read(aup[i])] for i in (0, 1)]
    check(all(x % 2 == i for i in (0, 1) for x in ids[i]) and not set(ids[0]) & set(ids[1]),
          "outer IP ids: worker 0 even, worker 1 odd, never shared (the peer reassembles by id)")
    check(read(alo[0]) + read(alo[1]) == [], "nothing back on A's local port")
    # One worker at B, the two SAs interleaved in every burst: each burst is
    # opened SA by SA, and the frames still leave in arrival order.
    p0, p1 = read(aup[0]), read(aup[1])
    mixed, order = [], []
    for i in range(max(len(p0), len(p1))):
        for k, pk in ((0, p0), (1, p1)):
            if i < len(pk):
                mixed.append(pk[i])
                order.append(halves[k][i])
    mpath = os.path.join(work, "w-mixed.pcap")
    write(mpath, mixed)
    mouts = [os.path.join(work, n) for n in ("w-m-trunk.pcap", "w-m-db.pcap", "w-m-up.pcap")]
    rc, st, _, _ = run_dp(dp, work, "w-m", os.path.join(work, "b2.ini"),
                          [(e, mouts[0]), (e, mouts[1]), (mpath, mouts[2])])
    want_t = [G.at_b_trunk(v, f) for v, f in order if G.at_b_trunk(v, f)]
    want_d = [G.strip_tag(f) for v, f in order if v == 102]
    check(read(mouts[0]) == want_t and read(mouts[1]) == want_d,
          "one worker, two SAs interleaved: every frame, in arrival order (%d + %d)" % (len(want_t), len(want_d)))
    check_counters(st, {})
    outs = [os.path.join(work, n) for n in ("w-b-trunk.pcap", "w-b-db.pcap")]
    bup = [os.path.join(work, "w-b-up-%d.pcap" % i) for i in (0, 1)]
    rc, st, out, _ = run_dp(dp, work, "w-b", os.path.join(work, "b2.ini"),
                            [(e, outs[0]), (e, outs[1]), (aup, bup)], lcores=TWO_WORKERS)
    trunk, db = read(outs[0]), read(outs[1])
    for port, got, want_of in (("trunk", trunk, G.at_b_trunk),
                               ("db", db, lambda v, f: G.strip_tag(f) if v == 102 else None)):
        want = [[want_of(v, f) for v, f in h if want_of(v, f)] for h in halves]
        whole = sorted(want[0] + want[1])
        in_order = all([g for g in got if g in w] == w for w in want)
        check(sorted(got) == whole and in_order,
              "B's %s: every frame once (%d), each worker's in its order" % (port, len(whole)))
    check(read(bup[0]) + read(bup[1]) == [], "nothing back into the tunnel")
    sas = {int(s["spi"], 16): s for s in st["sas"] if s["dir"] == "in"}   # "0x%08x"
    check(sas[0x1001]["packets"] == len(halves[0]) and sas[0x1002]["packets"] == len(halves[1]),
          "B opened %d packets on SA 0x1001 and %d on 0x1002" % (len(halves[0]), len(halves[1])))
    pw = [w["tunnel_in"] for w in st["per_worker"]]
    check(sorted(pw) == sorted([len(halves[0]), len(halves[1])]), "each of B's workers opened one SA (%s)" % pw)
    check_counters(st, {})


def tshark_tcp(path):
    """(vlan, mss, tcp checksum status, ip checksum status) per frame of a pcap,
    tshark verifying checksums (status 1: good)."""
    t = subprocess.run(["tshark", "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                        "-T", "fields", "-e", "vlan.id", "-e", "tcp.options.mss_val", "-e", "tcp.checksum.status",
                        "-e", "ip.checksum.status"], capture_output=True, text=True, check=True)
    return [tuple(r.split("\t")) for r in t.stdout.split("\n")[:-1]]


def mss_setting(text, segment, lines):
    """a.ini/b.ini text with `lines` added to [segment NAME]."""
    head = "[segment %s]\n" % segment
    assert head in text
    return text.replace(head, head + lines, 1)


def mss_check_run(what, got, want, work, name):
    """got/want: output frames and (frame, kind) expected; tshark on got."""
    path = os.path.join(work, name + "-check.pcap")
    write(path, got)
    check(len(got) == len(want), "%s: %d frames out of %d" % (what, len(got), len(want)))
    rows = tshark_tcp(path)
    for i, (g, (w, kind, label, limit)) in enumerate(zip(got, want)):
        check(g == w, "%s: %s -> %s%s" % (what, label, kind, " to %d" % limit if kind == "clamp" else ""))
        vlan, mss, tcs, ics = rows[i]
        if kind == "clamp" and mss:
            check(int(mss) == limit, "%s: tshark reads MSS %s in '%s'" % (what, mss, label))
        if tcs:
            check(tcs == "1" and ics in ("", "1"), "%s: tshark: TCP (and IPv4) checksum good in '%s'" %
                  (what, label))
    clamped = [r for r, (_, kind, _, _) in zip(rows, want) if kind == "clamp"]
    check(len(clamped) > 0 and all(r[2] == "1" for r in clamped if r[1]),
          "%s: every clamped segment tshark dissects has a good checksum" % what)


def case_mss(dp, src, work):
    mtu = 1500
    m4, m6, m4t = G.mss_budget(mtu, False), G.mss_budget(mtu, True), G.mss_budget(mtu, False, tags=1)
    m6t = G.mss_budget(mtu, True, tags=1)
    check((m4, m6, m4t, m6t) == (1348, 1328, 1344, 1324),
          "expected clamps for MTU 1500: IPv4 %d, IPv6 %d; with a tag in the tunnel %d, %d" % (m4, m6, m4t, m6t))
    cases = G.mss_cases()
    a_text = open(os.path.join(src, "a.ini")).read().replace("mtu = 1700", "mtu = %d" % mtu, 1)
    a_cfg = os.path.join(work, "mss-a.ini")
    with open(a_cfg, "w") as fh:
        fh.write(a_text)

    def expect(build, v6, kind, limit_v4, limit_v6, vlan=None):
        limit = limit_v6 if v6 else limit_v4
        return build(vlan=vlan, limit=limit if kind == "clamp" else None), limit

    def counters(kinds, st, what):
        c = st["counters"]
        want = {"mss_clamped": kinds.count("clamp"), "mss_missing": kinds.count("missing"),
                "mss_malformed": kinds.count("malformed")}
        check(all(c[k] == v for k, v in want.items()), "%s: counters %s (got %s)" % (
            what, want, {k: c[k] for k in want}))
        check_counters(st, {})

    # A, both directions: VLAN 101 (trunk; the tag is not in the tunnel) and
    # the native VLAN (untagged).
    local, want_out, uplink, want_in, kinds = [], [], [], [], []
    seq = 0
    for vlan, vni in ((101, 5101), (None, 5100)):
        for label, v6, build, kind in cases:
            lab = "%s, %s" % (label, "VLAN %d" % vlan if vlan else "untagged")
            local.append(build(vlan=vlan))
            f, lim = expect(build, v6, kind, m4, m6)
            want_out.append((f, kind, "outbound " + lab, lim))
            seq += 1
            r = build(src=G.MSS_REMOTE, dst=G.MSS_SRC)
            uplink.append(tunnel_packet(KEY_B_TO_A, SPI_B_TO_A, seq, vxlan_inner(r, vni, B_VTEP, A_VTEP)))
            f = build(src=G.MSS_REMOTE, dst=G.MSS_SRC, vlan=vlan, limit=(m6 if v6 else m4) if kind == "clamp" else None)
            want_in.append((f, kind, "inbound " + lab, m6 if v6 else m4))
            kinds += [kind, kind]
    lp, upp = os.path.join(work, "mss-local.pcap"), os.path.join(work, "mss-uplink.pcap")
    write(lp, local)
    write(upp, uplink)
    st, up, lo = run_a(dp, src, work, lp, name="mss", config=a_cfg, uplink_in=upp)
    seg = {x["name"]: x for x in st["segments"]}
    check(seg["web"]["mss4"] == m4 and seg["web"]["mss6"] == m6,
          "the dataplane's clamp for MTU %d is %d / %d (%s)" % (mtu, m4, m6, seg["web"]))
    inner = [parse_vxlan(unwrap_uplink(p)["inner"])[5] for p in up]
    mss_check_run("A outbound", inner, want_out, work, "mss-out")
    mss_check_run("A inbound", lo, want_in, work, "mss-in")
    counters(kinds, st, "A")

    # B's access port carries tagged frames: the tag travels in the tunnel
    # and costs 4 bytes. Outbound from the access port, inbound to it.
    b_text = open(os.path.join(src, "b.ini")).read().replace("mtu = 1700", "mtu = %d" % mtu, 1)
    b_cfg = os.path.join(work, "mss-b.ini")
    with open(b_cfg, "w") as fh:
        fh.write(b_text)
    sel = [c for c in cases if c[3] in ("clamp", "same")]
    blocal, bwant_out, bup, bwant_in, bkinds = [], [], [], [], []
    for i, (label, v6, build, kind) in enumerate(sel):
        tagged = i % 2 == 0
        vlan = 7 if tagged else None
        l4, l6 = (m4t, m6t) if tagged else (m4, m6)
        lab = "%s, %s on the access port" % (label, "VLAN 7 tag" if tagged else "untagged")
        blocal.append(build(vlan=vlan))
        f, lim = expect(build, v6, kind, l4, l6, vlan=vlan)
        bwant_out.append((f, kind, "outbound " + lab, lim))
        r = build(src=G.MSS_REMOTE, dst=G.MSS_SRC, vlan=vlan)
        bup.append(tunnel_packet(KEY_A_TO_B, SPI_A_TO_B, i + 1, vxlan_inner(r, 5102, A_VTEP, B_VTEP),
                                 src_ip=A_UP, dst_ip=B_UP, src_mac=A_UP_MAC, dst_mac=G.B_UP_MAC))
        f = build(src=G.MSS_REMOTE, dst=G.MSS_SRC, vlan=vlan, limit=(l6 if v6 else l4) if kind == "clamp" else None)
        bwant_in.append((f, kind, "inbound " + lab, l6 if v6 else l4))
        bkinds += [kind, kind]
    e = os.path.join(work, "empty.pcap")
    blp, bupp = os.path.join(work, "mss-b-local.pcap"), os.path.join(work, "mss-b-uplink.pcap")
    write(blp, blocal)
    write(bupp, bup)
    outs = [os.path.join(work, n) for n in ("mss-b-trunk.pcap", "mss-b-db.pcap", "mss-b-up.pcap")]
    rc, st, _, _ = run_dp(dp, work, "mss-b", b_cfg, [(e, outs[0]), (blp, outs[1]), (bupp, outs[2])])
    binner = [parse_vxlan(unwrap_uplink(p, KEY_B_TO_A)["inner"])[5] for p in read(outs[2])]
    mss_check_run("B access outbound", binner, bwant_out, work, "mss-b-out")
    mss_check_run("B access inbound", read(outs[1]), bwant_in, work, "mss-b-in")
    counters(bkinds, st, "B")

    # mss_clamp = no on web, mss = 1000 on native: untouched and 1000 / 980.
    text = mss_setting(mss_setting(a_text, "web", "mss_clamp = no\n"), "native", "mss = 1000\n")
    cfg = os.path.join(work, "mss-a-set.ini")
    with open(cfg, "w") as fh:
        fh.write(text)
    sel = [c for c in cases if c[3] == "clamp"]
    local, want = [], []
    for vlan in (101, None):
        for label, v6, build, kind in sel:
            local.append(build(vlan=vlan))
            if vlan:
                want.append((build(), "same", "mss_clamp = no: " + label, 0))
            else:
                want.append((build(limit=980 if v6 else 1000), "clamp", "mss = 1000: " + label, 980 if v6 else 1000))
    lp = os.path.join(work, "mss-set-local.pcap")
    write(lp, local)
    st, up, _ = run_a(dp, src, work, lp, name="mss-set", config=cfg)
    inner = [parse_vxlan(unwrap_uplink(p)["inner"])[5] for p in up]
    mss_check_run("mss settings", inner, want, work, "mss-set")
    seg = {x["name"]: x for x in st["segments"]}
    check(seg["web"]["mss4"] == 0 and seg["native"]["mss4"] == 1000 and seg["native"]["mss6"] == 980,
          "reported: web clamping off, native 1000 / 980")
    check(st["counters"]["mss_clamped"] == len(sel), "mss_clamped = %d" % len(sel))


def case_storm(dp, src, work):
    n, rate, burst = 100, 10, 20
    text = open(os.path.join(src, "a-bridge.ini")).read()
    text = mss_setting(text, "web", "storm_broadcast = %d\nstorm_multicast = %d\nstorm_unknown = %d\n"
                       "storm_burst = %d\n" % (rate, rate, rate, burst))
    cfg = os.path.join(work, "storm.ini")
    with open(cfg, "w") as fh:
        fh.write(text)
    local, uplink, cls = G.storm_frames(n)
    lp, upp = os.path.join(work, "storm-local.pcap"), os.path.join(work, "storm-uplink.pcap")
    write(lp, local)
    write(upp, uplink)
    st, up, lo = run_a(dp, src, work, lp, name="storm", config=cfg, uplink_in=upp)
    got = [parse_vxlan(unwrap_uplink(p)["inner"])[5] for p in up]
    by = {}
    stripped = {G.strip_tag(f): c for f, c in zip(local, cls)}
    for f in got:
        by[stripped.get(f, "?")] = by.get(stripped.get(f, "?"), 0) + 1
    c = st["counters"]
    # The bucket starts full (burst) and refills at `rate`: the whole run lasts
    # well under a second, so at most `rate` more pass.
    for k in ("broadcast", "multicast", "unknown"):
        passed = by.get(k, 0)
        check(burst <= passed <= burst + rate,
              "%s: %d of %d frames pass (bucket %d, %d/s)" % (k, passed, n, burst, rate))
        check(c["drop_storm_" + k] == n - passed, "drop_storm_%s = %d (got %d)" % (k, n - passed, c["drop_storm_" + k]))
    check(by.get("known", 0) == n, "known unicast to the remote host is never limited (%d of %d)" % (by.get("known", 0), n))
    check(by.get("other", 0) == n, "segment 'short' (no storm control): every broadcast passes (%d)" % by.get("other", 0))
    check("?" not in by and "filler" not in by, "nothing else tunnelled")
    seg = {x["name"]: x for x in st["segments"]}
    check(seg["web"]["storm_drops"] == {k: c["drop_storm_" + k] for k in ("broadcast", "multicast", "unknown")},
          "per-segment storm drops of web agree: %s" % seg["web"]["storm_drops"])
    check(seg["short"]["storm_drops"] == {"broadcast": 0, "multicast": 0, "unknown": 0}, "none on segment short")
    try:
        check_counters(st, {"drop_unknown_vlan": 1, "drop_storm_broadcast": c["drop_storm_broadcast"],
                            "drop_storm_multicast": c["drop_storm_multicast"],
                            "drop_storm_unknown": c["drop_storm_unknown"]})
        check(True, "no other drop")
    except AssertionError as ex:
        check(False, str(ex))

    # Two workers polling the trunk (one queue each): each has its own bucket
    # with half the rate and half the burst. A flood on one queue is cut to
    # burst/2; spread over both, to the whole burst, never more.
    e = os.path.join(work, "empty.pcap")
    cfg2 = os.path.join(work, "storm2.ini")
    with open(cfg2, "w") as fh:   # worker 1's own outbound SA (as case_workers)
        fh.write(text.rstrip("\n") + "\nout.1 = 0x00001002 202122232425262728292a2b2c2d2e2f303132333435363738"
                 "393a3b3c3d3e3fa4a5a6a7\n")
    bc = [f for f, k in zip(local, cls) if k == "broadcast"]
    for name, split in (("one-queue", (bc, [])), ("two-queues", (bc[:n // 2], bc[n // 2:]))):
        ins = [os.path.join(work, "storm-%s-%d.pcap" % (name, q)) for q in (0, 1)]
        for path, frames in zip(ins, split):
            write(path, frames)
        lo = [os.path.join(work, "storm-%s-lo-%d.pcap" % (name, q)) for q in (0, 1)]
        upo = [os.path.join(work, "storm-%s-up-%d.pcap" % (name, q)) for q in (0, 1)]
        rc, st, out, _ = run_dp(dp, work, "storm-" + name, cfg2, [(ins, lo), (e, upo)], lcores=TWO_WORKERS)
        passed = len(read(upo[0]) + read(upo[1]))
        want = burst // 2 if name == "one-queue" else burst
        check("2 worker(s)" in out and want <= passed <= want + rate,
              "two workers, broadcast flood on %s: %d of %d pass (each worker: bucket %d, %d/s)" % (
                  name, passed, n, burst // 2, rate // 2))
        check(st["counters"]["drop_storm_broadcast"] == n - passed, "%s: drop_storm_broadcast = %d" % (
            name, n - passed))


def with_keys(src, work, name, base, uplink=None, segments=None):
    """A copy of `base` (a.ini or b.ini) with extra [uplink] keys and extra
    keys for some segments ({name: "key = value\\n..."})."""
    text = open(os.path.join(src, base)).read()
    if uplink:
        text = text.replace("[uplink]\n", "[uplink]\n" + uplink, 1)
    for seg, keys in (segments or {}).items():
        text = text.replace("[segment %s]\n" % seg, "[segment %s]\n" % seg + keys, 1)
    path = os.path.join(work, name + ".ini")
    with open(path, "w") as fh:
        fh.write(text.replace("mtu = 1700", "mtu = 1500"))
    return path


def outer_reassemble(frags):
    """Reassemble outer IPv4 fragments (all of one datagram) into one frame."""
    by_off = sorted(frags, key=lambda f: (int.from_bytes(f[20:22], "big") & 0x1fff))
    data = b"".join(f[34:14 + int.from_bytes(f[16:18], "big")] for f in by_off)
    hdr = bytearray(by_off[0][14:34])
    hdr[2:4] = (20 + len(data)).to_bytes(2, "big")
    hdr[6:8] = b"\0\0"
    return by_off[0][:14] + bytes(hdr) + data


def split_datagrams(pkts):
    """Uplink frames -> whole datagrams (fragments grouped by IP id, in order of completion)."""
    out, pending = [], {}
    for p in pkts:
        fo = int.from_bytes(p[20:22], "big")
        if fo & 0x3fff == 0:
            out.append((p, 1))
            continue
        ident = p[18:20]
        pending.setdefault(ident, []).append(p)
        got = pending[ident]
        total = sum(int.from_bytes(f[16:18], "big") - 20 for f in got)
        last = [f for f in got if not int.from_bytes(f[20:22], "big") & 0x2000]
        if last and total == (int.from_bytes(last[0][20:22], "big") & 0x1fff) * 8 + \
                int.from_bytes(last[0][16:18], "big") - 20:
            out.append((outer_reassemble(got), len(got)))
            del pending[ident]
    return out, pending


def case_frag(dp, src, work):
    """uplink MTU 1500: frames whose tunnel packet exceeds it leave
    in outer fragments (after sealing, RFC 4459), each with a right header;
    tshark reassembles them, the independent ESP opens the original frame;
    B reassembles A's fragments and delivers every frame byte for byte.
    The MTU boundary: a 1402-byte frame (1500-byte outer packet) is not
    fragmented, a 1403-byte one is."""
    frames = G.local_frames()
    for size in (1402, 1403):   # untagged frame sizes around the boundary, VLAN 101
        hdr = G.IP(src="192.0.2.11", dst="192.0.2.99") / G.UDP(sport=5000 + size, dport=9)
        body = (MARKER * 100)[:size - 14 - len(hdr)]
        frames.append((101, bytes(G.Ether(src=G.H1, dst=G.UNKNOWN) / G.Dot1Q(vlan=101) / hdr / G.Raw(body))))
    lpath = os.path.join(work, "frag-local.pcap")
    write(lpath, [f for _, f in frames])
    for mtu in (1500, 576):
        conf = with_keys(src, work, "frag-a-%d" % mtu, "a.ini")
        text = open(conf).read().replace("mtu = 1500\nlocal_vtep", "mtu = %d\nlocal_vtep" % mtu)
        open(conf, "w").write(text)
        name = "frag%d" % mtu
        st, up, lo = run_a(dp, src, work, lpath, name=name, config=conf)
        big = [f for _, f in frames if 60 + ((38 + len(G.strip_tag(f)) + 3) // 4 * 4) > mtu]
        c = st["counters"]
        check(all(len(p) <= 14 + mtu for p in up), "MTU %d: every uplink frame is at most %d bytes "
              "(largest %d)" % (mtu, 14 + mtu, max(len(p) for p in up)))
        if mtu == 1500:
            check(len(big) == 4, "4 frames need fragments at MTU 1500 (the 1513/1514-byte ones and "
                  "the 1403-byte one): %d" % len(big))
        whole, pending = split_datagrams(up)
        check(pending == {} and len(whole) == len(frames), "MTU %d: %d frames in, %d whole datagrams "
              "out, no fragment left over" % (mtu, len(frames), len(whole)))
        nfr = sum(n for _, n in whole if n > 1)
        check(c["frag_packets"] == len(big) and c["frag_out"] == nfr and
              c["tunnel_out"] == len(frames) and c["uplink_tx"] == len(up),
              "MTU %d: frag_packets %d, frag_out %d (= fragments on the wire), tunnel_out %d, uplink_tx %d"
              % (mtu, c["frag_packets"], c["frag_out"], c["tunnel_out"], c["uplink_tx"]))
        ok_hdr = True
        for p in up:
            fo = int.from_bytes(p[20:22], "big")
            ok_hdr &= ip_csum_ok(p[14:34]) and not fo & 0x4000 and len(p) == 14 + int.from_bytes(p[16:18], "big")
            if fo & 0x2000:   # not the last: payload a multiple of 8
                ok_hdr &= (int.from_bytes(p[16:18], "big") - 20) % 8 == 0
        check(ok_hdr, "MTU %d: every outer header checksum right, DF clear, lengths right, "
              "non-last fragments a multiple of 8 bytes" % mtu)
        ids = [p[18:20] for p in up]
        check(len(set(ids)) == len(whole), "MTU %d: the fragments of a datagram share its IP id, "
              "datagrams have distinct ids" % mtu)
        opened = []
        for d, n in whole:
            u = unwrap_uplink(d)
            opened.append((u["seq"], parse_vxlan(u["inner"])[5]))
        check([o[1] for o in opened] == [G.strip_tag(f) for _, f in frames] and
              [o[0] for o in opened] == list(range(1, len(frames) + 1)),
              "MTU %d: reassembled and opened independently, every frame intact, in order, seq 1..%d"
              % (mtu, len(frames)))
        check_counters(st, {})
        if mtu == 576:
            check(max(n for _, n in whole) == 3, "MTU 576: a 1514-byte frame leaves in 3 fragments")
            continue
        sizes = {len(G.strip_tag(f)): n for (_, f), (_, n) in zip(frames, whole)}
        check(sizes[1402] == 1 and sizes[1403] == 2 and sizes[1514] == 2,
              "1402-byte frame: one 1500-byte packet; 1403 and 1514 bytes: two fragments")
        t = subprocess.run(["tshark", "-r", os.path.join(work, name + "-uplink-out.pcap"),
                            "-o", "ip.defragment:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields",
                            "-e", "esp.spi", "-e", "esp.sequence", "-e", "ip.checksum.status",
                            "-e", "ip.fragment.count", "-Y", "esp"],
                           capture_output=True, text=True, check=True)
        rows = [r.split("\t") for r in t.stdout.splitlines() if r.strip()]
        check(len(rows) == len(frames) and all(int(r[0], 16) == SPI_A_TO_B for r in rows) and
              [int(r[1]) for r in rows] == list(range(1, len(frames) + 1)),
              "tshark reassembles the fragments: %d ESP packets, SPI 0x%x, seq 1..%d" %
              (len(rows), SPI_A_TO_B, len(frames)))
        check(sum(1 for r in rows if r[3]) == len(big) and all(r[2].split(",")[0] == "1" for r in rows),
              "tshark: %d ESP packets came from fragments, header checksums good" % len(big))
        # B reassembles what A sent
        e = os.path.join(work, "empty.pcap")
        outs = [os.path.join(work, n) for n in ("fb-trunk.pcap", "fb-db.pcap", "fb-up.pcap")]
        rc, stb, _, _ = run_dp(dp, work, "frag-b", with_keys(src, work, "frag-b", "b.ini"),
                               [(e, outs[0]), (e, outs[1]), (os.path.join(work, name + "-uplink-out.pcap"), outs[2])])
        trunk, db = read(outs[0]), read(outs[1])
        check(trunk == [G.at_b_trunk(v, f) for v, f in frames if v in (101, 0)] and
              db == [G.strip_tag(f) for v, f in frames if v == 102],
              "B reassembles A's fragments: every frame delivered byte for byte, in order")
        cb = stb["counters"]
        check(cb["reass_frags"] == nfr and cb["reass_done"] == len(big) and cb["tunnel_in"] == len(frames),
              "B: reass_frags %d, reass_done %d, tunnel_in %d" % (cb["reass_frags"], cb["reass_done"],
                                                                  cb["tunnel_in"]))
        check_counters(stb, {})


def case_reass(dp, src, work):
    """fragments into B's uplink: in order, out of order and
    interleaved datagrams are reassembled and delivered; a missing fragment
    (timeout), overlapping and duplicate fragments, a malformed fragment and
    a full table are counted; a fragmented IKE message reaches the exception
    path whole."""
    frags, delivered, expected, nfrags = G.reass_uplink()
    upath = os.path.join(work, "reass-uplink.pcap")
    write(upath, frags)
    e = os.path.join(work, "empty.pcap")
    conf = with_keys(src, work, "reass-b", "b.ini", uplink="reass_timeout_ms = 100\n")
    outs = [os.path.join(work, n) for n in ("r-trunk.pcap", "r-db.pcap", "r-up.pcap")]
    rc, st, _, _ = run_dp(dp, work, "reass", conf, [(e, outs[0]), (e, outs[1]), (upath, outs[2])])
    trunk = read(outs[0])
    want = [G.retag(f[:12] + b"\x81\x00\x00\x00" + f[12:], 201) for f in delivered]
    check(trunk == want, "delivered D1 (in order), D2 (reversed), D4 and D3 (interleaved, in order of "
          "completion) and the last unfragmented packet, byte for byte (got %d of %d)" % (len(trunk), len(want)))
    check(read(outs[1]) == [] and read(outs[2]) == [], "nothing else leaves B")
    c = st["counters"]
    check(c["reass_frags"] == nfrags and c["reass_done"] == 5,
          "reass_frags %d (all %d fragments), reass_done %d (4 datagrams and the IKE message)"
          % (c["reass_frags"], nfrags, c["reass_done"]))
    check(c["exception"] == 1, "the fragmented IKE message reaches the exception path whole")
    try:
        check_counters(st, expected)
        check(True, "missing fragment: 2 timed out; overlap: 2 and duplicate first fragment: 2 as "
              "drop_reass_bad; the duplicate's datagram's last piece timed out; malformed: drop_ip_frag")
    except AssertionError as ex:
        check(False, str(ex))
    # two workers, one SA: whole packets on queue 0, fragments on queue 1 (as a
    # NIC's RSS does: fragments hashed on the addresses, whole ones on the
    # ports too). Whichever worker opens the SA, the other hands its packets over.
    plain, fragd, want2 = [], [], []
    for i in range(10):
        fr = G.big_frame(20 + i)
        p = bytes(tunnel_packet(KEY_A_TO_B, SPI_A_TO_B, 200 + i, G.good_b_inner(fr), src_ip=A_UP,
                                dst_ip=B_UP, src_mac=A_UP_MAC, dst_mac=G.B_UP_MAC))
        if i % 2:
            p = p[:18] + (0x400 + i).to_bytes(2, "big") + p[20:]
            fragd += G.fragment(p, [(0, 800), (800, len(p) - 34 - 800)])
        else:
            plain.append(p)
        want2.append(G.retag(fr[:12] + b"\x81\x00\x00\x00" + fr[12:], 201))
    qpaths = [os.path.join(work, "reass-q%d.pcap" % i) for i in (0, 1)]
    write(qpaths[0], plain)
    write(qpaths[1], fragd)
    conf = with_keys(src, work, "reass-2w-b", "b.ini")
    with open(conf, "a") as fh:   # each worker seals with its own SA (unused here)
        fh.write("out.1 = 0x00002002 606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7fb4b5b6b7\n")
    rc, st, out, _ = run_dp(dp, work, "reass-2w", conf,
                            [(e, outs[0]), (e, outs[1]), (qpaths, [outs[2], outs[2] + ".1"])],
                            lcores=TWO_WORKERS)
    got = read(outs[0])
    c = st["counters"]
    check("2 worker(s)" in out and sorted(got) == sorted(want2),
          "two workers, one SA: all 10 frames delivered, 5 of them reassembled (got %d)" % len(got))
    check(c["handoff"] >= 5 and c["reass_done"] == 5 and c["tunnel_in"] == 10,
          "the worker that does not open the SA handed its packets over (handoff %d, reass_done %d, "
          "tunnel_in %d)" % (c["handoff"], c["reass_done"], c["tunnel_in"]))
    check_counters(st, {})
    # a storm of random fragments (fixed seed): colliding ids, holes, overlaps,
    # odd lengths, junk. Nothing may crash (this suite also runs under ASan),
    # nothing may come out, every fragment is received as one.
    import random
    rnd = random.Random(7)
    storm = []
    for _ in range(3000):
        off = rnd.randrange(0, 400) * 8
        length = rnd.choice([8, 16, 64, 552, 800, 1400, rnd.randrange(1, 1400)])
        mf = rnd.random() < 0.7
        proto = rnd.choice([17, 17, 17, 1, 6])
        hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, rnd.randrange(0, 24),
                                    (0x2000 if mf else 0) | (off // 8), 64, proto, 0,
                                    bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])))
        hdr[10:12] = G.ip_csum(bytes(hdr)).to_bytes(2, "big")
        body = bytes(rnd.getrandbits(8) for _ in range(length))
        if off == 0 and length >= 8 and rnd.random() < 0.5:   # a UDP 4500 header with B's SPI
            body = struct.pack("!HHHH", 4500, 4500, length, 0) + struct.pack("!I", SPI_A_TO_B) + body[12:]
        storm.append(bytes.fromhex(G.B_UP_MAC.replace(":", "") + A_UP_MAC.replace(":", "")) +
                     b"\x08\x00" + bytes(hdr) + body)
    spath = os.path.join(work, "reass-storm.pcap")
    write(spath, storm)
    conf = with_keys(src, work, "reass-storm-b", "b.ini", uplink="reass_flows = 16\nreass_timeout_ms = 50\n")
    rc, st, _, _ = run_dp(dp, work, "reass-storm", conf, [(e, outs[0]), (e, outs[1]), (spath, outs[2])])
    c = st["counters"]
    frag_drops = sum(v for k, v in c.items() if k.startswith("drop_reass") or k == "drop_ip_frag")
    nfr = sum(1 for f in storm if int.from_bytes(f[20:22], "big") & 0x3fff)   # MF or an offset
    check(read(outs[0]) == [] and read(outs[1]) == [] and c["tunnel_in"] == 0 and
          c["reass_frags"] == nfr and 0 < frag_drops <= nfr and (c["reass_done"] > 0 or frag_drops == nfr),
          "%d random fragments: no crash, nothing delivered, every one received as a fragment (%d) and, "
          "unless its datagram completed (%d did), dropped under a reassembly counter (%d: %s)" %
          (nfr, c["reass_frags"], c["reass_done"], frag_drops,
           {k: v for k, v in c.items() if v and k.startswith("drop_")}))
    # a bounded table: reass_flows = 16, 20 datagrams waiting for their rest
    first = [G.fragment(bytes(tunnel_packet(KEY_A_TO_B, SPI_A_TO_B, 100 + i,
                                            G.good_b_inner(G.big_frame(i)), src_ip=A_UP, dst_ip=B_UP,
                                            src_mac=A_UP_MAC, dst_mac=G.B_UP_MAC)), [(0, 800)])[0]
             for i in range(20)]
    first = [f[:18] + (0x300 + i).to_bytes(2, "big") + f[20:] for i, f in enumerate(first)]
    first = [f[:24] + b"\0\0" + f[26:] for f in first]
    first = [f[:24] + G.ip_csum(f[14:34]).to_bytes(2, "big") + f[26:] for f in first]
    fpath = os.path.join(work, "reass-full.pcap")
    write(fpath, first)
    conf = with_keys(src, work, "reass-full-b", "b.ini", uplink="reass_flows = 16\n")
    rc, st, _, _ = run_dp(dp, work, "reass-full", conf, [(e, outs[0]), (e, outs[1]), (fpath, outs[2])])
    try:
        check_counters(st, {"drop_reass_full": 4, "drop_reass_shutdown": 16})
        check(True, "reass_flows 16: 4 of 20 datagrams find the table full; the 16 waiting are "
              "counted at shutdown")
    except AssertionError as ex:
        check(False, str(ex))
    reass_hardening(dp, src, work, e, outs)


def reass_hardening(dp, src, work, e, outs):
    """Review findings on reass.c, each a case that failed before its fix:
    every fragment of an invalid datagram counted even when rte_ip_frag had
    chained them; a third party's fragments never fill the table; a datagram
    that lost a fragment is given up after 512 more fragments, so the next
    datagram with its IP ID (65536 / ip_id_step datagrams later, at tunnel
    rates well inside reass_timeout_ms) is not swallowed (RFC 4963)."""
    def dg(n, ip_id, seq):
        p = bytearray(bytes(tunnel_packet(KEY_A_TO_B, SPI_A_TO_B, seq, G.good_b_inner(G.big_frame(n)),
                                          src_ip=A_UP, dst_ip=B_UP, src_mac=A_UP_MAC, dst_mac=G.B_UP_MAC)))
        p[18:20] = ip_id.to_bytes(2, "big")
        p[24:26] = b"\0\0"
        p[24:26] = G.ip_csum(bytes(p[14:34])).to_bytes(2, "big")
        return bytes(p)

    def run(name, pk, uplink=None):
        path = os.path.join(work, name + ".pcap")
        write(path, pk)
        conf = with_keys(src, work, name + "-b", "b.ini", uplink=uplink)
        return run_dp(dp, work, name, conf, [(e, outs[0]), (e, outs[1]), (path, outs[2])])[1]["counters"]

    # an overlap and a hole whose lengths add up: rte_ip_frag chains the
    # fragments before it finds the hole, and drops them as one
    d = dg(1, 0x500, 1)
    plen = len(d) - 34
    c = run("reass-chain", G.fragment(d, [(0, 16), (8, 8), (24, 8), (32, plen - 32)]))
    drops = sum(v for k, v in c.items() if k.startswith("drop_reass") or k == "drop_ip_frag")
    check(c["reass_frags"] == 4 and drops == 4 and c["tunnel_in"] == 0,
          "overlap and hole: all 4 fragments counted as dropped (%d), none delivered" % drops)
    # 16 first fragments from 203.0.113.7 (not the peer), then the peer's datagram
    junk = []
    for i in range(16):
        h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 84, 0x7000 + i, 0x2000, 64, 17, 0,
                                  bytes([203, 0, 113, 7]), bytes([198, 18, 0, 2])))
        h[10:12] = G.ip_csum(bytes(h)).to_bytes(2, "big")
        junk.append(bytes.fromhex(G.B_UP_MAC.replace(":", "") + "020000000099") + b"\x08\x00" + bytes(h) +
                    b"\0" * 64)
    d = dg(2, 0x600, 2)
    plen = len(d) - 34
    c = run("reass-foreign", junk + G.fragment(d, [(0, 800), (800, plen - 800)]), "reass_flows = 16\n")
    check(c["drop_reass_foreign"] == 16 and c["tunnel_in"] == 1 and c["drop_reass_full"] == 0,
          "16 fragments from a third party: drop_reass_foreign %d, the peer's datagram delivered "
          "(tunnel_in %d, drop_reass_full %d)" % (c["drop_reass_foreign"], c["tunnel_in"], c["drop_reass_full"]))
    # datagram 0 (ID 0x700) loses its first fragment; 300 whole datagrams with
    # other IDs follow (600 fragments); then three datagrams with ID 0x700 again
    lost = dg(3, 0x700, 10)
    plen = len(lost) - 34
    pk = [G.fragment(lost, [(0, 800), (800, plen - 800)])[1]]
    for i in range(300):
        x = dg(10 + i % 50, 0x1000 + i, 20 + i)
        pk += G.fragment(x, [(0, 800), (800, len(x) - 34 - 800)])
    for k in range(3):
        x = dg(4 + k, 0x700, 400 + k)
        pk += G.fragment(x, [(0, 800), (800, len(x) - 34 - 800)])
    c = run("reass-idreuse", pk)
    check(c["tunnel_in"] == 303 and c["drop_icv"] == 0 and c["drop_reass_timeout"] == 1,
          "a lost fragment, 600 fragments, then its ID again: the stale fragment given up "
          "(drop_reass_timeout %d), all 303 datagrams delivered (tunnel_in %d, drop_icv %d)"
          % (c["drop_reass_timeout"], c["tunnel_in"], c["drop_icv"]))


def case_pmtu(dp, src, work):
    """path-MTU help on segment web (pmtu = yes, pmtu_rate 5, uplink
    MTU 1500: 1388-byte inner IP packets fit): an oversize DF IPv4 packet is
    answered with ICMP fragmentation needed (MTU 1388) and an IPv6 one with
    ICMPv6 packet too big, from the gateway, on VLAN 101, checksums right
    (tshark); a non-DF packet, a DF packet that fits and a DF packet on
    segment db (pmtu off) cross; over the rate the frames are fragmented."""
    from scapy.all import IPv6, Dot1Q, Ether, IP, UDP, Raw
    conf = with_keys(src, work, "pmtu-a", "a.ini", segments={
        "web": "gateway = 192.0.2.1\ngateway6 = 2001:db8::1\npmtu = yes\npmtu_rate = 5\n"})

    def v4(size, df=True, vlan=101, n=0):
        hdr = IP(src="192.0.2.11", dst="192.0.2.99", flags="DF" if df else 0, id=n) / UDP(sport=6000 + n, dport=9)
        return bytes(Ether(src=G.H1, dst=G.UNKNOWN) / Dot1Q(vlan=vlan) / hdr / Raw(b"p" * (size - len(hdr))))

    v6 = bytes(Ether(src=G.H1, dst=G.UNKNOWN) / Dot1Q(vlan=101) / IPv6(src="2001:db8::11", dst="2001:db8::99") /
               UDP(sport=7000, dport=9) / Raw(b"6" * (1500 - 48)))
    frames = [v4(1500), v6, v4(1500, df=False, n=1), v4(1388, n=2), v4(1500, vlan=102, n=3)]
    frames += [v4(1500, n=10 + i) for i in range(18)]
    lpath = os.path.join(work, "pmtu-local.pcap")
    write(lpath, frames)
    st, up, lo = run_a(dp, src, work, lpath, name="pmtu", config=conf)
    c = st["counters"]
    nicmp = c["pmtu_icmp4"] + c["pmtu_icmp6"]
    check(len(lo) == nicmp and 5 <= nicmp <= 6 and c["pmtu_icmp6"] == 1,
          "rate 5/s: %d ICMP messages for 20 eligible frames (one ICMPv6), on the local port" % nicmp)
    check(c["pmtu_rate_limited"] == 20 - nicmp and c["drop_pmtu"] == nicmp,
          "the other %d were fragmented instead (pmtu_rate_limited %d, drop_pmtu %d)" %
          (20 - nicmp, c["pmtu_rate_limited"], c["drop_pmtu"]))
    whole, pending = split_datagrams(up)
    check(len(whole) == len(frames) - nicmp and pending == {} and
          c["frag_packets"] == len(frames) - nicmp - 1,
          "%d frames crossed (%d fragmented; the 1388-byte DF one in one piece)" % (len(whole), c["frag_packets"]))
    t = subprocess.run(["tshark", "-r", os.path.join(work, "pmtu-local-out.pcap"), "-o", "ip.check_checksum:TRUE",
                        "-T", "fields", "-E", "separator=|", "-e", "vlan.id", "-e", "ip.src", "-e", "ip.dst",
                        "-e", "ip.checksum.status", "-e", "icmp.type", "-e", "icmp.code", "-e", "icmp.mtu",
                        "-e", "icmp.checksum.status", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "icmpv6.type",
                        "-e", "icmpv6.code", "-e", "icmpv6.mtu", "-e", "icmpv6.checksum.status", "-e", "eth.dst",
                        "-e", "eth.src"],
                       capture_output=True, text=True, check=True)
    rows = [r.split("|") for r in t.stdout.splitlines() if r.strip()]
    v4rows = [r for r in rows if r[4]]
    v6rows = [r for r in rows if r[10]]
    check(len(v4rows) == nicmp - 1 and all(
        r[0] == "101" and r[1].startswith("192.0.2.1,") and r[2].startswith("192.0.2.11,") and
        r[3].split(",")[0] == "1" and r[4] == "3" and r[5] == "4" and r[6] == "1388" and r[7] == "1" and
        r[14] == G.H1 and r[15] == G.UNKNOWN for r in v4rows),
        "ICMP type 3 code 4, next-hop MTU 1388, 192.0.2.1 -> 192.0.2.11, VLAN 101, to H1, "
        "IP and ICMP checksums good (tshark)")
    check(len(v6rows) == 1 and all(
        r[0] == "101" and r[8].startswith("2001:db8::1,") and r[9].startswith("2001:db8::11,") and
        r[10] == "2" and r[11] == "0" and r[12] == "1388" and r[13] == "1" for r in v6rows),
        "ICMPv6 packet too big, MTU 1388, 2001:db8::1 -> 2001:db8::11, VLAN 101, checksum good (tshark)")
    quoted = [f for f in lo if f[16:18] == b"\x08\x00"]
    check(quoted != [] and quoted[0][46:66] == frames[0][18:38] and all(len(f) - 18 <= 576 for f in quoted),
          "the ICMP quotes the original IP header and is at most 576 bytes (RFC 1812)")
    check_counters(st, {"drop_pmtu": nicmp})
    pmtu_not_answered(dp, src, work)


def pmtu_not_answered(dp, src, work):
    """No ICMP error about a packet sent to an IPv4 multicast or broadcast
    address (RFC 1812 4.3.2.7), nor to the segment's own router (it would
    come back to it from its own address): those are fragmented."""
    from scapy.all import Dot1Q, Ether, IP, UDP, Raw
    router = "02:00:5e:00:01:01"
    conf = with_keys(src, work, "pmtu-no-a", "a.ini", segments={
        "web": "gateway = 192.0.2.1\nrouter_mac = %s\npmtu = yes\npmtu_rate = 100\n" % router})

    def v4(dst_ip, dst_mac, src_mac=G.H1):
        hdr = IP(src="192.0.2.11", dst=dst_ip, flags="DF") / UDP(sport=6000, dport=9)
        return bytes(Ether(src=src_mac, dst=dst_mac) / Dot1Q(vlan=101) / hdr / Raw(b"p" * (1500 - len(hdr))))
    frames = [v4("239.1.2.3", "01:00:5e:01:02:03"), v4("192.0.2.255", "ff:ff:ff:ff:ff:ff"),
              v4("255.255.255.255", "ff:ff:ff:ff:ff:ff"), v4("192.0.2.99", G.UNKNOWN, src_mac=router)]
    lpath = os.path.join(work, "pmtu-no-local.pcap")
    write(lpath, frames)
    st, up, lo = run_a(dp, src, work, lpath, name="pmtu-no", config=conf)
    c = st["counters"]
    check(c["pmtu_icmp4"] == 0 and c["frag_packets"] == 4 and lo == [],
          "DF packets to 239.1.2.3, 192.0.2.255, 255.255.255.255 and from the router: no ICMP, all "
          "four fragmented (pmtu_icmp4 %d, frag_packets %d)" % (c["pmtu_icmp4"], c["frag_packets"]))


def telemetry(prefix, cmds):
    """Answers of DPDK telemetry (the socket dpdk-telemetry.py uses) to `cmds`."""
    import json
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix)
    s.recv(16384)
    out = {}
    for c in cmds:
        s.send(c.encode())
        out[c] = list(json.loads(s.recv(65536)).values())[0]
    s.close()
    return out


def case_signal(dp, src, work):
    import signal
    import time
    one = os.path.join(work, "one.pcap")
    write(one, [G.local_frames()[7][1]])
    for sig in (signal.SIGINT, signal.SIGTERM):
        stats = os.path.join(work, "sig-stats.json")
        if os.path.exists(stats):
            os.unlink(stats)
        cmd = [dp, "-l", "0,1", "--no-huge", "-m", "256", "--no-pci",
               "--file-prefix=isthmus-pcap-sig-%d" % os.getpid(), "--log-level=lib.eal:error",
               "--vdev=net_pcap0,rx_pcap=%s,infinite_rx=1,tx_pcap=/dev/null" % one,
               "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=/dev/null" % os.path.join(work, "empty.pcap"),
               "--", "-c", os.path.join(src, "a.ini"), "--stats-json", stats]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        head = ""
        while "polls" not in head and p.poll() is None:   # the set-up report: workers run
            head += p.stdout.readline()
        time.sleep(1.0)
        if sig == signal.SIGINT:
            tel = telemetry("isthmus-pcap-sig-%d" % os.getpid(),
                            ["/isthmus/stats", "/isthmus/segments", "/isthmus/segment,web", "/isthmus/sas",
                             "/isthmus/sa,0x1001", "/isthmus/fdb,web", "/isthmus/worker,0",
                             "/isthmus/ports"])
            try:
                check(tel["/isthmus/stats"]["tunnel_out"] > 0 and
                      set(tel["/isthmus/stats"]) >= {"local_rx", "drop_icv", "drop_unknown_vni", "fdb_aged"},
                      "telemetry /isthmus/stats: the counters of the running appliance")
                check(tel["/isthmus/segments"] == ["web", "db", "native"] and
                      tel["/isthmus/segment,web"]["vni"] == 5101 and
                      tel["/isthmus/segment,web"]["macs"] == 1, "telemetry: segments and segment,web")
                check(tel["/isthmus/sas"] == [0x1001, 0x2001] and tel["/isthmus/sa,0x1001"]["packets"] > 0 and
                      tel["/isthmus/sa,0x1001"]["dir"] == "out", "telemetry: sas and sa,0x1001")
                check(tel["/isthmus/fdb,web"] == [G.H1 + " local"], "telemetry: fdb,web lists H1 as local")
                check(tel["/isthmus/worker,0"]["local_rx"] > 0, "telemetry: worker,0")
                ports = tel["/isthmus/ports"]
                check(set(ports) == {"trunk", "uplink"} and ports["trunk"]["ipackets"] > 0 and
                      all(p["imissed"] == p["rx_kernel_drops"] == 0 for p in ports.values()),
                      "telemetry: ports trunk and uplink, nothing missed, no kernel ring: %s" % ports)
            except Fail:
                p.kill()   # the failed check ends the test: stop the dataplane it started
                p.communicate()
                raise
        t0 = time.time()
        p.send_signal(sig)
        try:
            out, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
        took = time.time() - t0
        remove_runtime_dir("isthmus-pcap-sig-%d" % os.getpid())
        import json
        st = json.load(open(stats)) if os.path.exists(stats) else None
        c = st["counters"] if st else {}
        out = head + out
        check(p.returncode == 0 and took < 5 and "counters (1 workers)" in out and st is not None,
              "%s: exit %s after %.2f s, final counters printed and written" % (sig.name, p.returncode, took))
        check(c.get("local_rx", 0) > 1000 and c.get("local_rx") == c.get("tunnel_out") == c.get("uplink_tx"),
              "%s: every frame received was sealed and sent (%s)" % (
                  sig.name, {k: c.get(k) for k in ("local_rx", "tunnel_out", "uplink_tx")}))
        # net_pcap ports: no kernel ring of ours, missed as the PMD says (0 here)
        ports = {p["name"]: p for p in st["ports"]}
        check(ports["trunk"]["driver"] == "net_pcap" and ports["trunk"]["ipackets"] == c["local_rx"] and
              all(p["rx_kernel_drops"] == 0 and p["imissed"] == 0 and "rx_nombuf" in p
                  for p in ports.values()),
              "%s: the report's ports: %s" % (sig.name, st["ports"]))


CONFIG_CASES = [
    # (text to change in a.ini, expected error regexp)
    ("vni = 5102", "vni = 16777216", r"bad\.ini:\d+: \[segment db\] vni: 16777216 out of range"),
    ("address = 198.18.0.1", "adress = 198.18.0.1", r"bad\.ini:\d+: \[uplink\] adress: unknown key"),
    ("[segment web]", "[segment web", r"bad\.ini:21: section header without '\]'"),
    # rte_cfgfile alone keeps the first of two, and has no file name for a stray line
    ("vni = 5102", "vni = 5102\nvni = 5103", r"bad\.ini:28: \[segment db\] vni: set twice \(first at line 27\)"),
    ("[segment native]", "[segment web]", r"bad\.ini:29: \[segment web\] appears twice \(first at line 21\)"),
    ("name = pcap-a", "name = pcap-a\nburst 7", r"bad\.ini:4: neither a comment"),
    ("in.0 = 0x00002001 4041", "in.0 0x00002001 4041", r"bad\.ini:\d+: neither a comment"),
    # names go into paths, JSON, Prometheus labels
    ("name = pcap-a", "name = ../../tmp/x", r"bad\.ini:3: \[appliance\] name: appliance name '\.\.\?\.\.\?tmp\?x' is not a safe name"),
    ("mode = trunk", "mode = trunk\nvdev = net_null0", r"\[local trunk\]: needs exactly one of 'port'"),
    ("vlan = 102", "vlan = 101", r"bad\.ini:\d+: \[segment db\] vlan: VLAN already used on 'trunk' by segment 'web'"),
    ("in.0 = 0x00002001 4041", "in.0 = 0x00002001 zz41", r"bad\.ini:\d+: \[sa.static\] in.0: key is not hexadecimal"),
    ("peer = 198.18.0.2", "peer = 198.18.0.256", r"\[uplink\] peer: '198.18.0.256' is not an IPv4 address"),
    ("vni = 5102", "vni = 5102\nmss = 100", r"bad\.ini:\d+: \[segment db\] mss: 100 out of range \[536, 9560\]"),
    ("vni = 5102", "vni = 5102\nmss_clamp = maybe", r"bad\.ini:\d+: \[segment db\] mss_clamp: 'maybe' is not yes/no"),
    ("vni = 5102", "vni = 5102\nmss_clamp = no\nmss = 1200", r"bad\.ini:\d+: \[segment db\] mss: set, but mss_clamp = no"),
    ("vni = 5102", "vni = 5102\nstorm_broadcast = -5", r"bad\.ini:\d+: \[segment db\] storm_broadcast: '-5' is not a number"),
    ("vni = 5102", "vni = 5102\nstorm_burst = 10", r"bad\.ini:\d+: \[segment db\] storm_burst: set, but no storm_broadcast"),
    ("vni = 5102", "vni = 5102\nflap_moves = 0", r"bad\.ini:\d+: \[segment db\] flap_moves: 0 out of range \[1, 1000\]"),
    ("vni = 5102", "vni = 5102\nflap_window = 3601", r"bad\.ini:\d+: \[segment db\] flap_window: 3601 out of range"),
    ("vni = 5102", "vni = 5102\nflap_dampen = -1", r"bad\.ini:\d+: \[segment db\] flap_dampen: '-1' is not a number"),
    # fragmentation, reassembly, path-MTU help
    ("mtu = 1700", "mtu = 1700\nreass_flows = 8", r"bad\.ini:\d+: \[uplink\] reass_flows: 8 out of range \[16, 65536\]"),
    ("mtu = 1700", "mtu = 1700\nreass_timeout_ms = 0", r"bad\.ini:\d+: \[uplink\] reass_timeout_ms: 0 out of range"),
    ("vni = 5102", "vni = 5102\npmtu = yes", r"bad\.ini:\d+: \[segment db\] pmtu: needs gateway \(IPv4\) or gateway6"),
    ("vni = 5102", "vni = 5102\ngateway6 = 2001:db8::zz", r"\[segment db\] gateway6: '2001:db8::zz' is not a unicast IPv6"),
    ("vni = 5102", "vni = 5102\ngateway6 = 2001:db8::1\npmtu = yes\npmtu_rate = 0",
     r"\[segment db\] pmtu_rate: 0 out of range \[1, 100000\]"),
    ("vni = 5102", "vni = 5102\npmtu = maybe", r"\[segment db\] pmtu: 'maybe' is not yes/no"),
    ("vni = 5102", "vni = 5102\ngateway6 = ::", r"\[segment db\] gateway6: '::' is not a unicast IPv6"),
]


def case_config(dp, src, work):
    base = open(os.path.join(src, "a.ini")).read()
    for old, new, pattern in CONFIG_CASES:
        assert old in base, old
        path = os.path.join(work, "bad.ini")
        with open(path, "w") as fh:
            fh.write(base.replace(old, new, 1))
        p = subprocess.run([dp, "-l", "0", "--no-huge", "-m", "64", "--no-pci",
                            "--file-prefix=isthmus-pcap-cfg-%d" % os.getpid(), "--", "-c", path],
                           capture_output=True, text=True, timeout=60)
        msg = p.stderr
        check(p.returncode != 0 and re.search(pattern, msg) is not None,
              "%r refused: %s" % (new.split("\n")[-1], (re.search(pattern, msg) or [msg.strip()[-200:]])[0]))
        check("4041424344" not in msg and "zz41" not in msg, "no key material in the error")
    # A line number that points at the right line
    lines = base.replace("vni = 5102", "vni = 0", 1).split("\n")
    with open(os.path.join(work, "bad.ini"), "w") as fh:
        fh.write("\n".join(lines))
    p = subprocess.run([dp, "-l", "0", "--no-huge", "-m", "64", "--no-pci",
                        "--file-prefix=isthmus-pcap-cfg-%d" % os.getpid(), "--", "-c",
                        os.path.join(work, "bad.ini")], capture_output=True, text=True, timeout=60)
    m = re.search(r"bad\.ini:(\d+):", p.stderr)
    check(m is not None and lines[int(m.group(1)) - 1].strip() == "vni = 0",
          "the line number points at 'vni = 0' (%s)" % (m.group(0) if m else p.stderr.strip()))
    remove_runtime_dir("isthmus-pcap-cfg-%d" % os.getpid())
    p = subprocess.run([dp, "--help"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and "--config" in p.stdout and "--stats-json" in p.stdout, "--help")


def main():
    dp, src, work, case = sys.argv[1:5]
    work = os.path.join(work, case)
    os.makedirs(work, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(src, "gen_pcaps.py"), work], check=True)
    {"encap": case_encap, "decap": case_decap, "bad": case_bad, "bridge": case_bridge,
     "config": case_config, "workers": case_workers, "signal": case_signal,
     "segments": case_segments, "gateway": case_gateway, "mss": case_mss,
     "storm": case_storm, "l2guard": case_l2guard, "frag": case_frag, "reass": case_reass,
     "pmtu": case_pmtu}[case](dp, src, work)


if __name__ == "__main__":
    run_test(main)
