/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the seed corpus of fuzz_uplink (op format: fuzz_uplink.h) into a
 * directory: the inbound cases of tests/pcap (gen_pcaps.py) and
 * tests/unit/test_inbound.c as op scripts, each under a few SA
 * configurations: genuine VXLAN frames (IPv4, IPv6, ARP, TCP SYNs with an
 * MSS, broadcast, unicast to a known and an unknown MAC, on the access
 * segment, the trunk's tagged and untagged segments, the gateway's own ARP
 * and ND under local egress, a multicast source, more MACs than the limit),
 * policy failures (unknown VNI, inner headers, next header), outer
 * fragments in order, reversed, lost, duplicated, interleaved, a full
 * table, replays and forgeries, the SA's owner on the other worker
 * (hand-off), IKE on 500 and 4500 behind the non-ESP marker from the peer
 * and from others, NAT keepalives, pairing 4501, segments 4502, ICMP, ARP,
 * a policed flood, truncated and malformed headers, garbage.
 * Usage: fuzz_uplink_seeds DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_uplink.h"

static uint8_t b[65536];
static size_t n;

static void u8(unsigned v)
{
	b[n++] = (uint8_t)v;
}

static void u16(unsigned v)
{
	u8(v & 0xff);
	u8(v >> 8);
}

static void bytes(const uint8_t *p, size_t len)
{
	memcpy(b + n, p, len);
	n += len;
}

/* ---- frames ---- */

static uint8_t f[2048];
static size_t fl;

static void mac(const char *m)
{
	unsigned x[6];

	sscanf(m, "%x:%x:%x:%x:%x:%x", &x[0], &x[1], &x[2], &x[3], &x[4], &x[5]);
	for (int i = 0; i < 6; i++)
		f[fl++] = (uint8_t)x[i];
}

static void fb(unsigned v)
{
	f[fl++] = (uint8_t)v;
}

static void fb16(unsigned v)
{
	fb(v >> 8);
	fb(v & 0xff);
}

static void fip(unsigned a, unsigned b2, unsigned c, unsigned d)
{
	fb(a), fb(b2), fb(c), fb(d);
}

static void ether(const char *dst, const char *src, int vlan, unsigned type)
{
	fl = 0;
	mac(dst);
	mac(src);
	if (vlan >= 0) {
		fb16(0x8100);
		fb16((unsigned)vlan);
	}
	fb16(type);
}

static void fill(size_t len, unsigned v)
{
	while (fl < len)
		fb(v++);
}

/* IPv4 header (checksum left 0: nothing on the inner path reads it) */
static void ipv4(unsigned proto, unsigned paylen, const unsigned *src, const unsigned *dst)
{
	fb(0x45), fb(0), fb16(20 + paylen), fb16(1), fb16(0), fb(64), fb(proto), fb16(0);
	fip(src[0], src[1], src[2], src[3]);
	fip(dst[0], dst[1], dst[2], dst[3]);
}

static const unsigned H1[4] = { 203, 0, 113, 1 }, H2[4] = { 203, 0, 113, 2 };

static void arp(const char *dst, const char *src, int vlan, unsigned op, const unsigned *sip,
		const unsigned *tip)
{
	ether(dst, src, vlan, 0x0806);
	fb16(1), fb16(0x0800), fb(6), fb(4), fb16(op);
	mac(src);
	fip(sip[0], sip[1], sip[2], sip[3]);
	mac(op == 1 ? "00:00:00:00:00:00" : dst);
	fip(tip[0], tip[1], tip[2], tip[3]);
}

static void ipv4_udp(const char *dst, const char *src, int vlan, size_t paylen)
{
	ether(dst, src, vlan, 0x0800);
	ipv4(17, 8 + (unsigned)paylen, H1, H2);
	fb16(40000), fb16(9), fb16(8 + (unsigned)paylen), fb16(0);
	fill(fl + paylen, 0x30);
}

static void tcp_syn(const char *dst, const char *src, int vlan, int v6, unsigned mss)
{
	unsigned tcp = 24;

	if (v6) {
		ether(dst, src, vlan, 0x86dd);
		fb(0x60), fb(0), fb16(0), fb16(tcp), fb(6), fb(64);
		for (int i = 0; i < 32; i++)
			fb(i < 16 ? (i == 0 ? 0x20 : i == 1 ? 0x01 : i == 15 ? 1 : 0)
				  : (i == 16 ? 0x20 : i == 17 ? 0x01 : i == 31 ? 2 : 0));
	} else {
		ether(dst, src, vlan, 0x0800);
		ipv4(6, tcp, H1, H2);
	}
	fb16(40001), fb16(443), fb16(0), fb16(1), fb16(0), fb16(0);
	fb((tcp / 4) << 4), fb(0x02), fb16(64240), fb16(0), fb16(0);
	fb(2), fb(4), fb16(mss);
}

static void ipv6_ns(const char *src, int vlan, int from_gw)
{
	/* neighbor solicitation or (from_gw) advertisement for 2001:db8::1 */
	ether(from_gw ? "33:33:00:00:00:01" : "33:33:ff:00:00:01", src, vlan, 0x86dd);
	fb(0x60), fb(0), fb16(0), fb16(32), fb(58), fb(255);
	for (int i = 0; i < 16; i++)
		fb(i == 0 ? 0x20 : i == 1 ? 0x01 : i == 2 ? 0x0d : i == 3 ? 0xb8 : i == 15 ? (from_gw ? 1 : 7) : 0);
	for (int i = 0; i < 16; i++)
		fb(from_gw ? (i == 0 ? 0xff : i == 1 ? 2 : i == 15 ? 1 : 0)
			   : (i == 0 ? 0xff : i == 1 ? 2 : i == 11 ? 1 : i == 12 ? 0xff : i == 15 ? 1 : 0));
	fb(from_gw ? 136 : 135), fb(0), fb16(0), fb16(from_gw ? 0xa000 : 0), fb16(0);
	for (int i = 0; i < 16; i++)
		fb(i == 0 ? 0x20 : i == 1 ? 0x01 : i == 2 ? 0x0d : i == 3 ? 0xb8 : i == 15 ? 1 : 0);
	fb(from_gw ? 2 : 1), fb(1);
	mac(src);
}

/* ---- ops ---- */

static void seal(unsigned w, unsigned extra, unsigned flags, unsigned sel, unsigned cut)
{
	u8(FU_OP(FU_SEAL, w, extra));
	u8(flags);
	u8(sel);
	u16((unsigned)fl);
	if (flags & FU_S_FRAG)
		u8(cut);
	bytes(f, fl);
}

static void raw(unsigned w)
{
	u8(FU_OP(FU_RAW, w, 0));
	u16((unsigned)fl);
	bytes(f, fl);
}

static void udp(unsigned w, unsigned flags, const uint8_t *p, size_t len)
{
	u8(FU_OP(FU_UDP, w, 0));
	u8(flags);
	u16((unsigned)len);
	bytes(p, len);
}

static void op(unsigned o, unsigned w, unsigned nib)
{
	u8(FU_OP(o, w, nib));
}

/* an outer frame to the uplink (198.18.0.1) from @p src, IPv4 protocol @p proto */
static void outer(const unsigned *src, unsigned proto, unsigned fo, size_t paylen, unsigned dst4)
{
	static const unsigned UP[4] = { 198, 18, 0, 1 };
	unsigned d[4] = { 198, 18, 0, dst4 };

	ether("02:00:00:00:00:01", "02:00:5e:12:00:02", -1, 0x0800);
	fb(0x45), fb(0), fb16(20 + (unsigned)paylen), fb16(7), fb16(fo), fb(64), fb(proto), fb16(0);
	fip(src[0], src[1], src[2], src[3]);
	if (dst4 == 1)
		fip(UP[0], UP[1], UP[2], UP[3]);
	else
		fip(d[0], d[1], d[2], d[3]);
	fill(fl + paylen, 0x55);
}

static const unsigned PEER[4] = { 198, 18, 0, 2 }, OTHER[4] = { 203, 0, 113, 50 };

/* ---- scenarios: each appends its ops after the configuration byte ---- */

#define BC "ff:ff:ff:ff:ff:ff"
#define M1 "02:00:00:00:b0:01"
#define M2 "02:00:00:00:b0:02"
#define LOCAL1 "02:00:00:00:a0:01"

static void sc_frames(void)
{
	/* access segment (sel 0): IPv4 to an unknown MAC, broadcast ARP, IPv6 */
	ipv4_udp(LOCAL1, M1, -1, 40);
	seal(0, 0, 0, 0, 0);
	arp(BC, M1, -1, 1, H1, H2);
	seal(0, 0, 0, 0, 0);
	tcp_syn(LOCAL1, M2, -1, 1, 1460);
	seal(0, 0, 0, 0, 0);
	/* unicast to a MAC known (learned as remote above) and a tagged inner frame */
	ipv4_udp(M1, M2, -1, 100);
	seal(0, 0, 0, 0, 0);
	ipv4_udp(LOCAL1, M1, 7, 30);
	seal(0, 0, 0, 0, 0);
	/* trunk, VLAN 100 (sel 1) and the native VLAN (sel 2) */
	ipv4_udp(LOCAL1, M1, -1, 60);
	seal(0, 0, 0, 1, 0);
	tcp_syn(LOCAL1, M1, -1, 0, 1460);
	seal(0, 0, 0, 1, 0);
	tcp_syn(LOCAL1, M2, -1, 0, 1460);
	seal(0, 0, 0, 2, 0);
	ipv4_udp(BC, M2, -1, 1400);
	seal(0, 0, 0, 2, 0);
	ipv4_udp("01:00:5e:00:00:fb", M2, -1, 50);
	seal(0, 0, 0, 1, 0);
	op(FU_FLUSH, 0, 0);
	op(FU_SERVICE, 0, 0);
}

static void sc_gateway(void)
{
	static const unsigned GW[4] = { 192, 0, 2, 1 }, HOST[4] = { 192, 0, 2, 20 };

	/* the remote gateway's ARP reply and gratuitous ARP, its NA: stopped */
	arp(M2, "02:00:00:00:0a:01", -1, 2, GW, HOST);
	seal(0, 0, 0, 1, 0);
	arp(BC, "02:00:00:00:0a:01", -1, 1, GW, GW);
	seal(0, 0, 0, 1, 0);
	ipv6_ns("02:00:00:00:0a:01", -1, 1);
	seal(0, 0, 0, 1, 0);
	ipv6_ns(M2, -1, 0);
	seal(0, 0, 0, 1, 0);
	/* another host's ARP: passes; a multicast source: dropped */
	arp(BC, M2, -1, 1, HOST, GW);
	seal(0, 0, 0, 1, 0);
	ipv4_udp(BC, "03:00:00:00:00:01", -1, 20);
	seal(0, 0, 0, 0, 0);
}

static void sc_limit(void)
{
	/* 10 sources on a segment of 8 MACs */
	for (int i = 0; i < 10; i++) {
		char src[32];

		snprintf(src, sizeof(src), "02:00:00:00:0c:%02x", i);
		ipv4_udp(BC, src, -1, 10 + i);
		seal(i & 1, 0, 0, 0, 0);
		if (i == 4)
			op(FU_TAKE, 1, 0);
	}
}

static void sc_policy(void)
{
	static uint8_t p[200];
	static const unsigned PV[4] = { 198, 19, 0, 2 }, LV[4] = { 198, 19, 0, 1 };

	ipv4_udp(LOCAL1, M1, -1, 40);
	seal(0, 0, 1, 9, 0);                  /* VNI 5109: unknown */
	seal(0, 0, 1, 3, 0);                  /* VNI 5103 by number */
	seal(0, 0, 3, 41, 0);                 /* next header 41 */
	/* whole payloads: wrong inner addresses, not UDP 4789, no I flag, short, garbage */
	for (int k = 0; k < 6; k++) {
		fl = 0;
		if (k < 4) {
			ipv4(17, 8 + 8 + 40, k == 0 ? H1 : PV, LV);
			fb16(50000), fb16(k == 1 ? 4790 : 4789), fb16(8 + 8 + 40), fb16(0);
			fb(k == 2 ? 0 : 8), fb(0), fb(0), fb(0), fb(0x13), fb(0xed), fb(0), fb(0);
			fill(fl + 40, 0x40);
			if (k == 3)
				f[6] = 0x20;  /* inner fragment */
		} else {
			fill(k == 4 ? 20 : 120, 0x11);
		}
		seal(0, 0, 2, 0, 0);
	}
	/* a gap in the sequence numbers: packets lost on the way */
	ipv4_udp(LOCAL1, M1, -1, 33);
	seal(0, 3, 0, 0, 0);
	memset(p, 0, sizeof(p));
	(void)p;
}

static void sc_replay(void)
{
	ipv4_udp(LOCAL1, M1, -1, 64);
	seal(0, 0, 0, 0, 0);
	op(FU_FLUSH, 0, 0);
	/* the same again; the ICV changed; the IP id changed (not authenticated) */
	u8(FU_OP(FU_REPLAY, 0, 0)), u8(0), u16(0), u8(0);
	u8(FU_OP(FU_REPLAY, 0, 0)), u8(0), u16(0xffff), u8(1);
	u8(FU_OP(FU_REPLAY, 0, 0)), u8(0), u16(36), u8(0x10);
	ipv4_udp(LOCAL1, M1, -1, 65);
	seal(0, 0, 0, 0, 0);
	/* the SPI, the sequence number, the payload changed */
	u8(FU_OP(FU_REPLAY, 0, 0)), u8(1), u16(42), u8(0x01);
	u8(FU_OP(FU_REPLAY, 0, 0)), u8(1), u16(49), u8(0x80);
	u8(FU_OP(FU_REPLAY, 0, 0)), u8(1), u16(80), u8(0x04);
	/* a forgery first on worker 1, then the genuine packet there: worker 1
	 * owns the SA, worker 0 hands its packets over */
	ipv4_udp(LOCAL1, M2, -1, 66);
	seal(1, 0, 0, 0, 0);
	u8(FU_OP(FU_REPLAY, 1, 0)), u8(2), u16(0xfff0), u8(0x20);
	op(FU_FLUSH, 1, 0);
	seal(0, 0, 0, 0, 0);
	u8(FU_OP(FU_REPLAY, 0, 0)), u8(3), u16(0), u8(0);
	op(FU_TAKE, 1, 0);
	/* far ahead (15 lost on the way, ten times), then an old one: left of the window */
	ipv4_udp(LOCAL1, M1, -1, 67);
	for (int i = 0; i < 10; i++)
		seal(1, 15, 0, 0, 0);
	u8(FU_OP(FU_REPLAY, 1, 0)), u8(0), u16(0), u8(0);
	/* the outer source changed: not the SA's peer */
	u8(FU_OP(FU_REPLAY, 1, 0)), u8(1), u16(26), u8(0x40);
}

static void sc_ike_flood(void)
{
	static const uint8_t ike[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	/* more of the peer's IKE than its ring holds (256), no service between */
	for (int i = 0; i < 280; i++)
		udp(i & 1, FU_K_IKE500 | FU_U_SRC(0), ike, sizeof(ike));
	op(FU_SERVICE, 0, 0);
}

static void sc_frag(void)
{
	/* in order, reversed, the last lost (then its time runs out), the first twice */
	ipv4_udp(LOCAL1, M1, -1, 1300);
	seal(0, 0, FU_S_FRAG, 0, 49);
	ipv4_udp(LOCAL1, M1, -1, 1300);
	seal(0, 0, FU_S_FRAG | FU_S_PIECES(1) | FU_S_REV, 1, 59);
	ipv4_udp(LOCAL1, M2, -1, 900);
	seal(0, 0, FU_S_FRAG | FU_S_PIECES(2) | FU_S_LOSE, 2, 19);
	op(FU_FLUSH, 0, 0);
	op(FU_TIME, 0, 4);
	op(FU_TIME, 0, 12);
	ipv4_udp(LOCAL1, M2, -1, 700);
	seal(0, 0, FU_S_FRAG | FU_S_DUP, 0, 29);
	/* fragments on worker 1, the SA opened by worker 0: handed over whole */
	ipv4_udp(LOCAL1, M1, -1, 1200);
	seal(1, 0, FU_S_FRAG | FU_S_PIECES(3), 0, 24);
	op(FU_TAKE, 0, 0);
	/* the larger frame: a full 1500-byte IP packet on the trunk */
	ipv4_udp(LOCAL1, M1, -1, 1472);
	seal(0, 0, FU_S_FRAG | FU_S_PIECES(1), 1, 90);
}

static void sc_interleave(void)
{
	static const uint8_t ike[600] = { 0 };

	/* two datagrams of three fragments and an IKE message of two in the
	 * pen, then released interleaved and out of order, one on worker 1 */
	ipv4_udp(LOCAL1, M1, -1, 1000);
	seal(0, FU_N_PEN, FU_S_FRAG | FU_S_PIECES(1), 0, 49);
	ipv4_udp(LOCAL1, M2, -1, 900);
	seal(0, FU_N_PEN, FU_S_FRAG | FU_S_PIECES(1), 1, 39);
	udp(0, FU_K_IKE500 | FU_U_SRC(0) | FU_U_FRAG | FU_U_PEN, ike, sizeof(ike));
	for (unsigned k = 0; k < 8; k++)
		op(FU_FLUSH, k == 5, 1 + (k * 5) % 7);
	op(FU_TAKE, 0, 0);
	op(FU_TAKE, 1, 0);
}

static void sc_reass_full(void)
{
	/* more datagrams in progress than the table holds (16), each missing its end */
	for (int i = 0; i < 20; i++) {
		ipv4_udp(LOCAL1, M1, -1, 200 + i);
		seal(0, 0, FU_S_FRAG | FU_S_LOSE, 0, 9);
	}
	op(FU_TIME, 0, 15);
}

static void sc_exception(void)
{
	static uint8_t ike[300];

	for (size_t i = 0; i < sizeof(ike); i++)
		ike[i] = (uint8_t)(i * 7);
	memset(ike, 0x11, 8);                    /* SPIi */
	ike[17] = 0x20;                          /* IKEv2 */
	udp(0, FU_K_IKE500 | FU_U_SRC(0), ike, 200);
	udp(0, FU_K_IKE500 | FU_U_SRC(2), ike, 200);
	udp(0, FU_K_IKE4500 | FU_U_SRC(0), ike, 100);
	udp(0, FU_K_IKE4500 | FU_U_SRC(1), ike, 100);
	udp(1, FU_K_IKE4500 | FU_U_SRC(2), ike, 100);
	udp(0, FU_K_KEEPALIVE | FU_U_SRC(0), ike, 0);
	udp(0, FU_K_PAIRING | FU_U_SRC(2), ike, 120);
	udp(0, FU_K_SEGSYNC | FU_U_SRC(0), ike, 60);
	udp(0, FU_K_OTHER | FU_U_SRC(2), ike, 10);
	udp(0, FU_K_ICMP | FU_U_SRC(2), ike, 64);
	udp(0, FU_K_ESP | FU_U_SRC(0), ike, 60);  /* garbage ESP, SPI 0x11111111 */
	/* a large IKE message the peer's kernel fragmented, whole at the exception path */
	udp(0, FU_K_IKE500 | FU_U_SRC(0) | FU_U_FRAG, ike, 300);
	udp(0, FU_K_IKE4500 | FU_U_SRC(0) | FU_U_FRAG | FU_U_REV, ike, 300);
	udp(0, FU_K_PAIRING | FU_U_SRC(2) | FU_U_FRAG, ike, 300);
	op(FU_SERVICE, 0, 0);
	/* the gateway (the peer) answers ARP: its MAC is snooped */
	arp("02:00:00:00:00:01", "02:00:5e:12:00:02", -1, 2, PEER, (const unsigned[]){ 198, 18, 0, 1 });
	raw(0);
	op(FU_SERVICE, 0, 0);
	/* a flood over the policer */
	for (int i = 0; i < 24; i++)
		udp(0, FU_K_PAIRING | FU_U_SRC(2), ike, 20);
	for (int i = 0; i < 4; i++)
		udp(0, FU_K_IKE500 | FU_U_SRC(0), ike, 20);
	op(FU_SERVICE, 0, 0);
}

static void sc_bad(void)
{
	/* truncated: Ethernet, IPv4, UDP; length past the frame; not IPv4; not for us; TCP */
	outer(PEER, 17, 0, 40, 1);
	fl = 10;
	raw(0);
	outer(PEER, 17, 0, 40, 1);
	fl = 14 + 12;
	raw(0);
	outer(PEER, 17, 0, 4, 1);
	raw(0);
	outer(PEER, 17, 0, 40, 1);
	fl -= 20;
	raw(0);
	outer(PEER, 17, 0, 40, 1);
	f[14] = 0x46;
	raw(0);
	ether("02:00:00:00:00:01", "02:00:5e:12:00:02", -1, 0x88b5);
	fill(60, 1);
	raw(0);
	outer(PEER, 17, 0, 40, 9);
	raw(0);
	outer(PEER, 6, 0, 40, 1);
	raw(0);
	/* UDP 4500: the length past the datagram, ESP too short */
	outer(PEER, 17, 0, 40, 1);
	f[34] = 0x11, f[35] = 0x94, f[36] = 0x11, f[37] = 0x94, f[38] = 0x01, f[39] = 0x00;
	raw(0);
	outer(PEER, 17, 0, 20, 1);
	f[34] = 0x11, f[35] = 0x94, f[36] = 0x11, f[37] = 0x94, f[38] = 0x00, f[39] = 20;
	raw(0);
	/* fragments: from a stranger, malformed (MF, 70 bytes), a first one alone */
	outer(OTHER, 17, 0x2000, 64, 1);
	raw(0);
	outer(PEER, 17, 0x2000, 70, 1);
	raw(0);
	outer(PEER, 17, 0x2000, 64, 1);
	raw(1);
	outer(PEER, 17, 0x1fff, 64, 1);
	raw(1);
	/* a chained-looking and an empty frame */
	fl = 0;
	raw(0);
	op(FU_FLUSH, 0, 0);
	op(FU_TIME, 1, 15);
}

static int put(const char *dir, int idx)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/seed-%03d", dir, idx);
	fp = fopen(path, "wb");
	if (fp == NULL) {
		perror(path);
		return -1;
	}
	fwrite(b, 1, n, fp);
	return fclose(fp);
}

int main(int argc, char **argv)
{
	static void (*const scenarios[])(void) = {
		sc_frames, sc_gateway, sc_limit, sc_policy, sc_replay, sc_frag, sc_reass_full,
		sc_exception, sc_bad, sc_ike_flood, sc_interleave,
	};
	static const uint8_t configs[] = {
		0, FU_C_CHACHA | FU_C_ESN, FU_C_NAT | FU_C_WINDOW(1), FU_C_ESN | FU_C_SEQ(3),
		FU_C_SEQ(2) | FU_C_WINDOW(2),
	};
	int idx = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++)
		for (size_t c = 0; c < sizeof(configs); c++) {
			n = 0;
			u8(configs[c]);
			scenarios[s]();
			if (put(argv[1], idx++) < 0)
				return 1;
		}
	/* all of them in one input */
	n = 0;
	u8(0);
	for (size_t s = 0; s < sizeof(scenarios) / sizeof(scenarios[0]); s++)
		scenarios[s]();
	return put(argv[1], idx) < 0;
}
