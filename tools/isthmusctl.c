/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmusctl: the operator's command line for an Isthmus appliance. Talks to
 * isthmusd (RUN_DIR/isthmusd.sock) and isthmus-dp (RUN_DIR/dp.sock) over the
 * control protocol (docs/control-protocol.md); prints what they answer, for
 * people by default and as JSON with --json.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>
#include <spawn.h>
#include <sys/wait.h>

#include "ctl_client.h"
#include "isthmus_version.h"
#include "ctl_json.h"
#include "isthmusctl.h"
#include "names.h"

extern char **environ;

static const char *run_dir;
static int json_out;

const char *appliance_run_dir(void)
{
	return run_dir;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: isthmusctl [-n NAME | -r RUN_DIR] [--json] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  status                 peer, pairing, tunnel (IKE and CHILD SAs), uptime\n"
		"  stats                  dataplane counters (every drop reason), per port,\n"
		"                         segment and SA (all of them with --json)\n"
		"  stats --prometheus [-o FILE]\n"
		"                         the same in Prometheus' text format; -o: written to\n"
		"                         FILE atomically (node_exporter's textfile collector)\n"
		"  stats -i SECONDS [-c COUNT]\n"
		"                         live rates (packets/s, Gbit/s) per port (and the\n"
		"                         frames it missed), segment and SA every SECONDS\n"
		"                         until Ctrl-C, or COUNT times\n"
		"  segments [--agreed]    extended segments (VNI, VLAN, MACs); --agreed: the set\n"
		"                         agreed with the peer (version, run-time changes)\n"
		"  extend NAME VNI PORT [VLAN] [KEY=VALUE...] [peer.KEY=VALUE...]\n"
		"                         extend a segment at both sites, agreed with the peer\n"
		"                         and kept across restarts. KEY=VALUE: the keys of a\n"
		"                         [segment] section (mss=1300 storm_broadcast=100 ...)\n"
		"                         for both sites; peer.KEY=VALUE for the peer only (its\n"
		"                         port and VLAN are PORT and VLAN unless peer.local= /\n"
		"                         peer.vlan= say otherwise; gateway_site is mirrored)\n"
		"  unextend SEGMENT       stop extending it at both sites (its name or VNI)\n"
		"  cutover SEGMENT        the segment's gateway moves to this site, at both\n"
		"                         (at unextend time): local answers, gratuitous ARP /\n"
		"                         unsolicited NA\n"
		"  extend|unextend|cutover --local ...\n"
		"                         this appliance's dataplane only: not agreed with the\n"
		"                         peer, lost when it restarts (tests, no isthmusd)\n"
		"  reload                 re-read the configuration file and apply its segment\n"
		"                         changes (as systemctl reload); refuses what needs a\n"
		"                         restart\n"
		"  segment [list | extend ... | unextend SEGMENT | cutover SEGMENT]\n"
		"                         the same, grouped\n"
		"  macs                   the MAC tables (side, flaps, dampened)\n"
		"  sa [--wireshark [--wireshark-version X.Y]]\n"
		"                         SAs in the dataplane, with the peer's outer address\n"
		"                         (its NAT's, and port); --wireshark prints the live ESP\n"
		"                         keys in Wireshark's esp_sa format (root only; keys!).\n"
		"                         Wireshark before 4.2 knows no ChaCha20-Poly1305 and\n"
		"                         rejects the whole table over one such line: those\n"
		"                         lines are commented out unless the tshark installed\n"
		"                         here, or --wireshark-version, takes them\n"
		"  pairing-token [--ttl DURATION]\n"
		"                         print a one-time pairing token, valid 15m by default\n"
		"                         (DURATION: 90s, 15m, 1h; a bare number is seconds;\n"
		"                         at most 24h)\n"
		"  pair [--token-file FILE]\n"
		"                         pair with the appliance that printed the token, read\n"
		"                         from standard input (one line; asked for, not echoed,\n"
		"                         on a terminal) or from FILE (mode 0600): never on the\n"
		"                         command line, where any local user could read it\n"
		"  unpair                 forget the peer's key and close the tunnel\n"
		"  ha status              this member's HA role, group, VIP, last failover\n"
		"  ha keepalived-config   keepalived.conf for this member (VRRPv3 on the TAP;\n"
		"                         exit 3 without an [ha] section)\n"
		"  ha switchover          on the active member: hand over to the standby; done\n"
		"                         (0) once the other member is active\n"
		"  ha notify MASTER|BACKUP|FAULT|STOP\n"
		"                         keepalived's state change (its notify scripts)\n"
		"  perftest [--sizes LIST] [--duration TIME] [--rate MBIT]\n"
		"                         test the tunnel with the peer's dataplane, no hosts\n"
		"                         involved: round-trip time and loss of 20 probes,\n"
		"                         then for each frame size of --sizes (64,512,1400)\n"
		"                         the encrypted throughput and loss each way for\n"
		"                         --duration (3s; 500ms, 1m) at up to --rate Mbit/s\n"
		"                         (default and ceiling: [appliance] perftest_max_rate).\n"
		"                         Needs [appliance] perftest = allow at both sites;\n"
		"                         its frames travel on VNI 16777215 and never reach a\n"
		"                         port. Ctrl-C stops both sites\n"
		"  perftest [--probes N] [--plot FILE]\n"
		"                         N round-trip probes (0 to 1000); --plot writes a PNG\n"
		"                         of throughput against frame size, and the RTT\n"
		"                         (gnuplot)\n"
		"\n"
		"Options:\n"
		"  -n, --name NAME        appliance name: RUN_DIR is /run/isthmus/NAME\n"
		"  -r, --run-dir DIR      where the appliance's sockets are\n"
		"  -j, --json             machine-readable output (every command; errors stay\n"
		"                         text on standard error)\n"
		"  -h, --help             this text\n"
		"  -V, --version          this program's version (status shows both sites')\n"
		"\n"
		"Without -n/-r, the only appliance under /run/isthmus is used.\n"
		"\n"
		"Exit status:\n"
		"  0  done\n"
		"  1  the appliance refused or failed the request\n"
		"  2  a usage error (unknown command, bad argument), found before anything is\n"
		"     contacted\n"
		"  3  the appliance could not be reached\n");
}

/* The one appliance under /run/isthmus, when there is exactly one. */
static int find_run_dir(char *out, size_t len)
{
	glob_t g;
	int rc = -1;

	if (glob("/run/isthmus/*/dp.sock", 0, NULL, &g) == 0 ||
	    glob("/run/isthmus/*/isthmusd.sock", 0, NULL, &g) == 0) {
		if (g.gl_pathc == 1) {
			char *slash;

			snprintf(out, len, "%s", g.gl_pathv[0]);
			slash = strrchr(out, '/');
			*slash = '\0';
			rc = 0;
		} else {
			fprintf(stderr, "isthmusctl: %zu appliances under /run/isthmus: say which with -n NAME\n",
				g.gl_pathc);
			rc = -2;
		}
		globfree(&g);
	}
	return rc;
}

/* The last reply received (replies of any size: streamed ones reassembled). */
static struct ctl_reply *last_reply;

/* Wipe and free the last reply (it may hold keys or a token). */
static void forget_reply(void)
{
	ctl_reply_free(last_reply);
	last_reply = NULL;
}

/*
 * One request to SOCK (dp.sock or isthmusd.sock); exits with a clear message
 * on failure. The reply stays valid until the next call.
 */
const struct ctl_reply *call(const char *sock, void *req, size_t len, int timeout_ms)
{
	char path[256], err[400];
	const struct ctl_reply *r;
	int fd;

	forget_reply();
	snprintf(path, sizeof(path), "%.200s/%s", run_dir, sock);
	fd = ctl_connect(path, err, sizeof(err));
	if (fd < 0) {
		if (!strcmp(sock, "isthmusd.sock"))
			snprintf(err, sizeof(err), "isthmusd is not running (no control socket at %s)",
				 path);
		fprintf(stderr, "isthmusctl: %s\n", err);
		exit(EXIT_UNREACHABLE);
	}
	/* timeout_ms: for each message; a streamed reply of any length (up to
	 * CTL_STREAM_MAX) arrives as long as the parts keep coming */
	r = last_reply = ctl_call_alloc(fd, req, len, CTL_STREAM_MAX, timeout_ms, err, sizeof(err));
	close(fd);
	if (!r) {
		fprintf(stderr, "isthmusctl: %s\n", err);
		exit(EXIT_UNREACHABLE);
	}
	if (r->status != 0) {
		fprintf(stderr, "isthmusctl: %.*s\n", (int)r->body_len, (const char *)ctl_reply_body(r));
		exit(EXIT_REFUSED);
	}
	return r;
}

struct json_object *parse(const struct ctl_reply *r)
{
	struct json_object *o = ctl_reply_json(r);

	if (!o) {
		fprintf(stderr, "isthmusctl: unreadable reply\n");
		exit(EXIT_UNREACHABLE);
	}
	return o;
}

/* Print @p o (JSON, pretty) and release it. */
static void put_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

/*
 * The outcome of a command whose reply is a message for people (pair,
 * unpair, extend, unextend, cutover, reload): the text, or with --json
 * {"command": ..., "message": ...} plus @p extra's members (may be NULL).
 */
static int print_message(const char *cmd, const char *text, size_t len, struct json_object *extra)
{
	struct json_object *o;

	while (len && text[len - 1] == '\n')
		len--;
	if (!json_out) {
		printf("%.*s\n", (int)len, text);
		json_object_put(extra);
		return EXIT_DONE;
	}
	o = json_object_new_object();
	ctl_json_str(o, "command", cmd);
	json_object_object_add(o, "message", json_object_new_string_len(text, (int)len));
	if (extra && json_object_is_type(extra, json_type_object)) {
		json_object_object_foreach(extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	json_object_put(extra);
	put_json(o);
	return EXIT_DONE;
}

/* print_message() with a reply's body as the text. */
static int print_reply(const char *cmd, const struct ctl_reply *r)
{
	return print_message(cmd, ctl_reply_body(r), r->body_len, NULL);
}

const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static void print_json(const struct ctl_reply *r)
{
	put_json(parse(r));
}

/*
 * Both sites' software versions (isthmusd's own and the peer's, from its
 * segment agreements' SYNC); a warning on stderr when they differ. An isthmusd
 * older than the exchange sends neither: "unknown", not an error.
 */
static void status_versions(struct json_object *o)
{
	const char *here = *str(o, "version") ? str(o, "version") : "unknown";
	const char *peer = *str(o, "peer_version") ? str(o, "peer_version") : "unknown";

	printf("version     %s here, %s at the peer\n", here, peer);
	if (strcmp(here, "unknown") && strcmp(peer, "unknown") && strcmp(here, peer))
		fprintf(stderr, "isthmusctl: warning: the two sites run different versions (%s here, "
			"%s at the peer): finish the upgrade (docs/deploy.md, Upgrades)\n", here, peer);
}

static int cmd_status(void)
{
	struct ctl_hdr h = { .type = CTL_D_STATUS };
	const struct ctl_reply *r = call("isthmusd.sock", &h, sizeof(h), 5000);
	struct json_object *o, *ikes;
	size_t n;

	if (json_out) {
		print_json(r);
		return 0;
	}
	o = parse(r);
	printf("appliance   %s (%s)\n", str(o, "name"), str(o, "local_id"));
	printf("identity    %s\n", str(o, "fingerprint"));
	status_versions(o);
	printf("peer        %s, %s\n", str(o, "peer_id"),
	       json_object_get_boolean(get(o, "paired"))
		       ? (strcmp(str(o, "auth"), "psk") ? "paired" : "pre-shared key")
		       : "NOT paired (isthmusctl pairing-token / pair)");
	if (*str(o, "peer_fingerprint"))
		printf("peer key    %s\n", str(o, "peer_fingerprint"));
	if (num(o, "peer_refused"))
		printf("refused     %lld peer(s) not signing with the pinned key (journal: REFUSED)\n",
		       (long long)num(o, "peer_refused"));
	printf("dataplane   %s\n", json_object_get_boolean(get(o, "dataplane"))
				       ? "isthmus-dp answering" : "isthmus-dp NOT answering");
	printf("uptime      %lld s\n", (long long)num(o, "uptime_s"));
	ha_status_lines(o);
	ikes = get(o, "ike_sas");
	n = ikes ? json_object_array_length(ikes) : 0;
	printf("tunnel      %s\n", n ? "up" : "down (no IKE_SA)");
	for (size_t i = 0; i < n; i++) {
		struct json_object *ike = json_object_array_get_idx(ikes, i), *ch = get(ike, "child_sas");
		size_t nc = ch ? json_object_array_length(ch) : 0;

		printf("  IKE_SA %s with %s (%s), up %lld s, %zu CHILD_SA(s)\n", str(ike, "state"),
		       str(ike, "peer"), str(ike, "peer_id"), (long long)num(ike, "established_s"), nc);
		for (size_t k = 0; k < nc; k++) {
			struct json_object *c = json_object_array_get_idx(ch, k);

			printf("    CHILD_SA %s in %s out %s: %lld/%lld packets in/out\n",
			       str(c, "state"), str(c, "spi_in"), str(c, "spi_out"),
			       (long long)num(c, "packets_in"), (long long)num(c, "packets_out"));
		}
	}
	json_object_put(o);
	return 0;
}

static int cmd_segments(void)
{
	struct ctl_hdr h = { .type = CTL_STATS };
	const struct ctl_reply *r = call("dp.sock", &h, sizeof(h), 5000);
	struct json_object *o = parse(r), *segs = get(o, "segments");
	size_t n = segs ? json_object_array_length(segs) : 0;

	if (json_out) {
		printf("%s\n", json_object_to_json_string_ext(segs, JSON_C_TO_STRING_PRETTY));
	} else {
		printf("%-20s %8s %-10s %6s %8s\n", "segment", "VNI", "port", "VLAN", "MACs");
		for (size_t i = 0; i < n; i++) {
			struct json_object *s = json_object_array_get_idx(segs, i);

			printf("%-20s %8lld %-10s %6s %8lld\n", str(s, "name"), (long long)num(s, "vni"),
			       str(s, "port"), num(s, "vlan") ? str(s, "vlan") : "-",
			       (long long)num(s, "macs"));
		}
	}
	json_object_put(o);
	return 0;
}

/* A VNI (RFC 7348: 24 bits; 0 is not used) in decimal: 1, or 0 with a message. */
static int vni_ok(const char *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || errno || n == 0 || n > 0xffffff) {
		fprintf(stderr, "isthmusctl: '%s' is not a VNI (1..16777215)\n", v);
		return 0;
	}
	return 1;
}

/* A VLAN as a [segment] takes it: 1..4094 (IEEE 802.1Q) or "untagged". */
static int vlan_ok(const char *v)
{
	char *end;
	unsigned long n;

	if (!strcmp(v, "untagged"))
		return 1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || errno || n == 0 || n > 4094) {
		fprintf(stderr, "isthmusctl: '%s' is not a VLAN (1..4094, or untagged)\n", v);
		return 0;
	}
	return 1;
}

/* A segment or port name by the one rule (ctl/names.h): 1, or 0 with a message. */
static int name_arg_ok(const char *what, const char *v)
{
	char err[160];

	if (name_check(what, v, err, sizeof(err)) < 0) {
		fprintf(stderr, "isthmusctl: %s\n", err);
		return 0;
	}
	return 1;
}

/* SEGMENT is a name or a VNI: 1 with one of them set, 0 (with a message) if neither. */
static int seg_ref(const char *ref, char *name, size_t len, uint32_t *vni)
{
	if (ref[0] >= '0' && ref[0] <= '9') {
		if (!vni_ok(ref))
			return 0;
		*vni = (uint32_t)strtoul(ref, NULL, 10);
		return 1;
	}
	if (!name_arg_ok("segment name", ref))
		return 0;
	if (strlen(ref) >= len) {
		fprintf(stderr, "isthmusctl: segment name '%s' too long\n", ref);
		return 0;
	}
	snprintf(name, len, "%s", ref);
	return 1;
}

/*
 * A segment named by its VNI (digits) or by its name (looked up in the
 * dataplane's segment list). @return 0, or 2 with a message
 */
static int segment_vni(const char *ref, uint32_t *vni)
{
	struct ctl_hdr h = { .type = CTL_STATS };
	struct json_object *o, *segs;
	char name[CTL_NAME_LEN] = "";
	int rc = 2;

	if (!seg_ref(ref, name, sizeof(name), vni))
		return 2;
	if (!name[0])
		return 0; /* a VNI */
	o = parse(call("dp.sock", &h, sizeof(h), 5000));
	segs = get(o, "segments");
	for (size_t i = 0; segs && i < json_object_array_length(segs); i++) {
		struct json_object *g = json_object_array_get_idx(segs, i);

		if (!strcmp(str(g, "name"), name)) {
			*vni = (uint32_t)num(g, "vni");
			rc = 0;
			break;
		}
	}
	json_object_put(o);
	if (rc)
		fprintf(stderr, "isthmusctl: no segment named '%s' (isthmusctl segments)\n", ref);
	return rc;
}

/* "--local" first: this appliance's dataplane alone, not agreed, not kept. */
static int local_flag(int *argc, char ***argv)
{
	if (*argc > 0 && !strcmp((*argv)[0], "--local")) {
		(*argc)--;
		(*argv)++;
		return 1;
	}
	return 0;
}

/* A change agreed with the peer through isthmusd: print what it says. */
static int agreed(const char *cmd, struct ctl_d_seg *m)
{
	return print_reply(cmd, call("isthmusd.sock", m, sizeof(*m), 30000));
}

/* A change to this dataplane only: @p text, with the dataplane's JSON reply
 * (segment, VNI, result) beside it under --json. */
static int local_done(const char *cmd, const struct ctl_reply *r, const char *text)
{
	struct json_object *extra = r->body_len ? ctl_reply_json(r) : NULL;

	if (!extra)
		extra = json_object_new_object();
	ctl_json_bool(extra, "local", true);
	return print_message(cmd, text, strlen(text), extra);
}

/* cutover [--local] SEGMENT: the gateway moves to this site */
static int cmd_cutover(int argc, char **argv)
{
	struct ctl_seg m = { .h.type = CTL_SEG_CUTOVER };
	int local = local_flag(&argc, &argv);

	if (argc != 1) {
		fprintf(stderr, "isthmusctl: cutover [--local] SEGMENT (its name or VNI)\n");
		return 2;
	}
	if (!local) {
		static struct ctl_d_seg d = { .h.type = CTL_D_SEG, .op = CTL_D_CUTOVER };

		if (!seg_ref(argv[0], d.name, sizeof(d.name), &d.vni))
			return 2;
		return agreed("cutover", &d);
	}
	if (segment_vni(argv[0], &m.vni))
		return 2;
	{
		const struct ctl_reply *r = call("dp.sock", &m, sizeof(m), 5000);
		char text[256];

		snprintf(text, sizeof(text), "gateway of segment %s (VNI %u) is now on this site, "
			 "announced with a gratuitous ARP / unsolicited neighbor advertisement",
			 argv[0], m.vni);
		return local_done("cutover", r, text);
	}
}

/* Append " key=value" to @p spec; 0, or -1 when it does not fit. */
static int spec_add(char *spec, size_t len, const char *key, const char *value)
{
	size_t n = strlen(spec);
	int w = snprintf(spec + n, len - n, "%s%s=%s", n ? " " : "", key, value);

	return w < 0 || (size_t)w >= len - n ? -1 : 0;
}

/* Whether a peer.KEY=VALUE among the arguments sets @p key for the peer. */
static int peer_overrides(int argc, char **argv, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 3; i < argc; i++)
		if (!strncmp(argv[i], "peer.", 5) && !strncmp(argv[i] + 5, key, kl) &&
		    argv[i][5 + kl] == '=')
			return 1;
	return 0;
}

/*
 * This site's and the peer's settings from "NAME VNI PORT [VLAN] [KEY=VALUE...]
 * [peer.KEY=VALUE...]": KEY=VALUE for both sites, peer.KEY=VALUE for the peer
 * only (its port and VLAN are PORT and VLAN unless peer.local / peer.vlan say
 * otherwise); gateway_site is mirrored for the peer (local there is peer here).
 */
static int extend_specs(int argc, char **argv, char *spec, char *peer_spec, size_t len)
{
	const char *vlan = NULL, *peer_local = argv[2], *peer_vlan = NULL, *gw_site = NULL,
		   *peer_gw_site = NULL;
	int i = 3, bad = 0;

	spec[0] = peer_spec[0] = '\0';
	if (!vni_ok(argv[1]) || !name_arg_ok("port name", argv[2]))
		return -1;
	if (strtoul(argv[1], NULL, 10) == CTL_PERFTEST_VNI) {
		fprintf(stderr, "isthmusctl: VNI %u is reserved for isthmusctl perftest, never a "
			"segment's\n", CTL_PERFTEST_VNI);
		return -1;
	}
	if (i < argc && !strchr(argv[i], '=')) {
		vlan = argv[i++];
		if (!vlan_ok(vlan))
			return -1;
	}
	peer_vlan = vlan;
	bad |= spec_add(spec, len, "vni", argv[1]) | spec_add(spec, len, "local", argv[2]);
	bad |= spec_add(peer_spec, len, "vni", argv[1]);
	for (; i < argc; i++) {
		char key[64], *eq = strchr(argv[i], '=');
		int peer = !strncmp(argv[i], "peer.", 5);
		const char *k = argv[i] + (peer ? 5 : 0);

		if (!eq || (size_t)(eq - k) >= sizeof(key) || eq == k) {
			fprintf(stderr, "isthmusctl: '%s': settings are KEY=VALUE or peer.KEY=VALUE "
				"(the keys of a [segment] section, docs/config.md)\n", argv[i]);
			return -1;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - k), k);
		if (!strcmp(key, "vni") || (!peer && (!strcmp(key, "local") || !strcmp(key, "vlan")))) {
			fprintf(stderr, "isthmusctl: '%s': give the VNI, port and VLAN as NAME VNI PORT "
				"[VLAN] (peer.local= and peer.vlan= for the peer)\n", argv[i]);
			return -1;
		}
		if (peer && !strcmp(key, "local")) {
			peer_local = eq + 1;
			if (!name_arg_ok("port name", peer_local))
				return -1;
		} else if (peer && !strcmp(key, "vlan")) {
			peer_vlan = eq + 1;
			if (!vlan_ok(peer_vlan))
				return -1;
		}
		else if (peer && !strcmp(key, "gateway_site"))
			peer_gw_site = eq + 1;
		else if (peer)
			bad |= spec_add(peer_spec, len, key, eq + 1);
		else if (!strcmp(key, "gateway_site"))
			gw_site = eq + 1;
		else {
			bad |= spec_add(spec, len, key, eq + 1);
			if (!peer_overrides(argc, argv, key)) /* peer.KEY wins there */
				bad |= spec_add(peer_spec, len, key, eq + 1);
		}
	}
	bad |= spec_add(peer_spec, len, "local", peer_local);
	if (vlan)
		bad |= spec_add(spec, len, "vlan", vlan);
	if (peer_vlan)
		bad |= spec_add(peer_spec, len, "vlan", peer_vlan);
	if (gw_site) {
		bad |= spec_add(spec, len, "gateway_site", gw_site);
		if (!peer_gw_site)
			peer_gw_site = !strcmp(gw_site, "local") ? "peer"
				       : !strcmp(gw_site, "peer") ? "local" : gw_site;
	}
	if (peer_gw_site)
		bad |= spec_add(peer_spec, len, "gateway_site", peer_gw_site);
	if (bad) {
		fprintf(stderr, "isthmusctl: the settings are longer than %zu characters\n", len - 1);
		return -1;
	}
	return 0;
}

/*
 * extend [--local] NAME VNI PORT [VLAN] [KEY=VALUE...] | unextend [--local] SEGMENT.
 * Without --local: isthmusd agrees it with the peer and both sites apply it
 * (docs/control-protocol.md); --local: this dataplane only, not kept.
 */
static int cmd_extend(int add, int argc, char **argv)
{
	static struct ctl_d_seg d = { .h.type = CTL_D_SEG };
	static struct ctl_seg_set set = { .h.type = CTL_SEG_SET, .op = CTL_SEG_OP_ADD };
	struct ctl_seg m = { .h.type = CTL_SEG_DEL };
	int local = local_flag(&argc, &argv);

	if ((add && argc < 3) || (!add && argc != 1)) {
		fprintf(stderr, "isthmusctl: extend [--local] NAME VNI PORT [VLAN] [KEY=VALUE...] "
			"[peer.KEY=VALUE...] | unextend [--local] SEGMENT\n");
		return 2;
	}
	if (!add && !local) {
		d.op = CTL_D_UNEXTEND;
		if (!seg_ref(argv[0], d.name, sizeof(d.name), &d.vni))
			return 2;
		return agreed("unextend", &d);
	}
	if (!add) {
		char text[128];

		if (segment_vni(argv[0], &m.vni))
			return 2;
		snprintf(text, sizeof(text), "segment %s unextended on this appliance only", argv[0]);
		return local_done("unextend", call("dp.sock", &m, sizeof(m), 5000), text);
	}
	if (!name_arg_ok("segment name", argv[0]))
		return 2;
	if (strlen(argv[0]) >= sizeof(d.name)) {
		fprintf(stderr, "isthmusctl: name too long\n");
		return 2;
	}
	if (argv[0][0] >= '0' && argv[0][0] <= '9') {
		fprintf(stderr, "isthmusctl: a segment name must not start with a digit (VNIs do)\n");
		return 2;
	}
	if (extend_specs(argc, argv, d.spec, d.peer_spec, sizeof(d.spec)) < 0)
		return 2;
	if (!local) {
		d.op = CTL_D_EXTEND;
		snprintf(d.name, sizeof(d.name), "%s", argv[0]);
		return agreed("extend", &d);
	}
	snprintf(set.name, sizeof(set.name), "%s", argv[0]);
	snprintf(set.spec, sizeof(set.spec), "%s", d.spec);
	{
		char text[128];

		snprintf(text, sizeof(text), "segment %s extended on this appliance only", argv[0]);
		return local_done("extend", call("dp.sock", &set, sizeof(set), 5000), text);
	}
}

/* reload: isthmusd re-reads the configuration file and applies its segments */
static int cmd_reload(void)
{
	struct ctl_hdr h = { .type = CTL_D_RELOAD };
	return print_reply("reload", call("isthmusd.sock", &h, sizeof(h), 30000));
}

/* segments --agreed: the set agreed with the peer, as isthmusd keeps it */
static int cmd_agreed(void)
{
	struct ctl_hdr h = { .type = CTL_D_SEGMENTS };
	const struct ctl_reply *r = call("isthmusd.sock", &h, sizeof(h), 5000);
	struct json_object *o, *e, *d;
	size_t n;

	if (json_out) {
		print_json(r);
		return 0;
	}
	o = parse(r);
	e = get(o, "entries");
	d = get(o, "dropped");
	n = e ? json_object_array_length(e) : 0;
	printf("agreed set version %lld (peer messages dropped: %lld malformed, %lld bad signature)\n",
	       (long long)num(o, "version"), (long long)num(d, "malformed"),
	       (long long)num(d, "signature"));
	printf("%-20s %8s %-9s %s\n", "segment", "VNI", "change", "gateway");
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(e, i);

		printf("%-20s %8lld %-9s %s\n", str(x, "name"), (long long)num(x, "vni"), str(x, "kind"),
		       json_object_get_boolean(get(x, "gateway_here")) ? "here" : "-");
	}
	json_object_put(o);
	return 0;
}

/* segment [list | extend ... | unextend SEGMENT | cutover SEGMENT] */
static int cmd_segment(int argc, char **argv)
{
	if (argc == 0 || !strcmp(argv[0], "list"))
		return cmd_segments();
	if (!strcmp(argv[0], "--agreed"))
		return cmd_agreed();
	if (!strcmp(argv[0], "extend") || !strcmp(argv[0], "unextend"))
		return cmd_extend(!strcmp(argv[0], "extend"), argc - 1, argv + 1);
	if (!strcmp(argv[0], "cutover"))
		return cmd_cutover(argc - 1, argv + 1);
	fprintf(stderr, "isthmusctl: segment list | extend | unextend | cutover, not '%s'\n",
		argv[0]);
	return 2;
}

/* macs: the MAC tables, one line per MAC */
static int cmd_macs(void)
{
	struct ctl_hdr h = { .type = CTL_MACS };
	const struct ctl_reply *r = call("dp.sock", &h, sizeof(h), 5000);
	struct json_object *a;
	size_t n;

	if (json_out) {
		print_json(r);
		return 0;
	}
	a = parse(r);
	n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	printf("%-20s %8s %-17s %-6s %5s %s\n", "segment", "VNI", "MAC", "side", "flaps", "dampened");
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(a, i);
		char damp[32] = "-";

		if (json_object_get_boolean(get(m, "dampened")))
			snprintf(damp, sizeof(damp), "%lld s more", (long long)num(m, "dampened_s"));
		printf("%-20s %8lld %-17s %-6s %5lld %s\n", str(m, "segment"), (long long)num(m, "vni"),
		       str(m, "mac"), str(m, "side"), (long long)num(m, "flaps"), damp);
	}
	printf("%zu MAC(s)\n", n);
	json_object_put(a);
	return 0;
}

/*
 * sa: one line per SA in the dataplane. "to rekey" is how many packets the
 * SA may still seal before isthmusd rekeys it on its sequence number (without
 * ESN, at CTL_SEQ_REKEY_32); with ESN only time and volume rekey it.
 */
static int cmd_sa_table(void)
{
	struct ctl_hdr h = { .type = CTL_SA_LIST };
	const struct ctl_reply *r = call("dp.sock", &h, sizeof(h), 5000);
	struct json_object *a;

	if (json_out) {
		print_json(r);
		return 0;
	}
	a = parse(r);
	printf("%-3s %-10s %-17s %-3s %-6s %-6s %12s %12s %14s %-21s %s\n", "dir", "SPI", "cipher",
	       "ESN", "window", "worker", "packets", "seq", "to rekey", "peer", "state");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i), *v;
		char win[16] = "-", left[24] = "time only", peer[32];

		if (json_object_object_get_ex(o, "replay_window", &v))
			snprintf(win, sizeof(win), "%lld", (long long)json_object_get_int64(v));
		if (json_object_object_get_ex(o, "seq_to_rekey", &v) && !json_object_is_type(v, json_type_null))
			snprintf(left, sizeof(left), "%llu",
				 (unsigned long long)json_object_get_uint64(v));
		/* the peer's outer address (its NAT's) and, outbound, UDP port */
		if (json_object_object_get_ex(o, "peer_port", &v))
			snprintf(peer, sizeof(peer), "%s:%lld", str(o, "peer"),
				 (long long)json_object_get_int64(v));
		else
			snprintf(peer, sizeof(peer), "%s", str(o, "peer"));
		printf("%-3s %-10s %-17s %-3s %-6s %-6lld %12llu %12llu %14s %-21s %s\n",
		       str(o, "dir"), str(o, "spi"), str(o, "cipher"),
		       json_object_get_boolean(get(o, "esn")) ? "yes" : "no", win,
		       (long long)num(o, "worker"), (unsigned long long)num(o, "packets"),
		       (unsigned long long)num(o, "seq"), left, peer,
		       json_object_get_boolean(get(o, "retired")) ? "retired (isthmusd restarted)"
								   : "active");
	}
	json_object_put(a);
	return 0;
}

/*
 * Wireshark's esp_sa table names the ciphers by its own strings. Wireshark
 * refuses the whole table when one line names a cipher it does not know, so
 * a line for a cipher the reader's Wireshark lacks is written commented out.
 * ChaCha20-Poly1305 (RFC 7634) came to its ESP dissector in 4.2; 4.0
 * (Debian 12) has the AES-GCM ones only (docs/deploy.md, "Reading the tunnel
 * with Wireshark").
 */
static const struct ws_cipher {
	const char *name;       /* as isthmusd writes it, the esp_sa column */
	const char *label;
	int major, minor;       /* the first Wireshark release that knows it */
} ws_ciphers[] = {
	{ "AES-GCM with 16 octet ICV [RFC4106]", "AES-256-GCM", 0, 0 },
	{ "ChaCha20 with Poly1305 [RFC7634]", "ChaCha20-Poly1305", 4, 2 },
};

/* "X.Y" or "X.Y.Z" -> major, minor; 0, or -1 if it is not a version. */
static int parse_version(const char *v, int *major, int *minor)
{
	char *end;
	long a, b;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	a = strtol(v, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return -1;
	b = strtol(end + 1, &end, 10);
	if (*end == '.' && end[1] >= '0' && end[1] <= '9')
		strtol(end + 1, &end, 10);
	if (*end || a > 1000 || b > 1000)
		return -1;
	*major = (int)a;
	*minor = (int)b;
	return 0;
}

/*
 * Whether the installed tshark takes an esp_sa line naming @p cipher: it is
 * given one with an all-zero key (never a live one) as "-o uat:esp_sa:..."
 * and asked for its version; it refuses a cipher it does not know with exit
 * status 1. @return 1 yes, 0 no, -1 no tshark to ask
 */
static int tshark_takes(const char *cipher)
{
	char opt[256], *args[5];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	snprintf(opt, sizeof(opt), "uat:esp_sa:\"IPv4\",\"*\",\"*\",\"*\",\"%s\",\"0x%072d\","
		 "\"NULL\",\"\"", cipher, 0);
	args[0] = "tshark";
	args[1] = "-o";
	args[2] = opt;
	args[3] = "-v";
	args[4] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, "tshark", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 1))
		return -1;
	return WEXITSTATUS(st) == 0;
}

/* Whether the Wireshark that will read the table takes cipher @p c: the
 * version given (--wireshark-version), else the installed tshark, else the
 * oldest one Isthmus supports (Debian 12's 4.0). @p how says which. */
static int ws_takes(const struct ws_cipher *c, const char *version, const char **how)
{
	int major, minor, t;

	if (version && parse_version(version, &major, &minor) == 0) {
		*how = "--wireshark-version";
		return major > c->major || (major == c->major && minor >= c->minor);
	}
	t = tshark_takes(c->name);
	if (t >= 0) {
		*how = "the tshark installed here";
		return t;
	}
	*how = "no tshark here to ask: assuming Wireshark 4.0 (Debian 12)";
	return c->major == 0 || (c->major == 4 && c->minor == 0);
}

/*
 * Write the esp_sa lines of @p body, a line for a cipher the reader's
 * Wireshark does not know commented out with the reason. Unbuffered: no stdio
 * buffer is left holding a copy of the keys.
 */
static void write_esp_sa(const char *body, size_t len, const char *version)
{
	int takes[sizeof(ws_ciphers) / sizeof(ws_ciphers[0])];
	const char *how[sizeof(ws_ciphers) / sizeof(ws_ciphers[0])];
	bool noted[sizeof(ws_ciphers) / sizeof(ws_ciphers[0])] = { false };

	for (size_t k = 0; k < sizeof(ws_ciphers) / sizeof(ws_ciphers[0]); k++)
		takes[k] = -1; /* asked once, when a line needs it */
	setvbuf(stdout, NULL, _IONBF, 0);
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(body + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (body + i)) + 1 : len - i;
		bool comment = false;

		for (size_t k = 0; k < sizeof(ws_ciphers) / sizeof(ws_ciphers[0]); k++) {
			const struct ws_cipher *c = &ws_ciphers[k];

			if (!memmem(body + i, n, c->name, strlen(c->name)))
				continue;
			if (takes[k] < 0)
				takes[k] = ws_takes(c, version, &how[k]);
			if (takes[k])
				continue;
			comment = true;
			if (!noted[k]) {
				printf("# %s SAs below are commented out: Wireshark before %d.%d does not "
				       "know\n# \"%s\" and would refuse the whole table (%s).\n"
				       "# Remove the '# ' with Wireshark %d.%d or later.\n",
				       c->label, c->major, c->minor, c->name, how[k], c->major, c->minor);
				fprintf(stderr, "isthmusctl: %s SAs written commented out: Wireshark %d.%d or "
					"later decrypts them (%s)\n", c->label, c->major, c->minor, how[k]);
				noted[k] = true;
			}
		}
		if (comment)
			fputs("# ", stdout);
		fwrite(body + i, 1, n, stdout);
		i += n;
	}
}

static int cmd_sa(int wireshark, const char *version)
{
	if (wireshark) {
		struct ctl_hdr h = { .type = CTL_D_SA_KEYS };
		const struct ctl_reply *r;

		if (geteuid() != 0) {
			fprintf(stderr, "isthmusctl: sa --wireshark shows live keys: root only\n");
			return 1;
		}
		fprintf(stderr, "WARNING: these are the live ESP keys of the tunnel. Anyone holding "
			"them can read the traffic:\nkeep them out of tickets and chats, delete them "
			"after use.\n# Wireshark: Preferences > Protocols > ESP > ESP SAs (esp_sa); "
			"AES-256-GCM SAs decrypt in\n# Wireshark 4.0 and later, ChaCha20-Poly1305 SAs "
			"in 4.2 and later\n");
		r = call("isthmusd.sock", &h, sizeof(h), 5000);
		write_esp_sa(ctl_reply_body(r), r->body_len, version);
		forget_reply();
		return 0;
	}
	return cmd_sa_table();
}


#define TTL_MAX_S 86400 /* a token is a secret: a day is long enough to carry it over */

/* "90s", "15m", "1h", "600" (seconds) -> seconds in 1..TTL_MAX_S; -1 otherwise */
static long parse_ttl(const char *v)
{
	unsigned long long n = 0;
	const char *p = v;
	long mult = 1;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if (n > TTL_MAX_S)
			return -1;
	}
	if (*p == 's')
		p++;
	else if (*p == 'm')
		mult = 60, p++;
	else if (*p == 'h')
		mult = 3600, p++;
	if (*p != '\0' || n == 0 || n * (unsigned long long)mult > TTL_MAX_S)
		return -1;
	return (long)(n * (unsigned long long)mult);
}

/*
 * One line from @p fd into @p buf, without the line end, read a byte at a
 * time with read(2): no stdio buffer keeps a copy of the token.
 * @return its length, or -1 when it does not fit / cannot be read
 */
static long read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char c;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n + 1 >= len)
			return -1;
		buf[n++] = c;
	}
	while (n && (buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	return (long)n;
}

/* The pairing token from standard input (asked for on a terminal, not
 * echoed) or from @p file (refused if group or others may read it, like
 * isthmusd's own key). @return 0, or 2 with a message */
static int read_token(const char *file, char *tok, size_t len)
{
	int fd = STDIN_FILENO, tty = 0;
	struct termios old, quiet;
	long n;

	if (file) {
		struct stat st;

		fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			fprintf(stderr, "isthmusctl: %s: %s\n", file, strerror(errno));
			return 2;
		}
		if (fstat(fd, &st) < 0)
			st.st_mode = 0;
		if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
			fprintf(stderr, "isthmusctl: %s is not a regular file of mode 0600 (mode %03o): "
				"a pairing token is a secret; chmod 600 it\n", file,
				(unsigned)(st.st_mode & 0777));
			close(fd);
			return 2;
		}
	} else if (isatty(fd) && tcgetattr(fd, &old) == 0) {
		tty = 1;
		fprintf(stderr, "pairing token (from 'isthmusctl pairing-token' at the other "
			"appliance): ");
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	n = read_line(fd, tok, len);
	if (tty) {
		tcsetattr(fd, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (file)
		close(fd);
	if (n <= 0) {
		explicit_bzero(tok, len);
		fprintf(stderr, "isthmusctl: %s: expected one line with the pairing token%s\n",
			file ? file : "standard input", n < 0 ? " (this one is too long)" : "");
		return 2;
	}
	return 0;
}

static int cmd_pairing_token(int argc, char **argv)
{
	struct ctl_d_token_req t = { .h.type = CTL_D_PAIRING_TOKEN };
	const struct ctl_reply *r;

	if (argc == 2 && !strcmp(argv[0], "--ttl")) {
		long ttl = parse_ttl(argv[1]);

		if (ttl < 0) {
			fprintf(stderr, "isthmusctl: --ttl '%s': a duration such as 90s, 15m or 1h "
				"(a bare number is seconds), from 1s to 24h\n", argv[1]);
			return 2;
		}
		t.ttl_s = (uint32_t)ttl;
	} else if (argc != 0) {
		fprintf(stderr, "isthmusctl: pairing-token [--ttl DURATION]\n");
		return 2;
	}
	r = call("isthmusd.sock", &t, sizeof(t), 5000);
	setvbuf(stdout, NULL, _IONBF, 0); /* the token is a secret: no copy in a stdio buffer */
	if (json_out) {
		struct json_object *o = json_object_new_object();
		struct json_object *t = json_object_new_string_len(ctl_reply_body(r), (int)r->body_len);
		const char *text;
		size_t n;

		json_object_object_add(o, "token", t);
		text = json_object_to_json_string_length(o, CTL_JSON_FLAGS, &n);
		if (!text) {
			json_object_put(o);
			forget_reply();
			fprintf(stderr, "isthmusctl: out of memory\n");
			return EXIT_REFUSED;
		}
		fwrite(text, 1, n, stdout);
		fputc('\n', stdout);
		/* the token is a secret: wipe json-c's copies before they are freed */
		explicit_bzero((char *)text, n);
		explicit_bzero((char *)json_object_get_string(t), (size_t)json_object_get_string_len(t));
		json_object_put(o);
	} else {
		printf("%.*s\n", (int)r->body_len, (const char *)ctl_reply_body(r));
	}
	forget_reply();
	return 0;
}

static int cmd_pair(int argc, char **argv)
{
	struct ctl_d_pair p = { .h.type = CTL_D_PAIR };
	const struct ctl_reply *r;
	const char *file = NULL;

	if (argc == 2 && !strcmp(argv[0], "--token-file")) {
		file = argv[1];
	} else if (argc != 0 && argv[0][0] == '-') {
		fprintf(stderr, "isthmusctl: pair [--token-file FILE]\n");
		return 2;
	} else if (argc != 0) {
		fprintf(stderr, "isthmusctl: pair no longer takes the token as an argument: any "
			"local user can read a command line (ps, /proc).\n"
			"  Run 'isthmusctl pair' and paste the token when asked, or pipe it in, or\n"
			"  'isthmusctl pair --token-file FILE' with FILE of mode 0600.\n");
		return 2;
	}
	if (read_token(file, p.token, sizeof(p.token)) != 0)
		return 2;
	r = call("isthmusd.sock", &p, sizeof(p), 15000);
	explicit_bzero(&p, sizeof(p));
	return print_reply("pair", r);
}

/* No arguments for @p cmd: 0, or EXIT_USAGE with a message. */
static int no_args(const char *cmd, int argc, char **argv)
{
	if (argc == 0)
		return 0;
	fprintf(stderr, "isthmusctl: %s takes no argument ('%s'; see --help)\n", cmd, argv[0]);
	return EXIT_USAGE;
}

/* sa [--wireshark [--wireshark-version X.Y]] */
static int sa_args(int argc, char **argv, int *wireshark, const char **version)
{
	int major, minor;

	*wireshark = 0;
	*version = NULL;
	if (argc >= 1 && !strcmp(argv[0], "--wireshark")) {
		*wireshark = 1;
		if (argc == 3 && !strcmp(argv[1], "--wireshark-version") &&
		    parse_version(argv[2], &major, &minor) == 0) {
			*version = argv[2];
			return 0;
		}
		if (argc == 1)
			return 0;
	} else if (argc == 0) {
		return 0;
	}
	fprintf(stderr, "isthmusctl: sa [--wireshark [--wireshark-version X.Y]]\n");
	return EXIT_USAGE;
}

/* extend|unextend|cutover [--local] ...: the arguments alone, nothing contacted */
static int seg_args(const char *cmd, int argc, char **argv)
{
	char name[CTL_NAME_LEN], spec[CTL_SEG_SPEC_LEN], peer_spec[CTL_SEG_SPEC_LEN];
	uint32_t vni;

	local_flag(&argc, &argv);
	if (!strcmp(cmd, "extend")) {
		if (argc < 3) {
			fprintf(stderr, "isthmusctl: extend [--local] NAME VNI PORT [VLAN] [KEY=VALUE...] "
				"[peer.KEY=VALUE...]\n");
			return EXIT_USAGE;
		}
		if (!name_arg_ok("segment name", argv[0]) || (argv[0][0] >= '0' && argv[0][0] <= '9') ||
		    extend_specs(argc, argv, spec, peer_spec, sizeof(spec)) < 0) {
			if (argv[0][0] >= '0' && argv[0][0] <= '9')
				fprintf(stderr, "isthmusctl: a segment name must not start with a digit "
					"(VNIs do)\n");
			return EXIT_USAGE;
		}
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "isthmusctl: %s [--local] SEGMENT (its name or VNI)\n", cmd);
		return EXIT_USAGE;
	}
	return seg_ref(argv[0], name, sizeof(name), &vni) ? 0 : EXIT_USAGE;
}

/*
 * Every argument of @p cmd checked before anything is contacted, so that a
 * typo is a usage error (EXIT_USAGE) rather than a request half made.
 */
static int check_args(const char *cmd, int argc, char **argv)
{
	int wireshark;
	const char *version;

	if (!strcmp(cmd, "status") || !strcmp(cmd, "reload") || !strcmp(cmd, "macs") ||
	    !strcmp(cmd, "unpair"))
		return no_args(cmd, argc, argv);
	if (!strcmp(cmd, "stats"))
		return stats_args(argc, argv);
	if (!strcmp(cmd, "perftest"))
		return perftest_args(argc, argv);
	if (!strcmp(cmd, "sa"))
		return sa_args(argc, argv, &wireshark, &version);
	if (!strcmp(cmd, "extend") || !strcmp(cmd, "unextend") || !strcmp(cmd, "cutover"))
		return seg_args(cmd, argc, argv);
	if (!strcmp(cmd, "segments") || !strcmp(cmd, "segment")) {
		if (argc == 0 || (argc == 1 && (!strcmp(argv[0], "list") || !strcmp(argv[0], "--agreed"))))
			return 0;
		if (!strcmp(argv[0], "extend") || !strcmp(argv[0], "unextend") ||
		    !strcmp(argv[0], "cutover"))
			return seg_args(argv[0], argc - 1, argv + 1);
		fprintf(stderr, "isthmusctl: %s [list | --agreed | extend ... | unextend SEGMENT | "
			"cutover SEGMENT], not '%s'\n", cmd, argv[0]);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "ha"))
		return ha_args(argc, argv);
	if (!strcmp(cmd, "pairing-token")) {
		if (argc == 0)
			return 0;
		if (argc == 2 && !strcmp(argv[0], "--ttl")) {
			if (parse_ttl(argv[1]) > 0)
				return 0;
			fprintf(stderr, "isthmusctl: --ttl '%s': a duration such as 90s, 15m or 1h "
				"(a bare number is seconds), from 1s to 24h\n", argv[1]);
			return EXIT_USAGE;
		}
		fprintf(stderr, "isthmusctl: pairing-token [--ttl DURATION]\n");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "pair")) {
		if (argc == 0 || (argc == 2 && !strcmp(argv[0], "--token-file")))
			return 0;
		if (argv[0][0] == '-') {
			fprintf(stderr, "isthmusctl: pair [--token-file FILE]\n");
			return EXIT_USAGE;
		}
		fprintf(stderr, "isthmusctl: pair no longer takes the token as an argument: any "
			"local user can read a command line (ps, /proc).\n"
			"  Run 'isthmusctl pair' and paste the token when asked, or pipe it in, or\n"
			"  'isthmusctl pair --token-file FILE' with FILE of mode 0600.\n");
		return EXIT_USAGE;
	}
	fprintf(stderr, "isthmusctl: unknown command '%s' (see --help)\n", cmd);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char dir[256];
	const char *cmd, *version;
	int c, rc, wireshark;

	while ((c = getopt_long(argc, argv, "+n:r:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!name_arg_ok("appliance name", optarg))
				return EXIT_USAGE;
			snprintf(dir, sizeof(dir), "/run/isthmus/%s", optarg);
			run_dir = dir;
			break;
		case 'r': run_dir = optarg; break;
		case 'j': json_out = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("isthmusctl %s\n", ISTHMUS_VERSION); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	rc = check_args(cmd, argc - optind, argv + optind);
	if (rc)
		return rc;
	if (!run_dir) {
		rc = find_run_dir(dir, sizeof(dir));
		if (rc == -1) {
			fprintf(stderr, "isthmusctl: no Isthmus appliance is running here "
				"(nothing under /run/isthmus; use -r RUN_DIR)\n");
			return EXIT_UNREACHABLE;
		}
		if (rc < 0)
			return EXIT_USAGE;
		run_dir = dir;
	}
	if (!strcmp(cmd, "status"))
		return cmd_status();
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc - optind, argv + optind, json_out);
	if (!strcmp(cmd, "perftest"))
		return cmd_perftest(argc - optind, argv + optind, json_out);
	if (!strcmp(cmd, "segments") || !strcmp(cmd, "segment"))
		return cmd_segment(argc - optind, argv + optind);
	if (!strcmp(cmd, "cutover"))
		return cmd_cutover(argc - optind, argv + optind);
	if (!strcmp(cmd, "extend") || !strcmp(cmd, "unextend"))
		return cmd_extend(!strcmp(cmd, "extend"), argc - optind, argv + optind);
	if (!strcmp(cmd, "reload"))
		return cmd_reload();
	if (!strcmp(cmd, "macs"))
		return cmd_macs();
	if (!strcmp(cmd, "sa")) {
		sa_args(argc - optind, argv + optind, &wireshark, &version);
		return cmd_sa(wireshark, version);
	}
	if (!strcmp(cmd, "ha"))
		return cmd_ha(argc - optind, argv + optind, run_dir, json_out);
	if (!strcmp(cmd, "pairing-token"))
		return cmd_pairing_token(argc - optind, argv + optind);
	if (!strcmp(cmd, "pair"))
		return cmd_pair(argc - optind, argv + optind);
	/* unpair (check_args() let nothing else through) */
	{
		struct ctl_hdr h = { .type = CTL_D_UNPAIR };

		return print_reply("unpair", call("isthmusd.sock", &h, sizeof(h), 5000));
	}
}
