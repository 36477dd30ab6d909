/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness for isthmusd's control socket: the real server
 * (ctl/ctl_server.c) on its own thread and the real handler
 * (control/dctl.c, dctl_start) over a real unix SOCK_SEQPACKET socket, with
 * the services it calls built as isthmusd builds them, in this process:
 * libstrongswan and libcharon initialised (library_init, libcharon_init,
 * charon->initialize with isthmusd's plugins and its kernel-ipsec backend
 * kernel_dp.c; IKE sockets on ephemeral ports), an Ed25519 identity
 * (identity.c), the peer configuration (peer_config.c), the pairing service
 * (pairing_svc.c, its listener on UDP pairing_port) and the segment
 * agreement service (segsync.c, UDP 4502), paired with a second, real
 * segsync in this process as the peer site (its own identity, configuration
 * and state directory, each site pinning the other's key), on loopback
 * addresses 127.X.Y.1 and .2 made from the pid.
 *
 * Left out (tests/fuzz/README.md): charon is initialised but not started (no
 * IKE_SA is ever negotiated, so D_STATUS lists none and D_SA_KEYS has no SA
 * to list); no isthmus-dp answers either site's dataplane socket (the
 * dataplane's side is fuzz_ctl_dp's); a D_PAIR whose token decodes to a live
 * token for the peer's address is not sent (pairing_svc.c would wait 8 s for
 * the peer's pairing port; the exchange is fuzzed by the pairing harness).
 *
 * Input: the op script of fuzz_ctl_dp.c (ops 0 msg, 1 raw, 2 big, 3 close;
 * 4..7: a message of a type of this socket with its body from the input).
 * msg fix bit 0: D_PAIR carries the last token D_PAIRING_TOKEN gave; bit 2:
 * strings NUL-terminated.
 *
 * Checked on every message: the framing and exactly one reply (or one
 * complete streamed reply) with the request's seq, the exact framing error,
 * the connection closed only for the empty datagram, nothing more after the
 * reply; JSON replies (HELLO, D_STATUS, D_SEGMENTS) parse (json-c) and
 * D_STATUS says paired exactly when the harness's model does (D_UNPAIR
 * succeeded or not); D_PAIR never succeeds (no live peer token is sent);
 * D_SEG refused as not paired exactly when unpaired; the dataplane's types
 * refused; no reply and no line of charon's log carries either site's
 * private key, and only D_PAIRING_TOKEN's reply carries a token. After an
 * input, the pairing is restored and, when a change was agreed, both
 * segment services start again from an empty agreed set.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <library.h>
#include <daemon.h>

#include <sodium.h>

#include "ctl_fuzz.h"
#include "ctl_server.h"
#include "dctl.h"
#include "identity.h"
#include "ike_config.h"
#include "kernel_dp.h"
#include "pairing.h"
#include "pairing_svc.h"
#include "peer_config.h"
#include "segstore.h"
#include "segsync.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
/* LeakSanitizer, when linked in: libcharon's start-up is not this harness's
 * to account for; every input's allocations are. */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUNDS 3000 /* 2 ms waits: 6 s without the reply is a hang */

static char plugins[] =
	"random nonce openssl pem pkcs1 pkcs8 x509 pubkey curve25519 chapoly aes gcm sha2 "
	"hmac kdf kernel-netlink socket-default";

struct site {
	char dir[128], cfg[160];
	struct ike_settings s;
	private_key_t *own;
	public_key_t *pub;
	struct segsync *ss;
};

static struct site A, B;
static struct peer_config *pc;
static struct pairing_svc *pairing;
static struct dctl *dctl;
static char fpr[2 * FINGERPRINT_LEN + 1], charon_log[192];
static uint32_t next_seq;
static bool paired, set_changed;
static char token[PAIRING_TOKEN_MAX];
static uint8_t priv[2][32]; /* the Ed25519 seeds, as their DER ends */
static unsigned skipped_pairs;

static void die(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_ctl_d: %s: %s\n", what, err);
	exit(1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die(path, strerror(errno));
}

/* Site @p me (0 A, 1 B): its directory, configuration, settings, identity. */
static void site_init(struct site *x, int me, const char *base, unsigned net, uint16_t pport)
{
	char text[2048], err[512], sub[160];

	snprintf(x->dir, sizeof(x->dir), "%s/%c", base, me ? 'b' : 'a');
	snprintf(x->cfg, sizeof(x->cfg), "%s/fz%c.ini", base, me ? 'b' : 'a');
	mkdir(x->dir, 0700);
	snprintf(sub, sizeof(sub), "%s/state", x->dir);
	mkdir(sub, 0700);
	snprintf(text, sizeof(text),
		 "[appliance]\nname = fz%c\nrun_dir = %s/run\n"
		 "[uplink]\nport = fz_up\naddress = 127.%u.%u.%d\npeer = 127.%u.%u.%d\n"
		 "local_vtep = 198.19.0.%d\npeer_vtep = 198.19.0.%d\n"
		 "[local trunk]\nport = fz_tr\nmode = trunk\n"
		 "[segment web]\nlocal = trunk\nvlan = 101\nvni = 5101\n"
		 "[ike]\npeer_id = fz%c.isthmus\nstate_dir = %s/state\npairing_port = %u\n",
		 me ? 'b' : 'a', x->dir, net >> 8, net & 255, me + 1, net >> 8, net & 255, 2 - me,
		 me + 1, 2 - me, me ? 'a' : 'b', x->dir, pport);
	write_file(x->cfg, text);
	if (ike_config_load(x->cfg, &x->s, err, sizeof(err)) < 0)
		die(x->cfg, err);
}

/* After charon->initialize: the plugins make and read keys. */
static void site_identity(struct site *x, int me)
{
	char err[512];
	chunk_t der = chunk_empty;

	x->own = identity_load_or_create(x->s.state_dir, err, sizeof(err));
	if (!x->own || !(x->pub = x->own->get_public_key(x->own)))
		die("identity", err);
	if (!x->own->get_encoding(x->own, PRIVKEY_ASN1_DER, &der) || der.len < 32)
		die("identity", "no DER encoding of the private key");
	memcpy(priv[me], der.ptr + der.len - 32, 32);
	chunk_clear(&der);
}

/* Each site pins the other's key (what pairing leaves behind). */
static void pin(struct site *x, struct site *peer)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", x->s.state_dir, PEER_PUB_FILE);
	if (!identity_save_pubkey(peer->pub, path))
		die(path, "cannot write");
}

static void segsyncs_start(void)
{
	char err[512], path[300];

	for (int k = 0; k < 2; k++) {
		struct site *x = k ? &B : &A;

		snprintf(path, sizeof(path), "%s/%s", x->s.state_dir, SEGSTORE_FILE);
		unlink(path);
		x->ss = segsync_create(&x->s, x->cfg, x->own, err, sizeof(err));
		if (!x->ss)
			die("segsync", err);
	}
	dctl = dctl_start(&A.s, pairing, A.ss, fpr, err, sizeof(err));
	if (!dctl)
		die("dctl_start", err);
}

/* Threads blocked in poll(200 ms) are woken, so stopping them costs no wait. */
static void wake_udp(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = ip,
				  .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
}

static void segsyncs_stop(void)
{
	int fd = fz_connect(A.s.ctl_socket);

	/* the server's poll sees the connection at once */
	dctl_stop(dctl);
	if (fd >= 0)
		close(fd);
	for (int k = 0; k < 2; k++) {
		struct site *x = k ? &B : &A;

		wake_udp(x->s.local_ip, SEGSYNC_PORT);
		segsync_destroy(x->ss);
		x->ss = NULL;
	}
}

static char base[96];

/* At exit: both sites' keys, state, sockets and charon's log go. */
static void remove_base(void)
{
	fz_rmtree(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	unsigned net = (unsigned)getpid() % 60000 + 256;
	uint16_t pport = (uint16_t)(20000 + getpid() % 20000);
	plugin_feature_t features[] = {
		PLUGIN_CALLBACK(kernel_ipsec_register, kernel_dp_create),
			PLUGIN_PROVIDE(CUSTOM, "kernel-ipsec"),
				PLUGIN_DEPENDS(RNG, RNG_WEAK),
	};

	(void)argc;
	(void)argv;
	snprintf(base, sizeof(base), "/tmp/isthmus-fzd-%d", (int)getpid());
	mkdir(base, 0700);
	atexit(remove_base);
	snprintf(charon_log, sizeof(charon_log), "%s/charon.log", base);
	if (__lsan_disable)
		__lsan_disable();
	if (!library_init(NULL, "isthmusd-fuzz") || !libcharon_init())
		die("libcharon", "initialisation failed");
	/* charon's log to a file this harness reads (level 2: more than
	 * isthmusd's default), IKE sockets on ephemeral ports */
	lib->settings->set_str(lib->settings, "%s.filelog.fz.path", charon_log, lib->ns);
	lib->settings->set_int(lib->settings, "%s.filelog.fz.default", 2, lib->ns);
	lib->settings->set_int(lib->settings, "%s.port", 0, lib->ns);
	lib->settings->set_int(lib->settings, "%s.port_nat_t", 0, lib->ns);
	charon->load_loggers(charon);
	site_init(&A, 0, base, net, pport);
	fz_sock_path = A.s.ctl_socket;
	site_init(&B, 1, base, net, pport);
	kernel_dp_set_socket(A.s.dp_socket);
	lib->plugins->add_static_features(lib->plugins, "isthmusd-fuzz", features,
					  countof(features), TRUE, NULL, NULL);
	if (!charon->initialize(charon, plugins))
		die("charon", "initialize failed");
	if (__lsan_enable)
		__lsan_enable();
	site_identity(&A, 0);
	site_identity(&B, 1);
	pin(&A, &B);
	pin(&B, &A);
	paired = true;
	pc = peer_config_create(&A.s, A.own->get_ref(A.own), B.pub->get_ref(B.pub), err,
				sizeof(err));
	if (!pc)
		die("peer_config", err);
	pairing = pairing_svc_create(&A.s, A.own, pc, NULL);
	if (!pairing)
		die("pairing", "cannot create the service");
	identity_fingerprint_hex(A.pub, fpr);
	segsyncs_start();
	return 0;
}

/* ---- checks ------------------------------------------------------------- */

static void check_handled(const uint8_t *m, const struct fz_reply *r)
{
	struct ctl_hdr h;
	json_object *o = NULL;

	memcpy(&h, m, sizeof(h));
	switch (h.type) {
	case CTL_HELLO:
		FZ_CHECK(r->status == 0, "HELLO failed");
		o = fz_json(r, "HELLO");
		FZ_CHECK(strcmp(json_object_get_string(fz_member(o, "daemon", json_type_string,
								 "HELLO")), "isthmusd") == 0,
			 "HELLO: not isthmusd");
		break;
	case CTL_D_STATUS:
		FZ_CHECK(r->status == 0, "D_STATUS failed");
		o = fz_json(r, "D_STATUS");
		FZ_CHECK(json_object_get_boolean(fz_member(o, "paired", json_type_boolean,
							   "D_STATUS")) == paired,
			 "D_STATUS: paired %d, the harness says %d", !paired, paired);
		FZ_CHECK(strcmp(json_object_get_string(fz_member(o, "fingerprint", json_type_string,
								 "D_STATUS")), fpr) == 0,
			 "D_STATUS: another fingerprint");
		fz_member(o, "ike_sas", json_type_array, "D_STATUS");
		break;
	case CTL_D_SEGMENTS:
		FZ_CHECK(r->status == 0, "D_SEGMENTS failed: %s", r->body);
		o = fz_json(r, "D_SEGMENTS");
		break;
	case CTL_D_PAIRING_TOKEN: {
		const struct ctl_d_token_req *t = (const void *)m;

		if (t->ttl_s > PAIRING_TTL_MAX) {
			FZ_CHECK(r->status == -EINVAL, "a token valid %u s issued", t->ttl_s);
			break;
		}
		FZ_CHECK(r->status == 0 && r->len < sizeof(token) &&
			 strncmp((const char *)r->body, "isthmus1-", 9) == 0,
			 "D_PAIRING_TOKEN: %d %.100s", r->status, r->body);
		memcpy(token, r->body, r->len + 1);
		break;
	}
	case CTL_D_PAIR:
		FZ_CHECK(r->status == -EPERM, "D_PAIR without a live peer token: %d", r->status);
		break;
	case CTL_D_UNPAIR:
		if (r->status == 0)
			paired = false;
		break;
	case CTL_D_SA_KEYS:
		FZ_CHECK(r->status == 0, "D_SA_KEYS failed");
		break;
	case CTL_D_SEG:
		if (!paired)
			FZ_CHECK(r->status == -ENOTCONN, "D_SEG unpaired: %d", r->status);
		else
			FZ_CHECK(r->status != -ENOTCONN, "D_SEG paired, said not paired");
		set_changed |= r->status == 0;
		break;
	case CTL_D_RELOAD:
		set_changed |= r->status == 0;
		break;
	case CTL_D_HA: {
		const struct ctl_d_ha *q = (const void *)m;

		/* no [ha] section: keepalived's notifications are refused, the
		 * status says HA is off */
		if (q->op == CTL_D_HA_STATUS) {
			FZ_CHECK(r->status == 0, "D_HA status: %d", r->status);
			o = fz_json(r, "D_HA");
			FZ_CHECK(strcmp(json_object_get_string(fz_member(o, "role", json_type_string,
									 "D_HA")), "disabled") == 0,
				 "D_HA: a role without [ha]");
		} else {
			FZ_CHECK(r->status == -EINVAL, "D_HA op %u without [ha]: %d", q->op, r->status);
		}
		break;
	}
	default:
		FZ_CHECK(r->status == -EOPNOTSUPP, "type %u on isthmusd's socket: %d", h.type,
			 r->status);
		break;
	}
	if (o)
		json_object_put(o);
}

/* Private keys never; a token only in D_PAIRING_TOKEN's reply. */
static void no_secrets(const void *b, size_t n, const char *where, bool token_ok)
{
	fz_no_keys(b, n, where);
	if (!token_ok && token[0])
		FZ_CHECK(memmem(b, n, token + 9, strlen(token + 9)) == NULL, "a token in %s", where);
}

/* ---- one request -------------------------------------------------------- */

static bool token_asked;

/* isthmusd serves from its own thread: wait for it. While a new pairing
 * token is asked for, the old token's listener, stopped for it, is woken
 * from its poll (200 ms) by a datagram, which it refuses. */
static void pump(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (token_asked)
		wake_udp(A.s.local_ip, A.s.pairing_port);
	poll(&p, 1, 2);
}

/* A D_PAIR whose token would have isthmusd wait for the peer's pairing port. */
static bool live_peer_token(const uint8_t *m, size_t n)
{
	const struct ctl_d_pair *p = (const void *)m;
	char text[sizeof(p->token) + 1], err[128];
	struct pairing_token t;
	bool live;

	if (n < sizeof(*p) || p->h.type != CTL_D_PAIR)
		return false;
	memcpy(text, p->token, sizeof(p->token));
	text[sizeof(p->token)] = '\0';
	live = pairing_token_decode(text, &t, err, sizeof(err)) == 0 && t.ip == A.s.peer_ip &&
	       (uint64_t)time(NULL) <= t.expires;
	sodium_memzero(&t, sizeof(t));
	return live;
}

static void roundtrip(int fd, const uint8_t *m, size_t n)
{
	struct fz_expect e = fz_classify(m, n);
	struct fz_reply r;

	if (e.handled && live_peer_token(m, n)) {
		skipped_pairs++;
		return;
	}
	token_asked = e.handled && ((const struct ctl_hdr *)m)->type == CTL_D_PAIRING_TOKEN;
	FZ_CHECK(send(fd, m, n, 0) == (ssize_t)n, "send %zu bytes: %s", n, strerror(errno));
	fz_collect(fd, pump, ROUNDS, &r);
	token_asked = false;
	fz_check_reply(&e, &r);
	if (e.closes) {
		fz_drop(fd);
		fz_reply_free(&r);
		return;
	}
	no_secrets(r.body, r.len, "a reply",
		   e.handled && ((const struct ctl_hdr *)m)->type == CTL_D_PAIRING_TOKEN);
	fz_check_silent(fd, pump, 1);
	if (getenv("FZ_CTL_VERBOSE") && e.handled)
		fprintf(stderr, "fuzz_ctl_d: type 0x%x: %d %.160s\n", e.type, r.status,
			(const char *)r.body);
	if (e.handled)
		check_handled(m, &r);
	fz_reply_free(&r);
}

static size_t build(uint8_t *m, uint16_t type, uint8_t fix, uint8_t corrupt, struct fz_in *in)
{
	long want = ctl_request_size(type);
	size_t n = want > 0 ? (size_t)want : sizeof(struct ctl_hdr), body;
	struct ctl_hdr h = { .magic = CTL_MAGIC, .version = CTL_VERSION, .type = type,
			     .seq = next_seq++ };

	memset(m, 0, sizeof(struct ctl_d_seg) + 256);
	body = fz_bytes(in, m + sizeof(h), sizeof(struct ctl_d_seg));
	if (want < 0 && sizeof(h) + body > n)
		n = sizeof(h) + body;
	if (type == CTL_D_PAIR) {
		struct ctl_d_pair *p = (struct ctl_d_pair *)m;

		if ((fix & 1) && token[0])
			snprintf(p->token, sizeof(p->token), "%s", token);
		if (fix & 4)
			p->token[sizeof(p->token) - 1] = '\0';
	} else if (type == CTL_D_SEG && (fix & 4)) {
		struct ctl_d_seg *s = (struct ctl_d_seg *)m;

		s->name[CTL_NAME_LEN - 1] = s->spec[CTL_SEG_SPEC_LEN - 1] =
			s->peer_spec[CTL_SEG_SPEC_LEN - 1] = '\0';
	}
	return fz_frame(m, n, &h, corrupt);
}

static uint16_t type_of(uint8_t b)
{
	return b < 0x49 ? b : (uint16_t)(b * 0x101u);
}

/* ---- between inputs ----------------------------------------------------- */

static void check_log(void)
{
	FILE *f = fopen(charon_log, "r");
	static char buf[1 << 20];
	size_t n;

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	no_secrets(buf, n, "charon's log", false);
	if (truncate(charon_log, 0) != 0)
		fz_fail("cannot empty %s", charon_log);
}

static void cleanup(void)
{
	fz_drop_all();
	if (!paired) {
		pin(&A, &B);
		peer_config_set_peer_key(pc, B.pub->get_ref(B.pub));
		paired = true;
	}
	if (set_changed) {
		segsyncs_stop();
		segsyncs_start();
		set_changed = false;
	}
	check_log();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t m[CTL_MAX_MSG + 512] __attribute__((aligned(8)));
	struct fz_in in = { .p = data, .n = size };
	unsigned ops = 0;

	next_seq = 1000;
	fz_input = data;
	fz_input_len = size;
	fz_nkeys = 0;
	fz_key_add(priv[0], sizeof(priv[0]));
	fz_key_add(priv[1], sizeof(priv[1]));
	while (fz_more(&in) && ops++ < 128) {
		uint8_t op = fz_u8(&in) & 7;

		switch (op) {
		case 1: {
			int fd = fz_client(fz_u8(&in));
			size_t n = fz_bytes(&in, m, CTL_MAX_MSG);

			roundtrip(fd, m, n);
			break;
		}
		case 2: {
			int fd = fz_client(fz_u8(&in));

			roundtrip(fd, m, fz_oversized(m, fz_u8(&in), CTL_D_SEG, next_seq++));
			break;
		}
		case 3:
			fz_leave(fz_u8(&in));
			break;
		default: {
			int fd = fz_client(fz_u8(&in));
			uint16_t type = type_of(fz_u8(&in));
			uint8_t fix = fz_u8(&in), corrupt = fz_u8(&in);
			size_t n;

			if (op != 0)
				type = (uint16_t)(CTL_D_STATUS + (type & 7));
			n = build(m, type, fix, corrupt, &in);
			roundtrip(fd, m, n);
			break;
		}
		}
	}
	if (getenv("FZ_CTL_VERBOSE"))
		fprintf(stderr, "fuzz_ctl_d: %u ops, paired %d, agreed set changed %d, %u live "
			"peer tokens not sent\n", ops, paired, set_changed, skipped_pairs);
	cleanup();
	sodium_memzero(m, sizeof(m));
	return 0;
}
