/*
 * exc_hook.c: where the fast path lets go of packets for the appliance
 * itself. Workers hand them to the main lcore through one multi-producer
 * ring (a handful per second: ARP, ICMP, IKE); the main lcore snoops ARP for
 * the next hop (nexthop.h), passes everything to the kernel TAP when one is
 * configured (exception.h), sends the kernel's answers and its own ARP
 * requests out of the uplink (through the uplink's TX ring).
 */
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ring.h>

#include "dp.h"

#define EXC_RING_SIZE 1024

int exception_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	const struct dp_port *up = &dp->port[dp->uplink];

	dp->exc_ring = rte_ring_create("isthmus_exc", EXC_RING_SIZE, rte_socket_id(), RING_F_SC_DEQ);
	if (dp->exc_ring == NULL) {
		snprintf(err, errlen, "exception ring: %s", rte_strerror(rte_errno));
		return -1;
	}
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
	}
	return 0;
}

void exception_fini(struct dp *dp)
{
	struct rte_mbuf *m;

	if (dp->exc_tap)
		exc_close(&dp->exc);
	dp->exc_tap = false;
	while (dp->exc_ring != NULL && rte_ring_dequeue(dp->exc_ring, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(dp->exc_ring);
	dp->exc_ring = NULL;
}

void exception_input(struct worker *w, struct rte_mbuf **pkts, uint16_t n)
{
	unsigned done = rte_ring_mp_enqueue_burst(w->dp->exc_ring, (void **)pkts, n, NULL);

	dp_count(&w->stats, DP_C_exception, done);
	if (unlikely(done < n)) {
		dp_count(&w->stats, DP_C_drop_exception_full, n - done);
		rte_pktmbuf_free_bulk(pkts + done, n - done);
	}
}

void exception_service(struct dp *dp)
{
	struct rte_mbuf *pkts[DP_BURST_MAX], *arp;
	unsigned n;

	while ((n = rte_ring_sc_dequeue_burst(dp->exc_ring, (void **)pkts, DP_BURST_MAX, NULL)) > 0) {
		if (!dp->nexthop_fixed)
			for (unsigned i = 0; i < n; i++)
				nexthop_snoop(&dp->nh, pkts[i]);
		if (dp->exc_tap) {
			exc_to_kernel(&dp->exc, pkts, n);
		} else {
			dp_count(&dp->main_stats, DP_C_exception_no_tap, n);
			rte_pktmbuf_free_bulk(pkts, n);
		}
	}
	if (dp->exc_tap)
		while ((n = exc_from_kernel(&dp->exc, pkts, DP_BURST_MAX)) > 0)
			port_tx_from_main(dp, dp->uplink, pkts, n);
	if (!dp->nexthop_fixed && (arp = nexthop_poll(&dp->nh, dp->pool, rte_get_tsc_cycles())) != NULL)
		port_tx_from_main(dp, dp->uplink, &arp, 1);
}
