// SPDX-License-Identifier: GPL-2.0
/*
 * Erlang C, computed through the Erlang B recursion, which stays exact and
 * finite for hundreds of servers where factorials and powers overflow:
 *   B(0) = 1, B(k) = a·B(k-1) / (k + a·B(k-1)),
 *   C(c, a) = c·B(c) / (c - a·(1 - B(c)))        (a < c)
 * and for M/M/c in arrival order:
 *   P(W > t) = C · exp(-(cμ - λ)·t),  E[W] = C / (cμ - λ).
 */
#include <math.h>

#include "plan.h"

double plan_erlang_c(unsigned int c, double a)
{
	double b = 1;
	unsigned int k;

	if (a <= 0)
		return 0;
	if (a >= c)
		return 1;
	for (k = 1; k <= c; k++)
		b = a * b / (k + a * b);
	return c * b / (c - a * (1 - b));
}

double plan_mean_wait(unsigned int c, double lambda, double s)
{
	double mu = 1 / s;

	if (lambda >= c * mu)
		return INFINITY;
	return plan_erlang_c(c, lambda * s) / (c * mu - lambda);
}

double plan_wait_over(unsigned int c, double lambda, double s, double t)
{
	double mu = 1 / s;

	if (lambda >= c * mu)
		return 1;
	return plan_erlang_c(c, lambda * s) * exp(-(c * mu - lambda) * t);
}

unsigned int plan_servers(double lambda, double s, double t, double p)
{
	unsigned int c;

	for (c = 1; c <= 10000; c++)
		if (lambda * s < c && plan_wait_over(c, lambda, s, t) <= p)
			return c;
	return 0;
}

double plan_max_rate(unsigned int c, double s, double t, double p)
{
	double lo = 0, hi = c / s, mid;
	int i;

	/* P(wait > t) grows with the rate: bisect. */
	for (i = 0; i < 60; i++) {
		mid = (lo + hi) / 2;
		if (plan_wait_over(c, mid, s, t) <= p)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}
