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

/**
 * Route @p dst_be/@p prefixlen via @p gw_be on @p ifname (SIOCADDRT). The
 * kernel sends IKE and pairing to the peer; without this route a peer that is
 * not on-link would be reached through the management interface's default
 * route, or not at all. The gateway must be on-link (inside the interface's
 * subnet), else the kernel refuses with ENETUNREACH, which @p err explains.
 * @return 0, or -1 with a reason in @p err
 */
int tap_if_route_add(const char *ifname, uint32_t dst_be, unsigned prefixlen, uint32_t gw_be,
		     char *err, size_t errlen);
/** Remove what tap_if_route_add() added. @return 0, or -1 with a reason in @p err */
int tap_if_route_del(const char *ifname, uint32_t dst_be, unsigned prefixlen, uint32_t gw_be,
		     char *err, size_t errlen);

#endif
