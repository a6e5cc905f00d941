/* wl_gen: synthetic workload generators, usable wherever a trace is.
 *
 * A generator is named by a one-line spec "name:key=value,key=value" and is
 * deterministic per seed (its randomness comes from sim_rng streams).
 * Every generator accepts the common keys documented in wl_gen_help(). */
#ifndef WL_GEN_H
#define WL_GEN_H

#include <stdio.h>

#include "wl_trace.h"

/* True when `spec` names a generator ("idle", "uniform:...", ...) rather than
 * a file path. */
int wl_gen_is_spec(const char *spec);

/* Opens a generator source for `spec`. opts->pages is required. The source's
 * metadata carries pages, page_size, nonzero, generator=<spec>, seed and
 * (when opts->duration_ns > 0) duration_ns; an endless generator has no
 * duration. Errors name the offending key or value. */
int wl_gen_open(const char *spec, const wl_open_opts *opts, wl_source **out);

/* Prints the spec syntax and every generator with its keys. */
void wl_gen_help(FILE *out);

#endif
