/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctl_json.c: json-c helpers shared by the control sockets' replies
 * (ctl_json.h). json-c escapes quotes, backslashes and control characters in
 * strings (RFC 8259 section 7), so a name or identity of any bytes yields a
 * reply that parses back to the same string.
 */
#include "ctl_json.h"

#include <errno.h>
#include <string.h>

#include "ctl_client.h"
#include "ctl_server.h"

int ctl_out_json(struct ctl_out *o, struct json_object *j)
{
	const char *s;
	size_t len;
	int rc;

	if (!j)
		return -ENOMEM;
	s = json_object_to_json_string_length(j, CTL_JSON_FLAGS, &len);
	rc = s ? ctl_out_append(o, s, len) : -ENOMEM;
	json_object_put(j);
	return rc;
}

size_t ctl_json_elem(FILE *f, bool *first, const char *sep, struct json_object *j)
{
	const char *s;
	size_t len, n = 0;

	if (!j)
		return 0;
	s = json_object_to_json_string_length(j, CTL_JSON_FLAGS, &len);
	if (s) {
		if (!*first)
			n += (size_t)fprintf(f, "%s", sep);
		n += fwrite(s, 1, len, f);
		*first = false;
	}
	json_object_put(j);
	return n;
}

void ctl_spi_str(uint32_t spi, char buf[static 11])
{
	snprintf(buf, 11, "0x%08x", spi);
}

struct json_object *ctl_json_spi(uint32_t spi)
{
	char b[11];

	ctl_spi_str(spi, b);
	return json_object_new_string(b);
}

struct json_object *ctl_json_ip4(uint32_t be)
{
	const uint8_t *b = (const uint8_t *)&be;
	char s[16];

	snprintf(s, sizeof(s), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	return json_object_new_string(s);
}

void ctl_json_str(struct json_object *o, const char *key, const char *v)
{
	if (!o)
		return;
	json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

void ctl_json_int(struct json_object *o, const char *key, int64_t v)
{
	if (!o)
		return;
	json_object_object_add(o, key, json_object_new_int64(v));
}

void ctl_json_uint(struct json_object *o, const char *key, uint64_t v)
{
	if (!o)
		return;
	json_object_object_add(o, key, json_object_new_uint64(v));
}

void ctl_json_bool(struct json_object *o, const char *key, bool v)
{
	if (!o)
		return;
	json_object_object_add(o, key, json_object_new_boolean(v));
}

struct json_object *ctl_reply_json(const struct ctl_reply *r)
{
	struct json_tokener *t = json_tokener_new();
	struct json_object *j = NULL;

	if (!t)
		return NULL;
	j = json_tokener_parse_ex(t, ctl_reply_body(r), 
				  (int)(r->body_len < INT32_MAX ? r->body_len : INT32_MAX));
	if (json_tokener_get_error(t) != json_tokener_success) {
		json_object_put(j);
		j = NULL;
	}
	json_tokener_free(t);
	return j;
}

uint64_t ctl_reply_json_uint(const struct ctl_reply *r, const char *key, uint64_t dflt)
{
	struct json_object *j = ctl_reply_json(r), *v;
	uint64_t n = dflt;

	if (j && json_object_object_get_ex(j, key, &v) && json_object_is_type(v, json_type_int))
		n = json_object_get_uint64(v);
	json_object_put(j);
	return n;
}
