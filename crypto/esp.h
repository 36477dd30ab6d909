/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file esp.h
 * ESP security associations for Isthmus: AEAD sealing and opening of ESP
 * packets in place, sequence numbers and ESN, anti-replay.
 *
 * Wire layout handled here (RFC 4303 section 2, RFC 4106 / RFC 7634):
 *
 *     buf + 0   SPI (4, network order)
 *     buf + 4   sequence number, low 32 bits (4, network order)
 *     buf + 8   IV (8): the 64-bit sequence number, never reused under a key
 *     buf + 16  payload (encrypted), padding 0..3 bytes (1, 2, 3, ...),
 *               pad length (1), next header (1)
 *     ...       ICV (16)
 *
 * Nonce = 4-byte salt (the last 4 bytes of the IKE key material) || IV.
 * AAD = SPI || seq low (8 bytes), or with ESN SPI || seq high || seq low (12 bytes)
 * (RFC 4106 section 5, RFC 7634 section 2.1).
 *
 * No DPDK here: the dataplane hands in pointers into its mbufs. The burst calls
 * take arrays and return how many packets succeeded; each packet's @c status
 * says why one failed.
 *
 * Threading: an SA is used by one thread at a time for sealing or opening
 * (the dataplane gives each worker its own outbound SA, and steers each inbound
 * SA to one worker). esp_sa_get_stats() may be called from any thread; the
 * counters it reads are 64-bit and may be a burst behind.
 */
#ifndef ISTHMUS_CRYPTO_ESP_H
#define ISTHMUS_CRYPTO_ESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESP_HDR_LEN 8          /**< SPI + sequence number */
#define ESP_IV_LEN 8           /**< explicit IV */
#define ESP_PAYLOAD_OFF (ESP_HDR_LEN + ESP_IV_LEN)
#define ESP_ICV_LEN 16         /**< both ciphers use a 16-byte ICV */
#define ESP_TRAILER_MAX (3 + 2) /**< padding to 4 bytes + pad length + next header */
#define ESP_KEY_LEN 32         /**< AES-256 / ChaCha20 key */
#define ESP_SALT_LEN 4         /**< implicit nonce part, after the key in IKE keymat */
#define ESP_KEYMAT_LEN (ESP_KEY_LEN + ESP_SALT_LEN)
/** Largest number of bytes sealing adds to a payload. */
#define ESP_MAX_OVERHEAD (ESP_PAYLOAD_OFF + ESP_TRAILER_MAX + ESP_ICV_LEN)
/** Default anti-replay window (packets). */
#define ESP_REPLAY_WINDOW_DEFAULT 1024
/** Largest anti-replay window supported (packets). */
#define ESP_REPLAY_WINDOW_MAX 4096

/** AEAD transform of an SA. */
enum esp_cipher {
	ESP_CIPHER_AES256GCM = 0,        /**< RFC 4106, 16-byte ICV */
	ESP_CIPHER_CHACHA20POLY1305 = 1, /**< RFC 7634 */
};

/** Crypto implementation behind an SA. */
enum esp_backend {
	ESP_BACKEND_AUTO = 0, /**< ipsec-mb if the CPU supports it, else libsodium */
	ESP_BACKEND_IPSECMB,  /**< intel-ipsec-mb direct API (x86 fast path) */
	ESP_BACKEND_SODIUM,   /**< libsodium (portable, and the reference) */
};

/** Direction of an SA. */
enum esp_dir {
	ESP_DIR_OUTBOUND = 0,
	ESP_DIR_INBOUND = 1,
};

/** Per-packet result; every rejection has its own reason. */
enum esp_status {
	ESP_OK = 0,
	ESP_ERR_LENGTH,      /**< shorter than header + IV + trailer + ICV, or misaligned */
	ESP_ERR_NO_ROOM,     /**< outbound: not enough room after the payload */
	ESP_ERR_SPI,         /**< SPI in the packet is not this SA's */
	ESP_ERR_REPLAYED,    /**< sequence number already seen in the window */
	ESP_ERR_TOO_OLD,     /**< sequence number left of the window */
	ESP_ERR_ICV,         /**< authentication failed */
	ESP_ERR_PADDING,     /**< pad length or padding bytes wrong (after a good ICV) */
	ESP_ERR_SA_EXPIRED,  /**< outbound: sequence number space exhausted */
	ESP_STATUS_MAX
};

/** Parameters for esp_sa_create(). */
struct esp_sa_params {
	enum esp_cipher cipher;
	enum esp_backend backend;
	enum esp_dir dir;
	uint32_t spi;          /**< host byte order */
	const uint8_t *keymat; /**< key followed by salt, as IKE derives it */
	size_t keymat_len;     /**< must be ESP_KEYMAT_LEN */
	bool esn;              /**< 64-bit extended sequence numbers (RFC 4303 2.2.1) */
	uint32_t replay_window;/**< inbound: 0 = default, else power of two <= max */
	uint64_t initial_seq;  /**< outbound: last sequence number used (0 = fresh SA);
				    inbound: highest already seen. For tests and restarts. */
};

/** One packet in a burst. The payload always starts at buf + ESP_PAYLOAD_OFF. */
struct esp_pkt {
	uint8_t *buf;        /**< start of the ESP header */
	uint32_t len;        /**< seal: in payload length, out total ESP length;
				  open: in total ESP length, out payload length */
	uint32_t room;       /**< seal: writable bytes from buf */
	uint8_t next_header; /**< seal: in; open: out (4 = IPv4, RFC 4303) */
	uint8_t status;      /**< out: enum esp_status */
	uint64_t seq;        /**< out: the (extended) sequence number used/accepted */
};

/** Counters of one SA. */
struct esp_sa_stats {
	uint64_t packets;               /**< sealed or opened successfully */
	uint64_t bytes;                 /**< payload bytes of those packets */
	uint64_t errors[ESP_STATUS_MAX];/**< rejected packets, by reason */
	uint64_t seq;                   /**< last sequence number used / highest accepted */
};

struct esp_sa;

/**
 * Create an SA. Key material is copied into locked memory (sodium_mlock where
 * the system allows) and zeroed on destroy.
 *
 * @param p    parameters (keymat is copied; the caller may wipe its copy)
 * @param err  optional buffer for a reason on failure (never contains key bytes)
 * @param errlen size of @p err
 * @return the SA, or NULL on bad parameters / unavailable backend
 */
struct esp_sa *esp_sa_create(const struct esp_sa_params *p, char *err, size_t errlen);

/** Destroy an SA, zeroing its key material. NULL is ignored. */
void esp_sa_destroy(struct esp_sa *sa);

/**
 * Seal a burst in place (outbound SA): write header and IV, pad, encrypt,
 * append ICV. A packet whose status is not ESP_OK is left for the caller to drop.
 *
 * @return number of packets with status ESP_OK
 */
uint16_t esp_seal_burst(struct esp_sa *sa, struct esp_pkt *pkts, uint16_t n);

/**
 * Open a burst in place (inbound SA): anti-replay check, ICV verification,
 * decryption, trailer check, then (only after a good ICV) the window update,
 * per RFC 4303 section 3.4.3. On success len is the payload length.
 *
 * @return number of packets with status ESP_OK
 */
uint16_t esp_open_burst(struct esp_sa *sa, struct esp_pkt *pkts, uint16_t n);

/** Read an SA's counters. */
void esp_sa_get_stats(const struct esp_sa *sa, struct esp_sa_stats *st);

/** The SA's SPI (host order). */
uint32_t esp_sa_spi(const struct esp_sa *sa);

/** The backend actually in use (never ESP_BACKEND_AUTO). */
enum esp_backend esp_sa_backend(const struct esp_sa *sa);

/** Whether a backend can run on this machine. */
bool esp_backend_available(enum esp_backend b);

/** Short names, for logs, stats and command lines. */
const char *esp_status_name(enum esp_status s);
const char *esp_cipher_name(enum esp_cipher c);
const char *esp_backend_name(enum esp_backend b);

/** Parse "aes256gcm" / "chacha20poly1305"; returns -1 if unknown. */
int esp_cipher_parse(const char *s, enum esp_cipher *c);
/** Parse "auto" / "ipsec-mb" / "sodium"; returns -1 if unknown. */
int esp_backend_parse(const char *s, enum esp_backend *b);

/** Initialise the crypto library (libsodium, ipsec-mb manager). Idempotent, thread-safe. */
int esp_crypto_init(void);

#endif
