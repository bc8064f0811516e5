// SPDX-License-Identifier: GPL-2.0
/*
 * persohubctl's output: names of the kernel's numbers, a small streaming
 * JSON emitter, text tables padded to their columns, durations in units.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "persohubctl.h"

/* The name of @v in @names, or the number itself. */
const char *enum_name(const char *const *names, size_t n, uint32_t v)
{
	static char bufs[4][16];
	static unsigned int k;
	char *b;

	if (v < n && names[v])
		return names[v];
	b = bufs[k++ % ARRAY_SIZE(bufs)];
	snprintf(b, sizeof(bufs[0]), "%" PRIu32, v);
	return b;
}

/* JSON: a tiny streaming emitter */

static struct {
	FILE *f;
	int depth;
	bool more[16];		/* an element was written at this depth */
} jw;

void jw_init(FILE *f)
{
	jw.f = f;
}

static void jw_newline(void)
{
	int i;

	if (!opt.pretty)
		return;
	fputc('\n', jw.f);
	for (i = 0; i < jw.depth; i++)
		fputs("  ", jw.f);
}

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;	/* overlong, surrogate, beyond U+10FFFF */
	return n;
}

static void jw_quote(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	fputc('"', jw.f);
	while (*s) {
		switch (*s) {
		case '"':
			fputs("\\\"", jw.f);
			break;
		case '\\':
			fputs("\\\\", jw.f);
			break;
		case '\b':
			fputs("\\b", jw.f);
			break;
		case '\f':
			fputs("\\f", jw.f);
			break;
		case '\n':
			fputs("\\n", jw.f);
			break;
		case '\r':
			fputs("\\r", jw.f);
			break;
		case '\t':
			fputs("\\t", jw.f);
			break;
		default:
			n = *s < 0x80 ? 0 : utf8_seq(s);
			if (*s < 0x20 || *s == 0x7f) {
				fprintf(jw.f, "\\u%04x", *s);
			} else if (*s < 0x80) {
				fputc(*s, jw.f);
			} else if (n) {
				fwrite(s, 1, n, jw.f);
				s += n;
				continue;
			} else {
				fputs("\\ufffd", jw.f);	/* not UTF-8 */
			}
		}
		s++;
	}
	fputc('"', jw.f);
}

/* Start a value: the comma, the indentation and the key (NULL in arrays). */
static void jw_key(const char *key)
{
	if (jw.depth) {
		if (jw.more[jw.depth])
			fputc(',', jw.f);
		jw.more[jw.depth] = true;
		jw_newline();
	}
	if (key) {
		jw_quote(key);
		fputs(opt.pretty ? ": " : ":", jw.f);
	}
}

void jw_open(const char *key, char c)
{
	jw_key(key);
	fputc(c, jw.f);
	if (jw.depth + 1 < (int)ARRAY_SIZE(jw.more))
		jw.depth++;
	jw.more[jw.depth] = false;
}

void jw_close(char c)
{
	bool any = jw.more[jw.depth];

	jw.depth--;
	if (any)
		jw_newline();
	fputc(c, jw.f);
	if (!jw.depth)
		fputc('\n', jw.f);
}

void jw_str(const char *key, const char *val)
{
	jw_key(key);
	if (val)
		jw_quote(val);
	else
		fputs("null", jw.f);
}

void jw_u64(const char *key, uint64_t v)
{
	jw_key(key);
	fprintf(jw.f, "%" PRIu64, v);
}

void jw_bool(const char *key, bool v)
{
	jw_key(key);
	fputs(v ? "true" : "false", jw.f);
}

void jw_null(const char *key)
{
	jw_key(key);
	fputs("null", jw.f);
}

/* A number already formatted (e.g. a timestamp with its decimals). */
void jw_num(const char *key, const char *num)
{
	jw_key(key);
	fputs(num, jw.f);
}

/* Text tables: cells padded to their column's width */

void table_row(struct table *t)
{
	t->cell = xrealloc(t->cell, sizeof(*t->cell) * t->ncols *
			   (t->nrows + 1));
	memset(t->cell[t->nrows * t->ncols], 0, sizeof(*t->cell) * t->ncols);
	t->nrows++;
}

void __attribute__((format(printf, 3, 4)))
table_set(struct table *t, unsigned int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->cell[(t->nrows - 1) * t->ncols + col], CELL, fmt, ap);
	va_end(ap);
}

/* Print rows, columns one space apart; @aligned false: no padding. */
void table_print(const struct table *t, const char *indent,
			bool aligned)
{
	unsigned int w[64] = { 0 }, r, c, last, len;
	const char *s;

	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols && c < ARRAY_SIZE(w); c++) {
			len = strlen(t->cell[r * t->ncols + c]);
			if (len > w[c])
				w[c] = len;
		}
	for (r = 0; r < t->nrows; r++) {
		last = 0;
		for (c = 0; c < t->ncols; c++)
			if (t->cell[r * t->ncols + c][0])
				last = c;
		fputs(indent, stdout);
		for (c = 0; c <= last; c++) {
			s = t->cell[r * t->ncols + c];
			if (aligned && c < ARRAY_SIZE(w) && !w[c])
				continue;	/* empty in every row */
			if (!aligned) {
				if (*s)
					printf("%s%s", s, c < last ? " " : "");
				continue;
			}
			if (t->align[c] == 'r')
				printf("%*s", (int)w[c], s);
			else if (c < last)
				printf("%-*s", (int)w[c], s);
			else
				fputs(s, stdout);
			if (c < last)
				fputc(' ', stdout);
		}
		fputc('\n', stdout);
	}
}

void table_free(struct table *t)
{
	free(t->cell);
	t->cell = NULL;
	t->nrows = 0;
}

/* Durations: three significant digits and a unit. */
const char *fmt_ns(double ns, char *buf, size_t len)
{
	static const struct {
		double div;
		const char *unit;
	} u[] = { { 1, "ns" }, { 1e3, "us" }, { 1e6, "ms" }, { 1e9, "s" } };
	size_t i = 0;

	while (i + 1 < ARRAY_SIZE(u) && ns / u[i].div >= 999.5)
		i++;
	if (ns / u[i].div >= 999.5)
		snprintf(buf, len, "%.0f%s", ns / u[i].div, u[i].unit);
	else
		snprintf(buf, len, "%.3g%s", ns / u[i].div, u[i].unit);
	return buf;
}

/* A CLOCK_MONOTONIC time in ns as "seconds.micros". */
const char *fmt_mono(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64 ".%06" PRIu64, ns / 1000000000,
		 ns % 1000000000 / 1000);
	return buf;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
