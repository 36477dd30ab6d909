/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ha.c: isthmusd in an active/standby HA group (ha.h, docs/ha.md).
 *
 * keepalived elects; isthmusd follows. MASTER: the dataplane becomes active
 * (it takes the VIP as its address) and a fresh IKE_SA with new CHILD_SAs is
 * initiated from the VIP: never the keys of the member that failed (they are
 * not here, and their sequence numbers are unknown: a nonce could repeat).
 * BACKUP, FAULT, STOP: the dataplane stops forwarding first, then the IKE_SA
 * is torn down, its SAs leaving the dataplane with it.
 *
 * Split brain: the peer keeps one IKE_SA per identity (unique = replace, the
 * newer one wins: charon's ike_sa_manager), so of two members that both think
 * they are active only the newer tunnel carries frames. The member whose
 * tunnel was replaced sees its IKE_SA go (deleted by the peer, or its DPD
 * going unanswered) with no other IKE_SA in its place: instead of
 * initiating again, which would replace the other member's tunnel in turn, it
 * stands down: RUN_DIR/ha.down makes its keepalived go FAULT (track_file),
 * for HA_SPLIT_HOLD_S seconds, then it may be elected again.
 */
#include "ha.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <daemon.h>
#include <processing/jobs/callback_job.h>
#include <threading/mutex.h>

#include "ctl_json.h"
#include "ctl_proto.h"
#include "isd_log.h"
#include "kernel_dp.h"

#define ANNOUNCE_TRIES 25      /* every 200 ms: the CHILD_SAs come in after IKE_AUTH */
#define LOSS_CHECK_MS 1000     /* an IKE_SA gone: is another in its place by then? */

static struct {
	mutex_t *lock;
	const struct ike_settings *s;
	void (*initiate)(void);
	listener_t listener;
	uint32_t role;           /* enum ctl_ha_role, 0: no [ha] */
	time_t since;            /* wall clock of the last role change */
	uint64_t since_ms;       /* monotonic */
	uint64_t master_ms;      /* monotonic: when MASTER was notified, 0: not waiting */
	bool established;        /* an IKE_SA was up while active */
	bool tearing_down;       /* our own teardown: IKE_SAs going are no split brain */
	/* the last failover to this member */
	time_t fo_when;
	char fo_why[64];
	int64_t fo_gap_ms;       /* MASTER notify -> IKE_SA up, -1: not (yet) known */
	uint64_t failovers, split_brains, notifies, announcements;
} ha;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *role_name(uint32_t r)
{
	switch (r) {
	case CTL_HA_ACTIVE: return "active";
	case CTL_HA_STANDBY: return "standby";
	case CTL_HA_FAULT: return "fault";
	default: return "disabled";
	}
}

bool ha_may_run(void)
{
	return !ha.s || !ha.s->ha || atomic_load((_Atomic uint32_t *)&ha.role) == CTL_HA_ACTIVE;
}

static void down_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/ha.down", ha.s->run_dir);
}

/* Terminate every IKE_SA (and with it its CHILD_SAs, which leave the dataplane). */
static void teardown(void)
{
	enumerator_t *en = charon->controller->create_ike_sa_enumerator(charon->controller, TRUE);
	uint32_t ids[16];
	unsigned n = 0;
	ike_sa_t *ike;

	while (en->enumerate(en, &ike) && n < 16)
		ids[n++] = ike->get_unique_id(ike);
	en->destroy(en);
	for (unsigned i = 0; i < n; i++)
		charon->controller->terminate_ike(charon->controller, ids[i], TRUE, NULL, NULL, 0);
}

static bool ike_sa_up(void)
{
	enumerator_t *en = charon->controller->create_ike_sa_enumerator(charon->controller, TRUE);
	ike_sa_t *ike;
	bool up = false;

	while (en->enumerate(en, &ike))
		up |= ike->get_state(ike) == IKE_ESTABLISHED;
	en->destroy(en);
	return up;
}

static job_requeue_t clear_down(void *unused)
{
	char path[128], buf[32] = "";
	FILE *f;

	down_path(path, sizeof(path));
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	/* only our own stand-down: a switch-over's file is isthmusctl's */
	if (strstr(buf, "split-brain") && unlink(path) == 0)
		isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: HA: %s removed after %d s: this member may be "
			"elected again", path, HA_SPLIT_HOLD_S);
	return JOB_REQUEUE_NONE;
}

/* Stand down: keepalived goes FAULT (track_file), the other member takes over. */
static void stand_down(void)
{
	char path[128];
	int fd;

	down_path(path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		/* keepalived reads the number: not 0 is a fault (track_file, weight 0) */
		dprintf(fd, "1 split-brain %lld\n", (long long)time(NULL));
		close(fd);
	}
	ha.split_brains++;
	isd_log(LOG_WARNING, DBG_DMN, "isthmusd: HA group %s: split brain: the peer replaced this "
		"member's IKE_SA (another member of the group is active too): standing down for "
		"%d s (%s)", ha.s->ha_group, HA_SPLIT_HOLD_S, fd >= 0 ? path : strerror(errno));
	lib->scheduler->schedule_job(lib->scheduler,
		(job_t *)callback_job_create(clear_down, NULL, NULL, NULL), HA_SPLIT_HOLD_S);
}

static job_requeue_t check_loss(void *unused)
{
	bool lost;

	ha.lock->lock(ha.lock);
	lost = ha.role == CTL_HA_ACTIVE && ha.established && !ha.tearing_down && !ike_sa_up();
	if (lost)
		ha.established = false;
	ha.lock->unlock(ha.lock);
	if (lost)
		stand_down();
	return JOB_REQUEUE_NONE;
}

/*
 * One announcement in rounds, like a hypervisor's after a live migration
 * (QEMU's announce-self sends five): the first as soon as the CHILD_SAs are
 * in the dataplane, then ANNOUNCE_ROUNDS - 1 more, ANNOUNCE_GAP_MS apart.
 * A frame of the first round may go to the wrong member: in a split brain
 * this site's next hop follows the member that holds its SAs only once an
 * authenticated packet came from it (nexthop_follow in the dataplane), and
 * that member's own announcement is such a packet. @p data: the round in the
 * high bits, the tries of this round (every 200 ms while no CHILD_SA) low.
 */
#define ANNOUNCE_ROUNDS 3
#define ANNOUNCE_GAP_MS 1000

static job_requeue_t announce(void *data)
{
	uintptr_t tries = (uintptr_t)data & 0xff, round = (uintptr_t)data >> 8;
	int rc = kernel_dp_ha_announce();

	if (rc == 1) {
		if (round == 0) {
			ha.announcements++;
			isd_log(LOG_INFO, DBG_DMN, "isthmusd: new IKE_SA: the local MACs are announced "
				"through it (RARP, %d rounds)", ANNOUNCE_ROUNDS);
		}
		if (round + 1 < ANNOUNCE_ROUNDS)
			lib->scheduler->schedule_job_ms(lib->scheduler,
				(job_t *)callback_job_create(announce, (void *)((round + 1) << 8), NULL,
							     NULL), ANNOUNCE_GAP_MS);
	} else if (rc == 0 && tries + 1 < ANNOUNCE_TRIES) {
		lib->scheduler->schedule_job_ms(lib->scheduler,
			(job_t *)callback_job_create(announce, (void *)((round << 8) | (tries + 1)),
						     NULL, NULL), 200);
	}
	return JOB_REQUEUE_NONE;
}

/*
 * A new IKE_SA (not a rekey: charon reports those with ike_rekey): announce
 * the local MACs, at both sites, once its CHILD_SAs are in the dataplane. An
 * IKE_SA going away while active, with none in its place: split brain?
 */
static bool ike_updown(listener_t *l, ike_sa_t *ike_sa, bool up)
{
	if (up) {
		ha.lock->lock(ha.lock);
		if (ha.role == CTL_HA_ACTIVE) {
			ha.established = true;
			if (ha.master_ms) {
				ha.fo_gap_ms = (int64_t)(mono_ms() - ha.master_ms);
				ha.master_ms = 0;
				isd_log(LOG_NOTICE, DBG_DMN, "isthmusd: HA group %s: tunnel up %lld ms "
					"after this member became active", ha.s->ha_group,
					(long long)ha.fo_gap_ms);
			}
		}
		ha.lock->unlock(ha.lock);
		lib->processor->queue_job(lib->processor,
			(job_t *)callback_job_create(announce, (void *)0, NULL, NULL));
		return TRUE;
	}
	if (ha.s->ha && ha.role == CTL_HA_ACTIVE && !ha.tearing_down)
		lib->scheduler->schedule_job_ms(lib->scheduler,
			(job_t *)callback_job_create(check_loss, NULL, NULL, NULL), LOSS_CHECK_MS);
	return TRUE;
}

void ha_start(const struct ike_settings *s, void (*initiate)(void))
{
	ha.lock = mutex_create(MUTEX_TYPE_DEFAULT);
	ha.s = s;
	ha.initiate = initiate;
	ha.fo_gap_ms = -1;
	ha.listener.ike_updown = ike_updown;
	charon->bus->add_listener(charon->bus, &ha.listener);
	if (!s->ha)
		return;
	/* fail safe: nothing forwarded before keepalived says MASTER */
	ha.role = CTL_HA_STANDBY;
	ha.since = time(NULL);
	ha.since_ms = mono_ms();
	if (kernel_dp_ha_role(CTL_HA_STANDBY) < 0)
		isd_log(LOG_INFO, DBG_DMN, "isthmusd: HA: isthmus-dp not answering yet: it starts "
			"as standby by itself");
}

int ha_notify(const char *state, struct ctl_out *o)
{
	uint32_t role, old;

	/* ha.s is NULL until ha_start(): the control socket opens before it */
	if (!ha.s || !ha.s->ha) {
		ctl_out_printf(o, "no [ha] section: this appliance is in no HA group");
		return -EINVAL;
	}
	if (!strcmp(state, "MASTER"))
		role = CTL_HA_ACTIVE;
	else if (!strcmp(state, "BACKUP"))
		role = CTL_HA_STANDBY;
	else if (!strcmp(state, "FAULT") || !strcmp(state, "STOP"))
		role = CTL_HA_FAULT;
	else {
		ctl_out_printf(o, "unknown state '%.16s': MASTER, BACKUP, FAULT or STOP", state);
		return -EINVAL;
	}
	ha.lock->lock(ha.lock);
	ha.notifies++;
	old = ha.role;
	if (old != role) {
		ha.since = time(NULL);
		ha.since_ms = mono_ms();
	}
	if (role == CTL_HA_ACTIVE && old != CTL_HA_ACTIVE) {
		ha.failovers++;
		ha.fo_when = ha.since;
		snprintf(ha.fo_why, sizeof(ha.fo_why), "elected (keepalived MASTER, was %s)",
			 role_name(old));
		ha.fo_gap_ms = -1;
		ha.master_ms = ha.since_ms;
		ha.established = false;
		ha.tearing_down = false;
	}
	if (role != CTL_HA_ACTIVE)
		ha.tearing_down = true;
	atomic_store((_Atomic uint32_t *)&ha.role, role);
	ha.lock->unlock(ha.lock);

	isd_log(role == CTL_HA_ACTIVE ? LOG_NOTICE : LOG_WARNING, DBG_DMN,
		"isthmusd: HA group %s: keepalived %s: %s -> %s", ha.s->ha_group, state,
		role_name(old), role_name(role));
	if (role == CTL_HA_ACTIVE) {
		/* the dataplane first (it takes the VIP as its address), then
		 * a fresh IKE_SA from the VIP */
		if (kernel_dp_ha_role(role) < 0)
			isd_log(LOG_ERR, DBG_DMN, "isthmusd: HA: isthmus-dp did not take the role");
		teardown(); /* none expected: nothing old is ever reused */
		ha.initiate();
	} else {
		/* forwarding stops first, then the tunnel goes */
		kernel_dp_ha_role(role);
		teardown();
	}
	return ctl_out_printf(o, "%s", role_name(role));
}

struct json_object *ha_status_json(void)
{
	struct json_object *j = json_object_new_object(), *fo, *c;
	char vip[INET_ADDRSTRLEN] = "", own[INET_ADDRSTRLEN];

	if (!ha.s || !ha.s->ha) {
		ctl_json_str(j, "role", "disabled");
		return j;
	}
	inet_ntop(AF_INET, &ha.s->ha_vip, vip, sizeof(vip));
	ha.lock->lock(ha.lock);
	ctl_json_str(j, "role", role_name(ha.role));
	ctl_json_str(j, "group", ha.s->ha_group);
	ctl_json_str(j, "vip", vip);
	ctl_json_int(j, "since", (int64_t)ha.since);
	ctl_json_uint(j, "since_s", (mono_ms() - ha.since_ms) / 1000);
	ctl_json_bool(j, "tunnel", ha.role == CTL_HA_ACTIVE && ha.established);
	if (ha.fo_when) {
		fo = json_object_new_object();
		ctl_json_int(fo, "when", (int64_t)ha.fo_when);
		ctl_json_str(fo, "why", ha.fo_why);
		if (ha.fo_gap_ms >= 0)
			ctl_json_int(fo, "gap_ms", ha.fo_gap_ms);
		else
			json_object_object_add(fo, "gap_ms", NULL);
		json_object_object_add(j, "last_failover", fo);
	} else {
		json_object_object_add(j, "last_failover", NULL);
	}
	/* what isthmusctl ha keepalived-config writes keepalived's instance from */
	c = json_object_new_object();
	ctl_json_str(c, "interface", ha.s->tap);
	inet_ntop(AF_INET, &ha.s->own_ip, own, sizeof(own));
	ctl_json_str(c, "address", own);
	ctl_json_int(c, "vip_len", ha.s->ha_vip_len);
	ctl_json_int(c, "vrid", ha.s->ha_vrid);
	ctl_json_int(c, "priority", ha.s->ha_priority);
	ctl_json_bool(c, "preempt", ha.s->ha_preempt);
	ctl_json_int(c, "preempt_delay", ha.s->ha_preempt_delay_s);
	ctl_json_int(c, "advert_interval_ms", ha.s->ha_advert_ms);
	if (ha.s->ha_unicast_peer) {
		inet_ntop(AF_INET, &ha.s->ha_unicast_peer, own, sizeof(own));
		ctl_json_str(c, "unicast_peer", own);
	}
	ctl_json_str(c, "run_dir", ha.s->run_dir);
	json_object_object_add(j, "vrrp", c);
	c = json_object_new_object();
	ctl_json_uint(c, "failovers", ha.failovers);
	ctl_json_uint(c, "split_brain", ha.split_brains);
	ctl_json_uint(c, "notifies", ha.notifies);
	ctl_json_uint(c, "announcements", ha.announcements);
	json_object_object_add(j, "counters", c);
	ha.lock->unlock(ha.lock);
	return j;
}

void ha_stop(void)
{
	if (!ha.lock)
		return;
	charon->bus->remove_listener(charon->bus, &ha.listener);
	ha.lock->destroy(ha.lock);
	ha.lock = NULL;
}
