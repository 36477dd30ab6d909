/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ctl_proto.h
 * The isthmus-dp control socket protocol, version 1 (docs/control-protocol.md).
 *
 * A unix SOCK_SEQPACKET socket: one message per datagram, so a message is never
 * split or merged, and a truncated or oversized one is seen as such. Every
 * request gets exactly one reply with the same @c seq: one message, or, when it
 * is larger than one message, a streamed reply of parts (struct ctl_part). All
 * integers are in host byte order (the socket is local), addresses in network
 * order.
 *
 * Users: isthmusd (SA hand-off from libcharon), isthmusctl (operator CLI), tests.
 * No DPDK here.
 */
#ifndef ISTHMUS_CTL_PROTO_H
#define ISTHMUS_CTL_PROTO_H

#include <stdint.h>

#define CTL_MAGIC 0x4d545349u   /**< "ISTM" read as little-endian bytes */
#define CTL_VERSION 1
#define CTL_MAX_MSG 65536       /**< largest message either side sends */
#define CTL_KEYMAT_LEN 36       /**< 32-byte key + 4-byte salt (ESP_KEYMAT_LEN) */
#define CTL_NAME_LEN 32         /**< segment names, NUL-terminated */
#define CTL_DEFAULT_PATH "/run/isthmus/dp.sock"

/** Message types. Replies carry the request type with CTL_REPLY set. */
enum ctl_type {
	CTL_HELLO = 1,     /**< no body; reply body: JSON {"version":..,"name":..} */
	CTL_SA_ADD = 2,    /**< struct ctl_sa_add; add or replace an SA */
	CTL_SA_DEL = 3,    /**< struct ctl_sa_id */
	CTL_SA_QUERY = 4,  /**< struct ctl_sa_id; reply body: struct ctl_sa_counters */
	CTL_SEG_ADD = 5,   /**< struct ctl_seg */
	CTL_SEG_DEL = 6,   /**< struct ctl_seg (name or vni) */
	CTL_STATS = 7,     /**< no body; reply body: JSON text */
	CTL_MACS = 8,      /**< no body; reply body: JSON text */
	CTL_SA_LIST = 9,   /**< no body; reply body: JSON text (no key material) */
	/* 10 was SA_FLUSH (delete every SA): isthmusd retires them instead (12);
	 * the number stays unused */
	CTL_SEG_CUTOVER = 11, /**< struct ctl_seg (by VNI): the gateway moves to this site */
	CTL_SA_RETIRE = 12, /**< struct ctl_sa_retire: every SA held now is left by a
			       control plane that is gone (isthmusd, when it starts) */
	CTL_SA_UPDATE = 13, /**< struct ctl_sa_update: an SA's outer addresses and ports
			       changed (a NAT mapping; charon's update_sa) */
	CTL_SEG_SET = 14,   /**< struct ctl_seg_set: extend with settings, apply, or check */
	CTL_PERFTEST = 15,  /**< struct ctl_perftest: start, poll or stop a test of the tunnel
			       with the peer's dataplane; reply: JSON (docs/perftest.md) */
	CTL_HA_SET = 16,    /**< struct ctl_ha: the HA role; reply JSON {"role", "previous"} */
	CTL_HA_ANNOUNCE = 17, /**< no body: announce the local MACs through the tunnel (RARP);
				 reply JSON {"started": 1 or 0} */
	CTL_TYPE_MAX,

	/* isthmusd's socket (same framing; isthmusctl is the client) */
	CTL_D_STATUS = 0x40,        /**< no body; reply: JSON status */
	CTL_D_PAIRING_TOKEN = 0x41, /**< struct ctl_d_token_req; reply: the token text */
	CTL_D_PAIR = 0x42,          /**< struct ctl_d_pair; reply: text */
	CTL_D_UNPAIR = 0x43,        /**< no body */
	CTL_D_SA_KEYS = 0x44,       /**< no body; reply: Wireshark esp_sa lines (keys!) */
	CTL_D_SEG = 0x45,           /**< struct ctl_d_seg: extend / unextend / cutover, agreed
				       with the peer; reply: text */
	CTL_D_RELOAD = 0x46,        /**< no body: re-read the configuration file; reply: text */
	CTL_D_SEGMENTS = 0x47,      /**< no body; reply: JSON, the agreed segment set */
	CTL_D_HA = 0x48,            /**< struct ctl_d_ha: keepalived's notify, or the HA
				       status; reply: text (notify) or JSON (status) */
	CTL_REPLY = 0x8000,
	CTL_PART = 0x4000, /**< with CTL_REPLY: one part of a streamed reply (struct ctl_part) */
};

/** Every message starts with this. */
struct ctl_hdr {
	uint32_t magic;   /**< CTL_MAGIC */
	uint16_t version; /**< CTL_VERSION */
	uint16_t type;    /**< enum ctl_type, | CTL_REPLY in replies */
	uint32_t len;     /**< total length including this header */
	uint32_t seq;     /**< chosen by the requester, echoed in the reply */
};

/** Reply: header, status, then a type-specific body (or an error message). */
struct ctl_reply {
	struct ctl_hdr h;
	int32_t status;   /**< 0, or a negative errno */
	uint32_t body_len;/**< bytes after this struct; error text if status < 0 */
};

/**
 * One part of a streamed reply: a reply body larger than one message travels
 * as parts 0, 1, 2... in order, each with its byte offset in the body; the last
 * has CTL_PART_MORE clear. A part whose status is negative ends the reply as an
 * error (its payload is the message). r.h.type is the request's type with
 * CTL_REPLY | CTL_PART; r.body_len counts the payload after this struct.
 * docs/control-protocol.md, "Streamed replies".
 */
struct ctl_part {
	struct ctl_reply r;
	uint32_t index;   /**< 0, 1, 2, ... */
	uint32_t flags;   /**< CTL_PART_MORE: more parts follow */
	uint64_t offset;  /**< of this payload in the whole body */
};

#define CTL_PART_MORE 1u
/** Largest payload of one part. */
#define CTL_PART_PAYLOAD_MAX (CTL_MAX_MSG - sizeof(struct ctl_part))
/** Largest body of a one-message reply. */
#define CTL_SINGLE_BODY_MAX (CTL_MAX_MSG - sizeof(struct ctl_reply))
/**
 * Largest reply body a client reassembles (isthmusctl): 256 MiB, about 1.5
 * million MAC table entries in MACS' JSON. A longer reply is refused, not cut.
 */
#define CTL_STREAM_MAX ((size_t)256 << 20)

enum ctl_sa_dir { CTL_SA_OUT = 0, CTL_SA_IN = 1 };

/** Add (or replace) an SA. The key material is wiped by both sides after use. */
struct ctl_sa_add {
	struct ctl_hdr h;
	uint32_t spi;          /**< host order */
	uint8_t dir;           /**< enum ctl_sa_dir */
	uint8_t cipher;        /**< enum esp_cipher */
	uint8_t esn;           /**< 0/1 */
	uint8_t flags;         /**< CTL_SA_F_* */
	uint32_t replay_window;/**< inbound; 0 = default */
	uint16_t worker;       /**< outbound: worker that owns it; 0xffff = any free */
	uint16_t reserved2;
	uint32_t src_ip;       /**< outer source, network order */
	uint32_t dst_ip;       /**< outer destination, network order */
	uint16_t src_port;     /**< UDP encapsulation ports, host order */
	uint16_t dst_port;
	uint8_t keymat[CTL_KEYMAT_LEN];
};

/**
 * ctl_sa_add / ctl_sa_update flags. CTL_SA_F_NAT_HERE: charon's NAT detection
 * found this appliance behind a NAT (RFC 7296 section 2.23; the peer's
 * hash of our address did not match). Reliable, unlike "the peer is behind a
 * NAT": forcing UDP encapsulation, charon fakes its own NAT detection
 * payloads, so each appliance always sees the other behind one.
 */
#define CTL_SA_F_NAT_HERE 0x01

/**
 * Move an SA to new outer addresses and ports (kernel-ipsec update_sa: a NAT
 * mapping changed, seen by charon in an authenticated IKE message, RFC 7296
 * section 2.23). Same address and port fields as ctl_sa_add.
 */
struct ctl_sa_update {
	struct ctl_hdr h;
	uint32_t spi;          /**< host order */
	uint8_t dir;           /**< enum ctl_sa_dir */
	uint8_t flags;         /**< CTL_SA_F_* */
	uint8_t reserved[2];
	uint32_t src_ip;       /**< outer source, network order */
	uint32_t dst_ip;       /**< outer destination, network order */
	uint16_t src_port;     /**< UDP encapsulation ports, host order */
	uint16_t dst_port;
};

/**
 * Retire the SAs held now (sa_retire_all): they keep forwarding until new
 * ones replace them, at most @c grace_s. Never deleted at once, so an isthmusd
 * restart costs no traffic; never installed again, so no nonce is reused.
 */
struct ctl_sa_retire {
	struct ctl_hdr h;
	uint32_t grace_s;
	uint32_t reserved;
};

/**
 * Sequence number at which isthmusd rekeys an SA without ESN (3/4 of 2^32):
 * at 10 Mpps the last quarter lasts 107 s, far more than a CREATE_CHILD_SA
 * exchange needs; the seal path stops at 2^32 - 1 whatever happens.
 */
#define CTL_SEQ_REKEY_32 ((uint64_t)0xC0000000u)

/** Identifies an SA. */
struct ctl_sa_id {
	struct ctl_hdr h;
	uint32_t spi;
	uint8_t dir;
	uint8_t reserved[3];
};

/** SA_QUERY reply body. */
struct ctl_sa_counters {
	uint64_t bytes;
	uint64_t packets;
	uint64_t errors;       /**< all rejection reasons summed */
	uint64_t seq;          /**< last sequence number used / highest accepted */
	uint64_t idle_ms;      /**< since the SA last carried a packet (UINT64_MAX: never) */
};

/** Segment add / delete. */
struct ctl_seg {
	struct ctl_hdr h;
	char name[CTL_NAME_LEN];
	char port[CTL_NAME_LEN];  /**< SEG_ADD: the local port ([local NAME]) */
	uint16_t vlan;         /**< 1..4094, or 0 for untagged on an access port */
	uint16_t reserved;
	uint32_t vni;          /**< 24 bits */
};

#define CTL_SEG_SPEC_LEN 1024 /**< segment settings text, NUL-terminated */

/** What CTL_SEG_SET does. */
enum ctl_seg_op {
	CTL_SEG_OP_ADD = 0,   /**< extend; refused if its VNI, name or VLAN is in use */
	CTL_SEG_OP_APPLY = 1, /**< extend, or bring the segment of this VNI to these settings */
	CTL_SEG_OP_CHECK = 2, /**< would ADD succeed? changes nothing */
};

/**
 * A segment with all its settings: @c spec holds the keys of a [segment NAME]
 * section as "key=value key=value ..." (docs/config.md), "vni" and "local"
 * included, parsed by the configuration file's own parser.
 */
struct ctl_seg_set {
	struct ctl_hdr h;
	char name[CTL_NAME_LEN];
	uint32_t op;           /**< enum ctl_seg_op */
	uint32_t reserved;
	char spec[CTL_SEG_SPEC_LEN];
};

/** What CTL_D_SEG asks isthmusd to agree with the peer. */
enum ctl_d_seg_op { CTL_D_EXTEND = 0, CTL_D_UNEXTEND = 1, CTL_D_CUTOVER = 2 };

/**
 * Extend (name, VNI and settings for each site), unextend or cut over (by
 * name, or by VNI when @c name is empty) a segment at both appliances.
 */
struct ctl_d_seg {
	struct ctl_hdr h;
	uint32_t op;           /**< enum ctl_d_seg_op */
	uint32_t vni;
	char name[CTL_NAME_LEN];
	char spec[CTL_SEG_SPEC_LEN];      /**< EXTEND: this site's settings */
	char peer_spec[CTL_SEG_SPEC_LEN]; /**< EXTEND: the peer's settings */
};

/** HA roles (CTL_HA_SET; docs/ha.md). */
enum ctl_ha_role { CTL_HA_ACTIVE = 1, CTL_HA_STANDBY = 2, CTL_HA_FAULT = 3 };

/** Set the dataplane's HA role. */
struct ctl_ha {
	struct ctl_hdr h;
	uint32_t role;         /**< enum ctl_ha_role */
	uint32_t reserved;
};

/** What CTL_D_HA asks. */
enum ctl_d_ha_op { CTL_D_HA_NOTIFY = 0, CTL_D_HA_STATUS = 1 };

/** keepalived's state for this member (notify), or the HA status. */
struct ctl_d_ha {
	struct ctl_hdr h;
	uint32_t op;           /**< enum ctl_d_ha_op */
	uint32_t reserved;
	char state[16];        /**< NOTIFY: MASTER, BACKUP, FAULT or STOP (NUL-terminated) */
};

/** Ask isthmusd for a one-time pairing token. */
struct ctl_d_token_req {
	struct ctl_hdr h;
	uint32_t ttl_s;        /**< validity; 0 = default (15 min) */
};

/** Pair with the appliance that printed @c token. */
struct ctl_d_pair {
	struct ctl_hdr h;
	char token[128];       /**< NUL-terminated */
};

/** What CTL_PERFTEST does. */
enum ctl_perftest_op {
	CTL_PERFTEST_START = 0,  /**< start a test with these parameters (-EBUSY if one runs) */
	CTL_PERFTEST_STATUS = 1, /**< where the test is, and its results so far */
	CTL_PERFTEST_STOP = 2,   /**< stop it (both dataplanes stop generating) */
};

#define CTL_PERFTEST_SIZES 8     /**< frame sizes of one test, at most */
#define CTL_PERFTEST_MIN_FRAME 64
#define CTL_PERFTEST_MAX_FRAME 1514
#define CTL_PERFTEST_MAX_DURATION_MS 60000u /**< per direction and frame size */
#define CTL_PERFTEST_MAX_PROBES 1000u
/**
 * The VNI isthmusctl perftest's frames carry inside the tunnel: never a
 * segment's (config.c refuses it), never delivered to a local port.
 */
#define CTL_PERFTEST_VNI 16777215u

/**
 * Start, poll or stop a perftest. START: frames of sizes[0..nb_sizes-1]
 * bytes (untagged Ethernet, as carried in the tunnel), each size for
 * duration_ms in each direction at rate_mbps (0: this appliance's
 * [appliance] perftest_max_rate, which also caps it), after @c probes
 * round-trip probes. The other fields are ignored by STATUS and STOP.
 */
struct ctl_perftest {
	struct ctl_hdr h;
	uint32_t op;            /**< enum ctl_perftest_op */
	uint32_t duration_ms;
	uint32_t rate_mbps;
	uint32_t probes;
	uint16_t sizes[CTL_PERFTEST_SIZES];
	uint16_t nb_sizes;
	uint16_t reserved[3];
};

/** Expected request body size for a type, or -1 when the type is unknown. */
static inline long ctl_request_size(uint16_t type)
{
	switch (type) {
	case CTL_HELLO:
	case CTL_STATS:
	case CTL_MACS:
	case CTL_SA_LIST:
	case CTL_D_STATUS:
	case CTL_D_UNPAIR:
	case CTL_D_SA_KEYS:
	case CTL_D_RELOAD:
	case CTL_D_SEGMENTS:
	case CTL_HA_ANNOUNCE:
		return sizeof(struct ctl_hdr);
	case CTL_HA_SET:
		return sizeof(struct ctl_ha);
	case CTL_D_HA:
		return sizeof(struct ctl_d_ha);
	case CTL_D_SEG:
		return sizeof(struct ctl_d_seg);
	case CTL_SEG_SET:
		return sizeof(struct ctl_seg_set);
	case CTL_PERFTEST:
		return sizeof(struct ctl_perftest);
	case CTL_D_PAIRING_TOKEN:
		return sizeof(struct ctl_d_token_req);
	case CTL_D_PAIR:
		return sizeof(struct ctl_d_pair);
	case CTL_SA_ADD:
		return sizeof(struct ctl_sa_add);
	case CTL_SA_DEL:
	case CTL_SA_QUERY:
		return sizeof(struct ctl_sa_id);
	case CTL_SEG_ADD:
	case CTL_SEG_DEL:
	case CTL_SEG_CUTOVER:
		return sizeof(struct ctl_seg);
	case CTL_SA_RETIRE:
		return sizeof(struct ctl_sa_retire);
	case CTL_SA_UPDATE:
		return sizeof(struct ctl_sa_update);
	default:
		return -1;
	}
}

#endif
