/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file counters.h
 * The one table of isthmus-dp's counters: name and description of each.
 * Without DPDK, so that isthmusctl reads the same descriptions for the HELP
 * lines of its Prometheus output (tools/isthmusctl_stats.c) as the dataplane
 * prints beside its counters (stats.c).
 */
#ifndef ISTHMUS_DP_COUNTERS_H
#define ISTHMUS_DP_COUNTERS_H

/*
 * X(name, description). Order is the order of the report; names are the keys
 * of the JSON report and stay stable once released (scripts read them).
 */
#define DP_COUNTERS(X)                                                               \
	/* traffic */                                                                \
	X(local_rx, "frames received on local ports")                                \
	X(tunnel_out, "frames encapsulated and sealed toward the peer")              \
	X(uplink_tx, "packets sent on the uplink")                                   \
	X(uplink_rx, "packets received on the uplink")                               \
	X(tunnel_in, "frames opened and decapsulated from the peer")                 \
	X(local_tx, "frames sent on local ports")                                    \
	X(exception, "uplink packets handed to the exception path")                  \
	X(exception_ike, "of which the peer's IKE, in the priority class (exception_dp.c)")\
	X(exception_no_tap, "exception packets released: no kernel TAP configured")  \
	X(drop_exception_policed, "exception packets (not the peer's IKE) over [uplink] exception_rate")\
	X(drop_exception_full, "policed exception ring toward the main lcore full")  \
	X(drop_exception_ike_full, "priority exception ring (the peer's IKE) toward the main lcore full")\
	X(drop_exception_tap_full, "exception packets the kernel TAP did not take")  \
	/* bridging (not drops) */                                                   \
	X(worker_nice_failed, "adaptive worker could not raise its priority (no CAP_SYS_NICE)")\
	X(fdb_learned, "MAC addresses learned")                                      \
	X(gw_arp_answered, "ARP requests (IPv6 neighbor solicitations) for the gateway answered here (local egress)")\
	X(gw_announced, "gratuitous ARPs and unsolicited neighbor advertisements sent for the gateway (cutover)")           \
	X(fdb_moved, "MAC addresses moved between the local and the remote side")   \
	X(fdb_limit, "MAC addresses not learned: segment table full")               \
	X(fdb_full, "MAC addresses not learned: MAC table (mac_table_size) full")   \
	/* outbound drops: local RX -> uplink TX */                                  \
	X(drop_local_short, "local frame shorter than an Ethernet (802.1Q) header")  \
	X(drop_multiseg, "packet in chained mbufs (larger than the mbuf data room)") \
	X(drop_unknown_vlan, "local frame on a VLAN that is no segment")             \
	X(drop_src_mcast, "frame with a multicast source MAC")                       \
	X(drop_local_dst, "destination MAC known on the local side")                 \
	X(drop_too_big, "frame too large for the local or uplink MTU")               \
	X(drop_no_headroom, "no mbuf headroom for the tunnel headers")               \
	X(drop_no_nexthop, "peer next-hop MAC not known yet")                        \
	X(drop_no_sa, "no outbound SA on this worker nor on any other to hand the frame to")\
	X(seal_handoff, "frames of a worker without an outbound SA handed to one with an SA to seal")\
	X(drop_seal_handoff_full, "frames of a worker without an outbound SA: the sealing worker's ring full")\
	X(drop_seal, "ESP sealing failed: no room for the trailer and ICV")          \
	X(drop_seq_exhausted, "outbound SA out of sequence numbers (RFC 4303 3.3.3: no wrap), not rekeyed in time")\
	/* SA lifecycle (main lcore, control socket) */                              \
	X(sa_dup_refused, "SA_ADD for an SPI already installed, refused (the same key again would reuse nonces)")\
	X(sa_retired, "SAs retired: left by a control plane that restarted, kept until replaced")\
	X(sa_retired_expired, "retired SAs deleted")                                 \
	X(sa_updated, "SAs moved to new outer addresses or ports (a NAT mapping changed; charon's update_sa)")\
	/* outer fragmentation, reassembly, path MTU (frag.c, reass.c, pmtu.c) */    \
	X(frag_packets, "sealed packets over the uplink MTU, fragmented (RFC 4459)") \
	X(frag_out, "outer IPv4 fragments sent")                                     \
	X(drop_frag_nombuf, "outer fragmentation failed: no mbuf for a fragment")    \
	X(drop_frag_error, "outer fragmentation failed: refused by rte_ip_frag")     \
	X(reass_frags, "outer IPv4 fragments for us received")                       \
	X(reass_done, "outer datagrams reassembled from fragments")                  \
	X(drop_reass_timeout, "fragments of a datagram not complete in reass_timeout_ms (or 512 fragments)")\
	X(drop_reass_full, "fragments dropped: reassembly table full (reass_flows)") \
	X(drop_reass_bad, "fragments of a datagram with overlapping, duplicate or too many fragments")\
	X(drop_reass_oversize, "reassembled datagram larger than an mbuf")           \
	X(drop_reass_shutdown, "fragments still waiting for the rest at shutdown")   \
	X(drop_reass_foreign, "outer fragment from another address than the peer (not reassembled)")\
	X(drop_handoff_shutdown, "packets left in a hand-off ring at shutdown")       \
	X(handoff, "uplink packets handed to the worker that opens their SA")         \
	X(sa_claim_released, "inbound SA left unowned: none of a worker's first packets authenticated (forged?)")\
	X(sa_claim_waited_out, "another worker's trial claim on an inbound SA not settled in 100 us: handed to it")\
	X(pmtu_icmp4, "ICMP fragmentation needed sent back (RFC 1191)")              \
	X(pmtu_icmp6, "ICMPv6 packet too big sent back (RFC 4443, RFC 8201)")        \
	X(pmtu_rate_limited, "oversize DF/IPv6 frames over pmtu_rate: fragmented instead")\
	X(drop_pmtu, "oversize DF/IPv6 frames answered with ICMP instead of sent")   \
	/* inbound drops: uplink RX -> local TX */                                   \
	X(drop_uplink_short, "truncated outer Ethernet, IPv4 or UDP header")         \
	X(drop_ethertype, "uplink frame neither IPv4 nor ARP")                       \
	X(drop_ip_bad, "outer IPv4 version, header length or total length wrong")    \
	X(drop_ip_frag, "outer IPv4 fragment malformed (empty, not 8-byte aligned, over 64 KiB)")\
	X(drop_not_for_us, "outer destination is not the uplink address")           \
	X(drop_proto, "for us, but neither ESP, IKE, ICMP nor ARP")                  \
	X(drop_udp_short, "UDP length does not fit the IPv4 packet")                 \
	X(drop_esp_short, "ESP shorter than header, IV and ICV")                     \
	X(drop_unknown_spi, "no inbound SA with this SPI")                           \
	X(drop_outer_src, "outer source is not the SA's peer")                       \
	X(drop_sa_owner, "inbound SA opened by another worker, its hand-off ring full")\
	X(drop_replayed, "ESP sequence number already received (RFC 4303 3.4.3)")    \
	X(drop_too_old, "ESP sequence number left of the replay window")             \
	X(drop_icv, "ESP integrity check failed")                                    \
	X(drop_padding, "ESP padding or pad length wrong")                           \
	X(drop_esp_other, "ESP rejected for another reason")                         \
	X(drop_next_header, "ESP next header is not IPv4 (4)")                       \
	X(drop_inner_short, "decrypted payload too short for IPv4/UDP/VXLAN/Ethernet")\
	X(drop_inner_bad, "inner IPv4 malformed, fragmented or wrong length")        \
	X(drop_inner_addr, "inner IPv4 addresses are not the peer and local VTEPs")  \
	X(drop_inner_proto, "inner packet is not UDP to port 4789")                  \
	X(drop_vxlan_flags, "VXLAN I flag not set (RFC 7348 section 5)")             \
	X(drop_unknown_vni, "VNI is no extended segment")                            \
	X(drop_perftest_unarmed, "perftest frames (VNI 16777215) while no test is armed here")\
	X(drop_perftest_bad, "perftest frames malformed, of another test, or of a stage not armed")\
	X(drop_perftest_ring_full, "perftest control frames: ring toward the main lcore full")\
	X(drop_perftest_df_big, "perftest path-MTU probes larger than [uplink] mtu (DF: not fragmented)")\
	X(perftest_rx, "perftest frames taken from the tunnel (never delivered to a port)")\
	X(perftest_tx, "perftest frames handed to a worker to seal toward the peer")  \
	X(drop_remote_gateway, "remote gateway's ARP or ND stopped (local egress)")        \
	X(drop_local_gateway, "local router's ARP or ND for the gateway kept from the tunnel (local egress)")\
	/* TCP MSS clamping (mss.c; not drops) */                                    \
	X(mss_clamped, "TCP SYN/SYN-ACK MSS options lowered to the segment's clamp")\
	X(mss_missing, "TCP SYN/SYN-ACK without an MSS option (left alone)")        \
	X(mss_malformed, "TCP SYN or its IP header malformed: passed untouched")    \
	/* storm control (storm.c): frames flooded into the tunnel over the rate */ \
	X(drop_storm_broadcast, "broadcast frame over the segment's storm rate")    \
	X(drop_storm_multicast, "multicast frame over the segment's storm rate")    \
	X(drop_storm_unknown, "unknown-unicast frame over the segment's storm rate")\
	X(drop_tx_full, "transmit queue full")                                       \
	X(drop_tx_ring_full, "transmit ring toward the port's TX owner full")    \
	/* L2 safety: MAC flaps, loops, IP conflicts (l2guard.c) */              \
	X(mac_flaps, "MAC moved between sides more than flap_moves times in flap_window")\
	X(ip_conflicts, "ARP: one IPv4 address claimed by two MACs, one on each side")\
	X(l2guard_arp_full, "ARP sender not recorded: IP conflict table full")    \
	X(l2guard_loop_full, "broadcast sent locally not recorded: loop table full")\
	X(l2guard_report_lost, "L2 safety report lost: ring to the main lcore full")\
	X(l2guard_host_repeat, "frame like one sent to the local port, from a MAC at this site since: a moved host repeating itself, not a loop")\
	X(drop_mac_dampened, "frame of a dampened (flapping) MAC from the side it flapped to")\
	X(drop_loop, "frame the appliance sent to the local port came back in (loop)")\
	/* HA (ha.c, docs/ha.md) */                                                  \
	X(drop_ha_standby, "frames from local ports and ESP dropped: this HA member is not active")\
	X(ha_role_changes, "HA role changes (active, standby, fault)")              \
	X(ha_announcements, "MAC announcements started after a new IKE_SA")        \
	X(nexthop_followed, "peer's MAC taken over what ARP said from the IKE exchange of a new SA or an authenticated packet (HA split brain; nexthop.c)")\
	X(ha_rarp_sent, "RARP frames sent through the tunnel for local MACs (announcements)")\
	X(ha_announce_capped, "local MACs not announced: over the announcement's cap")\
	X(ha_announce_failed, "RARP announcements lost: no mbuf or the sealing worker's ring full")

#endif
