/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isthmusctl_ha.c: isthmusctl ha (docs/ha.md): the keepalived configuration
 * of this member, keepalived's notifications, the group's status, and the
 * planned switch-over.
 *
 * Switch-over: RUN_DIR/ha.down (a number not 0) puts keepalived's instance
 * in FAULT through its track_file; going from MASTER to FAULT keepalived
 * sends an advertisement of priority 0, on which the standby takes over at
 * once instead of after Master_Down_Interval (RFC 5798 section 6.4.3: it
 * waits only Skew_Time). Then ha.down is cleared: our instance comes back as
 * BACKUP, and stays BACKUP for more than Master_Down_Interval only if the
 * other member is MASTER: that is the proof the switch-over worked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_json.h"
#include "ctl_proto.h"
#include "isthmusctl.h"

static struct json_object *ha_status(void)
{
	struct ctl_d_ha m = { .h.type = CTL_D_HA, .op = CTL_D_HA_STATUS };

	return parse(call("isthmusd.sock", &m, sizeof(m), 5000));
}

struct json_object *ha_status_try(void)
{
	struct ctl_d_ha m = { .h.type = CTL_D_HA, .op = CTL_D_HA_STATUS };
	struct ctl_reply *r;
	struct json_object *o = NULL;
	char path[300], err[256];
	int fd;

	snprintf(path, sizeof(path), "%s/isthmusd.sock", appliance_run_dir());
	fd = ctl_connect(path, err, sizeof(err));
	if (fd < 0)
		return NULL;
	r = ctl_call_alloc(fd, &m, sizeof(m), 1 << 20, 2000, err, sizeof(err));
	close(fd);
	if (r && r->status == 0)
		o = ctl_reply_json(r);
	ctl_reply_free(r);
	return o;
}

int ha_args(int argc, char **argv)
{
	if (argc == 1 && (!strcmp(argv[0], "keepalived-config") || !strcmp(argv[0], "status") ||
			  !strcmp(argv[0], "switchover")))
		return 0;
	if (argc == 2 && !strcmp(argv[0], "notify") &&
	    (!strcmp(argv[1], "MASTER") || !strcmp(argv[1], "BACKUP") || !strcmp(argv[1], "FAULT") ||
	     !strcmp(argv[1], "STOP")))
		return 0;
	fprintf(stderr, "isthmusctl: ha keepalived-config | status | switchover | "
		"notify MASTER|BACKUP|FAULT|STOP\n");
	return EXIT_USAGE;
}

/* keepalived.conf for this member: one VRRPv3 instance on the exception TAP. */
static int keepalived_config(const char *run_dir)
{
	struct json_object *o = ha_status(), *v = get(o, "vrrp");
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *rd = str(v, "run_dir");
	long adv = (long)num(v, "advert_interval_ms");

	if (!v) {
		fprintf(stderr, "isthmusctl: this appliance has no [ha] section: it is in no HA group\n");
		json_object_put(o);
		return EXIT_UNREACHABLE;
	}
	self[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		snprintf(self, sizeof(self), "/usr/bin/isthmusctl");
	(void)run_dir;
	printf("! keepalived.conf of HA group %s, this member %s (isthmusctl ha keepalived-config)\n"
	       "global_defs {\n"
	       "    router_id isthmus-%s-%s\n"
	       "    script_user root\n"
	       "    enable_script_security\n"
	       "    vrrp_version 3\n"
	       "}\n\n"
	       "! RUN_DIR/ha.down holding a number other than 0: FAULT (switch-over, split brain)\n"
	       "vrrp_track_file isthmus_down {\n"
	       "    file \"%s/ha.down\"\n"
	       "    weight 0\n"
	       "}\n\n"
	       "vrrp_instance isthmus_%s {\n"
	       "    state BACKUP\n"
	       "    interface %s\n"
	       "    virtual_router_id %lld\n"
	       "    priority %lld\n"
	       "    advert_int %ld.%02ld\n",
	       str(o, "group"), str(v, "address"), str(o, "group"), str(v, "address"), rd,
	       str(o, "group"), str(v, "interface"), (long long)num(v, "vrid"),
	       (long long)num(v, "priority"), adv / 1000, (adv % 1000) / 10);
	if (json_object_get_boolean(get(v, "preempt")))
		printf("    preempt_delay %lld\n", (long long)num(v, "preempt_delay"));
	else
		printf("    nopreempt\n");
	if (*str(v, "unicast_peer"))
		printf("    unicast_src_ip %s\n    unicast_peer {\n        %s\n    }\n",
		       str(v, "address"), str(v, "unicast_peer"));
	printf("    virtual_ipaddress {\n        %s/%lld dev %s\n    }\n"
	       "    track_file {\n        isthmus_down\n    }\n",
	       str(o, "vip"), (long long)num(v, "vip_len"), str(v, "interface"));
	printf("    notify_master \"%s -r %s ha notify MASTER\"\n"
	       "    notify_backup \"%s -r %s ha notify BACKUP\"\n"
	       "    notify_fault \"%s -r %s ha notify FAULT\"\n"
	       "    notify_stop \"%s -r %s ha notify STOP\"\n"
	       "}\n", self, rd, self, rd, self, rd, self, rd);
	json_object_put(o);
	return EXIT_DONE;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int write_down(const char *run_dir, const char *text)
{
	char path[300], tmp[310];
	int fd;

	snprintf(path, sizeof(path), "%s/ha.down", run_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dprintf(fd, "%s\n", text) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "isthmusctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Poll the role until it is @p want (or, want NULL, anything but "active"). */
static int wait_role(const char *want, uint64_t deadline, char *got, size_t len)
{
	for (;;) {
		struct json_object *o = ha_status();

		snprintf(got, len, "%s", str(o, "role"));
		json_object_put(o);
		if (want ? !strcmp(got, want) : strcmp(got, "active") != 0)
			return 0;
		if (now_ms() > deadline)
			return -1;
		usleep(10000);
	}
}

static int switchover(const char *run_dir, int json_out)
{
	struct json_object *o = ha_status(), *v = get(o, "vrrp");
	long adv = v ? (long)num(v, "advert_interval_ms") : 0;
	uint64_t t0 = now_ms(), t_down, hold;
	char role[32];

	if (!v) {
		fprintf(stderr, "isthmusctl: this appliance has no [ha] section\n");
		json_object_put(o);
		return EXIT_UNREACHABLE;
	}
	if (strcmp(str(o, "role"), "active")) {
		fprintf(stderr, "isthmusctl: this member is %s: switch over on the active one\n",
			str(o, "role"));
		json_object_put(o);
		return EXIT_REFUSED;
	}
	json_object_put(o);
	/* 1. resign: keepalived FAULT, priority 0 advertisement, the other takes over */
	if (write_down(run_dir, "1 switchover") < 0)
		return EXIT_REFUSED;
	if (wait_role(NULL, now_ms() + 5000, role, sizeof(role)) < 0) {
		write_down(run_dir, "0");
		fprintf(stderr, "isthmusctl: keepalived did not take this member down in 5 s "
			"(is it running with isthmusctl ha keepalived-config's file?)\n");
		return EXIT_REFUSED;
	}
	t_down = now_ms();
	/* 2. back as BACKUP; still BACKUP after Master_Down_Interval (3 adverts
	 * and a skew under one) only if the other member is MASTER */
	write_down(run_dir, "0");
	if (wait_role("standby", now_ms() + 5000, role, sizeof(role)) < 0) {
		fprintf(stderr, "isthmusctl: this member is %s, not standby, after the switch-over\n",
			role);
		return EXIT_REFUSED;
	}
	hold = now_ms() + 4 * (uint64_t)adv + 200;
	while (now_ms() < hold) {
		wait_role("active", now_ms() + 20, role, sizeof(role));
		if (!strcmp(role, "active")) {
			fprintf(stderr, "isthmusctl: no other member took over: this one is active "
				"again\n");
			return EXIT_REFUSED;
		}
	}
	if (json_out) {
		o = json_object_new_object();
		ctl_json_str(o, "command", "ha switchover");
		ctl_json_str(o, "role", role);
		ctl_json_uint(o, "resigned_ms", t_down - t0);
		ctl_json_uint(o, "total_ms", now_ms() - t0);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
	} else {
		printf("switched over: this member is %s (resigned in %llu ms; the other member is "
		       "active)\n", role, (unsigned long long)(t_down - t0));
	}
	return EXIT_DONE;
}

static void print_status(struct json_object *o)
{
	struct json_object *fo = get(o, "last_failover"), *c = get(o, "counters");

	if (!strcmp(str(o, "role"), "disabled")) {
		printf("ha          disabled (no [ha] section)\n");
		return;
	}
	printf("ha          %s in group %s (VIP %s) for %lld s%s\n", str(o, "role"), str(o, "group"),
	       str(o, "vip"), (long long)num(o, "since_s"),
	       json_object_get_boolean(get(o, "tunnel")) ? ", tunnel up" : "");
	if (fo) {
		time_t when = (time_t)num(fo, "when");
		char buf[64];

		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", gmtime(&when));
		if (get(fo, "gap_ms"))
			printf("failover    %s: %s, tunnel up %lld ms later\n", buf, str(fo, "why"),
			       (long long)num(fo, "gap_ms"));
		else
			printf("failover    %s: %s\n", buf, str(fo, "why"));
	}
	if (c)
		printf("ha counters %lld failover(s), %lld split brain(s)\n",
		       (long long)num(c, "failovers"), (long long)num(c, "split_brain"));
}

void ha_status_lines(struct json_object *status)
{
	struct json_object *h = get(status, "ha");

	if (h)
		print_status(h);
}

int cmd_ha(int argc, char **argv, const char *run_dir, int json_out)
{
	if (!strcmp(argv[0], "keepalived-config"))
		return keepalived_config(run_dir);
	if (!strcmp(argv[0], "switchover"))
		return switchover(run_dir, json_out);
	if (!strcmp(argv[0], "notify")) {
		struct ctl_d_ha m = { .h.type = CTL_D_HA, .op = CTL_D_HA_NOTIFY };
		const struct ctl_reply *r;

		snprintf(m.state, sizeof(m.state), "%s", argv[1]);
		r = call("isthmusd.sock", &m, sizeof(m), 5000);
		if (json_out) {
			struct json_object *o = json_object_new_object();

			ctl_json_str(o, "command", "ha notify");
			json_object_object_add(o, "role", json_object_new_string_len(
				ctl_reply_body(r), (int)r->body_len));
			printf("%s\n", json_object_to_json_string(o));
			json_object_put(o);
		} else {
			printf("%.*s\n", (int)r->body_len, (const char *)ctl_reply_body(r));
		}
		return EXIT_DONE;
	}
	(void)argc;
	{
		struct json_object *o = ha_status();

		if (json_out)
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		else
			print_status(o);
		json_object_put(o);
	}
	return EXIT_DONE;
}
