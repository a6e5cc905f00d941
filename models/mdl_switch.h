/* mdl_switch: when a hybrid migration switches to post-copy.
 *
 * One rule for the simulator and kvmreplay: both describe what they know
 * at a dirty sync (or at any moment, for the time policy) in an
 * mdl_switch_view and ask mdl_switch_due(). docs/simulator.md, "Hybrid
 * switch", defines the policies. */
#ifndef MDL_SWITCH_H
#define MDL_SWITCH_H

#include <stdint.h>

#include "mdl_scenario.h"

/* The non-convergence policy switches when a pass over the dirty pages
 * shrank them by less than this fraction: dirty pages at sync n >=
 * (1 - MDL_SWITCH_MIN_SHRINK) x dirty pages at sync n-1, from the third
 * sync on. */
#define MDL_SWITCH_MIN_SHRINK 0.10

typedef struct {
  uint64_t syncs;            /* dirty-sync-count so far */
  uint64_t dirty_pages;      /* dirty pages right after the latest sync */
  uint64_t prev_dirty_pages; /* ... right after the sync before it */
  double t_ns;               /* since `migrate` */
  int at_sync;               /* the view is taken at a new sync */
} mdl_switch_view;

/* 1 when scenario s (a hybrid) should issue migrate-start-postcopy now,
 * else 0 (also for algorithms that do not switch by policy:
 * mdl_algorithm.switch_by_policy). O(1). */
int mdl_switch_due(const mdl_scenario *s, const mdl_switch_view *v);

#endif
