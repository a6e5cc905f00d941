/* res_stats: the two-sample statistics behind `migsim regress`.
 *
 * Medians, the Mann-Whitney U test (normal approximation with tie and
 * continuity corrections) and a percentile-bootstrap confidence interval of
 * the difference of two medians. Everything is deterministic: the
 * bootstrap draws from a GSL generator with a fixed seed, so the same
 * samples give the same bytes in every report. No global state. */
#ifndef RES_STATS_H
#define RES_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Median of v[0..n) (n >= 1), which is sorted in place. NaN for n = 0.
 * O(n log n). */
double res_median(double *v, size_t n);

typedef struct {
  double u;         /* U of the first sample: pairs (x, y) with x > y, ties 1/2 */
  double mean, sd;  /* of U under the null hypothesis (sd tie-corrected) */
  double z;         /* continuity-corrected standard score of u */
  double p;         /* two-sided p-value; 1 when sd = 0 (every value tied) */
} res_mann_whitney;

/* Mann-Whitney U test of x[0..n) against y[0..m) (n, m >= 1). Fills *out
 * and returns 0, SIM_EINVAL for an empty sample or a NaN, SIM_ENOMEM.
 * O((n+m) log(n+m)), one allocation. */
int res_mann_whitney_test(const double *x, size_t n, const double *y, size_t m, res_mann_whitney *out);

/* Percentile bootstrap of median(y) - median(x): `resamples` pairs of
 * resamples (with replacement) drawn by a Mersenne Twister seeded with
 * `seed`; *lo and *hi are the (1-level)/2 and (1+level)/2 quantiles of the
 * differences. 0, SIM_EINVAL (empty sample, level outside (0,1), no
 * resamples), SIM_ENOMEM. O(resamples (n+m) log(n+m)). */
int res_median_diff_ci(const double *x, size_t n, const double *y, size_t m, double level, unsigned resamples,
                       uint64_t seed, double *lo, double *hi);

typedef struct {
  size_t n;
  double mean, median, sd; /* sd: sample standard deviation (n - 1) */
  double ci_lo, ci_hi;     /* Student-t interval of the mean */
  double min, max;
} res_describe;

/* Describes v[0..n): mean, median, standard deviation, the two-sided
 * Student-t confidence interval of the mean at `level` (mean ± t(level,
 * n-1) sd / sqrt(n)), minimum and maximum. sd and the interval are NaN for
 * n < 2, everything for n = 0. O(n log n), one allocation; 0 or
 * SIM_ENOMEM, SIM_EINVAL for a level outside (0, 1). */
int res_describe_sample(const double *v, size_t n, double level, res_describe *out);

#endif
