// SPDX-License-Identifier: GPL-2.0
/*
 * persohubd's messages: see log.h. A line is formatted whole and written
 * with one call, so lines never mix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static bool journal, with_debug;

/*
 * systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
 * standard error to; it is the journal only while standard error is still
 * that stream (not redirected by a shell, not inherited by a child).
 */
void log_init(bool debug)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int n = 0;

	with_debug = debug;
	journal = js && sscanf(js, "%llu:%llu%n", &dev, &ino, &n) == 2 &&
		  !js[n] && !fstat(STDERR_FILENO, &st) &&
		  st.st_dev == dev && st.st_ino == ino;
}

bool log_to_journal(void)
{
	return journal;
}

static const char *const level[] = {
	[LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",
	[LOG_CRIT] = "critical", [LOG_ERR] = "error",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (prio < LOG_EMERG || prio > LOG_DEBUG)
		prio = LOG_ERR;
	if (prio == LOG_DEBUG && !with_debug)
		return;
	if (journal)
		n = snprintf(line, sizeof(line), "<%d>", prio);
	else
		n = snprintf(line, sizeof(line), "persohubd: %s: ", level[prio]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
