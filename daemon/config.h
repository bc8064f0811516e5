/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohub.conf: the site's configuration, an INI file.
 *
 *   [daemon]
 *   realtime = yes            SCHED_FIFO (priority below) and mlockall
 *   priority = 50
 *   cpu = 1                   pin the daemon to this CPU (-1: no pinning)
 *   resync_ms = 1000          reconcile with the kernel this often
 *   event_buffer = 4194304    receive buffer of the event socket, bytes
 *   stats_file = /run/persohubd/stats
 *   probe_interval_ms = 1000  probe failed servers this often (0: never)
 *   probe_frame = 50524f4245  the probe's payload, in hex ("PROBE")
 *   audit = yes               a journal record for every finished request
 *   metrics_dir = none        write persohub.prom there (textfile collector)
 *   metrics_interval_ms = 5000  that often, 100-3600000
 *
 *   [port 0000:00:10.0-0]     a port by stable identity: card and index
 *   role = station|server|off
 *   name = m1-st1
 *   baud = 115200
 *   data_bits = 8
 *   parity = none|odd|even|mark|space
 *   stop_bits = 1
 *   timeout_ms = 2000         servers: response timeout
 *   queue_depth = 1           stations: requests outstanding
 *   max_payload = 1024
 *   weight = 1                servers: higher is chosen first
 *   enabled = yes             servers: no = never dispatched to
 *   settle_ms = 0             servers: quiet time after an answer
 *   framing = hdlc            hdlc|stx-etx|stx-len|len16|gap
 *   lrc = no                  stx-etx: an LRC byte after ETX
 *   gap_chars = 500           character times of silence, 1-10000
 *   error_frame = 3939        stations: the error answer, hex, 0-64 bytes
 *   class = keys              stations: the class of their requests
 *   priority = 0              stations: 0-7, higher first
 *   classifier = 4 2 4131=keys 4133=keys
 *                             stations: OFFSET LEN, then VALUE=CLASS rules
 *                             (VALUE LEN bytes in hex, up to 16 rules)
 *   classes = default,keys    servers: the classes they serve
 *
 *   [class keys]              a class of requests (up to 64); numbered in
 *   id = 1                    order of appearance (the lowest free ids), or
 *   max_wait_ms = 0           by id; [class default] is class 0
 *
 *   [tcp net-hsm1]            a server reached over TCP (a network HSM, a
 *   address = 10.0.0.5:1500   peer site PC), served through the station
 *   timeout_ms = 2000         devices; [fd00::5]:1500 for an IPv6 address
 *   framing = hdlc            hdlc (the default) or len16 on the stream
 *   classes = default         the classes it serves
 *   header_len = 0            bytes of a header the server echoes (payShield),
 *                             0-16: answers are matched by a tag put there
 *   queue_depth = 1           requests in flight on the link, 1-64; more
 *                             than 1 needs header_len (servers NAME, NAME.2...)
 *   tls = no                  yes: TLS with mutual certificates (GnuTLS)
 *   ca = /etc/persohub/ca.pem     the site CA the server's certificate needs
 *   cert = /etc/persohub/hub.pem  this hub's certificate, and its key (mode
 *   key = /etc/persohub/hub.key   0600 or stricter, else refused)
 *   pin = sha256:HEX          optional: SHA-256 of the server's public key
 *   tls_min = 1.3             the oldest TLS version accepted: 1.2 or 1.3
 *   ktls = auto               auto: the kernel carries the records after the
 *                             handshake where it can (kTLS, the tls module);
 *                             no: GnuTLS does
 *
 *   [cascade]                 hubs on a LAN pooling their servers (NATS)
 *   servers = nats://10.0.2.1:4222, nats://10.0.2.2:4222
 *   site = plant1             the subjects' prefix: persohub.SITE....
 *   name = hub-a              this hub (default: the host name)
 *   ca = /etc/persohub/nats-ca.pem    mutual TLS: all three or none; the
 *   cert = /etc/persohub/hub-a.pem    key refused if its group or others
 *   key = /etc/persohub/hub-a.key     may read it
 *   offer = 0,2               classes (ids or names) served for others
 *   use = 0,2                 classes sent out when our servers are busy
 *   depth = 16                requests out at once, 1-64
 *   timeout_ms = 0            a remote answer's timeout; 0: the class's
 *
 * Numbers are decimal (leading zeros allowed, no 0x). A ';' or '#' after a
 * space or tab starts a comment, also after a value; one with no space
 * before it is part of the value (stats_file = /run/ph#1).
 */
#ifndef PH_CONFIG_H
#define PH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phlimits.h"

#define CONFIG_MAX_PORTS	PH_MAX_PORTS
#define CONFIG_MAX_TCP		16
#define CONFIG_NAME_LEN		32
#define CONFIG_ERROR_FRAME_MAX	64	/* the kernel's error_frame limit */
#define CONFIG_MAX_CLASSES	64	/* PERSOHUB_CLASS_MAX + 1 */
#define CONFIG_CLASSIFIER_RULES	16	/* PERSOHUB_CLASSIFIER_RULES */
#define CONFIG_CLASSIFIER_VALUE	8	/* PERSOHUB_CLASSIFIER_VALUE */

/* A value a port section may set; 'set' says whether it did. */
struct config_u32 {
	bool set;
	uint32_t v;
};

/* classifier = OFFSET LEN VALUE=CLASS...: class ids once loaded */
struct config_classifier {
	bool set;
	uint16_t offset;
	uint8_t len, nrules;
	struct {
		uint8_t value[CONFIG_CLASSIFIER_VALUE];
		uint8_t klass;
	} rules[CONFIG_CLASSIFIER_RULES];
};

/* [class NAME] */
struct config_class {
	char name[CONFIG_NAME_LEN];
	uint32_t id;		/* 0-63, once loaded */
	bool id_set;		/* "id = N" given */
	uint32_t max_wait_ms;
	unsigned int line;	/* of its header; 0: named, not a section */
};

struct config_port {
	char card[32];		/* PCI address; "" for a tty */
	uint32_t index;
	char tty[128];		/* [tty PATH]: /dev/... of the tty, else "" */
	char name[CONFIG_NAME_LEN];
	struct config_u32 role, baud, data_bits, parity, stop_bits;
	struct config_u32 timeout_ms, queue_depth, max_payload, settle_ms;
	/* framing: enum ph_framing; lrc 0 or 1 */
	struct config_u32 framing, lrc, gap_chars;
	bool error_set;		/* error_frame given (maybe empty) */
	unsigned int error_len;
	uint8_t error_frame[CONFIG_ERROR_FRAME_MAX];
	uint32_t weight;
	bool enabled;
	char pin_card[32];	/* station: its only server, "" for any */
	unsigned int pin_index;
	/* class ids once loaded (while parsing: indexes into classes[]) */
	struct config_u32 klass, priority;
	bool classes_set;
	uint64_t classes;	/* servers: bit N, class N */
	struct config_classifier classifier;
	unsigned int line;	/* of its first [port]/[tty] header */
};

struct config_tcp {
	char name[CONFIG_NAME_LEN];
	char host[64];		/* a name, IPv4 or IPv6 (no brackets) */
	uint16_t port;
	uint32_t timeout_ms;
	uint32_t framing;	/* on the stream: PH_FRAMING_HDLC or _LEN16 */
	uint64_t classes;	/* bit N, class N; default 1 (class 0) */
	uint32_t header_len;	/* echoed header, the answers' tag; 0: none */
	uint32_t queue_depth;	/* requests in flight on the link */
	bool tls;
	char ca[256], cert[256], key[256];
	bool pin_set;
	uint8_t pin[32];	/* SHA-256 of the server's SubjectPublicKeyInfo */
	uint32_t tls_min;	/* 12 or 13: TLS 1.2 or 1.3 at least */
	bool ktls_no;		/* ktls = no; the default is auto */
	unsigned int line;
};

#define CONFIG_CASCADE_SERVERS	8
#define CONFIG_CASCADE_DEPTH	64

/* [cascade] */
struct config_cascade {
	bool set;		/* the section is there */
	unsigned int nservers;
	char servers[CONFIG_CASCADE_SERVERS][128];	/* nats:// or tls:// URLs */
	char site[CONFIG_NAME_LEN];
	char name[CONFIG_NAME_LEN];	/* "": the host name */
	char ca[256], cert[256], key[256];
	uint64_t offer, use;	/* bit N, class N once loaded */
	uint32_t depth;
	uint32_t timeout_ms;	/* 0: the class's (its servers' timeout) */
	unsigned int line;
};

struct config {
	bool realtime;
	int priority;
	int cpu;
	unsigned int resync_ms;
	unsigned int event_buffer;	/* bytes */
	char stats_file[256];
	unsigned int probe_interval_ms;
	uint8_t probe_frame[64];
	unsigned int probe_len;
	bool audit;			/* journal record per request */
	char metrics_dir[201];		/* "" : no metrics file */
	unsigned int metrics_interval_ms;
	unsigned int nports;
	struct config_port ports[CONFIG_MAX_PORTS];
	unsigned int ntcp;
	struct config_tcp tcp[CONFIG_MAX_TCP];
	unsigned int nclasses;
	struct config_class classes[CONFIG_MAX_CLASSES];
	struct config_cascade cascade;
};

/*
 * Parse @path into @cfg. Returns 0, or -1 with @err (file:line: reason);
 * @cfg is then unspecified, so parse into a scratch copy and keep the
 * running one on failure.
 */
int config_load(const char *path, struct config *cfg, char *err,
		size_t errlen);
int config_parse(const char *text, const char *name, struct config *cfg,
		 char *err, size_t errlen);
void config_defaults(struct config *cfg);
/* "[port 0000:00:10.0-1]" or "[tty /dev/...]": how the file names @cp. */
const char *config_port_label(const struct config_port *cp, char *buf,
			      size_t len);
const struct config_port *config_port_find(const struct config *cfg,
					   const char *card, uint32_t index);
const struct config_port *config_port_find_tty(const struct config *cfg,
					       const char *ttyname);
/* The [tty PATH] section of @path, as written (no link followed). */
const struct config_port *config_port_find_tty_path(const struct config *cfg,
						    const char *path);
int config_tty_name(const struct config_port *cp, char *buf, size_t len);
/* The class of id @id in @cfg, or NULL. */
const struct config_class *config_class_find(const struct config *cfg,
					     uint32_t id);
/*
 * Class @id's name in subjects: its [class] name, "default" for 0, else
 * its number.
 */
const char *config_class_token(const struct config *cfg, uint32_t id,
			       char *buf, size_t len);

#endif /* PH_CONFIG_H */
