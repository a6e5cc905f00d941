/* mdl_switch: the hybrid switch rule (see mdl_switch.h). */
#include "mdl_switch.h"

int mdl_switch_due(const mdl_scenario *s, const mdl_switch_view *v) {
  if (!mdl_algorithm_of(s->algo)->switch_by_policy) return 0;
  switch (s->switch_policy) {
    case MDL_SWITCH_SYNCS:
      return v->syncs >= s->switch_after;
    case MDL_SWITCH_NONCONVERGE:
      /* Sync 1 marks all memory dirty and sync 2 ends the first full pass,
       * so the first pass-to-pass comparison is at sync 3. A guest that
       * cannot converge keeps (or grows) its dirty set from pass to pass,
       * so this fires on it at its third sync at the latest. */
      return v->at_sync && v->syncs >= 3 &&
             (double)v->dirty_pages >= (1.0 - MDL_SWITCH_MIN_SHRINK) * (double)v->prev_dirty_pages;
    case MDL_SWITCH_TIME:
      return v->t_ns >= (double)s->switch_time_ns;
  }
  return 0;
}
