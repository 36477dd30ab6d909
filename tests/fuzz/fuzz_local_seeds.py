#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fuzz_local_seeds.py DIR: the seed corpus of fuzz_local (op scripts, the
format and the dataplane's configuration are in fuzz_local.c), covering what
tests/pcap (gateway, mss, pmtu, storm, l2guard, bridge cases) and
tests/unit/test_mss.c reach on the local-port path: ARP for the gateway and
for others, gratuitous ARP (IP conflicts), ND solicitations and
advertisements, IPv4 and IPv6 SYNs with MSS and other options (well-formed
and malformed), oversized DF / IPv6 packets, storms, VLAN-tagged frames on the
trunk, loops, MAC flaps, the seal hand-off of worker 1."""
import os
import struct
import sys

from scapy.all import ARP, ICMP, IP, UDP, Dot1Q, Ether, IPv6, Raw  # noqa: E402
from scapy.layers.inet6 import (ICMPv6EchoRequest, ICMPv6DestUnreach, ICMPv6ND_NA,  # noqa: E402
                                ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptSrcLLAddr,
                                IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                IPv6ExtHdrRouting)

# the TCP option encoder of the pcap tests (tests/pcap/gen_pcaps.py), one copy
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pcap"))
from gen_pcaps import tcp_options  # noqa: E402

# fuzz_local.c's configuration
LAN, TRUNK = 0, 1
GW4 = {0: "192.0.2.1", 1: "198.51.100.1", 2: "203.0.113.1"}
GW6 = {0: "2001:db8:1::1", 1: "2001:db8:2::1"}
ROUTER = {0: "02:00:00:00:ee:01", 1: "02:00:00:00:ee:02"}
BC = "ff:ff:ff:ff:ff:ff"
H = ["02:00:00:00:01:%02x" % i for i in range(64)]
UNKNOWN = "02:00:00:00:09:09"


def frame(b, port=LAN, worker=0, chained=False):
    ctl = port | worker << 1 | (4 if chained else 0)
    return bytes([0, ctl]) + struct.pack("<H", len(b)) + bytes(b)


def peer(seg, b):
    return bytes([4, seg]) + struct.pack("<H", len(b)) + bytes(b)


def repeat(n):
    return bytes([1, n - 1])


FLUSH = bytes([2])


def time(ms):
    return bytes([3, ms // 100])


def loopback(worker=0):
    return bytes([5, worker])


def on(seg, pkt):
    """(port, frame bytes) of segment seg: acc on the access port, v101
    tagged on the trunk, native untagged on the trunk."""
    eth = pkt[Ether]
    if seg == 1:
        return TRUNK, bytes(Ether(src=eth.src, dst=eth.dst) / Dot1Q(vlan=101) / eth.payload)
    return (LAN if seg == 0 else TRUNK), bytes(pkt)


def seg_frame(seg, pkt, worker=0):
    port, b = on(seg, pkt)
    return frame(b, port, worker)


def arp_req(src, sip, tip, dst=BC):
    return Ether(src=src, dst=dst) / ARP(op=1, hwsrc=src, psrc=sip, pdst=tip)


def syn(v6, options, flags="S", sport=40000, dataofs=None, ip_extra=None, src=H[10], dst=H[11]):
    """A TCP segment with its checksum computed by scapy (as tests/pcap's tcp_syn)."""
    from scapy.layers.inet import in4_chksum
    from scapy.layers.inet6 import in6_chksum
    opts = tcp_options(options)
    fl = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}[c] for c in flags)
    doff = dataofs if dataofs is not None else 5 + len(opts) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, 443, 1000, 0, doff << 4, fl, 64240, 0, 0) + opts
    if v6:
        if ip_extra is not None:
            ip = IPv6(src="2001:db8:a::1", dst="2001:db8:a::2") / ip_extra
            ip[ip_extra.__class__].nh = 6
        else:
            ip = IPv6(src="2001:db8:a::1", dst="2001:db8:a::2", nh=6)
        ip = IPv6(bytes(ip / Raw(hdr)))
        cs = in6_chksum(6, ip[ip_extra.__class__] if ip_extra is not None else ip, hdr)
    else:
        ip = IP(bytes(IP(src="192.0.2.61", dst="192.0.2.62", proto=6, **(ip_extra or {})) / Raw(hdr)))
        cs = in4_chksum(6, ip, hdr)
    hdr = hdr[:16] + struct.pack("!H", cs) + hdr[18:]
    pkt = bytes(ip)[:-len(hdr)] + hdr
    return Ether(bytes(Ether(src=src, dst=dst, type=0x86dd if v6 else 0x0800)) + pkt)


def seeds():
    s = {}
    # --- gateway (local egress): ARP ---
    for seg in (0, 1, 2):
        s["arp-gateway-seg%d" % seg] = b"".join([
            seg_frame(seg, arp_req(H[1], "192.0.2.11" if seg == 0 else "198.51.100.11", GW4[seg])),
            seg_frame(seg, arp_req(H[1], "192.0.2.11", "192.0.2.12")),            # for someone else
            seg_frame(seg, arp_req(H[2], "0.0.0.0", GW4[seg])),                    # a probe
            seg_frame(seg, Ether(src=H[3], dst=BC) / ARP(op=2, hwsrc=H[3], psrc="192.0.2.13",
                                                          pdst=GW4[seg])),          # a reply, not a request
            FLUSH])
    for seg in (0, 1):
        r = ROUTER[seg]
        s["arp-local-router-seg%d" % seg] = b"".join([
            seg_frame(seg, Ether(src=r, dst=BC) / ARP(op=2, hwsrc=r, psrc=GW4[seg], hwdst=BC, pdst=GW4[seg])),
            seg_frame(seg, Ether(src=r, dst=BC) / ARP(op=1, hwsrc=r, psrc=GW4[seg], pdst="192.0.2.30")),
            seg_frame(seg, arp_req(H[4], GW4[seg], GW4[seg])),                     # the gateway asking for itself
            FLUSH])
    # gratuitous ARP: an IP conflict with the other site; the same MAC on both: none
    s["arp-conflict"] = b"".join([
        peer(0, bytes(Ether(src=H[20], dst=BC) / ARP(op=2, hwsrc=H[20], psrc="192.0.2.50", hwdst=BC,
                                                     pdst="192.0.2.50"))),
        seg_frame(0, Ether(src=H[21], dst=BC) / ARP(op=1, hwsrc=H[21], psrc="192.0.2.50", pdst="192.0.2.50")),
        FLUSH,
        peer(1, bytes(Ether(src=H[22], dst=BC) / ARP(op=2, hwsrc=H[22], psrc="198.51.100.60", hwdst=BC,
                                                     pdst="198.51.100.60"))),
        seg_frame(1, Ether(src=H[22], dst=BC) / ARP(op=1, hwsrc=H[22], psrc="198.51.100.60",
                                                    pdst="198.51.100.60")),
        seg_frame(1, Ether(src=H[23], dst=BC) / ARP(op=1, hwsrc=H[23], psrc="198.51.100.60",
                                                    pdst="198.51.100.60"), worker=1),
        FLUSH])
    # --- gateway: IPv6 neighbor discovery ---
    for seg in (0, 1):
        gw6, r = GW6[seg], ROUTER[seg]
        host6 = "2001:db8:%d::10" % (seg + 1)
        sn = "ff02::1:ff00:1"
        s["nd-seg%d" % seg] = b"".join([
            seg_frame(seg, Ether(src=H[5], dst="33:33:ff:00:00:01") / IPv6(src=host6, dst=sn, hlim=255) /
                      ICMPv6ND_NS(tgt=gw6) / ICMPv6NDOptSrcLLAddr(lladdr=H[5])),
            seg_frame(seg, Ether(src=H[5], dst=r) / IPv6(src=host6, dst=gw6, hlim=255) / ICMPv6ND_NS(tgt=gw6)),
            seg_frame(seg, Ether(src=H[5], dst="33:33:ff:00:00:20") / IPv6(src=host6, dst="ff02::1:ff00:20",
                                                                         hlim=255) /
                      ICMPv6ND_NS(tgt="2001:db8::20") / ICMPv6NDOptSrcLLAddr(lladdr=H[5])),
            seg_frame(seg, Ether(src=H[6], dst="33:33:ff:00:00:01") / IPv6(src="::", dst=sn, hlim=255) /
                      ICMPv6ND_NS(tgt=gw6)),                                        # DAD
            seg_frame(seg, Ether(src=H[5], dst="33:33:ff:00:00:01") / IPv6(src=host6, dst=sn, hlim=64) /
                      ICMPv6ND_NS(tgt=gw6)),                                        # not from the link
            seg_frame(seg, Ether(src=r, dst="33:33:00:00:00:01") / IPv6(src=gw6, dst="ff02::1", hlim=255) /
                      ICMPv6ND_NA(R=1, S=0, O=1, tgt=gw6) / ICMPv6NDOptDstLLAddr(lladdr=r)),
            seg_frame(seg, Ether(src=r, dst="33:33:ff:00:00:30") / IPv6(src=gw6, dst="ff02::1:ff00:30",
                                                                       hlim=255) /
                      ICMPv6ND_NS(tgt="2001:db8::30") / ICMPv6NDOptSrcLLAddr(lladdr=r)),
            seg_frame(seg, Ether(src=H[7], dst=H[5]) / IPv6(src="2001:db8::7", dst=host6, hlim=255) /
                      ICMPv6ND_NA(R=0, S=1, O=1, tgt="2001:db8::7") / ICMPv6NDOptDstLLAddr(lladdr=H[7])),
            FLUSH])
    # --- MSS clamping (tests/pcap mss cases, test_mss.c) ---
    linux = [("MSS", 1460), ("SACKOK", None), ("TS", 1), ("NOP", None), ("WS", 7)]
    cases = []
    for v6 in (False, True):
        cases += [
            syn(v6, [("MSS", 1460)]),
            syn(v6, [("MSS", 1460)], flags="SA"),
            syn(v6, linux),
            syn(v6, [("WS", 2), ("MSS", 1460), ("NOP", None)]),
            syn(v6, [("NOP", None), ("MSS", 65535), ("NOP", None), ("NOP", None), ("NOP", None)]),
            syn(v6, [("MSS", 1000)]),
            syn(v6, [("NOP", None), ("WS", 7), ("SACKOK", None)]),
            syn(v6, [("MSS", 1460)], flags="A"),
            syn(v6, [("raw", b"\x08\x00"), ("MSS", 1460)]),
            syn(v6, [("raw", b"\x02\x03\x05")]),
            syn(v6, [("MSS", 1460), ("raw", b"\x1e\x08\x00\x00")]),
            syn(v6, [("MSS", 1460), ("NOP", None), ("NOP", None), ("NOP", None), ("raw", b"\x1e")]),
            syn(v6, [], dataofs=15),
            syn(v6, [], dataofs=3),
            syn(v6, [("MSS", 1460), ("MSS", 9000), ("MSS", 100)]),
        ]
    cases += [
        syn(False, [("MSS", 1460)], ip_extra={"options": [b"\x01\x01\x01\x00"]}),
        syn(False, [("MSS", 1460)], ip_extra={"frag": 100}),
        syn(False, [("MSS", 1460)], ip_extra={"flags": "MF"}),
        syn(True, [("MSS", 1460)], ip_extra=IPv6ExtHdrHopByHop()),
        syn(True, [("MSS", 1460)], ip_extra=IPv6ExtHdrDestOpt()),
        syn(True, [("MSS", 1460)], ip_extra=IPv6ExtHdrRouting(addresses=["2001:db8::9"])),
        syn(True, [("MSS", 1460)], ip_extra=IPv6ExtHdrFragment(offset=0, m=1)),
        syn(True, [("MSS", 1460)], ip_extra=IPv6ExtHdrFragment(offset=10)),
    ]
    for seg in (0, 1, 2):
        # small inputs, a few cases each; the destination is known at the
        # other site: not storm-limited
        for k in range(0, len(cases), 6):
            body = peer(seg, bytes(Ether(src=H[11], dst=BC) / Raw(b"H11 at the peer")))
            body += b"".join(seg_frame(seg, c, worker=i % 2) + FLUSH for i, c in enumerate(cases[k:k + 6]))
            s["mss-seg%d-%02d" % (seg, k)] = body
    # tags inside the tunnel: a tagged SYN on the access port, QinQ on the trunk
    for v6 in (False, True):
        c = syn(v6, [("MSS", 1460)])
        tagged = bytes(Ether(src=c.src, dst=c.dst) / Dot1Q(vlan=7) / c.payload)
        qinq = bytes(Ether(src=c.src, dst=c.dst) / Dot1Q(vlan=101) / Dot1Q(vlan=8) / c.payload)
        adq = bytes(Ether(src=c.src, dst=c.dst, type=0x88a8) / Dot1Q(vlan=9) / Dot1Q(vlan=10) / c.payload)
        s["mss-tags-v%d" % (6 if v6 else 4)] = b"".join([
            frame(tagged, LAN), frame(adq, LAN), frame(qinq, TRUNK), FLUSH])
    # --- path MTU: oversize frames (uplink MTU 1400) ---
    for seg in (0, 1, 2):
        big4 = IP(src="192.0.2.40", dst="192.0.2.41", flags="DF") / UDP(sport=5, dport=6)
        p = [peer(seg, bytes(Ether(src=H[13], dst=BC) / Raw(b"H13 at the peer")))]
        for i, size in enumerate((1300, 1400, 1480, 1500)):
            p.append(seg_frame(seg, Ether(src=H[12], dst=H[13]) / big4 / Raw(b"\xa5" * (size - 28)), worker=i % 2))
        p += [
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IP(src="192.0.2.40", dst="192.0.2.41") /
                      UDP() / Raw(b"\x5a" * 1400)),                                 # no DF: fragments
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IP(src="192.0.2.40", dst="192.0.2.41", flags="DF") /
                      ICMP(type=8) / Raw(b"\x11" * 1400)),                          # echo: answered
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IP(src="192.0.2.40", dst="192.0.2.41", flags="DF") /
                      ICMP(type=3, code=1) / Raw(b"\x22" * 1400)),                  # an ICMP error: not
            seg_frame(seg, Ether(src=H[12], dst=BC) / big4 / Raw(b"\x33" * 1400)),  # broadcast: not
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IP(src="0.0.0.0", dst="192.0.2.41", flags="DF") /
                      UDP() / Raw(b"\x44" * 1400)),
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IP(src="192.0.2.40", dst="224.0.0.9", flags="DF") /
                      UDP() / Raw(b"\x44" * 1400)),
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IP(src="192.0.2.40", dst="192.0.2.41", flags="DF",
                                                            frag=10) / Raw(b"\x55" * 1400)),
            time(1000),
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IPv6(src="2001:db8::40", dst="2001:db8::41") /
                      UDP() / Raw(b"\x66" * 1400)),
            seg_frame(seg, Ether(src=H[12], dst="33:33:00:00:00:09") / IPv6(src="2001:db8::40", dst="ff02::9") /
                      UDP() / Raw(b"\x66" * 1400)),
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IPv6(src="2001:db8::40", dst="2001:db8::41") /
                      ICMPv6EchoRequest() / Raw(b"\x77" * 1400)),
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IPv6(src="2001:db8::40", dst="2001:db8::41") /
                      ICMPv6DestUnreach() / Raw(b"\x77" * 1400)),
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / IPv6(src="::", dst="2001:db8::41") /
                      UDP() / Raw(b"\x66" * 1400)),
            FLUSH,
        ]
        if seg in ROUTER:
            p.append(seg_frame(seg, Ether(src=ROUTER[seg], dst=H[13]) / big4 / Raw(b"\x88" * 1400)))
        # in inputs of a few frames each (the peer's frame first in each)
        for k in range(1, len(p), 5):
            s["pmtu-seg%d-%02d" % (seg, k)] = p[0] + b"".join(p[k:k + 5]) + FLUSH
        # over pmtu_rate: fragmented instead; later, answered again
        s["pmtu-rate-seg%d" % seg] = b"".join([
            p[0], seg_frame(seg, Ether(src=H[12], dst=H[13]) / big4 / Raw(b"\x99" * 1400)),
            repeat(12), FLUSH, time(1000),
            seg_frame(seg, Ether(src=H[12], dst=H[13]) / big4 / Raw(b"\x99" * 1400)), FLUSH])
    # --- storm control ---
    for seg in (0, 1):
        p = []
        for name, dst in (("bc", BC), ("mc", "01:00:5e:00:00:fb"), ("uu", UNKNOWN)):
            p.append(seg_frame(seg, Ether(src=H[14], dst=dst) / IP(src="192.0.2.14", dst="192.0.2.255") /
                               UDP(sport=1000, dport=9) / Raw(b"storm " + name.encode())))
            p += [repeat(20), FLUSH]
        p += [time(500)]
        p.append(seg_frame(seg, Ether(src=H[14], dst=BC) / Raw(b"after")))
        p += [repeat(10), FLUSH]
        # known remote: never limited
        p.append(peer(seg, bytes(Ether(src=H[15], dst=BC) / Raw(b"remote host R"))))
        p.append(seg_frame(seg, Ether(src=H[14], dst=H[15]) / Raw(b"to R")))
        p += [repeat(30), FLUSH]
        s["storm-seg%d" % seg] = b"".join(p)
    # --- L2 safety: loops, flaps ---
    for seg in (0, 1, 2):
        s["loop-seg%d" % seg] = b"".join([
            peer(seg, bytes(Ether(src=H[16], dst=BC) / IP(src="192.0.2.16", dst="192.0.2.255") /
                            UDP(dport=9) / Raw(b"sent to the local port"))),
            loopback(0), FLUSH,
            peer(seg, bytes(Ether(src=H[17], dst="33:33:00:00:00:16") / IPv6(src="fe80::17", dst="ff02::16") /
                            Raw(b"mld"))),
            seg_frame(seg, Ether(src=H[17], dst=UNKNOWN) / Raw(b"H17 is here now")), FLUSH,
            loopback(1), FLUSH,
            peer(seg, bytes(Ether(src=H[18], dst=BC) / Raw(b"short"))),
            loopback(0), loopback(0), FLUSH,
        ])
        p = []
        for k in range(4):
            p.append(peer(seg, bytes(Ether(src=H[19], dst=BC) / Raw(b"flap remote %d" % k))))
            p.append(seg_frame(seg, Ether(src=H[19], dst=BC) / Raw(b"flap local %d" % k), worker=k % 2))
            p.append(FLUSH)
        s["flap-seg%d" % seg] = b"".join(p)
    # --- forwarding decisions, learning, aging, the seal hand-off ---
    s["bridge"] = b"".join([
        seg_frame(0, Ether(src=H[30], dst=UNKNOWN) / Raw(b"from H30")),
        seg_frame(0, Ether(src=H[31], dst=H[30]) / Raw(b"to H30: local")),
        FLUSH,
        seg_frame(0, Ether(src=H[31], dst=H[30]) / Raw(b"to H30 again"), worker=1),
        FLUSH, time(11000), time(1000),
        seg_frame(0, Ether(src=H[31], dst=H[30]) / Raw(b"to H30 aged out")),
        FLUSH,
        seg_frame(0, Ether(src="01:00:00:00:00:01", dst=UNKNOWN) / Raw(b"multicast source")),
        frame(b"\x02\x00\x00\x00\x01\x01\x02\x00", LAN),                              # short
        frame(b"\x02" * 13, TRUNK),
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Dot1Q(vlan=101))[:16], TRUNK),     # short tagged
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Raw(b"\x00" * 1520)), LAN),        # too big
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Dot1Q(vlan=101) / Raw(b"\x00" * 1500)), TRUNK),
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Raw(b"chained" * 20)), LAN, chained=True),
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Dot1Q(vlan=333) / Raw(b"unknown VLAN")), TRUNK),
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Dot1Q(vlan=0, prio=5) / Raw(b"priority tag")), TRUNK),
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Raw(b"native")), TRUNK, worker=1),
        frame(bytes(Ether(src=H[1], dst=UNKNOWN) / Dot1Q(vlan=101) / Raw(b"tagged 101")), TRUNK, worker=1),
        FLUSH])
    # mac_limit 16 on v101; odd frame sizes (ESP padding); the largest frames
    p = [seg_frame(1, Ether(src=H[32 + i], dst=UNKNOWN) / IP() / UDP() / Raw(b"x" * i), worker=i % 2)
         for i in range(24)]
    for size in (60, 61, 62, 63, 64, 1302, 1303, 1514):
        p.append(seg_frame(2, Ether(src=H[2], dst=UNKNOWN) / IP(src="203.0.113.2") / UDP() /
                           Raw(b"\xc3" * (size - 42))))
    p.append(FLUSH)
    s["sizes"] = b"".join(p)
    return s


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.makedirs(sys.argv[1], exist_ok=True)
    for name, body in sorted(seeds().items()):
        with open(os.path.join(sys.argv[1], "seed-" + name), "wb") as f:
            f.write(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
