// SPDX-License-Identifier: GPL-2.0
/*
 * Faults of a factory floor, inside the test machine, against the kernel's
 * own matching: noisy lines, breaks, bit errors, lines that drop and come
 * back, bursts beyond the queue depth, servers that answer garbage, half a
 * frame, twice, or now and then nothing. Under each (and all at once) the
 * invariant, checked exactly against the kernel's counters:
 *
 *  - every request a station sent intact ends with its own answer or one
 *    error frame, no station gets another's answer, nothing is late;
 *  - per station: requests = sent - corrupted, responses = answers,
 *    errors_sent = error frames, nothing dropped;
 *  - per server: every dispatch ended with a response or a timeout.
 *
 * With PH_FAULT_FRAMING each port speaks its own framing (the hub carries
 * payloads across) and the faults are injected in those framings; each
 * port's check-type error counters must then equal the bad frames the
 * simulator sent it.
 *
 * A failing run prints the simulator's seed (replay with SEED=...).
 */
#include <signal.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "phtest.h"

/*
 * The site: six stations and two servers, on cards unless
 * PH_FAULT_STATIONS and PH_FAULT_SERVERS ("name,name,...", six and two)
 * put them elsewhere, e.g. on tty ports (tCpP, uN: see phtest.h), which
 * must then be attached. In the variants below Sn stands for station n
 * and Vn for server n.
 */
#define NST	6
#define NSV	2

static const char *const card_stations = "c0p0,c0p1,c0p2,c0p3,c1p0,c1p1";
static const char *const card_servers = "c1p2,c1p3";

static char stations[NST][16], servers[NSV][16];
static char station_list[NST * 16], server_list[NSV * 16];

/*
 * PH_FAULT_FRAMING: "Sn=NAME[:lrc],Vn=NAME[:lrc],..." gives ports other
 * framings than hdlc. In gap a frame ends after FRAMING_GAP_CHARS
 * character times of silence (50 ms at 115200 8N1); in the other framings
 * a broken frame is dropped after FRAMING_RESYNC_CHARS (150 ms), a gap
 * they only need after a fault. The simulator leaves three and two times
 * that where it must: a guest CPU the host did not run for a while
 * receives what piled up as one burst, and only a silence longer than
 * such a stall is one the guest sees; and a stall inside a frame must not
 * look like a gap to the hub.
 */
#define FRAMING_GAP_CHARS	"576"
#define FRAMING_SIM_GAP_US	150000
#define FRAMING_RESYNC_CHARS	"1728"
#define FRAMING_SIM_RESYNC_US	300000
#define FRAMING_GAP_MAX		"128"
static char framing[NST + NSV][16];	/* NAME[:lrc], "" for hdlc */

static int site_framing_init(void)
{
	const char *v = getenv("PH_FAULT_FRAMING");
	char *dup, *tok, *save = NULL;
	int ret = 0;

	if (!v)
		return 0;
	dup = strdup(v);
	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		unsigned int k = tok[1] - '0';

		if ((tok[0] != 'S' && tok[0] != 'V') || tok[2] != '=' ||
		    k >= (tok[0] == 'S' ? NST : NSV) ||
		    strlen(tok + 3) >= sizeof(framing[0])) {
			ret = -1;
			break;
		}
		strcpy(framing[tok[0] == 'S' ? k : NST + k], tok + 3);
	}
	free(dup);
	return ret;
}

/* The simulator's --framing words for every port that has one. */
static void site_framing_args(char *out, size_t sz)
{
	unsigned int i;
	size_t o = 0;

	out[0] = '\0';
	for (i = 0; i < NST + NSV && o < sz; i++) {
		if (!framing[i][0])
			continue;
		o += snprintf(out + o, sz - o, " --framing %s=%s:gap=%d%s",
			      i < NST ? stations[i] : servers[i - NST],
			      framing[i], strncmp(framing[i], "gap", 3) ?
			      FRAMING_SIM_RESYNC_US : FRAMING_SIM_GAP_US,
			      strncmp(framing[i], "gap", 3) ? "" :
			      ":max=" FRAMING_GAP_MAX);
	}
}

/* "a,b,c" from @env (or @def) into @names: 0, or -1 if not @n names. */
static int site_split(const char *env, const char *def, char names[][16],
		      unsigned int n, char *list, size_t list_sz)
{
	const char *v = getenv(env) ?: def;
	unsigned int i = 0;
	char *dup, *tok, *save = NULL;

	snprintf(list, list_sz, "%s", v);
	dup = strdup(v);
	if (!dup)
		return -1;
	for (tok = strtok_r(dup, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (i == n || strlen(tok) >= 16)
			break;
		strcpy(names[i++], tok);
	}
	free(dup);
	return i == n && !tok ? 0 : -1;
}

static int site_init(void)
{
	if (site_framing_init())
		return -1;
	return site_split("PH_FAULT_STATIONS", card_stations, stations, NST,
			  station_list, sizeof(station_list)) ||
	       site_split("PH_FAULT_SERVERS", card_servers, servers, NSV,
			  server_list, sizeof(server_list)) ? -1 : 0;
}

/* @in with every Sn and Vn (at the start or after a space) named. */
static void site_expand(char *out, size_t sz, const char *in)
{
	size_t o = 0;

	for (; *in && o + 1 < sz; in++) {
		bool word = in[0] == 'S' || in[0] == 'V';
		const char *name;

		if (word && in[1] >= '0' && in[1] <= '9' &&
		    (o == 0 || out[o - 1] == ' ')) {
			unsigned int k = in[1] - '0';

			name = in[0] == 'S' ? (k < NST ? stations[k] : "?")
					    : (k < NSV ? servers[k] : "?");
			o += snprintf(out + o, sz - o, "%s", name);
			if (o >= sz)
				o = sz - 1;
			in++;
			continue;
		}
		out[o++] = *in;
	}
	out[o] = '\0';
}

struct counts {
	long long st[NST][4];	/* requests responses errors_sent dropped */
	long long sv[NSV][4];	/* requests responses timeouts unexpected */
	long long bad[NST + NSV][4];	/* bad frames, as bad_counters[] */
};

/* Each port's check-type errors, and the simulator's key for each. */
static const char * const bad_counters[] = {
	"fcs_errors", "lrc_errors", "frame_truncated", "frame_too_long",
};
static const char * const bad_injected[] = {
	"inj_bad_fcs", "inj_bad_lrc", "inj_truncated", "inj_too_long",
};

static const char * const st_counters[] = {
	"requests", "responses", "errors_sent", "dropped",
};
static const char * const sv_counters[] = {
	"requests", "responses", "timeouts", "unexpected_frames",
};

static void snapshot(struct counts *c)
{
	unsigned int i, j;

	for (i = 0; i < NST; i++)
		for (j = 0; j < 4; j++)
			c->st[i][j] = ph_stat(stations[i], st_counters[j]);
	for (i = 0; i < NSV; i++)
		for (j = 0; j < 4; j++)
			c->sv[i][j] = ph_stat(servers[i], sv_counters[j]);
	for (i = 0; i < NST + NSV; i++)
		for (j = 0; j < 4; j++)
			c->bad[i][j] = ph_stat(i < NST ? stations[i] :
					       servers[i - NST], bad_counters[j]);
}

static bool all_quiet(void)
{
	char buf[16];
	unsigned int i;

	for (i = 0; i < NST; i++)
		if (ph_get(stations[i], "state", buf, sizeof(buf)) ||
		    strcmp(buf, "idle"))
			return false;
	for (i = 0; i < NSV; i++)
		if (ph_get(servers[i], "state", buf, sizeof(buf)) ||
		    !strcmp(buf, "busy"))
			return false;
	return true;
}

FIXTURE(fault) {
	struct counts before, after;
	struct sim_result res;
	char go[64], fin[64], hold[64];	/* the simulator's files */
};

FIXTURE_VARIANT(fault) {
	const char *sim;	/* the fault's simulator arguments */
	const char *injected;	/* a simulator count proving the fault hit */
	bool errors_ok;		/* error frames are an expected outcome */
	const char *settle_ms;	/* the servers' settle_ms, if set */
};

FIXTURE_VARIANT_ADD(fault, noisy_lines) {
	.injected = "S2.breaks",
	.sim = "--noise S0 --noise S1 --break S2 --break S3",
};

FIXTURE_VARIANT_ADD(fault, bit_errors) {
	.injected = "S0.corrupted",
	.sim = "--biterr S0 --biterr S4 --biterr S5",
};

FIXTURE_VARIANT_ADD(fault, lines_reconnect) {
	.injected = "S1.reconnects",
	.sim = "--reconnect S1 --reconnect S4",
};

FIXTURE_VARIANT_ADD(fault, bursts_beyond_depth) {
	.injected = "total.errors",
	.sim = "--burst S0=4 --burst S3=3",
	.errors_ok = true,
};

FIXTURE_VARIANT_ADD(fault, garbage_server) {
	.injected = "V1.garbage",
	.sim = "--server-mode V1=garbage",
};

FIXTURE_VARIANT_ADD(fault, truncating_server) {
	.injected = "V0.garbage",
	.sim = "--server-mode V0=truncate",
};

FIXTURE_VARIANT_ADD(fault, flapping_server) {
	.injected = "V1.silent",
	.sim = "--server-mode V1=flap:3",
};

FIXTURE_VARIANT_ADD(fault, duplicating_server) {
	.injected = "V1.garbage",
	.sim = "--server-mode V1=dup",
	.settle_ms = "100",
};

FIXTURE_VARIANT_ADD(fault, everything_at_once) {
	.injected = "S2.corrupted",
	.sim = "--noise S0 --break S1 --biterr S2 --reconnect S3"
	       " --burst S4=3 --server-mode V1=flap:4",
	.errors_ok = true,
};

FIXTURE_SETUP(fault)
{
	ASSERT_EQ(0, site_init()) TH_LOG("PH_FAULT_STATIONS/SERVERS: 6 and 2");
	snprintf(self->go, sizeof(self->go), "go.%d", getpid());
	snprintf(self->fin, sizeof(self->fin), "fin.%d", getpid());
	snprintf(self->hold, sizeof(self->hold), "hold.%d", getpid());
}

/* Create (or remove) one of the simulator's files in the shared directory. */
static void share_file(const char *name, bool create)
{
	char path[128];

	snprintf(path, sizeof(path), PH_SHARE "/%s", name);
	if (create)
		close(open(path, O_CREAT | O_WRONLY, 0644));
	else
		unlink(path);
}

FIXTURE_TEARDOWN(fault)
{
	/* A simulator still waiting for either file is let go. */
	share_file(self->go, true);
	share_file(self->hold, true);
	ph_set(servers[0], "state", "idle");
	ph_set(servers[1], "state", "idle");
	ph_roles(station_list, "off");
	ph_roles(server_list, "off");
	for (unsigned int i = 0; i < NST + NSV; i++) {
		const char *p = i < NST ? stations[i] : servers[i - NST];

		ph_set(p, "framing", "hdlc");
		ph_set(p, "max_payload", "1024");
	}
}

/*
 * The site's ports, tty ports attached first, configured. A USB adapter
 * (uN) exists only while the simulator is connected, so this runs while
 * the simulator waits for its go file.
 */
static int site_setup(struct __test_metadata *_metadata,
		      FIXTURE_DATA(fault) *self,
		      const FIXTURE_VARIANT(fault) *variant)
{
	unsigned int i;
	int err;

	for (i = 0; i < NST + NSV; i++) {
		const char *p = i < NST ? stations[i] : servers[i - NST];

		if (p[0] != 't' && p[0] != 'u')
			continue;
		err = ph_tty_attach(p, 30);
		if (err) {
			TH_LOG("attach %s: %s", p, strerror(-err));
			return err;
		}
	}
	for (i = 0; i < NST + NSV; i++) {
		const char *p = i < NST ? stations[i] : servers[i - NST];
		char name[16], *colon;

		strcpy(name, framing[i][0] ? framing[i] : "hdlc");
		colon = strchr(name, ':');
		if (colon)
			*colon = '\0';
		err = ph_set(p, "framing", name) ?:
		      ph_set(p, "lrc", colon ? "1" : "0") ?:
		      ph_set(p, "gap_chars", strcmp(name, "gap") ?
			     FRAMING_RESYNC_CHARS : FRAMING_GAP_CHARS) ?:
		      ph_set(p, "max_payload", strcmp(name, "gap") ? "1024" :
			     FRAMING_GAP_MAX);
		if (err) {
			TH_LOG("framing %s on %s: %s", framing[i], p,
			       strerror(-err));
			return err;
		}
	}
	err = ph_roles(station_list, "station") ?:
	      ph_roles(server_list, "server");
	for (i = 0; !err && i < NSV; i++)
		err = ph_set(servers[i], "timeout_ms", "300") ?:
		      ph_set(servers[i], "settle_ms", variant->settle_ms ?: "0");
	if (err) {
		TH_LOG("configuring the site: %s", strerror(-err));
		return err;
	}
	snapshot(&self->before);
	return 0;
}

/*
 * When both servers have failed, they come back, as persohubd's probes
 * would bring them: on a loaded machine the good server may miss its
 * 300 ms too, and with no server and no controller the site would wait
 * for ever. One failed server (the faulty one, as a variant means it) is
 * left alone. Returns the child's pid.
 */
static pid_t revive_servers(void)
{
	pid_t pid = fork();
	char a[16], b[16];

	if (pid)
		return pid;
	for (;;) {
		if (!ph_get(servers[0], "state", a, sizeof(a)) &&
		    !ph_get(servers[1], "state", b, sizeof(b)) &&
		    !strcmp(a, "failed") && !strcmp(b, "failed")) {
			ph_set(servers[0], "state", "idle");
			ph_set(servers[1], "state", "idle");
		}
		ph_sleep_ms(200);
	}
}

TEST_F_TIMEOUT(fault, invariant_holds, 200)
{
	const char *seed = getenv("SEED");
	char key[128], sim[512], injected[64], path[128], framings[512];
	unsigned int i;
	long long sent, ok, errors, corrupted, d;
	pid_t reviver;
	int t, seq, ret;

	site_expand(sim, sizeof(sim), variant->sim);
	site_expand(injected, sizeof(injected), variant->injected);
	site_framing_args(framings, sizeof(framings));
	share_file(self->fin, false);
	/*
	 * A seed from the environment replays a run; else a new one. The
	 * simulator connects, waits for the site to be set up, runs, and
	 * stays connected until the counters are read.
	 */
	seq = sim_start("--telnet --stations %s --servers %s"
			" --requests 25 --service-us 2000 --timeout-ms 8000 %s%s"
			" --go-file %s --done-file %s --hold-file %s"
			" --max-seconds 170 --expect-errors%s %s", station_list,
			server_list, seed ? "--seed " : "", seed ? seed : "",
			self->go, self->fin, self->hold, framings, sim);
	ASSERT_LE(0, seq);
	ASSERT_EQ(0, site_setup(_metadata, self, variant));
	reviver = revive_servers();
	ASSERT_LT(0, reviver);
	share_file(self->go, true);

	snprintf(path, sizeof(path), PH_SHARE "/%s", self->fin);
	for (t = 0; t < 180 * 20 * ph_timeout_scale() && access(path, F_OK);
	     t++)
		ph_sleep_ms(50);
	kill(reviver, SIGKILL);
	waitpid(reviver, NULL, 0);
	for (t = 0; t < 200 && !all_quiet(); t++)
		ph_sleep_ms(20);
	snapshot(&self->after);
	share_file(self->hold, true);
	ret = sim_wait(&self->res, seq, 30);
	share_file(self->go, false);
	share_file(self->fin, false);
	share_file(self->hold, false);
	ASSERT_LE(0, ret);
	TH_LOG("seed %lld", sim_get(&self->res, "seed"));

	EXPECT_LE(1, sim_get(&self->res, injected))
		TH_LOG("the fault was not injected: %s", injected);
	EXPECT_EQ(0, sim_get(&self->res, "total.wrong"));
	EXPECT_EQ(0, sim_get(&self->res, "total.late"));
	EXPECT_EQ(0, sim_get(&self->res, "total.timeouts"));
	if (!variant->errors_ok)
		EXPECT_EQ(0, sim_get(&self->res, "total.errors"));

	for (i = 0; i < NST; i++) {
		const char *p = stations[i];

		snprintf(key, sizeof(key), "%s.sent", p);
		sent = sim_get(&self->res, key);
		snprintf(key, sizeof(key), "%s.ok", p);
		ok = sim_get(&self->res, key);
		snprintf(key, sizeof(key), "%s.errors", p);
		errors = sim_get(&self->res, key);
		snprintf(key, sizeof(key), "%s.corrupted", p);
		corrupted = sim_get(&self->res, key);
#define D(j) (self->after.st[i][j] - self->before.st[i][j])
		EXPECT_EQ(sent - corrupted, D(0)) TH_LOG("%s requests", p);
		EXPECT_EQ(ok, D(1)) TH_LOG("%s responses", p);
		EXPECT_EQ(errors, D(2)) TH_LOG("%s errors_sent", p);
		EXPECT_EQ(0, D(3)) TH_LOG("%s dropped", p);
		/* Each intact request ended exactly once. */
		EXPECT_EQ(sent - corrupted, ok + errors) TH_LOG("%s ended", p);
#undef D
	}
	/* A second answer is caught while the server settles. */
	if (variant->settle_ms) {
		snprintf(key, sizeof(key), "%s.garbage", servers[1]);
		EXPECT_EQ(sim_get(&self->res, key),
			  self->after.sv[1][3] - self->before.sv[1][3]);
	}
	/* Every bad frame sent in a port's framing counted as what it is. */
	for (i = 0; getenv("PH_FAULT_FRAMING") && i < NST + NSV; i++) {
		const char *p = i < NST ? stations[i] : servers[i - NST];
		unsigned int j;

		for (j = 0; j < 4; j++) {
			snprintf(key, sizeof(key), "%s.%s", p, bad_injected[j]);
			EXPECT_EQ(sim_get(&self->res, key),
				  self->after.bad[i][j] - self->before.bad[i][j])
				TH_LOG("%s (%s): %s", p, framing[i][0] ?
				       framing[i] : "hdlc", bad_counters[j]);
		}
	}
	for (i = 0; i < NSV; i++) {
		d = self->after.sv[i][0] - self->before.sv[i][0];
		EXPECT_EQ(d, self->after.sv[i][1] - self->before.sv[i][1] +
			  self->after.sv[i][2] - self->before.sv[i][2])
			TH_LOG("%s: dispatches = responses + timeouts",
			       servers[i]);
	}
}

TEST_HARNESS_MAIN
