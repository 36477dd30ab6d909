/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exception_dp.c: where the fast path lets go of packets for the appliance
 * itself (ARP, ICMP, IKE, NAT keepalives, pairing). Workers hand them to the
 * main lcore through two multi-producer rings; the main lcore snoops ARP for
 * the next hop (nexthop.h), passes everything to the kernel TAP when one is
 * configured (exception.h), sends the kernel's answers and its own ARP
 * requests out of the uplink (through the uplink's TX ring).
 *
 * Anyone on the underlay can send to the uplink address, and the main lcore,
 * the TAP and charon's sockets take a few thousand packets a second, not a
 * line rate. One unpoliced ring would let a flood (spoofed UDP 500, ARP,
 * ICMP) crowd out the peer's IKE messages until a rekey fails and the
 * tunnel drops. So the exception path has two classes:
 *
 *   priority  IKE from the configured peer's underlay address (UDP 500, UDP
 *             4500 behind the non-ESP marker; uplink_classify() says
 *             UPLINK_IKE): its own ring, which the main lcore empties before
 *             every burst it takes from the other; not policed
 *   policed   everything else: an rte_meter srTCM (RFC 2697, colour-blind,
 *             in packets like storm.c) per worker, [uplink] exception_rate
 *             and exception_burst divided by the workers that poll the
 *             uplink; over the rate the packet is dropped
 *             (drop_exception_policed) before it reaches the ring
 *
 * Every drop has its counter: drop_exception_policed, drop_exception_full
 * (policed ring full), drop_exception_ike_full (priority ring full),
 * drop_exception_tap_full (the TAP did not take it), exception_no_tap.
 *
 * The peer's address is not authenticated here: a flood that spoofs it
 * lands in the priority class, and is then bounded only by that ring and by
 * charon (which answers unauthenticated IKE_SA_INITs with cookies under load,
 * RFC 7296 section 2.6). Filtering spoofed sources is the underlay's job
 * (RFC 2827 ingress filtering); docs/deploy.md says so.
 */
#include <arpa/inet.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_meter.h>
#include <rte_ring.h>

#include "dp.h"
#include "exception_dp.h"
#include "log.h"
#include "port.h"
#include "tap_if.h"
#include "worker.h"

#define EXC_RING_SIZE 1024
#define EXC_IKE_RING_SIZE 256   /**< the peer's IKE: a few messages per exchange */

/*
 * The kernel sends IKE and pairing through the TAP only if its routing table
 * says so. On-link (gateway = peer), the TAP's own subnet covers the peer; a
 * routed underlay (the peer behind [uplink] gateway, as in configs/onprem.ini)
 * needs a route, or the kernel would use the management interface's default
 * route. [uplink] peer_route asks for one explicitly (a NAT whose external
 * address may change: docs/deploy.md).
 */
static bool exception_route_needed(const struct dp_config *c)
{
	return c->peer_route_set || c->gateway_ip != c->peer_ip;
}

static const char *route_str(const struct dp_config *c)
{
	static char buf[64];
	char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->peer_route, a, sizeof(a));
	inet_ntop(AF_INET, &c->gateway_ip, g, sizeof(g));
	snprintf(buf, sizeof(buf), "%s/%u via %s", a, c->peer_route_len, g);
	return buf;
}

int exception_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	const struct dp_port *up = &dp->port[dp->uplink];

	dp->exc_ring = rte_ring_create("isthmus_exc", EXC_RING_SIZE, rte_socket_id(), RING_F_SC_DEQ);
	dp->exc_ike_ring = rte_ring_create("isthmus_exc_ike", EXC_IKE_RING_SIZE, rte_socket_id(),
					   RING_F_SC_DEQ);
	if (dp->exc_ring == NULL || dp->exc_ike_ring == NULL) {
		snprintf(err, errlen, "exception ring: %s", rte_strerror(rte_errno));
		return -1;
	}
	atomic_store_explicit(&dp->peer_now, c->peer_ip, memory_order_relaxed);
	nexthop_init(&dp->nh, c->gateway_ip, c->uplink_ip, &up->mac);
	if (c->peer_mac_set) {
		nexthop_set_static(&dp->nh, &c->peer_mac);
		dp->nexthop_fixed = true;
	}
	if (c->tap[0] != '\0') {
		if (exc_open(&dp->exc, c->tap, &up->mac, c->uplink_ip, c->tap_prefix, c->uplink_mtu,
			     dp->pool, err, errlen) < 0)
			return -1;
		dp->exc_tap = true;
		if (exception_route_needed(c)) {
			if (tap_if_route_add(c->tap, c->peer_route, c->peer_route_len, c->gateway_ip,
					     err, errlen) < 0)
				return -1;
			dp->exc_route = true;
			dp_log(LOG_INFO, "route to the peer %s installed on %s", route_str(c), c->tap);
		}
	}
	return 0;
}

int exception_policer_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	unsigned nw = 0;
	struct rte_meter_srtcm_params prm;

	dp->exc_policed = c->exc_rate != 0;
	if (!dp->exc_policed)
		return 0;
	/* Workers with an RX queue on the uplink share the rate (as storm.c). */
	for (unsigned i = 0; i < dp->nb_workers; i++)
		for (uint16_t q = 0; q < dp->worker[i]->nb_rxq; q++)
			if (dp->worker[i]->rxq[q].port == dp->uplink) {
				nw++;
				break;
			}
	nw = RTE_MAX(nw, 1u);
	/* packet mode: each packet is metered as 1 "byte"; EBS 0: green or red */
	prm = (struct rte_meter_srtcm_params){
		.cir = RTE_MAX(c->exc_rate / nw, 1u),
		.cbs = RTE_MAX(c->exc_burst / nw, 1u),
		.ebs = 0,
	};
	if (rte_meter_srtcm_profile_config(&dp->exc_prof, &prm) != 0) {
		snprintf(err, errlen, "[uplink] exception_rate %u / exception_burst %u: refused by rte_meter",
			 c->exc_rate, c->exc_burst);
		return -1;
	}
	for (unsigned i = 0; i < dp->nb_workers; i++)
		rte_meter_srtcm_config(&dp->worker[i]->exc_meter, &dp->exc_prof);
	return 0;
}

static void ring_free(struct rte_ring **r)
{
	struct rte_mbuf *m;

	while (*r != NULL && rte_ring_dequeue(*r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(*r);
	*r = NULL;
}

void exception_fini(struct dp *dp)
{
	const struct dp_config *c = dp->cfg;
	char err[256];

	/* The TAP's routes would go with it; removed first all the same, so a
	 * failure to remove is said rather than hidden. */
	if (dp->exc_route) {
		if (tap_if_route_del(c->tap, c->peer_route, c->peer_route_len, c->gateway_ip, err,
				     sizeof(err)) < 0)
			dp_log(LOG_WARNING, "%s", err);
		else
			dp_log(LOG_INFO, "route to the peer %s removed", route_str(c));
		dp->exc_route = false;
	}
	if (dp->exc_tap)
		exc_close(&dp->exc);
	dp->exc_tap = false;
	ring_free(&dp->exc_ike_ring);
	ring_free(&dp->exc_ring);
}

/* One class onto its ring; what does not fit is freed and counted.
 * @return packets enqueued */
static unsigned exc_enqueue(struct worker *w, struct rte_ring *r, struct rte_mbuf **pkts,
			    uint16_t n, enum dp_counter full)
{
	unsigned done = n ? rte_ring_mp_enqueue_burst(r, (void **)pkts, n, NULL) : 0;

	dp_count(&w->stats, DP_C_exception, done);
	if (unlikely(done < n)) {
		dp_count(&w->stats, full, n - done);
		rte_pktmbuf_free_bulk(pkts + done, n - done);
	}
	return done;
}

void exception_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp *dp = w->dp;
	uint16_t passed = 0;

	if (dp->exc_policed) {
		uint64_t now = rte_rdtsc();
		struct rte_mbuf *over[DP_BURST_MAX];
		uint16_t nover = 0;

		for (uint16_t i = 0; i < n; i++)
			if (rte_meter_srtcm_color_blind_check(&w->exc_meter, &dp->exc_prof, now, 1) ==
			    RTE_COLOR_GREEN)
				pkts[passed++] = pkts[i];
			else
				over[nover++] = pkts[i];
		if (nover) {
			dp_count(&w->stats, DP_C_drop_exception_policed, nover);
			rte_pktmbuf_free_bulk(over, nover);
		}
	} else {
		passed = n;
	}
	(void)exc_enqueue(w, dp->exc_ring, pkts, passed, DP_C_drop_exception_full);
}

void exception_input_ike(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	dp_count(&w->stats, DP_C_exception_ike,
		 exc_enqueue(w, w->dp->exc_ike_ring, pkts, n, DP_C_drop_exception_ike_full));
}

/* Main lcore: a burst from one ring to the kernel (or released without a TAP). */
static void exc_deliver(struct dp *dp, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	if (!dp->nexthop_fixed)
		for (uint16_t i = 0; i < n; i++)
			nexthop_snoop(&dp->nh, pkts[i]);
	if (!dp->exc_tap) {
		dp_count(&dp->main_stats, DP_C_exception_no_tap, n);
		rte_pktmbuf_free_bulk(pkts, n);
		return;
	}
	sent = exc_to_kernel(&dp->exc, pkts, n);
	dp_count(&dp->main_stats, DP_C_drop_exception_tap_full, n - sent);
}

/*
 * Remember which MAC the peer's IKE came from last, when the peer is on this
 * link (its address is the next hop's). A new SA is negotiated by the IKE
 * messages just received: the next hop follows their sender
 * (exception_new_sa). In an HA split brain both members of the peer's group
 * claim its address in ARP; only the one that just negotiated holds our
 * SAs. Not authenticated here, no more than ARP is; charon authenticated the
 * exchange that installs the SA.
 */
static void ike_note(struct dp *dp, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eh + 1);

	if (rte_pktmbuf_data_len(m) < sizeof(*eh) + sizeof(*ip) ||
	    eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4) ||
	    !nexthop_on_link(&dp->nh, ip->src_addr) || !rte_is_unicast_ether_addr(&eh->src_addr))
		return;
	dp->ike_mac = eh->src_addr;
	dp->ike_mac_seen = true;
}

void exception_new_sa(struct dp *dp, rte_be32_t peer_ip)
{
	if (!dp->nexthop_fixed && dp->ike_mac_seen && nexthop_on_link(&dp->nh, peer_ip) &&
	    nexthop_follow(&dp->nh, &dp->ike_mac))
		dp_count(&dp->main_stats, DP_C_nexthop_followed, 1);
}

void exception_service(struct dp *dp)
{
	struct rte_mbuf *pkts[DP_BURST_MAX], *arp;
	unsigned n;

	for (;;) {
		/* The peer's IKE first, all of it, before each burst of the rest. */
		while ((n = rte_ring_sc_dequeue_burst(dp->exc_ike_ring, (void **)pkts, DP_BURST_MAX,
						      NULL)) > 0) {
			for (unsigned i = 0; i < n; i++)
				ike_note(dp, pkts[i]);
			exc_deliver(dp, pkts, (uint16_t)n);
		}
		n = rte_ring_sc_dequeue_burst(dp->exc_ring, (void **)pkts, DP_BURST_MAX, NULL);
		if (n == 0)
			break;
		exc_deliver(dp, pkts, (uint16_t)n);
	}
	if (dp->exc_tap)
		while ((n = exc_from_kernel(&dp->exc, pkts, DP_BURST_MAX)) > 0)
			port_tx_from_main(dp, dp->uplink, pkts, n);
	if (!dp->nexthop_fixed && (arp = nexthop_poll(&dp->nh, dp->pool, rte_get_tsc_cycles())) != NULL)
		port_tx_from_main(dp, dp->uplink, &arp, 1);
}
