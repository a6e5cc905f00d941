/* res_validate: how far predictions are from real runs.
 *
 * Input: per scenario, the simulator's prediction and the real runs (each
 * scenario is usually run several times on QEMU, to show the real system's
 * own spread). Errors are per real run: |predicted − measured| / measured,
 * pooled over all runs of all scenarios (median and 90th percentile). */
#ifndef RES_VALIDATE_H
#define RES_VALIDATE_H

#include <stddef.h>
#include <stdio.h>

#include "mdl_scenario.h"

typedef struct {
  const mdl_scenario *scenario;
  const mdl_result *sim;
  const mdl_result *const *real; /* nreal measured runs */
  size_t nreal;
} res_case;

/* The metrics compared, in report order. The guest-side ones count only
 * runs where they apply: post-copy metrics where the real run went
 * through post-copy, delay percentiles where both sides delayed an access,
 * a feature's counters where the scenario turns the feature on. */
enum {
  RES_M_TOTAL, RES_M_BYTES, RES_M_DOWNTIME, RES_M_SETUP, RES_M_SYNCS,
  RES_M_REQUESTS, RES_M_STALL, RES_M_DELAYED, RES_M_DELAY_P50, RES_M_DELAY_P99,
  RES_M_THROTTLE, RES_M_THROTTLE_LOSS,
  RES_M_XBZ_PAGES, RES_M_XBZ_BYTES, RES_M_XBZ_MISS,
  RES_M_MULTIFD_BYTES, RES_M_COMPRESSED_SIZE, RES_M_CPU_WORKERS,
  RES_M_COUNT
};

typedef struct {
  const char *name;      /* metric column name */
  double median_abs_pct; /* |predicted - measured| / measured, over runs */
  double p90_abs_pct;
  double median_abs;     /* the same in the metric's unit (ms metrics) */
  double p90_abs;
  int in_ms;             /* the absolute error is meaningful (ms) */
  size_t n;
  /* Run-to-run spread of the real system: each real run "predicted" by
   * the median of its scenario's other real runs, same statistics. No
   * deterministic model can be expected to beat it by much. */
  double floor_median_pct;
  double floor_p90_pct;
  size_t floor_n;
  /* 95 % intervals (res_cluster_interval) of median_abs_pct, p90_abs_pct
   * and median_abs, for the metrics `validate --check` has targets on
   * (total time, bytes, downtime); NAN for the others. */
  double median_lo, median_hi, p90_lo, p90_hi, median_abs_lo, median_abs_hi;
  /* The best any prediction could score on these runs (the same metrics;
   * NAN for the others): one value per scenario, chosen knowing every
   * real run, cannot bring the median or p90 of the relative errors, or
   * the median absolute error, below these (res_best_error). */
  double best_median_pct, best_p90_pct, best_median_abs;
} res_metric_error;

typedef struct {
  res_metric_error metric[RES_M_COUNT];
  size_t runs;               /* real runs counted (failed runs excluded) */
  size_t failed_runs;        /* real runs with status failed */
  double syncs_exact_share;  /* dirty_sync_count equal */
  double downtime_ok_share;  /* |error| <= max(20%, 5 ms) */
  double convergence_ok_share; /* same status (completed / not_converged) */
  double requests_ok_share;  /* within x1.5 of real, runs with >= 20 real requests */
  size_t requests_runs;
  double stall_ok_share;     /* |error| <= max(25%, 50 ms), post-copy runs */
  size_t stall_runs;
  /* The same three checks with each real run judged against the median of
   * its scenario's other real runs instead of the prediction (NAN where
   * no scenario has two runs to compare). */
  double downtime_ok_floor;
  double requests_ok_floor;
  double stall_ok_floor;
  /* 95 % intervals of the three shares, from resampling the scenarios
   * (with their runs) with replacement (res_cluster_interval; NAN: no run). */
  double downtime_ok_lo, downtime_ok_hi;
  double requests_ok_lo, requests_ok_hi;
  double stall_ok_lo, stall_ok_hi;
  /* The highest shares any prediction could reach on these runs, one value
   * (and one verdict) per scenario chosen knowing every real run. A target
   * above it cannot be met with these runs, whatever the model. */
  double downtime_ok_best, requests_ok_best, stall_ok_best, convergence_ok_best;
} res_validation;

/* The 95 % interval of a statistic over values that come in clusters
 * sharing one prediction (a scenario's real runs): cluster i holds
 * v[first[i]] .. v[first[i + 1] - 1]. Draws `ncluster` clusters with
 * replacement 4000 times from a fixed seed (same input, same interval),
 * pools their values and takes statistic `q` of each draw (a quantile in
 * [0, 1], or the mean when q < 0: a share, for values 0 and 1); returns
 * the 2.5th and 97.5th percentiles of the draws, NAN, NAN when there is no
 * value. Resampling values one by one would understate the spread: the
 * runs of a scenario pass or miss together far more often than not. */
void res_cluster_interval(const double *v, const size_t *first, size_t ncluster, double q, double *lo, double *hi);

/* The smallest error e at which one value per cluster (cluster i holds
 * x[first[i]] .. x[first[i + 1] - 1]) can be within e of at least `need`
 * of the values: |p - x| <= e * x / 100 when `relative` (e in %), else
 * |p - x| <= e. No choice of one value per cluster has its need-th
 * smallest error below it, so no prediction's quantile of errors that
 * rests on that order statistic is either. 0 when need is 0, INFINITY when
 * need exceeds the values. */
double res_best_error(const double *x, const size_t *first, size_t ncluster, size_t need, int relative);

/* The targets `validate --check` holds a validation to (the check table of
 * the report, validation.md, lists them). Writes one line per missed
 * target to `out` (if not NULL) and returns how many were missed. */
int res_validate_check(const res_validation *v, FILE *out);

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
