/* SPDX-License-Identifier: GPL-2.0-or-later */
/**
 * @file ike_config.h
 * isthmusd's view of the appliance configuration file (docs/config.md).
 */
#ifndef ISTHMUS_IKE_CONFIG_H
#define ISTHMUS_IKE_CONFIG_H

#include <stddef.h>

#include "ike_settings.h"

/**
 * Load @p path: the whole file is validated as isthmus-dp would, then [ike].
 * @return 0, or -1 with a reason (file, section, key) in @p err
 */
int ike_config_load(const char *path, struct ike_settings *s, char *err, size_t errlen);

#endif
