/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file dp_rig.h
 * A real dataplane inside a test or fuzz process (header-only, static, no
 * test framework): EAL without hugepages or PCI, DP_RIG_WORKERS workers on
 * lcores that never run (the caller drives the paths itself from one thread,
 * so the order of events between "workers" is exact), net_ring ports whose
 * rings the caller reads and writes.
 *
 * Used by tests/unit/dp_testutil.h (Check) and by the fuzz harnesses of the
 * uplink and local-port frame paths (tests/fuzz). Every function returns 0,
 * or -1 with a message in @p err.
 */
#ifndef ISTHMUS_TESTS_DP_RIG_H
#define ISTHMUS_TESTS_DP_RIG_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "config.h"
#include "dp.h"

#define DP_RIG_WORKERS 2

/** EAL for one process: file prefix isthmus-PROG-TAG-PID, no hugepages, 3 lcores on CPU 0. */
static int dp_rig_eal(const char *prog, const char *tag, char *err, size_t errlen)
{
	char prefix[96];

	snprintf(prefix, sizeof(prefix), "--file-prefix=isthmus-%s-%s-%d", prog, tag, (int)getpid());
	char *argv[] = { "isthmus-rig", "--no-huge", "--no-pci", "-m", "256", prefix,
			 "--lcores", "0@0,1@0,2@0", "--log-level=lib.eal:error",
			 "--log-level=pmd:error", "--no-telemetry" };
	if (rte_eal_init(RTE_DIM(argv), argv) < 0) {
		snprintf(err, errlen, "rte_eal_init: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/**
 * A net_ring port @p name with one RX and one TX ring per worker: the caller
 * enqueues on @p rx[k] what queue k receives, and dequeues from @p tx[k]
 * what the dataplane sent on it. @p dev receives the ethdev name.
 */
static int dp_rig_port(const char *name, struct rte_ring **rx, struct rte_ring **tx, char *dev,
		       char *err, size_t errlen)
{
	for (int k = 0; k < DP_RIG_WORKERS; k++) {
		char n[RTE_RING_NAMESIZE];

		snprintf(n, sizeof(n), "%s_rx%d", name, k);
		rx[k] = rte_ring_create(n, 1024, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(n, sizeof(n), "%s_tx%d", name, k);
		tx[k] = rte_ring_create(n, 4096, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (rx[k] == NULL || tx[k] == NULL) {
			snprintf(err, errlen, "ring %s: %s", n, rte_strerror(rte_errno));
			return -1;
		}
	}
	int id = rte_eth_from_rings(name, rx, DP_RIG_WORKERS, tx, DP_RIG_WORKERS, rte_socket_id());

	if (id < 0 || rte_eth_dev_get_name_by_port((uint16_t)id, dev) != 0) {
		snprintf(err, errlen, "rte_eth_from_rings %s failed", name);
		return -1;
	}
	return 0;
}

/**
 * Load @p text (an isthmus-dp configuration) through the real loader and
 * start the dataplane on it with the libsodium backend.
 */
static int dp_rig_start(const char *text, struct dp_config *cfg, struct dp *d, char *err,
			size_t errlen)
{
	char path[] = "/tmp/isthmus-rig-XXXXXX";
	int fd = mkstemp(path), rc;
	FILE *f;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(err, errlen, "mkstemp: cannot write a configuration file");
		return -1;
	}
	fputs(text, f);
	fclose(f);
	rc = config_load(path, cfg, err, errlen);
	unlink(path);
	if (rc < 0)
		return -1;
	cfg->backend = ESP_BACKEND_SODIUM;
	return dp_init(d, cfg, err, errlen);
}

#endif
