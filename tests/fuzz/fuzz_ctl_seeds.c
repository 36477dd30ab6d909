/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the seed corpora of the control-socket harnesses (op scripts: see
 * fuzz_ctl_dp.c and fuzz_ctl_d.c): every message type with a valid body,
 * the sequences the unit tests (test_ctl_server.c, test_ctl_stream.c) and
 * isthmusctl's requests reach (add, query, list, update, delete, retire,
 * extend, apply, check, cut over, unextend; pairing tokens, status, keys,
 * agreed changes, reload), and each framing error.
 * Usage: fuzz_ctl_seeds dp|d DIR
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl_proto.h"

#define UPLINK_IP 0x010012c6u /* 198.18.0.1 in network order (little-endian host) */
#define PEER_IP 0x020012c6u

struct seed {
	uint8_t b[65536];
	size_t n;
};

static const char *dir;
static int idx;

static void u8(struct seed *s, uint8_t v)
{
	s->b[s->n++] = v;
}

static void u16(struct seed *s, uint16_t v)
{
	u8(s, (uint8_t)v);
	u8(s, (uint8_t)(v >> 8));
}

/* op 0: a message of @p type, its body the bytes of @p msg after the header
 * up to the last non-zero one. fix 7: addresses, harness key, NULs. */
static void msg(struct seed *s, uint8_t client, uint16_t type, const void *msg, size_t size,
		uint8_t corrupt)
{
	const uint8_t *m = msg;
	size_t n = size;

	while (n > sizeof(struct ctl_hdr) && m[n - 1] == 0)
		n--;
	n = n > sizeof(struct ctl_hdr) ? n - sizeof(struct ctl_hdr) : 0;
	u8(s, 0);
	u8(s, client);
	u8(s, (uint8_t)type);
	u8(s, 7);
	u8(s, corrupt);
	u16(s, (uint16_t)n);
	memcpy(s->b + s->n, m + sizeof(struct ctl_hdr), n);
	s->n += n;
}

static void bare(struct seed *s, uint8_t client, uint16_t type)
{
	struct ctl_hdr h = { 0 };

	msg(s, client, type, &h, sizeof(h), 0);
}

static void sa_add(struct seed *s, uint32_t spi, uint8_t d, uint8_t cipher, uint8_t esn,
		   uint32_t window, uint16_t worker)
{
	struct ctl_sa_add a = { .spi = spi, .dir = d, .cipher = cipher, .esn = esn,
				.replay_window = window, .worker = worker };

	msg(s, 0, CTL_SA_ADD, &a, sizeof(a), 0);
}

static void sa_id(struct seed *s, uint16_t type, uint32_t spi, uint8_t d)
{
	struct ctl_sa_id id = { .spi = spi, .dir = d };

	msg(s, 0, type, &id, sizeof(id), 0);
}

static void seg(struct seed *s, uint16_t type, const char *name, const char *port, uint16_t vlan,
		uint32_t vni)
{
	struct ctl_seg g = { .vlan = vlan, .vni = vni };

	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.port, sizeof(g.port), "%s", port);
	msg(s, 1, type, &g, sizeof(g), 0);
}

static void seg_set(struct seed *s, const char *name, uint32_t op, const char *spec)
{
	static struct ctl_seg_set g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	g.op = op;
	snprintf(g.spec, sizeof(g.spec), "%s", spec);
	msg(s, 1, CTL_SEG_SET, &g, sizeof(g), 0);
}

static void perftest(struct seed *s, uint32_t op, uint32_t duration_ms, uint16_t size)
{
	struct ctl_perftest p;

	memset(&p, 0, sizeof(p));
	p.op = op;
	p.duration_ms = duration_ms;
	p.sizes[0] = size;
	p.nb_sizes = size ? 1 : 0;
	msg(s, 1, CTL_PERFTEST, &p, sizeof(p), 0);
}

static void ha_set(struct seed *s, uint32_t role)
{
	struct ctl_ha h;

	memset(&h, 0, sizeof(h));
	h.role = role;
	msg(s, 1, CTL_HA_SET, &h, sizeof(h), 0);
}

static void d_ha(struct seed *s, uint32_t op, const char *state)
{
	struct ctl_d_ha h;

	memset(&h, 0, sizeof(h));
	h.op = op;
	snprintf(h.state, sizeof(h.state), "%s", state);
	msg(s, 0, CTL_D_HA, &h, sizeof(h), 0);
}

static void raw(struct seed *s, uint8_t client, const void *b, uint16_t n)
{
	u8(s, 1);
	u8(s, client);
	u16(s, n);
	memcpy(s->b + s->n, b, n);
	s->n += n;
}

static int put(struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%03d", dir, idx++);
	f = fopen(path, "wb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	fwrite(s->b, 1, s->n, f);
	s->n = 0;
	return fclose(f);
}

/* Framing errors on a HELLO: magic, version, len field, cut, extended, type. */
static int framing(struct seed *s, uint16_t good)
{
	static const uint8_t junk[] = "\x01\x02\x03";
	uint8_t garbage[200];
	struct ctl_hdr h = { 0 };

	for (int c = 1; c <= 6; c++) {
		msg(s, 0, good, &h, sizeof(h), (uint8_t)c);
		bare(s, 0, good);
	}
	bare(s, 0, 10);
	bare(s, 0, 99);
	bare(s, 0, 0);
	bare(s, 0, 0x80); /* types 0x8080, 0xc0c0: the reply and part bits */
	bare(s, 0, 0xc0);
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 37 + 11);
	raw(s, 0, garbage, sizeof(garbage));
	raw(s, 0, junk, 3);
	bare(s, 0, good);
	raw(s, 1, junk, 0); /* the empty datagram: connection closed */
	bare(s, 1, good);   /* a new one */
	u8(s, 2);           /* oversized */
	u8(s, 2);
	u8(s, 40);
	bare(s, 2, good);
	if (put(s) < 0)
		return -1;
	/* every type of the other socket, and of this one, as bare headers */
	for (uint16_t t = 0; t < 0x48; t++)
		bare(s, (uint8_t)t, t);
	return put(s);
}

static int seeds_dp(void)
{
	static struct seed s;
	static const char *specs[] = {
		("vni=7100 local=trunk vlan=20 mss=1300 storm_broadcast=50 storm_multicast=100 "
		 "storm_unknown=200 storm_burst=400 flap_moves=3 flap_window=20 flap_dampen=30 "
		 "aging=120 mac_limit=100"),
		("vni=7101 local=trunk vlan=21 gateway=192.0.2.1 gateway6=2001:db8::1 "
		 "gateway_site=peer local_egress=yes router_mac=02:00:00:00:00:01 pmtu=yes "
		 "pmtu_rate=50"),
		"vni=7102 local=trunk vlan=untagged mss_clamp=no gateway=192.0.2.9 gateway_site=local",
		"vni=7103 local=lan",
		"vni=0 local=trunk vlan=22",
		"vni=7104 local=nowhere",
		"vni=7105 local=trunk vlan=5000",
		"vni=7106 local=trunk vlan=23 mss=10",
		"vni=7107 local=trunk vlan=24 bogus=1",
		"",
	};

	bare(&s, 0, CTL_HELLO);
	if (put(&s) < 0)
		return -1;

	/* an outbound SA: query, list, stats, update, delete, delete again */
	sa_add(&s, 0x11111111, CTL_SA_OUT, 0, 0, 0, 0xffff);
	sa_id(&s, CTL_SA_QUERY, 0x11111111, CTL_SA_OUT);
	bare(&s, 0, CTL_SA_LIST);
	bare(&s, 0, CTL_STATS);
	{
		struct ctl_sa_update u = { .spi = 0x11111111, .dir = CTL_SA_OUT, .flags = 1,
					   .dst_port = 31000 };

		msg(&s, 0, CTL_SA_UPDATE, &u, sizeof(u), 0);
		u.spi = 0x99;
		msg(&s, 0, CTL_SA_UPDATE, &u, sizeof(u), 0);
		u.dir = 1;
		u.spi = 0x11111111;
		u.flags = 4;
		msg(&s, 0, CTL_SA_UPDATE, &u, sizeof(u), 0);
	}
	bare(&s, 0, CTL_SA_LIST);
	sa_id(&s, CTL_SA_DEL, 0x11111111, CTL_SA_OUT);
	sa_id(&s, CTL_SA_DEL, 0x11111111, CTL_SA_OUT);
	sa_id(&s, CTL_SA_QUERY, 0x11111111, CTL_SA_OUT);
	if (put(&s) < 0)
		return -1;

	/* inbound: ESN, a window, a duplicate, ChaCha20-Poly1305 */
	sa_add(&s, 0x22222222, CTL_SA_IN, 1, 1, 1024, 0);
	sa_add(&s, 0x22222222, CTL_SA_IN, 1, 1, 1024, 0);
	sa_add(&s, 0x22222222, CTL_SA_OUT, 0, 0, 0, 1);
	sa_id(&s, CTL_SA_QUERY, 0x22222222, CTL_SA_IN);
	sa_id(&s, CTL_SA_DEL, 0x22222222, 7);
	bare(&s, 0, CTL_STATS);
	bare(&s, 0, CTL_SA_LIST);
	if (put(&s) < 0)
		return -1;

	/* refused: addresses not ours (no fix), cipher, ESN, SPI 0, direction, flags, port */
	{
		struct ctl_sa_add a = { .spi = 0x33, .dir = 0, .src_ip = PEER_IP, .dst_ip = UPLINK_IP,
					.src_port = 4500, .dst_port = 4500 };

		s.n = 0;
		u8(&s, 0);
		u8(&s, 0);
		u8(&s, CTL_SA_ADD);
		u8(&s, 2); /* key only: the addresses as given */
		u8(&s, 0);
		u16(&s, sizeof(a) - sizeof(a.h));
		memcpy(s.b + s.n, (uint8_t *)&a + sizeof(a.h), sizeof(a) - sizeof(a.h));
		s.n += sizeof(a) - sizeof(a.h);
	}
	sa_add(&s, 0x34, CTL_SA_OUT, 9, 0, 0, 0xffff);
	sa_add(&s, 0x35, CTL_SA_OUT, 0, 2, 0, 0xffff);
	sa_add(&s, 0, CTL_SA_OUT, 0, 0, 0, 0xffff);
	sa_add(&s, 0x36, 2, 0, 0, 0, 0xffff);
	sa_add(&s, 0x37, CTL_SA_IN, 0, 0, 99999999, 0);
	{
		struct ctl_sa_add a = { .spi = 0x38, .dir = CTL_SA_OUT, .flags = 0x80, .worker = 5 };

		msg(&s, 0, CTL_SA_ADD, &a, sizeof(a), 0);
	}
	bare(&s, 0, CTL_STATS);
	if (put(&s) < 0)
		return -1;

	/* a rekey and a control-plane restart: pending, retired, taken over, serviced */
	sa_add(&s, 0x41, CTL_SA_OUT, 0, 0, 0, 0);
	sa_add(&s, 0x42, CTL_SA_OUT, 0, 0, 0, 1);
	sa_add(&s, 0x43, CTL_SA_OUT, 0, 0, 0, 0xffff);
	sa_add(&s, 0x44, CTL_SA_IN, 0, 0, 0, 0);
	bare(&s, 0, CTL_SA_LIST);
	sa_id(&s, CTL_SA_DEL, 0x41, CTL_SA_OUT);
	{
		struct ctl_sa_retire r = { .grace_s = 0 };

		msg(&s, 0, CTL_SA_RETIRE, &r, sizeof(r), 0);
		sa_add(&s, 0x45, CTL_SA_OUT, 0, 0, 0, 0xffff);
		bare(&s, 0, CTL_SA_LIST);
		u8(&s, 4);
		bare(&s, 0, CTL_SA_LIST);
		r.grace_s = 60;
		msg(&s, 0, CTL_SA_RETIRE, &r, sizeof(r), 0);
		bare(&s, 0, CTL_STATS);
	}
	if (put(&s) < 0)
		return -1;

	/* segments: extend, cut over (with and without a gateway), unextend */
	seg(&s, CTL_SEG_ADD, "db", "trunk", 10, 7000);
	seg(&s, CTL_SEG_ADD, "db", "trunk", 11, 7001);
	seg(&s, CTL_SEG_ADD, "db2", "lan", 3, 7002);
	seg(&s, CTL_SEG_ADD, "web2", "trunk", 12, 5101);
	seg(&s, CTL_SEG_ADD, "bad name!", "trunk", 13, 7003);
	seg(&s, CTL_SEG_ADD, "x", "bad port", 13, 7003);
	bare(&s, 0, CTL_STATS);
	seg(&s, CTL_SEG_CUTOVER, "", "", 0, 7000);
	seg(&s, CTL_SEG_CUTOVER, "", "", 0, 5101);
	seg(&s, CTL_SEG_CUTOVER, "", "", 0, 9999);
	seg(&s, CTL_SEG_DEL, "", "", 0, 7000);
	seg(&s, CTL_SEG_DEL, "", "", 0, 7000);
	seg(&s, CTL_SEG_DEL, "", "", 0, 5101);
	bare(&s, 0, CTL_STATS);
	bare(&s, 0, CTL_MACS);
	if (put(&s) < 0)
		return -1;

	/* HA: a role without [ha], a MAC announcement */
	ha_set(&s, CTL_HA_ACTIVE);
	ha_set(&s, 9);
	bare(&s, 0, CTL_HA_ANNOUNCE);
	if (put(&s) < 0)
		return -1;

	/* PERFTEST: each operation, a valid and an out-of-range start */
	perftest(&s, CTL_PERFTEST_STATUS, 0, 0);
	perftest(&s, CTL_PERFTEST_START, 3000, 1400);
	perftest(&s, CTL_PERFTEST_START, 0, 9000);
	perftest(&s, CTL_PERFTEST_STOP, 0, 0);
	perftest(&s, 7, 0, 0);
	if (put(&s) < 0)
		return -1;

	/* SEG_SET: every key, each op, the parser's refusals */
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%zu", i);
		seg_set(&s, name, CTL_SEG_OP_CHECK, specs[i]);
		seg_set(&s, name, CTL_SEG_OP_ADD, specs[i]);
		seg_set(&s, name, CTL_SEG_OP_APPLY, specs[i]);
	}
	seg_set(&s, "s0", CTL_SEG_OP_APPLY, "vni=7100 local=trunk vlan=20 mss=1400");
	seg_set(&s, "renamed", CTL_SEG_OP_APPLY, "vni=7100 local=trunk vlan=25");
	seg_set(&s, "s0", 9, specs[0]);
	seg_set(&s, "", CTL_SEG_OP_ADD, specs[3]);
	bare(&s, 0, CTL_STATS);
	if (put(&s) < 0)
		return -1;

	/* pipelined requests on one connection, replies in order */
	sa_add(&s, 0x1001, CTL_SA_IN, 0, 0, 0, 0);
	u8(&s, 5);
	u8(&s, 2);
	u8(&s, 11);
	for (int i = 0; i < 12; i++)
		u8(&s, (uint8_t)i);
	if (put(&s) < 0)
		return -1;

	/* many SAs and segments: STATS and SA_LIST streamed in parts */
	u8(&s, 6);
	u8(&s, 250);
	u8(&s, 0);
	u8(&s, 6);
	u8(&s, 250);
	u8(&s, 1);
	bare(&s, 0, CTL_STATS);
	bare(&s, 1, CTL_SA_LIST);
	{
		struct ctl_sa_retire r = { .grace_s = 30 };

		msg(&s, 0, CTL_SA_RETIRE, &r, sizeof(r), 0);
	}
	bare(&s, 2, CTL_SA_LIST);
	u8(&s, 3);
	u8(&s, 2);
	u8(&s, 7);
	u8(&s, 255);
	bare(&s, 2, CTL_STATS);
	if (put(&s) < 0)
		return -1;

	/* a streamed reply abandoned: the client closes before reading it */
	u8(&s, 6);
	u8(&s, 200);
	u8(&s, 0);
	u8(&s, 7);
	u8(&s, 200);
	u8(&s, 5);
	u8(&s, 0);
	u8(&s, 0x83);
	u8(&s, 1);
	u8(&s, 2);
	u8(&s, 1);
	u8(&s, 0);
	bare(&s, 0, CTL_HELLO);
	if (put(&s) < 0)
		return -1;

	/* several clients */
	bare(&s, 0, CTL_HELLO);
	bare(&s, 1, CTL_HELLO);
	bare(&s, 2, CTL_STATS);
	u8(&s, 3);
	u8(&s, 1);
	bare(&s, 1, CTL_MACS);
	if (put(&s) < 0)
		return -1;
	return framing(&s, CTL_HELLO);
}

static void d_seg(struct seed *s, uint32_t op, uint32_t vni, const char *name, const char *spec,
		  const char *peer_spec)
{
	static struct ctl_d_seg g;

	memset(&g, 0, sizeof(g));
	g.op = op;
	g.vni = vni;
	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.spec, sizeof(g.spec), "%s", spec);
	snprintf(g.peer_spec, sizeof(g.peer_spec), "%s", peer_spec);
	msg(s, 0, CTL_D_SEG, &g, sizeof(g), 0);
}

static void d_pair(struct seed *s, const char *tok, uint8_t fix)
{
	struct ctl_d_pair p = { 0 };
	size_t at;

	snprintf(p.token, sizeof(p.token), "%s", tok);
	msg(s, 0, CTL_D_PAIR, &p, sizeof(p), 0);
	/* msg() set fix 7; bit 0 (the last token given) only when asked */
	at = s->n - (strlen(tok) + 4 + 1 + 2);
	s->b[at] = fix;
}

static int seeds_d(void)
{
	static struct seed s;

	bare(&s, 0, CTL_HELLO);
	bare(&s, 0, CTL_D_STATUS);
	bare(&s, 1, CTL_D_SEGMENTS);
	bare(&s, 2, CTL_D_SA_KEYS);
	if (put(&s) < 0)
		return -1;

	/* pairing: tokens, a token of our own, made-up ones */
	{
		struct ctl_d_token_req t = { .ttl_s = 0 };

		msg(&s, 0, CTL_D_PAIRING_TOKEN, &t, sizeof(t), 0);
		t.ttl_s = 60;
		msg(&s, 0, CTL_D_PAIRING_TOKEN, &t, sizeof(t), 0);
		t.ttl_s = 100000;
		msg(&s, 0, CTL_D_PAIRING_TOKEN, &t, sizeof(t), 0);
	}
	d_pair(&s, "x", 5);
	d_pair(&s, "isthmus1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 4);
	d_pair(&s, "isthmus1-", 4);
	d_pair(&s, "", 0);
	bare(&s, 0, CTL_D_STATUS);
	if (put(&s) < 0)
		return -1;

	/* agreed changes with the peer site: extend, cut over, unextend, reload */
	d_seg(&s, CTL_D_EXTEND, 0, "db", "vni=7000 local=trunk vlan=20 mss=1300",
	      "vni=7000 local=trunk vlan=30");
	bare(&s, 0, CTL_D_SEGMENTS);
	d_seg(&s, CTL_D_CUTOVER, 0, "db", "", "");
	d_seg(&s, CTL_D_UNEXTEND, 0, "db", "", "");
	d_seg(&s, CTL_D_UNEXTEND, 5101, "", "", "");
	d_seg(&s, CTL_D_CUTOVER, 5101, "", "", "");
	d_seg(&s, CTL_D_EXTEND, 0, "web", "vni=5101 local=trunk vlan=101", "vni=5101 local=trunk vlan=101");
	bare(&s, 0, CTL_D_SEGMENTS);
	bare(&s, 0, CTL_D_RELOAD);
	bare(&s, 0, CTL_D_STATUS);
	if (put(&s) < 0)
		return -1;

	/* keepalived's notifications and the HA status (no [ha] here) */
	d_ha(&s, CTL_D_HA_NOTIFY, "MASTER");
	d_ha(&s, CTL_D_HA_NOTIFY, "bogus");
	d_ha(&s, CTL_D_HA_STATUS, "");
	d_ha(&s, 7, "BACKUP");
	if (put(&s) < 0)
		return -1;

	/* refused changes: names, settings, operations, clashes */
	d_seg(&s, CTL_D_EXTEND, 0, "bad name!", "vni=7001 local=trunk vlan=21", "");
	d_seg(&s, CTL_D_EXTEND, 0, "db", "vni=0 local=trunk", "vni=0 local=trunk");
	d_seg(&s, CTL_D_EXTEND, 0, "db", "vni=7002 local=trunk vlan=101", "vni=7002 local=trunk");
	d_seg(&s, CTL_D_EXTEND, 0, "web", "vni=7003 local=trunk vlan=22", "vni=7003 local=trunk");
	d_seg(&s, CTL_D_EXTEND, 0, "db", "vni=7004 local=trunk vlan=23", "bogus=1");
	d_seg(&s, 9, 0, "db", "", "");
	d_seg(&s, CTL_D_CUTOVER, 0, "nothing", "", "");
	d_seg(&s, CTL_D_UNEXTEND, 4242, "", "", "");
	bare(&s, 0, CTL_D_SEGMENTS);
	if (put(&s) < 0)
		return -1;

	/* unpaired: status says so, agreed changes refused, a token still given */
	bare(&s, 0, CTL_D_UNPAIR);
	bare(&s, 0, CTL_D_STATUS);
	d_seg(&s, CTL_D_EXTEND, 0, "db", "vni=7000 local=trunk vlan=20", "vni=7000 local=trunk");
	bare(&s, 0, CTL_D_UNPAIR);
	bare(&s, 0, CTL_D_SEGMENTS);
	if (put(&s) < 0)
		return -1;
	return framing(&s, CTL_D_STATUS);
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "dp") && strcmp(argv[1], "d"))) {
		fprintf(stderr, "usage: %s dp|d DIR\n", argv[0]);
		return 2;
	}
	dir = argv[2];
	return (strcmp(argv[1], "dp") == 0 ? seeds_dp() : seeds_d()) < 0;
}
