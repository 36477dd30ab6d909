/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * peer_config.c: see peer_config.h. Built in code from the appliance
 * configuration rather than from swanctl.conf, so an operator configures one
 * file per appliance and cannot get the two halves out of step.
 *
 * Authentication between Isthmus appliances uses raw public keys pinned at
 * pairing time (RFC 7296 section 2.15 signatures; no CA): our key and the peer's
 * are wrapped in "trusted public key" certificates whose subject is the IKE
 * identity, and the remote auth round is constrained to exactly that
 * certificate (AUTH_RULE_SUBJECT_CERT), so any other key is refused.
 */
#include "peer_config.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include <daemon.h>
#include <threading/rwlock.h>

#include "identity.h"
#include "isd_log.h"

#define PEER_CFG_NAME "isthmus"

/* Peers refused since start for not signing with the pinned key (on_alert):
 * isthmusctl status shows it, whatever the log's rate limit left out. */
static _Atomic unsigned long refused_total;
#define CHILD_CFG_NAME "isthmus"

struct private_peer_config {
	struct peer_config public;
	rwlock_t *lock;
	identification_t *local_id, *peer_id;
	certificate_t *own_cert;   /**< our public key, subject local_id */
	certificate_t *peer_cert;  /**< pinned peer key, subject peer_id; NULL: unpaired */
	mem_cred_t *peer_creds;    /**< holds peer_cert only: cleared on re-pairing */
	shared_key_t *psk;
	private_key_t *own_key;
	struct ike_settings s;
	listener_t listener;       /**< says loudly why a peer was refused */
	time_t last_refusal;       /**< rate limit of that line */
	unsigned refusals;         /**< refusals not logged since */
};

static certificate_t *pubkey_cert(public_key_t *key, identification_t *subject)
{
	return lib->creds->create(lib->creds, CRED_CERTIFICATE, CERT_TRUSTED_PUBKEY,
				  BUILD_PUBLIC_KEY, key, BUILD_SUBJECT, subject, BUILD_END);
}

static void ip_str(uint32_t be, char *buf, size_t len)
{
	inet_ntop(AF_INET, &be, buf, len);
}

static bool add_proposals(const char *list, protocol_id_t proto, ike_cfg_t *ike, child_cfg_t *child)
{
	enumerator_t *en = enumerator_create_token(list, ",", " ");
	char *tok;
	int n = 0;

	while (en->enumerate(en, &tok)) {
		proposal_t *p = proposal_create_from_string(proto, tok);

		if (!p) {
			isd_log(LOG_ERR, DBG_CFG, "isthmusd: invalid %s proposal '%s'",
			     proto == PROTO_IKE ? "IKE" : "ESP", tok);
			en->destroy(en);
			return FALSE;
		}
		if (ike)
			ike->add_proposal(ike, p);
		else
			child->add_proposal(child, p);
		n++;
	}
	en->destroy(en);
	return n > 0;
}

static auth_cfg_t *auth_round(struct private_peer_config *this, bool local)
{
	auth_cfg_t *auth = auth_cfg_create();

	if (this->s.auth == IKE_AUTH_PSK) {
		auth->add(auth, AUTH_RULE_AUTH_CLASS, AUTH_CLASS_PSK);
	} else {
		auth->add(auth, AUTH_RULE_AUTH_CLASS, AUTH_CLASS_PUBKEY);
		if (!local)
			auth->add(auth, AUTH_RULE_SUBJECT_CERT,
				  this->peer_cert->get_ref(this->peer_cert));
	}
	auth->add(auth, AUTH_RULE_IDENTITY,
		  (local ? this->local_id : this->peer_id)->clone(local ? this->local_id
									: this->peer_id));
	return auth;
}

static traffic_selector_t *vtep_ts(uint32_t be)
{
	chunk_t a = chunk_from_thing(be);

	/* VXLAN in UDP between the two VTEPs: all protocols and ports of the
	 * /32s, so a stock strongSwan peer with plain /32 selectors matches. */
	return traffic_selector_create_from_bytes(0, TS_IPV4_ADDR_RANGE, a, 0, a, 65535);
}

/*
 * (Re)build peer_cfg and child_cfg from the settings; call with the write lock
 * held. With pubkey authentication and no pinned peer key there is no
 * connection (unless @p check_only, which builds and discards, to validate).
 */
static bool build(struct private_peer_config *this, bool check_only)
{
	const struct ike_settings *s = &this->s;
	char local[INET_ADDRSTRLEN], remote[INET_ADDRSTRLEN + 16];
	/* hard expiry 10 % after the soft one, at least 20 s: the side that
	 * does not lead rekeys half-way between them (kernel_dp_set_lead) */
	uint32_t child_hard = s->child_rekey_s + (s->child_rekey_s / 10 > 20 ? s->child_rekey_s / 10 : 20);
	ike_cfg_create_t ike = {
		.version = IKEV2,
		.local = local,
		.remote = remote,
		.local_port = charon->socket->get_port(charon->socket, FALSE),
		.remote_port = IKEV2_UDP_PORT,
		/* ESP always in UDP (RFC 3948): what the dataplane speaks. NAT
		 * detection (RFC 7296 section 2.23) runs all the same, and with a
		 * NAT on the way charon uses the ports the NAT mapped */
		.force_encap = TRUE,
		.fragmentation = FRAGMENTATION_YES,
		.no_certreq = TRUE,
	};
	peer_cfg_create_t peer = {
		.cert_policy = CERT_NEVER_SEND,
		.unique = UNIQUE_REPLACE,
		.keyingtries = 0,     /* keep trying: the peer site may come later */
		.rekey_time = s->ike_rekey_s,
		.jitter_time = s->ike_rekey_s / 20,
		.over_time = s->ike_rekey_s / 10,
		/* No MOBIKE: with it charon makes no implicit address updates
		 * (task_manager_v2.c), and the appliances' own addresses are
		 * fixed. Without it, a NAT mapping that changes is followed
		 * after the peer's next authenticated IKE message (its DPD,
		 * within dpd of losing our traffic): update_sa (kernel_dp.c) */
		.no_mobike = TRUE,
		.dpd = s->dpd_s,
	};
	child_cfg_create_t child = {
		.mode = MODE_TUNNEL,
		.lifetime = {
			.time = { .rekey = s->child_rekey_s, .life = child_hard,
				  .jitter = s->child_rekey_s / 20 },
			.bytes = { .rekey = s->child_rekey_bytes,
				   .life = s->child_rekey_bytes + s->child_rekey_bytes / 10 },
			.packets = { .rekey = s->child_rekey_packets,
				     .life = s->child_rekey_packets + s->child_rekey_packets / 10 },
		},
		.start_action = ACTION_NONE,
		/* an HA member restarts nothing by itself: it initiates when
		 * elected, and stands down when its tunnel goes (control/ha.c) */
		.dpd_action = s->ha ? ACTION_NONE : ACTION_START,
		.close_action = s->ha ? ACTION_NONE : ACTION_START,
	};
	ike_cfg_t *ike_cfg;

	DESTROY_IF(this->public.peer_cfg);
	DESTROY_IF(this->public.child_cfg);
	this->public.peer_cfg = NULL;
	this->public.child_cfg = NULL;
	if (!check_only && s->auth == IKE_AUTH_PUBKEY && !this->peer_cert)
		return TRUE; /* not paired: no connection at all */

	/* an HA member's local_ip is the group's floating address (docs/ha.md) */
	ip_str(s->local_ip, local, sizeof(local));
	ip_str(s->peer_ip, remote, sizeof(remote));
	/* A peer behind a NAT whose external address may change ([uplink]
	 * peer_nat): we initiate to the configured address (the first host of the
	 * list), and accept its IKE from any address; the pinned key
	 * authenticates it, not the address (RFC 7296 section 2.23). */
	if (s->peer_nat)
		strcat(remote, ", 0.0.0.0/0");
	ike_cfg = ike_cfg_create(&ike);
	if (!add_proposals(s->ike_proposals, PROTO_IKE, ike_cfg, NULL)) {
		ike_cfg->destroy(ike_cfg);
		return FALSE;
	}
	this->public.peer_cfg = peer_cfg_create(PEER_CFG_NAME, ike_cfg, &peer);
	this->public.peer_cfg->add_auth_cfg(this->public.peer_cfg, auth_round(this, TRUE), TRUE);
	if (!check_only)
		this->public.peer_cfg->add_auth_cfg(this->public.peer_cfg,
						    auth_round(this, FALSE), FALSE);

	/*
	 * One CHILD_SA per dataplane worker, all with the same selectors. charon
	 * refuses to initiate a CHILD_SA "equal" to an installed one
	 * (child_create.c, check_for_duplicate), so each worker's slot gets a
	 * config of its own, told apart by an interface ID that only this side
	 * sees (the dataplane ignores it). The responder picks the first.
	 */
	for (unsigned slot = 0; slot < PEER_CHILD_SLOTS; slot++) {
		char name[32];
		child_cfg_t *cfg;

		child.if_id_in = child.if_id_out = slot;
		snprintf(name, sizeof(name), slot ? CHILD_CFG_NAME "-%u" : CHILD_CFG_NAME, slot);
		cfg = child_cfg_create(name, &child);
		/* charon's default is 32 (charon.replay_window); ours is docs/config.md's */
		cfg->set_replay_window(cfg, s->replay_window);
		if (!add_proposals(s->esp_proposals, PROTO_ESP, NULL, cfg)) {
			cfg->destroy(cfg);
			DESTROY_IF(this->public.child_cfg);
			this->public.peer_cfg->destroy(this->public.peer_cfg);
			this->public.child_cfg = NULL;
			this->public.peer_cfg = NULL;
			return FALSE;
		}
		cfg->add_traffic_selector(cfg, TRUE, vtep_ts(s->local_vtep));
		cfg->add_traffic_selector(cfg, FALSE, vtep_ts(s->peer_vtep));
		this->public.peer_cfg->add_child_cfg(this->public.peer_cfg, cfg->get_ref(cfg));
		if (slot == 0)
			this->public.child_cfg = cfg;
		else
			cfg->destroy(cfg);
		if (check_only)
			break;
	}
	if (check_only) {
		this->public.child_cfg->destroy(this->public.child_cfg);
		this->public.peer_cfg->destroy(this->public.peer_cfg);
		this->public.child_cfg = NULL;
		this->public.peer_cfg = NULL;
	}
	return TRUE;
}

static bool usable(struct private_peer_config *this)
{
	return this->public.peer_cfg && (this->s.auth == IKE_AUTH_PSK || this->peer_cert);
}

/*
 * The peer failed authentication. With pinned raw keys this means it signed
 * with a key other than the one pinned at pairing (re-installed, its state
 * lost, or an impostor); charon only says "signature validation failed". Say
 * it in one line, at most every 10 s (both sides retry every second or so).
 * Raw public keys are not sent in IKE, so the key it used is not known here:
 * the peer's own log and `isthmusctl status` there show its fingerprint.
 */
static bool on_alert(listener_t *l, ike_sa_t *ike_sa, alert_t alert, va_list args)
{
	struct private_peer_config *this = (void *)((char *)l - offsetof(struct private_peer_config, listener));
	char fpr[2 * FINGERPRINT_LEN + 1] = "none";
	host_t *other;
	time_t now = time(NULL);
	public_key_t *key;

	if (alert != ALERT_PEER_AUTH_FAILED || this->s.auth != IKE_AUTH_PUBKEY)
		return TRUE;
	atomic_fetch_add_explicit(&refused_total, 1, memory_order_relaxed);
	this->lock->write_lock(this->lock);
	if (now - this->last_refusal < 10) {
		this->refusals++;
		this->lock->unlock(this->lock);
		return TRUE;
	}
	if (this->peer_cert && (key = this->peer_cert->get_public_key(this->peer_cert))) {
		identity_fingerprint_hex(key, fpr);
		key->destroy(key);
	}
	other = ike_sa ? ike_sa->get_other_host(ike_sa) : NULL;
	isd_log(LOG_WARNING, DBG_DMN, "isthmusd: REFUSED peer %s at %H: it did not sign with the key pinned at pairing "
	     "(fingerprint %s); its identity key changed or it is not our peer. If it was "
	     "re-installed, pair again (isthmusctl unpair, pairing-token, pair)%s",
	     this->s.peer_id, other, fpr, this->refusals ? " [and earlier refusals]" : "");
	this->last_refusal = now;
	this->refusals = 0;
	this->lock->unlock(this->lock);
	return TRUE;
}

/* backend_t: a single connection, offered only once the peer is known. */
static enumerator_t *create_ike_cfg_enumerator(backend_t *b, host_t *me, host_t *other)
{
	struct private_peer_config *this = (struct private_peer_config *)b;
	enumerator_t *en;

	this->lock->read_lock(this->lock);
	if (!usable(this)) {
		this->lock->unlock(this->lock);
		return enumerator_create_empty();
	}
	en = enumerator_create_single(
		this->public.peer_cfg->get_ike_cfg(this->public.peer_cfg), NULL);
	return enumerator_create_cleaner(en, (void *)this->lock->unlock, this->lock);
}

static enumerator_t *create_peer_cfg_enumerator(backend_t *b, identification_t *me,
						identification_t *other)
{
	struct private_peer_config *this = (struct private_peer_config *)b;
	enumerator_t *en;

	this->lock->read_lock(this->lock);
	if (!usable(this)) {
		this->lock->unlock(this->lock);
		return enumerator_create_empty();
	}
	en = enumerator_create_single(this->public.peer_cfg, NULL);
	return enumerator_create_cleaner(en, (void *)this->lock->unlock, this->lock);
}

static peer_cfg_t *get_peer_cfg_by_name(backend_t *b, char *name)
{
	struct private_peer_config *this = (struct private_peer_config *)b;
	peer_cfg_t *cfg = NULL;

	this->lock->read_lock(this->lock);
	if (usable(this) && streq(name, PEER_CFG_NAME))
		cfg = this->public.peer_cfg->get_ref(this->public.peer_cfg);
	this->lock->unlock(this->lock);
	return cfg;
}

static bool load_psk(struct private_peer_config *this, char *err, size_t errlen)
{
	chunk_t *blob, secret;
	struct stat st;

	/* the same rule as the identity key's (identity.c): a secret that other
	 * users may read is refused, not used */
	if (stat(this->s.psk_file, &st) == 0 && (st.st_mode & 077)) {
		snprintf(err, errlen, "group or others may access the PSK file %s (mode %03o): "
			 "refusing to use it; chmod 600 it", this->s.psk_file,
			 (unsigned)(st.st_mode & 0777));
		return FALSE;
	}
	blob = chunk_map(this->s.psk_file, FALSE);
	if (!blob) {
		snprintf(err, errlen, "cannot read the PSK file %s", this->s.psk_file);
		return FALSE;
	}
	secret = chunk_clone(*blob);
	chunk_unmap_clear(blob);
	while (secret.len && (secret.ptr[secret.len - 1] == '\n' || secret.ptr[secret.len - 1] == '\r'))
		secret.len--;
	if (secret.len < 16) {
		chunk_clear(&secret);
		snprintf(err, errlen, "the PSK in %s is shorter than 16 bytes", this->s.psk_file);
		return FALSE;
	}
	this->psk = shared_key_create(SHARED_IKE, secret);
	this->public.creds->add_shared(this->public.creds, this->psk->get_ref(this->psk),
				       this->local_id->clone(this->local_id),
				       this->peer_id->clone(this->peer_id), NULL);
	return TRUE;
}

struct peer_config *peer_config_create(const struct ike_settings *s, private_key_t *own,
				       public_key_t *peer, char *err, size_t errlen)
{
	struct private_peer_config *this;
	public_key_t *own_pub;

	INIT(this,
		.public = {
			.backend = {
				.create_ike_cfg_enumerator = create_ike_cfg_enumerator,
				.create_peer_cfg_enumerator = create_peer_cfg_enumerator,
				.get_peer_cfg_by_name = get_peer_cfg_by_name,
			},
			.creds = mem_cred_create(),
		},
		.listener = {
			.alert = on_alert,
		},
		.peer_creds = mem_cred_create(),
		.lock = rwlock_create(RWLOCK_TYPE_DEFAULT),
		.local_id = identification_create_from_string((char *)s->local_id),
		.peer_id = identification_create_from_string((char *)s->peer_id),
		.own_key = own,
		.s = *s,
	);

	if (s->auth == IKE_AUTH_PSK) {
		if (!load_psk(this, err, errlen))
			goto fail;
	} else {
		own_pub = own->get_public_key(own);
		this->own_cert = own_pub ? pubkey_cert(own_pub, this->local_id) : NULL;
		DESTROY_IF(own_pub);
		if (!this->own_cert) {
			snprintf(err, errlen, "cannot wrap the identity key (pubkey plugin loaded?)");
			goto fail;
		}
		this->public.creds->add_key(this->public.creds, own->get_ref(own));
		this->public.creds->add_cert(this->public.creds, TRUE,
					     this->own_cert->get_ref(this->own_cert));
	}
	/* check the proposals now, whether or not a peer is known yet */
	if (!build(this, TRUE)) {
		snprintf(err, errlen, "invalid IKE or ESP proposals in the configuration");
		goto fail;
	}
	lib->credmgr->add_set(lib->credmgr, &this->public.creds->set);
	lib->credmgr->add_set(lib->credmgr, &this->peer_creds->set);
	charon->backends->add_backend(charon->backends, &this->public.backend);
	charon->bus->add_listener(charon->bus, &this->listener);
	peer_config_set_peer_key(&this->public, peer);
	return &this->public;
fail:
	DESTROY_IF(peer);
	peer_config_destroy(&this->public);
	return NULL;
}

void peer_config_set_peer_key(struct peer_config *pc, public_key_t *peer)
{
	struct private_peer_config *this = (struct private_peer_config *)pc;
	certificate_t *cert = peer ? pubkey_cert(peer, this->peer_id) : NULL;

	DESTROY_IF(peer);
	this->lock->write_lock(this->lock);
	this->peer_creds->clear(this->peer_creds);
	DESTROY_IF(this->peer_cert);
	this->peer_cert = cert;
	if (cert)
		this->peer_creds->add_cert(this->peer_creds, TRUE, cert->get_ref(cert));
	/* the remote auth round references the pinned certificate: rebuild */
	build(this, FALSE);
	this->lock->unlock(this->lock);
}

void peer_config_destroy(struct peer_config *pc)
{
	struct private_peer_config *this = (struct private_peer_config *)pc;

	if (!pc)
		return;
	charon->backends->remove_backend(charon->backends, &this->public.backend);
	charon->bus->remove_listener(charon->bus, &this->listener);
	lib->credmgr->remove_set(lib->credmgr, &this->public.creds->set);
	lib->credmgr->remove_set(lib->credmgr, &this->peer_creds->set);
	DESTROY_IF(this->public.peer_cfg);
	DESTROY_IF(this->public.child_cfg);
	DESTROY_IF(this->own_cert);
	DESTROY_IF(this->peer_cert);
	DESTROY_IF(this->psk);
	DESTROY_IF(this->own_key);
	this->public.creds->destroy(this->public.creds);
	this->peer_creds->destroy(this->peer_creds);
	this->local_id->destroy(this->local_id);
	this->peer_id->destroy(this->peer_id);
	this->lock->destroy(this->lock);
	free(this);
}

unsigned long peer_config_refused(void)
{
	return atomic_load_explicit(&refused_total, memory_order_relaxed);
}
