/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Forced-include configuration for compiling against Debian's strongSwan 5.9.8
 * headers without running its ./configure.
 *
 * These defines reproduce the struct layouts of Debian's libcharon/libstrongswan
 * build (checked with sizeof/offsetof over the structs isthmusd touches; see
 * docs/design.md). ME is ABI-critical: Debian builds with mediation support, and
 * without it daemon_t and ike_sa_t shrink and charon crashes at start.
 */
#ifndef ISTHMUS_STRONGSWAN_CONFIG_H
#define ISTHMUS_STRONGSWAN_CONFIG_H

#define CONFIG_H_INCLUDED 1
#define VERSION "5.9.8"
#define ME 1
#define HAVE_ALLOCA_H 1
#define HAVE_SYS_PARAM_H 1
#define HAVE_STDBOOL_H 1
#define HAVE__BOOL 1
#define HAVE_INT128 1
#define HAVE_CONDATTR_CLOCK_MONOTONIC 1
#define HAVE_CLOCK_GETTIME 1
#define HAVE_EXPLICIT_BZERO 1
#define HAVE_FMEMOPEN 1
#define HAVE_SIGWAITINFO 1
#define HAVE_CLOSEFROM 1
#define HAVE_MEMRCHR 1
#define HAVE_QSORT_R 1
#define HAVE_QSORT_R_GNU 1
#define HAVE_PRINTF_SPECIFIER 1
#define USE_IKEV1 1
#define USE_IKEV2 1

#endif
