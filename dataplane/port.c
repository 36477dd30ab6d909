/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * port.c: DPDK ports of the appliance (local ports first, then the uplink),
 * the mbuf pool, and the queue plan:
 *
 * RX: each port gets min(workers, max_rx_queues) queues (RSS over the UDP
 * ports when more than one, so each peer worker's SA lands on one of our
 * workers); the (port, queue) pairs are dealt round-robin to workers, local
 * ports first.
 *
 * TX: worker w < nb_txq transmits on queue w directly. Single-queue vdevs
 * (net_pcap, net_tap, net_af_packet...) have fewer queues than workers:
 * workers without a queue enqueue to the port's multi-producer rte_ring, and
 * the port's TX owner (worker 0, which has queue 0) drains it. No locks.
 * The uplink always has that ring, for what the main lcore sends (ARP
 * requests, the kernel's packets from the exception TAP).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "afxdp.h"
#include "dp.h"
#include "encap.h"
#include "port.h"
#include "rxwait.h"
#include "worker.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define TX_RING_SIZE 4096
#define TX_RETRIES 4
#define XDP_HEADROOM 256   /* XDP_PACKET_HEADROOM (linux/bpf.h) */

static int port_resolve(const struct cfg_portspec *ps, const char *port, unsigned nb_workers,
			uint16_t *port_id, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	const char *s = ps->dev;

	if (ps->driver == CFG_DRV_AF_PACKET && ps->queues > nb_workers) {
		/* net_af_packet opens every qpair's socket in one fanout group: the
		 * kernel would hash frames onto sockets no worker reads */
		snprintf(err, errlen, "port %s: queues = %u but %u worker(s): every queue needs a "
			 "worker (give EAL more lcores, or fewer queues)", port, ps->queues, nb_workers);
		return -1;
	}
	if (ps->driver == CFG_DRV_AF_XDP && afxdp_precheck(ps, port, nb_workers, err, errlen) < 0)
		return -1;
	if (ps->is_vdev) {
		/* "net_ring0,nodeaction=..." : the device name ends at the first comma. */
		size_t n = strcspn(s, ",");

		if (n >= sizeof(name)) {
			snprintf(err, errlen, "vdev '%s': name too long", s);
			return -1;
		}
		memcpy(name, s, n);
		name[n] = '\0';
		if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
			return 0;   /* already probed (e.g. also given as --vdev) */
		if (rte_dev_probe(s) != 0 || rte_eth_dev_get_port_by_name(name, port_id) != 0) {
			if (ps->driver == CFG_DRV_AF_XDP)
				afxdp_explain(ps, port, "probe failed", err, errlen);
			else
				snprintf(err, errlen, "vdev '%s': probe failed (see the EAL log above)",
					 name);
			return -1;
		}
		return 0;
	}
	if (isdigit((unsigned char)s[0])) {
		char *end;
		unsigned long id = strtoul(s, &end, 10);

		if (*end != '\0' || id >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port(id)) {
			snprintf(err, errlen, "port %s: no such DPDK port (%u available)", s,
				 rte_eth_dev_count_avail());
			return -1;
		}
		*port_id = id;
		return 0;
	}
	if (rte_eth_dev_get_port_by_name(s, port_id) != 0) {
		snprintf(err, errlen, "port '%s': no such device (give it to EAL with --vdev or -a, "
			 "or use vdev= in the config)", s);
		return -1;
	}
	return 0;
}

/*
 * Set up RX queue @p q. net_af_xdp creates the queue's AF_XDP socket here:
 * the one that appears is the queue's, for rxwait.c (afxdp.c says why).
 */
static int rx_queue_setup(struct dp *dp, struct dp_port *p, uint16_t q, uint16_t nb_rxd, char *err,
			  size_t errlen)
{
	bool xdp = p->spec->driver == CFG_DRV_AF_XDP && q < DP_PORT_MAX_FDQ;
	int before[64], after[64], nb = 0, na = 0, r;

	if (xdp)
		nb = afxdp_sockets(before, RTE_DIM(before));
	r = rte_eth_rx_queue_setup(p->port_id, q, nb_rxd, rte_eth_dev_socket_id(p->port_id), NULL,
				   dp->pool);
	if (r != 0) {
		char what[32];

		snprintf(what, sizeof(what), "rx queue %u: %s", q, strerror(-r));
		if (p->spec->driver == CFG_DRV_AF_XDP)
			afxdp_explain(p->spec, p->name, what, err, errlen);
		else
			snprintf(err, errlen, "port %s: %s", p->name, what);
		return -1;
	}
	if (xdp && nb >= 0 && (na = afxdp_sockets(after, RTE_DIM(after))) >= 0)
		p->rx_fd[q] = afxdp_new_socket(before, nb, after, na);
	return 0;
}

static int port_start(struct dp *dp, struct dp_port *p, uint16_t mtu, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint16_t nrx, ntx, nb_txd = TX_DESC;
	uint16_t nb_rxd = p->spec->driver == CFG_DRV_AF_XDP ? AFXDP_RX_DESC : RX_DESC;
	int r;

	memset(&conf, 0, sizeof(conf));
	if ((r = rte_eth_dev_info_get(p->port_id, &info)) != 0) {
		snprintf(err, errlen, "port %s: info: %s", p->name, strerror(-r));
		return -1;
	}
	nrx = RTE_MIN(dp->nb_workers, RTE_MAX(info.max_rx_queues, 1u));
	ntx = RTE_MIN(dp->nb_workers, RTE_MAX(info.max_tx_queues, 1u));
	/* Several RX queues: RSS on IP and UDP ports where the device has it; a
	 * device without RSS (net_pcap with several rx_pcap files, say) fills
	 * its queues its own way. */
	if (nrx > 1) {
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
		conf.rxmode.mq_mode = conf.rx_adv_conf.rss_conf.rss_hf ? RTE_ETH_MQ_RX_RSS
									: RTE_ETH_MQ_RX_NONE;
	}
	if (mtu >= info.min_mtu && mtu <= info.max_mtu)
		conf.rxmode.mtu = mtu;
	if ((r = rte_eth_dev_configure(p->port_id, nrx, ntx, &conf)) != 0) {
		snprintf(err, errlen, "port %s: configure (%u rx, %u tx queues): %s", p->name, nrx, ntx,
			 strerror(-r));
		return -1;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
	for (uint16_t q = 0; q < nrx; q++)
		if (rx_queue_setup(dp, p, q, nb_rxd, err, errlen) < 0)
			return -1;
	for (uint16_t q = 0; q < ntx; q++)
		if ((r = rte_eth_tx_queue_setup(p->port_id, q, nb_txd, rte_eth_dev_socket_id(p->port_id),
						NULL)) != 0) {
			snprintf(err, errlen, "port %s: tx queue %u: %s", p->name, q, strerror(-r));
			return -1;
		}
	p->nb_rxq = nrx;
	p->nb_txq = ntx;
	/* The uplink always has a ring: the main lcore sends ARP and the kernel's
	 * IKE packets through it. */
	if (ntx < dp->nb_workers || p->role == PORT_UPLINK) {
		char rn[RTE_RING_NAMESIZE];

		snprintf(rn, sizeof(rn), "isthmus_tx%u", p->idx);
		p->tx_ring = rte_ring_create(rn, TX_RING_SIZE, rte_socket_id(), RING_F_SC_DEQ);
		if (p->tx_ring == NULL) {
			snprintf(err, errlen, "port %s: tx ring: %s", p->name, rte_strerror(rte_errno));
			return -1;
		}
		p->tx_owner = 0;
	}
	if ((r = rte_eth_dev_start(p->port_id)) != 0) {
		snprintf(err, errlen, "port %s: start: %s", p->name, strerror(-r));
		return -1;
	}
	/* A bridge port sees every frame of its segments. Not all PMDs can. */
	if (p->role == PORT_LOCAL)
		rte_eth_promiscuous_enable(p->port_id);
	rte_eth_macaddr_get(p->port_id, &p->mac);
	return 0;
}

/*
 * The mbuf pool when a port is net_af_xdp: rte_pktmbuf_pool_create() with
 * RTE_MEMPOOL_F_NO_IOVA_CONTIG, which it cannot be asked for. net_af_xdp
 * (22.11, xdp_umem_configure()) registers the pool's memory with the kernel
 * as a UMEM of populated_size objects laid end to end from its first
 * address. Without the flag, DPDK keeps each object within a page: with 4 KB
 * pages (--no-huge) and 2.6 KB objects, one object a page, and the UMEM
 * would cover only two thirds of the pool; the kernel refuses the rest as
 * invalid descriptors (XDP_STATISTICS tx_invalid_descs). Nothing here does
 * DMA to physical addresses: objects may cross pages.
 */
static struct rte_mempool *pool_create_packed(unsigned n, uint16_t room)
{
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = room };
	struct rte_mempool *mp;
	int e;

	mp = rte_mempool_create_empty("isthmus_mbufs", n, sizeof(struct rte_mbuf) + room, 256,
				      sizeof(priv), rte_socket_id(), RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	if ((e = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL)) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	if ((e = rte_mempool_populate_default(mp)) < 0)
		goto fail;
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	rte_errno = -e;
	return NULL;
}

int ports_init(struct dp *dp, char *err, size_t errlen)
{
	const struct dp_config *c = dp->cfg;
	uint32_t room = RTE_MBUF_DEFAULT_DATAROOM, fill = 0;
	bool xdp = false;
	uint16_t i;

	/* One segment per frame: the largest local frame plus tunnel headers and
	 * ESP trailer, or the largest uplink packet, whichever is more. */
	for (i = 0; i < c->nb_local; i++)
		room = RTE_MAX(room, (uint32_t)c->local[i].mtu + RTE_ETHER_HDR_LEN + 4 +
			       TUN_HDR_LEN + ESP_TRAILER_MAX + ESP_ICV_LEN);
	room = RTE_MAX(room, (uint32_t)c->uplink_mtu + RTE_ETHER_HDR_LEN + 4);
	/* net_af_xdp hands the mbufs to the kernel as XDP buffers: the kernel
	 * writes after XDP_PACKET_HEADROOM, and a buffer is at most a page */
	for (i = 0; i < c->nb_local + 1; i++) {
		const struct cfg_portspec *s = i == c->nb_local ? &c->uplink : &c->local[i].port;

		if (s->driver == CFG_DRV_AF_XDP) {
			xdp = true;
			fill += AFXDP_FILL_MBUFS * RTE_MIN(s->queues, RTE_MAX(dp->nb_workers, 1u));
		}
	}
	if (xdp)
		room += XDP_HEADROOM;
	room = RTE_ALIGN_CEIL(room, 64);
	if (xdp && sizeof(struct rte_mbuf) + RTE_PKTMBUF_HEADROOM + room + 64 > (uint32_t)getpagesize()) {
		snprintf(err, errlen, "mbufs of %u bytes: driver = af_xdp needs them within a page "
			 "(%d bytes): lower the ports' mtu", RTE_PKTMBUF_HEADROOM + room, getpagesize());
		return -1;
	}
	/* [appliance] mbufs are the ones in flight; af_xdp fill rings hold more */
	dp->pool = xdp ? pool_create_packed(c->mbufs + fill, RTE_PKTMBUF_HEADROOM + room)
		       : rte_pktmbuf_pool_create("isthmus_mbufs", c->mbufs, 256, 0,
						 RTE_PKTMBUF_HEADROOM + room, rte_socket_id());
	if (dp->pool == NULL) {
		snprintf(err, errlen, "mbuf pool (%u x %u bytes): %s (give EAL more memory with -m)",
			 c->mbufs + fill, RTE_PKTMBUF_HEADROOM + room, rte_strerror(rte_errno));
		return -1;
	}
	if (xdp && dp->pool->nb_mem_chunks != 1) {
		snprintf(err, errlen, "mbuf pool in %u pieces: net_af_xdp registers it with the kernel "
			 "as one region (give EAL more memory with -m)", dp->pool->nb_mem_chunks);
		return -1;
	}
	for (i = 0; i < c->nb_local + 1; i++) {
		struct dp_port *p = &dp->port[i];
		bool up = i == c->nb_local;

		p->idx = i;
		p->role = up ? PORT_UPLINK : PORT_LOCAL;
		snprintf(p->name, sizeof(p->name), "%s", up ? "uplink" : c->local[i].name);
		p->mode = up ? CFG_LOCAL_ACCESS : c->local[i].mode;
		p->max_frame = up ? c->uplink_mtu + RTE_ETHER_HDR_LEN
				  : c->local[i].mtu + RTE_ETHER_HDR_LEN +
					    (p->mode == CFG_LOCAL_TRUNK ? 4 : 0);
		p->spec = up ? &c->uplink : &c->local[i].port;
		for (uint16_t q = 0; q < DP_PORT_MAX_FDQ; q++)
			p->rx_fd[q] = -1;
		if (port_resolve(p->spec, p->name, dp->nb_workers, &p->port_id, err, errlen) < 0)
			return -1;
		for (uint16_t j = 0; j < i; j++)
			if (dp->port[j].port_id == p->port_id) {
				snprintf(err, errlen, "ports '%s' and '%s' are the same DPDK port %u",
					 dp->port[j].name, p->name, p->port_id);
				return -1;
			}
	}
	dp->nb_ports = c->nb_local + 1;
	dp->uplink = c->nb_local;
	for (i = 0; i < dp->nb_ports; i++) {
		struct dp_port *p = &dp->port[i];

		if (port_start(dp, p, p->role == PORT_UPLINK ? c->uplink_mtu : c->local[i].mtu, err,
			       errlen) < 0)
			return -1;
	}
	return 0;
}

void ports_assign(struct dp *dp)
{
	unsigned next = 0;

	for (unsigned w = 0; w < dp->nb_workers; w++) {
		struct worker *wk = dp->worker[w];

		wk->nb_rxq = 0;
		for (uint16_t p = 0; p < dp->nb_ports; p++)
			wk->txq[p] = w < dp->port[p].nb_txq ? w : DP_TXQ_RING;
	}
	for (uint16_t p = 0; p < dp->nb_ports; p++)
		for (uint16_t q = 0; q < dp->port[p].nb_rxq; q++) {
			struct worker *wk = dp->worker[next++ % dp->nb_workers];

			if (wk->nb_rxq == RTE_DIM(wk->rxq))
				fatal("%s: worker %u has %u RX queues already", __func__, wk->idx,
				      wk->nb_rxq);
			wk->rxq[wk->nb_rxq++] = (struct rxq){ .port = p, .queue = q };
		}
}

/* Hand packets to queue @q of port @p; frees and counts what does not fit. */
static void tx_burst(struct worker *w, struct dp_port *p, uint16_t q, struct rte_mbuf **pkts,
		     uint16_t n)
{
	uint16_t sent = 0;

	for (int tries = 0; sent < n && tries < TX_RETRIES; tries++)
		sent += rte_eth_tx_burst(p->port_id, q, pkts + sent, n - sent);
	dp_count(&w->stats, p->role == PORT_UPLINK ? DP_C_uplink_tx : DP_C_local_tx, sent);
	if (unlikely(sent < n)) {
		dp_count(&w->stats, DP_C_drop_tx_full, n - sent);
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

void port_tx_from_main(struct dp *dp, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_port *p = &dp->port[pi];
	unsigned done = p->tx_ring ? rte_ring_mp_enqueue_burst(p->tx_ring, (void **)pkts, n, NULL) : 0;

	if (done)
		rxwait_kick(dp->worker[p->tx_owner]);

	if (unlikely(done < n)) {
		dp_count(&dp->main_stats, DP_C_drop_tx_ring_full, n - done);
		rte_pktmbuf_free_bulk(pkts + done, n - done);
	}
}

void port_tx_flush(struct worker *w, uint16_t pi)
{
	struct txbuf *b = &w->tx[pi];
	struct dp_port *p = &w->dp->port[pi];
	uint16_t n = b->n, q = w->txq[pi];

	if (n == 0)
		return;
	b->n = 0;
	if (q != DP_TXQ_RING) {
		tx_burst(w, p, q, b->pkts, n);
		return;
	}
	unsigned done = rte_ring_mp_enqueue_burst(p->tx_ring, (void **)b->pkts, n, NULL);

	rxwait_kick(w->dp->worker[p->tx_owner]);
	if (unlikely(done < n)) {
		dp_count(&w->stats, DP_C_drop_tx_ring_full, n - done);
		rte_pktmbuf_free_bulk(b->pkts + done, n - done);
	}
}

void port_tx_drain_ring(struct worker *w, uint16_t pi)
{
	struct dp_port *p = &w->dp->port[pi];
	struct rte_mbuf *pkts[DP_BURST_MAX];
	unsigned n;

	while ((n = rte_ring_sc_dequeue_burst(p->tx_ring, (void **)pkts, DP_BURST_MAX, NULL)) > 0)
		tx_burst(w, p, 0, pkts, n);
}

void ports_drain(struct dp *dp)
{
	for (uint16_t i = 0; i < dp->nb_ports; i++) {
		struct dp_port *p = &dp->port[i];

		/* Workers have stopped: the main lcore may be the consumer now. */
		if (p->tx_ring != NULL && dp->nb_workers > 0)
			port_tx_drain_ring(dp->worker[p->tx_owner], i);
	}
}

void ports_close(struct dp *dp)
{
	for (uint16_t i = 0; i < dp->nb_ports; i++) {
		struct dp_port *p = &dp->port[i];

		rte_eth_dev_stop(p->port_id);
		rte_eth_dev_close(p->port_id);
		rte_ring_free(p->tx_ring);
		p->tx_ring = NULL;
	}
}
