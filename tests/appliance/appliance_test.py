#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""appliance_test.py DP CTL: isthmus-dp's services around the data path.

Topology (two namespaces this test creates and removes):

    ns ista-peer                         ns ista-dp
    peer0 198.18.0.2/24  <--- veth --->  up0 (net_af_packet, the uplink)
                                         isthmus-dp: TAP ista-up 198.18.0.1/24
                                         local port: net_ring (no traffic)

Checks:
  * the exception path: the peer pings the uplink address (ARP and ICMP are
    answered by the kernel through the TAP); a UDP 4500 datagram with the
    non-ESP marker reaches a kernel socket bound to the uplink address, while
    one without the marker goes to the ESP path and is dropped as unknown SPI;
  * next-hop resolution: the dataplane learns the peer's MAC by itself;
  * counters through DPDK telemetry (the stock dpdk-telemetry.py client,
    /isthmus/ commands) agree with the control socket (isthmusctl stats);
  * segments extended and unextended at run time through the control socket
    (isthmusctl extend / unextend --local), refusals for duplicates and unknown ports;
  * cutover of a segment's gateway to this site sends a gratuitous ARP;
  * SIGTERM stops the appliance cleanly (exit 0).
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from isthmus_test import check, del_netns, run_test, sh  # noqa: E402

DP, CTL = sys.argv[1], sys.argv[2]
# names unique to this run: two copies of the test never share a namespace
PREFIX = "ista%d" % (os.getpid() % 100000)
NS_DP, NS_PEER = PREFIX + "-dp", PREFIX + "-peer"


def cleanup():
    del_netns(NS_DP, NS_PEER)


def topology():
    cleanup()
    for ns in (NS_DP, NS_PEER):
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "set", "lo", "up", ns=ns)
    sh("ip", "link", "add", PREFIX + "u", "type", "veth", "peer", "name", PREFIX + "p")
    sh("ip", "link", "set", PREFIX + "u", "netns", NS_DP, "name", "up0")
    sh("ip", "link", "set", PREFIX + "p", "netns", NS_PEER, "name", "peer0")
    # net_af_packet only listens: the kernel still gets every frame on up0. It
    # must not answer them itself (the TAP holds the address): no ARP on up0,
    # and strict reverse-path filtering drops IP arriving there.
    sh("sysctl", "-qw", "net.ipv6.conf.up0.disable_ipv6=1", "net.ipv4.conf.up0.arp_ignore=8",
       "net.ipv4.conf.up0.rp_filter=1", ns=NS_DP)
    sh("ip", "link", "set", "up0", "up", ns=NS_DP)
    sh("ip", "addr", "add", "198.18.0.2/24", "dev", "peer0", ns=NS_PEER)
    sh("ip", "link", "set", "peer0", "up", ns=NS_PEER)
    # on a real wire checksums are complete; veth would leave them to "hardware"
    sh("ethtool", "-K", "peer0", "tx", "off", ns=NS_PEER)


CONFIG = """
[appliance]
name = ista
run_dir = {run}
mbufs = 2048

[uplink]
port = net_af_packet0
address = 198.18.0.1
peer = 198.18.0.2
tap = ista-up
tap_prefix = 24
local_vtep = 198.19.0.1
peer_vtep = 198.19.0.2

[local lan]
port = net_ring0
mode = trunk

[segment web]
local = lan
vlan = 10
vni = 100
gateway = 192.0.2.1
gateway6 = 2001:db8:5::1
gateway_site = peer
local_egress = yes
router_mac = 02:00:5e:00:01:01
"""

LISTENER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.1", 4500))
s.settimeout(0.2)
print("ready", flush=True)
end = time.time() + 8
while time.time() < end:
    try:
        data, src = s.recvfrom(2048)
        print(data.hex(), flush=True)
    except socket.timeout:
        pass
"""

SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.18.0.2", 4500))
for hexdata in sys.argv[1:]:
    s.sendto(bytes.fromhex(hexdata), ("198.18.0.1", 4500))
"""


def telemetry(cmd):
    r = subprocess.run(["dpdk-telemetry.py", "-f", PREFIX], input=cmd + "\n",
                       capture_output=True, text=True, timeout=10)
    # the client prints one JSON object per command
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            # the answer is keyed by the command without its parameter
            return json.loads(line)[cmd.split(",")[0]]
    raise RuntimeError(f"no telemetry answer to {cmd}: {r.stdout} {r.stderr}")


def main():
    run = tempfile.mkdtemp(prefix="ista-")
    conf = os.path.join(run, "a.ini")
    with open(conf, "w") as f:
        f.write(CONFIG.format(run=run))
    topology()
    log = open(os.path.join(run, "dp.log"), "w")
    dp = subprocess.Popen(["ip", "netns", "exec", NS_DP, DP, "-l", "0,1", "--no-huge", "-m", "256",
                           "--no-pci", f"--file-prefix={PREFIX}", "--log-level=pmd.net.tap:error",
                           "--vdev=net_af_packet0,iface=up0", "--vdev=net_ring0", "--", "-c", conf],
                          stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            if sh("ip", "link", "show", "ista-up", ns=NS_DP, check_rc=False).returncode == 0 \
                    and os.path.exists(os.path.join(run, "dp.sock")):
                break
            if dp.poll() is not None:
                break
            time.sleep(0.1)
        if dp.poll() is not None:
            print(open(log.name).read())
        check(dp.poll() is None, "isthmus-dp is up, with its TAP and control socket")

        # ARP and ICMP for the uplink address: answered by the kernel via the TAP
        t0 = time.time()
        r = sh("ping", "-c", "3", "-i", "0.2", "-W", "2", "198.18.0.1", ns=NS_PEER, check_rc=False)
        check(r.returncode == 0, f"the peer pings the uplink address ({time.time() - t0:.2f} s, "
              "ARP and ICMP through the exception TAP)")

        # UDP 4500: non-ESP marker -> kernel socket; anything else -> ESP path
        lst = subprocess.Popen(["ip", "netns", "exec", NS_DP, "/usr/bin/python3", "-c", LISTENER],
                               stdout=subprocess.PIPE, text=True)
        check(lst.stdout.readline().strip() == "ready", "a kernel socket is bound to 198.18.0.1:4500")
        ike = b"\x00\x00\x00\x00" + b"isthmus-ike-test"
        esp = b"\x00\x00\x10\x99" + b"\x00\x00\x00\x01" + bytes(32)
        keepalive = b"\xff"
        sh("/usr/bin/python3", "-c", SENDER, ike.hex(), esp.hex(), keepalive.hex(), ns=NS_PEER)
        got = [bytes.fromhex(x) for x in lst.communicate(timeout=15)[0].split() if x]
        check(ike in got, "the datagram with the non-ESP marker reached the kernel socket")
        check(esp not in got, "the ESP datagram did not reach the kernel socket")

        # counters: control socket and telemetry agree
        st = json.loads(sh(CTL, "-r", run, "--json", "stats").stdout)
        c = st["counters"]
        check(c["drop_unknown_spi"] == 1, f"one ESP packet dropped as unknown SPI "
              f"(drop_unknown_spi = {c['drop_unknown_spi']})")
        check(c["exception"] >= 5, f"exception path used (exception = {c['exception']})")
        peer_mac = sh("cat", "/sys/class/net/peer0/address", ns=NS_PEER).stdout.strip()
        check(st.get("nexthop", "").lower() == peer_mac,
              f"next hop resolved by ARP: {st.get('nexthop')} (peer0 is {peer_mac})")
        tel = telemetry("/isthmus/stats")
        check(tel.get("drop_unknown_spi") == c["drop_unknown_spi"],
              f"telemetry /isthmus/stats agrees (drop_unknown_spi {tel.get('drop_unknown_spi')})")
        w0 = telemetry("/isthmus/worker,0")
        check(w0.get("uplink_rx", 0) >= 1, "/isthmus/worker,0 has the worker's own counters")
        seg = telemetry("/isthmus/segment,web")
        check(seg.get("vni") == 100, f"/isthmus/segment,web shows VNI 100 ({seg})")
        check("web" in json.dumps(telemetry("/isthmus/segments")), "/isthmus/segments lists web")
        # segments extended and unextended at run time (control socket)
        def ctl(*a):
            return subprocess.run([CTL, "-r", run] + list(a), capture_output=True, text=True)

        r = ctl("extend", "--local", "db", "200", "lan", "20")
        check(r.returncode == 0, f"extend db (VNI 200, VLAN 20) on trunk lan: {r.stdout.strip()}{r.stderr.strip()}")
        segs = json.loads(ctl("--json", "segments").stdout)
        check(sorted(g["name"] for g in segs) == ["db", "web"] and
              any(g["name"] == "db" and g["vni"] == 200 for g in segs),
              "isthmusctl segments lists web and db (VNI 200)")
        check(telemetry("/isthmus/segment,db").get("vni") == 200, "telemetry sees db")
        r = ctl("extend", "--local", "db2", "200", "lan", "30")
        check(r.returncode != 0 and "already extended" in r.stderr,
              f"the same VNI again is refused: {r.stderr.strip()}")
        # as in the file, untagged on a trunk is its native VLAN (one parser)
        r = ctl("extend", "--local", "db3", "300", "lan")
        check(r.returncode == 0, f"a trunk segment without a VLAN takes the native VLAN: "
              f"{r.stdout.strip()}{r.stderr.strip()}")
        r = ctl("extend", "--local", "db4", "301", "lan")
        check(r.returncode != 0 and "already extended" in r.stderr,
              f"the native VLAN twice is refused: {r.stderr.strip()}")
        r = ctl("extend", "--local", "db4", "301", "lan", "mss=100")
        check(r.returncode != 0 and "mss: 100 out of range" in r.stderr,
              f"settings are checked as in the file: {r.stderr.strip()}")
        check(ctl("unextend", "--local", "db3").returncode == 0, "unextend db3")
        r = ctl("extend", "--local", "x", "300", "nosuchport")
        check(r.returncode != 0 and "no local port" in r.stderr,
              f"an unknown port is refused: {r.stderr.strip()}")
        r = ctl("unextend", "--local", "nosuch")
        check(r.returncode != 0 and "no segment named" in r.stderr,
              f"unextending an unknown name is refused: {r.stderr.strip()}")
        r = ctl("segment", "unextend", "--local", "db")
        check(r.returncode == 0, "segment unextend db (by name)")
        segs = json.loads(ctl("--json", "segments").stdout)
        check([g["name"] for g in segs] == ["web"], "db is gone, web remains")
        r = ctl("unextend", "--local", "200")
        check(r.returncode != 0 and "no segment" in r.stderr, "unextending it twice is refused")
        r = ctl("extend", "--local", "db", "200", "lan", "20")
        check(r.returncode == 0, "db can be extended again (a new slot)")

        # names from the wire meet the configuration file's rule (names.c):
        # a '"' in a segment name would break every stats reply (JSON)
        def seg_add(name, port):
            body = name.ljust(32, b"\0") + port.ljust(32, b"\0") + struct.pack("<HHI", 40, 0, 400)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(os.path.join(run, "dp.sock"))
            s.send(struct.pack("<IHHII", 0x4D545349, 1, 5, 16 + len(body), 7) + body)
            rep = s.recv(70000)
            s.close()
            status, blen = struct.unpack_from("<iI", rep, 16)
            return status, rep[24:24 + blen].decode(errors="replace")

        for name, port in ((b'we"b', b"lan"), (b"../x", b"lan"), (b"a\nb", b"lan"),
                           (b"ok", b'l"an')):
            st, msg = seg_add(name, port)
            check(st < 0 and "not a safe name" in msg,
                  f"CTL_SEG_ADD {name!r} on port {port!r} refused: {msg}")
        try:
            segs = json.loads(ctl("--json", "stats").stdout)["segments"]
        except ValueError:
            segs = None
        check(segs is not None and sorted(g["name"] for g in segs) == ["db", "web"],
              "the stats reply is still JSON, with web and db only")

        # cutover: the gateway moves here and is announced (gratuitous ARP)
        r = ctl("cutover", "--local", "200")
        check(r.returncode != 0 and "no gateway" in r.stderr,
              f"cutover of a segment without a gateway is refused: {r.stderr.strip()}")
        r = ctl("segment", "cutover", "--local", "web")
        check(r.returncode == 0, f"segment cutover web: {r.stdout.strip()}{r.stderr.strip()}")
        announced = 0
        for _ in range(20):
            announced = json.loads(ctl("--json", "stats").stdout)["counters"]["gw_announced"]
            if announced >= 2:
                break
            time.sleep(0.1)
        check(announced == 2, "a gratuitous ARP and an unsolicited neighbor advertisement sent "
              f"for the gateway (gw_announced {announced})")

        sas = telemetry("/isthmus/sas")
        check(not sas, f"/isthmus/sas answers: no SAs configured ({sas})")
    finally:
        if dp.poll() is None:
            dp.send_signal(signal.SIGTERM)
            try:
                rc = dp.wait(timeout=15)
            except subprocess.TimeoutExpired:
                dp.kill()
                rc = dp.wait()
            check(rc == 0, f"SIGTERM stops isthmus-dp cleanly (exit {rc})")
        cleanup()


if __name__ == "__main__":
    run_test(main)
