/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dctl.c: isthmusd's control socket, for isthmusctl: status, pairing, the
 * live ESP keys for Wireshark, segment changes agreed with the peer, reload. Same framing and server as the dataplane's
 * socket (ctl/ctl_server.c), its own message types (CTL_D_*), served by
 * one thread of its own. A reply longer than one message (the status of many
 * CHILD_SAs, many keys) goes out in parts like the dataplane's lists.
 */
#include "dctl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <daemon.h>
#include <threading/thread.h>
#include <sodium.h>

#include "ctl_json.h"
#include "ctl_server.h"
#include "ha.h"
#include "identity.h"
#include "isd_log.h"
#include "kernel_dp.h"
#include "pairing.h"
#include "peer_config.h"
#include "isthmus_version.h"
#include "segsync.h"
#include "version.h"

struct dctl {
	struct ctl_server *srv;
	thread_t *thread;
	volatile bool stop;
	const struct ike_settings *s;
	struct pairing_svc *pairing;
	struct segsync *segsync;
	time_t started;
	char fingerprint[2 * FINGERPRINT_LEN + 1];
};

/* The IKE_SAs and CHILD_SAs with the peer, as charon has them. */
static struct json_object *status_sas(void)
{
	enumerator_t *en = charon->controller->create_ike_sa_enumerator(charon->controller, TRUE);
	struct json_object *ikes = json_object_new_array();
	ike_sa_t *ike;

	while (ikes && en->enumerate(en, &ike)) {
		enumerator_t *ce = ike->create_child_sa_enumerator(ike);
		struct json_object *j = json_object_new_object(), *children = json_object_new_array();
		child_sa_t *child;
		char buf[256];

		ctl_json_str(j, "state", enum_to_name(ike_sa_state_names, ike->get_state(ike)));
		snprintf(buf, sizeof(buf), "%H", ike->get_other_host(ike));
		ctl_json_str(j, "peer", buf);
		snprintf(buf, sizeof(buf), "%Y", ike->get_other_id(ike));
		ctl_json_str(j, "peer_id", buf);
		ctl_json_int(j, "established_s",
			     (int64_t)(time_monotonic(NULL) - ike->get_statistic(ike, STAT_ESTABLISHED)));
		while (children && ce->enumerate(ce, &child)) {
			uint64_t bytes_in = 0, bytes_out = 0, pk_in = 0, pk_out = 0;
			struct json_object *c = json_object_new_object();

			child->get_usestats(child, TRUE, NULL, &bytes_in, &pk_in);
			child->get_usestats(child, FALSE, NULL, &bytes_out, &pk_out);
			ctl_json_str(c, "state", enum_to_name(child_sa_state_names, child->get_state(child)));
			if (c) {
				json_object_object_add(c, "spi_in", ctl_json_spi(ntohl(child->get_spi(child, TRUE))));
				json_object_object_add(c, "spi_out",
						       ctl_json_spi(ntohl(child->get_spi(child, FALSE))));
			}
			ctl_json_uint(c, "bytes_in", bytes_in);
			ctl_json_uint(c, "bytes_out", bytes_out);
			ctl_json_uint(c, "packets_in", pk_in);
			ctl_json_uint(c, "packets_out", pk_out);
			if (c)
				json_object_array_add(children, c);
		}
		ce->destroy(ce);
		if (j) {
			json_object_object_add(j, "child_sas", children);
			json_object_array_add(ikes, j);
		} else {
			json_object_put(children);
		}
	}
	en->destroy(en);
	return ikes;
}

static int status(struct dctl *d, struct ctl_out *o)
{
	char path[512], fpr[2 * FINGERPRINT_LEN + 1] = "", peer_version[VERSION_MAX];
	struct json_object *j = json_object_new_object();
	public_key_t *peer;
	int workers = kernel_dp_workers();

	snprintf(path, sizeof(path), "%s/%s", d->s->state_dir, PEER_PUB_FILE);
	peer = identity_load_pubkey(path);
	if (peer)
		identity_fingerprint_hex(peer, fpr);
	DESTROY_IF(peer);
	ctl_json_str(j, "name", d->s->name);
	ctl_json_str(j, "local_id", d->s->local_id);
	ctl_json_str(j, "peer_id", d->s->peer_id);
	ctl_json_str(j, "fingerprint", d->fingerprint);
	ctl_json_str(j, "auth", d->s->auth == IKE_AUTH_PSK ? "psk" : "pubkey");
	ctl_json_bool(j, "paired", d->s->auth == IKE_AUTH_PSK || peer);
	ctl_json_str(j, "peer_fingerprint", fpr);
	/* both sites' software versions (the peer's from its SYNC, "unknown" if
	 * it sent none): isthmusctl status warns when they differ */
	segsync_peer_version(d->segsync, peer_version);
	ctl_json_str(j, "version", ISTHMUS_VERSION);
	ctl_json_str(j, "peer_version", peer_version);
	ctl_json_int(j, "uptime_s", (int64_t)(time_monotonic(NULL) - d->started));
	ctl_json_bool(j, "dataplane", workers >= 0);
	ctl_json_int(j, "dataplane_workers", workers);
	ctl_json_uint(j, "peer_refused", peer_config_refused());
	json_object_object_add(j, "ha", ha_status_json());
	if (j)
		json_object_object_add(j, "ike_sas", status_sas());
	return ctl_out_json(o, j);
}

/*
 * The live ESP keys in Wireshark's esp_sa format, written straight into the
 * reply (which ctl_server.c wipes once sent) through a stdio buffer of our
 * own, wiped here: open_memstream grew its buffer by allocate, copy, free,
 * and left copies of the key text in freed memory. The reply's room is
 * doubled (ctl_out_reserve wipes what it leaves) until the keys fit.
 */
static int sa_keys(struct ctl_out *o)
{
	for (size_t want = 64 * 1024;; want *= 2) {
		size_t room;
		char iobuf[4096];
		FILE *f;
		long n;
		bool bad;

		if (ctl_out_reserve(o, want) < 0) {
			ctl_out_printf(o, "the keys do not fit a reply");
			return -EMSGSIZE;
		}
		room = o->cap - o->len;
		f = fmemopen(o->buf + o->len, room, "w");
		if (!f)
			return -ENOMEM;
		setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
		kernel_dp_wireshark(f);
		bad = fflush(f) != 0 || ferror(f);
		n = ftell(f);
		fclose(f);
		sodium_memzero(iobuf, sizeof(iobuf));
		/* fmemopen keeps the last byte for a NUL: a full buffer may be cut short */
		if (!bad && n >= 0 && (size_t)n + 1 < room) {
			o->len += (size_t)n;
			break;
		}
		sodium_memzero(o->buf + o->len, room);
	}
	isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: ESP keys handed out for troubleshooting (isthmusctl sa --wireshark)");
	return 0;
}

static int hello(struct ctl_out *o)
{
	struct json_object *j = json_object_new_object();

	ctl_json_int(j, "version", CTL_VERSION);
	ctl_json_str(j, "daemon", "isthmusd");
	ctl_json_str(j, "software", ISTHMUS_VERSION);
	return ctl_out_json(o, j);
}

static int handle(void *ctx, const struct ctl_hdr *req, struct ctl_out *o)
{
	struct dctl *d = ctx;
	char msg[512];

	switch (req->type) {
	case CTL_HELLO:
		return hello(o);
	case CTL_D_STATUS:
		return status(d, o);
	case CTL_D_PAIRING_TOKEN: {
		const struct ctl_d_token_req *t = (const void *)req;
		char tok[PAIRING_TOKEN_MAX];

		if (d->s->auth != IKE_AUTH_PUBKEY) {
			ctl_out_printf(o, "this appliance authenticates with a PSK ([ike] auth = psk): "
				       "nothing to pair");
			return -EINVAL;
		}
		int rc;

		if (t->ttl_s > PAIRING_TTL_MAX) {
			ctl_out_printf(o, "a pairing token is valid %u s at most", PAIRING_TTL_MAX);
			return -EINVAL;
		}
		if (pairing_svc_token(d->pairing, t->ttl_s, tok, sizeof(tok), msg, sizeof(msg)) < 0) {
			ctl_out_printf(o, "%s", msg);
			return -EIO;
		}
		rc = ctl_out_printf(o, "%s", tok);
		sodium_memzero(tok, sizeof(tok));
		return rc;
	}
	case CTL_D_PAIR: {
		const struct ctl_d_pair *p = (const void *)req;
		char tok[sizeof(p->token) + 1];

		int rc;

		memcpy(tok, p->token, sizeof(p->token));
		tok[sizeof(p->token)] = '\0';
		rc = pairing_svc_pair(d->pairing, tok, msg, sizeof(msg));
		sodium_memzero(tok, sizeof(tok));
		ctl_out_printf(o, "%s", msg);
		return rc < 0 ? -EPERM : 0;
	}
	case CTL_D_UNPAIR:
		if (pairing_svc_unpair(d->pairing, msg, sizeof(msg)) < 0) {
			ctl_out_printf(o, "%s", msg);
			return -EIO;
		}
		return ctl_out_printf(o, "%s", msg);
	case CTL_D_SA_KEYS:
		return sa_keys(o);
	case CTL_D_SEG:
		return segsync_change(d->segsync, (const struct ctl_d_seg *)req, o);
	case CTL_D_RELOAD:
		return segsync_reload(d->segsync, o);
	case CTL_D_SEGMENTS:
		return segsync_json(d->segsync, o);
	case CTL_D_HA: {
		const struct ctl_d_ha *m = (const void *)req;
		char state[sizeof(m->state) + 1];

		memcpy(state, m->state, sizeof(m->state));
		state[sizeof(m->state)] = '\0';
		if (m->op == CTL_D_HA_NOTIFY)
			return ha_notify(state, o);
		if (m->op == CTL_D_HA_STATUS)
			return ctl_out_json(o, ha_status_json());
		ctl_out_printf(o, "unknown HA request %u", m->op);
		return -EINVAL;
	}
	default:
		ctl_out_printf(o, "not an isthmusd request (isthmus-dp's socket is another one)");
		return -EOPNOTSUPP;
	}
}

static void *serve(void *arg)
{
	struct dctl *d = arg;

	while (!d->stop)
		if (ctl_server_poll(d->srv, 200) < 0)
			break;
	return NULL;
}

struct dctl *dctl_start(const struct ike_settings *s, struct pairing_svc *pairing,
			struct segsync *segsync, const char *fingerprint, char *err, size_t errlen)
{
	struct dctl *d = calloc(1, sizeof(*d));

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->s = s;
	d->pairing = pairing;
	d->segsync = segsync;
	d->started = time_monotonic(NULL);
	snprintf(d->fingerprint, sizeof(d->fingerprint), "%s", fingerprint);
	d->srv = ctl_server_open(s->ctl_socket, handle, d, err, errlen);
	if (!d->srv || (d->thread = thread_create(serve, d)) == NULL) {
		ctl_server_close(d->srv);
		free(d);
		return NULL;
	}
	return d;
}

void dctl_stop(struct dctl *d)
{
	if (!d)
		return;
	d->stop = true;
	d->thread->join(d->thread);
	ctl_server_close(d->srv);
	free(d);
}
