/* res_validate: how far predictions are from real runs.
 *
 * Input: per scenario, the simulator's prediction and the real runs (each
 * scenario is usually run several times on QEMU, to show the real system's
 * own spread). Errors are per real run: |predicted − measured| / measured,
 * pooled over all runs of all scenarios (median and 90th percentile). */
#ifndef RES_VALIDATE_H
#define RES_VALIDATE_H

#include <stddef.h>

#include "mdl_scenario.h"

typedef struct {
  const mdl_scenario *scenario;
  const mdl_result *sim;
  const mdl_result *const *real; /* nreal measured runs */
  size_t nreal;
} res_case;

enum { RES_M_TOTAL, RES_M_BYTES, RES_M_DOWNTIME, RES_M_SETUP, RES_M_SYNCS, RES_M_COUNT };

typedef struct {
  const char *name;      /* metric column name */
  double median_abs_pct; /* over runs that completed both ways */
  double p90_abs_pct;
  size_t n;
} res_metric_error;

typedef struct {
  res_metric_error metric[RES_M_COUNT];
  size_t runs;               /* real runs counted (failed runs excluded) */
  size_t failed_runs;        /* real runs with status failed */
  double syncs_exact_share;  /* dirty_sync_count equal */
  double downtime_ok_share;  /* |error| <= max(20%, 5 ms) */
  double convergence_ok_share; /* same status (completed / not_converged) */
} res_validation;

/* Computes the summary. 0 or SIM_ENOMEM. */
int res_validate(const res_case *cases, size_t ncases, res_validation *out);

/* Writes DIR/errors.csv (one row per scenario and metric: predicted,
 * measured median/min/max, median abs % error), DIR/validation.md (the
 * report, with `command` quoted as the way to reproduce it) and the PNG
 * scatter plots DIR/scatter_<metric>.png (predicted vs measured, y = x). */
int res_validate_write(const char *dir, const res_case *cases, size_t ncases,
                       const res_validation *v, const char *command, const char *notes);

/* DIR/rounds_<name>.png: bytes sent and dirty pages per round, prediction
 * against every real run of the case. */
int res_round_overlay(const char *dir, const res_case *c);

#endif
