/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for isthmus-dp's control socket: the real server
 * (ctl/ctl_server.c) and the real request handling (dataplane/ctl_dp.c) on a
 * real dataplane booted once (tests/lib/dp_rig.h: EAL without hugepages,
 * net_ring ports, two workers), over a real unix SOCK_SEQPACKET socket
 * (RUN_DIR/dp.sock, opened by ctl_dp_open as isthmus-dp does). The server
 * is polled from this thread, as the main lcore polls it (ctl_dp_poll).
 *
 * The input is a script of ops (one byte each, low 3 bits, then arguments):
 *   0 msg    u8 client, u8 type (type_of()), u8 fix, u8 corrupt,
 *            u16 n + n body bytes (after the header; the rest zero).
 *            fix bit 0: SA_ADD/SA_UPDATE addresses made this appliance's uplink
 *            and peer for the message's direction (ports 4500 when zero);
 *            bit 1: SA_ADD key material made by the harness (recorded: it must
 *            never come back); bit 2: names and spec NUL-terminated.
 *            corrupt (low 3 bits): 1 magic, 2 version, 3 len field, 4 cut,
 *            5 extend, 6 another type, by (corrupt >> 3)
 *   1 raw    u8 client, u16 n + n bytes: one datagram as given (n = 0: the
 *            empty datagram, which closes the connection)
 *   2 big    u8 client, u8 extra: a header and CTL_MAX_MSG + 1 + extra bytes
 *   3 close  u8 client: close it (the next use connects again)
 *   4 service  sa_service(): retired SAs whose time has come are deleted
 *   5 pipe   u8 client, u8 count, count x u8 kind: requests sent back to back
 *            (HELLO, STATS, SA_LIST, SA_QUERY, bad magic), then the replies read
 *            (count bit 7: the client closes instead, replies unread)
 *   6 sas    u8 count, u8 dir: count & 127 SA_ADDs (valid, harness keys, SPIs
 *            from 0x1000) through the socket: streamed STATS and SA_LIST
 *   7 segs   u8 count: count & 127 SEG_SETs on the trunk (VLAN 100 + i, VNI
 *            6000 + i)
 *
 * Checked on every message (abort() on violation): the reply framing and
 * exactly one reply (or one complete streamed reply) with the request's seq,
 * the exact framing error and its one counter; the connection closed only
 * for the empty datagram; nothing more after the reply; JSON replies parse
 * (json-c) with the fields the harness can compute (HELLO; STATS' and
 * SA_LIST's SAs and segments against the harness's model of what succeeded;
 * SEG_SET's segment; PERFTEST refused to start, its state idle; HA_SET refused
 * without [ha]; HA_ANNOUNCE started only with an outbound SA); SA_ADD refused as a duplicate exactly when the model
 * holds the SA, SA_DEL / SA_QUERY / SA_UPDATE / SEG_DEL / SEG_CUTOVER find
 * exactly what the model holds; after every op the dataplane holds exactly
 * the model's SAs and segments (an SA vanishes only when retired: taken
 * over by a new outbound SA, or deleted by sa_service); no key material
 * handed to SA_ADD in any reply or in the dataplane's log. After each input
 * every SA and segment it made is removed and the file's segment restored,
 * so inputs do not depend on each other.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "ctl_fuzz.h"
#include "ctl_dp.h"
#include "ctl_server.h"
#include "dp.h"
#include "dp_rig.h"
#include "esp.h"
#include "segment.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UPLINK_IP 0x010012c6u   /* 198.18.0.1, network order on little-endian */
#define PEER_IP 0x020012c6u     /* 198.18.0.2 */
#define WEB_VNI 5101
#define ROUNDS 20000            /* server polls without progress: a hang */

static struct dp_config cfg;
static struct dp D;
static char sock_path[128], run_dir[64];
static uint32_t next_seq;

/* What the harness believes the dataplane holds: every request that succeeded. */
struct msa {
	uint32_t spi;
	uint8_t dir;
	bool retired;
};
static struct msa msa[2 * DP_MAX_SA];
static unsigned nmsa;

struct mseg {
	uint32_t vni;
	char name[CTL_NAME_LEN + 1];
};
static struct mseg mseg[DP_MAX_SEGMENTS];
static unsigned nmseg;
static bool segs_touched;

/* What an op may make vanish: a retired outbound SA (a new outbound SA took
 * its worker), any retired SA whose time came (sa_service). */
static unsigned may_vanish_out;
static bool may_vanish_any;

/* A type byte of the input: 0..0x48 as is (every type of both sockets,
 * unknown ones between), above that b * 0x101 (the reply and part bits). */
static uint16_t type_of(uint8_t b)
{
	return b < 0x49 ? b : (uint16_t)(b * 0x101u);
}

static void pump(int fd)
{
	(void)fd;
	ctl_dp_poll(&D);
}

/* At exit: the socket and its directory go (the server is never closed). */
static void remove_run_dir(void)
{
	fz_rmtree(run_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char up[RTE_ETH_NAME_MAX_LEN], lo[RTE_ETH_NAME_MAX_LEN], tr[RTE_ETH_NAME_MAX_LEN];
	struct rte_ring *rx[DP_RIG_WORKERS], *tx[DP_RIG_WORKERS];
	char text[2048], err[256];

	(void)argc;
	(void)argv;
	snprintf(run_dir, sizeof(run_dir), "/tmp/isthmus-fzctl-%d", (int)getpid());
	if (dp_rig_eal("fzctl", "dp", err, sizeof(err)) < 0 ||
	    dp_rig_port("fz_up", rx, tx, up, err, sizeof(err)) < 0 ||
	    dp_rig_port("fz_lo", rx, tx, lo, err, sizeof(err)) < 0 ||
	    dp_rig_port("fz_tr", rx, tx, tr, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_ctl_dp: %s\n", err);
		exit(1);
	}
	snprintf(text, sizeof(text),
		 "[appliance]\nname = fz\nrx_mode = poll\nburst = 32\nmbufs = 8192\n"
		 "mac_table_size = 1024\nrun_dir = %s\n"
		 "[uplink]\nport = %s\naddress = 198.18.0.1\npeer = 198.18.0.2\n"
		 "peer_mac = 02:00:5e:12:00:02\nmtu = 1700\nlocal_vtep = 198.19.0.1\n"
		 "peer_vtep = 198.19.0.2\n"
		 "[local lan]\nport = %s\nmode = access\nmtu = 1500\n"
		 "[local trunk]\nport = %s\nmode = trunk\nmtu = 1500\n"
		 "[segment web]\nlocal = lan\nvni = 5101\ngateway = 192.0.2.1\n"
		 "gateway_site = peer\nlocal_egress = yes\nrouter_mac = 02:00:00:00:00:fe\n",
		 run_dir, up, lo, tr);
	if (dp_rig_start(text, &cfg, &D, err, sizeof(err)) < 0 ||
	    ctl_dp_open(&D, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_ctl_dp: dataplane: %s\n", err);
		exit(1);
	}
	snprintf(sock_path, sizeof(sock_path), "%s/dp.sock", run_dir);
	fz_sock_path = sock_path;
	atexit(remove_run_dir);
	if (D.nb_workers != DP_RIG_WORKERS || cfg.uplink_ip != UPLINK_IP || cfg.peer_ip != PEER_IP ||
	    cfg.nb_seg != 1 || cfg.seg[0].vni != WEB_VNI) {
		fprintf(stderr, "fuzz_ctl_dp: the dataplane is not the one configured\n");
		exit(1);
	}
	return 0;
}

/* ---- the model ---------------------------------------------------------- */

static int msa_find(uint32_t spi, uint8_t dir)
{
	for (unsigned i = 0; i < nmsa; i++)
		if (msa[i].spi == spi && msa[i].dir == dir)
			return (int)i;
	return -1;
}

static void msa_del(unsigned i)
{
	msa[i] = msa[--nmsa];
}

static int mseg_find(uint32_t vni)
{
	for (unsigned i = 0; i < nmseg; i++)
		if (mseg[i].vni == vni)
			return (int)i;
	return -1;
}

static void mseg_set(uint32_t vni, const char *name)
{
	int i = mseg_find(vni);

	if (i < 0) {
		FZ_CHECK(nmseg < DP_MAX_SEGMENTS, "more segments than the dataplane has room for");
		i = (int)nmseg++;
	}
	mseg[i].vni = vni;
	snprintf(mseg[i].name, sizeof(mseg[i].name), "%s", name);
}

/* The dataplane holds exactly the model's SAs and segments. */
static void reconcile(void)
{
	unsigned live = 0;

	for (unsigned i = 0; i < nmsa; i++) {
		enum esp_dir d = msa[i].dir == CTL_SA_OUT ? ESP_DIR_OUTBOUND : ESP_DIR_INBOUND;

		if (sa_find(&D, msa[i].spi, d) != NULL)
			continue;
		FZ_CHECK(msa[i].retired && (may_vanish_any ||
					    (msa[i].dir == CTL_SA_OUT && may_vanish_out > 0)),
			 "SA 0x%08x (%s) vanished", msa[i].spi, msa[i].dir ? "in" : "out");
		if (!may_vanish_any)
			may_vanish_out--;
		msa_del(i--);
	}
	may_vanish_out = 0;
	may_vanish_any = false;
	FZ_CHECK(D.nb_sa_out + D.nb_sa_in == nmsa, "the dataplane holds %u SAs, %u succeeded",
		 D.nb_sa_out + D.nb_sa_in, nmsa);
	for (uint16_t k = 0; k < D.nb_seg; k++)
		if (!D.seg[k].removed) {
			int i = mseg_find(D.seg[k].vni);

			FZ_CHECK(i >= 0 && strcmp(mseg[i].name, D.seg[k].name) == 0,
				 "segment %s (VNI %u) is not the one extended", D.seg[k].name,
				 D.seg[k].vni);
			live++;
		}
	FZ_CHECK(live == nmseg, "the dataplane has %u segments, %u extended", live, nmseg);
}

/* ---- replies against the model ----------------------------------------- */

static void check_stats(json_object *o)
{
	json_object *sas = fz_member(o, "sas", json_type_array, "STATS");
	json_object *segs = fz_member(o, "segments", json_type_array, "STATS");

	FZ_CHECK(json_object_array_length(sas) == nmsa, "STATS lists %zu SAs, %u succeeded",
		 json_object_array_length(sas), nmsa);
	FZ_CHECK(json_object_array_length(segs) == nmseg, "STATS lists %zu segments, %u extended",
		 json_object_array_length(segs), nmseg);
	for (size_t i = 0; i < json_object_array_length(segs); i++) {
		json_object *g = json_object_array_get_idx(segs, i);
		int k = mseg_find((uint32_t)json_object_get_int64(
			fz_member(g, "vni", json_type_int, "STATS segment")));

		FZ_CHECK(k >= 0 && strcmp(json_object_get_string(fz_member(
					  g, "name", json_type_string, "STATS segment")),
					  mseg[k].name) == 0, "STATS lists a segment not extended");
	}
	fz_member(fz_member(o, "ctl", json_type_object, "STATS"), "requests", json_type_int,
		  "STATS ctl");
	fz_member(o, "counters", json_type_object, "STATS");
}

static void check_sa_list(json_object *o)
{
	FZ_CHECK(json_object_is_type(o, json_type_array), "SA_LIST: not an array");
	FZ_CHECK(json_object_array_length(o) == nmsa, "SA_LIST lists %zu SAs, %u succeeded",
		 json_object_array_length(o), nmsa);
	for (size_t i = 0; i < json_object_array_length(o); i++) {
		json_object *s = json_object_array_get_idx(o, i);
		const char *dir = json_object_get_string(fz_member(s, "dir", json_type_string, "SA"));
		const char *txt = json_object_get_string(fz_member(s, "spi", json_type_string, "SA"));
		uint32_t spi = (uint32_t)strtoul(txt, NULL, 16);
		char again[16];
		int k = msa_find(spi, strcmp(dir, "out") == 0 ? CTL_SA_OUT : CTL_SA_IN);

		/* docs/control-protocol.md: SPIs as "0x%08x" */
		snprintf(again, sizeof(again), "0x%08x", spi);
		FZ_CHECK(strcmp(again, txt) == 0, "SA_LIST: SPI written as %s", txt);

		FZ_CHECK(k >= 0, "SA_LIST lists SA 0x%08x (%s), which never succeeded", spi, dir);
		FZ_CHECK(json_object_get_boolean(fz_member(s, "retired", json_type_boolean, "SA")) ==
			 msa[k].retired, "SA_LIST: SA 0x%08x retired or not, against SA_RETIRE", spi);
	}
}

/* The request as sent (the harness kept its fields), and the handler's reply. */
static void check_handled(const uint8_t *m, const struct fz_reply *r)
{
	struct ctl_hdr h;
	json_object *o = NULL;

	memcpy(&h, m, sizeof(h));
	switch (h.type) {
	case CTL_HELLO:
		FZ_CHECK(r->status == 0, "HELLO failed");
		o = fz_json(r, "HELLO");
		FZ_CHECK(json_object_get_int(fz_member(o, "version", json_type_int, "HELLO")) ==
				 CTL_VERSION &&
			 json_object_get_int(fz_member(o, "workers", json_type_int, "HELLO")) ==
				 DP_RIG_WORKERS &&
			 strcmp(json_object_get_string(fz_member(o, "name", json_type_string,
								 "HELLO")), "fz") == 0,
			 "HELLO says another dataplane");
		break;
	case CTL_SA_ADD: {
		struct ctl_sa_add a;
		int k;

		memcpy(&a, m, sizeof(a));
		k = a.dir <= CTL_SA_IN ? msa_find(a.spi, a.dir) : -1;
		if (r->status == 0) {
			FZ_CHECK(k < 0, "SA 0x%08x installed twice", a.spi);
			FZ_CHECK(r->len == 0, "SA_ADD answered with a body");
			FZ_CHECK(nmsa < 2 * DP_MAX_SA, "more SAs than the table holds");
			msa[nmsa++] = (struct msa){ .spi = a.spi, .dir = a.dir };
			if (a.dir == CTL_SA_OUT)
				may_vanish_out = 1;
		} else if (r->status == -EEXIST) {
			FZ_CHECK(k >= 0, "SA 0x%08x refused as a duplicate, never installed", a.spi);
		}
		sodium_memzero(&a, sizeof(a));
		break;
	}
	case CTL_SA_DEL:
	case CTL_SA_QUERY: {
		struct ctl_sa_id id;
		int k;

		memcpy(&id, m, sizeof(id));
		k = id.dir <= CTL_SA_IN ? msa_find(id.spi, id.dir) : -1;
		FZ_CHECK((r->status == 0) == (k >= 0), "%s SA 0x%08x dir %u: %d, model %s",
			 h.type == CTL_SA_DEL ? "SA_DEL" : "SA_QUERY", id.spi, id.dir, r->status,
			 k >= 0 ? "has it" : "has not");
		if (h.type == CTL_SA_DEL && k >= 0)
			msa_del((unsigned)k);
		if (h.type == CTL_SA_QUERY && k >= 0)
			FZ_CHECK(r->len == sizeof(struct ctl_sa_counters), "SA_QUERY body %zu", r->len);
		if (id.dir > CTL_SA_IN && h.type == CTL_SA_DEL)
			FZ_CHECK(r->status == -EINVAL, "SA_DEL with direction %u: %d", id.dir,
				 r->status);
		break;
	}
	case CTL_SA_UPDATE: {
		struct ctl_sa_update u;

		memcpy(&u, m, sizeof(u));
		if (r->status == 0)
			FZ_CHECK(u.dir <= CTL_SA_IN && msa_find(u.spi, u.dir) >= 0 && r->len == 0,
				 "SA_UPDATE of SA 0x%08x that does not exist", u.spi);
		else if (r->status == -ENOENT)
			FZ_CHECK(msa_find(u.spi, u.dir) < 0, "SA_UPDATE: SA 0x%08x not found", u.spi);
		break;
	}
	case CTL_SA_RETIRE: {
		unsigned want = 0;

		FZ_CHECK(r->status == 0, "SA_RETIRE failed");
		for (unsigned i = 0; i < nmsa; i++) {
			want += !msa[i].retired;
			msa[i].retired = true;
		}
		o = fz_json(r, "SA_RETIRE");
		FZ_CHECK(json_object_get_int64(fz_member(o, "retired", json_type_int, "SA_RETIRE")) ==
			 want, "SA_RETIRE retired another number of SAs than it held");
		break;
	}
	case CTL_STATS:
		FZ_CHECK(r->status == 0, "STATS failed: %s", r->body);
		o = fz_json(r, "STATS");
		check_stats(o);
		break;
	case CTL_SA_LIST:
		FZ_CHECK(r->status == 0, "SA_LIST failed: %s", r->body);
		o = fz_json(r, "SA_LIST");
		check_sa_list(o);
		break;
	case CTL_MACS:
		FZ_CHECK(r->status == 0, "MACS failed: %s", r->body);
		o = fz_json(r, "MACS");
		FZ_CHECK(json_object_is_type(o, json_type_array), "MACS: not an array");
		break;
	case CTL_SEG_ADD:
	case CTL_SEG_SET: {
		const struct ctl_seg_set *ss = (const struct ctl_seg_set *)m;
		const struct ctl_seg *sg = (const struct ctl_seg *)m;
		char name[CTL_NAME_LEN + 1];
		const char *res;
		struct segment *g;
		uint32_t vni;

		segs_touched = true;
		if (r->status < 0)
			break;
		memcpy(name, h.type == CTL_SEG_SET ? ss->name : sg->name, CTL_NAME_LEN);
		name[CTL_NAME_LEN] = '\0';
		o = fz_json(r, "SEG_SET");
		FZ_CHECK(strcmp(json_object_get_string(fz_member(o, "segment", json_type_string,
								 "SEG_SET")), name) == 0,
			 "SEG_SET answered for another segment");
		vni = (uint32_t)json_object_get_int64(fz_member(o, "vni", json_type_int, "SEG_SET"));
		res = json_object_get_string(fz_member(o, "result", json_type_string, "SEG_SET"));
		if (h.type == CTL_SEG_ADD)
			FZ_CHECK(vni == sg->vni, "SEG_ADD extended another VNI");
		if (h.type == CTL_SEG_SET && ss->op == CTL_SEG_OP_CHECK) {
			FZ_CHECK(strcmp(res, "ok") == 0, "SEG_SET CHECK: %s", res);
			break;
		}
		if (strcmp(res, "added") == 0)
			FZ_CHECK(mseg_find(vni) < 0, "VNI %u added twice", vni);
		else
			FZ_CHECK(strcmp(res, "unchanged") == 0 || strcmp(res, "replaced") == 0,
				 "SEG_SET result %s", res);
		g = segment_by_vni(&D, vni);
		FZ_CHECK(g != NULL && strcmp(g->name, name) == 0, "segment %s not extended", name);
		mseg_set(vni, name);
		break;
	}
	case CTL_SEG_DEL:
	case CTL_SEG_CUTOVER: {
		const struct ctl_seg *sg = (const struct ctl_seg *)m;
		int k = mseg_find(sg->vni);

		segs_touched = true;
		if (h.type == CTL_SEG_DEL) {
			FZ_CHECK((r->status == 0) == (k >= 0), "SEG_DEL VNI %u: %d", sg->vni, r->status);
			if (k >= 0)
				mseg[k] = mseg[--nmseg];
			break;
		}
		if (k < 0) {
			FZ_CHECK(r->status == -ENOENT, "SEG_CUTOVER of VNI %u, not extended: %d",
				 sg->vni, r->status);
			break;
		}
		if (r->status == 0) {
			o = fz_json(r, "SEG_CUTOVER");
			FZ_CHECK(strcmp(json_object_get_string(fz_member(o, "segment", json_type_string,
									 "SEG_CUTOVER")),
					mseg[k].name) == 0, "SEG_CUTOVER answered for another segment");
		}
		break;
	}
	case CTL_PERFTEST: {
		/* the harness's file leaves perftest at its default (deny): no
		 * test ever starts, whatever the parameters (docs/perftest.md) */
		const struct ctl_perftest *p = (const struct ctl_perftest *)m;

		if (p->op == CTL_PERFTEST_START) {
			FZ_CHECK(r->status == -EPERM, "PERFTEST START with perftest = deny: %d", r->status);
		} else if (p->op == CTL_PERFTEST_STATUS || p->op == CTL_PERFTEST_STOP) {
			FZ_CHECK(r->status == 0, "PERFTEST op %u: %d", p->op, r->status);
			o = fz_json(r, "PERFTEST");
			FZ_CHECK(strcmp(json_object_get_string(fz_member(o, "state", json_type_string,
									 "PERFTEST")), "idle") == 0,
				 "PERFTEST state not idle on a dataplane that never started one");
		} else {
			FZ_CHECK(r->status == -EINVAL, "PERFTEST unknown op %u: %d", p->op, r->status);
		}
		break;
	}
	case CTL_HA_SET:
		/* the harness's file has no [ha] section: no role is ever set */
		FZ_CHECK(r->status == -EINVAL, "HA_SET without [ha]: %d", r->status);
		break;
	case CTL_HA_ANNOUNCE: {
		bool out = false;

		FZ_CHECK(r->status == 0, "HA_ANNOUNCE: %d", r->status);
		for (unsigned i = 0; i < nmsa; i++)
			out |= msa[i].dir == CTL_SA_OUT;
		o = fz_json(r, "HA_ANNOUNCE");
		/* an announcement needs a worker holding an outbound SA to seal it */
		FZ_CHECK(out || json_object_get_int(fz_member(o, "started", json_type_int,
							      "HA_ANNOUNCE")) == 0,
			 "HA_ANNOUNCE started with no outbound SA");
		break;
	}
	default:
		/* type 10 and isthmusd's types: valid framing, not the dataplane's */
		FZ_CHECK(r->status == -EOPNOTSUPP, "type %u on the dataplane's socket: %d", h.type,
			 r->status);
		break;
	}
	if (o)
		json_object_put(o);
}

/* ---- one request -------------------------------------------------------- */

static uint64_t framing_count(const struct ctl_server_stats *s, int32_t status, size_t n)
{
	if (status == -EMSGSIZE)
		return s->oversized;
	if (status == -EPROTONOSUPPORT)
		return s->bad_version;
	if (status == -EOPNOTSUPP)
		return s->bad_type;
	(void)n;
	return s->bad_magic + s->bad_length;
}

/* Send @p m (@p n bytes) on @p fd and check its one answer. */
static void roundtrip(int fd, const uint8_t *m, size_t n)
{
	struct fz_expect e = fz_classify(m, n);
	struct ctl_server_stats before, after;
	struct fz_reply r;

	ctl_server_get_stats(D.ctl, &before);
	FZ_CHECK(send(fd, m, n, 0) == (ssize_t)n, "send %zu bytes: %s", n, strerror(errno));
	fz_collect(fd, pump, ROUNDS, &r);
	fz_check_reply(&e, &r);
	if (e.closes) {
		fz_drop(fd);
		fz_reply_free(&r);
		return;
	}
	fz_no_keys(r.body, r.len, "a reply");
	fz_check_silent(fd, pump, 2);
	ctl_server_get_stats(D.ctl, &after);
	FZ_CHECK(after.send_errors == before.send_errors, "a reply not sent (send_errors)");
	if (e.framing) {
		FZ_CHECK(after.requests == before.requests && framing_count(&after, e.status, n) ==
			 framing_count(&before, e.status, n) + 1,
			 "a badly framed message not counted once as such");
	} else {
		FZ_CHECK(after.requests == before.requests + 1, "a request not counted once");
		FZ_CHECK(after.failed - before.failed == (r.status < 0),
			 "failed counted %llu times for status %d",
			 (unsigned long long)(after.failed - before.failed), r.status);
		check_handled(m, &r);
	}
	fz_reply_free(&r);
	reconcile();
}

/* Key material of the harness's own making: distinct per SA, never all alike. */
static void make_key(uint8_t *k, uint32_t spi, uint8_t dir)
{
	uint8_t seed[12] = { 'f', 'z', 'k', 'e', 'y', dir };

	memcpy(seed + 6, &spi, sizeof(spi));
	seed[10] = (uint8_t)fz_nkeys;
	seed[11] = (uint8_t)(fz_nkeys >> 8);
	crypto_generichash(k, CTL_KEYMAT_LEN, seed, sizeof(seed), NULL, 0);
}

static void fix_addresses(uint8_t dir, uint32_t *src, uint32_t *dst, uint16_t *sp, uint16_t *dp)
{
	*src = dir == CTL_SA_OUT ? UPLINK_IP : PEER_IP;
	*dst = dir == CTL_SA_OUT ? PEER_IP : UPLINK_IP;
	if (!*sp)
		*sp = 4500;
	if (!*dp)
		*dp = 4500;
}

/* Build a message of @p type from the input: see the op list at the top. */
static size_t build(uint8_t *m, uint16_t type, uint8_t fix, uint8_t corrupt, struct fz_in *in)
{
	long want = ctl_request_size(type);
	size_t n = want > 0 ? (size_t)want : sizeof(struct ctl_hdr), body;
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = type,
			     .seq = next_seq++ };

	memset(m, 0, sizeof(struct ctl_d_seg) + 256);
	body = fz_bytes(in, m + sizeof(h), sizeof(struct ctl_d_seg));
	if (want < 0 && sizeof(h) + body > n)
		n = sizeof(h) + body; /* an unknown type: as long as its bytes */
	if (type == CTL_SA_ADD) {
		struct ctl_sa_add *a = (struct ctl_sa_add *)m;

		if (fix & 1)
			fix_addresses(a->dir, &a->src_ip, &a->dst_ip, &a->src_port, &a->dst_port);
		if (fix & 2) {
			make_key(a->keymat, a->spi, a->dir);
			fz_key_add(a->keymat, CTL_KEYMAT_LEN);
		}
	} else if (type == CTL_SA_UPDATE && (fix & 1)) {
		struct ctl_sa_update *u = (struct ctl_sa_update *)m;

		fix_addresses(u->dir, &u->src_ip, &u->dst_ip, &u->src_port, &u->dst_port);
	} else if (fix & 4) {
		if (type == CTL_SEG_SET) {
			struct ctl_seg_set *s = (struct ctl_seg_set *)m;

			s->name[CTL_NAME_LEN - 1] = s->spec[CTL_SEG_SPEC_LEN - 1] = '\0';
		} else if (type == CTL_SEG_ADD || type == CTL_SEG_DEL || type == CTL_SEG_CUTOVER) {
			struct ctl_seg *s = (struct ctl_seg *)m;

			s->name[CTL_NAME_LEN - 1] = s->port[CTL_NAME_LEN - 1] = '\0';
		}
	}
	return fz_frame(m, n, &h, corrupt);
}

/* Requests sent back to back, the replies read after: in order, one each. */
static void pipeline(int fd, uint8_t count, struct fz_in *in)
{
	static const uint16_t kinds[] = { CTL_HELLO, CTL_STATS, CTL_SA_LIST, CTL_SA_QUERY, 0 };
	uint8_t msgs[16][sizeof(struct ctl_sa_id)];
	struct ctl_server_stats before, after;
	size_t lens[16];
	unsigned n = count % 16 + 1;

	for (unsigned i = 0; i < n; i++) {
		uint16_t t = kinds[fz_u8(in) % 5];
		struct ctl_sa_id id = { .h = { .magic = t ? CTL_MAGIC : 0x11223344u,
					       .version = CTL_VERSION, .type = t,
					       .seq = next_seq++ },
					.spi = 0x1000 + i, .dir = (uint8_t)(i & 1) };

		lens[i] = t == CTL_SA_QUERY ? sizeof(id) : sizeof(id.h);
		id.h.len = (uint32_t)lens[i];
		memcpy(msgs[i], &id, sizeof(id));
		FZ_CHECK(send(fd, msgs[i], lens[i], 0) == (ssize_t)lens[i], "send: %s",
			 strerror(errno));
	}
	if (count & 0x80) {
		/* gone without reading: a streamed reply is abandoned, never sent elsewhere */
		fz_drop(fd);
		for (int k = 0; k < 4; k++)
			ctl_dp_poll(&D);
		reconcile();
		return;
	}
	ctl_server_get_stats(D.ctl, &before);
	for (unsigned i = 0; i < n; i++) {
		struct fz_expect e = fz_classify(msgs[i], lens[i]);
		struct fz_reply r;

		fz_collect(fd, pump, ROUNDS, &r);
		fz_check_reply(&e, &r);
		fz_no_keys(r.body, r.len, "a reply");
		if (e.handled)
			check_handled(msgs[i], &r);
		fz_reply_free(&r);
	}
	fz_check_silent(fd, pump, 2);
	ctl_server_get_stats(D.ctl, &after);
	FZ_CHECK(after.send_errors == before.send_errors, "a reply not sent (send_errors)");
	reconcile();
}

static void bulk_sas(uint8_t count, uint8_t dir)
{
	int fd = fz_client(0);

	/* at most 127 each time: two ops fill both directions past one message */
	for (unsigned i = 0; i < (count & 0x7fu); i++) {
		struct ctl_sa_add a = { .h = { .magic = CTL_MAGIC, .version = CTL_VERSION,
					       .type = CTL_SA_ADD, .len = sizeof(a),
					       .seq = next_seq++ },
					.spi = 0x1000 + i, .dir = (uint8_t)((dir + i) & 1),
					.cipher = (uint8_t)(i % 3 == 0 ? ESP_CIPHER_CHACHA20POLY1305
								       : ESP_CIPHER_AES256GCM),
					.esn = (uint8_t)(i & 2 ? 1 : 0), .worker = 0xffff };

		fix_addresses(a.dir, &a.src_ip, &a.dst_ip, &a.src_port, &a.dst_port);
		make_key(a.keymat, a.spi, a.dir);
		fz_key_add(a.keymat, CTL_KEYMAT_LEN);
		roundtrip(fd, (const uint8_t *)&a, sizeof(a));
		sodium_memzero(&a, sizeof(a));
	}
}

static void bulk_segs(uint8_t count)
{
	int fd = fz_client(1);

	for (unsigned i = 0; i < (count & 0x7fu); i++) {
		struct ctl_seg_set s = { .h = { .magic = CTL_MAGIC, .version = CTL_VERSION,
						.type = CTL_SEG_SET, .len = sizeof(s),
						.seq = next_seq++ },
					 .op = CTL_SEG_OP_APPLY };

		snprintf(s.name, sizeof(s.name), "bulk-%u", i);
		snprintf(s.spec, sizeof(s.spec), "vni=%u local=trunk vlan=%u mss=1300", 6000 + i,
			 100 + i);
		roundtrip(fd, (const uint8_t *)&s, sizeof(s));
	}
}

/* ---- between inputs ----------------------------------------------------- */

static void cleanup(void)
{
	char err[256];

	fz_drop_all();
	/* the server notices the closed connections (and abandons any stream) */
	for (int k = 0; k < 3; k++)
		ctl_dp_poll(&D);
	while (D.nb_sa_out)
		sa_del(&D, D.sa_out[0]->spi, ESP_DIR_OUTBOUND);
	while (D.nb_sa_in)
		sa_del(&D, D.sa_in[0]->spi, ESP_DIR_INBOUND);
	nmsa = 0;
	if (segs_touched) {
		for (uint16_t k = 0; k < D.nb_seg; k++)
			if (!D.seg[k].removed)
				segment_del(&D, D.seg[k].vni);
		if (segment_add(&D, &cfg.seg[0], err, sizeof(err)) < 0)
			fz_fail("cannot restore segment web: %s", err);
		atomic_store(&D.gw_announce, 0);
		segs_touched = false;
	}
	nmseg = 0;
	mseg_set(WEB_VNI, cfg.seg[0].name);
	atomic_store(&D.peer_now, cfg.peer_ip);
	reconcile();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t m[CTL_MAX_MSG + 512] __attribute__((aligned(8)));
	struct fz_in in = { .p = data, .n = size };
	unsigned ops = 0;

	if (nmseg == 0)
		mseg_set(WEB_VNI, cfg.seg[0].name);
	next_seq = 1000;
	fz_input = data;
	fz_input_len = size;
	fz_log_begin();
	while (fz_more(&in) && ops++ < 512) {
		uint8_t op = fz_u8(&in) & 7;

		switch (op) {
		case 0: {
			int fd = fz_client(fz_u8(&in));
			uint16_t type = type_of(fz_u8(&in));
			uint8_t fix = fz_u8(&in), corrupt = fz_u8(&in);
			size_t n = build(m, type, fix, corrupt, &in);

			roundtrip(fd, m, n);
			break;
		}
		case 1: {
			int fd = fz_client(fz_u8(&in));
			size_t n = fz_bytes(&in, m, CTL_MAX_MSG);

			roundtrip(fd, m, n);
			break;
		}
		case 2: {
			int fd = fz_client(fz_u8(&in));

			roundtrip(fd, m, fz_oversized(m, fz_u8(&in), CTL_SA_ADD, next_seq++));
			break;
		}
		case 3:
			fz_leave(fz_u8(&in));
			ctl_dp_poll(&D);
			break;
		case 4:
			sa_service(&D);
			may_vanish_any = true;
			reconcile();
			break;
		case 5: {
			int fd = fz_client(fz_u8(&in));

			pipeline(fd, fz_u8(&in), &in);
			break;
		}
		case 6: {
			uint8_t count = fz_u8(&in);

			bulk_sas(count, fz_u8(&in));
			break;
		}
		default:
			bulk_segs(fz_u8(&in));
			break;
		}
	}
	if (getenv("FZ_CTL_VERBOSE")) {
		struct ctl_server_stats st;

		ctl_server_get_stats(D.ctl, &st);
		fprintf(stderr, "fuzz_ctl_dp: %u ops, %u SAs, %u segments held; server so far: "
			"%llu requests, %llu failed, %llu streams, %llu parts, %llu aborted\n", ops,
			nmsa, nmseg, (unsigned long long)st.requests, (unsigned long long)st.failed,
			(unsigned long long)st.streams, (unsigned long long)st.parts,
			(unsigned long long)st.streams_aborted);
	}
	cleanup();
	fz_log_end();
	fz_no_keys(fz_log, fz_log_len, "the dataplane's log");
	fz_log_free();
	fz_nkeys = 0;
	sodium_memzero(m, sizeof(m));
	return 0;
}
