/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The op script of fuzz_uplink (fuzz_uplink.c), shared with its seed
 * generator (fuzz_uplink_seeds.c).
 *
 *   byte 0   configuration: bit 0 ChaCha20-Poly1305 (else AES-256-GCM),
 *            bit 1 ESN, bits 2-3 the peer's first sequence number (FU_SEQ_*),
 *            bit 4 the peer behind a NAT (its SA and IKE from FU_NAT_IP),
 *            bits 5-6 the inbound replay window (0 = default, 32, 1024, 64)
 *   then ops: one byte, low 3 bits the op, bit 3 the worker (0 or 1), bits
 *   4-7 an argument nibble; then the op's bytes:
 *
 *   RAW      u16 len (LE), len bytes: an uplink frame as it comes
 *   SEAL     u8 flags, u8 sel, u16 len, [u8 cut if FU_S_FRAG], len bytes:
 *            a genuine packet of the peer (its SA's next sequence number),
 *            (nibble & 7) + 1 sealed, the last one sent; nibble & 8: its
 *            fragments go to the pen (see FLUSH), not the burst; FU_S_MODE:
 *              0 VXLAN to the segment sel % 3 (inner IPv4/UDP/VXLAN made
 *                here), the bytes are the inner frame
 *              1 the same with VNI 5100 + sel
 *              2 the bytes are the whole payload, next header 4
 *              3 the bytes are the whole payload, next header sel
 *            FU_S_FRAG: split into outer IPv4 fragments of 8 * (cut + 1)
 *            bytes, at most FU_S_PIECES + 2 of them, sent in order or
 *            reversed (FU_S_REV), the last one sent left out (FU_S_LOSE),
 *            the first one sent twice in a row (FU_S_DUP)
 *   REPLAY   u8 slot, u16 offset, u8 xor: one of the last 8 sealed packets
 *            again, whole, the byte at offset xored (0: an exact replay)
 *   TIME     the reassembly clock of the worker moves nibble / 8 of the
 *            timeout on, and its table is swept
 *   TAKE     the worker takes what others handed to it (its hand-off ring)
 *   FLUSH    nibble 0: the pending burst goes in (also when full, when the
 *            next packet is for the other worker, and at the end); nibble k:
 *            fragment (k - 1) of the pen joins the burst (so the fuzzer
 *            interleaves datagrams and orders their fragments); what is left
 *            in the pen at the end is never sent
 *   SERVICE  the main lcore serves the exception path and L2 safety reports
 *   UDP      u8 flags, u16 len, len bytes: Ethernet / IPv4 / UDP (or ICMP)
 *            to the uplink address made here around the bytes: FU_U_KIND
 *            says the port (FU_K_*), FU_U_SRC the source (cfg peer, NAT
 *            address, a stranger), FU_U_FRAG in two outer fragments
 *            (reversed with FU_U_REV, to the pen with FU_U_PEN)
 */
#ifndef ISTHMUS_FUZZ_UPLINK_H
#define ISTHMUS_FUZZ_UPLINK_H

enum fu_op { FU_RAW, FU_SEAL, FU_REPLAY, FU_TIME, FU_TAKE, FU_FLUSH, FU_SERVICE, FU_UDP };

#define FU_OP(op, worker, nibble) ((uint8_t)((op) | ((worker) << 3) | ((nibble) << 4)))

/* configuration byte */
#define FU_C_CHACHA 0x01
#define FU_C_ESN 0x02
#define FU_C_SEQ(i) ((i) << 2)
#define FU_C_NAT 0x10
#define FU_C_WINDOW(i) ((i) << 5)

/* SEAL flags */
#define FU_S_MODE 0x03
#define FU_S_FRAG 0x04
#define FU_S_PIECES(n) ((n) << 3)      /* pieces - 2, 0..3 */
#define FU_S_REV 0x20
#define FU_S_LOSE 0x40
#define FU_S_DUP 0x80

/* UDP flags */
#define FU_U_KIND 0x07
#define FU_U_SRC(i) ((i) << 3)        /* 0 peer, 1 NAT address, 2 stranger */
#define FU_U_FRAG 0x20
#define FU_U_REV 0x40
#define FU_U_PEN 0x80

/* SEAL nibble */
#define FU_N_PEN 0x8

enum fu_kind {
	FU_K_IKE500,       /* UDP 500 */
	FU_K_IKE4500,      /* UDP 4500, the non-ESP marker put in front */
	FU_K_PAIRING,      /* UDP 4501 */
	FU_K_SEGSYNC,      /* UDP 4502 */
	FU_K_KEEPALIVE,    /* UDP 4500, the one byte 0xff (the bytes ignored) */
	FU_K_ESP,          /* UDP 4500, the bytes as they are (ESP or not) */
	FU_K_OTHER,        /* UDP 53 */
	FU_K_ICMP,         /* ICMP, the bytes as its message */
};

#endif
