/* res_regress: baseline against candidate, scenario by scenario and metric
 * by metric, for `migsim regress` (docs/regress.md).
 *
 * Each side is a set of samples: for every scenario (summary.csv's `name`)
 * the values of each metric over its repeated runs, added from simulated
 * results or loaded from a result folder or a summary.csv. A comparison row
 * holds both medians, their difference with a bootstrap confidence
 * interval, the Mann-Whitney U test (res_stats.h) and a verdict: a
 * *regression* is a difference that is significant (p < alpha) AND worse
 * (every metric here is better lower) by at least both of the metric's
 * thresholds, relative to the baseline's median and absolute. The outputs
 * (regress.csv, junit.xml, report.md) are written whole or not at all
 * (sim_file). */
#ifndef RES_REGRESS_H
#define RES_REGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mdl_scenario.h"

/* The metrics regress can compare: summary.csv columns. */
#define RES_REGRESS_METRICS(X)                                                        \
  X(TOTAL_TIME, "total_time_ms", RES_UNIT_MS, 0.02, 1.0, 1)                           \
  X(DOWNTIME, "downtime_ms", RES_UNIT_MS, 0.05, 1.0, 1)                               \
  X(TRANSFERRED, "transferred_bytes", RES_UNIT_BYTES, 0.02, 1048576.0, 1)             \
  X(DIRTY_SYNCS, "dirty_sync_count", RES_UNIT_COUNT, 0.10, 1.0, 1)                    \
  X(POSTCOPY_REQUESTS, "postcopy_requests", RES_UNIT_COUNT, 0.10, 10.0, 1)            \
  X(GUEST_STALL, "guest_stall_ms", RES_UNIT_MS, 0.05, 1.0, 1)                         \
  X(SETUP_TIME, "setup_time_ms", RES_UNIT_MS, 0.05, 1.0, 0)                           \
  X(DELAY_P99, "delay_p99_ms", RES_UNIT_MS, 0.05, 1.0, 0)

typedef enum { RES_UNIT_MS, RES_UNIT_BYTES, RES_UNIT_COUNT } res_unit;

enum {
#define RES__METRIC_ENUM(id, name, unit, rel, abs, on) RES_METRIC_##id,
  RES_REGRESS_METRICS(RES__METRIC_ENUM)
#undef RES__METRIC_ENUM
  RES_METRIC_COUNT
};

const char *res_metric_name(int metric);
/* Index of metric `name`, or -1. */
int res_metric_find(const char *name);

typedef struct {
  int enabled[RES_METRIC_COUNT];
  double rel[RES_METRIC_COUNT]; /* fraction of the baseline's median */
  double abs[RES_METRIC_COUNT]; /* in the metric's unit (ms, bytes, count) */
  double alpha;                 /* significance level; the CI level is 1 - alpha */
  unsigned resamples;           /* bootstrap resamples */
} res_regress_opts;

/* Defaults: the metrics marked on above with their thresholds, alpha 0.01,
 * 10000 resamples. */
void res_regress_opts_init(res_regress_opts *o);

/* Applies "METRIC=REL,ABS" (REL a fraction or percentage, ABS with the
 * metric's units: 1ms, 1MiB, 3), or "METRIC=REL" / "METRIC=,ABS" to change
 * one of them. Enables the metric. 0 or SIM_EINVAL/SIM_ENOTFOUND naming
 * what was wrong. */
int res_regress_threshold(res_regress_opts *o, const char *text);

/* Enables exactly the comma-separated metrics of `list`. */
int res_regress_metrics(res_regress_opts *o, const char *list);

/* Prints one line per metric: name, default thresholds, whether it is on
 * by default (for --help). */
void res_regress_metrics_help(FILE *out);

typedef struct res_samples res_samples;

int res_samples_new(res_samples **out);
void res_samples_free(res_samples *s); /* NULL is a no-op */

/* Adds one run of scenario `name`: every metric's value (a missing value,
 * such as the downtime of a run that never completed, is left out). */
int res_samples_add(res_samples *s, const char *name, const mdl_result *r);

/* Loads every run of `path`: a result folder (its summary.csv) or a
 * summary.csv file. The file must have the columns `name`, `status` and
 * those of every metric in *o that is enabled, at least one run, as many
 * cells per row as columns, and numbers (or empty cells) in the metric
 * columns; otherwise SIM_EFORMAT/SIM_EIO with one line naming the file,
 * the line and the column. */
int res_samples_load(res_samples *s, const char *path, const res_regress_opts *o);

/* Scenarios in the order first seen, and their count. */
size_t res_samples_count(const res_samples *s);
const char *res_samples_name(const res_samples *s, size_t i);
/* Values of `metric` for scenario `name` (*n = 0 when none). */
const double *res_samples_values(const res_samples *s, const char *name, int metric, size_t *n);
/* Runs of scenario `name` (0 when absent). */
size_t res_samples_runs(const res_samples *s, const char *name);

/* Writes `path` (aggregate.csv): one row per scenario x metric (every
 * metric of the table above, those with values) with n, mean, median,
 * stddev, the Student-t interval of the mean at `level` (ci_low, ci_high),
 * min and max. Atomic; 0 or an error naming the file. */
int res_samples_write_aggregate(const res_samples *s, double level, const char *path);

typedef enum { RES_VERDICT_SAME, RES_VERDICT_REGRESSION, RES_VERDICT_IMPROVEMENT, RES_VERDICT_NO_DATA } res_verdict;
const char *res_verdict_name(res_verdict v);

typedef struct {
  char scenario[MDL_TEXT_MAX];
  int metric;
  size_t n_base, n_cand;
  double median_base, median_cand;
  double diff;            /* median_cand - median_base */
  double rel_diff;        /* diff / |median_base|; NaN when that is 0 */
  double ci_lo, ci_hi;    /* of diff, at level 1 - alpha */
  double u, p;            /* Mann-Whitney U (baseline's) and two-sided p */
  double rel_threshold, abs_threshold;
  res_verdict verdict;
} res_regress_row;

typedef struct {
  res_regress_row *rows;
  size_t count, cap;
  size_t regressions, improvements;
  res_regress_opts opts;
} res_regress_table;

/* Compares the scenarios names[0..nnames) (every one must be in both
 * sides, else SIM_EINVAL naming it and the side), each enabled metric.
 * Fills *t (free with res_regress_table_free). NaN cells where a side has
 * no value. */
int res_regress_compare(const res_samples *base, const res_samples *cand, const char *const *names, size_t nnames,
                        const res_regress_opts *o, res_regress_table *t);
void res_regress_table_free(res_regress_table *t);

/* Output files (atomic). `title` labels the report and the test suites,
 * e.g. "qemu-7.2 vs ./candidate.ini". */
int res_regress_write_csv(const res_regress_table *t, const char *path);
int res_regress_write_junit(const res_regress_table *t, const char *title, const char *path);
/* report.md: `figure` (a file name beside it, e.g. regress-diff.png from
 * res_regress_plot; NULL: none) is shown after the regressions. */
int res_regress_write_report(const res_regress_table *t, const char *title, const char *figure, const char *path);

/* Draws the table as a bar chart into `path` (PNG; res_plot.h): a group
 * per scenario, a bar per metric: the candidate's median against the
 * baseline's in percent (rel_diff) with the interval of the difference,
 * scaled the same way, as error bars; regressions are named in the
 * legend. No bar where rel_diff is undefined (a baseline median of 0).
 * 0, SIM_EINVAL (no row with a value), or res_plot_bars' errors. */
int res_regress_plot(const res_regress_table *t, const char *path);

/* The terminal table: one line per row, regressions marked. */
void res_regress_print(const res_regress_table *t, FILE *out);

#endif
