/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file config.h
 * The appliance configuration: an INI file parsed with DPDK's rte_cfgfile,
 * format documented in docs/config.md. Parsing only fills these structures;
 * nothing here touches ports or memory pools.
 */
#ifndef ISTHMUS_DP_CONFIG_H
#define ISTHMUS_DP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "esp.h"

#define DP_NAME_LEN 32
#define DP_DEVSPEC_LEN 256
#define DP_MAX_LOCAL_PORTS 8
#define DP_MAX_PORTS (DP_MAX_LOCAL_PORTS + 1)
#define DP_MAX_SEGMENTS 4096
#define DP_MAX_STATIC_SA 64
#define DP_VLAN_UNTAGGED 0    /**< segment carried without an 802.1Q tag */
#define DP_BURST_MAX 64
#define DP_RX_SPIN_US 0            /**< [appliance] rx_spin_us default (docs/config.md) */
#define DP_RX_NAP_US 100           /**< [appliance] rx_nap_us default (docs/config.md) */
/**
 * Largest [uplink]/[local] mtu with a driver = af_xdp port: net_af_xdp gives
 * the kernel the mbufs themselves (one page each, XDP_PACKET_HEADROOM in front),
 * and the largest local frame plus tunnel headers must fit one. The kernel's
 * own limit for native XDP on veth and virtio_net is a little higher (3506).
 */
#define CFG_AF_XDP_MAX_MTU 3300

/** A Linux interface driven through a kernel socket ([uplink]/[local] driver =). */
enum cfg_driver {
	CFG_DRV_NONE = 0,      /**< port = or vdev = : the device as given */
	CFG_DRV_AF_PACKET,     /**< net_af_packet: AF_PACKET sockets (PACKET_MMAP rings) */
	CFG_DRV_AF_XDP,        /**< net_af_xdp: AF_XDP sockets, an XDP program on the interface */
};

/** How a port is named in the configuration. */
struct cfg_portspec {
	char dev[DP_DEVSPEC_LEN]; /**< port index, device name, or vdev spec */
	bool is_vdev;             /**< dev is a vdev spec to probe at start-up */
	enum cfg_driver driver;   /**< set: dev was built from the keys below */
	char iface[16];           /**< driver: the Linux interface (IFNAMSIZ) */
	uint16_t queues;          /**< driver: its queues the port reads (one socket each) */
	uint16_t start_queue;     /**< af_xdp: the first of them */
	uint16_t busy_budget;     /**< af_xdp: preferred busy polling budget, 0: off */
	bool force_copy;          /**< af_xdp: XDP_COPY even where zero-copy is possible */
};

enum cfg_local_mode { CFG_LOCAL_ACCESS = 0, CFG_LOCAL_TRUNK = 1 };

/** Worker RX mode (docs/config.md, [appliance] rx_mode). */
enum cfg_rx_mode {
	CFG_RX_ADAPTIVE = 0, /**< poll while traffic flows, sleep a little longer each idle round */
	CFG_RX_POLL = 1,     /**< spin: dedicated cores, benchmarks */
};

struct cfg_local {
	char name[DP_NAME_LEN];
	struct cfg_portspec port;
	enum cfg_local_mode mode;
	uint16_t mtu;             /**< largest IP packet in a frame, without L2 header */
};

struct cfg_segment {
	char name[DP_NAME_LEN];
	uint32_t vni;             /**< 24 bits */
	uint16_t local;           /**< index into cfg.local */
	uint16_t vlan;            /**< 1..4094, or DP_VLAN_UNTAGGED */
	uint32_t mac_limit;
	uint32_t aging_s;
	uint32_t gateway;         /**< first-hop router address (network order), 0: none */
	uint8_t gateway6[16];     /**< its IPv6 address, if has_gateway6 */
	bool has_gateway6;
	bool gateway_local;       /**< the gateway lives on this site */
	bool local_egress;        /**< answer ARP / ND for it here with router_mac */
	struct rte_ether_addr router_mac;
	bool mss_clamp;           /**< clamp the MSS of TCP SYNs (default yes) */
	uint16_t mss;             /**< IPv4 clamp (IPv6: mss - 20), 0: derived from the uplink MTU */
	uint32_t storm_pps[3];    /**< storm control per enum storm_class, packets/s, 0: unlimited */
	uint32_t storm_burst;     /**< bucket size in packets, 0: one second at each class's rate */
	/* MAC flap detection (docs/l2-safety.md) */
	uint16_t flap_moves;      /**< moves allowed in flap_window before a flap */
	uint32_t flap_window;     /**< seconds */
	uint32_t flap_dampen;     /**< seconds a flapping MAC is dampened, 0: report only */
	/* path-MTU help (pmtu.c) */
	bool pmtu;                /**< answer oversize DF / IPv6 packets with ICMP */
	uint32_t pmtu_rate;       /**< ICMP messages per second, per segment */
};

/**
 * [ha]: this appliance is one member of an active/standby group (docs/ha.md).
 * keepalived (VRRPv3, RFC 5798) elects the active member and moves @c vip,
 * the floating uplink address, onto the active member's exception TAP.
 */
struct cfg_ha {
	bool enabled;             /**< [ha] present: the dataplane starts as standby */
	char group[DP_NAME_LEN];  /**< group name (reports, metrics) */
	uint32_t vip;             /**< floating uplink address (network order) */
	uint8_t vip_len;          /**< its prefix length on the TAP */
	uint8_t vrid;             /**< VRRP virtual router id, 1..255 */
	uint8_t priority;         /**< 1..254, the higher is preferred */
	bool preempt;             /**< a preferred member takes back over */
	uint32_t preempt_delay_s; /**< ... after this long healthy */
	uint32_t advert_ms;       /**< VRRP advertisement interval, ms (10 ms steps) */
	uint32_t unicast_peer;    /**< the other member's own address (unicast VRRP), 0: multicast */
};

/** A test-only static SA (section [sa.static]). */
struct cfg_static_sa {
	uint32_t spi;
	uint8_t keymat[ESP_KEYMAT_LEN];
};

struct dp_config {
	char path[256];
	/* [appliance] */
	char name[DP_NAME_LEN];
	enum cfg_rx_mode rx_mode;
	uint16_t burst;
	uint32_t rx_spin_us;      /**< adaptive RX: idle time spun before blocking */
	uint32_t rx_nap_us;       /**< adaptive RX: naps while traffic is recent, 0: none */
	uint32_t mbufs;
	uint32_t fdb_size;        /**< MAC table capacity over all segments */
	char run_dir[96];         /**< control sockets; default /run/isthmus/NAME */
	bool perftest;            /**< perftest = allow: take part in isthmusctl perftest */
	uint32_t perftest_max_rate; /**< Mbit/s: the most this site's generator sends */
	/* [uplink] */
	struct cfg_portspec uplink;
	uint32_t uplink_ip;       /**< network order, as all addresses here */
	uint32_t peer_ip;
	uint32_t gateway_ip;      /**< next hop toward the peer (= peer_ip if on-link) */
	uint32_t peer_route;      /**< prefix routed via gateway_ip on the TAP (network order) */
	uint8_t peer_route_len;   /**< its length; default: peer_ip/32 */
	bool peer_route_set;      /**< [uplink] peer_route given: routed even via the peer */
	bool peer_nat;            /**< the peer may appear at another address than peer_ip
				       (behind a NAT): SAs follow the address charon reports */
	struct rte_ether_addr peer_mac;
	bool peer_mac_set;
	uint16_t uplink_mtu;      /**< largest outer IPv4 packet (larger ones are fragmented) */
	uint32_t reass_flows;     /**< outer datagrams being reassembled at once, per worker */
	uint32_t reass_timeout_ms;/**< give up on an incomplete datagram after this */
	uint32_t local_vtep;
	uint32_t peer_vtep;
	uint16_t src_port_base;   /**< worker i sends from src_port_base + i */
	char tap[16];             /**< exception TAP interface name ("" = none) */
	uint8_t tap_prefix;       /**< prefix length of the uplink address on the TAP */
	uint32_t exc_rate;        /**< exception path, all but the peer's IKE: packets/s, 0: unpoliced */
	uint32_t exc_burst;       /**< its bucket, packets */
	/* [local NAME] */
	struct cfg_local local[DP_MAX_LOCAL_PORTS];
	uint16_t nb_local;
	/* [segment NAME] */
	struct cfg_segment *seg;  /**< nb_seg entries (allocated) */
	uint16_t nb_seg;
	/* [sa.static]: TEST ONLY */
	bool sa_static;
	enum esp_cipher cipher;
	enum esp_backend backend;
	bool esn;
	uint32_t replay_window;
	struct cfg_static_sa sa_out[DP_MAX_STATIC_SA]; /**< out.N: worker N */
	uint16_t nb_sa_out;
	struct cfg_static_sa sa_in[DP_MAX_STATIC_SA];  /**< in.N: peer worker N */
	uint16_t nb_sa_in;
	/* [ha]: an active/standby pair of appliances (docs/ha.md) */
	struct cfg_ha ha;
	/* [test]: TEST ONLY */
	uint64_t test_seq_start;  /**< outbound SAs from isthmusd start after this number */
};

/**
 * Load and validate a configuration file.
 *
 * @param path  INI file
 * @param cfg   filled on success; release with config_free()
 * @param err   reason on failure: "FILE:LINE: [section] key: what is wrong"
 *              (never contains key material)
 * @return 0 or -1
 */
int config_load(const char *path, struct dp_config *cfg, char *err, size_t errlen);

#define CFG_SPEC_MAX 1023 /**< segment settings as text ("key=value ..."), at most */

/**
 * Parse one segment's settings given as text, "key=value key=value ...", with
 * the keys and checks of a [segment NAME] section (docs/config.md): the one
 * parser for the file's segments and those extended at run time. Ports and
 * limits come from @p base; clashes with other segments are not checked here.
 *
 * @return 0, or -1 with "key: what is wrong" in @p err
 */
int config_segment_spec(const struct dp_config *base, const char *name, const char *spec,
			struct cfg_segment *out, char *err, size_t errlen);

/** Whether two segments have the same settings, field by field. */
bool config_segment_equal(const struct cfg_segment *a, const struct cfg_segment *b);

/**
 * The [segment NAME] sections of a loaded configuration as settings texts
 * (config_segment_spec()'s input), one per cfg->seg[i], read again from
 * cfg->path. @return 0, or -1 with a reason in @p err
 */
int config_segment_texts(const struct dp_config *cfg, char (*out)[CFG_SPEC_MAX + 1], char *err,
			 size_t errlen);

/** Free what config_load() allocated and wipe key material. */
void config_free(struct dp_config *cfg);

#endif
