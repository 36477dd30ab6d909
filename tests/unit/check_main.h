/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_main.h: the one main() of the Check unit tests (check_main.c).
 *
 * A test binary links check_main.c and defines test_suite(): it builds the
 * Suite to run, after reading its arguments (check_argc, check_argv: main()'s)
 * or preparing process-wide state if it needs to (esp_crypto_init(), tables
 * shared by the tests). main() runs the suite with CK_NORMAL output and exits
 * 0 if no test failed, 1 otherwise.
 *
 * test_suite() returns NULL when the tests cannot start (main() then exits 1),
 * after saying why on stderr; a usage error may exit(2) by itself.
 */
#ifndef ISTHMUS_TESTS_CHECK_MAIN_H
#define ISTHMUS_TESTS_CHECK_MAIN_H

#include <check.h>

extern int check_argc;
extern char **check_argv;

Suite *test_suite(void);

#endif
