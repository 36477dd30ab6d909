#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""flood.py IFACE DST_MAC DST_IP SECONDS MAX_PACKETS PPS: a bounded flood
toward an appliance's uplink address, for netns_exc_flood (tests/netns).

Sends PPS packets a second (0: as fast as one Python process can) until
SECONDS have passed or MAX_PACKETS are out, a mix of what anyone on the underlay can send to the
exception path (exception_dp.c):
  - 3 of 4: IKE from spoofed sources (203.0.113.0/24 and 198.18.1.0/24,
    random ports): an IKEv2 IKE_SA_INIT header (RFC 7296 section 3.1) with a
    random initiator SPI, followed by junk; one in three to UDP port 500, two
    to UDP port 4500 behind the non-ESP marker (RFC 3948 section 2.2), where
    the peer's IKE arrives once NAT-T is on (charon's other socket)
  - 1 of 4: broadcast ARP requests for DST_IP from random MACs and sender
    addresses 198.18.0.100-250 (never the peer's)
The frames are built once (a few hundred distinct ones) and sent in turn on
an AF_PACKET socket; no scapy, no checksum offload needed. Prints one line:
sent=N seconds=S pps=R.
"""
import os
import random
import socket
import struct
import sys
import time


def csum(b):
    """RFC 1071 Internet checksum."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))


def rand_mac():
    return bytes([0x02]) + os.urandom(5)


def ike_udp(dst_mac, src_ip, dst_ip, sport, dport):
    """Ethernet / IPv4 / UDP 500 or 4500 (+ marker) / IKE_SA_INIT header + junk."""
    junk = os.urandom(172)
    ike = os.urandom(8) + bytes(8) + bytes([33, 0x20, 34, 0x08]) + struct.pack("!II", 0, 28 + len(junk)) + junk
    if dport == 4500:
        ike = bytes(4) + ike
    udp = struct.pack("!HHHH", sport, dport, 8 + len(ike), 0) + ike
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), random.getrandbits(16), 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + rand_mac() + b"\x08\x00" + ip + udp


def arp_request(dst_ip):
    sha = rand_mac()
    spa = socket.inet_aton("198.18.0.%d" % random.randint(100, 250))
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + sha + spa + bytes(6) + socket.inet_aton(dst_ip)
    return b"\xff" * 6 + sha + b"\x08\x06" + arp + bytes(18)


def main():
    iface, dst_mac, dst_ip = sys.argv[1], mac_bytes(sys.argv[2]), sys.argv[3]
    seconds, max_packets, pps = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    frames = []
    for i in range(512):
        if i % 4 == 3:
            frames.append(arp_request(dst_ip))
        else:
            src = "%s.%d" % ("203.0.113" if i % 2 else "198.18.1", random.randint(1, 254))
            frames.append(ike_udp(dst_mac, src, dst_ip, random.randint(1024, 65535),
                                  500 if i % 4 == 0 else 4500))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    sent, t0 = 0, time.monotonic()
    send = s.send
    while sent < max_packets:
        for f in frames[:64] if pps else frames:
            try:
                send(f)
            except OSError:   # ENOBUFS: the queue is full, go on
                pass
        sent += 64 if pps else len(frames)
        frames = frames[64:] + frames[:64] if pps else frames
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        if pps and sent / pps > now - t0:
            time.sleep(sent / pps - (now - t0))
    dt = time.monotonic() - t0
    print("sent=%d seconds=%.1f pps=%d" % (sent, dt, sent / dt), flush=True)


if __name__ == "__main__":
    main()
