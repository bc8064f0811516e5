// SPDX-License-Identifier: GPL-2.0
/*
 * The controller: one process (persohubd) attached over netlink decides
 * which server takes which request; the hub only announces and obeys. A
 * controller that stops dispatching does not stop the site: after
 * ctrl_grace_ms the hub matches by itself until it is heard from again.
 */

#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/module.h>

#include "persohub.h"

unsigned int ph_ctrl_grace_ms = 1000;

module_param_named(ctrl_grace_ms, ph_ctrl_grace_ms, uint, 0644);

MODULE_PARM_DESC(ctrl_grace_ms,
		 "how long a request may wait for a stuck controller before the hub matches it itself");

/*
 * A controller that does not dispatch (stopped, stuck) must not stall the
 * site: once a request has waited ctrl_grace_ms with a server idle, and the
 * controller has sent nothing for as long, the hub matches by itself until
 * the controller is heard from again. A controller that holds requests back
 * on purpose (pinned stations, disabled servers) keeps itself heard with
 * PERSOHUB_CMD_CTRL_KEEPALIVE.
 */
void ph_grace_arm(void)
{
	struct ph_request *oldest;
	u64 from, now, grace;

	if (!ph_hub.ctrl || ph_hub.ctrl_stalled || !ph_ctrl_grace_ms ||
	    list_empty(&ph_hub.waiting))
		return;
	oldest = list_first_entry(&ph_hub.waiting, struct ph_request,
				  wait_node);
	from = max(oldest->rx_ns, ph_hub.ctrl_heard_ns);
	grace = (u64)ph_ctrl_grace_ms * NSEC_PER_MSEC;
	now = ktime_get_ns();
	timer_reduce(&ph_hub.grace_timer, jiffies +
		     nsecs_to_jiffies(from + grace > now ?
				      from + grace - now : 0) + 1);
}

static void ph_grace_expired(struct timer_list *t)
{
	struct ph_event ev = { .cmd = PERSOHUB_CMD_CTRL_CHANGED, .result = 0 };
	struct ph_request *oldest;
	unsigned long flags;
	u64 now, grace;

	spin_lock_irqsave(&ph_hub.lock, flags);
	/*
	 * With no server idle that serves a waiting request's class, the
	 * next one to become idle re-arms: a server of another class is no
	 * reason to take control back.
	 */
	if (!ph_hub.ctrl || ph_hub.ctrl_stalled ||
	    list_empty(&ph_hub.waiting) || !ph_hub_can_match())
		goto out;
	oldest = list_first_entry(&ph_hub.waiting, struct ph_request,
				  wait_node);
	now = ktime_get_ns();
	grace = (u64)ph_ctrl_grace_ms * NSEC_PER_MSEC;
	if (now - oldest->rx_ns < grace || now - ph_hub.ctrl_heard_ns < grace) {
		ph_grace_arm();
		goto out;
	}
	ph_hub.ctrl_stalled = true;
	pr_warn_ratelimited("controller silent for %u ms: the hub matches by itself\n",
			    ph_ctrl_grace_ms);
	ph_nl_event(&ev);
	ph_hub_match();
out:
	spin_unlock_irqrestore(&ph_hub.lock, flags);
}

/* The controller was heard from: it decides (again). Hub lock held. */
static void ph_ctrl_heard(void)
{
	struct ph_event ev = { .cmd = PERSOHUB_CMD_CTRL_CHANGED, .result = 1 };

	ph_hub.ctrl_heard_ns = ktime_get_ns();
	if (ph_hub.ctrl_stalled) {
		ph_hub.ctrl_stalled = false;
		pr_info_ratelimited("controller back\n");
		ph_nl_event(&ev);
		ph_grace_arm();
	}
}

/* A command from @portid: -ENOENT if it is not the controller. */
int ph_hub_ctrl_alive(u32 portid)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&ph_hub.lock, flags);
	if (!ph_hub.ctrl || ph_hub.ctrl_portid != portid)
		ret = -ENOENT;
	else
		ph_ctrl_heard();
	spin_unlock_irqrestore(&ph_hub.lock, flags);
	return ret;
}

int ph_hub_attach(u32 portid)
{
	int ret = 0;

	spin_lock_irq(&ph_hub.lock);
	if (ph_hub.ctrl && ph_hub.ctrl_portid != portid) {
		ret = -EBUSY;
	} else if (!ph_hub.ctrl) {
		ph_hub.ctrl = true;
		ph_hub.ctrl_stalled = false;
		ph_hub.ctrl_portid = portid;
		ph_hub.ctrl_heard_ns = ktime_get_ns();
	}
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

/* Detach @portid (or whoever is attached, with @force). */
int ph_hub_detach(u32 portid, bool force)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&ph_hub.lock, flags);
	if (!ph_hub.ctrl || (!force && ph_hub.ctrl_portid != portid)) {
		ret = -ENOENT;
	} else {
		ph_hub.ctrl = false;
		ph_hub.ctrl_stalled = false;
		ph_hub.ctrl_portid = 0;
		/* The kernel matches again, at once. */
		ph_hub_match();
	}
	spin_unlock_irqrestore(&ph_hub.lock, flags);
	return ret;
}

int ph_hub_dispatch(u32 portid, u64 req_id, u32 server_id)
{
	struct ph_request *req, *found = NULL;
	struct ph_port *srv;
	int ret = 0;

	spin_lock_irq(&ph_hub.lock);
	if (!ph_hub.ctrl || ph_hub.ctrl_portid != portid) {
		ret = -EPERM;
		goto out;
	}
	/* Any dispatch, even a refused one, says the controller is alive. */
	ph_ctrl_heard();
	srv = ph_port_find_id(server_id);
	if (!srv || srv->role != PH_ROLE_SERVER || srv->dead) {
		ret = -ENODEV;
		goto out;
	}
	list_for_each_entry(req, &ph_hub.waiting, wait_node) {
		if (req->id == req_id) {
			found = req;
			break;
		}
	}
	if (!found)
		ret = -ENOENT;
	else if (srv->state == PH_STATE_BUSY)
		ret = -EBUSY;
	else if (srv->state == PH_STATE_FAILED)
		ret = -EIO;
	else if (!srv->enabled)
		ret = -EHOSTDOWN;
	else if (!(srv->classes & BIT_ULL(found->klass)))
		ret = -EXDEV;
	else
		ret = ph_dispatch(found, srv);
out:
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

void ph_ctrl_init(void)
{
	timer_setup(&ph_hub.grace_timer, ph_grace_expired, 0);
}

void ph_ctrl_exit(void)
{
	timer_shutdown_sync(&ph_hub.grace_timer);
}
