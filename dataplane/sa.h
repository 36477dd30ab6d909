/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file sa.h
 * The dataplane's SAs (sa.c): inbound by SPI (rte_hash, lock-free readers)
 * with the worker that opens each, outbound one per worker; added, deleted and
 * retired on the main lcore, freed after an RCU grace period.
 */
#ifndef ISTHMUS_DP_SA_H
#define ISTHMUS_DP_SA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp.h"

struct dp;

/** Inbound SA and what the policy check needs to know about it. */
struct sa_in {
	struct esp_sa *sa;
	uint32_t spi;
	/**
	 * Outer source it must come from: the peer's address as charon reports
	 * it (a NAT's, when the peer is behind one); sa_update() moves it after
	 * an authenticated IKE message (RFC 7296 section 2.23), never on ESP.
	 */
	_Atomic uint32_t peer_ip;
	uint32_t peer_vtep, local_vtep; /**< inner source and destination */
	/**
	 * Worker that opens it: SA_OWNER_NONE until a packet authenticated;
	 * SA_OWNER_TRYING | worker while that worker opens a burst of it on
	 * trial (inbound.c): confirmed after a good ICV, released after none.
	 */
	_Atomic int owner;
	int32_t hash_pos;        /**< position in spi_hash (freed after a grace period) */
	uint64_t last_packets;   /**< main lcore: idle tracking for SA_QUERY */
	uint64_t last_change_ms;
	uint64_t retire_ms;      /**< retired (sa_retire_all): deleted at this time; 0: not */
	uint32_t replay_window;  /**< as created (0 = the crypto default) */
	bool esn;
	enum esp_cipher cipher;
};

#define SA_OWNER_NONE (-1)       /**< struct sa_in's owner: no worker yet */
#define SA_OWNER_TRYING 0x100     /**< | worker index: claimed on trial, not authenticated yet */

/** The worker that opens @p in, or SA_OWNER_NONE (also while one only tries). */
static inline int sa_in_owner(const struct sa_in *in)
{
	int o = atomic_load_explicit(&((struct sa_in *)in)->owner, memory_order_acquire);

	return o & SA_OWNER_TRYING ? SA_OWNER_NONE : o;
}

/**
 * Where an outbound SA's packets go (RFC 3948 section 2.1): the address and
 * UDP ports charon reports for it, a NAT's when the peer is behind one. Eight
 * bytes, published to the worker as one 64-bit atomic (struct worker's
 * sa_outer), so a worker never pairs one address with another's port.
 */
struct sa_outer {
	uint32_t dst_ip;         /**< network order */
	uint16_t dst_port_be;    /**< the peer's NAT-T port (4500, or the NAT's mapping) */
	/**
	 * 0: the worker's own source port (src_port_base + worker, so the peer's
	 * RSS spreads the SAs); the SA's port (charon's, 4500) when a NAT is on
	 * the path. In front of the peer: a NAT that filters by address and port
	 * (RFC 4787 section 5; Linux conntrack) lets in only what comes from the
	 * port its mapping was made toward. In front of us: one mapping, kept
	 * by all our traffic and by charon's keepalives, which charon leaves
	 * out while ESP goes out (it cannot tell which port that used).
	 */
	uint16_t src_port_be;
};
_Static_assert(sizeof(struct sa_outer) == sizeof(uint64_t), "published as one atomic word");

static inline uint64_t sa_outer_pack(struct sa_outer o)
{
	uint64_t v;

	memcpy(&v, &o, sizeof(v));
	return v;
}

static inline struct sa_outer sa_outer_unpack(uint64_t v)
{
	struct sa_outer o;

	memcpy(&o, &v, sizeof(o));
	return o;
}

/** Outbound SA as the main lcore tracks it (sa.c). */
struct sa_out {
	struct esp_sa *sa;
	uint32_t spi;
	struct sa_outer outer;   /**< where it sends (sa_update() changes it) */
	int worker;              /**< worker sealing with it, -1: waiting for one */
	uint64_t added_ms;
	uint64_t last_packets;
	uint64_t last_change_ms;
	uint64_t retire_ms;      /**< retired (sa_retire_all): deleted at this time; 0: not */
	bool esn;
	enum esp_cipher cipher;
};

#define DP_MAX_SA 256            /**< inbound and outbound SAs, each */

/** What an SA is made from (the config's [sa.static] or the control socket). */
struct sa_spec {
	enum esp_dir dir;
	uint32_t spi;
	enum esp_cipher cipher;
	bool esn;
	uint32_t replay_window;
	const uint8_t *keymat;   /**< ESP_KEYMAT_LEN bytes */
	int worker;              /**< outbound: preferred worker, -1: any */
	uint32_t peer_ip;        /**< outbound: destination; inbound: source (network order) */
	uint16_t peer_port;      /**< outbound: UDP destination port (host order) */
	uint16_t local_port;     /**< outbound: UDP source port when @c nat (host order) */
	bool nat;                /**< a NAT on the path (ctl_dp.c says when): send from
				      local_port, the one port the NAT's mapping knows */
	uint64_t initial_seq;    /**< outbound: last sequence number used (TEST ONLY, [test]) */
};
/** Create the SA table and the SAs of [sa.static], if any. */
int sas_init(struct dp *dp, char *err, size_t errlen);
/**
 * Add an SA. Main lcore only. An outbound SA goes to a worker without one;
 * when every worker has one (a rekey), it takes over a worker whose SA is
 * retired, or else waits and takes over the worker whose SA is deleted next,
 * so no SA is ever sealed with by two workers and no worker is left without.
 * An SPI already held in that direction is refused (-EEXIST): installing the
 * same key again would restart its sequence numbers, i.e. reuse AEAD nonces
 * (and, inbound, empty its replay window).
 * @return 0, or a negative errno with a reason in @p err
 */
int sa_add(struct dp *dp, const struct sa_spec *spec, char *err, size_t errlen);
/**
 * Move an SA to the address and ports charon reports now (kernel-ipsec
 * update_sa: a NAT mapping changed, seen in an authenticated IKE message;
 * RFC 7296 section 2.23, RFC 3948). Only @c spi, @c dir, @c peer_ip,
 * @c peer_port, @c local_port and @c nat of @p spec are read. An
 * outbound SA's worker sees the new destination in one atomic store, from
 * its next burst on. Main lcore only. @return 0 or -ENOENT
 */
int sa_update(struct dp *dp, const struct sa_spec *spec);
/** Delete an SA after a grace period (rte_rcu_qsbr). @return 0 or -ENOENT */
int sa_del(struct dp *dp, uint32_t spi, enum esp_dir dir);
/**
 * Retire every SA held now: they belong to a control plane that is gone (an
 * isthmusd restarted). They keep working until replaced, at most @p grace_ms:
 * each new outbound SA takes over the worker of a retired one; retired inbound
 * SAs go SA_RETIRED_IN_LINGER_MS after the last retired outbound SA has gone.
 * Main lcore only. @return the number of SAs retired
 */
unsigned sa_retire_all(struct dp *dp, uint64_t grace_ms);
/** Delete retired SAs whose time has come. Main lcore, from its loop. */
void sa_service(struct dp *dp);
/** Retired inbound SAs stay this long after the last retired outbound SA
 *  (packets of the old SAs still in flight from the peer). */
#define SA_RETIRED_IN_LINGER_MS 3000
/** The SA with this SPI and direction, or NULL. Main lcore only. */
struct esp_sa *sa_find(struct dp *dp, uint32_t spi, enum esp_dir dir);
/** Milliseconds since the SA last carried a packet (UINT64_MAX: never). */
uint64_t sa_idle_ms(struct dp *dp, uint32_t spi, enum esp_dir dir, uint64_t now_ms);
void sas_free(struct dp *dp);

#endif
