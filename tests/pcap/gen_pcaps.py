#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""gen_pcaps.py: input pcaps for the isthmus-dp pcap suite, written at test time.

    gen_pcaps.py OUTDIR     writes local.pcap, bad-uplink.pcap, bridge-local.pcap,
                            bridge-uplink.pcap, empty.pcap into OUTDIR

The builders are also imported by pcap_test.py, which knows what each frame
should become.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from isthmus_pcap import (A_UP, A_UP_MAC, A_VTEP, B_UP, B_UP_MAC, B_VTEP, KEY_A_TO_B,  # noqa: E402
                          KEY_B_TO_A, MARKER, SPI_A_TO_B, SPI_B_TO_A, tunnel_packet,
                          vxlan_inner, write)
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw)  # noqa: E402
from scapy.layers.inet6 import (ICMPv6MLDMultAddrRec, ICMPv6MLReport2, ICMPv6ND_NS,  # noqa: E402
                                ICMPv6NDOptSrcLLAddr, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                                RouterAlert)

H1, H2, H3, H4 = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:01:03", "02:00:00:00:01:04"
UNKNOWN = "02:00:00:00:09:09"   # never a source: unknown unicast


def local_frames():
    """Test 1/2: (vlan, frame bytes) as sent on A's trunk. Every one must be
    tunnelled (broadcast, multicast, unknown unicast), none is ever a source
    another frame is sent to."""
    f = []

    def tag(vlan, pkt):
        eth = pkt[Ether]
        inner = eth.payload
        return vlan, bytes(Ether(src=eth.src, dst=eth.dst) / Dot1Q(vlan=vlan) / inner)

    # ARP request (broadcast), VLAN 101
    f.append(tag(101, Ether(src=H1, dst="ff:ff:ff:ff:ff:ff") /
                 ARP(op=1, hwsrc=H1, psrc="192.0.2.11", pdst="192.0.2.12")))
    # IPv4 unicast to an unknown MAC, VLAN 101
    f.append(tag(101, Ether(src=H1, dst=UNKNOWN) / IP(src="192.0.2.11", dst="192.0.2.99") /
                 UDP(sport=1234, dport=5678) / Raw(MARKER + b"-v4")))
    # IPv6 neighbour solicitation to the solicited-node multicast group, VLAN 101
    f.append(tag(101, Ether(src=H1, dst="33:33:ff:00:00:99") /
                 IPv6(src="2001:db8::11", dst="ff02::1:ff00:99") /
                 ICMPv6ND_NS(tgt="2001:db8::99") / ICMPv6NDOptSrcLLAddr(lladdr=H1)))
    # IPv4 multicast (mDNS), VLAN 102
    f.append(tag(102, Ether(src=H3, dst="01:00:5e:00:00:fb") /
                 IP(src="198.51.100.13", dst="224.0.0.251", ttl=255) /
                 UDP(sport=5353, dport=5353) / Raw(MARKER + b"-mcast")))
    # IPv4 broadcast, VLAN 102
    f.append(tag(102, Ether(src=H3, dst="ff:ff:ff:ff:ff:ff") /
                 IP(src="198.51.100.13", dst="255.255.255.255") /
                 UDP(sport=68, dport=67) / Raw(MARKER + b"-bcast")))
    # IPv6 unicast to an unknown MAC, VLAN 102
    f.append(tag(102, Ether(src=H3, dst=UNKNOWN) / IPv6(src="2001:db8::13", dst="2001:db8::99") /
                 UDP(sport=1000, dport=2000) / Raw(MARKER + b"-v6")))
    # Sizes: the smallest frame, odd lengths (ESP padding 0..3), and a full
    # 1500-byte IP packet (1518-byte tagged frame) on each VLAN.
    for vlan, ip_len in ((101, 46), (101, 47), (102, 48), (102, 49), (101, 576), (101, 1000),
                         (102, 1499), (101, 1500), (102, 1500)):
        hdr = IP(src="192.0.2.11", dst="192.0.2.99") / UDP(sport=4000 + ip_len, dport=9)
        pad = ip_len - len(hdr)
        body = (MARKER * (pad // len(MARKER) + 1))[:pad]
        f.append(tag(vlan, Ether(src=H1 if vlan == 101 else H3, dst=UNKNOWN) / hdr / Raw(body)))
    # The native VLAN (segment "native", untagged on A's trunk): an untagged
    # frame, and a priority-tagged one (VID 0, PCP 5), which is untagged too.
    f.append((0, bytes(Ether(src=H4, dst="ff:ff:ff:ff:ff:ff") / IP(src="203.0.113.4", dst="203.0.113.255") /
                       UDP(sport=7, dport=7) / Raw(MARKER + b"-native"))))
    f.append((0, bytes(Ether(src=H4, dst=UNKNOWN) / Dot1Q(vlan=0, prio=5) /
                       IP(src="203.0.113.4", dst="203.0.113.99") / UDP(sport=7, dport=8) /
                       Raw(MARKER + b"-priority"))))
    return f


def strip_tag(frame):
    """The frame as it travels in VXLAN: 802.1Q tag (if any) removed."""
    return frame[:12] + frame[16:] if frame[12:14] == b"\x81\x00" else frame


def add_tag(frame, vlan):
    """An untagged frame with an 802.1Q tag (PCP 0) inserted."""
    return frame[:12] + b"\x81\x00" + struct.pack("!H", vlan) + frame[12:]


def at_b_trunk(vlan, frame):
    """What B's trunk sends for a frame A received on `vlan` (None: not the trunk)."""
    if vlan == 101:
        return retag(frame, 201)
    if vlan == 0:
        return add_tag(strip_tag(frame), 200)
    return None


def retag(frame, vlan):
    """The frame with its tag's VLAN id replaced (PCP/DEI kept as 0)."""
    return frame[:14] + struct.pack("!H", vlan) + frame[16:]


def good_b_inner(frame, vni=5101):
    return vxlan_inner(frame, vni, A_VTEP, B_VTEP)


def bad_uplink():
    """Test 3: (frame, expected counter or None for delivered) toward B's
    uplink; the ESP is sealed with A's outbound key (B's in.0)."""
    out = []
    seq = [0]

    def esp(inner, spi=SPI_A_TO_B, key=KEY_A_TO_B, seq_no=None, **kw):
        if seq_no is None:
            seq[0] += 1
            seq_no = seq[0]
        return bytes(tunnel_packet(key, spi, seq_no, inner, src_ip=A_UP, dst_ip=B_UP,
                                   src_mac=A_UP_MAC, dst_mac=B_UP_MAC, **kw))

    def frame(n):
        return bytes(Ether(src="02:00:00:00:02:%02x" % n, dst="ff:ff:ff:ff:ff:ff") /
                     IP(src="192.0.2.%d" % (20 + n), dst="192.0.2.255") / UDP(dport=9) /
                     Raw(b"good %d" % n))

    # First of all, a forgery from another MAC: it must not become B's next hop
    forged = bytearray(esp(good_b_inner(frame(12)), seq_no=500))
    forged[0:12] = bytes.fromhex(B_UP_MAC.replace(":", "")) + bytes.fromhex("026666666666")
    forged[-3] ^= 0x40
    out.append((bytes(forged), "drop_icv"))
    good1 = esp(good_b_inner(frame(1)))
    out.append((good1, None))
    out.append((esp(good_b_inner(frame(2))), None))
    # Truncated headers
    out.append((good1[:10], "drop_uplink_short"))                   # Ethernet
    out.append((good1[:14 + 12], "drop_uplink_short"))              # IPv4
    short_udp = bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst=B_UP, len=24, proto=17)
                      / Raw(b"\x11\x94\x11\x94"))
    out.append((short_udp, "drop_uplink_short"))                    # UDP
    out.append((good1[:len(good1) - 40], "drop_ip_bad"))            # IP length > frame
    short_esp = bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst=B_UP) /
                      UDP(sport=4500, dport=4500, chksum=0) / Raw(struct.pack("!II", 0x1001, 99) + b"x" * 8))
    out.append((short_esp, "drop_esp_short"))                       # ESP
    # Unknown SPI (valid ESP under a key B does not have)
    out.append((esp(good_b_inner(frame(3)), spi=0x9999, seq_no=1), "drop_unknown_spi"))
    # Tampered ICV
    t = bytearray(esp(good_b_inner(frame(4))))
    t[-1] ^= 0x01
    out.append((bytes(t), "drop_icv"))
    # Replayed packet (good1 again)
    out.append((good1, "drop_replayed"))
    # Unknown VNI
    out.append((esp(vxlan_inner(frame(5), 7777, A_VTEP, B_VTEP)), "drop_unknown_vni"))
    # Inner addresses that do not match the SA's VTEPs
    out.append((esp(vxlan_inner(frame(6), 5101, "198.19.0.99", B_VTEP)), "drop_inner_addr"))
    out.append((esp(vxlan_inner(frame(7), 5101, A_VTEP, "198.19.0.98")), "drop_inner_addr"))
    # Inner UDP not to 4789; VXLAN without the I flag
    out.append((esp(vxlan_inner(frame(8), 5101, A_VTEP, B_VTEP, dport=4790)), "drop_inner_proto"))
    out.append((esp(vxlan_inner(frame(9), 5101, A_VTEP, B_VTEP, flags=0)), "drop_vxlan_flags"))
    # Garbage UDP 4500 payloads: with B's SPI (fails the ICV), with a random SPI
    g = Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst=B_UP) / UDP(sport=4500, dport=4500, chksum=0)
    garbage = bytes((i * 73 + 41) & 0xff for i in range(120))
    out.append((bytes(g / Raw(struct.pack("!II", SPI_A_TO_B, 4000) + garbage)), "drop_icv"))
    out.append((bytes(g / Raw(garbage)), "drop_unknown_spi"))
    # Right SPI and key, wrong outer source
    out.append((esp(good_b_inner(frame(10)), src_ip="198.18.0.99") if False else
                bytes(tunnel_packet(KEY_A_TO_B, SPI_A_TO_B, 50, good_b_inner(frame(10)),
                                    src_ip="198.18.0.99", dst_ip=B_UP, src_mac=A_UP_MAC,
                                    dst_mac=B_UP_MAC)), "drop_outer_src"))
    # Not for us, not IPv4, outer fragments: a valid first fragment waits for
    # the rest (counted when the appliance stops), a malformed one (MF set,
    # 70 bytes of data: not a multiple of 8, RFC 791) is dropped at once
    out.append((bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst="198.18.0.77") /
                      UDP(sport=4500, dport=4500) / Raw(b"\x00\x00\x10\x01" + b"y" * 40)), "drop_not_for_us"))
    out.append((bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC, type=0x86dd) / Raw(b"z" * 60)), "drop_ethertype"))
    out.append((bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst=B_UP, flags="MF") /
                      UDP(sport=4500, dport=4500) / Raw(b"f" * 64)), "drop_reass_shutdown"))
    out.append((bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst=B_UP, flags="MF", id=7) /
                      UDP(sport=4500, dport=4500) / Raw(b"f" * 62)), "drop_ip_frag"))
    # For the exception path: IKE behind the non-ESP marker, a NAT keepalive, ICMP
    out.append((bytes(g / Raw(b"\x00\x00\x00\x00" + b"IKE" * 10)), "exception"))
    out.append((bytes(g / Raw(b"\xff")), "exception"))
    out.append((bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst=B_UP) / ICMP()), "exception"))
    # A last good one: the window still moves after all that
    out.append((esp(good_b_inner(frame(11))), None))
    return out, [frame(1), frame(2), frame(11)]


M1, M2, M3 = "02:00:00:00:03:01", "02:00:00:00:03:02", "02:00:00:00:03:03"


def bridge_frames():
    """Test 4, for A with burst = 1: A's worker polls the trunk, then the
    uplink, one frame each, so local frame k is handled before uplink frame k,
    which is handled before local frame k+1. Returns (local, uplink, expected):
    expected lists the local frames that must be tunnelled, in order, and the
    frames A must deliver on its trunk."""
    def tagged(vlan, src, dst, payload, ethertype_pkt=None):
        inner = ethertype_pkt if ethertype_pkt is not None else \
            IP(src="203.0.113.1", dst="203.0.113.2") / UDP(dport=9) / Raw(payload)
        return bytes(Ether(src=src, dst=dst) / Dot1Q(vlan=vlan) / inner)

    bcast = "ff:ff:ff:ff:ff:ff"
    rarp_m1 = bytes(Ether(src=M1, dst=bcast, type=0x8035) /
                    ARP(op=3, hwsrc=M1, hwdst=M1, psrc="0.0.0.0", pdst="0.0.0.0"))
    local = [
        tagged(101, M1, bcast, b"", ARP(op=1, hwsrc=M1, psrc="203.0.113.1", pdst="203.0.113.9")),  # L0
        tagged(101, M2, M1, b"to M1 while local"),                                                   # L1
        tagged(101, M2, M1, b"to M1 after it moved"),                                                # L2
        tagged(103, M3, bcast, b"M3 on the short-aging segment"),                                    # L3
    ]
    local += [tagged(104, "02:00:00:00:04:%02x" % i, bcast, b"limit %d" % i) for i in range(10)]  # L4..13
    local += [
        tagged(101, M1, bcast, b"", ARP(op=2, hwsrc=M1, psrc="203.0.113.1", hwdst=bcast,
                                        pdst="203.0.113.1")),                                        # L14
        tagged(101, M2, M1, b"to M1, back home"),                                                   # L15
    ]
    uplink = [
        bytes(Ether(src=B_UP_MAC, dst=A_UP_MAC, type=0x88b5) / Raw(b"filler" * 8)),                 # U0
        bytes(tunnel_packet(KEY_B_TO_A, SPI_B_TO_A, 1, vxlan_inner(rarp_m1, 5101, B_VTEP, A_VTEP))),  # U1
    ]
    tunnelled = [local[i] for i in [0, 2, 3] + list(range(4, 14)) + [14]]
    delivered = [rarp_m1[:12] + b"\x81\x00" + struct.pack("!H", 101) + rarp_m1[12:]]
    return local, uplink, tunnelled, delivered


# --- MSS clamping (docs/conditioning.md) -------------------------------------

def mss_budget(mtu, ipv6, tags=0):
    """The expected clamp, found by trying, independently of mss.c's closed
    formula: the largest MSS whose segment, in a frame with `tags` 802.1Q tags
    inside the tunnel, gives an outer IPv4 packet of at most `mtu` bytes.
    Outer IPv4 20 + UDP 8 + ESP header 8 + IV 8, then the ESP payload (inner
    IPv4 20 + UDP 8 + VXLAN 8 + Ethernet 14 + tags + IP packet) with pad length
    and next header padded to 4 bytes (RFC 4303 2.4), then the 16-byte ICV."""
    hdrs = 60 if ipv6 else 40
    for mss in range(mtu, 0, -1):
        esp_payload = 20 + 8 + 8 + 14 + 4 * tags + hdrs + mss
        outer = 20 + 8 + 8 + 8 + ((esp_payload + 2 + 3) // 4) * 4 + 16
        if outer <= mtu:
            return mss
    return 0


MSS_SRC, MSS_DST, MSS_REMOTE = "02:00:00:00:0a:01", "02:00:00:00:0b:01", "02:00:00:00:0c:01"


def tcp_options(options, limit=None):
    """TCP option bytes from (kind, value) tokens, padded with EOL to 4 bytes.
    'MSS' values above `limit` are written as `limit` (the expected result);
    raw bytes are taken as they are (malformed options)."""
    out = b""
    for k, v in options:
        if k == "MSS":
            out += b"\x02\x04" + struct.pack("!H", v if limit is None else min(v, limit))
        elif k == "NOP":
            out += b"\x01"
        elif k == "WS":
            out += b"\x03\x03" + bytes([v])
        elif k == "SACKOK":
            out += b"\x04\x02"
        elif k == "TS":
            out += b"\x08\x0a" + struct.pack("!II", v, 0)
        else:
            out += v
    return out + b"\x00" * (-len(out) % 4)


def tcp_syn(v6, sport, options, flags="S", vlan=None, src=MSS_SRC, dst=MSS_DST, ip_extra=None,
            dataofs=None, limit=None):
    """A TCP frame (a SYN by default) built byte by byte, the checksum computed
    from scratch by scapy (in4_chksum/in6_chksum). vlan: an 802.1Q tag in the
    frame; limit: write MSS values lowered to it (the expected output)."""
    from scapy.layers.inet import in4_chksum
    from scapy.layers.inet6 import in6_chksum
    opts = tcp_options(options, limit)
    fl = sum({"F": 1, "S": 2, "R": 4, "P": 8, "A": 16}[c] for c in flags)
    doff = dataofs if dataofs is not None else 5 + len(opts) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, 443, 1000 + sport, 0 if "A" not in flags else 77,
                      doff << 4, fl, 64240, 0, 0) + opts
    if v6:
        if ip_extra is not None:
            ip = IPv6(src="2001:db8:a::1", dst="2001:db8:a::2") / ip_extra.copy()
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
    eth = bytes(Ether(src=src, dst=dst, type=0x86dd if v6 else 0x0800))
    return add_tag(eth + pkt, vlan) if vlan is not None else eth + pkt


def mss_cases():
    """(name, v6, build, expectation) for the MSS test: build(limit=None,
    vlan=None) gives the frame, with MSS values lowered to `limit` when given
    (the expected output). expectation: 'clamp' (MSS option lowered), 'same'
    (untouched, not counted), 'missing' (a SYN without MSS option: untouched,
    mss_missing), 'malformed' (untouched, mss_malformed)."""
    import functools
    c = []
    linux = [("MSS", 1460), ("SACKOK", None), ("TS", 1), ("NOP", None), ("WS", 7)]
    sp = iter(range(40000, 41000))

    def add(name, v6, exp, options=None, **kw):
        opts = [("MSS", 1460)] if options is None else options
        c.append((name, v6, functools.partial(tcp_syn, v6, next(sp), opts, **kw), exp))
    for v6 in (False, True):
        fam = "IPv6" if v6 else "IPv4"
        add("%s SYN MSS 1460" % fam, v6, "clamp")
        add("%s SYN-ACK MSS 1460" % fam, v6, "clamp", flags="SA")
        add("%s SYN Linux options (MSS, SACK, TS, NOP, WS)" % fam, v6, "clamp", options=linux)
        # window scale (3 bytes) first: the MSS value at TCP offset 25, odd
        add("%s SYN MSS at odd alignment (WS, MSS)" % fam, v6, "clamp",
            options=[("WS", 2), ("MSS", 1460), ("NOP", None)])
        add("%s SYN MSS 65535 at odd alignment (NOP, MSS, NOPs)" % fam, v6, "clamp",
            options=[("NOP", None), ("MSS", 65535), ("NOP", None), ("NOP", None), ("NOP", None)])
        add("%s SYN MSS 1200 (below the clamp)" % fam, v6, "same", options=[("MSS", 1200)])
        add("%s SYN without MSS option" % fam, v6, "missing",
            options=[("NOP", None), ("WS", 7), ("SACKOK", None)])
        add("%s ACK carrying an MSS option (not a SYN)" % fam, v6, "same", flags="A")
        add("%s SYN option of length 0 before MSS" % fam, v6, "malformed",
            options=[("raw", b"\x08\x00"), ("MSS", 1460)])
        add("%s SYN MSS option of length 3" % fam, v6, "malformed", options=[("raw", b"\x02\x03\x05")])
        add("%s SYN option running past the header" % fam, v6, "malformed",
            options=[("MSS", 1460), ("raw", b"\x1e\x08\x00\x00")])
        add("%s SYN option kind without length at the end" % fam, v6, "malformed",
            options=[("MSS", 1460), ("NOP", None), ("NOP", None), ("NOP", None), ("raw", b"\x1e")])
        add("%s SYN data offset 15 in a 20-byte TCP header" % fam, v6, "malformed", options=[],
            dataofs=15)
        add("%s SYN data offset 3" % fam, v6, "malformed", options=[], dataofs=3)
    add("IPv4 SYN with IP options (IHL 6)", False, "clamp", ip_extra={"options": [b"\x01\x01\x01\x00"]})
    add("IPv4 non-first fragment that looks like a SYN", False, "same", ip_extra={"frag": 100})
    add("IPv4 first fragment (MF) carrying the SYN", False, "clamp", ip_extra={"flags": "MF"})
    add("IPv6 SYN after a hop-by-hop header", True, "clamp", ip_extra=IPv6ExtHdrHopByHop())
    add("IPv6 SYN after a fragment header, offset 0", True, "clamp", ip_extra=IPv6ExtHdrFragment(offset=0, m=1))
    add("IPv6 non-first fragment that looks like a SYN", True, "same", ip_extra=IPv6ExtHdrFragment(offset=10))
    return c


# --- storm control ------------------------------------------------------------

STORM_R = "02:00:00:00:0d:01"    # a host at the other site (learned from the tunnel)


def storm_frames(n):
    """For A-bridge (burst 1) with storm control on segment web (VLAN 101):
    L0 is handled before U0 (a frame from R at the other site), so R is known
    from L1 on. Then n rounds of: broadcast, multicast, unknown unicast, known
    unicast to R (VLAN 101), and a broadcast on VLAN 103 (no storm control).
    Returns (local, uplink, classes of the local frames)."""
    local, cls = [bytes(Ether(src=H1, dst="ff:ff:ff:ff:ff:ff") / Dot1Q(vlan=999) / Raw(b"filler" * 8))], ["filler"]
    for i in range(n):
        for name, dst, vlan in (("broadcast", "ff:ff:ff:ff:ff:ff", 101), ("multicast", "01:00:5e:00:00:fb", 101),
                                ("unknown", UNKNOWN, 101), ("known", STORM_R, 101), ("other", "ff:ff:ff:ff:ff:ff", 103)):
            local.append(bytes(Ether(src=H1, dst=dst) / Dot1Q(vlan=vlan) / IP(src="192.0.2.11", dst="192.0.2.255") /
                               UDP(sport=1000 + i, dport=9) / Raw(b"storm %s %d" % (name.encode(), i))))
            cls.append(name)
    r_arp = bytes(Ether(src=STORM_R, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=STORM_R, psrc="192.0.2.77",
                                                                     pdst="192.0.2.11"))
    uplink = [bytes(tunnel_packet(KEY_B_TO_A, SPI_B_TO_A, 1, vxlan_inner(r_arp, 5101, B_VTEP, A_VTEP)))]
    return local, uplink, cls
FLAP, DAMP, VMOT = "02:00:00:00:07:01", "02:00:00:00:07:02", "02:00:00:00:07:03"
C1, C2, SAME, FILL = "02:00:00:00:07:11", "02:00:00:00:07:12", "02:00:00:00:07:13", "02:00:00:00:07:99"


def l2guard_frames():
    """L2 safety (docs/l2-safety.md), for A with burst = 1 (local frame k, then
    uplink frame k, then local frame k+1; see bridge_frames). Segment web keeps
    the defaults (5 moves in 10 s, report only); segment damp (VLAN 105, VNI
    5105) allows 3 moves and dampens for 30 s.

      rounds 0-3   FLAP alternates local/remote: 7 moves, the 6th is one flap
      rounds 4-7   DAMP alternates: the 4th move is a flap, undone and
                   dampened: DAMP stays remote, its local frames L6 and L7 dropped
      round 8      VMOT local, then its RARP from the tunnel: one move (vMotion)
      round 9      L9 is U8 as A delivered it on the trunk: a loop
      round 10     192.0.2.50 claimed by C1 here and by C2 there: a conflict
      round 11     192.0.2.60 claimed by SAME on both sides: no conflict
    Returns (local, uplink, tunnelled local indices, delivered uplink indices)."""
    bcast = "ff:ff:ff:ff:ff:ff"

    def frame(src, payload, vlan=None, pkt=None):
        inner = pkt if pkt is not None else \
            IP(src="203.0.113.7", dst="203.0.113.255") / UDP(dport=9) / Raw(payload)
        if vlan is None:
            return bytes(Ether(src=src, dst=bcast) / inner)
        return bytes(Ether(src=src, dst=bcast) / Dot1Q(vlan=vlan) / inner)

    local, remote = [], []   # remote: (vni, untagged frame)
    for k in range(4):
        local.append(frame(FLAP, b"flap local %d" % k, 101))
        remote.append((5101, frame(FLAP, b"flap remote %d" % k)))
    for k in range(4):
        local.append(frame(DAMP, b"damp local %d" % k, 105))
        remote.append((5105, frame(DAMP, b"damp remote %d" % k)))
    local.append(frame(VMOT, b"vmotion: before", 101))
    rarp = bytes(Ether(src=VMOT, dst=bcast, type=0x8035) /
                 ARP(op=3, hwsrc=VMOT, hwdst=VMOT, psrc="0.0.0.0", pdst="0.0.0.0"))
    remote.append((5101, rarp))
    local.append(add_tag(rarp, 101))                                          # L9: looped U8
    remote.append((5101, frame(FILL, b"filler")))
    local.append(frame(C1, b"", 101, ARP(op=1, hwsrc=C1, psrc="192.0.2.50", pdst="192.0.2.1")))
    remote.append((5101, frame(C2, b"", None, ARP(op=2, hwsrc=C2, psrc="192.0.2.50",
                                                  hwdst=bcast, pdst="192.0.2.50"))))
    local.append(frame(SAME, b"", 101, ARP(op=1, hwsrc=SAME, psrc="192.0.2.60", pdst="192.0.2.1")))
    remote.append((5101, frame(SAME, b"", None, ARP(op=2, hwsrc=SAME, psrc="192.0.2.60",
                                                    hwdst=bcast, pdst="192.0.2.60"))))
    uplink = [bytes(tunnel_packet(KEY_B_TO_A, SPI_B_TO_A, seq + 1, vxlan_inner(f, vni, B_VTEP, A_VTEP)))
              for seq, (vni, f) in enumerate(remote)]
    tunnelled = [i for i in range(len(local)) if i not in (6, 7, 9)]
    return local, uplink, tunnelled, remote


MOVED, ARPH, LOOPER = "02:00:00:00:0a:01", "02:00:00:00:0a:02", "02:00:00:00:0a:03"


def mld_report(mac, n):
    """The MLDv2 report a host sends for its solicited-node group (RFC 3810;
    what Linux repeats after a random delay of up to 1 s)."""
    ll = "fe80::ff:fe00:%x" % n
    return bytes(Ether(src=mac, dst="33:33:00:00:00:16") / IPv6(src=ll, dst="ff02::16", hlim=1) /
                 IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) /
                 ICMPv6MLReport2(records=[ICMPv6MLDMultAddrRec(rtype=4, dst="ff02::1:ff00:%x" % n)]))


def arp_request(mac, ip):
    return bytes(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=ip, pdst="192.0.2.1"))


def moved_repeat_frames(burst):
    """A host repeating a frame byte for byte from its new site right after a
    move is no loop; a frame A sent to the trunk coming back is (docs/
    l2-safety.md). Segment web (VLAN 101, VNI 5101) of A-bridge.

    burst = 1 (local k, uplink k, local k+1; see bridge_frames):
      U0 MOVED's MLDv2 report from the tunnel, delivered on the trunk; L1
      MOVED's RARP on the trunk (the vMotion to A); L2 U0 byte for byte on the
      trunk: MOVED repeating itself, tunnelled. U2 ARPH's ARP request from the
      tunnel; L3 a unicast frame of ARPH on the trunk (it is here now, no
      RARP); L4 U2 again: tunnelled. U3 LOOPER's ARP request and U4 its MLDv2
      report from the tunnel; L5 and L6 them back on the trunk: loops.
    burst = 2 (two local frames, then two uplink frames, ...):
      U0 MOVED's report, U1 LOOPER's ARP request; L2 MOVED's RARP and L3 U0
      again in one burst: the RARP is learned only after the burst's loop
      checks, still MOVED is here. U2 LOOPER's report; L4 U1 back and L5 U2
      back in one burst: loops (the dropped L4 shows no host at A).
    Returns (local, uplink, tunnelled local indices, looped local indices)."""
    bcast = "ff:ff:ff:ff:ff:ff"

    def filler(n):
        return bytes(Ether(src="02:00:00:00:0b:%02x" % n, dst=UNKNOWN) / IP(src="192.0.2.%d" % (100 + n)) /
                     UDP(dport=9) / Raw(b"filler %d" % n))

    rarp = bytes(Ether(src=MOVED, dst=bcast, type=0x8035) /
                 ARP(op=3, hwsrc=MOVED, hwdst=MOVED, psrc="0.0.0.0", pdst="0.0.0.0"))
    mld_m, mld_l = mld_report(MOVED, 0xa01), mld_report(LOOPER, 0xa03)
    arp_h, arp_l = arp_request(ARPH, "192.0.2.92"), arp_request(LOOPER, "192.0.2.93")
    unicast_h = bytes(Ether(src=ARPH, dst=UNKNOWN) / IP(src="192.0.2.92") / UDP(dport=9) / Raw(b"ARPH is here"))
    if burst == 1:
        local = [filler(1), rarp, mld_m, unicast_h, arp_h, arp_l, mld_l]
        remote = [mld_m, filler(2), arp_h, arp_l, mld_l]
        looped = [5, 6]
    else:
        local = [filler(1), filler(3), rarp, mld_m, arp_l, mld_l]
        remote = [mld_m, arp_l, mld_l, filler(2)]
        looped = [4, 5]
    uplink = [bytes(tunnel_packet(KEY_B_TO_A, SPI_B_TO_A, seq + 1, vxlan_inner(f, 5101, B_VTEP, A_VTEP)))
              for seq, f in enumerate(remote)]
    tunnelled = [i for i in range(len(local)) if i not in looped]
    return [add_tag(f, 101) for f in local], uplink, tunnelled, looped


def ip_csum(hdr):
    """RFC 1071 checksum of an IPv4 header whose checksum field is zero."""
    total = sum(int.from_bytes(hdr[i:i + 2], "big") for i in range(0, len(hdr), 2))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return (~total) & 0xffff


def fragment(frame, pieces):
    """Outer IPv4 fragments of an Ethernet/IPv4 frame (20-byte header):
    pieces = [(offset, length), ...] in bytes of IP payload, in the order to
    send them; MF is set unless the piece ends the payload. Written by hand
    so tests can make overlaps and holes that no real stack makes."""
    eth, ip = frame[:14], frame[14:]
    hdr, payload = bytearray(ip[:20]), ip[20:]
    out = []
    for off, length in pieces:
        assert off % 8 == 0
        data = payload[off:off + length]
        h = bytearray(hdr)
        mf = 0x2000 if off + len(data) < len(payload) else 0
        h[2:4] = struct.pack("!H", 20 + len(data))
        h[6:8] = struct.pack("!H", mf | (off // 8))
        h[10:12] = b"\0\0"
        h[10:12] = struct.pack("!H", ip_csum(bytes(h)))
        out.append(eth + bytes(h) + data)
    return out


def big_frame(n, size=1400, vlan_src="02:00:00:00:06:%02x"):
    """An untagged frame of `size` bytes from a per-`n` source (segment web at B)."""
    hdr = Ether(src=vlan_src % n, dst="ff:ff:ff:ff:ff:ff") / IP(src="192.0.2.%d" % (40 + n),
                                                                  dst="192.0.2.255") / UDP(dport=9)
    pad = size - len(hdr)
    return bytes(hdr / Raw((b"big %d " % n * (pad // 6 + 1))[:pad]))


def reass_uplink():
    """Fragments toward B's uplink (A -> B, sealed with A's key): returns
    (frames, delivered, expected counters). Outer datagrams are ~1500 bytes,
    cut at 8-byte boundaries."""
    out, seq = [], [0]

    def dgram(n, ip_id, size=1400):
        seq[0] += 1
        p = tunnel_packet(KEY_A_TO_B, SPI_A_TO_B, seq[0], good_b_inner(big_frame(n, size)),
                          src_ip=A_UP, dst_ip=B_UP, src_mac=A_UP_MAC, dst_mac=B_UP_MAC)
        p[IP].id = ip_id
        return bytes(p)

    d = {n: dgram(n, 0x100 + n) for n in range(1, 8)}
    plen = {n: len(d[n]) - 14 - 20 for n in d}
    f = {n: fragment(d[n], [(0, 800), (800, plen[n] - 800)]) for n in d}
    # D1 in order, D2 in three pieces in reverse order
    out += f[1]
    out += list(reversed(fragment(d[2], [(0, 504), (504, 504), (1008, plen[2] - 1008)])))
    # D3 and D4 interleaved: D4 is complete first
    out += [f[3][0], f[4][0], f[4][1], f[3][1]]
    # D5 misses its middle piece: its other two time out
    f5 = fragment(d[5], [(0, 504), (504, 504), (1008, plen[5] - 1008)])
    out += [f5[0], f5[2]]
    # D6: the second piece overlaps the first (starts at 400, the first ends at 800)
    out += fragment(d[6], [(0, 800), (400, plen[6] - 400)])
    # D7: the first piece twice (rte_ip_frag drops the datagram), then the last,
    # which starts a new datagram that times out
    out += [f[7][0], f[7][0], f[7][1]]
    # malformed: MF set and 70 data bytes
    out.append(fragment(d[1], [(0, 70)])[0])
    # a large IKE message (UDP 500), fragmented by the peer's kernel: whole at the exception path
    ike = bytes(Ether(src=A_UP_MAC, dst=B_UP_MAC) / IP(src=A_UP, dst=B_UP, id=0x200) /
                UDP(sport=500, dport=500) / Raw(b"\0" * 4 + b"IKE-CERT" * 170))
    out += fragment(ike, [(0, 808), (808, len(ike) - 34 - 808)])
    # and an unfragmented packet at the end: the path still works
    seq[0] += 1
    out.append(bytes(tunnel_packet(KEY_A_TO_B, SPI_A_TO_B, seq[0], good_b_inner(big_frame(8, 200)),
                                   src_ip=A_UP, dst_ip=B_UP, src_mac=A_UP_MAC, dst_mac=B_UP_MAC)))
    delivered = [big_frame(n) for n in (1, 2, 4, 3)] + [big_frame(8, 200)]
    counters = {"drop_reass_timeout": 3, "drop_reass_bad": 4, "drop_ip_frag": 1}
    nfrags = len(out) - 1
    return out, delivered, counters, nfrags


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(outdir, exist_ok=True)
    write(os.path.join(outdir, "empty.pcap"), [])
    write(os.path.join(outdir, "local.pcap"), [f for _, f in local_frames()])
    bad, _ = bad_uplink()
    write(os.path.join(outdir, "bad-uplink.pcap"), [f for f, _ in bad])
    local, uplink, _, _ = bridge_frames()
    write(os.path.join(outdir, "bridge-local.pcap"), local)
    write(os.path.join(outdir, "bridge-uplink.pcap"), uplink)
    local, uplink, _, _ = l2guard_frames()
    write(os.path.join(outdir, "l2guard-local.pcap"), local)
    write(os.path.join(outdir, "l2guard-uplink.pcap"), uplink)
    return 0


if __name__ == "__main__":
    sys.exit(main())
