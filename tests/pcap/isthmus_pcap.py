# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for the pcap tests of isthmus-dp (tests/pcap/).

Builds frames with scapy, seals and opens ESP (RFC 4303, AES-256-GCM per
RFC 4106) independently of crypto/ with the `cryptography` package, runs
isthmus-dp on net_pcap vdevs, and reads its --stats-json report.
"""
import json
import os
import struct
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from scapy.all import ARP, IP, UDP, Ether, Dot1Q, Raw, rdpcap, wrpcap  # noqa: F401
from scapy.layers.vxlan import VXLAN  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))

# The test appliances (tests/pcap/*.ini): A = 198.18.0.1, B = 198.18.0.2.
A_UP, B_UP = "198.18.0.1", "198.18.0.2"
A_VTEP, B_VTEP = "198.19.0.1", "198.19.0.2"
A_UP_MAC, B_UP_MAC = "02:00:5e:12:00:01", "02:00:5e:12:00:02"
KEY_A_TO_B = bytes.fromhex(
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fa0a1a2a3")
KEY_B_TO_A = bytes.fromhex(
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5fb0b1b2b3")
SPI_A_TO_B, SPI_B_TO_A = 0x1001, 0x2001
MARKER = b"ISTHMUS-CLEAR-TEXT-MARKER"


def esp_seal(keymat, spi, seq, inner, next_header=4):
    """ESP payload (header, IV, ciphertext, ICV) for `inner`, IV = seq."""
    payload_len = len(inner) + 2
    pad = (-payload_len) % 4
    pt = inner + bytes(range(1, pad + 1)) + bytes([pad, next_header])
    hdr = struct.pack("!II", spi, seq)
    iv = struct.pack("!Q", seq)
    ct = AESGCM(keymat[:32]).encrypt(keymat[32:] + iv, pt, hdr)
    return hdr + iv + ct


def esp_open(keymat, esp):
    """(spi, seq, next_header, inner) of an ESP payload; raises on a bad ICV."""
    spi, seq = struct.unpack("!II", esp[:8])
    iv = esp[8:16]
    pt = AESGCM(keymat[:32]).decrypt(keymat[32:] + iv, esp[16:], esp[:8])
    pad, nh = pt[-2], pt[-1]
    assert pt[-2 - pad:-2] == bytes(range(1, pad + 1)), "bad ESP padding"
    return spi, seq, nh, pt[:-2 - pad]


def vxlan_inner(frame, vni, src_vtep, dst_vtep, dport=4789, flags=0x08, sport=49200):
    """Inner IPv4/UDP/VXLAN packet carrying `frame` (bytes)."""
    return bytes(IP(src=src_vtep, dst=dst_vtep, id=0, flags=0) /
                 UDP(sport=sport, dport=dport, chksum=0) /
                 VXLAN(flags=flags, vni=vni) / Raw(frame))


def tunnel_packet(keymat, spi, seq, inner, src_ip=B_UP, dst_ip=A_UP, src_mac=B_UP_MAC,
                  dst_mac=A_UP_MAC, sport=4500):
    """A whole uplink frame: Ethernet / IPv4 / UDP 4500 / ESP."""
    esp = esp_seal(keymat, spi, seq, inner)
    return Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip, flags=0) / \
        UDP(sport=sport, dport=4500, chksum=0) / Raw(esp)


def write(path, frames):
    """Write frames (scapy packets or bytes, byte-exact) to a pcap file."""
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, f in enumerate(frames):
            b = bytes(f)
            fh.write(struct.pack("<IIII", 1700000000, i, len(b), len(b)))
            fh.write(b)


def read(path):
    """Frames of a pcap as bytes (an absent or empty file gives [])."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def remove_runtime_dir(prefix):
    """DPDK leaves /var/run/dpdk/PREFIX behind: remove ours once the process is gone."""
    import shutil
    shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)


def run_dp(dp, workdir, name, config, ports, idle_ms=500, max_seconds=30, lcores=("-l", "0,1"),
           expect_ok=True):
    """Run isthmus-dp on net_pcap vdevs: ports = [(rx_pcap, tx_pcap), ...] in
    vdev order net_pcap0, net_pcap1, ...; rx_pcap or tx_pcap may be lists (one
    queue per file). Returns (returncode, stats, stdout, stderr)."""
    # The appliance's control socket goes to the work directory, not /run.
    with open(config) as fh:
        text = fh.read()
    config = os.path.join(workdir, name + "-run.ini")
    with open(config, "w") as fh:
        fh.write(text.replace("[appliance]\n", "[appliance]\nrun_dir = %s\n" % os.path.join(workdir, "run-" + name), 1))
    os.makedirs(os.path.join(workdir, "run-" + name), exist_ok=True)
    stats = os.path.join(workdir, name + "-stats.json")
    if os.path.exists(stats):
        os.unlink(stats)
    cmd = [dp] + list(lcores) + ["--no-huge", "-m", "256", "--no-pci",
           "--file-prefix=isthmus-pcap-%s-%d" % (name, os.getpid()),
           "--log-level=lib.eal:error", "--log-level=pmd.net.pcap:error"]
    for i, (rx, tx) in enumerate(ports):
        rx = rx if isinstance(rx, list) else [rx]
        tx = tx if isinstance(tx, list) else [tx]
        cmd.append("--vdev=net_pcap%d," % i + ",".join(["rx_pcap=" + r for r in rx] +
                                                      ["tx_pcap=" + t for t in tx]))
    cmd += ["--", "-c", config, "--exit-when-idle", str(idle_ms),
            "--max-seconds", str(max_seconds), "--stats-json", stats]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=max_seconds + 30)
    finally:
        remove_runtime_dir("isthmus-pcap-%s-%d" % (name, os.getpid()))
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if expect_ok and p.returncode != 0:
        raise AssertionError("isthmus-dp %s exited %d" % (name, p.returncode))
    st = None
    if os.path.exists(stats):
        with open(stats) as fh:
            st = json.load(fh)
    return p.returncode, st, p.stdout, p.stderr


def check_counters(st, expected, prefix="drop_"):
    """Every counter starting with `prefix` equals expected.get(name, 0)."""
    bad = []
    for k, v in st["counters"].items():
        if k.startswith(prefix) and v != expected.get(k, 0):
            bad.append("%s = %d, expected %d" % (k, v, expected.get(k, 0)))
    for k in expected:
        if k not in st["counters"]:
            bad.append("%s: no such counter" % k)
    if bad:
        raise AssertionError("counters: " + "; ".join(bad))
