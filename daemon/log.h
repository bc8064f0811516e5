/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohubd's messages, on standard error, one line each. Under systemd
 * (standard error is the journal's stream: JOURNAL_STREAM names it) every
 * line starts with its sd-daemon(3) priority, "<3>" to "<7>", so the
 * journal files it as an error, a warning, information or debugging;
 * otherwise it reads "persohubd: warning: ...".
 */
#ifndef PH_LOG_H
#define PH_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Look at JOURNAL_STREAM and standard error; debug lines only if @debug. */
void log_init(bool debug);
/* True if lines carry the journal's priority prefix. */
bool log_to_journal(void);
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define error(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* PH_LOG_H */
