/* sim_hist: the access-delay histogram shared by the simulator and the
 * replay guest, so that both sides quantise delays the same way.
 *
 * Delays of at least SIM_HIST_MIN_NS (1 ms) are counted in log-spaced
 * buckets, SIM_HIST_SUB per octave: bucket i starts at min * 2^(i/SUB);
 * the last bucket also holds everything longer. 1 ms, not the 20 us under
 * which the replay guest counts no stall at all: a real TCG guest also
 * sees accesses of tens to hundreds of microseconds that have nothing to
 * do with migration (translation, host preemption), while a post-copy
 * fault costs at least a request's round trip and a page placement
 * (docs/guest-metrics.md). Integer-only and header-only, because the
 * freestanding 32-bit replay guest includes it too (no libgcc there, so no
 * 64-bit division: only 32-bit division, multiplies and shifts). A
 * percentile read back by interpolating inside a bucket is within about
 * +-9 % of the exact value. */
#ifndef SIM_HIST_H
#define SIM_HIST_H

#include <stdint.h>

#define SIM_HIST_MIN_NS 1000000u /* 1 ms: an access slower than this is delayed */
#define SIM_HIST_SUB 4u        /* buckets per octave */
#define SIM_HIST_BUCKETS 64u   /* 16 octaves: 1 ms .. 65 s, then overflow */

/* Lower edge of bucket i in ns: min * 2^(i / SUB), with 2^(k/4) as 16-bit
 * fixed-point factors. */
static inline uint64_t sim_hist_lower_ns(uint32_t i) {
  static const uint32_t frac[SIM_HIST_SUB] = {65536u, 77936u, 92682u, 110218u};
  return ((uint64_t)SIM_HIST_MIN_NS * frac[i % SIM_HIST_SUB] << (i / SIM_HIST_SUB)) >> 16;
}

/* Bucket of a delay of `ns` (>= SIM_HIST_MIN_NS; shorter ones land in 0).
 * At most SIM_HIST_BUCKETS steps: called once per delayed access only. */
static inline uint32_t sim_hist_bucket(uint64_t ns) {
  uint32_t i = 0;
  while (i + 1 < SIM_HIST_BUCKETS && sim_hist_lower_ns(i + 1) <= ns) i++;
  return i;
}

#endif
