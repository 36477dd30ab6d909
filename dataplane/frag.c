/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frag.c: outer IPv4 fragmentation toward the peer.
 *
 * A frame plus the tunnel headers may not fit the underlay (docs/mtu.md: a
 * 1514-byte frame needs a 1604-byte outer packet). RFC 4459 section 4 lists
 * the choices; Isthmus fragments the outer packet after encryption (section
 * 4.2), so the inner frame crosses intact and the peer reassembles before it
 * opens the ESP (reass.c). The outer header leaves DF clear for this
 * (encap_outer, RFC 6864: every packet has its own identification, so the
 * fragments of two packets never mix).
 *
 * The fast path pays one length compare (outbound.c step 5); only packets
 * over the MTU come here. rte_ipv4_fragment_copy_nonseg_packet() copies into
 * fresh single-segment mbufs, which every PMD can send (no multi-segment TX
 * offload needed) and which leave the sealed packet's buffer free at once.
 */
/* rte_ipv4_fragment_copy_nonseg_packet / rte_ip_frag_table_del_expired_entries
 * are experimental in DPDK 22.11 */
#define ALLOW_EXPERIMENTAL_API

#include <errno.h>

#include <rte_ip.h>
#include <rte_ip_frag.h>

#include "dp.h"
#include "encap.h"
#include "frag.h"
#include "port.h"
#include "worker.h"

/* 9600-byte packets (the largest uplink MTU) in 576-byte fragments: 17. */
#define FRAG_MAX 32

void frag_output(struct worker *w, struct rte_mbuf *m)
{
	struct dp *dp = w->dp;
	struct rte_mbuf *frag[FRAG_MAX];
	struct rte_ether_hdr eh;
	int32_t n;

	/* rte_ip_frag wants the IPv4 header first; each fragment gets a copy of
	 * the outer Ethernet header back. */
	rte_memcpy(&eh, rte_pktmbuf_mtod(m, void *), sizeof(eh));
	rte_pktmbuf_adj(m, RTE_ETHER_HDR_LEN);
	n = rte_ipv4_fragment_copy_nonseg_packet(m, frag, FRAG_MAX, dp->cfg->uplink_mtu, dp->pool);
	rte_pktmbuf_free(m);
	if (unlikely(n <= 0)) {
		dp_count(&w->stats, n == -ENOMEM ? DP_C_drop_frag_nombuf : DP_C_drop_frag_error, 1);
		return;
	}
	for (int32_t i = 0; i < n; i++) {
		struct rte_mbuf *f = frag[i];
		struct rte_ether_hdr *feh = (struct rte_ether_hdr *)rte_pktmbuf_prepend(f, sizeof(eh));
		struct rte_ipv4_hdr *ip;

		if (unlikely(feh == NULL)) {
			/* cannot happen: fresh mbufs have RTE_PKTMBUF_HEADROOM */
			dp_count(&w->stats, DP_C_drop_no_headroom, 1);
			rte_pktmbuf_free(f);
			continue;
		}
		rte_memcpy(feh, &eh, sizeof(eh));
		/* rte_ip_frag set total length, MF and offset, and zeroed the checksum. */
		ip = (struct rte_ipv4_hdr *)(feh + 1);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		dp_count(&w->stats, DP_C_frag_out, 1);
		port_tx_queue(w, dp->uplink, f);
	}
	dp_count(&w->stats, DP_C_frag_packets, 1);
}
