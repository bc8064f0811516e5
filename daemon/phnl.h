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
	/*
	 * Errors answering messages sent without waiting (the daemon's
	 * dispatches), whichever call read them: phnl_talk() skips them but
	 * counts them here.
	 */
	uint64_t async_errors;
	uint64_t bad_msgs;	/* messages refused by phnl_parse() */
	bool subscribed;	/* events arrive here: no phnl_talk() */
	bool gone;		/* the family was removed (module unloaded) */
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

/*
 * Join nlctrl's "notify" group, on a socket used only for events: when
 * the family is removed (rmmod), phnl_drain() sets h->gone.
 */
int phnl_watch_family(struct phnl *h);

/*
 * Is the family still there, with the id this socket resolved? 0; or
 * -ENOENT if it went away or came back with another id (h->gone is then
 * set: commands sent with the old id reach nobody); another -errno if the
 * question could not be asked. Not on a subscribed socket.
 */
int phnl_family_check(struct phnl *h);

/* Receive buffer of @h: SO_RCVBUFFORCE, else SO_RCVBUF; the size in force. */
int phnl_set_rcvbuf(struct phnl *h, int bytes, bool *forced);

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

/*
 * USER_SERVER_ADD: a userspace server @name, served through
 * /dev/persohub-server/@name; @timeout_ms 0 and @classes 0 leave the
 * kernel's defaults (2000 ms, class 0); @overflow: only a controller's
 * DISPATCH feeds it (PERSOHUB_A_PORT_OVERFLOW). Its id in *@id (if not
 * NULL). 0, or -errno (-EEXIST: the name is taken) with h->errmsg.
 */
int phnl_user_server_add(struct phnl *h, const char *name,
			 uint32_t timeout_ms, uint64_t classes, bool overflow,
			 uint32_t *id);
/*
 * USER_STATION_ADD: a remote station @name, fed through
 * /dev/persohub-remote/@name; @queue_depth 0: the kernel's default
 * (PERSOHUB_REMOTE_DEPTH_DEFAULT); its class and priority as PORT_GET
 * shows them. Its id in *@id (if not NULL). 0, or -errno.
 */
int phnl_user_station_add(struct phnl *h, const char *name,
			  uint32_t queue_depth, uint32_t klass,
			  uint32_t priority, uint32_t *id);
/* USER_SERVER_DEL, USER_STATION_DEL: by @id, or by @name if @id is 0. */
int phnl_user_server_del(struct phnl *h, uint32_t id, const char *name);
int phnl_user_station_del(struct phnl *h, uint32_t id, const char *name);

/* Longest string attribute (names, card, tty, backend), NUL included. */
#define PHNL_NAME_LEN	32

/*
 * Parse one persohub message (a reply or an event): 0, or -EINVAL if an
 * attribute has the wrong length or type for the family's policy (a u32
 * of 2 bytes, a string without its NUL or too long, a truncated
 * attribute); then @attrs holds nothing, and the message is not used.
 */
int phnl_parse(const struct nlmsghdr *nlh, struct phnl_attrs *attrs);
/* One attribute against the policy: 0 (valid, or a type we skip), -EINVAL. */
int phnl_attr_valid(const struct nlattr *attr);
/* Attribute @type of the uapi has its line in the policy. */
bool phnl_attr_has_policy(int type);
/*
 * The policy of attribute @type, for a parser of another library
 * (persohubctl's libnl): its type (MNL_TYPE_UNSPEC: none; MNL_TYPE_MAX:
 * padding, skipped), and in @max the most bytes a string (NUL included)
 * or a binary may hold.
 */
enum mnl_attr_data_type phnl_attr_policy(int type, uint16_t *max);

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
/* As kmod/framing.c names them (daemon_test checks it). */
extern const char *const phnl_framing_names[__PERSOHUB_FRAMING_MAX];
extern const char *const phnl_cmd_names[PERSOHUB_CMD_MAX + 1];

#endif /* PHNL_H */
