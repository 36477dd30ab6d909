/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file segstore.h
 * The agreed segment set (segstore.c): the segment changes both appliances
 * agreed on at run time (extend, unextend, cutover), versioned, kept in
 * STATE_DIR/segments.state, and combined with the configuration file's
 * [segment] sections into the set a site extends (docs/control-protocol.md,
 * "Segment agreements"). Plain C, no strongSwan: unit-tested on its own.
 *
 * The store's content is the same at both sites (each entry holds the
 * settings of both, by site: 0 the lower underlay address, 1 the higher), so
 * two stores are compared by version and SHA-256 digest.
 */
#ifndef ISTHMUS_SEGSTORE_H
#define ISTHMUS_SEGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SEGSTORE_FILE "segments.state"
#define SEGSTORE_TEXT_MAX 60000   /**< the whole set travels in one UDP datagram */
#define SEGSTORE_NAME_LEN DP_NAME_LEN
#define SEGSTORE_SPEC_LEN (CFG_SPEC_MAX + 1)
#define SEG_GW_AS_CONFIGURED (-1)

/** What an entry says about its VNI. */
enum seg_kind {
	SEG_KIND_EXTEND = 0,   /**< extended at run time, with both sites' settings */
	SEG_KIND_UNEXTEND = 1, /**< a segment of the configuration files, unextended */
	SEG_KIND_CUTOVER = 2,  /**< a segment of the files whose gateway was cut over */
};

/** One agreed change, by VNI. */
struct seg_entry {
	uint32_t vni;
	enum seg_kind kind;
	int gw_site;           /**< SEG_GW_AS_CONFIGURED, or the site (0/1) it was cut over to */
	char name[SEGSTORE_NAME_LEN];
	char spec[2][SEGSTORE_SPEC_LEN]; /**< SEG_KIND_EXTEND: settings of site 0 and site 1 */
};

/** The agreed set: entries sorted by VNI. */
struct segstore {
	uint64_t version;      /**< one more for every agreed change */
	unsigned n;
	struct seg_entry *e;   /**< DP_MAX_SEGMENTS entries allocated */
};

/** A segment as one site extends it: from its file or from the store. */
struct seg_eff {
	uint32_t vni;
	char name[SEGSTORE_NAME_LEN];
	char spec[SEGSTORE_SPEC_LEN];
	bool cut_here;         /**< the gateway was cut over to this site */
};

/** The set of segments one site extends. */
struct seg_set {
	unsigned n;
	struct seg_eff *s;     /**< DP_MAX_SEGMENTS allocated */
};

/** A change of the dataplane that takes one site from a set to another. */
enum seg_action_kind { SEG_ACT_DEL, SEG_ACT_APPLY, SEG_ACT_CUTOVER };

struct seg_action {
	enum seg_action_kind kind;
	const struct seg_eff *seg; /**< DEL: from the old set; others: from the new */
	bool added;                /**< APPLY of a VNI the old set did not have */
};

/** Empty store (version 0). @return 0 or -1 (memory) */
int segstore_init(struct segstore *st);
void segstore_free(struct segstore *st);
/** Deep copy. @return 0 or -1 */
int segstore_copy(struct segstore *dst, const struct segstore *src);

/** Entry of @p vni, or NULL. */
struct seg_entry *segstore_find(const struct segstore *st, uint32_t vni);
/** Insert or replace the entry of e->vni. @return 0, or -1 when full */
int segstore_put(struct segstore *st, const struct seg_entry *e);
/** Remove the entry of @p vni. @return 0, or -1 if there is none */
int segstore_del(struct segstore *st, uint32_t vni);

/**
 * One entry as a line (no newline): "extend VNI NAME GW\tSPEC0\tSPEC1",
 * "unextend VNI NAME GW" or "cutover VNI NAME GW", GW "-", "0" or "1".
 * @return its length, or -1 if @p len is too small
 */
int segstore_entry_format(const struct seg_entry *e, char *out, size_t len);
/** Parse such a line (strict). @return 0, or -1 with a reason in @p err */
int segstore_entry_parse(const char *line, struct seg_entry *e, char *err, size_t errlen);

/**
 * The whole store as text: "isthmus-segments 1", "version N", one line per
 * entry. @return its length, or -1 when it exceeds @p len
 */
long segstore_format(const struct segstore *st, char *out, size_t len);
/** Parse the text of segstore_format() into @p st (strict, all or nothing). */
int segstore_parse(struct segstore *st, const char *text, char *err, size_t errlen);
/** SHA-256 of segstore_format()'s text. @return 0 or -1 */
int segstore_digest(const struct segstore *st, uint8_t out[32]);

/**
 * Write atomically: a temporary file in the same directory, fsync, rename
 * over @p path, fsync of the directory. A crash leaves the old or the new
 * file, never a mix. @return 0, or -1 with a reason in @p err
 */
int segstore_save(const struct segstore *st, const char *path, char *err, size_t errlen);
/** Read @p path; a missing file is an empty store. @return 0 or -1 */
int segstore_load(struct segstore *st, const char *path, char *err, size_t errlen);

int seg_set_init(struct seg_set *set);
void seg_set_free(struct seg_set *set);
/** The segment of @p vni in @p set, or NULL. */
const struct seg_eff *seg_set_find(const struct seg_set *set, uint32_t vni);
/** The segment named @p name in @p set, or NULL. */
const struct seg_eff *seg_set_find_name(const struct seg_set *set, const char *name);

/**
 * What site @p me extends: the file's segments (@p names, @p specs: their
 * sections as text, config_segment_texts()) less those the store unextends,
 * plus those it extends. A VNI both in the file and extended by the store is
 * the store's (reload refuses to create that case: segstore_conflict()).
 * @return 0 or -1 (too many)
 */
int seg_set_build(struct seg_set *out, const struct dp_config *cfg, const char (*specs)[SEGSTORE_SPEC_LEN],
		  const struct segstore *st, int me);

/**
 * A VNI or name of the file that the store extends as another segment, or a
 * name used twice: @return 0, or -1 with what clashes in @p err.
 */
int segstore_conflict(const struct segstore *st, const struct dp_config *cfg, char *err,
		      size_t errlen);

/**
 * The dataplane changes from @p from to @p to, in order: deletions first,
 * then segments added or whose settings changed, then cutovers new in @p to.
 * @p out holds 2 * DP_MAX_SEGMENTS. @return the number of actions
 */
unsigned seg_set_diff(const struct seg_set *from, const struct seg_set *to, struct seg_action *out);

/**
 * The keys whose values differ between two settings texts, as
 * "key old -> new, ...", for reports. @return @p out
 */
char *seg_spec_diff(const char *a, const char *b, char *out, size_t len);

#endif
