/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * perftest_spec.c: the parameters of a perftest (docs/perftest.md), checked
 * the same way by isthmusctl and by isthmus-dp.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perftest_spec.h"

int perftest_parse_sizes(const char *s, uint16_t *out, char *err, size_t errlen)
{
	int n = 0;
	const char *p = s;

	if (s == NULL || *s == '\0') {
		snprintf(err, errlen, "no frame size given");
		return -1;
	}
	for (;;) {
		char *end;
		unsigned long v;

		errno = 0;
		if (*p < '0' || *p > '9')
			goto bad;
		v = strtoul(p, &end, 10);
		if (errno || (*end != ',' && *end != '\0'))
			goto bad;
		if (v < CTL_PERFTEST_MIN_FRAME || v > CTL_PERFTEST_MAX_FRAME) {
			snprintf(err, errlen, "frame size %lu out of range [%u, %u]", v,
				 CTL_PERFTEST_MIN_FRAME, CTL_PERFTEST_MAX_FRAME);
			return -1;
		}
		if (n == CTL_PERFTEST_SIZES) {
			snprintf(err, errlen, "more than %d frame sizes", CTL_PERFTEST_SIZES);
			return -1;
		}
		for (int i = 0; i < n; i++)
			if (out[i] == v) {
				snprintf(err, errlen, "frame size %lu given twice", v);
				return -1;
			}
		out[n++] = (uint16_t)v;
		if (*end == '\0')
			return n;
		p = end + 1;
	}
bad:
	snprintf(err, errlen, "'%.64s' is not a list of frame sizes in bytes (64,512,1400)", s);
	return -1;
}

uint32_t perftest_parse_duration(const char *s)
{
	char *end;
	unsigned long v;
	uint64_t ms;

	if (s == NULL || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v > CTL_PERFTEST_MAX_DURATION_MS)
		return 0;
	if (*end == '\0' || !strcmp(end, "s"))
		ms = (uint64_t)v * 1000;
	else if (!strcmp(end, "ms"))
		ms = v;
	else if (!strcmp(end, "m"))
		ms = (uint64_t)v * 60000;
	else
		return 0;
	return ms >= 100 && ms <= CTL_PERFTEST_MAX_DURATION_MS ? (uint32_t)ms : 0;
}

int perftest_check(const struct ctl_perftest *m, char *err, size_t errlen)
{
	if (m->nb_sizes == 0 || m->nb_sizes > CTL_PERFTEST_SIZES) {
		snprintf(err, errlen, "1 to %d frame sizes, not %u", CTL_PERFTEST_SIZES, m->nb_sizes);
		return -1;
	}
	for (unsigned i = 0; i < m->nb_sizes; i++) {
		if (m->sizes[i] < CTL_PERFTEST_MIN_FRAME || m->sizes[i] > CTL_PERFTEST_MAX_FRAME) {
			snprintf(err, errlen, "frame size %u out of range [%u, %u]", m->sizes[i],
				 CTL_PERFTEST_MIN_FRAME, CTL_PERFTEST_MAX_FRAME);
			return -1;
		}
		for (unsigned j = 0; j < i; j++)
			if (m->sizes[j] == m->sizes[i]) {
				snprintf(err, errlen, "frame size %u given twice", m->sizes[i]);
				return -1;
			}
	}
	if (m->duration_ms < 100 || m->duration_ms > CTL_PERFTEST_MAX_DURATION_MS) {
		snprintf(err, errlen, "duration %u ms out of range [100, %u]", m->duration_ms,
			 CTL_PERFTEST_MAX_DURATION_MS);
		return -1;
	}
	if (m->probes > CTL_PERFTEST_MAX_PROBES) {
		snprintf(err, errlen, "%u probes: at most %u", m->probes, CTL_PERFTEST_MAX_PROBES);
		return -1;
	}
	if (m->rate_mbps > PERFTEST_RATE_CEILING) {
		snprintf(err, errlen, "rate %u Mbit/s: at most %u", m->rate_mbps,
			 PERFTEST_RATE_CEILING);
		return -1;
	}
	return 0;
}
