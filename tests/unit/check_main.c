/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one main() of the Check unit tests: see check_main.h. */
#include <stdlib.h>

#include "check_main.h"

int check_argc;
char **check_argv;

int main(int argc, char **argv)
{
	Suite *s;
	SRunner *sr;
	int failed;

	check_argc = argc;
	check_argv = argv;
	s = test_suite();
	if (!s)
		return EXIT_FAILURE;
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
