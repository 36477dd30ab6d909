# SPDX-License-Identifier: GPL-2.0-or-later
"""tests/netns/lab.py: one two-site lab (tools/isthmus-lab) per test.

Each test gets a lab of its own name (ISTHMUS_LAB=nt<pid>: namespaces
nt<pid>-*, state /run/nt<pid>-lab), so a test never touches the main lab
or another engineer's. Lab.close() (called from a finally, and on SIGTERM,
which meson sends at a timeout) stops what the test started by PID, removes the
namespaces the test added by name and runs `isthmus-lab down`.
"""
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from isthmus_test import Fail, need_root  # noqa: E402


def _sigterm(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


signal.signal(signal.SIGTERM, _sigterm)


class Lab:
    def __init__(self, top, build, ike=None, web=None, uplink=None, site_a=None, iked_args=None,
                 site_b=None, trunk=False, workers=None, env=None):
        self.top = top
        self.build = build
        self.P = "nt%d" % os.getpid()
        self.run = "/run/%s-lab" % self.P
        self.env = dict(os.environ, ISTHMUS_LAB=self.P, ISTHMUS_BUILD=build)
        if ike:
            self.env["ISTHMUS_LAB_IKE"] = "\n".join(ike)
        if web:
            self.env["ISTHMUS_LAB_WEB"] = "\n".join(web)
        if uplink:
            self.env["ISTHMUS_LAB_UPLINK"] = uplink
        if site_a:
            self.env["ISTHMUS_LAB_A"] = "\n".join(site_a)
        if site_b:
            self.env["ISTHMUS_LAB_B"] = "\n".join(site_b)
        if trunk:
            self.env["ISTHMUS_LAB_TRUNK"] = "1"
        if iked_args:
            self.env["ISTHMUS_LAB_IKED_ARGS"] = " ".join(iked_args)
        if workers:
            self.env["ISTHMUS_LAB_WORKERS"] = str(workers)
        # more ISTHMUS_LAB_* settings (tools/isthmus-lab: UNDERLAY, NAT_INIT,
        # B_UPLINK, ...)
        self.env.update({"ISTHMUS_LAB_" + k: v for k, v in (env or {}).items()})
        self.extra_ns = []   # namespaces this test created itself
        self.procs = []      # processes this test started (Popen)
        self.ctl_bin = os.path.join(build, "tools", "isthmusctl")
        # the appliances (an HA lab's are its members: a1, a2, b or b1, b2)
        self.sites = ("a", "b")

    # -- the lab script ------------------------------------------------
    def lab(self, *args, check_rc=True, timeout=90):
        r = subprocess.run([os.path.join(self.top, "tools", "isthmus-lab")] + list(args),
                           env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        if check_rc and r.returncode != 0:
            print(r.stdout)
            raise Fail("isthmus-lab %s: exit %d" % (" ".join(args), r.returncode))
        return r

    def up(self, *opts, timeout=90):
        t0 = time.monotonic()
        r = self.lab("up", "--no-build", *opts, timeout=timeout)
        for line in r.stdout.splitlines():
            if line.startswith("  "):
                print(line)
        print("  lab %s up in %.1f s" % (self.P, time.monotonic() - t0), flush=True)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in self.extra_ns:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        self.lab("down", check_rc=False)
        left = [n for n in subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE,
                                          text=True).stdout.split()
                if n.startswith(self.P + "-")]
        if left:
            print("  namespaces left behind: %s" % left)

    # -- namespaces and processes --------------------------------------
    def ns(self, name):
        return "%s-%s" % (self.P, name)

    def x(self, ns, *cmd, check_rc=True, timeout=60):
        """Run @cmd in namespace P-@ns; return the CompletedProcess."""
        r = subprocess.run(["ip", "netns", "exec", self.ns(ns)] + list(cmd),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout)
        if check_rc and r.returncode != 0:
            print(r.stdout)
            raise Fail("%s: %s: exit %d" % (ns, " ".join(cmd), r.returncode))
        return r

    def bg(self, ns, *cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(ns)] + list(cmd),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
        self.procs.append(p)
        return p

    def iperf_server(self, ns):
        """iperf3 -s -1 in @ns, returned once it listens (a client started
        before that is refused, and the server then waits for ever)."""
        srv = self.bg(ns, "iperf3", "-s", "-1")
        for _ in range(100):
            r = self.x(ns, "ss", "-Hltn", "sport = :5201", check_rc=False)
            if r.stdout.strip():
                return srv
            time.sleep(0.05)
        raise Fail("iperf3 server in %s not listening after 5 s" % ns)

    @staticmethod
    def iperf_done(srv, client):
        """Wait for the one-shot server; if it is still there 10 s after the
        client ended, the client never reached it: say what the client said."""
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
            raise Fail("iperf3 server still waiting after the client: %s"
                       % ((client.stdout or "")[-500:] if client else "?"))

    def iperf(self, client_ns, server_ns, dst, seconds, *args):
        """One iperf3 run (a one-shot server in @server_ns, the client in
        @client_ns toward @dst, -J): (return code, the JSON's "end", the
        whole JSON). Fails when iperf3 gave no result."""
        srv = self.iperf_server(server_ns)
        r = self.x(client_ns, "timeout", "20", "iperf3", "-c", dst, "-t", str(seconds), "-J", *args,
                   check_rc=False, timeout=30)
        self.iperf_done(srv, r)
        try:
            res = json.loads(r.stdout)
            end = res["end"]
            end["sum_received"]
        except (ValueError, KeyError):
            raise Fail("iperf3 %s -> %s gave no result: %s" % (client_ns, dst, r.stdout[-1000:]))
        return r.returncode, end, res

    def stop(self, what, site, timeout=10):
        """SIGTERM to isthmus-dp or isthmusd at @site; wait up to @timeout
        for it to exit. Return its PID and whether it did."""
        pid = self.pid(what, site)
        os.kill(pid, 15)
        deadline = time.time() + timeout
        while self.alive(pid) and time.time() < deadline:
            time.sleep(0.1)
        return pid, not self.alive(pid)

    def bg_file(self, ns, name, *cmd):
        """Like bg(), for a long talker: its output goes to a file under the
        lab's run directory (a pipe nobody reads fills at 64 KiB and then
        blocks the program: a ping every 20 ms stops after about 18 s).
        Returns the process; read the output with output_of()."""
        path = "%s/%s.out" % (self.run, name)
        with open(path, "w") as f:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns(ns)] + list(cmd),
                                 stdout=f, stderr=subprocess.STDOUT, text=True)
        p.out_path = path
        self.procs.append(p)
        return p

    @staticmethod
    def output_of(p, timeout=10):
        p.wait(timeout=timeout)
        with open(p.out_path) as f:
            return f.read()

    def add_ns(self, name):
        ns = self.ns(name)
        subprocess.run(["ip", "netns", "add", ns], check=True)
        self.extra_ns.append(ns)
        self.x(name, "ip", "link", "set", "lo", "up")
        return ns

    def mac(self, ns, dev="eth0"):
        return self.x(ns, "cat", "/sys/class/net/%s/address" % dev).stdout.strip()

    def ll6(self, ns, dev="eth0"):
        out = self.x(ns, "ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link").stdout
        m = re.search(r"inet6 (fe80::[0-9a-f:]+)/", out)
        return m.group(1) if m else None

    # -- the appliances -------------------------------------------------
    def ctl(self, site, *args, check_rc=True, input=None):
        """isthmusctl at @site; @input goes to its standard input (a pairing token)."""
        r = subprocess.run([self.ctl_bin, "-r", "%s/site-%s" % (self.run, site)] + list(args),
                           input=input if input is not None else "",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30)
        if check_rc and r.returncode != 0:
            raise Fail("isthmusctl %s at %s: exit %d: %s" % (" ".join(args), site, r.returncode,
                                                              r.stdout.strip()))
        return r

    def status(self, site):
        r = self.ctl(site, "--json", "status", check_rc=False)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def stats(self, site):
        return json.loads(self.ctl(site, "--json", "stats").stdout)

    def child_sas(self, site):
        st = self.status(site) or {}
        return [c for ike in st.get("ike_sas", []) for c in ike.get("child_sas", [])
                if c.get("state") == "INSTALLED"]

    def spis(self, site):
        return tuple(sorted((c["spi_in"], c["spi_out"]) for c in self.child_sas(site)))

    def watch_spis(self, proc, site="a"):
        """While @proc runs, note every change of @site's CHILD_SA SPIs (polled
        every 0.25 s); returns [(seconds since the call, SPIs)], the SPIs at
        the start first."""
        t0 = time.monotonic()
        seen = [(0.0, self.spis(site))]
        while proc.poll() is None:
            cur = self.spis(site)
            if cur and cur != seen[-1][1]:
                seen.append((time.monotonic() - t0, cur))
                print("  %5.1f s  site %s CHILD_SA(s) now %s" % (seen[-1][0], site.upper(), cur))
            time.sleep(0.25)
        return seen

    def wait_tunnel(self, timeout=15.0):
        """Wait until both sites have an INSTALLED CHILD_SA; return the seconds."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.child_sas("a") and self.child_sas("b"):
                return time.monotonic() - t0
            time.sleep(0.05)
        return None

    def pid(self, what, site):
        with open("%s/%s-%s.pid" % (self.run, what, site)) as f:
            return int(f.read())

    # -- the wire --------------------------------------------------------
    def capture(self, site, tag, snaplen=80):
        """Capture UDP 4500 arriving at @site's uplink (up0 in its namespace) into
        a pcap file under the lab's run directory; stop it with stop_capture().
        Incoming only: af_packet's qdisc bypass hides what the dataplane sends,
        so each direction is captured where it arrives."""
        path = "%s/%s-%s.pcap" % (self.run, tag, site)
        # 80 bytes: the outer headers and the ESP header are all esp_packets()
        # reads; snaplen=0 keeps whole frames (to send them again)
        p = self.dumpcap(site, "up0", "udp port 4500", path, "-s", str(snaplen or 262144))
        return p, path

    def bg_ready(self, ns, marker, *cmd, wait_s=15):
        """bg() @cmd in @ns, returned once its output (stdout and stderr)
        contains @marker (bytes): the line a capture tool prints once it
        captures, where a fixed wait missed the first packets on a busy
        machine."""
        p = self.bg(ns, *cmd)
        said, fd, t_end = b"", p.stdout.fileno(), time.time() + wait_s
        while marker not in said:
            left = t_end - time.time()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise Fail("%s in %s not ready after %d s: %r" % (cmd[0], ns, wait_s, said[-300:]))
            chunk = os.read(fd, 4096)
            if not chunk:
                raise Fail("%s in %s exited: %r" % (cmd[0], ns, said[-300:]))
            said += chunk
        return p

    def dumpcap(self, ns, dev, flt, path, *extra):
        """dumpcap on @dev in @ns with capture filter @flt, writing @path
        (pcap format), returned once it captures: it says "File: PATH" after
        it has opened the interface, set the filter and created the file.
        Stop it with SIGINT."""
        return self.bg_ready(ns, b"File: ", "dumpcap", "-q", "-i", dev, "-P", *extra,
                             "-f", flt, "-w", path)

    def tcpdump(self, ns, dev, path, *args):
        """tcpdump -U -w @path on @dev in @ns (@args: options, then the
        filter), returned once it says "listening on" (interface open,
        filter set). Stop it with SIGINT."""
        return self.bg_ready(ns, b"listening on", "tcpdump", "-i", dev, "-n", "-U", "-w", path, *args)

    @staticmethod
    def stop_capture(cap):
        p, path = cap
        time.sleep(0.3)  # the last packets reach the file
        p.send_signal(2)
        p.communicate(timeout=10)
        return path

    def kill(self, site, procs=("dp", "isthmusd")):
        """kill -9 the processes @procs ("dp", "isthmusd", in that order) of
        @site and wait until they are gone; return the time of the kill."""
        pids = [self.pid(w, site) for w in procs]
        t_kill = time.time()
        for pid in pids:
            os.kill(pid, 9)
        # the kernel may take a while to tear a big process down (a loaded
        # machine, DPDK's memory): isthmus-lab refuses to start a second one
        for _ in range(200):
            if not any(self.alive(pid) for pid in pids):
                break
            time.sleep(0.05)
        return t_kill

    def kill_start(self, what, site, down_s=0.5):
        """kill -9 isthmus-dp, isthmusd or both ("both": dataplane first) at
        @site, leave them down @down_s, start them again; return the kill time."""
        procs = ["dp", "isthmusd"] if what == "both" else [what]
        t_kill = self.kill(site, procs)
        time.sleep(down_s)
        self.t_started = time.time()
        for w in procs:
            self.lab("start", w, site)
        return t_kill

    def dump_logs(self, lines=40):
        """What the appliances logged, to tell a failure's cause from CI output:
        isthmusd's IKE, kernel and daemon lines (not its packet dumps), and the
        end of each dataplane log."""
        for site in self.sites:
            try:
                c = self.stats(site)["counters"]
                print("---- site %s drops and L2 safety: %s" % (site.upper(), {
                    k: v for k, v in c.items() if v and (k.startswith("drop_") or "flap" in k)}))
            except Exception as e:  # noqa: BLE001 - a dead appliance is a finding too
                print("---- site %s: no stats (%s)" % (site.upper(), e))
        for what in ("isthmusd", "dp", "keepalived"):
            for site in self.sites:
                try:
                    log = self.log(what, site).splitlines()
                except OSError:
                    continue
                if what == "isthmusd":
                    log = [l for l in log if re.search(r"\[(IKE|KNL|DMN|CHD)\]", l)]
                tail = log[-4 * lines:] if what == "isthmusd" else log[-lines:]
                print("---- %s %s (last %d lines)" % (what, site.upper(), len(tail)))
                for line in tail:
                    print("   | " + line[:200])

    @staticmethod
    def alive(pid):
        """Running, and not a zombie waiting for its parent."""
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def log(self, what, site):
        with open("%s/%s-%s.log" % (self.run, what, site), errors="replace") as f:
            return f.read()


def esp_packets(path, dst=None, ports=False):
    """(outer source, SPI, sequence number) of every ESP-in-UDP packet in a
    pcap of Ethernet frames carrying IPv4 (what Lab.capture writes),
    optionally only those to @dst; with @ports, (outer source, UDP source
    port, SPI, sequence number).

    RFC 3948 section 2: a UDP 4500 payload whose first four bytes are zero is
    IKE (the non-ESP marker), a payload of one 0xFF byte a NAT keepalive;
    anything else of 8 bytes or more starts with the ESP SPI and sequence
    number (RFC 4303 section 2). A fragmented datagram counts once, from its
    first fragment, which holds the UDP and ESP headers (tshark, given whole
    frames, waits for the rest to reassemble it, and a capture filtered on
    UDP port 4500 never holds the rest).

    scapy reads the file (RawPcapReader: no dissection) and the fixed
    headers are taken apart here: tshark's full dissection of the 2-3 million
    packets a TCP test captures took 12 us a packet (30 s of the test), this
    2 us; the replay case (netns_test.py) checks that the two agree on a
    real capture."""
    from scapy.utils import RawPcapReader  # noqa: PLC0415 - only the capture tests need it
    want = socket.inet_aton(dst) if dst else None
    out = []
    reader = RawPcapReader(path)
    if reader.linktype != 1:   # DLT_EN10MB: anything else would read as "no ESP"
        raise Fail("%s: link type %d, not Ethernet" % (path, reader.linktype))
    for frame, _ in reader:
        if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue                                   # not IPv4 / UDP
        ip = frame[14:14 + struct.unpack_from("!H", frame, 16)[0]]  # no Ethernet padding
        ihl = (ip[0] & 0x0F) * 4
        if struct.unpack_from("!H", ip, 6)[0] & 0x1FFF:
            continue                                   # not the first fragment
        if want is not None and ip[16:20] != want:
            continue
        udp = ip[ihl:ihl + 8]
        esp = ip[ihl + 8:ihl + 16]
        if len(esp) < 8 or esp[:4] == b"\0\0\0\0":
            continue                                   # keepalive, IKE
        sport, dport = struct.unpack_from("!HH", udp)
        if 4500 not in (sport, dport):
            continue
        spi, seq = struct.unpack("!II", esp)
        src = socket.inet_ntoa(ip[12:16])
        out.append((src, sport, spi, seq) if ports else (src, spi, seq))
    return out


def pcap_fields(path, flt, *names):
    """tshark's fields @names of the packets of @path that match display
    filter @flt: one list of strings per packet."""
    r = subprocess.run(["tshark", "-n", "-r", path, "-Y", flt, "-T", "fields"] +
                       [a for n in names for a in ("-e", n)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if r.returncode != 0:
        raise Fail("tshark %s: %s" % (path, r.stderr.strip()[-300:]))
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def esp_packets_tshark(path, dst=None):
    """esp_packets() by tshark's ESP dissector: the independent reading the
    replay case compares it with."""
    flt = "esp" + (" && ip.dst == %s" % dst if dst else "")
    return [(src, int(spi.split()[0], 0), int(seq))
            for src, spi, seq in pcap_fields(path, flt, "ip.src", "esp.spi", "esp.sequence")]


def reused_nonces(pkts):
    """(source, SPI, sequence) triples seen more than once: with AES-GCM and
    ChaCha20-Poly1305 the IV is the sequence number, so a repeat under one SPI
    (one key) is a repeated nonce (RFC 4106 section 3.1)."""
    seen, dup = set(), []
    for k in pkts:
        if k in seen:
            dup.append(k)
        seen.add(k)
    return dup


def ping_stats(out):
    """(transmitted, received) from ping's summary."""
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def ping_times(out):
    """Epoch times of the replies of `ping -D`."""
    return [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from", out, re.M)]


def rtt(out):
    m = re.search(r"= [\d.]+/([\d.]+)/([\d.]+)/", out)
    return "rtt avg %s ms, max %s ms" % m.groups() if m else "no rtt"


def main(cases):
    """netns_test.py TOP BUILD CASE: run one case with a fresh lab."""
    top, build, case = sys.argv[1], sys.argv[2], sys.argv[3]
    need_root("netns tests")
    rc = 1
    t0 = time.monotonic()
    try:
        cases[case](top, build)
        rc = 0
    except Fail as e:
        print("FAILED: %s" % e)
        for l in Lab_all:
            l.dump_logs()
    except KeyboardInterrupt as e:
        print("interrupted: %s" % e)
    finally:
        for l in Lab_all:
            try:
                l.close()
            except Exception as e:  # noqa: BLE001 - keep cleaning up
                print("cleanup: %s" % e)
    print("%s: %s in %.1f s" % (case, "passed" if rc == 0 else "FAILED", time.monotonic() - t0))
    sys.exit(rc)


Lab_all = []


def new_lab(top, build, **kw):
    lab = Lab(top, build, **kw)
    Lab_all.append(lab)
    return lab
