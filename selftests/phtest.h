/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the tests that run inside the test machine: the port devices
 * in sysfs, and the site simulator on the host side of the serial links.
 *
 * The simulator is driven through the directory the VM runner shares with
 * the guest (/host): the guest writes the simulator's arguments to
 * /host/req.TAG, the host agent (selftests/simd.sh) runs build/sitesim with
 * them and writes /host/res.TAG.kv (its report, "key value" lines), its exit
 * status to /host/res.TAG.rc and its output to /host/res.TAG.log, then creates
 * /host/done.TAG. Ports are named as the runner names their sockets: cCpP is
 * port P of the C-th card in PCI address order; tCpP and uN are ports of the
 * kernel's own drivers (a tty card's port, a USB adapter) attached as ttys.
 */
#ifndef PHTEST_H
#define PHTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PH_SYSFS	"/sys/class/persohub"
#define PH_SHARE	"/host"
#define PH_MAX_CARDS	16

/*
 * Every time limit of the tests is multiplied by PH_TIMEOUT_SCALE (a whole
 * number, default 1): on the debug kernel of make check-debug (KASAN,
 * lockdep, kmemleak...) the guest runs several times slower. The runner
 * sets it from the kernel command line (ph_timeout_scale=, scripts/guest-init).
 */
static inline int ph_timeout_scale(void)
{
	const char *s = getenv("PH_TIMEOUT_SCALE");
	int v = s ? atoi(s) : 1;

	return v >= 1 && v <= 100 ? v : 1;
}

#ifdef TEST_HARNESS_MAIN
/*
 * The harness kills a test that runs past its timeout (30 s unless the test
 * says otherwise): scale those too, before the first test runs. The macro
 * wraps the harness's own test_harness_run(), which TEST_HARNESS_MAIN calls;
 * inside it the name is not expanded again.
 */
static inline void ph_scale_test_timeouts(void)
{
	int scale = ph_timeout_scale();
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= scale;
}

#define test_harness_run(argc, argv) \
	(ph_scale_test_timeouts(), test_harness_run(argc, argv))
#endif

/* PCI addresses of the cards persohub drives, sorted. */
static inline int ph_cards(char addrs[][16], int max)
{
	struct dirent *de;
	int n = 0, i, j;
	DIR *d;

	d = opendir(PH_SYSFS);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char a[16];
		size_t l = strlen(de->d_name);

		if (l < 3 || de->d_name[l - 2] != '-' || l - 2 >= sizeof(a))
			continue;
		memcpy(a, de->d_name, l - 2);
		a[l - 2] = '\0';
		for (i = 0; i < n; i++)
			if (!strcmp(addrs[i], a))
				break;
		if (i == n && n < max)
			strcpy(addrs[n++], a);
	}
	closedir(d);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(addrs[j], addrs[i]) < 0) {
				char t[16];

				strcpy(t, addrs[i]);
				strcpy(addrs[i], addrs[j]);
				strcpy(addrs[j], t);
			}
	return n;
}

/*
 * A port the kernel's own drivers own, tCpP (tty card) or uN (USB serial
 * adapter), attached to persohub as its tty: "t0p1" -> "/sys/class/persohub/
 * ttyS9". The tty comes from vm-ttys (scripts/vm-ttys) and is kept, as
 * that runs a shell; it is looked up again once the port is gone (an
 * adapter plugged back in may have another ttyUSB).
 */
static inline const char *ph_tty_port_dir(const char *name)
{
	static struct { char name[16]; char dir[64]; } cache[32];
	char cmd[64], tty[32];
	unsigned int i, free_slot = 32;
	FILE *f;

	for (i = 0; i < 32; i++) {
		if (!cache[i].name[0]) {
			free_slot = free_slot < 32 ? free_slot : i;
			continue;
		}
		if (strcmp(cache[i].name, name))
			continue;
		if (!access(cache[i].dir, F_OK))
			return cache[i].dir;
		cache[i].name[0] = '\0';
		free_slot = i;
		break;
	}
	if (free_slot == 32 || strlen(name) >= sizeof(cache[0].name) ||
	    strspn(name, "tpu0123456789") != strlen(name))
		return NULL;
	snprintf(cmd, sizeof(cmd), "vm-ttys %s 2>/dev/null", name);
	f = popen(cmd, "r");
	if (!f)
		return NULL;
	if (!fgets(tty, sizeof(tty), f))
		tty[0] = '\0';
	pclose(f);
	tty[strcspn(tty, "\n")] = '\0';
	if (!tty[0])
		return NULL;
	snprintf(cache[free_slot].dir, sizeof(cache[0].dir), PH_SYSFS "/%s", tty);
	if (access(cache[free_slot].dir, F_OK))
		return NULL;
	strcpy(cache[free_slot].name, name);
	return cache[free_slot].dir;
}

/*
 * "c1p2" -> "/sys/class/persohub/0000:00:03.0-2"; tCpP and uN as
 * ph_tty_port_dir(); NULL if no such port.
 */
static inline const char *ph_port_dir(const char *name)
{
	static char paths[8][128];
	static int slot;
	char addrs[PH_MAX_CARDS][16];
	int c, p, n;
	char *buf;

	if (name[0] == 't' || name[0] == 'u')
		return ph_tty_port_dir(name);
	if (sscanf(name, "c%dp%d", &c, &p) != 2)
		return NULL;
	n = ph_cards(addrs, PH_MAX_CARDS);
	if (c < 0 || c >= n)
		return NULL;
	buf = paths[slot++ % 8];
	snprintf(buf, sizeof(paths[0]), PH_SYSFS "/%s-%d", addrs[c], p);
	return access(buf, F_OK) ? NULL : buf;
}

/*
 * Attach the tty of port @name (tCpP, uN) to persohub, waiting up to @secs
 * seconds for it to exist (an adapter being plugged in): 0 (also when it
 * is attached already) or -errno.
 */
static inline int ph_tty_attach(const char *name, int secs)
{
	char cmd[64], tty[32];
	ssize_t n;
	FILE *f;
	int fd;

	if (ph_port_dir(name))
		return 0;
	if (strspn(name, "tpu0123456789") != strlen(name))
		return -EINVAL;
	snprintf(cmd, sizeof(cmd), "vm-ttys -w %d %s 2>/dev/null",
		 secs * ph_timeout_scale(), name);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	if (!fgets(tty, sizeof(tty), f))
		tty[0] = '\0';
	pclose(f);
	tty[strcspn(tty, "\n")] = '\0';
	if (!tty[0])
		return -ENODEV;
	fd = open(PH_SYSFS "/attach", O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, tty, strlen(tty));
	if (n < 0 && errno != EEXIST) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return ph_port_dir(name) ? 0 : -ENODEV;
}

static inline int ph_attr_path(char *buf, size_t sz, const char *port,
			       const char *attr)
{
	const char *dir = ph_port_dir(port);

	if (!dir)
		return -ENODEV;
	snprintf(buf, sz, "%s/%s", dir, attr);
	return 0;
}

/* Write @val to a port attribute: 0 or -errno of the write. */
static inline int ph_set(const char *port, const char *attr, const char *val)
{
	char path[256];
	ssize_t n;
	int fd, err;

	err = ph_attr_path(path, sizeof(path), port, attr);
	if (err)
		return err;
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Read a port attribute into @buf, newline stripped: 0 or -errno. */
static inline int ph_get(const char *port, const char *attr, char *buf,
			 size_t sz)
{
	char path[256];
	ssize_t n;
	int fd, err;

	err = ph_attr_path(path, sizeof(path), port, attr);
	if (err)
		return err;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (n < 0)
		return err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A counter or numeric attribute; -1 when it cannot be read. */
static inline long long ph_num(const char *port, const char *attr)
{
	char buf[64];

	if (ph_get(port, attr, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 0);
}

static inline long long ph_stat(const char *port, const char *counter)
{
	char attr[96];

	snprintf(attr, sizeof(attr), "statistics/%s", counter);
	return ph_num(port, attr);
}

/* Sum of a counter over a comma list of ports ("c0p0,c0p1"). */
static inline long long ph_stat_sum(const char *ports, const char *counter)
{
	char list[256], *save = NULL, *p;
	long long sum = 0, v;

	snprintf(list, sizeof(list), "%s", ports);
	for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		v = ph_stat(p, counter);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

/* Set the role of every port in a comma list; 0 or the first -errno. */
static inline int ph_roles(const char *ports, const char *role)
{
	char list[256], *save = NULL, *p;
	int err;

	snprintf(list, sizeof(list), "%s", ports);
	for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		err = ph_set(p, "role", role);
		if (err)
			return err;
	}
	return 0;
}

static inline void ph_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The simulator's last report, "key value" per line. */
struct sim_result {
	int rc;
	char kv[16384];
};

/* Ask the host to start the simulator with @fmt arguments: its ticket. */
static inline int sim_start(const char *fmt, ...)
{
	static int seq;
	char path[128], tmp[128], args[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);

	seq++;
	snprintf(tmp, sizeof(tmp), PH_SHARE "/.req.%d", getpid() * 1000 + seq);
	snprintf(path, sizeof(path), PH_SHARE "/req.%d", getpid() * 1000 + seq);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", args);
	fclose(f);
	if (rename(tmp, path))
		return -1;
	return getpid() * 1000 + seq;
}

/* Open the station device of port @port ("c0p1"): a file descriptor, or -1. */
static inline int ph_open_station(const char *port, int flags)
{
	char name[32], path[64];

	if (ph_get(port, "name", name, sizeof(name)))
		return -1;
	snprintf(path, sizeof(path), "/dev/persohub/%s", name);
	return open(path, flags);
}

/* Has the simulator run @seq finished? */
static inline bool sim_done(int seq)
{
	char path[128];

	snprintf(path, sizeof(path), PH_SHARE "/done.%d", seq);
	return !access(path, F_OK);
}

/*
 * Wait (at most @timeout_s, scaled) for the simulator run @seq to end and
 * read its report. Returns its exit status, or -1 if it did not end.
 */
static inline int sim_wait(struct sim_result *res, int seq, int timeout_s)
{
	char path[128];
	FILE *f;
	int i, n;

	res->rc = -1;
	res->kv[0] = '\0';
	if (seq < 0)
		return -1;
	timeout_s *= ph_timeout_scale();
	snprintf(path, sizeof(path), PH_SHARE "/done.%d", seq);
	for (i = 0; i < timeout_s * 20 && access(path, F_OK); i++)
		ph_sleep_ms(50);
	if (access(path, F_OK))
		return -1;

	snprintf(path, sizeof(path), PH_SHARE "/res.%d.rc", seq);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &res->rc) != 1)
			res->rc = -1;
		fclose(f);
	}
	snprintf(path, sizeof(path), PH_SHARE "/res.%d.kv", seq);
	f = fopen(path, "r");
	if (f) {
		n = fread(res->kv, 1, sizeof(res->kv) - 1, f);
		res->kv[n > 0 ? n : 0] = '\0';
		fclose(f);
	}
	snprintf(path, sizeof(path), PH_SHARE "/res.%d.log", seq);
	f = fopen(path, "r");
	if (f) {
		char line[256];

		while (fgets(line, sizeof(line), f))
			fprintf(stderr, "# sim: %s", line);
		fclose(f);
	}
	return res->rc;
}

#define sim_run(res, timeout_s, ...) \
	sim_wait(res, sim_start(__VA_ARGS__), timeout_s)

/* A value of the simulator's report; -1 if absent. */
static inline long long sim_get(const struct sim_result *res, const char *key)
{
	size_t kl = strlen(key);
	const char *p = res->kv;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoll(p + kl + 1, NULL, 0);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

#endif /* PHTEST_H */
