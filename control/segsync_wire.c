/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * segsync_wire.c: the segment agreements' datagrams (segsync.c; the layout in
 * docs/control-protocol.md "Segment agreements"): a header, a body, and an
 * Ed25519 signature by the sender's identity key, checked against the key
 * pinned by pairing; what fails is dropped and counted by reason.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <daemon.h>

#include "identity.h"
#include "isd_log.h"
#include "segsync_internal.h"

#define MAGIC "ISS1"

/* ---- the wire --------------------------------------------------------- */

/* The pinned key, read again when the file changed (pairing, unpairing). */
public_key_t *ss_peer_key(struct segsync *ss)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", ss->s.state_dir, PEER_PUB_FILE);
	if (stat(path, &sb) < 0) {
		DESTROY_IF(ss->peer);
		ss->peer = NULL;
		return NULL;
	}
	if (!ss->peer || sb.st_mtim.tv_sec != ss->peer_mtime.tv_sec ||
	    sb.st_mtim.tv_nsec != ss->peer_mtime.tv_nsec) {
		DESTROY_IF(ss->peer);
		ss->peer = identity_load_pubkey(path);
		ss->peer_mtime = sb.st_mtim;
	}
	return ss->peer;
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

/* Sign and send one message to the peer. @return 0 or -1 */
int ss_send_msg(struct segsync *ss, uint8_t type, const uint8_t nonce[NONCE_LEN],
		uint64_t version, int32_t status, const uint8_t digest[32], const void *body,
		size_t body_len)
{
	static __thread uint8_t buf[MSG_MAX];
	bool answer = type == SS_VOTE || type == SS_ACK || type == SS_SYNC_REPLY;
	struct sockaddr_in to = answer ? ss->reply_to : ss->peer_addr;
	uint64_t v = htobe64(version);
	chunk_t sig = chunk_empty;
	ssize_t n;

	if (!ss->own || body_len > SEGSTORE_TEXT_MAX)
		return -1;
	memset(buf, 0, HDR_LEN);
	memcpy(buf, MAGIC, 4);
	buf[4] = type;
	memcpy(buf + 8, nonce, NONCE_LEN);
	memcpy(buf + 24, &v, 8);
	put32(buf + 32, (uint32_t)status);
	put32(buf + 36, (uint32_t)body_len);
	if (digest)
		memcpy(buf + 40, digest, 32);
	memcpy(buf + HDR_LEN, body, body_len);
	if (!ss->own->sign(ss->own, SIGN_ED25519, NULL, chunk_create(buf, HDR_LEN + body_len), &sig) ||
	    sig.len != SIG_LEN) {
		chunk_free(&sig);
		return -1;
	}
	memcpy(buf + HDR_LEN + body_len, sig.ptr, SIG_LEN);
	chunk_free(&sig);
	n = sendto(ss->fd, buf, HDR_LEN + body_len + SIG_LEN, 0, (struct sockaddr *)&to, sizeof(to));
	return n < 0 ? -1 : 0;
}

#define DROPS_LOGGED 10 /* per reason: anyone on the path can send to the port */

/* Count a dropped datagram; log the first few of each reason. */
static void dropped(uint64_t *count, const char *why, const struct sockaddr_in *from)
{
	char a[INET_ADDRSTRLEN];

	if (++*count > DROPS_LOGGED)
		return;
	inet_ntop(AF_INET, &from->sin_addr, a, sizeof(a));
	isd_log(LOG_WARNING, DBG_DMN, "isthmusd: segment agreement datagram from %s:%u dropped: %s%s", a,
	     ntohs(from->sin_port), why, *count == DROPS_LOGGED ? " (further ones counted only)" : "");
}

/* Decode and authenticate a datagram. @return 0, or -1 (dropped and counted) */
int ss_decode(struct segsync *ss, const uint8_t *buf, size_t n, struct ss_msg *m,
	      const struct sockaddr_in *from)
{
	public_key_t *peer = ss_peer_key(ss);
	uint32_t body_len;
	uint64_t v;

	if (n < HDR_LEN + SIG_LEN || memcmp(buf, MAGIC, 4) ||
	    (body_len = get32(buf + 36)) != n - HDR_LEN - SIG_LEN) {
		dropped(&ss->drop_malformed, "malformed", from);
		return -1;
	}
	if (!peer || !peer->verify(peer, SIGN_ED25519, NULL,
				   chunk_create((u_char *)buf, HDR_LEN + body_len),
				   chunk_create((u_char *)buf + HDR_LEN + body_len, SIG_LEN))) {
		dropped(&ss->drop_signature, peer ? "not signed by the paired peer's key"
						  : "not paired", from);
		return -1;
	}
	m->type = buf[4];
	memcpy(m->nonce, buf + 8, NONCE_LEN);
	memcpy(&v, buf + 24, 8);
	m->version = be64toh(v);
	m->status = (int32_t)get32(buf + 32);
	memcpy(m->digest, buf + 40, 32);
	m->body = (const char *)buf + HDR_LEN;
	m->body_len = body_len;
	return 0;
}
