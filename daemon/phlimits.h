/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persohubd's one limit on ports, used by the configuration, the port
 * dumps, the matching and the TCP backend alike.
 *
 * Ports of every backend (card ports, ttys, userspace servers) share the
 * kernel's id space; ids are given from 1 upward and a freed id is given
 * again first, so a site with at most PH_MAX_PORTS ports has every id in
 * 1..PH_MAX_PORTS. The daemon manages ports with such ids, and warns
 * about (and leaves to the kernel's own matching) any other.
 */
#ifndef PH_LIMITS_H
#define PH_LIMITS_H

#define PH_MAX_PORTS	1024

#endif /* PH_LIMITS_H */
