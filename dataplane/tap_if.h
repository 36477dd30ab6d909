/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file tap_if.h
 * Kernel side of the exception TAP: give the interface the uplink address, MTU
 * and state, with plain socket ioctls (the TAP is ours; no routing daemon).
 */
#ifndef ISTHMUS_TAP_IF_H
#define ISTHMUS_TAP_IF_H

#include <stddef.h>
#include <stdint.h>

/**
 * Configure a kernel interface: IPv4 address/prefix (network order address),
 * MTU, IPv6 off (the uplink speaks IPv4 only: no ND/MLD noise on the wire), up.
 * @return 0, or -1 with a reason in @p err
 */
int tap_if_configure(const char *ifname, uint32_t addr_be, unsigned prefixlen, unsigned mtu,
		     char *err, size_t errlen);

#endif
