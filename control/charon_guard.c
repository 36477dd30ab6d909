/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * charon_guard.c: refuse to run against a libcharon other than the one whose
 * headers we compiled with. strongSwan has no stable ABI: a rebuilt or upgraded
 * libcharon with different struct layouts would crash isthmusd in odd places, so
 * we compare GNU build IDs (recorded by meson from the installed libraries) with
 * those of the objects actually mapped into this process.
 */
#include "charon_guard.h"

#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

#ifndef ISTHMUS_CHARON_BUILD_ID
#error "ISTHMUS_CHARON_BUILD_ID must be set by the build"
#endif

struct want {
	const char *soname;   /* basename suffix to match */
	const char *build_id; /* hex */
	char found[2 * 64 + 1];
	int seen;
};

static void hex(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < outlen; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * i] = '\0';
}

/* Read the NT_GNU_BUILD_ID note from a loaded object's PT_NOTE segments. */
static void read_build_id(struct dl_phdr_info *info, char *out, size_t outlen)
{
	out[0] = '\0';
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const unsigned char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const unsigned char *name = p + sizeof(*nh);
			const unsigned char *desc = name + ((nh->n_namesz + 3) & ~3u);

			if (desc + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0) {
				hex(desc, nh->n_descsz, out, outlen);
				return;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct want *w = arg;
	const char *base;

	(void)size;
	if (!info->dlpi_name)
		return 0;
	base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	for (; w->soname; w++) {
		if (strcmp(base, w->soname) == 0) {
			read_build_id(info, w->found, sizeof(w->found));
			w->seen = 1;
		}
	}
	return 0;
}

int charon_guard_check_ids(const char *charon_id, const char *strongswan_id,
			   char *err, size_t errlen)
{
	struct want w[] = {
		{ "libcharon.so.0", charon_id, "", 0 },
		{ "libstrongswan.so.0", strongswan_id, "", 0 },
		{ NULL, NULL, "", 0 },
	};

	dl_iterate_phdr(visit, w);
	for (struct want *p = w; p->soname; p++) {
		if (!p->seen) {
			snprintf(err, errlen, "%s is not loaded", p->soname);
			return -1;
		}
		if (strcmp(p->found, p->build_id) != 0) {
			snprintf(err, errlen,
				 "%s has build ID %s, but isthmus was built against %s "
				 "(strongSwan %s headers): rebuild with tools/setup",
				 p->soname, p->found[0] ? p->found : "(none)", p->build_id,
				 ISTHMUS_STRONGSWAN_VERSION);
			return -1;
		}
	}
	return 0;
}

int charon_guard_check(char *err, size_t errlen)
{
	return charon_guard_check_ids(ISTHMUS_CHARON_BUILD_ID, ISTHMUS_STRONGSWAN_BUILD_ID,
				      err, errlen);
}
