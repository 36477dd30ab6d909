/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * segsync_dp.c: the agreed segment set applied to this site's dataplane
 * (segsync.c), through the service's own dp_link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <daemon.h>

#include "isd_log.h"
#include "segsync_internal.h"

/* ---- the dataplane ---------------------------------------------------- */

void ss_dp_new(void *ctx)
{
	struct segsync *ss = ctx;

	atomic_store(&ss->reconcile_due, true);
}

/* One dataplane request: 0, or the negative status with its text in @p err. */
static int dp_call(struct segsync *ss, void *req, size_t len, char *err, size_t errlen)
{
	uint8_t *rbuf = malloc(CTL_MAX_MSG + 1);
	const struct ctl_reply *r;
	int rc;

	if (!rbuf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = dp_link_call(ss->dp, req, len, rbuf, err, errlen);
	if (!r) {
		rc = -EHOSTDOWN;
	} else {
		rc = r->status;
		snprintf(err, errlen, "%.*s", (int)r->body_len, (const char *)ctl_reply_body(r));
	}
	free(rbuf);
	return rc;
}

int ss_dp_seg_set(struct segsync *ss, const struct seg_eff *g, uint32_t op, char *err,
		  size_t errlen)
{
	struct ctl_seg_set *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	m->h.type = CTL_SEG_SET;
	m->op = op;
	snprintf(m->name, sizeof(m->name), "%s", g->name);
	snprintf(m->spec, sizeof(m->spec), "%s", g->spec);
	rc = dp_call(ss, m, sizeof(*m), err, errlen);
	free(m);
	return rc;
}

static int dp_seg_vni(struct segsync *ss, uint16_t type, uint32_t vni, char *err, size_t errlen)
{
	struct ctl_seg m = { .h.type = type, .vni = vni };

	return dp_call(ss, &m, sizeof(m), err, errlen);
}

/*
 * Take this site's dataplane from @p from to @p to. Every action is tried;
 * @p report (may be NULL) gets one line per segment. @return 0, or the
 * first error
 */
int ss_apply_actions(struct segsync *ss, const struct seg_set *from, const struct seg_set *to,
		     struct ctl_out *report)
{
	struct seg_action *act = calloc(2 * DP_MAX_SEGMENTS + 1, sizeof(*act));
	unsigned n;
	int first = 0;

	if (!act)
		return -ENOMEM;
	n = seg_set_diff(from, to, act);
	for (unsigned i = 0; i < n; i++) {
		const struct seg_eff *g = act[i].seg;
		char err[300], diff[600];
		int rc;

		switch (act[i].kind) {
		case SEG_ACT_DEL:
			rc = dp_seg_vni(ss, CTL_SEG_DEL, g->vni, err, sizeof(err));
			if (rc == -ENOENT)
				rc = 0; /* not there: what we want */
			if (report && rc == 0)
				ctl_out_printf(report, "segment %s (VNI %u): removed\n", g->name, g->vni);
			break;
		case SEG_ACT_APPLY:
			rc = ss_dp_seg_set(ss, g, CTL_SEG_OP_APPLY, err, sizeof(err));
			if (report && rc == 0) {
				const struct seg_eff *old = seg_set_find(from, g->vni);

				if (act[i].added)
					ctl_out_printf(report, "segment %s (VNI %u): added\n", g->name, g->vni);
				else
					ctl_out_printf(report, "segment %s (VNI %u): %s\n", g->name, g->vni,
						       seg_spec_diff(old->spec, g->spec, diff, sizeof(diff)));
			}
			break;
		default:
			rc = dp_seg_vni(ss, CTL_SEG_CUTOVER, g->vni, err, sizeof(err));
			if (report && rc == 0)
				ctl_out_printf(report, "segment %s (VNI %u): gateway cut over to this site\n",
					       g->name, g->vni);
			break;
		}
		if (rc < 0) {
			isd_log(LOG_WARNING, DBG_DMN, "isthmusd: segment %s (VNI %u): the dataplane refused: %s", g->name,
			     g->vni, err);
			if (report)
				ctl_out_printf(report, "segment %s (VNI %u): refused by isthmus-dp: %s\n",
					       g->name, g->vni, err);
			if (!first)
				first = rc;
		}
	}
	free(act);
	return first;
}

/* ---- sets ------------------------------------------------------------- */

int ss_build(struct segsync *ss, const struct segstore *st, struct seg_set *out)
{
	if (seg_set_init(out) < 0)
		return -1;
	if (seg_set_build(out, &ss->cfg, (const char (*)[SEGSTORE_SPEC_LEN])ss->specs, st, ss->me) < 0) {
		seg_set_free(out);
		return -1;
	}
	return 0;
}

/* Replace the store by @p next (saved first) and take the dataplane along. */
int ss_commit_store(struct segsync *ss, struct segstore *next, char *err, size_t errlen)
{
	struct seg_set from, to;
	int rc;

	if (segstore_save(next, ss->store_path, err, errlen) < 0)
		return -EIO;
	if (ss_build(ss, &ss->st, &from) < 0)
		return -ENOMEM;
	if (ss_build(ss, next, &to) < 0) {
		seg_set_free(&from);
		return -ENOMEM;
	}
	segstore_free(&ss->st);
	ss->st = *next;
	next->e = NULL;
	rc = ss_apply_actions(ss, &from, &to, NULL);
	if (rc < 0)
		snprintf(err, errlen, "agreed and kept, but this site's dataplane refused a part "
			 "(see isthmusd's log)");
	seg_set_free(&from);
	seg_set_free(&to);
	return rc;
}

/* Apply everything the set says to a dataplane that may not have it. */
void ss_reconcile(struct segsync *ss)
{
	struct segstore none = { .version = 0, .n = 0 };
	struct seg_set from, to;

	if (segstore_init(&none) < 0)
		return;
	if (ss_build(ss, &none, &from) == 0) {
		if (ss_build(ss, &ss->st, &to) == 0) {
			int rc = ss_apply_actions(ss, &from, &to, NULL);

			isd_log(LOG_INFO, DBG_DMN, "isthmusd: agreed segment set (version %llu, %u entries) applied to "
			     "the dataplane%s", (unsigned long long)ss->st.version, ss->st.n,
			     rc < 0 ? " with errors" : "");
			seg_set_free(&to);
		}
		seg_set_free(&from);
	}
	segstore_free(&none);
}
