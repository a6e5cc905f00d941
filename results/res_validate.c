/* res_validate: sim-vs-real error statistics (GSL), report and plots. */
#include "res_validate.h"

#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "res_csv.h"
#include "res_plot.h"
#include "res_stats.h"
#include "sim_err.h"
#include "sim_file.h"

static const char *const res__metric_names[RES_M_COUNT] = {
    "total_time_ms", "transferred_bytes", "downtime_ms", "setup_time_ms", "dirty_sync_count",
    "postcopy_requests", "guest_stall_ms", "delayed_share", "delay_p50_ms", "delay_p99_ms",
    "cpu_throttle_percentage", "guest_throttle_ms", "xbzrle_pages", "xbzrle_bytes", "xbzrle_cache_miss",
    "multifd_bytes", "compressed_size", "cpu_workers_ms"};
static const int res__metric_ms[RES_M_COUNT] = {[RES_M_DOWNTIME] = 1, [RES_M_STALL] = 1,
                                                [RES_M_DELAY_P50] = 1, [RES_M_DELAY_P99] = 1,
                                                [RES_M_SETUP] = 1, [RES_M_THROTTLE_LOSS] = 1,
                                                [RES_M_CPU_WORKERS] = 1};

static double res__metric(const mdl_result *r, int m) {
  switch (m) {
    case RES_M_TOTAL: return r->total_time_ms;
    case RES_M_BYTES: return (double)r->transferred_bytes;
    case RES_M_DOWNTIME: return r->downtime_ms;
    case RES_M_SETUP: return r->setup_time_ms;
    case RES_M_SYNCS: return (double)r->dirty_sync_count;
    case RES_M_REQUESTS: return (double)r->postcopy_requests;
    case RES_M_STALL: return r->guest_stall_ms;
    case RES_M_DELAYED: return r->delayed_share;
    case RES_M_DELAY_P50: return r->delay_p50_ms;
    case RES_M_THROTTLE: return (double)r->cpu_throttle_pct;
    case RES_M_THROTTLE_LOSS: return r->guest_throttle_ms;
    case RES_M_XBZ_PAGES: return (double)r->xbzrle_pages;
    case RES_M_XBZ_BYTES: return (double)r->xbzrle_bytes;
    case RES_M_XBZ_MISS: return (double)r->xbzrle_cache_miss;
    case RES_M_MULTIFD_BYTES: return (double)r->multifd_bytes;
    case RES_M_COMPRESSED_SIZE: return (double)r->compressed_size;
    case RES_M_CPU_WORKERS: return r->cpu_workers_ms;
    default: return r->delay_p99_ms;
  }
}

/* Whether the scenario turns on the feature metric m counts for (every
 * metric before RES_M_THROTTLE belongs to no feature). */
static int res__feature_on(const mdl_scenario *s, int m) {
  if (m < RES_M_THROTTLE) return 1;
  if (m <= RES_M_THROTTLE_LOSS) return s->auto_converge;
  if (m <= RES_M_XBZ_MISS) return s->xbzrle;
  if (m == RES_M_MULTIFD_BYTES) return s->multifd;
  return m == RES_M_COMPRESSED_SIZE ? s->compress : s->multifd || s->compress;
}

/* Whether metric m is compared for this pair: guest-side metrics only where
 * the real run went through post-copy (its guest could fault), delay
 * percentiles only where both sides have one. */
static int res__applies(const mdl_result *sim, const mdl_result *real, int m) {
  int postcopy = real->postcopy_bytes > 0 || real->postcopy_requests > 0;
  switch (m) {
    case RES_M_THROTTLE:
    case RES_M_THROTTLE_LOSS: return sim->cpu_throttle_pct > 0 || real->cpu_throttle_pct > 0;
    case RES_M_REQUESTS:
    case RES_M_STALL:
    case RES_M_DELAYED: return postcopy;
    case RES_M_DELAY_P50:
    case RES_M_DELAY_P99: return postcopy && res__metric(sim, m) >= 0 && res__metric(real, m) >= 0;
    case RES_M_CPU_WORKERS: return sim->cpu_workers_ms >= 0 && real->cpu_workers_ms >= 0; /* older runs: none */
    default: return 1;
  }
}

static double res__abs_pct(double predicted, double measured) {
  if (measured == 0) return predicted == 0 ? 0 : 100;
  return fabs(predicted - measured) / fabs(measured) * 100.0;
}

/* Median and 90th percentile of v[0..n) (sorted in place). */
static void res__quantiles(double *v, size_t n, double *median, double *p90) {
  if (n == 0) {
    *median = *p90 = NAN;
    return;
  }
  gsl_sort(v, 1, n);
  *median = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.5);
  *p90 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.9);
}

/* The checks' rules, one definition each: the interval a prediction must
 * lie in to pass for a measured value x (for the error bounds, to be
 * within e of it). The share checks and the best-possible figures both
 * read them. */
enum { RES__IV_REL, RES__IV_ABS, RES__IV_DOWNTIME, RES__IV_REQUESTS, RES__IV_STALL };
static void res__interval(int rule, double x, double e, double *lo, double *hi) {
  double w;
  switch (rule) {
    case RES__IV_REL: w = fabs(x) * e / 100.0; break;
    case RES__IV_ABS: w = e; break;
    case RES__IV_DOWNTIME: w = fmax(0.2 * x, 5.0); break;
    case RES__IV_REQUESTS:
      *lo = x / 1.5;
      *hi = x * 1.5;
      return;
    default: w = fmax(0.25 * x, 50.0); break;
  }
  *lo = x - w;
  *hi = x + w;
}

static int res__passes(int rule, double pred, double meas) {
  double lo, hi;
  res__interval(rule, meas, 0, &lo, &hi);
  return pred >= lo && pred <= hi;
}
static int res__downtime_ok(double pred, double meas) { return res__passes(RES__IV_DOWNTIME, pred, meas); }
static int res__stall_ok(double pred, double meas) { return res__passes(RES__IV_STALL, pred, meas); }
static int res__requests_ok(double pred, double meas) { return res__passes(RES__IV_REQUESTS, pred, meas); }
static int res__requests_counted(const mdl_algorithm *algo, const mdl_result *real) {
  return real->postcopy_requests >= 20 && mdl_algorithm_has_capability(algo, "postcopy-ram");
}

/* The most of x[0..n) that one prediction can pass under `rule`. Closed
 * intervals that share a point all contain the largest of their left
 * ends, so trying every left end finds the best prediction. A relative
 * 1e-9 of slack keeps two intervals that meet exactly (at a candidate
 * error of res_best_error) meeting after rounding. */
static size_t res__most_passed(const double *x, size_t n, int rule, double e) {
  size_t best = 0;
  for (size_t i = 0; i < n; i++) {
    double p, unused;
    res__interval(rule, x[i], e, &p, &unused);
    size_t c = 0;
    for (size_t j = 0; j < n; j++) {
      double lo, hi;
      res__interval(rule, x[j], e, &lo, &hi);
      c += lo - 1e-9 * fabs(lo) <= p && p <= hi + 1e-9 * fabs(hi);
    }
    if (c > best) best = c;
  }
  return best;
}

static size_t res__best_passed(const double *x, const size_t *first, size_t ncluster, int rule, double e) {
  size_t sum = 0;
  for (size_t i = 0; i < ncluster; i++) sum += res__most_passed(x + first[i], first[i + 1] - first[i], rule, e);
  return sum;
}

static int res__cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double res_best_error(const double *x, const size_t *first, size_t ncluster, size_t need, int relative) {
  size_t n = first[ncluster] - first[0];
  if (!need) return 0;
  if (need > n) return INFINITY;
  /* The passing sets change only where two values' intervals start to
   * meet: each such error (and 0) is a candidate; the count passed grows
   * with the error, so the answer is the first candidate that passes
   * `need`, found by bisection. */
  size_t pairs = 0;
  for (size_t i = 0; i < ncluster; i++) {
    size_t m = first[i + 1] - first[i];
    pairs += m * (m - 1) / 2;
  }
  double *cand = malloc((pairs + 1) * sizeof *cand);
  if (!cand) return NAN;
  size_t nc = 0;
  cand[nc++] = 0;
  for (size_t i = 0; i < ncluster; i++)
    for (size_t a = first[i]; a < first[i + 1]; a++)
      for (size_t b = a + 1; b < first[i + 1]; b++) {
        double lo = fmin(x[a], x[b]), hi = fmax(x[a], x[b]);
        if (!relative)
          cand[nc++] = (hi - lo) / 2;
        else
          cand[nc++] = lo + hi > 0 ? (hi - lo) / (lo + hi) * 100.0 : 0;
      }
  qsort(cand, nc, sizeof *cand, res__cmp_double);
  int rule = relative ? RES__IV_REL : RES__IV_ABS;
  size_t lo = 0, hi = nc - 1; /* the largest candidate lets every cluster pass all its values */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (res__best_passed(x, first, ncluster, rule, cand[mid]) >= need)
      hi = mid;
    else
      lo = mid + 1;
  }
  double best = cand[lo];
  free(cand);
  return best;
}

/* How many of n sorted errors the q-quantile (GSL's, interpolating
 * between order statistics) rests on at least: it is never below the
 * floor((n - 1) q) + 1-th smallest. */
static size_t res__quantile_rank(size_t n, double q) { return n ? (size_t)floor((double)(n - 1) * q) + 1 : 0; }

/* Median of metric m over the completed real runs of c other than run
 * `skip` where it applies; 0 when there is none. */
static int res__others_median(const res_case *c, size_t skip, int m, double *ref) {
  double v[64];
  size_t n = 0;
  for (size_t k = 0; k < c->nreal && n < 64; k++) {
    const mdl_result *r = c->real[k];
    if (k == skip || r->status != MDL_STATUS_COMPLETED || !res__applies(r, r, m)) continue;
    v[n++] = res__metric(r, m);
  }
  if (!n) return 0;
  *ref = res_median(v, n);
  return 1;
}

/* The real system's own spread, with the statistics and checks that judge
 * the model: each completed real run against the median of its
 * scenario's other completed runs. `rel` has room for every run per metric. */
static void res__floor(const res_case *cases, size_t ncases, double *const *rel, res_validation *out) {
  size_t down_n = 0, down_ok = 0, req_n = 0, req_ok = 0, stall_n = 0, stall_ok = 0;
  for (size_t i = 0; i < ncases; i++) {
    const res_case *c = &cases[i];
    const mdl_algorithm *algo = mdl_algorithm_of(c->scenario->algo);
    for (size_t k = 0; k < c->nreal; k++) {
      const mdl_result *real = c->real[k];
      if (real->status != MDL_STATUS_COMPLETED) continue;
      double ref;
      if (res__others_median(c, k, RES_M_DOWNTIME, &ref)) {
        down_n++;
        down_ok += (size_t)res__downtime_ok(ref, real->downtime_ms);
      }
      if (res__requests_counted(algo, real) && res__others_median(c, k, RES_M_REQUESTS, &ref)) {
        req_n++;
        req_ok += (size_t)res__requests_ok(ref, (double)real->postcopy_requests);
      }
      if (algo->switch_at_start && res__others_median(c, k, RES_M_STALL, &ref)) {
        stall_n++;
        stall_ok += (size_t)res__stall_ok(ref, real->guest_stall_ms);
      }
      for (int m = 0; m < RES_M_COUNT; m++) {
        if (!res__feature_on(c->scenario, m) || !res__applies(real, real, m)) continue;
        if (!res__others_median(c, k, m, &ref)) continue;
        res_metric_error *e = &out->metric[m];
        rel[m][e->floor_n++] = res__abs_pct(ref, res__metric(real, m));
      }
    }
  }
  for (int m = 0; m < RES_M_COUNT; m++) {
    res_metric_error *e = &out->metric[m];
    res__quantiles(rel[m], e->floor_n, &e->floor_median_pct, &e->floor_p90_pct);
  }
  out->downtime_ok_floor = down_n ? (double)down_ok / (double)down_n : NAN;
  out->requests_ok_floor = req_n ? (double)req_ok / (double)req_n : NAN;
  out->stall_ok_floor = stall_n ? (double)stall_ok / (double)stall_n : NAN;
}

void res_cluster_interval(const double *v, const size_t *first, size_t ncluster, double q, double *lo, double *hi) {
  enum { DRAWS = 4000 };
  *lo = *hi = NAN;
  size_t widest = 0;
  for (size_t i = 0; i < ncluster; i++)
    if (first[i + 1] - first[i] > widest) widest = first[i + 1] - first[i];
  if (!widest) return;
  double *stat = malloc(DRAWS * sizeof *stat), *pool = malloc(widest * ncluster * sizeof *pool);
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!stat || !pool || !rng) {
    free(stat);
    free(pool);
    if (rng) gsl_rng_free(rng);
    return;
  }
  gsl_rng_set(rng, 20261202);
  size_t m = 0;
  for (int d = 0; d < DRAWS; d++) {
    size_t n = 0;
    for (size_t j = 0; j < ncluster; j++) {
      size_t i = (size_t)gsl_rng_uniform_int(rng, ncluster);
      for (size_t k = first[i]; k < first[i + 1]; k++) pool[n++] = v[k];
    }
    if (!n) continue; /* a draw of clusters without values has no statistic */
    if (q < 0) {
      stat[m++] = gsl_stats_mean(pool, 1, n);
    } else {
      gsl_sort(pool, 1, n);
      stat[m++] = gsl_stats_quantile_from_sorted_data(pool, 1, n, q);
    }
  }
  if (m) {
    gsl_sort(stat, 1, m);
    *lo = gsl_stats_quantile_from_sorted_data(stat, 1, m, 0.025);
    *hi = gsl_stats_quantile_from_sorted_data(stat, 1, m, 0.975);
  }
  gsl_rng_free(rng);
  free(pool);
  free(stat);
}

/* "75–90%" for an interval of fractions with `decimals` digits, "" when
 * it has none. */
static void res__interval_text(char *buf, size_t size, double lo, double hi, int decimals) {
  if (isnan(lo) || isnan(hi))
    snprintf(buf, size, "%s", "");
  else if (lo == hi) /* every draw the same: a share of 0 or 100 % */
    snprintf(buf, size, "%.*f%%", decimals, lo * 100);
  else
    snprintf(buf, size, "%.*f–%.*f%%", decimals, lo * 100, decimals, hi * 100);
}

/* The best median and p90 of the relative errors (relative) or median of
 * the absolute errors a prediction could reach on the measured values x
 * (clustered by scenario), for the metric's targets. */
static void res__best(const double *x, const size_t *first, size_t ncases, int relative, res_metric_error *e) {
  size_t n = first[ncases] - first[0];
  if (!n) return;
  double median = res_best_error(x, first, ncases, res__quantile_rank(n, 0.5), relative);
  if (!relative) {
    e->best_median_abs = median;
    return;
  }
  e->best_median_pct = median;
  e->best_p90_pct = res_best_error(x, first, ncases, res__quantile_rank(n, 0.9), 1);
}

int res_validate(const res_case *cases, size_t ncases, res_validation *out) {
  memset(out, 0, sizeof *out);
  size_t total = 0;
  for (size_t i = 0; i < ncases; i++) total += cases[i].nreal;
  double *err = malloc((total ? total : 1) * 2 * RES_M_COUNT * sizeof(double));
  if (!err) return sim_errorf(SIM_ENOMEM, "out of memory");
  double *rel[RES_M_COUNT], *abs_err[RES_M_COUNT];
  for (int m = 0; m < RES_M_COUNT; m++) {
    rel[m] = err + (size_t)(2 * m) * (total ? total : 1);
    abs_err[m] = err + (size_t)(2 * m + 1) * (total ? total : 1);
    out->metric[m].name = res__metric_names[m];
    out->metric[m].in_ms = res__metric_ms[m];
  }
  size_t syncs_ok = 0, down_ok = 0, conv_ok = 0, req_ok = 0, stall_ok = 0;
  /* For the intervals: each run's pass (1) or miss (0) of the three share
   * checks, and per scenario where its values start in those arrays and in
   * the error arrays of the metrics with targets. */
  /* For the best scores any prediction could reach: the measured values
   * behind the targeted errors and the share checks (F_DONE: the completed
   * real runs' downtimes, `open` the other runs of each scenario). */
  enum { F_DOWN, F_REQ, F_STALL, F_TOTAL, F_BYTES, F_DOWNTIME_ABS, F_DONE, F_COUNT };
  enum { V_TOTAL, V_BYTES, V_DOWNTIME, V_DONE, V_REQ, V_STALL, V_COUNT };
  size_t room = total ? total : 1;
  double *pass = malloc((3 + V_COUNT) * room * sizeof *pass);
  size_t *first[F_COUNT];
  first[0] = malloc((F_COUNT + 1) * (ncases + 1) * sizeof *first[0]);
  if (!pass || !first[0]) {
    free(pass);
    free(first[0]);
    free(err);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  for (int f = 1; f < F_COUNT; f++) first[f] = first[0] + (size_t)f * (ncases + 1);
  size_t *open = first[0] + (size_t)F_COUNT * (ncases + 1);
  double *pass_down = pass, *pass_req = pass + room, *pass_stall = pass + 2 * room;
  double *val[V_COUNT];
  for (int k = 0; k < V_COUNT; k++) val[k] = pass + (size_t)(3 + k) * room;
  size_t n_down = 0, n_req = 0, n_stall = 0, n_done = 0;
  for (size_t i = 0;; i++) {
    /* Where scenario i's values start; at i == ncases, where they end. */
    first[F_DONE][i] = n_done;
    first[F_DOWN][i] = n_down;
    first[F_REQ][i] = n_req;
    first[F_STALL][i] = n_stall;
    first[F_TOTAL][i] = out->metric[RES_M_TOTAL].n;
    first[F_BYTES][i] = out->metric[RES_M_BYTES].n;
    first[F_DOWNTIME_ABS][i] = out->metric[RES_M_DOWNTIME].n;
    if (i == ncases) break;
    const res_case *c = &cases[i];
    open[i] = 0;
    for (size_t k = 0; k < c->nreal; k++) {
      const mdl_result *real = c->real[k];
      if (real->status == MDL_STATUS_FAILED) {
        out->failed_runs++;
        continue;
      }
      out->runs++;
      if (real->status == MDL_STATUS_COMPLETED)
        val[V_DONE][n_done++] = real->downtime_ms;
      else
        open[i]++;
      if (real->status == c->sim->status) conv_ok++;
      if (real->dirty_sync_count == c->sim->dirty_sync_count) syncs_ok++;
      if (real->status != MDL_STATUS_COMPLETED || c->sim->status != MDL_STATUS_COMPLETED) {
        /* A run cancelled at the timeout has no final metrics to compare;
         * only its verdict counts. */
        int same = real->status == c->sim->status;
        down_ok += (size_t)same;
        pass_down[n_down++] = same;
        continue;
      }
      int ok = res__downtime_ok(c->sim->downtime_ms, real->downtime_ms);
      down_ok += (size_t)ok;
      pass_down[n_down++] = ok;
      const mdl_algorithm *algo = mdl_algorithm_of(c->scenario->algo);
      if (res__requests_counted(algo, real)) {
        out->requests_runs++;
        ok = res__requests_ok((double)c->sim->postcopy_requests, (double)real->postcopy_requests);
        req_ok += (size_t)ok;
        val[V_REQ][n_req] = (double)real->postcopy_requests;
        pass_req[n_req++] = ok;
      }
      if (algo->switch_at_start) {
        out->stall_runs++;
        ok = res__stall_ok(c->sim->guest_stall_ms, real->guest_stall_ms);
        stall_ok += (size_t)ok;
        val[V_STALL][n_stall] = real->guest_stall_ms;
        pass_stall[n_stall++] = ok;
      }
      for (int m = 0; m < RES_M_COUNT; m++) {
        if (!res__feature_on(c->scenario, m) || !res__applies(c->sim, real, m)) continue;
        res_metric_error *e = &out->metric[m];
        double pred = res__metric(c->sim, m), meas = res__metric(real, m);
        rel[m][e->n] = res__abs_pct(pred, meas);
        abs_err[m][e->n] = fabs(pred - meas);
        if (m == RES_M_TOTAL || m == RES_M_BYTES || m == RES_M_DOWNTIME)
          val[m == RES_M_TOTAL ? V_TOTAL : m == RES_M_BYTES ? V_BYTES : V_DOWNTIME][e->n] = meas;
        e->n++;
      }
    }
  }
  res_cluster_interval(pass_down, first[F_DOWN], ncases, -1, &out->downtime_ok_lo, &out->downtime_ok_hi);
  res_cluster_interval(pass_req, first[F_REQ], ncases, -1, &out->requests_ok_lo, &out->requests_ok_hi);
  res_cluster_interval(pass_stall, first[F_STALL], ncases, -1, &out->stall_ok_lo, &out->stall_ok_hi);
  for (int m = 0; m < RES_M_COUNT; m++) {
    res_metric_error *e = &out->metric[m];
    e->median_lo = e->median_hi = e->p90_lo = e->p90_hi = e->median_abs_lo = e->median_abs_hi = NAN;
    e->best_median_pct = e->best_p90_pct = e->best_median_abs = NAN;
  }
  /* Before res__quantiles sorts the error arrays. */
  static const int targeted[][2] = {{RES_M_TOTAL, F_TOTAL}, {RES_M_BYTES, F_BYTES}, {RES_M_DOWNTIME, F_DOWNTIME_ABS}};
  for (size_t t = 0; t < sizeof targeted / sizeof targeted[0]; t++) {
    res_metric_error *e = &out->metric[targeted[t][0]];
    const size_t *f = first[targeted[t][1]];
    res_cluster_interval(rel[targeted[t][0]], f, ncases, 0.5, &e->median_lo, &e->median_hi);
    res_cluster_interval(rel[targeted[t][0]], f, ncases, 0.9, &e->p90_lo, &e->p90_hi);
    res_cluster_interval(abs_err[targeted[t][0]], f, ncases, 0.5, &e->median_abs_lo, &e->median_abs_hi);
  }
  res__best(val[V_TOTAL], first[F_TOTAL], ncases, 1, &out->metric[RES_M_TOTAL]);
  res__best(val[V_BYTES], first[F_BYTES], ncases, 1, &out->metric[RES_M_BYTES]);
  res__best(val[V_DOWNTIME], first[F_DOWNTIME_ABS], ncases, 0, &out->metric[RES_M_DOWNTIME]);
  /* Per scenario the better of a completed prediction (its downtime passing
   * as many completed runs as one value can) and a not-converged one (the
   * other runs' verdicts right, no downtime to judge). */
  size_t down_best = 0, verdict_best = 0;
  for (size_t i = 0; i < ncases; i++) {
    size_t done = first[F_DONE][i + 1] - first[F_DONE][i];
    size_t most = res__most_passed(val[V_DONE] + first[F_DONE][i], done, RES__IV_DOWNTIME, 0);
    down_best += most > open[i] ? most : open[i];
    verdict_best += done > open[i] ? done : open[i];
  }
  out->downtime_ok_best = out->runs ? (double)down_best / (double)out->runs : NAN;
  out->convergence_ok_best = out->runs ? (double)verdict_best / (double)out->runs : NAN;
  out->requests_ok_best =
      n_req ? (double)res__best_passed(val[V_REQ], first[F_REQ], ncases, RES__IV_REQUESTS, 0) / (double)n_req : NAN;
  out->stall_ok_best =
      n_stall ? (double)res__best_passed(val[V_STALL], first[F_STALL], ncases, RES__IV_STALL, 0) / (double)n_stall
              : NAN;
  free(pass);
  free(first[0]);
  for (int m = 0; m < RES_M_COUNT; m++) {
    res_metric_error *e = &out->metric[m];
    res__quantiles(rel[m], e->n, &e->median_abs_pct, &e->p90_abs_pct);
    res__quantiles(abs_err[m], e->n, &e->median_abs, &e->p90_abs);
  }
  res__floor(cases, ncases, rel, out); /* reuses the error arrays */
  free(err);
  if (out->runs) {
    out->syncs_exact_share = (double)syncs_ok / (double)out->runs;
    out->downtime_ok_share = (double)down_ok / (double)out->runs;
    out->convergence_ok_share = (double)conv_ok / (double)out->runs;
  }
  out->requests_ok_share = out->requests_runs ? (double)req_ok / (double)out->requests_runs : NAN;
  out->stall_ok_share = out->stall_runs ? (double)stall_ok / (double)out->stall_runs : NAN;
  return 0;
}

/* Creates DIR/NAME with these columns (written whole at res_csv_commit). */
static int res__csv_in(const char *dir, const char *name, const char *const *cols, size_t ncols, res_csv **c) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return res_csv_create(path, cols, ncols, c);
}

/* The targets, one table for --check, checks.csv and the report's check
 * table: a figure, its limit (at most, or at least), the real runs' own
 * figure judged the same way (real vs real), its 95 % interval
 * (scenarios resampled; none for the verdicts, which must all be right)
 * and the best any prediction could score on these runs.
 * For the report: a label, the figure's kind and decimals, and for shares
 * the runs counted (0: "of runs"; with `runs_word`, "of N runs"). */
enum { RES__PCT, RES__SHARE, RES__MS };

typedef struct {
  const char *name, *label;
  double value, limit;
  int at_least;
  double floor, lo, hi, best;
  int kind, decimals;
  size_t runs;
  int runs_word;
} res__goal;

enum { RES__GOALS_MAX = 9 };

static size_t res__goals(const res_validation *v, res__goal *g) {
  const res_metric_error *t = &v->metric[RES_M_TOTAL], *b = &v->metric[RES_M_BYTES], *d = &v->metric[RES_M_DOWNTIME];
  size_t n = 0;
  g[n++] = (res__goal){"total_time_ms median error %", "total_time_ms median error", t->median_abs_pct, 2.0, 0,
                       t->floor_median_pct, t->median_lo, t->median_hi, t->best_median_pct, RES__PCT, 1, 0, 0};
  g[n++] = (res__goal){"total_time_ms p90 error %", "total_time_ms p90 error", t->p90_abs_pct, 5.0, 0,
                       t->floor_p90_pct, t->p90_lo, t->p90_hi, t->best_p90_pct, RES__PCT, 1, 0, 0};
  g[n++] = (res__goal){"transferred_bytes median error %", "transferred_bytes median error", b->median_abs_pct, 0.5, 0,
                       b->floor_median_pct, b->median_lo, b->median_hi, b->best_median_pct, RES__PCT, 2, 0, 0};
  g[n++] = (res__goal){"transferred_bytes p90 error %", "transferred_bytes p90 error", b->p90_abs_pct, 2.0, 0,
                       b->floor_p90_pct, b->p90_lo, b->p90_hi, b->best_p90_pct, RES__PCT, 2, 0, 0};
  g[n++] = (res__goal){"downtime within max(20%, 5 ms) (share)", "downtime within max(20%, 5 ms)",
                       v->downtime_ok_share, 0.85, 1, v->downtime_ok_floor, v->downtime_ok_lo, v->downtime_ok_hi,
                       v->downtime_ok_best, RES__SHARE, 1, v->runs, 1};
  g[n++] = (res__goal){"downtime median abs error ms", "downtime median abs error", d->median_abs, 5.0, 0, NAN,
                       d->median_abs_lo, d->median_abs_hi, d->best_median_abs, RES__MS, 1, 0, 0};
  if (v->requests_runs)
    g[n++] = (res__goal){"postcopy_requests within x1.5 (share)",
                         "postcopy_requests within ×1.5 (runs with ≥ 20 real requests)", v->requests_ok_share, 0.8, 1,
                         v->requests_ok_floor, v->requests_ok_lo, v->requests_ok_hi, v->requests_ok_best,
                         RES__SHARE, 0, v->requests_runs, 0};
  if (v->stall_runs)
    g[n++] = (res__goal){"guest_stall_ms within max(25%, 50 ms) (share)",
                         "guest_stall_ms within max(25%, 50 ms) (post-copy runs)", v->stall_ok_share, 0.8, 1,
                         v->stall_ok_floor, v->stall_ok_lo, v->stall_ok_hi, v->stall_ok_best, RES__SHARE, 0,
                         v->stall_runs, 0};
  g[n++] = (res__goal){"convergence verdict right (share)", "convergence verdict right", v->convergence_ok_share,
                       1.0, 1, NAN, NAN, NAN, v->convergence_ok_best, RES__SHARE, 0, 0, 0};
  return n;
}

/* One row of the report's check table: label, figure, interval, target,
 * real vs real, best possible (an empty cell where there is none). */
static void res__goal_row(FILE *o, const res__goal *g) {
  double scale = g->kind == RES__SHARE ? 100.0 : 1.0;
  const char *unit = g->kind == RES__MS ? " ms" : "%";
  char cell[5][80] = {"", "", "", "", ""};
  if (g->kind != RES__SHARE)
    snprintf(cell[0], sizeof cell[0], "%.*f%s", g->decimals, g->value, unit);
  else if (!g->runs)
    snprintf(cell[0], sizeof cell[0], "%.*f%% of runs", g->decimals, g->value * scale);
  else
    snprintf(cell[0], sizeof cell[0], "%.*f%% of %zu%s", g->decimals, g->value * scale, g->runs,
             g->runs_word ? " runs" : "");
  if (g->kind == RES__MS && !isnan(g->lo))
    snprintf(cell[1], sizeof cell[1], "%.1f–%.1f ms", g->lo, g->hi);
  else if (g->kind != RES__MS)
    res__interval_text(cell[1], sizeof cell[1], g->lo * scale / 100, g->hi * scale / 100,
                       g->kind == RES__PCT ? g->decimals : 0);
  if (g->at_least && g->limit * scale == 100.0) /* all of them */
    snprintf(cell[2], sizeof cell[2], "100%%");
  else
    snprintf(cell[2], sizeof cell[2], "%s %g%s", g->at_least ? "≥" : "≤", g->limit * scale, unit);
  if (!isnan(g->floor))
    snprintf(cell[3], sizeof cell[3], "%.*f%%", g->kind == RES__PCT ? g->decimals : 0, g->floor * scale);
  if (!isnan(g->best))
    snprintf(cell[4], sizeof cell[4], "%.*f%s", g->kind == RES__SHARE ? 1 : g->decimals, g->best * scale, unit);
  fprintf(o, "| %s |", g->label);
  for (int k = 0; k < 5; k++) {
    if (*cell[k])
      fprintf(o, " %s |", cell[k]);
    else
      fputs(" |", o);
  }
  fputc('\n', o);
}

static int res__goal_met(const res__goal *g) { return g->at_least ? g->value >= g->limit : g->value <= g->limit; }

int res_validate_check(const res_validation *v, FILE *out) {
  res__goal g[RES__GOALS_MAX];
  size_t n = res__goals(v, g);
  int missed = 0;
  for (size_t i = 0; i < n; i++) {
    if (res__goal_met(&g[i])) continue;
    missed++;
    if (!out) continue;
    /* The real runs' own figure, printed so that a miss inside the real
     * system's own spread reads as such. */
    fprintf(out, "validate: target missed: %s = %.3g (target %s %.3g", g[i].name, g[i].value,
            g[i].at_least ? ">=" : "<=", g[i].limit);
    if (!isnan(g[i].floor)) fprintf(out, "; real vs real %.3g", g[i].floor);
    if (!isnan(g[i].lo) && !isnan(g[i].hi)) fprintf(out, "; 95%% interval %.3g-%.3g", g[i].lo, g[i].hi);
    if (!isnan(g[i].best)) fprintf(out, "; best possible %.3g", g[i].best);
    fprintf(out, ")\n");
  }
  return missed;
}

/* DIR/checks.csv: the targets as a table (one row each). */
static int res__checks_csv(const char *dir, const res_validation *v) {
  static const char *const cols[] = {"check",       "value",       "target",      "target_is",    "met",
                                     "real_vs_real", "interval_lo", "interval_hi", "best_possible"};
  res_csv *c;
  int rc = res__csv_in(dir, "checks.csv", cols, sizeof cols / sizeof cols[0], &c);
  if (rc) return rc;
  res__goal g[RES__GOALS_MAX];
  size_t n = res__goals(v, g);
  for (size_t i = 0; i < n && !rc; i++) {
    res_csv_str(c, g[i].name);
    res_csv_double(c, g[i].value);
    res_csv_double(c, g[i].limit);
    res_csv_str(c, g[i].at_least ? "min" : "max");
    res_csv_u64(c, (uint64_t)res__goal_met(&g[i]));
    res_csv_double(c, g[i].floor);
    res_csv_double(c, g[i].lo);
    res_csv_double(c, g[i].hi);
    res_csv_double(c, g[i].best);
    rc = res_csv_end_row(c);
  }
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

/* Median of the real runs' metric m (completed runs only), with min/max. */
static size_t res__real_stats(const res_case *c, int m, double *median, double *lo, double *hi) {
  double v[64];
  size_t n = 0;
  for (size_t k = 0; k < c->nreal && n < 64; k++)
    if (c->real[k]->status == MDL_STATUS_COMPLETED && res__metric(c->real[k], m) >= 0)
      v[n++] = res__metric(c->real[k], m);
  if (!n) {
    *median = *lo = *hi = NAN;
    return 0;
  }
  *median = res_median(v, n); /* sorts v */
  *lo = v[0];
  *hi = v[n - 1];
  return n;
}

static int res__errors_csv(const char *dir, const res_case *cases, size_t ncases) {
  static const char *const cols[] = {"scenario", "algo", "metric", "predicted", "measured_median",
                                     "measured_min", "measured_max", "real_runs", "abs_pct_error",
                                     "sim_status", "real_status"};
  res_csv *c;
  int rc = res__csv_in(dir, "errors.csv", cols, sizeof cols / sizeof cols[0], &c);
  if (rc) return rc;
  for (size_t i = 0; i < ncases && !rc; i++) {
    const res_case *k = &cases[i];
    const char *real_status = k->nreal ? mdl_status_name(k->real[0]->status) : "";
    for (int m = 0; m < RES_M_COUNT && !rc; m++) {
      if (!res__feature_on(k->scenario, m)) continue; /* a feature it does not use */
      double med, lo, hi;
      size_t n = res__real_stats(k, m, &med, &lo, &hi);
      double pred = res__metric(k->sim, m);
      res_csv_str(c, k->scenario->name);
      res_csv_str(c, mdl_algo_name(k->scenario->algo));
      res_csv_str(c, res__metric_names[m]);
      if (pred < 0 && m >= RES_M_DELAYED)
        res_csv_empty(c); /* nothing delayed: no percentile */
      else
        res_csv_double(c, pred);
      res_csv_double(c, med);
      res_csv_double(c, lo);
      res_csv_double(c, hi);
      res_csv_u64(c, n);
      res_csv_double(c, n && k->sim->status == MDL_STATUS_COMPLETED ? res__abs_pct(pred, med) : NAN);
      res_csv_str(c, mdl_status_name(k->sim->status));
      res_csv_str(c, real_status);
      rc = res_csv_end_row(c);
    }
  }
  if (rc) {
    res_csv_abort(c);
    return rc;
  }
  return res_csv_commit(c);
}

static int res__scatter(const char *dir, const res_case *cases, size_t ncases, int m) {
  double *x = malloc((ncases + 1) * sizeof *x), *y = malloc((ncases + 1) * sizeof *y);
  if (!x || !y) {
    free(x);
    free(y);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  size_t n = 0;
  double hi = 0;
  for (size_t i = 0; i < ncases; i++) {
    double med, lo, top;
    if (!res__real_stats(&cases[i], m, &med, &lo, &top) || cases[i].sim->status != MDL_STATUS_COMPLETED ||
        !res__feature_on(cases[i].scenario, m))
      continue;
    x[n] = med;
    y[n] = res__metric(cases[i].sim, m);
    if (m == RES_M_BYTES) {
      x[n] /= 1048576.0;
      y[n] /= 1048576.0;
    }
    hi = fmax(hi, fmax(x[n], y[n]));
    n++;
  }
  int rc = 0;
  if (n) {
    double dx[2] = {0, hi * 1.05}, dy[2] = {0, hi * 1.05};
    res_plot_series s[2] = {{.name = "prediction vs measurement", .x = x, .y = y, .n = n}, {.name = "y = x", .x = dx, .y = dy, .n = 2}};
    /* Points only for the data: break the line between every point. */
    double *px = malloc(2 * n * sizeof *px), *py = malloc(2 * n * sizeof *py);
    if (!px || !py) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
    } else {
      for (size_t i = 0; i < n; i++) {
        px[2 * i] = x[i];
        py[2 * i] = y[i];
        px[2 * i + 1] = x[i];
        py[2 * i + 1] = NAN;
      }
      s[0].x = px;
      s[0].y = py;
      s[0].n = 2 * n;
      char path[1024], title[128], xl[96], yl[96];
      const char *unit = m == RES_M_BYTES ? " (MiB)" : "";
      snprintf(path, sizeof path, "%s/scatter_%s.png", dir, res__metric_names[m]);
      snprintf(title, sizeof title, "%s: predicted vs measured", res__metric_names[m]);
      snprintf(xl, sizeof xl, "measured (median of real runs)%s", unit);
      snprintf(yl, sizeof yl, "predicted%s", unit);
      res_plot_opts o = {0};
      o.title = title;
      o.x_label = xl;
      o.y_label = yl;
      o.markers = 1;
      rc = res_plot_lines(path, &o, s, 2);
    }
    free(px);
    free(py);
  }
  free(x);
  free(y);
  return rc;
}

int res_round_overlay(const char *dir, const res_case *c) {
  enum { MAXS = 9 };
  res_plot_series s[MAXS];
  double *buf[MAXS][2] = {{0}};
  char names[MAXS][32];
  size_t ns = 0;
  int rc = 0;
  for (size_t k = 0; k <= c->nreal && ns < MAXS; k++) {
    const mdl_result *r = k == 0 ? c->sim : c->real[k - 1];
    if (!r->round_count) continue;
    buf[ns][0] = malloc(r->round_count * sizeof(double));
    buf[ns][1] = malloc(r->round_count * sizeof(double));
    if (!buf[ns][0] || !buf[ns][1]) {
      rc = sim_errorf(SIM_ENOMEM, "out of memory");
      ns++;
      break;
    }
    for (size_t i = 0; i < r->round_count; i++) {
      buf[ns][0][i] = r->rounds[i].round;
      buf[ns][1][i] = (double)r->rounds[i].bytes_sent / 1048576.0;
    }
    if (k == 0)
      snprintf(names[ns], sizeof names[ns], "simulated");
    else
      snprintf(names[ns], sizeof names[ns], "real run %zu", k);
    s[ns] = (res_plot_series){.name = names[ns], .x = buf[ns][0], .y = buf[ns][1], .n = r->round_count};
    ns++;
  }
  if (!rc && ns) {
    char path[1024], title[200], safe[128];
    snprintf(safe, sizeof safe, "%.127s", c->scenario->name); /* a file name: cut on purpose */
    for (char *p = safe; *p; p++)
      if (*p == '/' || *p == ' ') *p = '_';
    snprintf(path, sizeof path, "%s/rounds_%s.png", dir, safe);
    snprintf(title, sizeof title, "%.160s: bytes sent per round", c->scenario->name);
    res_plot_opts o = {0};
    o.title = title;
    o.x_label = "round (dirty sync)";
    o.y_label = "MiB sent in the round";
    o.markers = 1;
    rc = res_plot_lines(path, &o, s, ns);
  }
  for (size_t i = 0; i < ns; i++) {
    free(buf[i][0]);
    free(buf[i][1]);
  }
  return rc;
}

/* "Real runs made on: ...": each machine and QEMU version the real runs
 * record, with its count, so a report says which host it describes
 * (docs/hosts.md). */
static void res__machines(FILE *o, const res_case *cases, size_t ncases) {
  enum { MAX = 8 };
  const char *host[MAX], *version[MAX];
  size_t count[MAX], n = 0, other = 0;
  for (size_t c = 0; c < ncases; c++)
    for (size_t k = 0; k < cases[c].nreal; k++) {
      const mdl_result *r = cases[c].real[k];
      const char *h = r->host_cpu[0] ? r->host_cpu : "a machine not recorded";
      size_t i = 0;
      while (i < n && (strcmp(host[i], h) || strcmp(version[i], r->qemu_version))) i++;
      if (i == n && n == MAX) {
        other++;
        continue;
      }
      if (i == n) {
        host[n] = h;
        version[n] = r->qemu_version;
        count[n++] = 0;
      }
      count[i]++;
    }
  if (!n) return;
  fprintf(o, "Real runs made on:");
  for (size_t i = 0; i < n; i++)
    fprintf(o, "%s %s, QEMU %s (%zu runs)", i ? ";" : "", host[i], version[i][0] ? version[i] : "?", count[i]);
  if (other) fprintf(o, "; %zu runs on other machines or versions", other);
  fprintf(o, ".\n\n");
}

/* Sort key of the report's metric table: median error, unmeasured last. */
static double res__weakness(const res_validation *v, int m) {
  double e = v->metric[m].median_abs_pct;
  return isnan(e) ? -1 : e;
}

int res_validate_write(const char *dir, const res_case *cases, size_t ncases,
                       const res_validation *v, const char *command, const char *notes) {
  int rc = sim_mkdir_p(dir);
  if (!rc) rc = res__errors_csv(dir, cases, ncases);
  if (!rc) rc = res__checks_csv(dir, v);
  for (int m = 0; m < RES_M_COUNT && !rc; m++) rc = res__scatter(dir, cases, ncases, m);
  if (rc) return rc;
  char path[1024];
  snprintf(path, sizeof path, "%s/validation.md", dir);
  sim_file *f;
  if ((rc = sim_file_open(path, &f))) return rc;
  FILE *o = sim_file_stream(f);
  fprintf(o, "# Validation: simulator vs real QEMU\n\nMade by:\n\n```\n%s\n```\n\n", command);
  fprintf(o, "%zu scenarios, %zu real runs (%zu failed runs excluded).\n\n", ncases, v->runs, v->failed_runs);
  res__machines(o, cases, ncases);
  /* Weakest metric first, so that the table cannot flatter the model. */
  int order[RES_M_COUNT];
  for (int m = 0; m < RES_M_COUNT; m++) order[m] = m;
  for (int a = 1; a < RES_M_COUNT; a++)
    for (int b = a; b > 0 && res__weakness(v, order[b]) > res__weakness(v, order[b - 1]); b--) {
      int t = order[b];
      order[b] = order[b - 1];
      order[b - 1] = t;
    }
  fprintf(o, "| metric | median error | p90 error | median abs error | p90 abs error | runs compared | "
             "run-to-run median | run-to-run p90 |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int i = 0; i < RES_M_COUNT; i++) {
    const res_metric_error *e = &v->metric[order[i]];
    if (!e->n) continue; /* no run to compare: a feature no scenario uses, no post-copy run */
    char ma[32] = "", pa[32] = "";
    if (e->in_ms && e->n) {
      snprintf(ma, sizeof ma, "%.1f ms", e->median_abs);
      snprintf(pa, sizeof pa, "%.1f ms", e->p90_abs);
    }
    char fm[32] = "", fp[32] = "";
    if (e->floor_n) {
      snprintf(fm, sizeof fm, "%.1f%%", e->floor_median_pct);
      snprintf(fp, sizeof fp, "%.1f%%", e->floor_p90_pct);
    }
    fprintf(o, "| %s | %.1f%% | %.1f%% | %s | %s | %zu | %s | %s |\n", e->name, e->median_abs_pct,
            e->p90_abs_pct, ma, pa, e->n, fm, fp);
  }
  fprintf(o, "\nErrors are per real run, |predicted - measured| / measured; guest-side metrics "
             "count the runs whose real migration went through post-copy, a feature's counters "
             "(throttle, xbzrle) the runs of scenarios that turn the feature on. Run-to-run: the "
             "real system's own spread, each real run judged against the median of its scenario's "
             "other real runs instead of the prediction (a model that predicts each scenario's "
             "typical run exactly still shows about this much error).\n");
  res__goal g[RES__GOALS_MAX];
  size_t ng = res__goals(v, g);
  fprintf(o, "\n| check | result | 95%% interval | target | real vs real | best possible |\n"
             "|---|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < ng; i++) {
    /* The error targets first, then the exact syncs (no target), then the rest. */
    if (i == 4) fprintf(o, "| dirty_sync_count exact | %.0f%% of runs | | - | | |\n", v->syncs_exact_share * 100);
    res__goal_row(o, &g[i]);
  }
  fprintf(o, "\nThe 95%% intervals resample the scenarios, each with all its runs, with replacement "
             "(4000 draws, fixed seed): the runs of one scenario share one prediction and pass or miss "
             "together more often than independent runs would, so this is the honest width of a figure "
             "measured on this many scenarios. Best possible: the best any prediction could score on these "
             "real runs, one value per scenario chosen knowing them all (for the errors, a bound no prediction "
             "goes below); a target beyond it cannot be met with these runs, whatever the model.\n");
  fprintf(o, "\n## Per scenario\n\n| scenario | algo | sim status | real status | total ms sim / real | "
             "MiB sim / real | downtime ms sim / real | syncs sim / real | requests sim / real | "
             "stall ms sim / real |\n|---|---|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < ncases; i++) {
    const res_case *c = &cases[i];
    double t, b, d, s, q, st, lo, hi;
    res__real_stats(c, RES_M_REQUESTS, &q, &lo, &hi);
    res__real_stats(c, RES_M_STALL, &st, &lo, &hi);
    res__real_stats(c, RES_M_TOTAL, &t, &lo, &hi);
    res__real_stats(c, RES_M_BYTES, &b, &lo, &hi);
    res__real_stats(c, RES_M_DOWNTIME, &d, &lo, &hi);
    res__real_stats(c, RES_M_SYNCS, &s, &lo, &hi);
    /* Runs cancelled at the timeout have no final metrics: "-". */
    char rt[32] = "-", rb[32] = "-", rd[32] = "-", rs[32] = "-", rq[32] = "-", rst[32] = "-";
    if (!isnan(t)) {
      snprintf(rq, sizeof rq, "%.0f", q);
      snprintf(rst, sizeof rst, "%.0f", st);
      snprintf(rt, sizeof rt, "%.0f", t);
      snprintf(rb, sizeof rb, "%.1f", b / 1048576.0);
      snprintf(rd, sizeof rd, "%.1f", d);
      snprintf(rs, sizeof rs, "%.0f", s);
    }
    fprintf(o, "| %s | %s | %s | %s | %.0f / %s | %.1f / %s | %.1f / %s | %llu / %s | %llu / %s | %.0f / %s |\n",
            c->scenario->name, mdl_algo_name(c->scenario->algo), mdl_status_name(c->sim->status),
            c->nreal ? mdl_status_name(c->real[0]->status) : "-", c->sim->total_time_ms, rt,
            (double)c->sim->transferred_bytes / 1048576.0, rb, c->sim->downtime_ms, rd,
            (unsigned long long)c->sim->dirty_sync_count, rs, (unsigned long long)c->sim->postcopy_requests, rq,
            c->sim->guest_stall_ms, rst);
  }
  fprintf(o, "\nReal values are medians of the completed real runs. Files: `errors.csv`, `checks.csv` "
             "(the targets above, one row each), `sim/summary.csv`, `real/summary.csv` (and their `rounds.csv`), `scatter_*.png`, "
             "`rounds_*.png`.\n");
  if (notes && *notes) fprintf(o, "\n## Notes\n\n%s\n", notes);
  return sim_file_commit(f);
}
