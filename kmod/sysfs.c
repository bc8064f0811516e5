// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/class/persohub/<card>-<port>/: one device per port, its settings
 * and a statistics/ group of counters.
 */

#include <linux/ctype.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "persohub.h"

static struct class *ph_class;

static struct ph_port *ph_to_port(struct device *dev)
{
	return dev_get_drvdata(dev);
}

static ssize_t role_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", ph_role_name(READ_ONCE(ph_to_port(dev)->role)));
}

static ssize_t role_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t len)
{
	enum ph_role role;
	int ret;

	if (sysfs_streq(buf, "off"))
		role = PH_ROLE_OFF;
	else if (sysfs_streq(buf, "station"))
		role = PH_ROLE_STATION;
	else if (sysfs_streq(buf, "server"))
		role = PH_ROLE_SERVER;
	else
		return -EINVAL;
	ret = ph_port_set_role(ph_to_port(dev), role);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(role);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct ph_port *port = ph_to_port(dev);
	const char *s = "-";

	spin_lock_irq(&ph_hub.lock);
	if (port->role == PH_ROLE_SERVER)
		s = ph_state_name(port->state);
	else if (port->role == PH_ROLE_STATION)
		s = port->backlog ? "busy" : "idle";
	spin_unlock_irq(&ph_hub.lock);
	return sysfs_emit(buf, "%s\n", s);
}

static ssize_t state_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t len)
{
	enum ph_state state;
	int ret;

	if (sysfs_streq(buf, "idle"))
		state = PH_STATE_IDLE;
	else if (sysfs_streq(buf, "failed"))
		state = PH_STATE_FAILED;
	else
		return -EINVAL;
	ret = ph_port_set_state(ph_to_port(dev), state);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(state);

static ssize_t name_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct ph_port *port = ph_to_port(dev);
	char name[PH_NAME_LEN];

	spin_lock_irq(&ph_hub.lock);
	strscpy(name, port->name, sizeof(name));
	spin_unlock_irq(&ph_hub.lock);
	return sysfs_emit(buf, "%s\n", name);
}

static ssize_t name_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t len)
{
	char name[PH_NAME_LEN];
	int ret;

	if (len >= sizeof(name))
		return -EINVAL;
	memcpy(name, buf, len);
	name[len] = '\0';
	strim(name);
	ret = ph_port_set_name(ph_to_port(dev), strim(name));
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(name);

static ssize_t card_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", pci_name(ph_to_port(dev)->card->pdev));
}
static DEVICE_ATTR_RO(card);

static ssize_t backend_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", ph_to_port(dev)->ops->name);
}
static DEVICE_ATTR_RO(backend);

static ssize_t tty_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%s\n", ph_tty_name(ph_to_port(dev)));
}
static DEVICE_ATTR_RO(tty);

static ssize_t port_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", ph_to_port(dev)->index);
}
static DEVICE_ATTR_RO(port);

static ssize_t id_show(struct device *dev, struct device_attribute *attr,
		       char *buf)
{
	return sysfs_emit(buf, "%u\n", ph_to_port(dev)->id);
}
static DEVICE_ATTR_RO(id);

/*
 * Numeric settings share one show and one store: the attribute knows where
 * its field is and which values it takes.
 */
struct ph_uint_attr {
	struct device_attribute attr;
	size_t offset;		/* in struct ph_port, or in its ph_line */
	u32 chg;		/* PH_CHG_* of a port setting */
	u32 lo, hi;
	bool line;		/* a line setting: validated by the UART code */
};

#define PH_UINT_ATTR(_f, _chg, _lo, _hi) {				\
	.attr = {							\
		.attr = { .name = #_f, .mode = 0644 },			\
		.show = ph_uint_show,					\
		.store = ph_uint_store,					\
	},								\
	.offset = offsetof(struct ph_port, _f),				\
	.chg = _chg, .lo = _lo, .hi = _hi,				\
}

#define PH_UINT_ATTR_NAMED(_name, _f, _chg, _lo, _hi) {		\
	.attr = {							\
		.attr = { .name = _name, .mode = 0644 },		\
		.show = ph_uint_show,					\
		.store = ph_uint_store,					\
	},								\
	.offset = offsetof(struct ph_port, _f),				\
	.chg = _chg, .lo = _lo, .hi = _hi,				\
}

#define PH_LINE_ATTR(_f) {						\
	.attr = {							\
		.attr = { .name = #_f, .mode = 0644 },			\
		.show = ph_uint_show,					\
		.store = ph_uint_store,					\
	},								\
	.offset = offsetof(struct ph_line, _f),				\
	.lo = 0, .hi = U32_MAX, .line = true,				\
}

static u32 *ph_uint_field(struct ph_port *port, struct ph_uint_attr *ua,
			  struct ph_line *line)
{
	return (u32 *)((u8 *)(ua->line ? line : (void *)port) + ua->offset);
}

static ssize_t ph_uint_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct ph_uint_attr *ua = container_of(attr, struct ph_uint_attr, attr);
	struct ph_port *port = ph_to_port(dev);

	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(*ph_uint_field(port, ua, &port->line)));
}

static ssize_t ph_uint_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t len)
{
	struct ph_uint_attr *ua = container_of(attr, struct ph_uint_attr, attr);
	struct ph_port *port = ph_to_port(dev);
	struct ph_port_change ch = { };
	u32 val;
	int ret;

	ret = kstrtou32(buf, 0, &val);
	if (ret)
		return ret;
	if (val < ua->lo || val > ua->hi)
		return -ERANGE;
	/* Under cfg_lock: the line copied is the line changed. */
	mutex_lock(&ph_hub.cfg_lock);
	if (ua->line) {
		ch.set = PH_CHG_LINE;
		ch.line = port->line;
		*ph_uint_field(port, ua, &ch.line) = val;
	} else {
		ch.set = ua->chg;
		ch.timeout_ms = val;
		ch.queue_depth = val;
		ch.settle_ms = val;
		ch.lrc = val;
		ch.gap_chars = val;
		ch.enabled = val;
		ch.klass = val;
		ch.priority = val;
	}
	ret = ph_port_change(port, &ch);
	mutex_unlock(&ph_hub.cfg_lock);
	return ret ? ret : len;
}

static struct ph_uint_attr ph_uint_attrs[] = {
	PH_LINE_ATTR(baud),
	PH_LINE_ATTR(data_bits),
	PH_LINE_ATTR(stop_bits),
	PH_UINT_ATTR(queue_depth, PH_CHG_QUEUE_DEPTH, 1, PH_QUEUE_DEPTH_MAX),
	PH_UINT_ATTR(timeout_ms, PH_CHG_TIMEOUT, 1, 600000),
	PH_UINT_ATTR(settle_ms, PH_CHG_SETTLE, 0, 10000),
	PH_UINT_ATTR(lrc, PH_CHG_LRC, 0, 1),
	PH_UINT_ATTR(gap_chars, PH_CHG_GAP, 1, PH_GAP_CHARS_MAX),
	PH_UINT_ATTR_NAMED("class", klass, PH_CHG_CLASS, 0, PERSOHUB_CLASS_MAX),
	PH_UINT_ATTR(priority, PH_CHG_PRIORITY, 0, PERSOHUB_PRIORITY_MAX),
};

/* The classes a server serves, as a list: "0,3-5". */
static ssize_t classes_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	unsigned long mask = READ_ONCE(ph_to_port(dev)->classes);

	return sysfs_emit(buf, "%*pbl\n", PH_CLASSES, &mask);
}

static ssize_t classes_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t len)
{
	struct ph_port_change ch = { .set = PH_CHG_CLASSES };
	unsigned long mask = 0;
	int ret;

	ret = bitmap_parselist(buf, &mask, PH_CLASSES);
	if (ret)
		return ret;
	if (!mask)
		return -EINVAL;
	ch.classes = mask;
	ret = ph_port_change_locked(ph_to_port(dev), &ch);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(classes);

/*
 * A station's classifier: "OFFSET LEN VALUE=CLASS...", each VALUE LEN
 * bytes in hex ("4 2 4131=1 4133=2": payShield's A1 and A3 after a 4-byte
 * header); empty when it has none, and "none" removes it.
 */
static ssize_t classifier_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct persohub_classifier cl;
	struct ph_port *port = ph_to_port(dev);
	unsigned int i, n;

	spin_lock_irq(&port->lock);
	cl = port->classifier;
	spin_unlock_irq(&port->lock);
	if (!cl.nrules)
		return sysfs_emit(buf, "\n");
	n = sysfs_emit(buf, "%u %u", cl.offset, cl.len);
	for (i = 0; i < cl.nrules; i++)
		n += sysfs_emit_at(buf, n, " %*phN=%u", cl.len,
				   cl.rules[i].value, cl.rules[i].class_id);
	return n + sysfs_emit_at(buf, n, "\n");
}

static int ph_classifier_parse(const char *buf,
			       struct persohub_classifier *cl)
{
	char word[32];
	unsigned int off, len, klass;
	char *eq;
	int used;

	memset(cl, 0, sizeof(*cl));
	if (sysfs_streq(buf, "none") || sysfs_streq(buf, ""))
		return 0;
	if (sscanf(buf, "%u %u%n", &off, &len, &used) != 2 ||
	    len < 1 || len > PERSOHUB_CLASSIFIER_VALUE || off > PH_PAYLOAD_MAX)
		return -EINVAL;
	cl->offset = off;
	cl->len = len;
	buf += used;
	while (sscanf(buf, "%31s%n", word, &used) == 1) {
		buf += used;
		eq = strchr(word, '=');
		if (!eq || cl->nrules == PERSOHUB_CLASSIFIER_RULES ||
		    eq - word != 2 * len)
			return -EINVAL;
		*eq = '\0';
		if (hex2bin(cl->rules[cl->nrules].value, word, len) ||
		    kstrtouint(eq + 1, 10, &klass) ||
		    klass > PERSOHUB_CLASS_MAX)
			return -EINVAL;
		cl->rules[cl->nrules++].class_id = klass;
	}
	return ph_classifier_valid(cl) ? 0 : -EINVAL;
}

static ssize_t classifier_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t len)
{
	struct ph_port_change ch = { .set = PH_CHG_CLASSIFIER };
	int ret;

	ret = ph_classifier_parse(buf, &ch.classifier);
	if (ret)
		return ret;
	ret = ph_port_change_locked(ph_to_port(dev), &ch);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(classifier);

static ssize_t enabled_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(ph_to_port(dev)->enabled));
}

static ssize_t enabled_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t len)
{
	struct ph_port_change ch = { .set = PH_CHG_ENABLED };
	bool on;
	int ret;

	ret = kstrtobool(buf, &on);
	if (ret)
		return ret;
	ch.enabled = on;
	ret = ph_port_change_locked(ph_to_port(dev), &ch);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(enabled);

static const char * const ph_parity_names[] = {
	"none", "odd", "even", "mark", "space",
};

static ssize_t parity_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	char p = READ_ONCE(ph_to_port(dev)->line.parity);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ph_parity_names); i++)
		if (ph_parity_names[i][0] == p)
			return sysfs_emit(buf, "%s\n", ph_parity_names[i]);
	return -EIO;
}

static ssize_t parity_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t len)
{
	int i = sysfs_match_string(ph_parity_names, buf);
	struct ph_port_change ch = { .set = PH_CHG_LINE };
	struct ph_port *port = ph_to_port(dev);
	int ret;

	if (i < 0)
		return i;
	mutex_lock(&ph_hub.cfg_lock);
	ch.line = port->line;
	ch.line.parity = ph_parity_names[i][0];
	ret = ph_port_change(port, &ch);
	mutex_unlock(&ph_hub.cfg_lock);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(parity);

static ssize_t max_payload_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(ph_to_port(dev)->max_payload));
}

static ssize_t max_payload_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t len)
{
	unsigned int val;
	int ret = kstrtouint(buf, 0, &val);

	if (ret)
		return ret;
	ret = ph_port_set_max_payload(ph_to_port(dev), val);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(max_payload);

static ssize_t framing_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  ph_framing_name(READ_ONCE(ph_to_port(dev)->framing)));
}

static ssize_t framing_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t len)
{
	struct ph_port_change ch = { .set = PH_CHG_FRAMING };
	char name[16];
	int ret;

	if (strscpy(name, buf, sizeof(name)) < 0)
		return -EINVAL;
	ret = ph_framing_parse(strim(name));
	if (ret < 0)
		return ret;
	ch.framing = ret;
	ret = ph_port_change_locked(ph_to_port(dev), &ch);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(framing);

/* The error answer of a station, in hex; empty for the empty payload. */
static ssize_t error_frame_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	struct ph_port *port = ph_to_port(dev);
	u8 frame[PH_ERROR_FRAME_MAX];
	unsigned int len;

	mutex_lock(&ph_hub.cfg_lock);
	len = port->error_len;
	memcpy(frame, port->error_frame, len);
	mutex_unlock(&ph_hub.cfg_lock);
	return sysfs_emit(buf, "%*phN\n", len, frame);
}

static ssize_t error_frame_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t len)
{
	struct ph_port_change ch = { .set = PH_CHG_ERROR_FRAME };
	size_t n = len;
	int ret;

	while (n && isspace(buf[n - 1]))
		n--;
	if (n % 2 || n / 2 > PH_ERROR_FRAME_MAX)
		return -EINVAL;
	ret = hex2bin(ch.error_frame, buf, n / 2);
	if (ret)
		return ret;
	ch.error_len = n / 2;
	ret = ph_port_change_locked(ph_to_port(dev), &ch);
	return ret ? ret : len;
}
static DEVICE_ATTR_RW(error_frame);

static struct attribute *ph_port_attrs[] = {
	&dev_attr_role.attr,
	&dev_attr_state.attr,
	&dev_attr_name.attr,
	&dev_attr_backend.attr,
	&dev_attr_card.attr,
	&dev_attr_port.attr,
	&dev_attr_tty.attr,
	&dev_attr_id.attr,
	&dev_attr_parity.attr,
	&dev_attr_max_payload.attr,
	&ph_uint_attrs[0].attr.attr,
	&ph_uint_attrs[1].attr.attr,
	&ph_uint_attrs[2].attr.attr,
	&ph_uint_attrs[3].attr.attr,
	&ph_uint_attrs[4].attr.attr,
	&ph_uint_attrs[5].attr.attr,
	&ph_uint_attrs[6].attr.attr,
	&ph_uint_attrs[7].attr.attr,
	&ph_uint_attrs[8].attr.attr,
	&ph_uint_attrs[9].attr.attr,
	&dev_attr_classes.attr,
	&dev_attr_classifier.attr,
	&dev_attr_framing.attr,
	&dev_attr_error_frame.attr,
	&dev_attr_enabled.attr,
	NULL,
};

/* card and port on card ports, tty on tty ports; the rest on all. */
static umode_t ph_port_attr_visible(struct kobject *kobj,
				    struct attribute *attr, int n)
{
	struct ph_port *port = ph_to_port(kobj_to_dev(kobj));

	if (attr == &dev_attr_card.attr || attr == &dev_attr_port.attr)
		return port->ops == &ph_uart_ops ? attr->mode : 0;
	if (attr == &dev_attr_tty.attr)
		return port->ops == &ph_tty_ops ? attr->mode : 0;
	return attr->mode;
}

static const struct attribute_group ph_port_group = {
	.attrs = ph_port_attrs,
	.is_visible = ph_port_attr_visible,
};

/* Counters: one show for all, named and placed by ph_stat_descs. */
struct ph_stat_attr {
	struct device_attribute attr;
	size_t offset;		/* in struct ph_port_stats */
};

static ssize_t ph_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct ph_stat_attr *sa = container_of(attr, struct ph_stat_attr, attr);
	struct ph_port *port = ph_to_port(dev);
	u64 v;

	spin_lock_irq(&ph_hub.lock);
	spin_lock(&port->lock);
	v = *(u64 *)((u8 *)&port->stats + sa->offset);
	spin_unlock(&port->lock);
	spin_unlock_irq(&ph_hub.lock);
	return sysfs_emit(buf, "%llu\n", v);
}

static struct ph_stat_attr ph_stat_attrs[__PERSOHUB_STAT_MAX - 1];
static struct attribute *ph_stat_attr_list[ARRAY_SIZE(ph_stat_attrs) + 1];

static const struct attribute_group ph_stat_group = {
	.name = "statistics",
	.attrs = ph_stat_attr_list,
};

/* A remote station's counters, on its device (chardev.c). */
const struct attribute_group *ph_stat_groups[] = {
	&ph_stat_group,
	NULL,
};

static const struct attribute_group *ph_port_groups[] = {
	&ph_port_group,
	&ph_stat_group,
	NULL,
};

/* /sys/class/persohub/@devname, under @parent (its card) if any. */
int ph_port_register(struct ph_port *port, struct device *parent,
		     const char *devname)
{
	struct device *dev;

	dev = device_create_with_groups(ph_class, parent, MKDEV(0, 0), port,
					ph_port_groups, "%s", devname);
	if (IS_ERR(dev))
		return PTR_ERR(dev);
	port->dev = dev;
	return 0;
}

void ph_port_unregister(struct ph_port *port)
{
	device_unregister(port->dev);
	port->dev = NULL;
}

/*
 * /sys/class/persohub/attach and detach: a tty's name as /dev has it
 * (ttyUSB0, ttyS4), one per write. Root only (0200).
 */
static int ph_tty_name_arg(const char *buf, size_t len, char *name,
			   size_t size)
{
	if (len >= size)
		return -EINVAL;
	memcpy(name, buf, len);
	name[len] = '\0';
	strim(name);
	return *name ? 0 : -EINVAL;
}

/* @op on the tty named in @buf: attach (>= 0 is a port id) or detach. */
static ssize_t ph_tty_store(const char *buf, size_t len,
			    int (*op)(const char *name))
{
	char name[PH_NAME_LEN];
	int ret;

	ret = ph_tty_name_arg(buf, len, name, sizeof(name));
	if (!ret)
		ret = op(strim(name));
	return ret < 0 ? ret : len;
}

static ssize_t attach_store(PH_CLASS_CONST struct class *class,
			    PH_CLASS_CONST struct class_attribute *attr,
			    const char *buf, size_t len)
{
	return ph_tty_store(buf, len, ph_tty_attach);
}
static CLASS_ATTR_WO(attach);

static ssize_t detach_store(PH_CLASS_CONST struct class *class,
			    PH_CLASS_CONST struct class_attribute *attr,
			    const char *buf, size_t len)
{
	return ph_tty_store(buf, len, ph_tty_detach);
}
static CLASS_ATTR_WO(detach);

int ph_sysfs_init(void)
{
	struct ph_stat_attr *sa;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(ph_stat_attrs); i++) {
		sa = &ph_stat_attrs[i];
		sysfs_attr_init(&sa->attr.attr);
		sa->attr.attr.name = ph_stat_descs[i + 1].name;
		sa->attr.attr.mode = 0444;
		sa->attr.show = ph_stat_show;
		sa->offset = ph_stat_descs[i + 1].offset;
		ph_stat_attr_list[i] = &sa->attr.attr;
	}
	ph_class = ph_class_create("persohub");
	if (IS_ERR(ph_class))
		return PTR_ERR(ph_class);
	ret = class_create_file(ph_class, &class_attr_attach);
	if (!ret)
		ret = class_create_file(ph_class, &class_attr_detach);
	if (ret) {
		class_destroy(ph_class);
		return ret;
	}
	return 0;
}

void ph_sysfs_exit(void)
{
	class_destroy(ph_class);
}
