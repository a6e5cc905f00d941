/* res_stats: medians, Mann-Whitney U, bootstrap interval of a median
 * difference (see res_stats.h). */
#include "res_stats.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"

double res_median(double *v, size_t n) {
  if (!n) return NAN;
  gsl_sort(v, 1, n);
  return gsl_stats_median_from_sorted_data(v, 1, n);
}

static int res__check(const double *v, size_t n, const char *what) {
  if (!n) return sim_errorf(SIM_EINVAL, "%s sample is empty", what);
  for (size_t i = 0; i < n; i++)
    if (isnan(v[i])) return sim_errorf(SIM_EINVAL, "%s sample holds a NaN (value %zu)", what, i + 1);
  return 0;
}

/* The test follows the large-sample approximation in Hollander, Wolfe and
 * Chicken, "Nonparametric Statistical Methods", 3rd ed. (Wiley 2014),
 * section 4.1 (Wilcoxon rank sum / Mann-Whitney, ties: eq. 4.11 ff.), which
 * is also what R's wilcox.test(exact = FALSE, correct = TRUE) computes:
 *
 *   U    = R1 - n(n+1)/2            (R1: sum of the first sample's midranks)
 *   E[U] = n m / 2
 *   V[U] = n m / 12 * ( (N+1) - sum_j (t_j^3 - t_j) / (N (N-1)) ),  N = n+m,
 *          t_j the size of the j-th group of tied values;
 *   z    = (U - E[U] - 0.5 sign(U - E[U])) / sqrt(V[U]),
 *   p    = 2 Q(|z|)                 (Q: upper tail of the standard normal).
 */
int res_mann_whitney_test(const double *x, size_t n, const double *y, size_t m, res_mann_whitney *out) {
  int rc = res__check(x, n, "first");
  if (!rc) rc = res__check(y, m, "second");
  if (rc) return rc;
  size_t N = n + m;
  double *v = malloc(N * sizeof *v);
  size_t *order = malloc(N * sizeof *order);
  if (!v || !order) {
    free(v);
    free(order);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  memcpy(v, x, n * sizeof *v);
  memcpy(v + n, y, m * sizeof *v);
  gsl_sort_index(order, v, 1, N);
  double r1 = 0, ties = 0;
  for (size_t i = 0; i < N;) {
    size_t j = i;
    while (j + 1 < N && v[order[j + 1]] == v[order[i]]) j++;
    double t = (double)(j - i + 1);
    double midrank = ((double)i + (double)j) / 2.0 + 1.0; /* ranks i+1 .. j+1 */
    for (size_t k = i; k <= j; k++)
      if (order[k] < n) r1 += midrank;
    ties += t * t * t - t;
    i = j + 1;
  }
  free(v);
  free(order);
  double dn = (double)n, dm = (double)m, dN = (double)N;
  out->u = r1 - dn * (dn + 1) / 2;
  out->mean = dn * dm / 2;
  double var = N > 1 ? dn * dm / 12.0 * ((dN + 1) - ties / (dN * (dN - 1))) : 0;
  out->sd = var > 0 ? sqrt(var) : 0;
  if (out->sd == 0) {
    out->z = 0;
    out->p = 1;
    return 0;
  }
  double d = out->u - out->mean;
  double corr = d > 0 ? 0.5 : d < 0 ? -0.5 : 0;
  if (fabs(d) < 0.5) corr = d;
  out->z = (d - corr) / out->sd;
  out->p = 2 * gsl_cdf_ugaussian_Q(fabs(out->z));
  if (out->p > 1) out->p = 1;
  return 0;
}

static double res__resample_median(gsl_rng *r, const double *v, size_t n, double *buf) {
  for (size_t i = 0; i < n; i++) buf[i] = v[gsl_rng_uniform_int(r, n)];
  return res_median(buf, n);
}

int res_median_diff_ci(const double *x, size_t n, const double *y, size_t m, double level, unsigned resamples,
                       uint64_t seed, double *lo, double *hi) {
  int rc = res__check(x, n, "first");
  if (!rc) rc = res__check(y, m, "second");
  if (rc) return rc;
  if (!(level > 0 && level < 1)) return sim_errorf(SIM_EINVAL, "confidence level %g is not in (0, 1)", level);
  if (!resamples) return sim_errorf(SIM_EINVAL, "no bootstrap resamples");
  double *diffs = malloc(resamples * sizeof *diffs);
  double *buf = malloc((n > m ? n : m) * sizeof *buf);
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (!diffs || !buf || !r) {
    free(diffs);
    free(buf);
    if (r) gsl_rng_free(r);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  gsl_rng_set(r, (unsigned long)seed);
  for (unsigned b = 0; b < resamples; b++) {
    double mx = res__resample_median(r, x, n, buf);
    diffs[b] = res__resample_median(r, y, m, buf) - mx;
  }
  gsl_sort(diffs, 1, resamples);
  *lo = gsl_stats_quantile_from_sorted_data(diffs, 1, resamples, (1 - level) / 2);
  *hi = gsl_stats_quantile_from_sorted_data(diffs, 1, resamples, (1 + level) / 2);
  gsl_rng_free(r);
  free(buf);
  free(diffs);
  return 0;
}

int res_describe_sample(const double *v, size_t n, double level, res_describe *out) {
  if (!(level > 0 && level < 1)) return sim_errorf(SIM_EINVAL, "confidence level %g is not in (0, 1)", level);
  out->n = n;
  out->mean = out->median = out->sd = out->ci_lo = out->ci_hi = out->min = out->max = NAN;
  if (!n) return 0;
  double *tmp = malloc(n * sizeof *tmp);
  if (!tmp) return sim_errorf(SIM_ENOMEM, "out of memory");
  memcpy(tmp, v, n * sizeof *tmp);
  out->median = res_median(tmp, n);
  out->min = tmp[0];
  out->max = tmp[n - 1];
  out->mean = gsl_stats_mean(tmp, 1, n);
  if (n >= 2) {
    out->sd = gsl_stats_sd_m(tmp, 1, n, out->mean);
    double half = gsl_cdf_tdist_Pinv((1 + level) / 2, (double)(n - 1)) * out->sd / sqrt((double)n);
    out->ci_lo = out->mean - half;
    out->ci_hi = out->mean + half;
  }
  free(tmp);
  return 0;
}
