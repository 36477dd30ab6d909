/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * segsync_mutation.c: one change of the agreed segment set (segsync.c): its
 * text in a PREPARE, and whether this site can take it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "segsync_internal.h"

/* ---- mutations -------------------------------------------------------- */

int ss_mutation_format(const struct mutation *m, char *out, size_t len)
{
	int n;

	if (m->del)
		n = snprintf(out, len, "del %u %s", m->e.vni, m->e.name);
	else {
		n = snprintf(out, len, "put ");
		if (n < 0 || (size_t)n >= len || segstore_entry_format(&m->e, out + n, len - n) < 0)
			return -1;
		n = (int)strlen(out);
	}
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int ss_mutation_parse(const char *text, size_t len, struct mutation *m, char *err,
		      size_t errlen)
{
	char buf[2 * SEGSTORE_SPEC_LEN + 200], name[64], msg[200];
	unsigned long vni;
	int used = 0;

	memset(m, 0, sizeof(*m));
	if (len >= sizeof(buf) || memchr(text, '\0', len)) {
		snprintf(err, errlen, "malformed change");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (!strncmp(buf, "put ", 4))
		return segstore_entry_parse(buf + 4, &m->e, err, errlen);
	if (sscanf(buf, "del %lu %63s%n", &vni, name, &used) != 2 || buf[used] || vni == 0 ||
	    vni > 0xffffff || name_check("segment name", name, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "malformed change");
		return -1;
	}
	m->del = true;
	m->e.vni = (uint32_t)vni;
	snprintf(m->e.name, sizeof(m->e.name), "%s", name);
	return 0;
}

int ss_apply_mutation(struct segstore *st, const struct mutation *m)
{
	st->version++;
	return m->del ? segstore_del(st, m->e.vni) : segstore_put(st, &m->e);
}

/*
 * Whether this site can take @p m (both sites run this on the same change):
 * what it means here (extend, unextend, cutover), checked against this site's
 * set and, for a segment added, by this site's dataplane. @return 0 or -errno
 */
int ss_check_mutation(struct segsync *ss, const struct mutation *m, char *err, size_t errlen)
{
	const struct seg_entry *cur = segstore_find(&ss->st, m->e.vni);
	struct seg_set before;
	const struct seg_eff *g, *named;
	int rc = 0;

	if (ss_build(ss, &ss->st, &before) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	g = seg_set_find(&before, m->e.vni);
	named = seg_set_find_name(&before, m->e.name);
	if (m->del && cur && cur->kind == SEG_KIND_UNEXTEND) {
		/* a file's segment extended again, with the file's settings */
		rc = -ENOENT;
		snprintf(err, errlen, "VNI %u is in no [segment] of this site's configuration file",
			 m->e.vni);
		for (uint16_t i = 0; i < ss->cfg.nb_seg; i++)
			if (ss->cfg.seg[i].vni == m->e.vni) {
				struct seg_eff add = { .vni = m->e.vni };

				snprintf(add.name, sizeof(add.name), "%s", ss->cfg.seg[i].name);
				snprintf(add.spec, sizeof(add.spec), "%s", ss->specs[i]);
				rc = ss_dp_seg_set(ss, &add, CTL_SEG_OP_CHECK, err, errlen);
			}
	} else if (m->del) {
		if (!cur || cur->kind != SEG_KIND_EXTEND) {
			snprintf(err, errlen, "no segment with VNI %u extended at run time here",
				 m->e.vni);
			rc = -ENOENT;
		}
	} else if (m->e.kind == SEG_KIND_UNEXTEND) {
		if (!g) {
			snprintf(err, errlen, "no segment with VNI %u here", m->e.vni);
			rc = -ENOENT;
		}
	} else if (m->e.kind == SEG_KIND_CUTOVER ||
		   (cur && cur->kind == SEG_KIND_EXTEND && m->e.kind == SEG_KIND_EXTEND)) {
		/* a cutover: of a file's segment, or of one extended at run time
		 * (its entry again with only the gateway's site changed) */
		if (!g) {
			snprintf(err, errlen, "no segment with VNI %u here", m->e.vni);
			rc = -ENOENT;
		} else if (m->e.kind == SEG_KIND_EXTEND &&
			   (strcmp(cur->spec[0], m->e.spec[0]) || strcmp(cur->spec[1], m->e.spec[1]))) {
			snprintf(err, errlen, "VNI %u is already extended here (segment '%s')", g->vni,
				 g->name);
			rc = -EEXIST;
		} else if (m->e.gw_site == ss->me) {
			struct cfg_segment cs;

			if (config_segment_spec(&ss->cfg, g->name, g->spec, &cs, err, errlen) < 0) {
				rc = -EINVAL;
			} else if ((!cs.gateway && !cs.has_gateway6) ||
				   rte_is_zero_ether_addr(&cs.router_mac)) {
				snprintf(err, errlen, "segment %s has no gateway and router_mac here: "
					 "nothing to cut over", g->name);
				rc = -EINVAL;
			}
		}
	} else { /* extend */
		struct seg_eff add = { .vni = m->e.vni };

		if (g) {
			snprintf(err, errlen, "VNI %u is already extended here (segment '%s')", g->vni,
				 g->name);
			rc = -EEXIST;
		} else if (named) {
			snprintf(err, errlen, "a segment named '%s' is extended here (VNI %u)",
				 named->name, named->vni);
			rc = -EEXIST;
		} else {
			snprintf(add.name, sizeof(add.name), "%s", m->e.name);
			snprintf(add.spec, sizeof(add.spec), "%s", m->e.spec[ss->me]);
			rc = ss_dp_seg_set(ss, &add, CTL_SEG_OP_CHECK, err, errlen);
			if (rc == -EHOSTDOWN)
				snprintf(err + strlen(err), errlen - strlen(err),
					 ": cannot check the segment here");
		}
	}
	if (rc == 0) {
		struct segstore next;

		if (segstore_copy(&next, &ss->st) < 0 || ss_apply_mutation(&next, m) < 0 ||
		    segstore_format(&next, ss->scratch, sizeof(ss->scratch) - HDR_LEN - SIG_LEN) < 0) {
			snprintf(err, errlen, "limit reached: the agreed segment set would exceed %d "
				 "entries or %d bytes", DP_MAX_SEGMENTS, SEGSTORE_TEXT_MAX);
			rc = -ENOSPC;
		} else if (segstore_conflict(&next, &ss->cfg, err, errlen) < 0) {
			rc = -EEXIST; /* a name or VNI of this site's file */
		}
		segstore_free(&next);
	}
	seg_set_free(&before);
	return rc;
}
