/* res_load: read summary.csv / rounds.csv back into results.
 *
 * Real runs are expensive (seconds of QEMU each), so validation and
 * calibration keep them in a folder and reuse them: this turns the rows
 * res_write_run wrote back into mdl_scenario and mdl_result values. */
#ifndef RES_LOAD_H
#define RES_LOAD_H

#include <stddef.h>

#include "mdl_scenario.h"

typedef struct {
  char run_id[256];
  /* The scenario's parameters as the summary row holds them (the values
   * the run used); parameters that are not columns keep their defaults. */
  mdl_scenario scenario;
  mdl_result result; /* metrics, rounds and timeline */
} res_loaded;

typedef struct {
  res_loaded *runs;
  size_t count, cap;
} res_run_set;

/* Loads every run of DIR/summary.csv (with its rounds from DIR/rounds.csv
 * and its timeline from DIR/timeline.csv); a DIR ending in ".csv" is a
 * summary file alone, loaded without rounds or timeline. Every column of mdl_schema.h is
 * loaded except the derived ones; an empty or missing cell loads as "", 0
 * or -1 (text, integer, number).
 * A missing folder or file gives an empty set. Free with res_runs_free;
 * after an error the set is empty already (freeing it again is harmless). */
int res_runs_load(const char *dir, res_run_set *set);
void res_runs_free(res_run_set *set);

/* Runs of scenario `name`, in file order: fills up to max pointers. */
size_t res_runs_of(const res_run_set *set, const char *name, const res_loaded **out, size_t max);

#endif
