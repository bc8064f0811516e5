/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host unit tests' random numbers: xorshift32 from a fixed seed, so
 * that a failing run is the same run again.
 */
#ifndef TEST_RNG_H
#define TEST_RNG_H

static u32 rng_state = 0x2545f491;

static inline u32 rng(void)
{
	u32 x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rng_state = x;
	return x;
}

#endif /* TEST_RNG_H */
