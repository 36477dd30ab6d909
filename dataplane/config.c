/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c: the appliance configuration file (docs/config.md), read with
 * DPDK's rte_cfgfile, after cfg_lint.c has checked the file's structure
 * (rte_cfgfile would keep the first of two equal keys or sections); the
 * semantic checks here name the section and key and, by looking the key up
 * again in the raw file, its line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <rte_cfgfile.h>

#include "cfg_lint.h"
#include "config.h"
#include "names.h"
#include "perftest_spec.h"

struct parse {
	struct rte_cfgfile *cf;
	struct dp_config *cfg;
	char *err;
	size_t errlen;
};

/*
 * Line of "key" in "[section]" (or of the section header when key is NULL),
 * 0 if not found. Only used to point at errors; the parsing is rte_cfgfile's.
 */
static int find_line(const char *path, const char *section, const char *key)
{
	FILE *f = fopen(path, "r");
	char line[512];
	int lineno = 0, in_section = 0, found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line;

		lineno++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '[') {
			char *end = strchr(p, ']');
			size_t n = end ? (size_t)(end - p - 1) : 0;

			in_section = end && n == strlen(section) && strncmp(p + 1, section, n) == 0;
			if (in_section && key == NULL) {
				found = lineno;
				break;
			}
			continue;
		}
		if (in_section && key != NULL && strncmp(p, key, strlen(key)) == 0) {
			char *q = p + strlen(key);

			while (*q == ' ' || *q == '\t')
				q++;
			if (*q == '=') {
				found = lineno;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

static int fail(struct parse *ps, const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct parse *ps, const char *section, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	int line = section ? find_line(ps->cfg->path, section, key) : 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ps->cfg->path[0] == '\0') /* settings given over the control socket */
		snprintf(ps->err, ps->errlen, "%s%s%s", key ? key : "", key ? ": " : "", msg);
	else if (section == NULL)
		snprintf(ps->err, ps->errlen, "%s: %s", ps->cfg->path, msg);
	else if (line > 0)
		snprintf(ps->err, ps->errlen, "%s:%d: [%s]%s%s: %s", ps->cfg->path, line, section,
			 key ? " " : "", key ? key : "", msg);
	else
		snprintf(ps->err, ps->errlen, "%s: [%s]%s%s: %s", ps->cfg->path, section,
			 key ? " " : "", key ? key : "", msg);
	return -1;
}

static const char *get(struct parse *ps, const char *section, const char *key)
{
	return rte_cfgfile_get_entry(ps->cf, section, key);
}

static int get_str(struct parse *ps, const char *section, const char *key, char *out,
		   size_t outlen, bool required)
{
	const char *v = get(ps, section, key);

	if (v == NULL || *v == '\0') {
		if (required)
			return fail(ps, section, key, "missing (required)");
		return 0;
	}
	if (strlen(v) >= outlen)
		return fail(ps, section, key, "longer than %zu characters", outlen - 1);
	strcpy(out, v);
	return 1;
}

/* A name that ends up in paths, JSON, labels and logs (names.h). */
static int check_name(struct parse *ps, const char *section, const char *key, const char *what,
		      const char *name)
{
	char msg[200];

	if (name_check(what, name, msg, sizeof(msg)) < 0)
		return fail(ps, section, key, "%s", msg);
	return 0;
}

/* Unsigned integer (decimal or 0x hex) in [min, max]; *out untouched if absent. */
static int get_uint(struct parse *ps, const char *section, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out, bool required)
{
	const char *v = get(ps, section, key);
	char *end;
	unsigned long long x;

	if (v == NULL || *v == '\0') {
		if (required)
			return fail(ps, section, key, "missing (required)");
		return 0;
	}
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-')
		return fail(ps, section, key, "'%s' is not a number", v);
	if (x < min || x > max)
		return fail(ps, section, key, "%llu out of range [%llu, %llu]", x,
			    (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 1;
}

static int get_ip(struct parse *ps, const char *section, const char *key, uint32_t *out,
		  bool required)
{
	const char *v = get(ps, section, key);
	struct in_addr a;

	if (v == NULL || *v == '\0') {
		if (required)
			return fail(ps, section, key, "missing (required)");
		return 0;
	}
	if (inet_pton(AF_INET, v, &a) != 1)
		return fail(ps, section, key, "'%s' is not an IPv4 address", v);
	*out = a.s_addr;
	return 1;
}

/* An IPv6 unicast address (not ::, not multicast). @return 1 set, 0 absent, -1 */
static int get_ip6(struct parse *ps, const char *section, const char *key, uint8_t out[16])
{
	const char *v = get(ps, section, key);
	struct in6_addr a;

	if (v == NULL || *v == '\0')
		return 0;
	if (inet_pton(AF_INET6, v, &a) != 1)
		return fail(ps, section, key, "'%s' is not a unicast IPv6 address", v);
	if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_MULTICAST(&a))
		return fail(ps, section, key, "'%s' is not a unicast IPv6 address", v);
	memcpy(out, &a, 16);
	return 1;
}

static int get_bool(struct parse *ps, const char *section, const char *key, bool *out)
{
	const char *v = get(ps, section, key);

	if (v == NULL)
		return 0;
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return fail(ps, section, key, "'%s' is not yes/no", v);
	return 1;
}

/* af_xdp-only keys of a port section, refused with any other driver */
static const char *const xdp_keys[] = { "start_queue", "busy_budget", "force_copy", NULL };

/*
 * "driver = af_xdp|af_packet" with "iface = NAME": the vdev spec isthmus-dp
 * probes, named after the port ("net_af_xdp_uplink", "net_af_xdp_local_web")
 * so it never clashes with a device given to EAL. The keys are net_af_xdp's
 * and net_af_packet's device arguments (DPDK 22.11); checked here, so that
 * --check-config catches what the PMD would refuse at start-up.
 */
static int get_driver(struct parse *ps, const char *section, const char *owner,
		      struct cfg_portspec *out)
{
	char drv[16] = "";
	uint64_t v;
	int n;

	if (get_str(ps, section, "driver", drv, sizeof(drv), true) < 0)
		return -1;
	if (strcmp(drv, "af_xdp") == 0)
		out->driver = CFG_DRV_AF_XDP;
	else if (strcmp(drv, "af_packet") == 0)
		out->driver = CFG_DRV_AF_PACKET;
	else
		return fail(ps, section, "driver", "'%s': af_xdp or af_packet (or use port = / vdev = "
			    "for any other device)", drv);
	if (get_str(ps, section, "iface", out->iface, sizeof(out->iface), true) < 0 ||
	    check_name(ps, section, "iface", "interface name", out->iface) < 0)
		return -1;
	v = 1;
	if (get_uint(ps, section, "queues", 1, 64, &v, false) < 0)
		return -1;
	out->queues = v;
	if (out->driver == CFG_DRV_AF_PACKET) {
		for (const char *const *k = xdp_keys; *k != NULL; k++)
			if (get(ps, section, *k) != NULL)
				return fail(ps, section, *k, "only for driver = af_xdp");
		n = snprintf(out->dev, sizeof(out->dev), "net_af_packet_%s,iface=%s,qpairs=%u", owner,
			     out->iface, out->queues);
	} else {
		v = 0;
		if (get_uint(ps, section, "start_queue", 0, 1023, &v, false) < 0)
			return -1;
		out->start_queue = v;
		v = 0;   /* off: an idle worker blocks in poll() instead (rxwait.c) */
		if (get_uint(ps, section, "busy_budget", 0, UINT16_MAX, &v, false) < 0 ||
		    get_bool(ps, section, "force_copy", &out->force_copy) < 0)
			return -1;
		out->busy_budget = v;
		n = snprintf(out->dev, sizeof(out->dev),
			     "net_af_xdp_%s,iface=%s,start_queue=%u,queue_count=%u,busy_budget=%u%s", owner,
			     out->iface, out->start_queue, out->queues, out->busy_budget,
			     out->force_copy ? ",force_copy=1" : "");
	}
	if (n < 0 || (size_t)n >= sizeof(out->dev))
		return fail(ps, section, "iface", "device spec too long");
	out->is_vdev = true;
	return 0;
}

/* "port = 0" / "port = net_pcap0" (existing device), "vdev = net_ring0,..." or
 * "driver = af_xdp" with "iface = ens224" (get_driver) */
static int get_portspec(struct parse *ps, const char *section, const char *owner,
			struct cfg_portspec *out)
{
	const char *port = get(ps, section, "port"), *vdev = get(ps, section, "vdev");
	const char *drv = get(ps, section, "driver");

	if ((port != NULL) + (vdev != NULL) + (drv != NULL) != 1)
		return fail(ps, section, NULL, "needs exactly one of 'port' (index or device name), "
			    "'vdev' (vdev spec probed at start-up) or 'driver' (af_xdp, af_packet: "
			    "with 'iface')");
	if (drv != NULL)
		return get_driver(ps, section, owner, out);
	if (get(ps, section, "iface") != NULL || get(ps, section, "queues") != NULL)
		return fail(ps, section, get(ps, section, "iface") ? "iface" : "queues",
			    "only with 'driver' (af_xdp, af_packet)");
	for (const char *const *k = xdp_keys; *k != NULL; k++)
		if (get(ps, section, *k) != NULL)
			return fail(ps, section, *k, "only for driver = af_xdp");
	out->is_vdev = vdev != NULL;
	return get_str(ps, section, vdev ? "vdev" : "port", out->dev, sizeof(out->dev), true) < 0
		       ? -1 : 0;
}

/* Refuse keys this version does not know: a typo must not be silently ignored. */
static int check_keys(struct parse *ps, const char *section, const char *const *known)
{
	int n = rte_cfgfile_section_num_entries(ps->cf, section);
	struct rte_cfgfile_entry *e;

	if (n <= 0)
		return 0;
	e = calloc(n, sizeof(*e));
	if (e == NULL)
		return fail(ps, section, NULL, "out of memory");
	rte_cfgfile_section_entries(ps->cf, section, e, n);
	for (int i = 0; i < n; i++) {
		bool ok = false;

		for (const char *const *k = known; *k != NULL && !ok; k++) {
			size_t kl = strlen(*k);

			/* "out." matches out.0, out.1, ... */
			ok = (*k)[kl - 1] == '.' ? strncmp(e[i].name, *k, kl) == 0
						 : strcmp(e[i].name, *k) == 0;
		}
		if (!ok) {
			char name[CFG_NAME_LEN];

			snprintf(name, sizeof(name), "%s", e[i].name);
			explicit_bzero(e, n * sizeof(*e));
			free(e);
			return fail(ps, section, name, "unknown key");
		}
	}
	explicit_bzero(e, n * sizeof(*e));
	free(e);
	return 0;
}

static int parse_appliance(struct parse *ps)
{
	static const char *const keys[] = { "name", "rx_mode", "burst", "rx_spin_us", "rx_nap_us",
					    "mbufs", "mac_table_size", "run_dir", "perftest",
					    "perftest_max_rate", NULL };
	const char *s = "appliance";
	struct dp_config *c = ps->cfg;
	uint64_t v;
	char mode[16] = "adaptive", pt[16] = "deny";

	if (!rte_cfgfile_has_section(ps->cf, s))
		return fail(ps, NULL, NULL, "missing section [appliance]");
	if (check_keys(ps, s, keys) < 0 || get_str(ps, s, "name", c->name, sizeof(c->name), true) < 0 ||
	    check_name(ps, s, "name", "appliance name", c->name) < 0 ||
	    get_str(ps, s, "rx_mode", mode, sizeof(mode), false) < 0)
		return -1;
	if (strcmp(mode, "poll") == 0)
		c->rx_mode = CFG_RX_POLL;
	else if (strcmp(mode, "adaptive") == 0)
		c->rx_mode = CFG_RX_ADAPTIVE;
	else if (strcmp(mode, "interrupt") == 0)
		return fail(ps, s, "rx_mode", "'interrupt' needs RX interrupts, which none of the "
			    "drivers Isthmus runs on here has (net_af_packet, net_af_xdp, net_pcap, "
			    "net_ring, net_tap): use 'adaptive'");
	else
		return fail(ps, s, "rx_mode", "'%s': adaptive (default), poll or interrupt", mode);
	v = 32;
	if (get_uint(ps, s, "burst", 1, DP_BURST_MAX, &v, false) < 0)
		return -1;
	c->burst = v;
	v = DP_RX_SPIN_US;
	if (get_uint(ps, s, "rx_spin_us", 0, 1000, &v, false) < 0)
		return -1;
	c->rx_spin_us = (uint32_t)v;
	v = DP_RX_NAP_US;
	if (get_uint(ps, s, "rx_nap_us", 0, 1000, &v, false) < 0)
		return -1;
	c->rx_nap_us = (uint32_t)v;
	v = 8192;
	if (get_uint(ps, s, "mbufs", 1024, 1u << 22, &v, false) < 0)
		return -1;
	c->mbufs = v;
	v = 65536;
	if (get_uint(ps, s, "mac_table_size", 64, 1u << 24, &v, false) < 0)
		return -1;
	c->fdb_size = v;
	/* control sockets of this appliance (isthmus-dp's, isthmusd's, charon's vici) */
	snprintf(c->run_dir, sizeof(c->run_dir), "/run/isthmus/%s", c->name);
	if (get_str(ps, s, "run_dir", c->run_dir, sizeof(c->run_dir), false) < 0)
		return -1;
	if (strlen(c->run_dir) > 80)
		return fail(ps, s, "run_dir", "longer than 80 characters (unix socket paths are short)");
	/* isthmusctl perftest (docs/perftest.md): off unless both sites say so */
	if (get_str(ps, s, "perftest", pt, sizeof(pt), false) < 0)
		return -1;
	if (strcmp(pt, "allow") && strcmp(pt, "deny"))
		return fail(ps, s, "perftest", "'%s': allow or deny (default)", pt);
	c->perftest = !strcmp(pt, "allow");
	v = PERFTEST_DEFAULT_MAX_RATE;
	if (get_uint(ps, s, "perftest_max_rate", 1, PERFTEST_RATE_CEILING, &v, false) < 0)
		return -1;
	c->perftest_max_rate = v;
	return 0;
}

/* [uplink] peer_route = A.B.C.D/LEN (default: peer/32), the prefix the
 * exception TAP routes via the gateway (exception_dp.c). */
static int get_prefix(struct parse *ps, const char *section, const char *key, struct dp_config *c)
{
	const char *v = get(ps, section, key);
	char addr[INET_ADDRSTRLEN];
	const char *slash;
	char *end;
	unsigned long len;
	struct in_addr a;

	c->peer_route = c->peer_ip;
	c->peer_route_len = 32;
	if (v == NULL)
		return 0;
	slash = strchr(v, '/');
	if (slash == NULL || (size_t)(slash - v) >= sizeof(addr))
		return fail(ps, section, key, "'%s' is not a prefix (A.B.C.D/LEN)", v);
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &a) != 1 || end == slash + 1 || *end || errno || len > 32)
		return fail(ps, section, key, "'%s' is not a prefix (A.B.C.D/LEN)", v);
	if (len < 32 && (ntohl(a.s_addr) & (0xffffffffu >> len)))
		return fail(ps, section, key, "'%s' has host bits set", v);
	if (len && ((ntohl(a.s_addr) ^ ntohl(c->peer_ip)) >> (32 - len)))
		return fail(ps, section, key, "'%s' does not contain the peer's address", v);
	c->peer_route = a.s_addr;
	c->peer_route_len = (uint8_t)len;
	c->peer_route_set = true;
	return 0;
}

static int parse_uplink(struct parse *ps)
{
	static const char *const keys[] = { "port", "vdev", "driver", "iface", "queues", "start_queue",
					    "busy_budget", "force_copy", "address", "peer", "gateway",
					    "peer_mac",
					    "mtu", "local_vtep", "peer_vtep", "src_port_base", "tap",
					    "tap_prefix", "reass_flows", "reass_timeout_ms",
					    "exception_rate", "exception_burst", "peer_route", "peer_nat",
					    NULL };
	const char *s = "uplink";
	struct dp_config *c = ps->cfg;
	char mac[32];
	uint64_t v;
	int r;

	if (!rte_cfgfile_has_section(ps->cf, s))
		return fail(ps, NULL, NULL, "missing section [uplink]");
	if (check_keys(ps, s, keys) < 0 || get_portspec(ps, s, "uplink", &c->uplink) < 0 ||
	    get_ip(ps, s, "address", &c->uplink_ip, true) < 0 ||
	    get_ip(ps, s, "peer", &c->peer_ip, true) < 0 ||
	    get_ip(ps, s, "local_vtep", &c->local_vtep, true) < 0 ||
	    get_ip(ps, s, "peer_vtep", &c->peer_vtep, true) < 0)
		return -1;
	c->gateway_ip = c->peer_ip;
	if (get_ip(ps, s, "gateway", &c->gateway_ip, false) < 0 ||
	    get_prefix(ps, s, "peer_route", c) < 0 || get_bool(ps, s, "peer_nat", &c->peer_nat) < 0)
		return -1;
	r = get_str(ps, s, "peer_mac", mac, sizeof(mac), false);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (rte_ether_unformat_addr(mac, &c->peer_mac) < 0 ||
		    !rte_is_unicast_ether_addr(&c->peer_mac) || rte_is_zero_ether_addr(&c->peer_mac))
			return fail(ps, s, "peer_mac", "'%s' is not a unicast MAC address", mac);
		c->peer_mac_set = true;
	}
	v = 1500;
	if (get_uint(ps, s, "mtu", 576, 9600, &v, false) < 0)
		return -1;
	c->uplink_mtu = v;
	/* outer reassembly (reass.c): bounded table, bounded wait */
	v = 1024;
	if (get_uint(ps, s, "reass_flows", 16, 65536, &v, false) < 0)
		return -1;
	c->reass_flows = v;
	v = 2000;
	if (get_uint(ps, s, "reass_timeout_ms", 10, 60000, &v, false) < 0)
		return -1;
	c->reass_timeout_ms = v;
	v = 4500;
	if (get_uint(ps, s, "src_port_base", 1, 65535, &v, false) < 0)
		return -1;
	c->src_port_base = v;
	if (get_str(ps, s, "tap", c->tap, sizeof(c->tap), false) < 0 ||
	    (c->tap[0] && check_name(ps, s, "tap", "interface name", c->tap) < 0))
		return -1;
	v = 24;
	if (get_uint(ps, s, "tap_prefix", 1, 32, &v, false) < 0)
		return -1;
	c->tap_prefix = v;
	/* exception path policer (exception_dp.c): all but the peer's IKE */
	v = 2000;
	if (get_uint(ps, s, "exception_rate", 0, 10000000, &v, false) < 0)
		return -1;
	c->exc_rate = v;
	v = 200;   /* below what one UDP socket's default buffer holds (charon's) */
	if (get_uint(ps, s, "exception_burst", 1, 10000000, &v, false) < 0)
		return -1;
	c->exc_burst = v;
	if (c->uplink_ip == c->peer_ip)
		return fail(ps, s, "peer", "same as the uplink address");
	if (c->local_vtep == c->peer_vtep)
		return fail(ps, s, "peer_vtep", "same as local_vtep");
	return 0;
}

static int parse_local(struct parse *ps, const char *section)
{
	static const char *const keys[] = { "port", "vdev", "driver", "iface", "queues",
					    "start_queue", "busy_budget", "force_copy", "mode", "mtu",
					    NULL };
	char owner[DP_NAME_LEN + 8];
	struct dp_config *c = ps->cfg;
	struct cfg_local *l;
	char mode[16] = "access";
	uint64_t v = 1500;

	if (c->nb_local == DP_MAX_LOCAL_PORTS)
		return fail(ps, section, NULL, "more than %d local ports", DP_MAX_LOCAL_PORTS);
	l = &c->local[c->nb_local];
	if (strlen(section) - 6 >= sizeof(l->name) || section[6] == '\0')
		return fail(ps, section, NULL, "local port name empty or too long");
	snprintf(l->name, sizeof(l->name), "%s", section + 6);
	if (check_name(ps, section, NULL, "local port name", l->name) < 0)
		return -1;
	for (uint16_t i = 0; i < c->nb_local; i++)
		if (strcmp(c->local[i].name, l->name) == 0)
			return fail(ps, section, NULL, "duplicate local port");
	snprintf(owner, sizeof(owner), "local_%s", l->name);
	if (check_keys(ps, section, keys) < 0 || get_portspec(ps, section, owner, &l->port) < 0 ||
	    get_str(ps, section, "mode", mode, sizeof(mode), false) < 0 ||
	    get_uint(ps, section, "mtu", 576, 9000, &v, false) < 0)
		return -1;
	if (strcmp(mode, "access") == 0)
		l->mode = CFG_LOCAL_ACCESS;
	else if (strcmp(mode, "trunk") == 0)
		l->mode = CFG_LOCAL_TRUNK;
	else
		return fail(ps, section, "mode", "'%s' is neither 'access' nor 'trunk'", mode);
	l->mtu = v;
	c->nb_local++;
	return 0;
}

static int parse_segment(struct parse *ps, const char *section)
{
	static const char *const keys[] = { "vni", "local", "vlan", "mac_limit", "aging", "gateway",
					    "gateway6", "gateway_site", "local_egress", "router_mac",
					    "mss_clamp", "mss", "storm_broadcast", "storm_multicast",
					    "storm_unknown", "storm_burst", "flap_moves", "flap_window",
					    "flap_dampen", "pmtu", "pmtu_rate", NULL };
	static const char *const storm_keys[3] = { "storm_broadcast", "storm_multicast",
						   "storm_unknown" };
	char site[16] = "local", rmac[32] = "";
	struct dp_config *c = ps->cfg;
	struct cfg_segment *sg = &c->seg[c->nb_seg];
	char local[DP_NAME_LEN], vlan[16] = "untagged";
	uint64_t v;
	int i, r6;

	if (c->nb_seg == DP_MAX_SEGMENTS)
		return fail(ps, section, NULL, "more than %d segments", DP_MAX_SEGMENTS);
	if (strlen(section) - 8 >= sizeof(sg->name) || section[8] == '\0')
		return fail(ps, section, NULL, "segment name empty or too long");
	snprintf(sg->name, sizeof(sg->name), "%s", section + 8);
	if (check_name(ps, section, NULL, "segment name", sg->name) < 0)
		return -1;
	if (check_keys(ps, section, keys) < 0 ||
	    get_uint(ps, section, "vni", 1, (1u << 24) - 1, &v, true) < 0)
		return -1;
	if (v == CTL_PERFTEST_VNI)
		return fail(ps, section, "vni", "VNI %u is reserved for isthmusctl perftest's "
			    "frames, never a segment's", CTL_PERFTEST_VNI);
	sg->vni = v;
	if (get_str(ps, section, "local", local, sizeof(local), c->nb_local != 1) < 0)
		return -1;
	if (get(ps, section, "local") == NULL)
		snprintf(local, sizeof(local), "%s", c->local[0].name);
	for (i = 0; i < c->nb_local; i++)
		if (strcmp(c->local[i].name, local) == 0)
			break;
	if (i == c->nb_local)
		return fail(ps, section, "local", "no local port '%s' (no section [local %s])",
			    local, local);
	sg->local = i;
	if (get_str(ps, section, "vlan", vlan, sizeof(vlan), false) < 0)
		return -1;
	if (strcmp(vlan, "untagged") == 0) {
		sg->vlan = DP_VLAN_UNTAGGED;
	} else {
		if (get_uint(ps, section, "vlan", 1, 4094, &v, false) < 0)
			return -1;
		if (c->local[i].mode == CFG_LOCAL_ACCESS)
			return fail(ps, section, "vlan", "local port '%s' is an access port: "
				    "its segment is untagged (omit vlan)", local);
		sg->vlan = v;
	}
	v = 4096;
	if (get_uint(ps, section, "mac_limit", 1, c->fdb_size, &v, false) < 0)
		return -1;
	sg->mac_limit = v;
	v = 300;
	if (get_uint(ps, section, "aging", 1, 86400, &v, false) < 0)
		return -1;
	sg->aging_s = v;
	/* MAC flaps (docs/l2-safety.md): one vMotion is one move, a few more
	 * (a VM moved there and back) stay under the default of 5 in 10 s */
	v = 5;
	if (get_uint(ps, section, "flap_moves", 1, 1000, &v, false) < 0)
		return -1;
	sg->flap_moves = v;
	v = 10;
	if (get_uint(ps, section, "flap_window", 1, 3600, &v, false) < 0)
		return -1;
	sg->flap_window = v;
	v = 0;
	if (get_uint(ps, section, "flap_dampen", 0, 86400, &v, false) < 0)
		return -1;
	sg->flap_dampen = v;
	/* first-hop router and local egress (docs/config.md, dataplane/gateway.c) */
	if (get_ip(ps, section, "gateway", &sg->gateway, false) < 0 ||
	    (r6 = get_ip6(ps, section, "gateway6", sg->gateway6)) < 0 ||
	    get_str(ps, section, "gateway_site", site, sizeof(site), false) < 0 ||
	    get_bool(ps, section, "local_egress", &sg->local_egress) < 0 ||
	    get_str(ps, section, "router_mac", rmac, sizeof(rmac), false) < 0)
		return -1;
	if (strcmp(site, "local") && strcmp(site, "peer"))
		return fail(ps, section, "gateway_site", "'%s' is neither 'local' nor 'peer'", site);
	sg->gateway_local = strcmp(site, "local") == 0;
	if (rmac[0] && (rte_ether_unformat_addr(rmac, &sg->router_mac) < 0 ||
			!rte_is_unicast_ether_addr(&sg->router_mac) ||
			rte_is_zero_ether_addr(&sg->router_mac)))
		return fail(ps, section, "router_mac", "'%s' is not a unicast MAC address", rmac);
	sg->has_gateway6 = r6 == 1;
	if ((sg->local_egress || rmac[0]) && sg->gateway == 0 && !sg->has_gateway6)
		return fail(ps, section, "gateway",
			    "local_egress and router_mac need the gateway address (gateway or gateway6)");
	if (sg->local_egress && !rmac[0])
		return fail(ps, section, "router_mac", "local_egress needs the local router's MAC");
	/* TCP MSS clamping and storm control (docs/conditioning.md) */
	sg->mss_clamp = true;
	if (get_bool(ps, section, "mss_clamp", &sg->mss_clamp) < 0)
		return -1;
	v = 0;
	/* 536: the MSS every host must accept (RFC 9293 section 3.7.1); 9600 less
	 * 40: the largest uplink MTU */
	if (get_uint(ps, section, "mss", 536, 9560, &v, false) < 0)
		return -1;
	sg->mss = v;
	if (sg->mss && !sg->mss_clamp)
		return fail(ps, section, "mss", "set, but mss_clamp = no");
	for (int k = 0; k < 3; k++) {
		v = 0;
		if (get_uint(ps, section, storm_keys[k], 0, 100000000, &v, false) < 0)
			return -1;
		sg->storm_pps[k] = v;
	}
	v = 0;
	if (get_uint(ps, section, "storm_burst", 1, 100000000, &v, false) < 0)
		return -1;
	sg->storm_burst = v;
	if (sg->storm_burst && !sg->storm_pps[0] && !sg->storm_pps[1] && !sg->storm_pps[2])
		return fail(ps, section, "storm_burst", "set, but no storm_broadcast, storm_multicast "
			    "or storm_unknown rate");
	/* path-MTU help (docs/mtu.md, dataplane/pmtu.c) */
	v = 100;
	if (get_bool(ps, section, "pmtu", &sg->pmtu) < 0 ||
	    get_uint(ps, section, "pmtu_rate", 1, 100000, &v, false) < 0)
		return -1;
	sg->pmtu_rate = v;
	if (sg->pmtu && sg->gateway == 0 && !sg->has_gateway6)
		return fail(ps, section, "pmtu", "needs gateway (IPv4) or gateway6 (IPv6): "
			    "the ICMP messages come from the segment's gateway address");
	for (i = 0; i < c->nb_seg; i++) {
		const struct cfg_segment *o = &c->seg[i];

		if (o->vni == sg->vni)
			return fail(ps, section, "vni", "VNI %u already used by segment '%s'",
				    sg->vni, o->name);
		if (o->local == sg->local && o->vlan == sg->vlan)
			return fail(ps, section, "vlan", "VLAN already used on '%s' by segment '%s'",
				    local, o->name);
		if (o->local == sg->local && c->local[sg->local].mode == CFG_LOCAL_ACCESS)
			return fail(ps, section, "local", "access port '%s' already carries segment '%s'",
				    local, o->name);
	}
	c->nb_seg++;
	return 0;
}

/* "A.B.C.D/LEN" into @p ip and @p len. @return 1 set, 0 absent, -1 */
static int get_addr_len(struct parse *ps, const char *section, const char *key, uint32_t *ip,
			uint8_t *len)
{
	const char *v = get(ps, section, key);
	char addr[INET_ADDRSTRLEN], *end;
	const char *slash;
	unsigned long l;
	struct in_addr a;

	if (v == NULL || *v == '\0')
		return 0;
	slash = strchr(v, '/');
	if (slash == NULL || (size_t)(slash - v) >= sizeof(addr))
		return fail(ps, section, key, "'%s' is not an address with its prefix length "
			    "(A.B.C.D/LEN)", v);
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	errno = 0;
	l = strtoul(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &a) != 1 || end == slash + 1 || *end || errno || l < 1 || l > 32)
		return fail(ps, section, key, "'%s' is not an address with its prefix length "
			    "(A.B.C.D/LEN, LEN 1..32)", v);
	*ip = a.s_addr;
	*len = (uint8_t)l;
	return 1;
}

/*
 * [ha] (docs/ha.md): the floating address and the VRRP instance keepalived
 * runs for this member (isthmusctl ha keepalived-config writes its file).
 * VRRPv3 (RFC 5798 section 5.2.7) carries the advertisement interval in
 * centiseconds, 12 bits: 10 ms steps up to 40950 ms.
 */
static int parse_ha(struct parse *ps)
{
	static const char *const keys[] = { "group", "vip", "vrid", "priority", "preempt",
					    "preempt_delay", "advert_interval", "unicast_peer", NULL };
	const char *s = "ha";
	struct dp_config *c = ps->cfg;
	struct cfg_ha *h = &c->ha;
	uint64_t v;
	int r;

	if (!rte_cfgfile_has_section(ps->cf, s))
		return 0;
	if (check_keys(ps, s, keys) < 0 ||
	    get_str(ps, s, "group", h->group, sizeof(h->group), true) < 0 ||
	    check_name(ps, s, "group", "HA group name", h->group) < 0)
		return -1;
	r = get_addr_len(ps, s, "vip", &h->vip, &h->vip_len);
	if (r < 0)
		return -1;
	if (r == 0)
		return fail(ps, s, NULL, "vip: missing (required): the group's floating uplink "
			    "address, A.B.C.D/LEN");
	if (h->vip == c->uplink_ip)
		return fail(ps, s, "vip", "same as [uplink] address: that is this member's own "
			    "address, the VIP floats between the members");
	if (h->vip == c->peer_ip)
		return fail(ps, s, "vip", "same as [uplink] peer");
	if (c->tap[0] == '\0')
		return fail(ps, s, NULL, "needs [uplink] tap: keepalived speaks VRRP and holds the "
			    "VIP on the exception TAP");
	v = 51;
	if (get_uint(ps, s, "vrid", 1, 255, &v, false) < 0)
		return -1;
	h->vrid = v;
	v = 100;
	if (get_uint(ps, s, "priority", 1, 254, &v, false) < 0)
		return -1;
	h->priority = v;
	if (get_bool(ps, s, "preempt", &h->preempt) < 0)
		return -1;
	v = 0;
	if (get_uint(ps, s, "preempt_delay", 0, 1000, &v, false) < 0)
		return -1;
	h->preempt_delay_s = v;
	if (h->preempt_delay_s && !h->preempt)
		return fail(ps, s, "preempt_delay", "set, but preempt = no");
	/* 200 ms: the standby takes over 3 x 200 ms + skew after the last
	 * advertisement (RFC 5798 section 6.1), well inside 2 s */
	v = 200;
	if (get_uint(ps, s, "advert_interval", 10, 40950, &v, false) < 0)
		return -1;
	if (v % 10)
		return fail(ps, s, "advert_interval", "%llu: a multiple of 10 ms (VRRPv3 counts "
			    "centiseconds, RFC 5798 section 5.2.7)", (unsigned long long)v);
	h->advert_ms = v;
	if (get_ip(ps, s, "unicast_peer", &h->unicast_peer, false) < 0)
		return -1;
	if (h->unicast_peer && (h->unicast_peer == c->uplink_ip || h->unicast_peer == h->vip ||
				h->unicast_peer == c->peer_ip))
		return fail(ps, s, "unicast_peer", "must be the other member's own [uplink] address");
	h->enabled = true;
	return 0;
}

/* "0x00001001 <72 hex digits>": SPI, then key || salt (RFC 4106 section 8.1). */
static int parse_sa_entry(struct parse *ps, const char *key, char *val, struct cfg_static_sa *sa)
{
	const char *s = "sa.static";
	char *end, *hex;
	unsigned long spi;
	size_t i;

	errno = 0;
	spi = strtoul(val, &end, 0);
	if (errno != 0 || end == val || spi < 256 || spi > UINT32_MAX || !isspace((unsigned char)*end))
		return fail(ps, s, key, "expected '<SPI 256..2^32-1> <%d hex digits>'",
			    2 * ESP_KEYMAT_LEN);
	hex = end;
	while (isspace((unsigned char)*hex))
		hex++;
	if (strlen(hex) != 2 * ESP_KEYMAT_LEN)
		return fail(ps, s, key, "key must be %d hex digits (32-byte key, 4-byte salt)",
			    2 * ESP_KEYMAT_LEN);
	for (i = 0; i < ESP_KEYMAT_LEN; i++) {
		char b[3] = { hex[2 * i], hex[2 * i + 1], 0 };

		if (!isxdigit((unsigned char)b[0]) || !isxdigit((unsigned char)b[1]))
			return fail(ps, s, key, "key is not hexadecimal");
		sa->keymat[i] = strtoul(b, NULL, 16);
	}
	sa->spi = spi;
	return 0;
}

static int parse_sa_static(struct parse *ps)
{
	static const char *const keys[] = { "cipher", "backend", "esn", "replay_window", "out.",
					    "in.", NULL };
	const char *s = "sa.static";
	struct dp_config *c = ps->cfg;
	struct rte_cfgfile_entry *e;
	char str[32], zeros[CFG_VALUE_LEN];
	uint64_t v;
	int n, r = 0;

	if (!rte_cfgfile_has_section(ps->cf, s))
		return 0;
	c->sa_static = true;
	memset(zeros, '0', sizeof(zeros) - 1);
	zeros[sizeof(zeros) - 1] = '\0';
	if (check_keys(ps, s, keys) < 0)
		return -1;
	c->cipher = ESP_CIPHER_AES256GCM;
	if (get_str(ps, s, "cipher", str, sizeof(str), false) > 0 && esp_cipher_parse(str, &c->cipher) < 0)
		return fail(ps, s, "cipher", "'%s': expected aes256gcm or chacha20poly1305", str);
	c->backend = ESP_BACKEND_AUTO;
	if (get_str(ps, s, "backend", str, sizeof(str), false) > 0 &&
	    esp_backend_parse(str, &c->backend) < 0)
		return fail(ps, s, "backend", "'%s': expected auto, ipsec-mb or sodium", str);
	if (get_bool(ps, s, "esn", &c->esn) < 0)
		return -1;
	v = 0;
	if (get_uint(ps, s, "replay_window", 0, ESP_REPLAY_WINDOW_MAX, &v, false) < 0)
		return -1;
	c->replay_window = v;

	n = rte_cfgfile_section_num_entries(ps->cf, s);
	e = calloc(n, sizeof(*e));
	if (e == NULL)
		return fail(ps, s, NULL, "out of memory");
	rte_cfgfile_section_entries(ps->cf, s, e, n);
	for (int i = 0; i < n && r == 0; i++) {
		bool out = strncmp(e[i].name, "out.", 4) == 0, in = strncmp(e[i].name, "in.", 3) == 0;
		const char *idx = e[i].name + (out ? 4 : 3);
		char *end;
		unsigned long k;

		if (!out && !in)
			continue;
		k = strtoul(idx, &end, 10);
		if (*idx == '\0' || *end != '\0' || k >= DP_MAX_STATIC_SA) {
			r = fail(ps, s, e[i].name, "index must be 0..%d", DP_MAX_STATIC_SA - 1);
			break;
		}
		r = parse_sa_entry(ps, e[i].name, e[i].value, out ? &c->sa_out[k] : &c->sa_in[k]);
		/* Overwrite the key in rte_cfgfile's own copy (strlcpy of a full-length string). */
		rte_cfgfile_set_entry(ps->cf, s, e[i].name, zeros);
		if (r == 0 && out && k >= c->nb_sa_out)
			c->nb_sa_out = k + 1;
		if (r == 0 && in && k >= c->nb_sa_in)
			c->nb_sa_in = k + 1;
	}
	explicit_bzero(e, n * sizeof(*e));
	free(e);
	if (r < 0)
		return -1;
	for (int i = 0; i < c->nb_sa_out; i++)
		if (c->sa_out[i].spi == 0)
			return fail(ps, s, NULL, "out.%d missing (out.N must be numbered from 0)", i);
	for (int i = 0; i < c->nb_sa_in; i++)
		if (c->sa_in[i].spi == 0)
			return fail(ps, s, NULL, "in.%d missing (in.N must be numbered from 0)", i);
	for (int i = 0; i < c->nb_sa_in; i++)
		for (int j = 0; j < i; j++)
			if (c->sa_in[i].spi == c->sa_in[j].spi)
				return fail(ps, s, NULL, "in.%d and in.%d have the same SPI", j, i);
	if (c->nb_sa_out == 0 || c->nb_sa_in == 0)
		return fail(ps, s, NULL, "needs out.0 and in.0 at least");
	return 0;
}

/*
 * [test]: TEST ONLY. outbound_seq_start lets a test start every outbound SA
 * that isthmusd installs just below 2^32 and watch it be rekeyed before its
 * sequence numbers run out (RFC 4303 3.3.3). It never lowers a counter, so it
 * cannot make a nonce repeat.
 */
static int parse_test(struct parse *ps)
{
	static const char *const keys[] = { "outbound_seq_start", NULL };
	const char *s = "test";

	if (!rte_cfgfile_has_section(ps->cf, s))
		return 0;
	if (check_keys(ps, s, keys) < 0)
		return -1;
	return get_uint(ps, s, "outbound_seq_start", 0, UINT32_MAX, &ps->cfg->test_seq_start,
			false);
}

/* Split "key=value key=value ..." into @p cf's section; refuses what a file
 * line could not hold (cfg_lint's limits) and a key given twice. */
static int spec_to_section(struct rte_cfgfile *cf, const char *section, const char *spec,
			   char *err, size_t errlen)
{
	char buf[CFG_SPEC_MAX + 1], *save = NULL;

	if (strlen(spec) > CFG_SPEC_MAX) {
		snprintf(err, errlen, "segment settings longer than %d characters", CFG_SPEC_MAX);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(t, '=');

		if (!eq || eq == t || eq[1] == '\0') {
			snprintf(err, errlen, "'%.64s': segment settings are key=value", t);
			return -1;
		}
		*eq = '\0';
		if (strlen(t) >= CFG_NAME_LEN || strlen(eq + 1) >= CFG_VALUE_LEN) {
			snprintf(err, errlen, "%.64s: key or value too long", t);
			return -1;
		}
		if (rte_cfgfile_has_entry(cf, section, t)) {
			snprintf(err, errlen, "%s: set twice", t);
			return -1;
		}
		if (rte_cfgfile_add_entry(cf, section, t, eq + 1) < 0) {
			snprintf(err, errlen, "%s: cannot hold more settings", t);
			return -1;
		}
	}
	return 0;
}

int config_segment_spec(const struct dp_config *base, const char *name, const char *spec,
			struct cfg_segment *out, char *err, size_t errlen)
{
	struct dp_config tmp = *base;
	struct parse ps = { .cfg = &tmp, .err = err, .errlen = errlen };
	char section[CFG_NAME_LEN];
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (snprintf(section, sizeof(section), "segment %s", name) >= (int)sizeof(section)) {
		snprintf(err, errlen, "segment name too long");
		return -1;
	}
	/* the one [segment] parser, on a section made in memory: no clash check
	 * against the file's segments here (the dataplane's table decides) */
	tmp.path[0] = '\0';
	tmp.seg = out;
	tmp.nb_seg = 0;
	ps.cf = rte_cfgfile_create(0);
	if (ps.cf == NULL || rte_cfgfile_add_section(ps.cf, section) < 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (spec_to_section(ps.cf, section, spec, err, errlen) < 0)
		goto done;
	r = parse_segment(&ps, section);
done:
	if (ps.cf)
		rte_cfgfile_close(ps.cf);
	return r;
}

bool config_segment_equal(const struct cfg_segment *a, const struct cfg_segment *b)
{
	return !strcmp(a->name, b->name) && a->vni == b->vni && a->local == b->local &&
	       a->vlan == b->vlan && a->mac_limit == b->mac_limit && a->aging_s == b->aging_s &&
	       a->gateway == b->gateway && a->has_gateway6 == b->has_gateway6 &&
	       !memcmp(a->gateway6, b->gateway6, sizeof(a->gateway6)) &&
	       a->gateway_local == b->gateway_local && a->local_egress == b->local_egress &&
	       rte_is_same_ether_addr(&a->router_mac, &b->router_mac) &&
	       a->mss_clamp == b->mss_clamp && a->mss == b->mss &&
	       !memcmp(a->storm_pps, b->storm_pps, sizeof(a->storm_pps)) &&
	       a->storm_burst == b->storm_burst && a->flap_moves == b->flap_moves &&
	       a->flap_window == b->flap_window && a->flap_dampen == b->flap_dampen &&
	       a->pmtu == b->pmtu && a->pmtu_rate == b->pmtu_rate;
}

int config_segment_texts(const struct dp_config *cfg, char (*out)[CFG_SPEC_MAX + 1], char *err,
			 size_t errlen)
{
	struct rte_cfgfile_parameters prm = { .comment_character = ';' };
	struct rte_cfgfile *cf = rte_cfgfile_load_with_params(cfg->path, 0, &prm);
	int r = 0;

	if (cf == NULL) {
		snprintf(err, errlen, "%s: cannot read it again", cfg->path);
		return -1;
	}
	for (uint16_t i = 0; i < cfg->nb_seg && r == 0; i++) {
		char section[CFG_NAME_LEN];
		struct rte_cfgfile_entry *e;
		int n;
		size_t len = 0;

		snprintf(section, sizeof(section), "segment %s", cfg->seg[i].name);
		n = rte_cfgfile_section_num_entries(cf, section);
		out[i][0] = '\0';
		if (n <= 0)
			continue;
		e = calloc((size_t)n, sizeof(*e));
		if (e == NULL) {
			snprintf(err, errlen, "out of memory");
			r = -1;
			break;
		}
		rte_cfgfile_section_entries(cf, section, e, n);
		for (int k = 0; k < n; k++) {
			int w = snprintf(out[i] + len, CFG_SPEC_MAX + 1 - len, "%s%s=%s", len ? " " : "",
					 e[k].name, e[k].value);

			if (w < 0 || (size_t)w >= CFG_SPEC_MAX + 1 - len) {
				snprintf(err, errlen, "%s: [%s]: longer than %d characters as settings",
					 cfg->path, section, CFG_SPEC_MAX);
				r = -1;
				break;
			}
			len += (size_t)w;
		}
		free(e);
	}
	rte_cfgfile_close(cf);
	return r;
}

/*
 * With an af_xdp port, every mbuf is an XDP buffer: the MTUs of all ports
 * (they share one pool) must fit CFG_AF_XDP_MAX_MTU. Two ports on one
 * interface would fight over its XDP program (and af_packet would see the
 * frames XDP passes on).
 */
static int check_af_xdp(struct parse *ps)
{
	const struct dp_config *c = ps->cfg;
	const struct cfg_portspec *spec[DP_MAX_PORTS];
	const char *sec[DP_MAX_PORTS];
	char names[DP_MAX_LOCAL_PORTS][DP_NAME_LEN + 8];
	bool xdp = c->uplink.driver == CFG_DRV_AF_XDP;
	unsigned n = 0;

	spec[n] = &c->uplink;
	sec[n++] = "uplink";
	for (uint16_t i = 0; i < c->nb_local; i++) {
		snprintf(names[i], sizeof(names[i]), "local %s", c->local[i].name);
		spec[n] = &c->local[i].port;
		sec[n++] = names[i];
		xdp |= c->local[i].port.driver == CFG_DRV_AF_XDP;
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i; j++)
			if (spec[i]->driver && spec[j]->driver && !strcmp(spec[i]->iface, spec[j]->iface))
				return fail(ps, sec[i], "iface", "'%s' is already the interface of [%s]",
					    spec[i]->iface, sec[j]);
	if (!xdp)
		return 0;
	if (c->uplink_mtu > CFG_AF_XDP_MAX_MTU)
		return fail(ps, "uplink", "mtu", "%u: with a driver = af_xdp port every frame must fit "
			    "one page (an XDP buffer): at most %u", c->uplink_mtu, CFG_AF_XDP_MAX_MTU);
	for (uint16_t i = 0; i < c->nb_local; i++)
		if (c->local[i].mtu > CFG_AF_XDP_MAX_MTU)
			return fail(ps, names[i], "mtu", "%u: with a driver = af_xdp port every frame "
				    "must fit one page (an XDP buffer): at most %u", c->local[i].mtu,
				    CFG_AF_XDP_MAX_MTU);
	return 0;
}

int config_load(const char *path, struct dp_config *cfg, char *err, size_t errlen)
{
	struct rte_cfgfile_parameters prm = { .comment_character = ';' };
	struct parse ps = { .cfg = cfg, .err = err, .errlen = errlen };
	int nsec, r = -1;
	char (*names)[CFG_NAME_LEN] = NULL;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (cfg_lint(path, err, errlen) < 0)
		return -1;
	/* after cfg_lint, only an I/O error or memory is left to fail here */
	ps.cf = rte_cfgfile_load_with_params(path, 0, &prm);
	if (ps.cf == NULL) {
		snprintf(err, errlen, "%s: syntax error (see the line reported above)", path);
		return -1;
	}
	cfg->seg = calloc(DP_MAX_SEGMENTS, sizeof(*cfg->seg));
	nsec = rte_cfgfile_num_sections(ps.cf, NULL, 0);
	names = calloc(nsec > 0 ? nsec : 1, sizeof(*names));
	if (cfg->seg == NULL || names == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	{
		char *ptrs[nsec > 0 ? nsec : 1];

		for (int i = 0; i < nsec; i++)
			ptrs[i] = names[i];
		rte_cfgfile_sections(ps.cf, ptrs, nsec);
	}
	for (int i = 0; i < nsec; i++) {
		const char *n = names[i];

		/* [ike] belongs to isthmusd (control/ike_config.c), which reads the
		 * same file */
		if (strcmp(n, "appliance") && strcmp(n, "uplink") && strcmp(n, "sa.static") &&
		    strcmp(n, "ike") && strcmp(n, "test") && strcmp(n, "ha") && strncmp(n, "local ", 6) && strncmp(n, "segment ", 8)) {
			fail(&ps, n, NULL, "unknown section");
			goto out;
		}
	}
	if (parse_appliance(&ps) < 0 || parse_uplink(&ps) < 0)
		goto out;
	for (int i = 0; i < nsec; i++)
		if (strncmp(names[i], "local ", 6) == 0 && parse_local(&ps, names[i]) < 0)
			goto out;
	if (cfg->nb_local == 0) {
		fail(&ps, NULL, NULL, "no [local NAME] section: at least one local port is needed");
		goto out;
	}
	for (int i = 0; i < nsec; i++)
		if (strncmp(names[i], "segment ", 8) == 0 && parse_segment(&ps, names[i]) < 0)
			goto out;
	if (cfg->nb_seg == 0) {
		fail(&ps, NULL, NULL, "no [segment NAME] section: nothing to extend");
		goto out;
	}
	if (parse_sa_static(&ps) < 0 || parse_ha(&ps) < 0 || parse_test(&ps) < 0 ||
	    check_af_xdp(&ps) < 0)
		goto out;
	r = 0;
out:
	free(names);
	rte_cfgfile_close(ps.cf);
	if (r < 0)
		config_free(cfg);
	return r;
}

void config_free(struct dp_config *cfg)
{
	free(cfg->seg);
	cfg->seg = NULL;
	explicit_bzero(cfg->sa_out, sizeof(cfg->sa_out));
	explicit_bzero(cfg->sa_in, sizeof(cfg->sa_in));
}
