/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pairing_svc.c: runs the pairing exchange of pairing.c for isthmusd, over UDP
 * on the underlay (site A listens on its uplink address only while a token is
 * open; the dataplane's exception path hands that port to the kernel), and
 * pins the peer's key: writes STATE_DIR/peer.pub and hands it to the IKE
 * configuration, so the next IKE_SA authenticates with it.
 */
#include "pairing_svc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <daemon.h>
#include <threading/thread.h>
#include <sodium.h>

#include "identity.h"
#include "isd_log.h"
#include "pairing.h"

#define PAIR_TRIES 8
#define PAIR_WAIT_MS 1000
#define REFUSALS_LOGGED 10 /* per token and kind: anyone can send to the port, the log
			    * must not fill */

struct pairing_svc {
	pthread_mutex_t lock;
	struct ike_settings s;
	struct peer_config *pc;
	chunk_t own_spki;          /**< our SubjectPublicKeyInfo (DER) */
	struct pairing_offer offer;/**< site A: the open offer */
	bool offer_open;
	thread_t *listener;             /**< strongSwan's thread: its per-thread state is freed at join */
	bool listener_running;
	volatile bool stop;
	pairing_svc_paired_fn paired;
};

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* Pin @p spki as the peer's key: on disk first, then in the IKE config. */
static int pin(struct pairing_svc *p, const uint8_t *spki, size_t len, char *err, size_t errlen)
{
	public_key_t *key = lib->creds->create(lib->creds, CRED_PUBLIC_KEY, KEY_ANY,
					       BUILD_BLOB_ASN1_DER, chunk_create((u_char *)spki, len),
					       BUILD_END);
	char path[512], fpr[2 * FINGERPRINT_LEN + 1] = "?";

	if (!key || key->get_type(key) != KEY_ED25519) {
		DESTROY_IF(key);
		snprintf(err, errlen, "the peer's key is not an Ed25519 public key");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", p->s.state_dir, PEER_PUB_FILE);
	if (!identity_save_pubkey(key, path)) {
		key->destroy(key);
		snprintf(err, errlen, "cannot write %s", path);
		return -1;
	}
	identity_fingerprint_hex(key, fpr);
	isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: paired with %s, key fingerprint %s", p->s.peer_id, fpr);
	peer_config_set_peer_key(p->pc, key);
	return 0;
}

static int udp_socket(uint32_t ip, uint16_t port, char *err, size_t errlen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = ip,
				  .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "cannot listen for pairing on %s:%u: %s",
			 inet_ntoa(sa.sin_addr), port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Site A: answer pairing requests until the offer is used and settled, expires,
 * or isthmusd stops. */
static void *listen_thread(void *arg)
{
	struct pairing_svc *p = arg;
	char err[256];
	unsigned refused[2] = { 0 }; /* malformed, other refusals */
	int fd = udp_socket(p->s.local_ip, p->s.pairing_port, err, sizeof(err));

	if (fd < 0) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: %s", err);
		return NULL;
	}
	while (!p->stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint8_t msg[PAIRING_MSG_MAX + 1], out[PAIRING_MSG_MAX], peer[PAIRING_SPKI_MAX];
		struct sockaddr_in from;
		socklen_t fromlen = sizeof(from);
		enum pairing_result r;
		size_t peer_len = 0, out_len = 0;
		ssize_t n;
		bool done;

		if (poll(&pfd, 1, 200) <= 0) {
			pthread_mutex_lock(&p->lock);
			done = !p->offer_open || now_s() > p->offer.t.expires;
			if (done && p->offer_open) {
				isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: pairing token expired unused");
				pairing_offer_wipe(&p->offer);
				p->offer_open = false;
			}
			pthread_mutex_unlock(&p->lock);
			if (done)
				break;
			continue;
		}
		n = recvfrom(fd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &fromlen);
		if (n <= 0)
			continue;
		pthread_mutex_lock(&p->lock);
		if (!p->offer_open) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		r = pairing_handle_request(&p->offer, p->own_spki.ptr, p->own_spki.len, msg, (size_t)n,
					   now_s(), peer, &peer_len);
		if (r == PAIRING_OK && pin(p, peer, peer_len, err, sizeof(err)) < 0) {
			isd_log(LOG_WARNING, DBG_DMN, "isthmusd: pairing request from %s refused: %s",
			     inet_ntoa(from.sin_addr), err);
			p->offer.used = false; /* nothing pinned: the token stays usable */
			r = PAIRING_BAD_MESSAGE;
		}
		if (r == PAIRING_OK || r == PAIRING_RETRANSMIT) {
			memcpy(out, p->offer.reply, p->offer.reply_len);
			out_len = p->offer.reply_len;
		} else {
			/* the offer stays open: a stray or hostile datagram must not
			 * end a pairing in progress */
			unsigned *cnt = &refused[r != PAIRING_BAD_MESSAGE];

			if (++*cnt <= REFUSALS_LOGGED)
				isd_log(LOG_WARNING, DBG_DMN, "isthmusd: pairing request from %s refused: %s%s",
				     inet_ntoa(from.sin_addr), pairing_result_str(r),
				     *cnt == REFUSALS_LOGGED ? " (further ones counted only)" : "");
			out_len = pairing_refusal(r, msg, (size_t)n, out, sizeof(out));
		}
		pthread_mutex_unlock(&p->lock);
		if (out_len)
			sendto(fd, out, out_len, 0, (struct sockaddr *)&from, fromlen);
		if (r == PAIRING_OK && p->paired)
			p->paired();
	}
	if (refused[0] > REFUSALS_LOGGED || refused[1] > REFUSALS_LOGGED)
		isd_log(LOG_WARNING, DBG_DMN, "isthmusd: %u malformed and %u other pairing requests refused while "
		     "the token was open", refused[0], refused[1]);
	close(fd);
	return NULL;
}

struct pairing_svc *pairing_svc_create(const struct ike_settings *s, private_key_t *own,
				       struct peer_config *pc, pairing_svc_paired_fn paired)
{
	struct pairing_svc *p = calloc(1, sizeof(*p));
	public_key_t *pub = own->get_public_key(own);

	if (!p || !pub || !pub->get_encoding(pub, PUBKEY_SPKI_ASN1_DER, &p->own_spki)) {
		DESTROY_IF(pub);
		free(p);
		return NULL;
	}
	pub->destroy(pub);
	pthread_mutex_init(&p->lock, NULL);
	p->s = *s;
	p->pc = pc;
	p->paired = paired;
	return p;
}

int pairing_svc_token(struct pairing_svc *p, unsigned ttl, char *token, size_t len, char *err,
		      size_t errlen)
{
	uint8_t fpr[PAIRING_FPR_LEN];

	crypto_hash_sha256(fpr, p->own_spki.ptr, p->own_spki.len);
	if (p->listener_running) {
		/* one offer at a time: a new token replaces the old one */
		p->stop = true;
		p->listener->join(p->listener);
		p->listener_running = false;
		p->stop = false;
	}
	pthread_mutex_lock(&p->lock);
	pairing_offer_init(&p->offer, p->s.local_ip, p->s.pairing_port, fpr, now_s(),
			   ttl ? ttl : PAIRING_TTL_DEFAULT);
	p->offer_open = true;
	if (pairing_token_encode(&p->offer.t, token, len) < 0) {
		pthread_mutex_unlock(&p->lock);
		snprintf(err, errlen, "token buffer too small");
		return -1;
	}
	pthread_mutex_unlock(&p->lock);
	p->listener = thread_create(listen_thread, p);
	if (p->listener == NULL) {
		snprintf(err, errlen, "cannot start the pairing listener");
		return -1;
	}
	p->listener_running = true;
	isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: pairing token issued, valid %u s", ttl ? ttl : PAIRING_TTL_DEFAULT);
	return 0;
}

int pairing_svc_pair(struct pairing_svc *p, const char *text, char *msg, size_t len)
{
	struct pairing_token t;
	uint8_t peer[PAIRING_SPKI_MAX];
	size_t peer_len = 0;
	unsigned stray = 0;
	int fd, rc = -1;

	if (pairing_token_decode(text, &t, msg, len) < 0) {
		isd_log(LOG_WARNING, DBG_DMN, "isthmusd: pairing failed: %s", msg);
		return -1;
	}
	if (now_s() > t.expires) {
		snprintf(msg, len, "this pairing token expired: ask for a new one");
		goto out;
	}
	if (t.ip != p->s.peer_ip) {
		char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &t.ip, a, sizeof(a));
		inet_ntop(AF_INET, &p->s.peer_ip, b, sizeof(b));
		snprintf(msg, len, "this token is from %s, but the configured peer is %s", a, b);
		goto out;
	}
	/* From the pairing port itself: the peer's dataplane hands only the
	 * pairing port (like IKE's 500 and 4500) to its kernel, so the answer
	 * must come back to it. */
	fd = udp_socket(p->s.local_ip, p->s.pairing_port, msg, len);
	if (fd < 0)
		goto out;
	rc = pairing_run(fd, &t, p->own_spki.ptr, p->own_spki.len, PAIR_TRIES, PAIR_WAIT_MS, peer,
			 &peer_len, &stray, msg, len);
	close(fd);
	if (stray)
		isd_log(LOG_INFO, DBG_DMN, "isthmusd: pairing: %u stray datagram(s) on the pairing port ignored",
		     stray);
	if (rc == 0) {
		pthread_mutex_lock(&p->lock);
		rc = pin(p, peer, peer_len, msg, len);
		pthread_mutex_unlock(&p->lock);
	}
	if (rc == 0) {
		snprintf(msg, len, "paired with %s", p->s.peer_id);
		if (p->paired)
			p->paired();
	}
out:
	/* every refusal, whether found here or by the peer, is logged once */
	if (rc < 0)
		isd_log(LOG_WARNING, DBG_DMN, "isthmusd: pairing failed: %s", msg);
	sodium_memzero(&t, sizeof(t));
	return rc;
}

/*
 * Close every IKE_SA (isthmusd has one peer) with its CHILD_SAs: a DELETE to
 * the peer (RFC 7296 section 1.4.1), then destroyed here at once (force), so
 * charon deletes the CHILD_SAs' SAs from the dataplane (kernel_dp.c del_sa)
 * without waiting for an answer that may never come. Unique ids first, then
 * terminate: the enumerator holds each IKE_SA checked out.
 * @return the number closed
 */
static unsigned close_tunnel(void)
{
	enumerator_t *en = charon->controller->create_ike_sa_enumerator(charon->controller, TRUE);
	uint32_t ids[16];
	unsigned n = 0, closed = 0;
	ike_sa_t *ike;

	while (n < countof(ids) && en->enumerate(en, &ike))
		ids[n++] = ike->get_unique_id(ike);
	en->destroy(en);
	for (unsigned i = 0; i < n; i++)
		if (charon->controller->terminate_ike(charon->controller, ids[i], TRUE, NULL, NULL,
						      0) == SUCCESS)
			closed++;
	return closed;
}

int pairing_svc_unpair(struct pairing_svc *p, char *msg, size_t len)
{
	char path[512];
	unsigned closed;

	if (p->s.auth == IKE_AUTH_PSK) {
		/* the connection stands on the PSK file: closing it would only
		 * see it come back */
		snprintf(msg, len, "[ike] auth = psk: there is no pinned key to forget (unpair is "
			 "for appliances paired with a token)");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", p->s.state_dir, PEER_PUB_FILE);
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(msg, len, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	/* No connection first (peer_config.c builds none without a pinned key):
	 * nothing initiates again (isthmusd.c keep_up, close_action) and the
	 * peer's next IKE_SA_INIT finds no configuration to answer with. */
	pthread_mutex_lock(&p->lock);
	peer_config_set_peer_key(p->pc, NULL);
	pthread_mutex_unlock(&p->lock);
	closed = close_tunnel();
	isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: unpaired from %s, %u IKE_SA(s) closed", p->s.peer_id, closed);
	snprintf(msg, len, "unpaired: the peer's key is forgotten, the tunnel closed (%u IKE_SA%s)",
		 closed, closed == 1 ? "" : "s");
	return 0;
}

void pairing_svc_destroy(struct pairing_svc *p)
{
	if (!p)
		return;
	if (p->listener_running) {
		p->stop = true;
		p->listener->join(p->listener);
	}
	pairing_offer_wipe(&p->offer);
	chunk_free(&p->own_spki);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
