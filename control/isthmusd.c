/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmusd: the Isthmus control-plane daemon. charon (Debian's libcharon)
 * negotiates IKEv2 with the peer appliance; our kernel-ipsec backend
 * (kernel_dp.c) hands every CHILD_SA to isthmus-dp. Built the way strongSwan's
 * own small daemons (charon-cmd, charon-svc) are: library_init, libcharon_init,
 * static plugin features, charon->initialize, then charon->start.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <library.h>
#include <daemon.h>

#include "charon_guard.h"
#include "isthmus_version.h"
#include "notify.h"
#include "config.h"
#include "dctl.h"
#include "ha.h"
#include "identity.h"
#include "ike_config.h"
#include "isd_log.h"
#include "kernel_dp.h"
#include "pairing_svc.h"
#include "peer_config.h"
#include "segsync.h"

/* What charon loads: crypto for IKE (AES-GCM, ChaCha20-Poly1305, SHA-2, x25519,
 * Ed25519), key encodings, kernel-netlink for addresses and routes only (our
 * static feature is registered first, so it is the kernel-ipsec backend), the
 * IKE sockets, and vici for `swanctl --list-sas`. */
static char plugins[] =
	"random nonce openssl pem pkcs1 pkcs8 x509 pubkey curve25519 chapoly aes gcm sha2 "
	"hmac kdf kernel-netlink socket-default vici";

static struct peer_config *pc;
static struct pairing_svc *pairing;
static struct dctl *ctl;
static struct segsync *segs;
static struct ike_settings settings;

/* SIGHUP (systemctl reload): the configuration file's segment changes. */
static void reload_segments(void)
{
	static uint8_t buf[16384];
	struct ctl_out o = { .buf = buf, .cap = sizeof(buf) - 1 };
	int rc = segsync_reload(segs, &o);

	buf[o.len] = '\0';
	isd_log(rc < 0 ? LOG_WARNING : LOG_NOTICE, DBG_DMN, "isthmusd: reload%s: %s", rc < 0 ? " refused" : "", buf);
}

static bool register_kernel_dp(plugin_t *plugin, plugin_feature_t *feature, bool reg, void *data)
{
	return kernel_ipsec_register(plugin, feature, reg, data);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: isthmusd -c CONFIG [--debug LEVEL]\n"
		"   or: isthmusd --check-config CONFIG\n"
		"\n"
		"The Isthmus control plane: pairs this appliance with its peer over IKEv2\n"
		"and hands the negotiated SAs to isthmus-dp.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   appliance configuration (docs/config.md)\n"
		"  -d, --debug LEVEL   charon log level, -1..3 (default 1). Higher levels are\n"
		"                      taken as 3, and so are higher levels of loggers set in\n"
		"                      strongswan.conf: strongSwan logs IKE and ESP keys at\n"
		"                      level 4, and isthmusd never logs key material\n"
		"      --check-config FILE\n"
		"                      check FILE as isthmusd loads it (its [ike] settings and\n"
		"                      the segments it agrees with the peer) and exit,\n"
		"                      starting nothing: silent and status 0 if it is\n"
		"                      valid, the error and status 1 if not\n"
		"  -h, --help          this text\n"
		"  -V, --version       the version, and the strongSwan build it needs\n"
		"\n"
		"Exit status:\n"
		"  0  stopped cleanly (SIGINT, SIGTERM), or a valid --check-config\n"
		"  1  an invalid configuration or a start-up failure\n"
		"  2  a usage error\n");
}

/*
 * isthmusd --check-config FILE: what isthmusd reads of it, its [ike]
 * settings (ike_config_load) and the segments it agrees with the peer and
 * reloads (config_load, the parser isthmus-dp uses), nothing started.
 * @return the exit status
 */
static int check_config(const char *file)
{
	struct ike_settings s;
	struct dp_config dp;
	char err[512];

	if (ike_config_load(file, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "isthmusd: %s\n", err);
		return 1;
	}
	if (config_load(file, &dp, err, sizeof(err)) < 0) {
		fprintf(stderr, "isthmusd: %s\n", err);
		return 1;
	}
	config_free(&dp);
	return 0;
}

/* The lower underlay address initiates (unless configured): both sides being
 * initiators works too, but leaves duplicate IKE_SAs to clean up. */
static bool we_initiate(void)
{
	/* an HA member: the active one, always (it brings the group's tunnel
	 * up from the VIP after every failover; docs/ha.md) */
	if (settings.ha)
		return ha_may_run();
	if (settings.role != IKE_ROLE_AUTO)
		return settings.role == IKE_ROLE_INITIATOR;
	return ntohl(settings.local_ip) < ntohl(settings.peer_ip);
}

/* Whether an IKE_SA with the peer exists (up or on its way). */
static bool ike_sa_exists(void)
{
	enumerator_t *en = charon->controller->create_ike_sa_enumerator(charon->controller, TRUE);
	ike_sa_t *ike;
	bool found = false;

	while (en->enumerate(en, &ike))
		if (ike->get_state(ike) != IKE_DESTROYING && ike->get_state(ike) != IKE_DELETING)
			found = true;
	en->destroy(en);
	return found;
}

/* Bring up one CHILD_SA per dataplane worker (per-resource SAs). */
static void initiate_children(void)
{
	unsigned n = settings.child_sas;

	if (!ha_may_run() || ike_sa_exists())
		return;
	if (n == 0) {
		int w = kernel_dp_workers();

		/* DP_MAX_WORKERS == PEER_CHILD_SLOTS (ike_config.c): never cut */
		n = w > 0 ? (unsigned)w : 1;
		isd_log(LOG_INFO, DBG_DMN, "isthmusd: %u CHILD_SA(s), one per dataplane worker%s", n,
		     w > 0 ? "" : " (isthmus-dp not answering yet)");
	} else {
		int w = kernel_dp_workers();

		/* ike_config.c refused more than PEER_CHILD_SLOTS at start */
		if (w > 0 && n != (unsigned)w)
			isd_log(LOG_WARNING, DBG_DMN, "isthmusd: child_sas = %u, isthmus-dp has %d worker(s): %s", n, w,
			     n > (unsigned)w ? "the outbound SAs beyond one per worker wait unused "
			     "(the peer's workers use their inbound halves)"
			     : "workers without an SA of their own hand their frames to one that "
			     "has (docs/dataplane.md)");
	}
	if (n > PEER_CHILD_SLOTS)
		n = PEER_CHILD_SLOTS;
	for (unsigned i = 0; i < n; i++) {
		peer_cfg_t *peer = charon->backends->get_peer_cfg_by_name(charon->backends, "isthmus");
		child_cfg_t *child;
		enumerator_t *en;

		if (!peer) {
			static bool said;

			if (!said)
				isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: not paired yet: run 'isthmusctl pairing-token' "
				     "on one appliance and 'isthmusctl pair' on the other");
			said = true;
			return;
		}
		/* worker i's CHILD_SA uses slot i's config (peer_config.c) */
		en = peer->create_child_cfg_enumerator(peer);
		for (unsigned k = 0; k <= i; k++)
			if (!en->enumerate(en, &child)) {
				en->destroy(en);
				peer->destroy(peer);
				return;
			}
		child = child->get_ref(child);
		en->destroy(en);
		charon->controller->initiate(charon->controller, peer, child, NULL, NULL, 0, FALSE);
	}
}

/* After pairing: the initiator brings the tunnel up at once. */
static void on_paired(void)
{
	if (we_initiate())
		initiate_children();
}

/*
 * Once a second: paired and without an IKE_SA, initiate (again).
 * The initiator does so at once: charon retries timeouts by itself
 * (keyingtries 0) but gives up on an IKE_SA_INIT refused with
 * NO_PROPOSAL_CHOSEN, which is what the peer answers in the moment between our
 * pinning its key and its pinning ours (site A pins when B's pairing request
 * arrives, B when A's reply does).
 * The responder does so after RESPONDER_WAIT s without one: when its isthmusd
 * restarts (and flushes its dataplane's SAs) the initiator still has its
 * IKE_SA and would only notice through DPD, minutes later; unique=replace
 * makes the initiator drop its stale IKE_SA for ours. The wait leaves the
 * initiator the first move when both start together.
 */
#define RESPONDER_WAIT 3
static void keep_up(void)
{
	static unsigned without;
	peer_cfg_t *peer;

	/* An HA member initiates when it becomes active, and a member whose
	 * tunnel goes stands down (ha.c): initiating again could replace the
	 * tunnel of the other member, if it is active too (split brain). */
	if (settings.ha)
		return;
	if (!ha_may_run() || ike_sa_exists()) {
		without = 0;
		return;
	}
	peer = charon->backends->get_peer_cfg_by_name(charon->backends, "isthmus");
	if (!peer)
		return; /* not paired: nothing to bring up */
	peer->destroy(peer);
	if (!we_initiate() && ++without < RESPONDER_WAIT)
		return;
	without = 0;
	isd_log(LOG_INFO, DBG_DMN, "isthmusd: no IKE_SA with %s: initiating%s", settings.peer_id,
	     we_initiate() ? " again" : " (responder, none came)");
	initiate_children();
}

/*
 * strongSwan logs secrets at level 4 (keymat_v2.c: DBG4 "Sk_ei secret",
 * "encryption initiator key" for every CHILD_SA; newhope, pkcs7 in DBG_LIB),
 * so no logger of isthmusd goes above 3, whether asked for with --debug or in
 * strongswan.conf (its filelog and syslog sections, default and per group).
 */
#define LOG_LEVEL_MAX 3

static void clamp_one(const char *kind, const char *target, const char *key)
{
	if (lib->settings->get_int(lib->settings, "%s.%s.%s.%s", 0, lib->ns, kind, target, key) >
	    LOG_LEVEL_MAX)
		lib->settings->set_int(lib->settings, "%s.%s.%s.%s", LOG_LEVEL_MAX, lib->ns, kind,
				       target, key);
}

static void clamp_log_levels(void)
{
	static const char *const kinds[] = { "filelog", "syslog" };

	for (size_t k = 0; k < countof(kinds); k++) {
		enumerator_t *en = lib->settings->create_section_enumerator(lib->settings, "%s.%s",
									    lib->ns, kinds[k]);
		char *target, group[16];

		while (en->enumerate(en, &target)) {
			clamp_one(kinds[k], target, "default");
			for (debug_t g = 0; g < DBG_MAX; g++) {
				snprintf(group, sizeof(group), "%N", debug_lower_names, g);
				clamp_one(kinds[k], target, group);
			}
		}
		en->destroy(en);
	}
}

static void settings_to_charon(int debug)
{
	/* under journald, isd_log.c's logger writes charon's lines, priorities first */
	if (!isd_log_journal()) {
		lib->settings->set_int(lib->settings, "%s.filelog.stderr.default", debug, lib->ns);
		lib->settings->set_bool(lib->settings, "%s.filelog.stderr.ike_name", TRUE, lib->ns);
		/* not under journald, which stamps lines itself: a lab or a terminal */
		lib->settings->set_str(lib->settings, "%s.filelog.stderr.time_format", "%T", lib->ns);
		lib->settings->set_bool(lib->settings, "%s.filelog.stderr.time_add_ms", TRUE,
					lib->ns);
	}
	lib->settings->set_bool(lib->settings, "%s.install_routes", FALSE, lib->ns);
	lib->settings->set_bool(lib->settings, "%s.install_virtual_ip", FALSE, lib->ns);
	lib->settings->set_bool(lib->settings, "%s.make_before_break", TRUE, lib->ns);
	lib->settings->set_int(lib->settings, "%s.retry_initiate_interval", 2, lib->ns);
	/* NAT-T keepalives (RFC 3948 section 2.3), sent by the side behind a NAT
	 * through charon's socket: the TAP, then the uplink (exception path) */
	lib->settings->set_int(lib->settings, "%s.keep_alive", (int)settings.nat_keepalive_s,
			       lib->ns);
	lib->settings->set_str(lib->settings, "%s.plugins.vici.socket", settings.vici_socket,
			       lib->ns);
	/* An HA member gives up on an unanswered exchange (its liveness check
	 * after the peer replaced its IKE_SA: split brain, docs/ha.md) after
	 * 1 + 1.4 + 2 + 2.7 = about 7 s instead of charon's 165 s */
	if (settings.ha) {
		lib->settings->set_str(lib->settings, "%s.retransmit_timeout", "1.0", lib->ns);
		lib->settings->set_str(lib->settings, "%s.retransmit_base", "1.4", lib->ns);
		lib->settings->set_int(lib->settings, "%s.retransmit_tries", 3, lib->ns);
	}
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "debug", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-config", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *check = NULL;
	char err[512], fpr[2 * FINGERPRINT_LEN + 1];
	private_key_t *own;
	public_key_t *own_pub, *peer;
	int debug = 1, c, sig;
	sigset_t set;

	while ((c = getopt_long(argc, argv, "c:d:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			check = optarg;
			break;
		case 'd': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (end == optarg || *end || v < -1) {
				fprintf(stderr, "isthmusd: --debug '%s': a level from -1 to %d\n", optarg,
					LOG_LEVEL_MAX);
				return 2;
			}
			if (v > LOG_LEVEL_MAX)
				fprintf(stderr, "isthmusd: --debug %s taken as %d: level 4 would log "
					"IKE and ESP keys\n", optarg, LOG_LEVEL_MAX);
			debug = v > LOG_LEVEL_MAX ? LOG_LEVEL_MAX : (int)v;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			/* the libcharon build ID is the one control/charon_guard.c
			 * insists on: what the package's dependency pins */
			printf("isthmusd %s\nstrongSwan %s, libcharon build ID %s\n", ISTHMUS_VERSION,
			       ISTHMUS_STRONGSWAN_VERSION, ISTHMUS_CHARON_BUILD_ID);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (check && !config && optind == argc)
		return check_config(check);
	if (!config || check || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (ike_config_load(config, &settings, err, sizeof(err)) < 0) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: %s", err);
		return 1;
	}
	if (charon_guard_check(err, sizeof(err)) < 0) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: %s", err);
		return 1;
	}

	/* SIGINT/SIGTERM/SIGHUP are taken synchronously below; charon's threads
	 * inherit the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if (!library_init(NULL, "isthmusd")) {
		library_deinit();
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: libstrongswan initialisation failed");
		return 1;
	}
	if (!libcharon_init()) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: libcharon initialisation failed");
		goto fail_lib;
	}
	settings_to_charon(debug);
	clamp_log_levels();
	isd_log_start(debug);
	charon->load_loggers(charon);
	kernel_dp_set_socket(settings.dp_socket);
	kernel_dp_set_lead(we_initiate());
	lib->plugins->add_static_features(lib->plugins, "isthmusd",
		(plugin_feature_t[]){
			PLUGIN_CALLBACK(register_kernel_dp, kernel_dp_create),
				PLUGIN_PROVIDE(CUSTOM, "kernel-ipsec"),
					PLUGIN_DEPENDS(RNG, RNG_WEAK),
		}, 3, TRUE, NULL, NULL);
	if (!charon->initialize(charon, plugins)) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: charon initialisation failed (see the log above)");
		goto fail_charon;
	}
	/* After initialize: openssl's own atexit handlers must run after ours. */
	atexit(libcharon_deinit);

	own = identity_load_or_create(settings.state_dir, err, sizeof(err));
	if (!own) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: identity: %s", err);
		return 1;
	}
	own_pub = own->get_public_key(own);
	fpr[0] = '\0';
	if (own_pub && identity_fingerprint_hex(own_pub, fpr))
		isd_log(LOG_INFO, DBG_DMN, "isthmusd: identity %s, key fingerprint %s", settings.local_id, fpr);
	DESTROY_IF(own_pub);
	snprintf(err, sizeof(err), "%s/%s", settings.state_dir, PEER_PUB_FILE);
	peer = identity_load_pubkey(err);
	pc = peer_config_create(&settings, own->get_ref(own), peer, err, sizeof(err));
	if (!pc) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: %s", err);
		return 1;
	}
	pairing = pairing_svc_create(&settings, own, pc, on_paired);
	if (!pairing) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: cannot start the pairing service");
		return 1;
	}
	segs = segsync_create(&settings, config, settings.auth == IKE_AUTH_PUBKEY ? own : NULL, err,
			      sizeof(err));
	if (!segs) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: %s", err);
		return 1;
	}
	ctl = dctl_start(&settings, pairing, segs, fpr, err, sizeof(err));
	if (!ctl) {
		isd_log(LOG_ERR, DBG_DMN, "isthmusd: %s", err);
		return 1;
	}
	ha_start(&settings, initiate_children);
	charon->start(charon);
	isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: started for peer %s (%s)", settings.peer_id,
	     we_initiate() ? "initiator" : "responder");
	if (we_initiate())
		initiate_children();
	notify_ready(settings.auth == IKE_AUTH_PSK ? "IKE with a pre-shared key" : "IKE with pinned keys");

	for (;;) {
		struct timespec tick = { .tv_sec = 1 };

		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0 && errno == EAGAIN) {
			keep_up();
			continue;
		}
		if (sig == SIGHUP) {
			notify_state("RELOADING=1");
			/* re-read the pinned peer key (pairing writes it) */
			snprintf(err, sizeof(err), "%s/%s", settings.state_dir, PEER_PUB_FILE);
			peer_config_set_peer_key(pc, identity_load_pubkey(err));
			isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: peer key reloaded");
			reload_segments();
			if (we_initiate())
				initiate_children();
			notify_state("READY=1");
			continue;
		}
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig < 0 && errno != EINTR)
			break;
	}
	isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: stopping");
	notify_state("STOPPING=1");
	dctl_stop(ctl);
	ha_stop();
	segsync_destroy(segs);
	pairing_svc_destroy(pairing);
	peer_config_destroy(pc);
	own->destroy(own);
	return 0;

fail_charon:
	isd_log_stop();
	libcharon_deinit();
fail_lib:
	library_deinit();
	return 1;
}
