/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capacity planning with Erlang C (M/M/c): how many servers a production
 * target needs. Requests arrive as a Poisson stream of rate lambda (per
 * second); service times are exponential with mean s (seconds); c servers
 * take requests from one queue in arrival order, as the hub does.
 */
#ifndef PH_PLAN_H
#define PH_PLAN_H

/* Probability that a request waits at all, with c servers and a = λs. */
double plan_erlang_c(unsigned int c, double a);
/* Mean time a request waits for a server, seconds (inf if overloaded). */
double plan_mean_wait(unsigned int c, double lambda, double s);
/* Probability that a request waits longer than t seconds. */
double plan_wait_over(unsigned int c, double lambda, double s, double t);
/* Smallest c with P(wait > t) <= p (and c·μ > λ); 0 if above 10000. */
unsigned int plan_servers(double lambda, double s, double t, double p);
/* Largest request rate c servers carry with P(wait > t) <= p. */
double plan_max_rate(unsigned int c, double s, double t, double p);

#endif /* PH_PLAN_H */
