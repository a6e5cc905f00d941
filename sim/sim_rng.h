/* sim_rng: seeded, named random streams on top of GSL.
 *
 * Every random component (a generator, a link's jitter, ...) owns its own
 * stream derived from (scenario seed, stream name), so adding a component
 * never shifts the numbers another one draws. There is no global RNG. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <gsl/gsl_rng.h>
#include <stdint.h>

/* A new MT19937 stream seeded from splitmix64(seed ^ fnv1a(name)).
 * Returns NULL when out of memory. Free with gsl_rng_free(). */
gsl_rng *sim_rng_stream(uint64_t seed, const char *name);

/* The 64-bit seed sim_rng_stream() would use (exposed for tests and for
 * components that need a plain 64-bit hash of (seed, name)). */
uint64_t sim_rng_derive(uint64_t seed, const char *name);

/* One splitmix64 step: a fast, well-mixed 64-bit hash. */
uint64_t sim_splitmix64(uint64_t x);

#endif
