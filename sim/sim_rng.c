/* sim_rng: named GSL streams. */
#include "sim_rng.h"

uint64_t sim_splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t sim_rng_derive(uint64_t seed, const char *name) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ull;
  }
  return sim_splitmix64(seed ^ h);
}

gsl_rng *sim_rng_stream(uint64_t seed, const char *name) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!r) return NULL;
  /* MT19937 takes an unsigned long seed; 0 selects GSL's default seed, which
   * would alias seed 4357, so fold the derived value into a non-zero one. */
  uint64_t s = sim_rng_derive(seed, name);
  unsigned long ul = (unsigned long)(s ^ (s >> 32));
  gsl_rng_set(r, ul ? ul : 1ul);
  return r;
}
