/* wl_gen: synthetic workload generators, usable wherever a trace is.
 *
 * A generator is named by a one-line spec "name:key=value,key=value" and is
 * deterministic per seed (its randomness comes from sim_rng streams).
 * Every generator accepts the common keys documented in wl_gen_help(). */
#ifndef WL_GEN_H
#define WL_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wl_trace.h"

/* The generator whose name is at most two edits from the name part of
 * `spec` (before ':'), for a "did you mean"; NULL when none is, or when the
 * name part has a '/' (a path). */
const char *wl_gen_suggest(const char *spec);

/* True when `spec` names a generator ("idle", "uniform:...", ...) rather than
 * a file path. */
int wl_gen_is_spec(const char *spec);

/* Opens a generator source for `spec`. opts->pages is required. The source's
 * metadata carries pages, page_size, nonzero, generator=<spec>, seed and
 * (when opts->duration_ns > 0) duration_ns; an endless generator has no
 * duration. Errors name the offending key or value. */
int wl_gen_open(const char *spec, const wl_open_opts *opts, wl_source **out);

/* The stationary model behind a `curve:` spec (docs/workloads.md): the
 * rate it writes at and the expected distinct pages it writes in any
 * window, which is what the curve means. Opened from a plain curve spec
 * and the guest size; errors are those the generator would give. */
typedef struct wl_curve wl_curve;
int wl_curve_open(const char *spec, uint64_t pages, uint32_t page_size, wl_curve **out);
/* Writes per second. */
double wl_curve_rate(const wl_curve *c);
/* Expected distinct pages written in a window of window_s seconds, wherever
 * the window starts. O(groups). */
double wl_curve_expected(const wl_curve *c, double window_s);
/* Pages the model ever writes (the curve's ceiling as T grows). */
uint64_t wl_curve_pages(const wl_curve *c);
/* The fitted groups: group g has *pages pages, each written *page_rate
 * times per second. */
size_t wl_curve_groups(const wl_curve *c);
void wl_curve_group(const wl_curve *c, size_t g, uint64_t *pages, double *page_rate);
/* NULL is a no-op. */
void wl_curve_free(wl_curve *c);

/* Prints the spec syntax and every generator with its keys. */
void wl_gen_help(FILE *out);

#endif
