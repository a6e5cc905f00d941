/* record_pattern.h: the random page sequence of `record_pattern random`
 * and `loop`, shared with record_bench so that it can rebuild the set of
 * pages the helper wrote from the seed and the number of writes. */
#ifndef RECORD_PATTERN_H
#define RECORD_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Next page index in [0, pages) of the sequence whose state is *state
 * (xorshift64*, any non-zero seed). */
static inline size_t record_pattern_next(uint64_t *state, size_t pages) {
  uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return (size_t)((x * 0x2545f4914f6cdd1dull >> 32) % pages);
}

#endif
