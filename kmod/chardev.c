// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/persohub/<station>: one character device per station, through which
 * userspace servers take the requests dispatched to them and answer.
 * /dev/persohub-server/<server>: one per userspace server, the same
 * messages, but only the request dispatched to that server: a process
 * serving some userspace servers never takes another's requests.
 *
 * /dev/persohub-remote/<station>: one per remote station, where a process
 * writes requests in and reads them back once ended.
 *
 * A device outlives its station while files are open on it: the station
 * pointer is cleared (under ph_hub.lock) when the station goes, and every
 * later call on those files fails with -ENODEV.
 */

#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "persohub.h"

#define PH_MINORS	256
#define PH_MSG_MAX	(sizeof(struct persohub_msg) + PH_PAYLOAD_MAX)

struct ph_station_dev {
	struct device dev;
	struct cdev cdev;
	struct ph_port *port;		/* NULL once the station is gone */
	wait_queue_head_t wq;
};

static dev_t ph_devt;
static struct class *ph_station_class;
static struct class *ph_server_class;
static struct class *ph_remote_class;
static DEFINE_IDA(ph_minor_ida);

/*
 * The first request on @port's device not yet taken by a reader: of a
 * station, any dispatched to a userspace server; of a userspace server,
 * the one it is busy with.
 */
static struct ph_request *ph_next_unread(struct ph_port *port)
{
	struct ph_request *req;

	if (port->user) {
		req = port->cur;
		if (port->state == PH_STATE_BUSY && req && !req->holder &&
		    !list_empty(&req->user_node))
			return req;
		return NULL;
	}
	list_for_each_entry(req, &port->user_reqs, user_node)
		if (!req->holder)
			return req;
	return NULL;
}

static bool ph_sdev_readable(struct ph_station_dev *sdev, bool *gone)
{
	bool ret;

	spin_lock_irq(&ph_hub.lock);
	*gone = !sdev->port;
	ret = *gone || ph_next_unread(sdev->port);
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

static int ph_sdev_open(struct inode *inode, struct file *file)
{
	struct ph_station_dev *sdev;

	sdev = container_of(inode->i_cdev, struct ph_station_dev, cdev);
	get_device(&sdev->dev);
	file->private_data = sdev;
	return nonseekable_open(inode, file);
}

static int ph_sdev_release(struct inode *inode, struct file *file)
{
	struct ph_station_dev *sdev = file->private_data;

	/* The station cannot go: its removal waits for cfg_lock. */
	mutex_lock(&ph_hub.cfg_lock);
	if (READ_ONCE(sdev->port))
		ph_user_release(sdev->port, file);
	mutex_unlock(&ph_hub.cfg_lock);
	put_device(&sdev->dev);
	return 0;
}

static ssize_t ph_sdev_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos)
{
	struct ph_station_dev *sdev = file->private_data;
	struct persohub_msg *msg;
	struct ph_request *req;
	size_t size = 0;
	u64 id = 0;
	bool gone;
	int ret;

	msg = kmalloc(PH_MSG_MAX, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	for (;;) {
		spin_lock_irq(&ph_hub.lock);
		ret = -ENODEV;
		if (!sdev->port)
			goto out_unlock;
		req = ph_next_unread(sdev->port);
		if (req) {
			size = sizeof(*msg) + req->len;
			ret = -EMSGSIZE;
			if (count < size)
				goto out_unlock;
			msg->req_id = req->id;
			msg->server_id = req->server_id;
			msg->len = req->len;
			msg->class_id = req->klass;
			msg->priority = req->priority;
			msg->op = 0;
			msg->status = 0;
			memcpy(msg + 1, req->txb.data, req->len);
			req->holder = file;
			id = req->id;
			spin_unlock_irq(&ph_hub.lock);
			break;
		}
		spin_unlock_irq(&ph_hub.lock);
		ret = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			goto out;
		ret = wait_event_interruptible(sdev->wq,
					       ph_sdev_readable(sdev, &gone));
		if (ret)
			goto out;
	}

	ret = size;
	if (copy_to_user(buf, msg, size)) {
		/* Give it back for another read. */
		spin_lock_irq(&ph_hub.lock);
		if (sdev->port) {
			req = ph_user_find(sdev->port, id);
			if (req && req->holder == file)
				req->holder = NULL;
		}
		spin_unlock_irq(&ph_hub.lock);
		ret = -EFAULT;
	}
	goto out;

out_unlock:
	spin_unlock_irq(&ph_hub.lock);
out:
	kfree_sensitive(msg);
	return ret;
}

static ssize_t ph_sdev_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct ph_station_dev *sdev = file->private_data;
	struct persohub_msg *msg;
	int ret;

	if (count < sizeof(*msg) || count > PH_MSG_MAX)
		return -EINVAL;
	msg = memdup_user(buf, count);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	ret = -EINVAL;
	if (msg->len != count - sizeof(*msg) ||
	    msg->op >= __PERSOHUB_MSG_OP_MAX ||
	    (msg->op != PERSOHUB_MSG_ANSWER && msg->len))
		goto out;
	mutex_lock(&ph_hub.cfg_lock);
	if (READ_ONCE(sdev->port))
		ret = ph_user_response(sdev->port, file, msg->req_id, msg->op,
				       (const u8 *)(msg + 1), msg->len);
	else
		ret = -ENODEV;
	mutex_unlock(&ph_hub.cfg_lock);
out:
	kfree_sensitive(msg);
	return ret ? ret : count;
}

static __poll_t ph_sdev_poll(struct file *file, poll_table *wait)
{
	struct ph_station_dev *sdev = file->private_data;
	__poll_t mask = 0;
	bool gone;

	poll_wait(file, &sdev->wq, wait);
	if (ph_sdev_readable(sdev, &gone))
		mask |= gone ? EPOLLHUP | EPOLLERR : EPOLLIN | EPOLLRDNORM;
	if (!gone)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static const struct file_operations ph_sdev_fops = {
	.owner = THIS_MODULE,
	.open = ph_sdev_open,
	.release = ph_sdev_release,
	.read = ph_sdev_read,
	.write = ph_sdev_write,
	.poll = ph_sdev_poll,
};

/* Remote stations' devices. Hub lock held. */
static bool ph_rdev_readable_locked(struct ph_station_dev *sdev)
{
	return !sdev->port || sdev->port->ndone;
}

static bool ph_rdev_readable(struct ph_station_dev *sdev)
{
	bool ret;

	spin_lock_irq(&ph_hub.lock);
	ret = ph_rdev_readable_locked(sdev);
	spin_unlock_irq(&ph_hub.lock);
	return ret;
}

/* Can a request be written now? Hub lock held. */
static bool ph_rdev_writable(struct ph_station_dev *sdev)
{
	struct ph_port *st = sdev->port;

	return st && st->backlog + st->ndone < st->queue_depth;
}

/* Read back the oldest ended request: its tag, outcome and answer. */
static ssize_t ph_rdev_read(struct file *file, char __user *buf, size_t count,
			    loff_t *ppos)
{
	struct ph_station_dev *sdev = file->private_data;
	struct ph_request *req = NULL;
	struct persohub_msg *msg;
	struct ph_port *st;
	size_t size = 0, len;
	int ret;

	msg = kmalloc(PH_MSG_MAX, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	for (;;) {
		spin_lock_irq(&ph_hub.lock);
		st = sdev->port;
		ret = -ENODEV;
		if (!st)
			goto out_unlock;
		req = list_first_entry_or_null(&st->done, struct ph_request,
					       station_node);
		if (req)
			break;
		spin_unlock_irq(&ph_hub.lock);
		ret = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			goto out;
		ret = wait_event_interruptible(sdev->wq,
					       ph_rdev_readable(sdev));
		if (ret)
			goto out;
	}
	len = req->resp ? req->resp->len : 0;
	size = sizeof(*msg) + len;
	ret = -EMSGSIZE;
	if (count < size) {
		req = NULL;
		goto out_unlock;
	}
	msg->req_id = req->tag;
	msg->server_id = req->status == 0 || req->status == EREMOTEIO ?
			 req->server_id : 0;
	msg->len = len;
	msg->class_id = req->klass;
	msg->priority = req->priority;
	msg->op = 0;
	msg->status = req->status;
	if (len)
		memcpy(msg + 1, req->resp->payload, len);
	list_del(&req->station_node);
	st->ndone--;
	spin_unlock_irq(&ph_hub.lock);
	/* Room for one more request. */
	wake_up_interruptible(&sdev->wq);

	ret = size;
	if (copy_to_user(buf, msg, size)) {
		/* Back at the head, for another read. */
		spin_lock_irq(&ph_hub.lock);
		st = sdev->port;
		if (st) {
			list_add(&req->station_node, &st->done);
			st->ndone++;
			req = NULL;
		}
		spin_unlock_irq(&ph_hub.lock);
		ret = -EFAULT;
	}
	if (req)
		ph_request_free(req);
	goto out;

out_unlock:
	spin_unlock_irq(&ph_hub.lock);
out:
	kfree_sensitive(msg);
	return ret;
}

/* Hand one request in, tagged, with its class, priority and payload. */
static ssize_t ph_rdev_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct ph_station_dev *sdev = file->private_data;
	struct ph_request *req = NULL;
	struct persohub_msg *msg;
	int ret;

	if (count <= sizeof(*msg) || count > PH_MSG_MAX)
		return -EINVAL;
	msg = memdup_user(buf, count);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	ret = -EINVAL;
	if (msg->len != count - sizeof(*msg) || msg->op ||
	    msg->class_id > PERSOHUB_CLASS_MAX ||
	    msg->priority > PERSOHUB_PRIORITY_MAX)
		goto out;
	ret = -ENOMEM;
	req = ph_remote_alloc(msg->req_id, msg->class_id, msg->priority,
			      (const u8 *)(msg + 1), msg->len);
	if (!req)
		goto out;
	spin_lock_irq(&ph_hub.lock);
	ret = sdev->port ? ph_remote_submit(sdev->port, req) : -ENODEV;
	spin_unlock_irq(&ph_hub.lock);
	if (!ret)
		req = NULL;
out:
	if (req)
		ph_request_free(req);
	kfree_sensitive(msg);
	return ret ? ret : count;
}

static __poll_t ph_rdev_poll(struct file *file, poll_table *wait)
{
	struct ph_station_dev *sdev = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &sdev->wq, wait);
	spin_lock_irq(&ph_hub.lock);
	if (!sdev->port)
		mask = EPOLLHUP | EPOLLERR;
	else if (ph_rdev_readable_locked(sdev))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (ph_rdev_writable(sdev))
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock_irq(&ph_hub.lock);
	return mask;
}

/* Closing a remote station's device leaves its requests to the hub. */
static int ph_rdev_release(struct inode *inode, struct file *file)
{
	struct ph_station_dev *sdev = file->private_data;

	put_device(&sdev->dev);
	return 0;
}

static const struct file_operations ph_rdev_fops = {
	.owner = THIS_MODULE,
	.open = ph_sdev_open,
	.release = ph_rdev_release,
	.read = ph_rdev_read,
	.write = ph_rdev_write,
	.poll = ph_rdev_poll,
};

static void ph_sdev_free(struct device *dev)
{
	struct ph_station_dev *sdev = container_of(dev, struct ph_station_dev,
						   dev);

	ida_free(&ph_minor_ida, MINOR(dev->devt));
	kfree(sdev);
}

/*
 * Called with cfg_lock held, before @port becomes station @name, or
 * before userspace server @port named @name joins the hub.
 */
int ph_station_dev_create(struct ph_port *port, const char *name)
{
	struct ph_station_dev *sdev;
	int minor, ret;

	sdev = kzalloc(sizeof(*sdev), GFP_KERNEL);
	if (!sdev)
		return -ENOMEM;
	minor = ida_alloc_max(&ph_minor_ida, PH_MINORS - 1, GFP_KERNEL);
	if (minor < 0) {
		kfree(sdev);
		return minor;
	}
	init_waitqueue_head(&sdev->wq);
	device_initialize(&sdev->dev);
	sdev->dev.class = port->remote ? ph_remote_class :
			  port->user ? ph_server_class : ph_station_class;
	sdev->dev.parent = port->dev;
	sdev->dev.devt = MKDEV(MAJOR(ph_devt), minor);
	sdev->dev.release = ph_sdev_free;
	ret = dev_set_name(&sdev->dev, "%s", name);
	if (ret)
		goto err_put;
	cdev_init(&sdev->cdev, port->remote ? &ph_rdev_fops : &ph_sdev_fops);
	sdev->cdev.owner = THIS_MODULE;
	ret = cdev_device_add(&sdev->cdev, &sdev->dev);
	if (ret)
		goto err_put;

	spin_lock_irq(&ph_hub.lock);
	sdev->port = port;
	port->sdev = sdev;
	spin_unlock_irq(&ph_hub.lock);
	return 0;

err_put:
	put_device(&sdev->dev);
	return ret;
}

/*
 * Called with cfg_lock held, once @port is no station any more, or the
 * userspace server @port left the hub.
 */
void ph_station_dev_destroy(struct ph_port *port)
{
	struct ph_station_dev *sdev;

	spin_lock_irq(&ph_hub.lock);
	sdev = port->sdev;
	port->sdev = NULL;
	if (sdev)
		sdev->port = NULL;
	spin_unlock_irq(&ph_hub.lock);
	if (!sdev)
		return;
	wake_up_interruptible(&sdev->wq);
	cdev_device_del(&sdev->cdev, &sdev->dev);
	put_device(&sdev->dev);
}

/* A request became readable. Called under ph_hub.lock, any context. */
void ph_station_dev_wake(struct ph_port *port)
{
	if (port->sdev)
		wake_up_interruptible(&port->sdev->wq);
}

static char *ph_station_devnode(PH_DEVNODE_CONST struct device *dev,
				umode_t *mode)
{
	/* Root only unless the udev rule says otherwise. */
	if (mode)
		*mode = 0600;
	return kasprintf(GFP_KERNEL, "persohub/%s", dev_name(dev));
}

static char *ph_server_devnode(PH_DEVNODE_CONST struct device *dev,
			       umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return kasprintf(GFP_KERNEL, "persohub-server/%s", dev_name(dev));
}

static char *ph_remote_devnode(PH_DEVNODE_CONST struct device *dev,
			       umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return kasprintf(GFP_KERNEL, "persohub-remote/%s", dev_name(dev));
}

int ph_chardev_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&ph_devt, 0, PH_MINORS, "persohub");
	if (ret)
		return ret;
	ph_station_class = ph_class_create("persohub-station");
	if (IS_ERR(ph_station_class)) {
		ret = PTR_ERR(ph_station_class);
		goto err_region;
	}
	ph_station_class->devnode = ph_station_devnode;
	ph_server_class = ph_class_create("persohub-server");
	if (IS_ERR(ph_server_class)) {
		ret = PTR_ERR(ph_server_class);
		goto err_class;
	}
	ph_server_class->devnode = ph_server_devnode;
	ph_remote_class = ph_class_create("persohub-remote");
	if (IS_ERR(ph_remote_class)) {
		ret = PTR_ERR(ph_remote_class);
		goto err_server;
	}
	ph_remote_class->devnode = ph_remote_devnode;
	return 0;

err_server:
	class_destroy(ph_server_class);
err_class:
	class_destroy(ph_station_class);
err_region:
	unregister_chrdev_region(ph_devt, PH_MINORS);
	return ret;
}

void ph_chardev_exit(void)
{
	class_destroy(ph_remote_class);
	class_destroy(ph_server_class);
	class_destroy(ph_station_class);
	unregister_chrdev_region(ph_devt, PH_MINORS);
	ida_destroy(&ph_minor_ida);
}
