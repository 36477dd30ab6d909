/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * segsync_ops.c: the operator's requests to the segment agreement service
 * (segsync.c): a change to agree with the peer, the reload of the
 * configuration file's segments, the agreed set as JSON.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <daemon.h>

#include "ike_config.h"
#include "ctl_json.h"
#include "names.h"
#include "segsync_internal.h"

/* ---- the operator's requests ------------------------------------------ */

/* The segment an unextend or cutover names, in this site's set. Lock held. */
static int find_ref(struct segsync *ss, const struct ctl_d_seg *req, struct seg_eff *out,
		    struct ctl_out *o)
{
	struct seg_set set;
	const struct seg_eff *g;
	char name[CTL_NAME_LEN + 1];

	memcpy(name, req->name, CTL_NAME_LEN);
	name[CTL_NAME_LEN] = '\0';
	if (ss_build(ss, &ss->st, &set) < 0)
		return -ENOMEM;
	g = name[0] ? seg_set_find_name(&set, name) : seg_set_find(&set, req->vni);
	if (g)
		*out = *g;
	seg_set_free(&set);
	if (!g) {
		if (name[0])
			ctl_out_printf(o, "no segment named '%s' here", name);
		else
			ctl_out_printf(o, "no segment with VNI %u here", req->vni);
		return -ENOENT;
	}
	return 0;
}

int segsync_change(struct segsync *ss, const struct ctl_d_seg *req, struct ctl_out *o)
{
	struct mutation m = { 0 };
	struct seg_eff g;
	const struct seg_entry *cur;
	const char *what;
	char msg[300], cut[128];
	int rc;

	if (!ss->own) {
		ctl_out_printf(o, "this appliance authenticates with a PSK ([ike] auth = psk): "
			       "segment changes are agreed only between paired Isthmus appliances; "
			       "use --local for this dataplane alone");
		return -EOPNOTSUPP;
	}
	pthread_mutex_lock(&ss->lock);
	if (!ss_peer_key(ss)) {
		pthread_mutex_unlock(&ss->lock);
		ctl_out_printf(o, "not paired: the peer must agree to segment changes (isthmusctl "
			       "pairing-token / pair), or use --local for this dataplane alone");
		return -ENOTCONN;
	}
	switch (req->op) {
	case CTL_D_EXTEND: {
		char name[CTL_NAME_LEN + 1];

		memcpy(name, req->name, CTL_NAME_LEN);
		name[CTL_NAME_LEN] = '\0';
		if (name_check("segment name", name, msg, sizeof(msg)) < 0) {
			ctl_out_printf(o, "%s", msg);
			rc = -EINVAL;
			goto out;
		}
		m.e.kind = SEG_KIND_EXTEND;
		m.e.gw_site = SEG_GW_AS_CONFIGURED;
		snprintf(m.e.name, sizeof(m.e.name), "%s", name);
		snprintf(m.e.spec[ss->me], SEGSTORE_SPEC_LEN, "%.*s", CTL_SEG_SPEC_LEN - 1, req->spec);
		snprintf(m.e.spec[!ss->me], SEGSTORE_SPEC_LEN, "%.*s", CTL_SEG_SPEC_LEN - 1,
			 req->peer_spec);
		/* the VNI is the one in the settings: parsed here as the dataplane will */
		{
			struct cfg_segment cs;

			if (config_segment_spec(&ss->cfg, name, m.e.spec[ss->me], &cs, msg,
						sizeof(msg)) < 0) {
				ctl_out_printf(o, "segment %s: %s", name, msg);
				rc = -EINVAL;
				goto out;
			}
			m.e.vni = cs.vni;
		}
		what = "extended";
		cur = segstore_find(&ss->st, m.e.vni);
		if (cur && cur->kind == SEG_KIND_UNEXTEND) {
			/* a file's segment unextended before: back as the files say */
			m.del = true;
			snprintf(m.e.name, sizeof(m.e.name), "%s", cur->name);
			what = "extended again, with the configuration files' settings";
		}
		break;
	}
	case CTL_D_UNEXTEND:
	case CTL_D_CUTOVER:
		rc = find_ref(ss, req, &g, o);
		if (rc < 0)
			goto out;
		cur = segstore_find(&ss->st, g.vni);
		snprintf(m.e.name, sizeof(m.e.name), "%s", g.name);
		m.e.vni = g.vni;
		if (req->op == CTL_D_UNEXTEND) {
			what = "unextended";
			if (cur && cur->kind == SEG_KIND_EXTEND) {
				m.del = true;
			} else {
				m.e.kind = SEG_KIND_UNEXTEND;
				m.e.gw_site = SEG_GW_AS_CONFIGURED;
			}
		} else {
			snprintf(cut, sizeof(cut), "gateway cut over to %s", ss->s.name);
			what = cut;
			if (g.cut_here) {
				ctl_out_printf(o, "segment %s's gateway is already cut over to this site",
					       g.name);
				rc = -EALREADY;
				goto out;
			}
			if (cur && cur->kind == SEG_KIND_EXTEND)
				m.e = *cur;
			else
				m.e.kind = SEG_KIND_CUTOVER;
			m.e.gw_site = ss->me;
		}
		break;
	default:
		ctl_out_printf(o, "unknown segment operation %u", req->op);
		rc = -EINVAL;
		goto out;
	}
	rc = ss_lead_change(ss, &m, what, o);
out:
	pthread_mutex_unlock(&ss->lock);
	return rc;
}

/* What differs between two loaded files that only a restart can apply. */
static const char *restart_needed(const struct dp_config *a, const struct dp_config *b)
{
#define SPAN(x, y) offsetof(struct dp_config, y) - offsetof(struct dp_config, x)
	if (memcmp(a->name, b->name, SPAN(name, uplink)))
		return "[appliance]";
	if (memcmp(&a->uplink, &b->uplink, SPAN(uplink, local)))
		return "[uplink]";
	if (a->nb_local != b->nb_local)
		return "the [local NAME] sections (ports)";
	for (uint16_t i = 0; i < a->nb_local; i++)
		if (memcmp(&a->local[i], &b->local[i], sizeof(a->local[i]))) {
			static __thread char what[64];

			snprintf(what, sizeof(what), "[local %s]", a->local[i].name);
			return what;
		}
	if (memcmp(&a->sa_static, &b->sa_static, sizeof(*a) - offsetof(struct dp_config, sa_static)))
		return "[sa.static] or [test]";
	return NULL;
#undef SPAN
}

int segsync_reload(struct segsync *ss, struct ctl_out *o)
{
	struct dp_config next;
	struct ike_settings s2;
	char (*specs)[SEGSTORE_SPEC_LEN] = NULL;
	char err[512];
	const char *what;
	struct seg_set from, to;
	int rc;

	if (config_load(ss->cfg_path, &next, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s", err);
		return -EINVAL;
	}
	pthread_mutex_lock(&ss->lock);
	if (ss->lead.active || ss->prep.active) {
		ctl_out_printf(o, "not reloaded, nothing applied: a segment change agreed with the "
			       "peer is in progress; try again in a few seconds");
		rc = -EBUSY;
		goto out;
	}
	if ((what = restart_needed(&ss->cfg, &next))) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s changed in %s: that needs a "
			       "restart (systemctl restart isthmus-dp@%s isthmusd@%s)", what,
			       ss->cfg_path, ss->s.name, ss->s.name);
		rc = -EINVAL;
		goto out;
	}
	if (ike_config_load(ss->cfg_path, &s2, err, sizeof(err)) < 0 ||
	    memcmp(&s2, &ss->s, sizeof(s2))) {
		ctl_out_printf(o, "not reloaded, nothing applied: [ike] changed in %s: that needs a "
			       "restart of isthmusd", ss->cfg_path);
		rc = -EINVAL;
		goto out;
	}
	if (segstore_conflict(&ss->st, &next, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s", err);
		rc = -EEXIST;
		goto out;
	}
	specs = calloc(DP_MAX_SEGMENTS, sizeof(*specs));
	if (!specs || config_segment_texts(&next, specs, err, sizeof(err)) < 0) {
		ctl_out_printf(o, "not reloaded, nothing applied: %s", specs ? err : "out of memory");
		rc = -EIO;
		goto out;
	}
	if (ss_build(ss, &ss->st, &from) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	{
		struct dp_config prev = ss->cfg;
		char (*prev_specs)[SEGSTORE_SPEC_LEN] = ss->specs;

		ss->cfg = next;
		ss->specs = specs;
		if (ss_build(ss, &ss->st, &to) < 0) {
			ss->cfg = prev;
			ss->specs = prev_specs;
			seg_set_free(&from);
			rc = -ENOMEM;
			goto out;
		}
		next = prev;
		specs = prev_specs;
	}
	{
		size_t start = o->len;

		rc = ss_apply_actions(ss, &from, &to, o);
		if (o->len == start)
			ctl_out_printf(o, "no segment changes\n");
	}
	DBG1(DBG_DMN, "isthmusd: configuration reloaded (%s)", rc < 0 ? "with errors" : "applied");
	seg_set_free(&from);
	seg_set_free(&to);
out:
	pthread_mutex_unlock(&ss->lock);
	config_free(&next);
	free(specs);
	return rc;
}

int segsync_json(struct segsync *ss, struct ctl_out *o)
{
	static const char *const kinds[] = { "extend", "unextend", "cutover" };
	struct json_object *j = json_object_new_object(), *drop = json_object_new_object(),
			   *entries = json_object_new_array();

	pthread_mutex_lock(&ss->lock);
	ctl_json_uint(j, "version", ss->st.version);
	ctl_json_uint(drop, "malformed", ss->drop_malformed);
	ctl_json_uint(drop, "signature", ss->drop_signature);
	for (unsigned i = 0; entries && i < ss->st.n; i++) {
		const struct seg_entry *e = &ss->st.e[i];
		struct json_object *x = json_object_new_object();

		ctl_json_int(x, "vni", e->vni);
		ctl_json_str(x, "name", e->name);
		ctl_json_str(x, "kind", kinds[e->kind]);
		ctl_json_bool(x, "gateway_here", e->gw_site == ss->me);
		if (x)
			json_object_array_add(entries, x);
	}
	pthread_mutex_unlock(&ss->lock);
	if (!j || !drop || !entries) {
		json_object_put(j);
		json_object_put(drop);
		json_object_put(entries);
		ctl_out_printf(o, "out of memory");
		return -ENOMEM;
	}
	json_object_object_add(j, "dropped", drop);
	json_object_object_add(j, "entries", entries);
	return ctl_out_json(o, j);
}
