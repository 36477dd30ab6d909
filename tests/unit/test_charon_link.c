/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_charon_link.c: proves the control-plane toolchain. Debian's libcharon and
 * libstrongswan link with the headers fetched from Debian's source package, a
 * statically registered "kernel-ipsec" plugin feature is loaded by charon, and
 * charon's kernel interface really dispatches to it. Also checks the start-up
 * guard that isthmusd runs (control/charon_guard.c).
 */
#include "check_main.h"
#include <stdlib.h>
#include <string.h>

#include <library.h>
#include <daemon.h>
#include <kernel/kernel_ipsec.h>

#include "charon_guard.h"

#define TEST_SPI 0xc0ffee01u

static int constructed;

/* A kernel-ipsec backend that only hands out one SPI: enough to prove dispatch. */
static status_t t_get_spi(kernel_ipsec_t *this, host_t *src, host_t *dst,
			  uint8_t protocol, uint32_t *spi)
{
	(void)this; (void)src; (void)dst; (void)protocol;
	*spi = htonl(TEST_SPI);
	return SUCCESS;
}

/* socket-default asks the backend to exempt IKE sockets from IPsec policy and to
 * enable UDP decapsulation on them; in userspace ESP there is nothing to do. */
static bool t_bypass_socket(kernel_ipsec_t *this, int fd, int family)
{
	(void)this; (void)fd; (void)family;
	return TRUE;
}

static bool t_enable_udp_decap(kernel_ipsec_t *this, int fd, int family, uint16_t port)
{
	(void)this; (void)fd; (void)family; (void)port;
	return TRUE;
}

static void t_destroy(kernel_ipsec_t *this)
{
	free(this);
}

static kernel_ipsec_t *t_create(void)
{
	kernel_ipsec_t *k = calloc(1, sizeof(*k));

	k->get_spi = t_get_spi;
	k->bypass_socket = t_bypass_socket;
	k->enable_udp_decap = t_enable_udp_decap;
	k->destroy = t_destroy;
	constructed++;
	return k;
}

static bool t_register(plugin_t *plugin, plugin_feature_t *feature, bool reg, void *data)
{
	return kernel_ipsec_register(plugin, feature, reg, data);
}

static char plugins[] =
	"random nonce openssl pem pkcs1 pkcs8 x509 pubkey curve25519 chapoly aes gcm "
	"sha2 hmac kdf kernel-netlink socket-default";

START_TEST(test_static_kernel_ipsec_feature)
{
	plugin_feature_t features[] = {
		PLUGIN_CALLBACK(t_register, t_create),
			PLUGIN_PROVIDE(CUSTOM, "kernel-ipsec"),
				PLUGIN_DEPENDS(RNG, RNG_WEAK),
	};
	host_t *src, *dst;
	uint32_t spi = 0;

	ck_assert(library_init(NULL, "isthmus-test"));
	ck_assert(libcharon_init());
	/* charon's own reasons go to stderr, so a failure here explains itself */
	lib->settings->set_int(lib->settings, "%s.filelog.stderr.default", 1, lib->ns);
	charon->load_loggers(charon);
	/* IKE sockets on ephemeral ports: never collide with a charon on 500/4500 */
	lib->settings->set_int(lib->settings, "%s.port", 0, lib->ns);
	lib->settings->set_int(lib->settings, "%s.port_nat_t", 0, lib->ns);
	lib->plugins->add_static_features(lib->plugins, "isthmus-test", features,
					  countof(features), TRUE, NULL, NULL);
	ck_assert_msg(charon->initialize(charon, plugins), "charon->initialize failed");

	ck_assert(lib->plugins->has_feature(lib->plugins,
					    PLUGIN_PROVIDE(CUSTOM, "kernel-ipsec")));
	ck_assert_int_eq(constructed, 1);

	src = host_create_from_string("198.18.0.1", 4500);
	dst = host_create_from_string("198.18.0.2", 4500);
	ck_assert_int_eq(charon->kernel->get_spi(charon->kernel, src, dst, IPPROTO_ESP, &spi),
			 SUCCESS);
	ck_assert_uint_eq(ntohl(spi), TEST_SPI);
	src->destroy(src);
	dst->destroy(dst);

	libcharon_deinit();
	library_deinit();
}
END_TEST

START_TEST(test_guard_accepts_installed_library)
{
	char err[512] = "";

	ck_assert_msg(charon_guard_check(err, sizeof(err)) == 0, "guard: %s", err);
}
END_TEST

START_TEST(test_guard_refuses_other_library)
{
	char err[512] = "";

	ck_assert_int_eq(charon_guard_check_ids("00", ISTHMUS_STRONGSWAN_BUILD_ID,
						err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "libcharon.so.0") && strstr(err, ISTHMUS_CHARON_BUILD_ID),
		      "unexpected reason: %s", err);
	ck_assert_int_eq(charon_guard_check_ids(ISTHMUS_CHARON_BUILD_ID, "00",
						err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "libstrongswan.so.0") != NULL, "unexpected reason: %s", err);
}
END_TEST

Suite *test_suite(void)
{
	Suite *s = suite_create("charon_link");
	TCase *tc = tcase_create("libcharon");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_static_kernel_ipsec_feature);
	tcase_add_test(tc, test_guard_accepts_installed_library);
	tcase_add_test(tc, test_guard_refuses_other_library);
	suite_add_tcase(s, tc);
	return s;
}
