// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: persohubd's configuration parser on arbitrary text.
 * A file either parses, with every value inside its limits, or is refused
 * with "name:line: reason"; never a crash.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "framing.h"

static struct config cfg;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1);
	char err[512] = "";
	unsigned int i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_parse(text, "fuzz.conf", &cfg, err, sizeof(err))) {
		assert(!strncmp(err, "fuzz.conf", 9));
	} else {
		assert(cfg.nports <= CONFIG_MAX_PORTS);
		for (i = 0; i < cfg.nports; i++) {
			const struct config_port *p = &cfg.ports[i];

			assert(!p->queue_depth.set ||
			       (p->queue_depth.v >= 1 && p->queue_depth.v <= 16));
			assert(!p->role.set || p->role.v <= 2);
			assert(strlen(p->name) < CONFIG_NAME_LEN);
			assert(!p->settle_ms.set || p->settle_ms.v <= 10000);
			assert(!p->framing.set || p->framing.v < __PH_FRAMING_MAX);
			assert(!p->lrc.set || p->lrc.v <= 1);
			assert(!p->gap_chars.set ||
			       (p->gap_chars.v >= 1 && p->gap_chars.v <= 10000));
			assert(p->error_len <= CONFIG_ERROR_FRAME_MAX);
			/* an stx-etx port can send its error answer */
			assert(!p->framing.set || p->framing.v != PH_FRAMING_STX_ETX ||
			       (!memchr(p->error_frame, PH_STX, p->error_len) &&
				!memchr(p->error_frame, PH_ETX, p->error_len)));
		}
		assert(cfg.event_buffer >= 1024 &&
		       cfg.event_buffer <= 1 << 28);
		for (i = 0; i < cfg.ntcp; i++)
			assert(cfg.tcp[i].port && cfg.tcp[i].host[0] &&
			       strlen(cfg.tcp[i].host) < sizeof(cfg.tcp[i].host) &&
			       (cfg.tcp[i].framing == PH_FRAMING_HDLC ||
				cfg.tcp[i].framing == PH_FRAMING_LEN16));
	}
	free(text);
	return 0;
}
