/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kernel_dp.c: charon's "kernel-ipsec" backend for Isthmus. charon negotiates
 * CHILD_SAs and calls add_sa/del_sa/query_sa as it would on the Linux kernel;
 * we hand each SA to isthmus-dp over its control socket (docs/control-protocol.md).
 *
 * What the kernel would do on its own and the dataplane does not, happens here:
 *  - lifetimes: charon expects the kernel to signal soft expiry (rekey) and
 *    hard expiry by time, bytes and packets. A once-a-second job compares each
 *    SA's age and dataplane counters with its lifetime_cfg_t and calls
 *    charon->kernel->expire(), as XFRM's expire messages would;
 *  - sequence numbers: without ESN an SA is rekeyed when its outbound
 *    counter reaches CTL_SEQ_REKEY_32 (3/4 of 2^32), long before sealing
 *    would have to stop at 2^32 - 1 (RFC 4303 3.3.3);
 *  - restarts, without ever sealing twice with one nonce (the AEAD nonce is
 *    the sequence number, RFC 4106 3.1): an SA is sent to the dataplane once,
 *    and never again. A dataplane that restarted under us lost its SAs and
 *    counters, so every CHILD_SA is rekeyed (new keys, new SPIs); its old
 *    keys are never reinstalled. A dataplane met by a freshly started
 *    isthmusd may hold SAs of the isthmusd before (killed, it could not
 *    delete them): they are retired, not flushed, and keep the traffic
 *    flowing until the new CHILD_SAs replace them (dataplane/sa.c).
 * Policies are implicit in the dataplane (VTEP-to-VTEP VXLAN only), so the
 * policy calls only succeed.
 */
#include "kernel_dp.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <pthread.h>

#include <daemon.h>
#include <collections/hashtable.h>
#include <processing/jobs/callback_job.h>
#include <threading/mutex.h>

#include <esp.h>

#include "ctl_json.h"
#include "dp_link.h"
#include "isd_log.h"

typedef struct private_kernel_dp_t private_kernel_dp_t;

/** An SA as installed in the dataplane. */
typedef struct {
	uint32_t spi;           /**< host order */
	bool inbound;
	host_t *dst;            /**< for charon->kernel->expire() */
	struct ctl_sa_add msg;  /**< exactly what was sent, keys included */
	lifetime_cfg_t life;
	time_t installed;       /**< time_monotonic() */
	bool soft_done;
	bool hard_done;
	bool lost;              /**< the dataplane that held it restarted: rekeyed */
} sa_entry_t;

/** How long a restarted isthmusd lets the dataplane keep the SAs of the one
 *  before, waiting for its own CHILD_SAs to replace them (dataplane/sa.c). */
#define RETIRE_GRACE_S 60

/** Hash key: SPI and direction. */
typedef struct {
	uint32_t spi;
	bool inbound;
} sa_key_t;

struct private_kernel_dp_t {
	kernel_ipsec_t public;
	listener_t listener;    /**< IKE_SA state changes (ike_deleting) */
	struct dp_link *link;
	mutex_t *mutex;
	hashtable_t *sas;       /**< sa_key_t -> sa_entry_t */
	rng_t *rng;
};

/* The one instance (charon creates the backend through a plain constructor). */
static char dp_socket_path[108] = CTL_DEFAULT_PATH;
static bool rekey_lead = true;

/* The periodic job cannot be removed from charon's scheduler: it finds the live
 * instance here, and destroy() clears it under the same lock. */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static private_kernel_dp_t *active;

void kernel_dp_set_socket(const char *path)
{
	snprintf(dp_socket_path, sizeof(dp_socket_path), "%s", path);
}

void kernel_dp_set_lead(bool lead)
{
	rekey_lead = lead;
}

/* When to ask for a rekey: at @p rekey if we lead, else half-way to @p life. */
static uint64_t soft_limit(uint64_t rekey, uint64_t life)
{
	if (rekey_lead || !rekey || life <= rekey)
		return rekey;
	return rekey + (life - rekey) / 2;
}

static u_int sa_hash(const void *k)
{
	const sa_key_t *key = k;

	return chunk_hash(chunk_from_thing(key->spi)) ^ key->inbound;
}

static bool sa_equals(const void *a, const void *b)
{
	const sa_key_t *x = a, *y = b;

	return x->spi == y->spi && x->inbound == y->inbound;
}

/* Soft expiry (rekey) without ESN: see CTL_SEQ_REKEY_32; the side that does
 * not lead waits until 7/8 of 2^32 (kernel_dp_set_lead). */
static bool seq_due(const sa_entry_t *e, uint64_t seq)
{
	uint64_t at = rekey_lead ? CTL_SEQ_REKEY_32 : CTL_SEQ_REKEY_32 + (1ull << 29);

	return !e->inbound && !e->msg.esn && seq >= at;
}

/* Whether the tick needs the SA's counters from the dataplane: for byte and
 * packet lifetimes, and for the sequence number of an outbound SA without
 * ESN. Not for an SA that went with a restarted dataplane. */
static bool wants_counters(const sa_entry_t *e)
{
	return !e->lost && (e->life.bytes.life || e->life.bytes.rekey || e->life.packets.life ||
			    e->life.packets.rekey || (!e->inbound && !e->msg.esn));
}

static void entry_destroy(sa_entry_t *e)
{
	memwipe(&e->msg, sizeof(e->msg));
	DESTROY_IF(e->dst);
	free(e);
}

/* Send one request; log (never with key material) and map the result. */
static status_t dp_request(private_kernel_dp_t *this, void *req, size_t len, const char *what,
			   uint32_t spi, void *body, size_t body_len)
{
	uint8_t *rbuf = malloc(CTL_MAX_MSG + 1);
	const struct ctl_reply *r;
	char err[256];
	status_t st = FAILED;

	if (!rbuf)
		return FAILED;
	r = dp_link_call(this->link, req, len, rbuf, err, sizeof(err));
	if (!r) {
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: %s SPI %.8x: %s", what, spi, err);
	} else if (r->status != 0) {
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: %s SPI %.8x refused: %.*s", what, spi,
		     (int)r->body_len, (const char *)ctl_reply_body(r));
		st = r->status == -ENOENT ? NOT_FOUND : FAILED;
	} else {
		if (body && r->body_len >= body_len)
			memcpy(body, ctl_reply_body(r), body_len);
		st = SUCCESS;
	}
	memwipe(rbuf, CTL_MAX_MSG + 1);
	free(rbuf);
	return st;
}

METHOD(kernel_ipsec_t, get_features, kernel_feature_t,
	private_kernel_dp_t *this)
{
	return KERNEL_ESP_V3_TFC;
}

METHOD(kernel_ipsec_t, get_spi, status_t,
	private_kernel_dp_t *this, host_t *src, host_t *dst, uint8_t protocol, uint32_t *spi)
{
	/* RFC 4303 2.1: SPIs 1..255 are reserved by IANA, 0 is never used. Pick a
	 * random one not in use by an inbound SA here. */
	for (int i = 0; i < 64; i++) {
		uint32_t s;
		sa_key_t key = { .inbound = TRUE };

		if (!this->rng->get_bytes(this->rng, sizeof(s), (uint8_t *)&s))
			return FAILED;
		s |= 0x100;
		key.spi = s;
		this->mutex->lock(this->mutex);
		if (!this->sas->get(this->sas, &key)) {
			this->mutex->unlock(this->mutex);
			*spi = htonl(s);
			return SUCCESS;
		}
		this->mutex->unlock(this->mutex);
	}
	return FAILED;
}

METHOD(kernel_ipsec_t, get_cpi, status_t,
	private_kernel_dp_t *this, host_t *src, host_t *dst, uint16_t *cpi)
{
	return NOT_SUPPORTED;
}

/*
 * CTL_SA_F_NAT_HERE when the IKE_SA this thread works on found us behind a
 * NAT (RFC 7296 section 2.23): the dataplane then sends all ESP from the SA's
 * port, so one NAT mapping carries everything and charon's keepalives keep
 * it. charon calls add_sa and update_sa with the IKE_SA checked out by the
 * calling thread. (Whether the peer is behind a NAT it cannot say: with
 * forced UDP encapsulation both sides fake their NAT detection payloads;
 * dataplane/ctl_dp.c.)
 */
static uint8_t nat_here_flag(void)
{
	ike_sa_t *ike = charon->bus->get_sa(charon->bus);

	return ike && ike->has_condition(ike, COND_NAT_HERE) ? CTL_SA_F_NAT_HERE : 0;
}

/* Translate charon's SA into the control message; FALSE if Isthmus cannot run it. */
static bool to_ctl(kernel_ipsec_sa_id_t *id, kernel_ipsec_add_sa_t *data, struct ctl_sa_add *m)
{
	memset(m, 0, sizeof(*m));
	m->h.type = CTL_SA_ADD;
	m->spi = ntohl(id->spi);
	m->dir = data->inbound ? CTL_SA_IN : CTL_SA_OUT;
	if (id->proto != IPPROTO_ESP || data->mode != MODE_TUNNEL) {
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: only ESP tunnel mode is supported");
		return FALSE;
	}
	if (!data->encap) {
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: the SA must use UDP encapsulation (encap = yes)");
		return FALSE;
	}
	if (data->int_alg != AUTH_UNDEFINED || data->ipcomp != IPCOMP_NONE) {
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: only AEAD without IPComp is supported");
		return FALSE;
	}
	switch (data->enc_alg) {
	case ENCR_AES_GCM_ICV16:
		m->cipher = ESP_CIPHER_AES256GCM;
		break;
	case ENCR_CHACHA20_POLY1305:
		m->cipher = ESP_CIPHER_CHACHA20POLY1305;
		break;
	default:
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: cipher %N is not supported (aes256gcm16 or "
		     "chacha20poly1305)", encryption_algorithm_names, data->enc_alg);
		return FALSE;
	}
	if (data->enc_key.len != sizeof(m->keymat)) {
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: %N key of %zu bytes, need %zu (256-bit key + salt)",
		     encryption_algorithm_names, data->enc_alg, data->enc_key.len,
		     sizeof(m->keymat));
		return FALSE;
	}
	if (id->src->get_family(id->src) != AF_INET || id->dst->get_family(id->dst) != AF_INET) {
		isd_log(LOG_ERR, DBG_KNL, "isthmus-dp: the underlay is IPv4 only");
		return FALSE;
	}
	memcpy(m->keymat, data->enc_key.ptr, sizeof(m->keymat));
	m->esn = data->esn;
	m->replay_window = data->replay_window;
	m->worker = 0xffff;
	memcpy(&m->src_ip, id->src->get_address(id->src).ptr, 4);
	memcpy(&m->dst_ip, id->dst->get_address(id->dst).ptr, 4);
	m->src_port = id->src->get_port(id->src);
	m->dst_port = id->dst->get_port(id->dst);
	m->flags = nat_here_flag();
	return TRUE;
}

METHOD(kernel_ipsec_t, add_sa, status_t,
	private_kernel_dp_t *this, kernel_ipsec_sa_id_t *id, kernel_ipsec_add_sa_t *data)
{
	sa_entry_t *e, *old;
	sa_key_t *key;
	status_t st;

	INIT(e,
		.spi = ntohl(id->spi),
		.inbound = data->inbound,
		.dst = id->dst->clone(id->dst),
		.life = *data->lifetime,
		.installed = time_monotonic(NULL),
	);
	if (!to_ctl(id, data, &e->msg)) {
		entry_destroy(e);
		return NOT_SUPPORTED;
	}
	st = dp_request(this, &e->msg, sizeof(e->msg), "add", e->spi, NULL, 0);
	if (st != SUCCESS) {
		entry_destroy(e);
		return st;
	}
	isd_log(LOG_INFO, DBG_KNL, "isthmus-dp: installed %s SA %.8x (%s%s)", e->inbound ? "inbound" : "outbound",
	     e->spi, e->msg.cipher == ESP_CIPHER_AES256GCM ? "AES-256-GCM" : "ChaCha20-Poly1305",
	     e->msg.esn ? ", ESN" : "");
	INIT(key, .spi = e->spi, .inbound = e->inbound);
	this->mutex->lock(this->mutex);
	old = this->sas->put(this->sas, key, e);
	this->mutex->unlock(this->mutex);
	if (old)
		entry_destroy(old); /* replaced: same SPI and direction */
	return SUCCESS;
}

/* The entry of the SA charon names by SPI and its (old) addresses: inbound if
 * its destination is ours, else outbound. Call with the mutex held. */
static sa_entry_t *find_entry(private_kernel_dp_t *this, kernel_ipsec_sa_id_t *id)
{
	sa_key_t key = { .spi = ntohl(id->spi), .inbound = TRUE };
	sa_entry_t *e = this->sas->get(this->sas, &key);

	if (e && id->dst->get_family(id->dst) == AF_INET &&
	    memeq(&e->msg.dst_ip, id->dst->get_address(id->dst).ptr, 4))
		return e;
	key.inbound = FALSE;
	return this->sas->get(this->sas, &key);
}

/*
 * A NAT mapping changed (RFC 3948, RFC 7296 section 2.23): charon saw an
 * authenticated IKE message from the peer's new address or port and moves
 * the CHILD_SAs there (ike_sa.c update_hosts; MOBIKE is off, so these are
 * its implicit updates). The dataplane swaps the SA's outer addresses in one
 * atomic store (dataplane/sa.c sa_update). Never on ESP alone: an attacker
 * replaying a genuine ESP packet from another address cannot move the
 * tunnel. Anything we cannot run (no UDP encapsulation, IPv6) is refused, and
 * charon then negotiates a new CHILD_SA instead.
 */
METHOD(kernel_ipsec_t, update_sa, status_t,
	private_kernel_dp_t *this, kernel_ipsec_sa_id_t *id, kernel_ipsec_update_sa_t *data)
{
	struct ctl_sa_update u = { .h.type = CTL_SA_UPDATE, .spi = ntohl(id->spi) };
	sa_entry_t *e;
	status_t st;

	if (id->proto != IPPROTO_ESP || !data->new_encap ||
	    data->new_src->get_family(data->new_src) != AF_INET ||
	    data->new_dst->get_family(data->new_dst) != AF_INET) {
		isd_log(LOG_WARNING, DBG_KNL, "isthmus-dp: SA %.8x: update without UDP encapsulation or to IPv6 "
		     "refused", u.spi);
		return NOT_SUPPORTED;
	}
	memcpy(&u.src_ip, data->new_src->get_address(data->new_src).ptr, 4);
	memcpy(&u.dst_ip, data->new_dst->get_address(data->new_dst).ptr, 4);
	u.src_port = data->new_src->get_port(data->new_src);
	u.dst_port = data->new_dst->get_port(data->new_dst);
	u.flags = nat_here_flag();

	this->mutex->lock(this->mutex);
	e = find_entry(this, id);
	if (!e || e->lost) {
		this->mutex->unlock(this->mutex);
		return NOT_SUPPORTED; /* not in the dataplane: charon rekeys it */
	}
	u.dir = e->msg.dir;
	this->mutex->unlock(this->mutex);

	st = dp_request(this, &u, sizeof(u), "update", u.spi, NULL, 0);
	if (st != SUCCESS)
		return NOT_SUPPORTED;
	isd_log(LOG_NOTICE, DBG_KNL, "isthmus-dp: %s SA %.8x moved to %#H -> %#H", u.dir == CTL_SA_IN ? "inbound"
	     : "outbound", u.spi, data->new_src, data->new_dst);
	this->mutex->lock(this->mutex);
	e = find_entry(this, id);
	if (e && e->msg.dir == u.dir) {
		e->msg.src_ip = u.src_ip;
		e->msg.dst_ip = u.dst_ip;
		e->msg.src_port = u.src_port;
		e->msg.dst_port = u.dst_port;
		e->msg.flags = u.flags;
		e->dst->destroy(e->dst);
		e->dst = data->new_dst->clone(data->new_dst);
	}
	this->mutex->unlock(this->mutex);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, query_sa, status_t,
	private_kernel_dp_t *this, kernel_ipsec_sa_id_t *id, kernel_ipsec_query_sa_t *data,
	uint64_t *bytes, uint64_t *packets, time_t *time)
{
	struct ctl_sa_id q = { .h.type = CTL_SA_QUERY, .spi = ntohl(id->spi) };
	struct ctl_sa_counters c;
	sa_key_t key = { .spi = ntohl(id->spi), .inbound = TRUE };
	sa_entry_t *e;
	bool lost;
	status_t st;

	this->mutex->lock(this->mutex);
	e = this->sas->get(this->sas, &key);
	if (!e) {
		key.inbound = FALSE;
		e = this->sas->get(this->sas, &key);
	}
	lost = e && e->lost;
	this->mutex->unlock(this->mutex);
	if (lost) /* went with the dataplane instance that held it */
		return NOT_FOUND;
	q.dir = key.inbound ? CTL_SA_IN : CTL_SA_OUT;
	st = dp_request(this, &q, sizeof(q), "query", q.spi, &c, sizeof(c));
	if (st != SUCCESS)
		return st;
	if (bytes)
		*bytes = c.bytes;
	if (packets)
		*packets = c.packets;
	if (time)
		*time = c.idle_ms == UINT64_MAX ? 0 : time_monotonic(NULL) - (time_t)(c.idle_ms / 1000);
	return SUCCESS;
}

static status_t delete_one(private_kernel_dp_t *this, uint32_t spi, bool inbound)
{
	struct ctl_sa_id d = { .h.type = CTL_SA_DEL, .spi = spi,
			       .dir = inbound ? CTL_SA_IN : CTL_SA_OUT };
	sa_key_t key = { .spi = spi, .inbound = inbound };
	sa_entry_t *e;
	status_t st;
	bool lost;

	this->mutex->lock(this->mutex);
	e = this->sas->remove(this->sas, &key);
	this->mutex->unlock(this->mutex);
	if (!e)
		return NOT_FOUND;
	lost = e->lost;
	entry_destroy(e);
	if (lost) /* went with the dataplane instance that held it */
		return SUCCESS;
	st = dp_request(this, &d, sizeof(d), "delete", spi, NULL, 0);
	isd_log(LOG_INFO, DBG_KNL, "isthmus-dp: deleted %s SA %.8x", inbound ? "inbound" : "outbound", spi);
	return st == NOT_FOUND ? SUCCESS : st; /* already gone there: fine */
}

METHOD(kernel_ipsec_t, del_sa, status_t,
	private_kernel_dp_t *this, kernel_ipsec_sa_id_t *id, kernel_ipsec_del_sa_t *data)
{
	uint32_t spi = ntohl(id->spi);
	status_t st = delete_one(this, spi, TRUE);

	/* charon does not say the direction: the SPI is ours (inbound) or the peer's */
	if (st == NOT_FOUND)
		st = delete_one(this, spi, FALSE);
	/* gone already: an outbound SA of a deleted IKE_SA (ike_deleting) */
	return st == NOT_FOUND ? SUCCESS : st;
}

METHOD(kernel_ipsec_t, flush_sas, status_t,
	private_kernel_dp_t *this)
{
	enumerator_t *en;
	sa_key_t *key;
	sa_entry_t *e;
	linked_list_t *keys = linked_list_create();

	this->mutex->lock(this->mutex);
	en = this->sas->create_enumerator(this->sas);
	while (en->enumerate(en, &key, &e)) {
		sa_key_t *k;

		INIT(k, .spi = key->spi, .inbound = key->inbound);
		keys->insert_last(keys, k);
	}
	en->destroy(en);
	this->mutex->unlock(this->mutex);
	while (keys->remove_first(keys, (void **)&key) == SUCCESS) {
		delete_one(this, key->spi, key->inbound);
		free(key);
	}
	keys->destroy(keys);
	return SUCCESS;
}

METHOD(kernel_ipsec_t, add_policy, status_t,
	private_kernel_dp_t *this, kernel_ipsec_policy_id_t *id, kernel_ipsec_manage_policy_t *data)
{
	return SUCCESS;
}

METHOD(kernel_ipsec_t, query_policy, status_t,
	private_kernel_dp_t *this, kernel_ipsec_policy_id_t *id, kernel_ipsec_query_policy_t *data,
	time_t *use_time)
{
	return NOT_SUPPORTED;
}

METHOD(kernel_ipsec_t, del_policy, status_t,
	private_kernel_dp_t *this, kernel_ipsec_policy_id_t *id, kernel_ipsec_manage_policy_t *data)
{
	return SUCCESS;
}

METHOD(kernel_ipsec_t, flush_policies, status_t,
	private_kernel_dp_t *this)
{
	return SUCCESS;
}

/* IKE sockets need no IPsec bypass or UDP decapsulation: ESP never reaches the
 * kernel, the dataplane takes it off the wire first. */
METHOD(kernel_ipsec_t, bypass_socket, bool,
	private_kernel_dp_t *this, int fd, int family)
{
	return TRUE;
}

METHOD(kernel_ipsec_t, enable_udp_decap, bool,
	private_kernel_dp_t *this, int fd, int family, uint16_t port)
{
	return TRUE;
}

/** An expiry to report, collected under the lock and reported outside it. */
typedef struct {
	uint32_t spi;
	host_t *dst;
	bool hard;
} expire_t;

/* Tell charon, outside our lock; consumes @p due. */
static void report_expiries(linked_list_t *due)
{
	expire_t *x;

	while (due->remove_first(due, (void **)&x) == SUCCESS) {
		isd_log(LOG_INFO, DBG_KNL, "isthmus-dp: SA %.8x: %s", x->spi,
		     x->hard ? "hard lifetime reached" : "rekey due");
		charon->kernel->expire(charon->kernel, IPPROTO_ESP, htonl(x->spi), x->dst, x->hard);
		x->dst->destroy(x->dst);
		free(x);
	}
	due->destroy(due);
}

/*
 * An IKE_SA being deleted with a DELETE exchange keeps its CHILD_SAs until
 * the peer answers, or until charon gives up retransmitting (minutes). When
 * it was replaced by a new IKE_SA from a peer that restarted without sending
 * INITIAL_CONTACT (unique = replace), that answer never comes, and the old
 * outbound SA would hold its worker while the new one waits (dataplane/sa.c):
 * every frame would go out under an SPI the peer no longer has. So the
 * outbound SAs of a deleting IKE_SA leave the dataplane at once; their
 * inbound SAs stay until charon deletes them (late packets).
 */
static bool ike_state_change(listener_t *listener, ike_sa_t *ike_sa, ike_sa_state_t state)
{
	/* charon calls listeners with the listener_t, a member of ours */
	private_kernel_dp_t *this = (private_kernel_dp_t *)((char *)listener -
				offsetof(private_kernel_dp_t, listener));
	enumerator_t *en;
	child_sa_t *child;

	if (state != IKE_DELETING)
		return TRUE;
	en = ike_sa->create_child_sa_enumerator(ike_sa);
	while (en->enumerate(en, &child)) {
		uint32_t spi = ntohl(child->get_spi(child, FALSE));

		if (delete_one(this, spi, FALSE) == SUCCESS)
			isd_log(LOG_INFO, DBG_KNL, "isthmus-dp: IKE_SA %s[%u] is being deleted: its outbound SA %.8x "
			     "makes way now", ike_sa->get_name(ike_sa), ike_sa->get_unique_id(ike_sa),
			     spi);
	}
	en->destroy(en);
	return TRUE;
}

/*
 * A dataplane instance we had not seen (first contact, or it restarted).
 * What it holds is left from an isthmusd before us (killed, so it could not
 * delete its SAs): retire it, so traffic flows on until our CHILD_SAs
 * replace it. What we had installed in a dataplane that restarted is gone
 * with its sequence counters: rekey every CHILD_SA (one soft expiry per
 * inbound SA) so fresh keys are negotiated. Keys are never sent twice.
 */
/* The HA role isthmusd last gave the dataplane (enum ctl_ha_role; 0: no HA). */
static _Atomic uint32_t ha_role_now;

static void dataplane_new(void *ctx)
{
	private_kernel_dp_t *this = ctx;
	struct ctl_sa_retire retire = { .h.type = CTL_SA_RETIRE, .grace_s = RETIRE_GRACE_S };
	struct ctl_ha ha = { .h.type = CTL_HA_SET, .role = atomic_load(&ha_role_now) };

	/* an HA member's dataplane starts as standby (fail safe): a restarted
	 * one learns the role of the member again before anything else */
	if (ha.role && dp_request(this, &ha, sizeof(ha), "HA role", 0, NULL, 0) != SUCCESS)
		isd_log(LOG_WARNING, DBG_KNL, "isthmus-dp: could not set its HA role");
	linked_list_t *due = linked_list_create();
	enumerator_t *en;
	sa_entry_t *e;
	sa_key_t *key;
	expire_t *x;
	int lost = 0;

	if (dp_request(this, &retire, sizeof(retire), "retire", 0, NULL, 0) != SUCCESS)
		isd_log(LOG_WARNING, DBG_KNL, "isthmus-dp: could not retire the SAs it holds from before");

	this->mutex->lock(this->mutex);
	en = this->sas->create_enumerator(this->sas);
	while (en->enumerate(en, &key, &e)) {
		if (e->lost || e->hard_done)
			continue;
		e->lost = TRUE;
		memwipe(e->msg.keymat, sizeof(e->msg.keymat)); /* never needed again */
		lost++;
		if (e->inbound) {
			INIT(x, .spi = e->spi, .dst = e->dst->clone(e->dst), .hard = FALSE);
			due->insert_last(due, x);
			e->soft_done = TRUE;
		}
	}
	en->destroy(en);
	this->mutex->unlock(this->mutex);
	if (lost)
		isd_log(LOG_WARNING, DBG_KNL, "isthmus-dp restarted: its %d SAs are gone; rekeying %d CHILD_SA(s) "
		     "for new keys (old keys are never installed again)", lost, due->get_count(due));
	report_expiries(due);
}


static bool past(uint64_t limit, uint64_t value)
{
	return limit && value >= limit;
}

/** An SA's counters, read from the dataplane outside our lock. */
typedef struct {
	sa_key_t key;
	bool ask;               /**< wants_counters(); else time lifetimes only */
	uint64_t bytes, packets, seq;
} counters_t;

/* The SAs whose lifetimes the tick checks, with the counters of those that
 * need them (wants_counters): the requests are made without our lock, since a
 * reconnection in dp_link_call runs dataplane_new(). */
static linked_list_t *read_counters(private_kernel_dp_t *this)
{
	linked_list_t *all = linked_list_create();
	enumerator_t *en;
	counters_t *k;
	sa_entry_t *e;
	sa_key_t *key;

	this->mutex->lock(this->mutex);
	en = this->sas->create_enumerator(this->sas);
	while (en->enumerate(en, &key, &e))
		if (!e->hard_done) {
			INIT(k, .key = *key, .ask = wants_counters(e));
			all->insert_last(all, k);
		}
	en->destroy(en);
	this->mutex->unlock(this->mutex);

	en = all->create_enumerator(all);
	while (en->enumerate(en, &k)) {
		struct ctl_sa_id q = { .h.type = CTL_SA_QUERY, .spi = k->key.spi,
				       .dir = k->key.inbound ? CTL_SA_IN : CTL_SA_OUT };
		struct ctl_sa_counters c = { 0 };

		if (k->ask &&
		    dp_request(this, &q, sizeof(q), "query", q.spi, &c, sizeof(c)) == SUCCESS) {
			k->bytes = c.bytes;
			k->packets = c.packets;
			k->seq = c.seq;
		}
	}
	en->destroy(en);
	return all;
}

/* Once a second: liveness of the dataplane, and SA lifetimes by time,
 * bytes, packets and (without ESN) sequence number. */
static void tick_locked(private_kernel_dp_t *this)
{
	linked_list_t *due = linked_list_create(), *counters;
	time_t now = time_monotonic(NULL);
	counters_t *k;
	sa_entry_t *e;
	expire_t *x;

	dp_link_ping(this->link);
	counters = read_counters(this);

	this->mutex->lock(this->mutex);
	while (counters->remove_first(counters, (void **)&k) == SUCCESS) {
		uint64_t age;
		bool soft, hard;

		e = this->sas->get(this->sas, &k->key);
		if (!e || e->hard_done) { /* deleted meanwhile */
			free(k);
			continue;
		}
		age = (uint64_t)(now - e->installed);
		hard = past(e->life.time.life, age) || past(e->life.bytes.life, k->bytes) ||
		       past(e->life.packets.life, k->packets);
		soft = past(soft_limit(e->life.time.rekey, e->life.time.life), age) ||
		       past(soft_limit(e->life.bytes.rekey, e->life.bytes.life), k->bytes) ||
		       past(soft_limit(e->life.packets.rekey, e->life.packets.life), k->packets) ||
		       seq_due(e, k->seq);
		if (hard || (soft && !e->soft_done)) {
			if (seq_due(e, k->seq) && !e->soft_done)
				isd_log(LOG_WARNING, DBG_KNL, "isthmus-dp: SA %.8x at sequence number %llu without ESN: "
				     "rekeying", e->spi, (unsigned long long)k->seq);
			INIT(x, .spi = e->spi, .dst = e->dst->clone(e->dst), .hard = hard);
			due->insert_last(due, x);
			e->soft_done = TRUE;
			e->hard_done = hard;
		}
		free(k);
	}
	this->mutex->unlock(this->mutex);
	counters->destroy(counters);
	report_expiries(due);
}

static job_requeue_t tick(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&active_lock);
	if (!active) {
		pthread_mutex_unlock(&active_lock);
		return JOB_REQUEUE_NONE;
	}
	tick_locked(active);
	pthread_mutex_unlock(&active_lock);
	return JOB_RESCHEDULE_MS(1000);
}

METHOD(kernel_ipsec_t, destroy, void,
	private_kernel_dp_t *this)
{
	enumerator_t *en;
	sa_key_t *key;
	sa_entry_t *e;

	charon->bus->remove_listener(charon->bus, &this->listener);
	pthread_mutex_lock(&active_lock);
	if (active == this)
		active = NULL;
	pthread_mutex_unlock(&active_lock);
	en = this->sas->create_enumerator(this->sas);
	while (en->enumerate(en, &key, &e)) {
		entry_destroy(e);
		free(key);
	}
	en->destroy(en);
	this->sas->destroy(this->sas);
	dp_link_destroy(this->link);
	this->mutex->destroy(this->mutex);
	DESTROY_IF(this->rng);
	free(this);
}

/* A request without a body to the active dataplane, and one number of its
 * JSON reply (@p dflt when absent). @return 0, or -1 when nothing answered. */
static int active_call_uint(uint16_t type, const char *key, uint64_t dflt, uint64_t *out)
{
	struct ctl_hdr h = { .type = type };
	uint8_t *rbuf = malloc(CTL_MAX_MSG + 1);
	const struct ctl_reply *r;
	char err[256];
	int rc = -1;

	pthread_mutex_lock(&active_lock);
	if (active && rbuf) {
		r = dp_link_call(active->link, &h, sizeof(h), rbuf, err, sizeof(err));
		if (r && r->status == 0) {
			*out = ctl_reply_json_uint(r, key, dflt);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&active_lock);
	free(rbuf);
	return rc;
}

int kernel_dp_workers(void)
{
	uint64_t n;

	return active_call_uint(CTL_HELLO, "workers", (uint64_t)-1, &n) == 0 ? (int)n : -1;
}

int kernel_dp_ha_role(uint32_t role)
{
	struct ctl_ha m = { .h.type = CTL_HA_SET, .role = role };
	status_t st = FAILED;

	atomic_store(&ha_role_now, role);
	pthread_mutex_lock(&active_lock);
	if (active)
		st = dp_request(active, &m, sizeof(m), "HA role", 0, NULL, 0);
	pthread_mutex_unlock(&active_lock);
	return st == SUCCESS ? 0 : -1;
}

int kernel_dp_ha_announce(void)
{
	uint64_t started;

	if (active_call_uint(CTL_HA_ANNOUNCE, "started", 0, &started) < 0)
		return -1;
	return started ? 1 : 0;
}

void kernel_dp_wireshark(FILE *f)
{
	enumerator_t *en;
	sa_key_t *key;
	sa_entry_t *e;

	pthread_mutex_lock(&active_lock);
	if (!active) {
		pthread_mutex_unlock(&active_lock);
		return;
	}
	active->mutex->lock(active->mutex);
	en = active->sas->create_enumerator(active->sas);
	while (en->enumerate(en, &key, &e)) {
		const uint8_t *s = (const uint8_t *)&e->msg.src_ip, *d = (const uint8_t *)&e->msg.dst_ip;

		if (e->lost) /* its keys were wiped when its dataplane restarted */
			continue;
		fprintf(f, "\"IPv4\",\"%u.%u.%u.%u\",\"%u.%u.%u.%u\",\"0x%08x\",\"%s\",\"0x",
			s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3], e->spi,
			e->msg.cipher == ESP_CIPHER_AES256GCM ? "AES-GCM with 16 octet ICV [RFC4106]"
							       : "ChaCha20 with Poly1305 [RFC7634]");
		for (size_t i = 0; i < sizeof(e->msg.keymat); i++)
			fprintf(f, "%02x", e->msg.keymat[i]);
		fprintf(f, "\",\"NULL\",\"\"\n");
	}
	en->destroy(en);
	active->mutex->unlock(active->mutex);
	pthread_mutex_unlock(&active_lock);
}

kernel_ipsec_t *kernel_dp_create(void)
{
	private_kernel_dp_t *this;

	INIT(this,
		.public = {
			.get_features = _get_features,
			.get_spi = _get_spi,
			.get_cpi = _get_cpi,
			.add_sa = _add_sa,
			.update_sa = _update_sa,
			.query_sa = _query_sa,
			.del_sa = _del_sa,
			.flush_sas = _flush_sas,
			.add_policy = _add_policy,
			.query_policy = _query_policy,
			.del_policy = _del_policy,
			.flush_policies = _flush_policies,
			.bypass_socket = _bypass_socket,
			.enable_udp_decap = _enable_udp_decap,
			.destroy = _destroy,
		},
		.listener = {
			.ike_state_change = ike_state_change,
		},
		.mutex = mutex_create(MUTEX_TYPE_DEFAULT),
		.sas = hashtable_create(sa_hash, sa_equals, 32),
		.rng = lib->crypto->create_rng(lib->crypto, RNG_WEAK),
	);
	this->link = dp_link_create(dp_socket_path, dataplane_new, this);
	if (!this->rng || !this->link) {
		destroy(this);
		return NULL;
	}
	charon->bus->add_listener(charon->bus, &this->listener);
	pthread_mutex_lock(&active_lock);
	active = this;
	pthread_mutex_unlock(&active_lock);
	lib->scheduler->schedule_job_ms(lib->scheduler,
		(job_t *)callback_job_create((callback_job_cb_t)tick, NULL, NULL, NULL), 1000);
	return &this->public;
}
