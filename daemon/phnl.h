/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small libmnl layer over the persohub generic netlink family, shared by
 * persohubd, persohubctl and the tests.
 */
#ifndef PHNL_H
#define PHNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>
#include <linux/persohub.h>

struct phnl {
	struct mnl_socket *nl;
	uint16_t family;
	uint32_t events_group;
	uint32_t portid;
	uint32_t seq;
	char errmsg[256];	/* extack message of the last error */
	int erroff;		/* offset of the attribute it names, or 0 */
	uint64_t async_errors;	/* errors answering requests not waited for */
	bool subscribed;	/* events arrive here: no phnl_talk() */
};

/* Attributes of one message, indexed by enum persohub_attr. */
struct phnl_attrs {
	const struct nlattr *a[PERSOHUB_A_MAX + 1];
	uint8_t cmd;
};

typedef int (*phnl_cb)(const struct phnl_attrs *attrs, void *data);

/* Open a socket and resolve the family; -errno (ENOENT: no module). */
int phnl_open(struct phnl *h);
void phnl_close(struct phnl *h);
int phnl_fd(const struct phnl *h);

/* Join the "events" group. */
int phnl_subscribe(struct phnl *h);

/* Start a request: returns the message to add attributes to. */
struct nlmsghdr *phnl_msg(struct phnl *h, char *buf, uint8_t cmd,
			  uint16_t flags);

/*
 * Send @nlh and read until its answer is complete, calling @cb for every
 * reply message (may be NULL). Returns 0 or -errno; on error h->errmsg
 * holds the kernel's extack message, if any. Not on a subscribed socket
 * (-EINVAL): the events queued there would be read and lost.
 */
int phnl_talk(struct phnl *h, struct nlmsghdr *nlh, phnl_cb cb, void *data);

/* Parse one persohub message (a reply or an event). */
int phnl_parse(const struct nlmsghdr *nlh, struct phnl_attrs *attrs);

/*
 * Read what the socket holds without blocking (MSG_DONTWAIT), calling @cb
 * for each message. Returns the number of messages, 0 if none, -ENOBUFS if
 * events were lost, or another -errno.
 */
int phnl_drain(struct phnl *h, phnl_cb cb, void *data);

static inline uint32_t phnl_u32(const struct phnl_attrs *at, int type,
				uint32_t def)
{
	return at->a[type] ? mnl_attr_get_u32(at->a[type]) : def;
}

static inline uint8_t phnl_u8(const struct phnl_attrs *at, int type,
			      uint8_t def)
{
	return at->a[type] ? mnl_attr_get_u8(at->a[type]) : def;
}

static inline uint64_t phnl_u64(const struct phnl_attrs *at, int type,
				uint64_t def)
{
	return at->a[type] ? mnl_attr_get_u64(at->a[type]) : def;
}

static inline const char *phnl_str(const struct phnl_attrs *at, int type)
{
	return at->a[type] ? mnl_attr_get_str(at->a[type]) : "";
}

extern const char *const phnl_stat_names[PERSOHUB_STAT_MAX + 1];
extern const char *const phnl_role_names[3];
extern const char *const phnl_state_names[3];
extern const char *const phnl_cmd_names[PERSOHUB_CMD_MAX + 1];

#endif /* PHNL_H */
