/**
 * @file dp.h
 * The dataplane's shared state (struct dp) and one worker's private state
 * (struct worker). Read-mostly tables are written at start-up (and later by
 * the control socket, behind rte_rcu_qsbr); workers never take locks.
 */
#ifndef ISTHMUS_DP_H
#define ISTHMUS_DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ip_frag.h>
#include <rte_mbuf.h>
#include <rte_meter.h>
#include <rte_spinlock.h>

#include "config.h"
#include "esp.h"
#include "exception.h"
#include "nexthop.h"
#include "stats.h"

#define DP_MAX_WORKERS 64
#define RXWAIT_MAX_FDS 32           /**< kernel sockets an idle worker can wait on */
#define DP_SEG_NONE 0xffff
#define DP_TXQ_RING 0xffff      /**< worker transmits through the port's TX ring */
#define VXLAN_PORT 4789         /**< RFC 7348 section 5 */

/** Bytes in front of the inner frame on the wire: outer Ethernet, IPv4,
 * UDP, ESP header and IV, inner IPv4, UDP and VXLAN. */
#define TUN_OUTER_LEN (RTE_ETHER_HDR_LEN + 20 + 8)
#define TUN_INNER_LEN (20 + 8 + 8)
#define TUN_HDR_LEN (TUN_OUTER_LEN + ESP_PAYLOAD_OFF + TUN_INNER_LEN)
/** Outer IPv4 bytes around an inner frame, at most (docs/design.md: 98 to 101). */
#define TUN_IP_OVERHEAD (20 + 8 + ESP_MAX_OVERHEAD + TUN_INNER_LEN)

/** Print to stderr and abort: an impossible state, a bug. */
#define fatal(...) do { fprintf(stderr, "isthmus-dp: fatal: " __VA_ARGS__); \
			 fputc('\n', stderr); abort(); } while (0)

enum port_role { PORT_LOCAL = 0, PORT_UPLINK = 1 };

/** Storm control classes (storm.c): frames flooded into the tunnel. */
enum storm_class {
	STORM_BROADCAST = 0,
	STORM_MULTICAST = 1,
	STORM_UNKNOWN = 2,      /**< unicast to a MAC not in the table */
	STORM_CLASSES
};

/** A DPDK port as the dataplane uses it. */
struct dp_port {
	uint16_t port_id;        /**< DPDK port id */
	uint16_t idx;            /**< index in dp->port[] */
	enum port_role role;
	enum cfg_local_mode mode;/**< local ports */
	char name[DP_NAME_LEN];
	struct rte_ether_addr mac;
	uint16_t nb_rxq, nb_txq;
	uint16_t max_frame;      /**< largest frame accepted on RX (local ports) */
	/**
	 * TX plan: when the port has fewer TX queues than there are workers
	 * (single-queue vdevs), workers other than tx_owner enqueue to this
	 * multi-producer ring and tx_owner drains it into queue 0. NULL when
	 * every worker has its own queue.
	 */
	struct rte_ring *tx_ring;
	unsigned tx_owner;
	/** Trunk: VLAN id -> segment index (DP_SEG_NONE); [0] is the untagged segment. */
	uint16_t vlan_seg[4096];
};

/** An extended L2 segment: a local VLAN (or access port) <-> a VNI. */
struct segment {
	char name[DP_NAME_LEN];
	uint16_t idx;
	uint16_t port;           /**< dp->port[] index of its local port */
	uint16_t vlan;           /**< 802.1Q id on a trunk, DP_VLAN_UNTAGGED otherwise */
	uint32_t vni;
	uint32_t vxlan_vni_be;   /**< VNI << 8, network order: the VXLAN word */
	uint32_t mac_limit;
	uint32_t aging_s;
	_Atomic uint32_t mac_count;
	_Atomic uint64_t limit_hits;
	bool removed;            /**< unextended at run time: the slot is never reused */
	/* first-hop router (gateway.c) */
	rte_be32_t gw_ip;        /**< gateway address, 0: none configured */
	uint8_t gw6[16];         /**< gateway IPv6 address, if has_gw6 */
	bool has_gw6;
	bool gw_local;           /**< the gateway is on this site (cutover sets it) */
	bool local_egress;       /**< answer ARP for gw_ip / ND for gw6 here, with router_mac */
	bool announce;           /**< a gratuitous ARP is due (cutover) */
	struct rte_ether_addr router_mac; /**< the local first-hop router */
	/* TCP MSS clamping (mss.c) */
	uint16_t mss4, mss6;     /**< largest MSS in IPv4 / IPv6 SYNs, 0: clamping off */
	/* storm control (storm.c) */
	uint8_t storm_on;        /**< bit (1 << enum storm_class) per limited class */
	struct rte_meter_srtcm_profile storm_prof[STORM_CLASSES]; /**< per-worker rate */
	/* L2 safety (l2guard.c) */
	uint16_t flap_moves;     /**< moves allowed in flap_window_s before a flap */
	uint32_t flap_window_s;
	uint32_t flap_dampen_s;  /**< 0: report only */
	/** Written by workers during a loop or a flap storm: on a line of their own,
	 * away from the fields every packet reads. */
	struct {
		_Atomic uint64_t mac_flaps, loops, ip_conflicts;
		_Atomic uint32_t report_s[3]; /**< last report per kind: one a second */
	} guard __rte_cache_aligned;
	/* path-MTU help (pmtu.c); the ICMPv6 source is gw6 */
	bool pmtu;               /**< answer oversize DF IPv4 / IPv6 frames with ICMP */
	uint16_t pmtu_ip_mtu;    /**< largest inner IP packet that crosses unfragmented */
	struct rte_meter_srtcm_profile pmtu_prof; /**< pmtu_rate, split over the workers */
};

/** One worker's storm-control buckets of one segment (storm.c). */
struct storm_state {
	struct rte_meter_srtcm m[STORM_CLASSES];
	uint64_t drops[STORM_CLASSES];   /**< per segment, summed in reports */
};

/** Inbound SA and what the policy check needs to know about it. */
struct sa_in {
	struct esp_sa *sa;
	uint32_t spi;
	uint32_t peer_ip;        /**< outer source it must come from */
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

/** Outbound SA as the main lcore tracks it (sa.c). */
struct sa_out {
	struct esp_sa *sa;
	uint32_t spi;
	int worker;              /**< worker sealing with it, -1: waiting for one */
	uint64_t added_ms;
	uint64_t last_packets;
	uint64_t last_change_ms;
	uint64_t retire_ms;      /**< retired (sa_retire_all): deleted at this time; 0: not */
	bool esn;
	enum esp_cipher cipher;
};

#define DP_MAX_SA 256            /**< inbound and outbound SAs, each */

struct fdb;
struct l2guard;

/** Everything shared by workers. */
struct dp {
	const struct dp_config *cfg;
	struct rte_mempool *pool;
	struct dp_port port[DP_MAX_PORTS];
	uint16_t nb_ports;
	uint16_t uplink;                 /**< index of the uplink in port[] */
	struct segment *seg;             /**< cfg->nb_seg segments */
	uint16_t nb_seg;
	struct rte_hash *vni_hash;       /**< VNI -> segment index */
	struct fdb *fdb;
	struct l2guard *guard;           /**< MAC flaps, loops, IP conflicts (l2guard.h) */
	struct rte_hash *spi_hash;       /**< SPI -> struct sa_in * (lock-free readers) */
	struct sa_in *sa_in[DP_MAX_SA];  /**< main lcore's list of inbound SAs */
	uint16_t nb_sa_in;
	struct sa_out *sa_out[DP_MAX_SA];/**< main lcore's list of outbound SAs */
	uint16_t nb_sa_out;
	struct rte_rcu_qsbr *qsbr;       /**< workers report quiescent states here */
	struct nexthop nh;               /**< peer's next-hop MAC (nexthop.h) */
	bool nexthop_fixed;              /**< peer_mac= in the config: never resolved */
	struct rte_ring *exc_ring;       /**< workers -> main lcore: exception packets, policed */
	struct rte_ring *exc_ike_ring;   /**< workers -> main lcore: the peer's IKE, served first */
	struct rte_meter_srtcm_profile exc_prof; /**< [uplink] exception_rate, split over workers */
	bool exc_policed;                /**< exception_rate is not 0 */
	struct exc_path exc;             /**< kernel TAP, when [uplink] tap= is set */
	bool exc_tap;
	struct dp_stats main_stats;      /**< counters of the main lcore */
	struct worker *worker[DP_MAX_WORKERS];
	unsigned nb_workers;
	uint64_t tsc_hz;
	uint64_t fdb_aged;                /**< entries removed by aging (main lcore) */
	uint32_t gw_announce;            /**< some segment has announce set (gateway.c) */
	struct ctl_server *ctl;          /**< control socket (ctl_dp.c) */
	uint64_t boot_id;                /**< random per start: clients notice restarts */
	volatile bool stop;
};

/** A queue a worker polls. */
struct rxq {
	uint16_t port;                   /**< dp->port[] index */
	uint16_t queue;
};

/** Packets gathered for one port during a burst. */
struct txbuf {
	uint16_t n;
	struct rte_mbuf *pkts[DP_BURST_MAX];
};

/** One run-to-completion worker (one lcore). */
struct worker {
	struct dp_stats stats;           /**< first: own cache lines */
	struct dp *dp;
	unsigned idx;
	unsigned lcore;
	uint16_t burst;
	struct rxq rxq[DP_MAX_PORTS * 4];
	uint16_t nb_rxq;
	uint16_t txq[DP_MAX_PORTS];      /**< TX queue per port, or DP_TXQ_RING */
	struct txbuf tx[DP_MAX_PORTS];
	struct esp_sa *sa_out;           /**< this worker's own outbound SA */
	uint16_t udp_src_be;             /**< this worker's own UDP source port */
	uint16_t ip_id;                  /**< outer IPv4 identification */
	uint16_t ip_id_step;             /**< workers (power of 2): IDs never shared (reass.c) */
	uint32_t inner_sum, outer_sum;   /**< IPv4 checksum bases (encap.h) */
	uint32_t now_s;                  /**< coarse clock for MAC aging, per burst */
	uint32_t idle_rounds;            /**< adaptive RX: rounds in a row without a packet */
	int wake_fd;                     /**< eventfd: others wake this worker (rxwait.c) */
	uint32_t blocked;                /**< in rxwait_block(): kick it to wake it */
	uint16_t nb_wait_fds;            /**< 0: cannot block, sleep in steps instead */
	int wait_fds[RXWAIT_MAX_FDS];    /**< AF_PACKET sockets of its queues + wake_fd */
	struct storm_state *storm;       /**< per segment index; NULL: no storm control anywhere */
	/* outer reassembly (reass.c) and path-MTU rate limit (pmtu.c) */
	struct rte_ip_frag_tbl *reass_tbl;
	struct rte_ring *handoff;        /**< packets of SAs this worker opens, from other workers */
	uint64_t reass_next_expiry;      /**< TSC of the next sweep for timed-out datagrams */
	uint64_t reass_seq;              /**< fragments received: the clock's distance part (reass.c) */
	uint64_t reass_dist_cycles;      /**< what one fragment adds to the reassembly clock */
	struct rte_meter_srtcm *pmtu_meter; /**< one per segment (DP_MAX_SEGMENTS) */
	struct rte_meter_srtcm exc_meter;   /**< exception path's policed class (exception_dp.c) */
	struct rte_ip_frag_death_row reass_dr; /**< fragments to free (large: last) */
} __rte_cache_aligned;

/* dp.c */
/**
 * Bring the dataplane up from a loaded configuration: one worker per EAL
 * worker lcore, ports, segments, SAs, MAC table, exception path. Nothing
 * runs until dp_launch(). On failure call dp_fini() all the same.
 * @return 0, or -1 with a reason in @p err
 */
int dp_init(struct dp *dp, const struct dp_config *cfg, char *err, size_t errlen);
/** Start every worker on its lcore (they return at once if dp->stop is set). */
void dp_launch(struct dp *dp);
/** Stop the workers and send what they left in the TX rings. */
void dp_halt(struct dp *dp);
/** Release everything dp_init() made (ports are stopped and closed). */
void dp_fini(struct dp *dp);

/* port.c */
/** Probe/find, configure and start every port of the config; plan RX/TX queues. */
int ports_init(struct dp *dp, char *err, size_t errlen);
/** Give each worker its RX queues and TX queues or rings. */
void ports_assign(struct dp *dp);
/** Queue packets from the main lcore on port @p p's TX ring (takes ownership). */
void port_tx_from_main(struct dp *dp, uint16_t p, struct rte_mbuf **pkts, uint16_t n);
/** Transmit what a worker gathered for port @p p (takes ownership of every mbuf). */
void port_tx_flush(struct worker *w, uint16_t p);
/** TX owner: move packets other workers queued for @p p onto the wire. */
void port_tx_drain_ring(struct worker *w, uint16_t p);
/** Send what is left in the TX rings. Workers must be stopped. */
void ports_drain(struct dp *dp);
/** Stop and close every port (flushes pcap files). Workers must be stopped. */
void ports_close(struct dp *dp);

/** Queue one packet for transmission on port @p p (flushed at end of burst). */
static inline void port_tx_queue(struct worker *w, uint16_t p, struct rte_mbuf *m)
{
	struct txbuf *b = &w->tx[p];

	b->pkts[b->n++] = m;
	if (unlikely(b->n == DP_BURST_MAX))
		port_tx_flush(w, p);
}

/* segment.c */
int segments_init(struct dp *dp, char *err, size_t errlen);
/** Segment of VNI @p vni (host order), or NULL. Lock-free read. */
struct segment *segment_by_vni(const struct dp *dp, uint32_t vni);
/**
 * Extend a segment at run time (main lcore): local port by name, VLAN (0:
 * untagged on an access port), VNI. @return 0, or a negative errno with a
 * reason in @p err
 */
int segment_add(struct dp *dp, const char *name, const char *port, uint16_t vlan, uint32_t vni,
		char *err, size_t errlen);
/** Unextend the segment with this VNI (main lcore). @return 0 or -ENOENT */
int segment_del(struct dp *dp, uint32_t vni);

/* sa.c */
/** What an SA is made from (the config's [sa.static] or the control socket). */
struct sa_spec {
	enum esp_dir dir;
	uint32_t spi;
	enum esp_cipher cipher;
	bool esn;
	uint32_t replay_window;
	const uint8_t *keymat;   /**< ESP_KEYMAT_LEN bytes */
	int worker;              /**< outbound: preferred worker, -1: any */
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

/* outbound.c / inbound.c / exception_dp.c */
/** Local port RX -> tunnel. Takes ownership of the @p n mbufs. */
void outbound_input(struct worker *w, struct dp_port *lp, struct rte_mbuf **pkts, uint16_t n);
/** Uplink RX -> local ports or exception path. Takes ownership. */
void inbound_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/** The same for packets another worker handed over (w->handoff): not counted as uplink_rx again. */
void inbound_handed(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/**
 * The exception path hook, policed class: uplink packets for the appliance
 * itself (ARP, ICMP, NAT keepalives, pairing, IKE not from the configured
 * peer). Takes ownership. Those within [uplink] exception_rate reach the main
 * lcore through dp->exc_ring; the rest are dropped and counted
 * (drop_exception_policed, drop_exception_full).
 */
void exception_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/**
 * The exception path hook, priority class: IKE from the configured peer's
 * address (uplink_classify() said UPLINK_IKE). Takes ownership; not policed;
 * through dp->exc_ike_ring, which the main lcore serves first
 * (exception_ike, drop_exception_ike_full).
 */
void exception_input_ike(struct worker *w, struct rte_mbuf **pkts, uint16_t n);
/** Main lcore: serve the exception path (the peer's IKE first; ARP snooping
 * and requests; TAP in both directions). */
void exception_service(struct dp *dp);
/** Create the exception rings and, if configured, the kernel TAP. */
int exception_init(struct dp *dp, char *err, size_t errlen);
/** Set up each worker's policer of the exception path (after ports_assign():
 * the rate is split over the workers that poll the uplink). @return 0 or -1 */
int exception_policer_init(struct dp *dp, char *err, size_t errlen);
void exception_fini(struct dp *dp);

/* telemetry.c */
/** Register the /isthmus/... DPDK telemetry commands. @return 0 or -1 */
int telemetry_init(struct dp *dp);
/** Stop answering (before the tables go away). */
void telemetry_fini(void);
/** Main lcore: refresh what telemetry shows of the SAs. */
void telemetry_snapshot(const struct dp *dp);

/* ctl_dp.c */
/** Open the control socket RUN_DIR/dp.sock. */
int ctl_dp_open(struct dp *dp, char *err, size_t errlen);
/** Serve pending control requests (main lcore, never blocks). */
void ctl_dp_poll(struct dp *dp);
void ctl_dp_close(struct dp *dp);

/* gateway.c */
/**
 * Local egress: answer an ARP request (IPv6 neighbor solicitation) for the
 * segment's gateway with the local router's MAC, and keep the local router's own ARP / ND
 * for the gateway address from the tunnel. @return true if the frame was consumed
 */
bool gateway_outbound(struct worker *w, struct segment *s, struct rte_mbuf *m);
/** Whether a frame from the tunnel is the remote gateway's ARP or ND, to be stopped. */
bool gateway_inbound_blocked(const struct segment *s, struct rte_mbuf *m);
/** Main lcore: the gateway moves to this site; announce it. @return 0 or -1 */
int gateway_cutover(struct dp *dp, struct segment *s);
/** Worker 0: send the announcements cutover asked for. */
void gateway_announce(struct worker *w);

/* mss.c */
/**
 * The default MSS clamp for an uplink MTU: the largest MSS whose TCP segment,
 * in an untagged frame, fits the underlay after encapsulation without
 * fragmentation (the arithmetic is in mss.c and docs/conditioning.md).
 * @param ipv6 IPv6 (60 bytes of IP and TCP headers) rather than IPv4 (40)
 */
uint16_t mss_default(uint16_t uplink_mtu, bool ipv6);
/**
 * Lower the MSS option of a TCP SYN or SYN-ACK in frame @p m (as it travels in
 * the tunnel: tags inside it cost 4 bytes each) to the segment's clamp and
 * update the TCP checksum. Anything else passes untouched. Counts
 * mss_clamped, mss_missing, mss_malformed.
 */
void mss_clamp(struct worker *w, const struct segment *s, struct rte_mbuf *m);

/* storm.c */
extern const char *const storm_class_name[STORM_CLASSES];
/** Set up the segments' storm-control profiles and each worker's buckets
 * (after ports_assign(): rates are split by the workers polling a port). */
int storm_init(struct dp *dp, char *err, size_t errlen);
void storm_fini(struct dp *dp);
/** Frames of class @p k dropped on segment @p seg, over all workers. */
uint64_t storm_drops(const struct dp *dp, uint16_t seg, enum storm_class k);

/**
 * Whether a frame of class @p k on segment @p s may enter the tunnel now
 * (@p now: rte_rdtsc()). Counts a drop in the segment's per-worker counter;
 * the caller counts drop_storm_*.
 */
static inline bool storm_pass(struct worker *w, const struct segment *s, enum storm_class k,
			      uint64_t now)
{
	struct storm_state *st;

	if (likely(!(s->storm_on & (1u << k))))
		return true;
	st = &w->storm[s->idx];
	/* packet mode: every frame is 1 "byte" (storm.c) */
	if (rte_meter_srtcm_color_blind_check(&st->m[k], (struct rte_meter_srtcm_profile *)&s->storm_prof[k],
					      now, 1) == RTE_COLOR_GREEN)
		return true;
	st->drops[k]++;
	return false;
}
/* frag.c */
/**
 * Outer fragmentation (RFC 4459 section 4.2: after encryption): split the
 * sealed outer IPv4 packet @p m (outer Ethernet first, DF clear) into
 * fragments of at most [uplink] mtu bytes and queue them on the uplink.
 * Takes ownership of @p m; every failure is counted.
 */
void frag_output(struct worker *w, struct rte_mbuf *m);

/* reass.c */
/** Create each worker's reassembly table. @return 0, or -1 with a reason */
int reass_init(struct dp *dp, char *err, size_t errlen);
/** Free what is still in the tables (counted as drop_reass_shutdown). Workers stopped. */
void reass_fini(struct dp *dp);
/**
 * Add an outer IPv4 fragment for us (Ethernet first, single segment) to the
 * worker's table. Takes ownership of @p m. @return the whole datagram as one
 * single-segment mbuf when @p m completed it, else NULL (kept or dropped and
 * counted).
 */
struct rte_mbuf *reass_input(struct worker *w, struct rte_mbuf *m);
/** Free the fragments reass_input() let go of (once per burst). */
static inline void reass_flush(struct worker *w)
{
	if (w->reass_dr.cnt)
		rte_ip_frag_free_death_row(&w->reass_dr, 0);
}
/** Drop datagrams older than reass_timeout_ms (worker loop, a few times a second). */
void reass_expire(struct worker *w, uint64_t now_tsc);

/* pmtu.c */
/** Per-worker meters of the segments with pmtu = yes. @return 0 or -1 */
int pmtu_init(struct dp *dp, char *err, size_t errlen);
void pmtu_fini(struct dp *dp);
/**
 * Path-MTU help for a frame (802.1Q tag already removed) whose tunnel packet
 * would exceed the uplink MTU, on a segment with pmtu = yes: if it is IPv4
 * with DF set, or IPv6, send ICMP fragmentation needed / ICMPv6 packet too
 * big back out of the local port, from the segment's gateway address, within
 * pmtu_rate. @return true if the frame was consumed (answered; counted
 * drop_pmtu), false if it is to be fragmented as usual.
 */
bool pmtu_answer(struct worker *w, struct segment *s, struct rte_mbuf *m);

/* rxwait.c */
/** Find each worker's kernel sockets (net_af_packet queues) and make its eventfd. */
int rxwait_init(struct dp *dp);
/** Idle worker: block until a frame arrives, a kick, or @p timeout_ms. */
void rxwait_block(struct worker *w, int timeout_ms);
/** Wake @p w if it is blocked (frames queued for it, or stop). Any thread. */
void rxwait_kick(struct worker *w);
void rxwait_fini(struct dp *dp);

/* worker.c */
/** lcore entry point of a worker (arg: struct worker *). */
int worker_main(void *arg);
/**
 * One round of the worker loop: poll each RX queue once, run what came
 * through outbound_input()/inbound_input(), drain the TX rings this worker
 * owns, report a quiescent state. @p pkts: scratch of DP_BURST_MAX. The
 * caller must be registered and online in dp->qsbr (worker_main does it;
 * isthmus-bench dp drives rounds itself). @return packets received.
 */
uint32_t worker_round(struct worker *w, struct rte_mbuf **pkts);

#endif
