/* wl_gen_curve: the stationary workload behind a `curve:` spec.
 *
 * A dirty curve D(T) is the expected number of distinct pages a guest
 * writes in a window of length T (QEMU's calc-dirty-rate measures it for
 * one window). For the curve to describe every window, not only the one
 * starting at 0, the write process must be stationary. This file builds an
 * independent-reference model (docs/workloads.md, "curve"):
 *
 *   writes are evenly spaced at rate R; each picks its page independently,
 *   page p with probability pi_p, so page p is written at lambda_p = R pi_p
 *   per second and, in any window holding n = R T writes,
 *       E[distinct] = sum_p 1 - (1 - pi_p)^n  ~  sum_p 1 - exp(-lambda_p T).
 *
 * Pages come in groups of equal rate. The group rates lambda_g sit on a
 * fixed log-spaced grid spanning the curve's time scales; the group sizes
 * n_g >= 0 are the unknowns, and D(T) is linear in them, so fitting the
 * curve is a non-negative least-squares problem (Lawson-Hanson, with GSL's
 * SVD for the inner solves). Rows: D through every point (heavy weight),
 * D close to straight lines between the points on a log grid of window
 * lengths (so the fit picks the stationary curve nearest to the linear
 * interpolation), the last segment's slope continued up to twice the last
 * point's time, and sum_g n_g lambda_g = R when `rate` is given. Without
 * `rate`, R is whatever the fit needs. The result is checked against every
 * point and refused with a message when no stationary workload fits.
 *
 * Sampling a page costs O(1): Walker's alias table picks the group (one
 * 64-bit draw), a second draw picks the page in it; the working-set
 * permutation scatters group pages over [base, base+wss). The fit runs
 * once at open, O(groups^2 * rows) per inner solve, well under a
 * millisecond for typical curves. */
#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "wl_gen.h"
#include "wl_gen_internal.h"

struct wl__curve_model {
  size_t groups;
  uint64_t *first;  /* first page index of group g (groups are contiguous) */
  uint64_t *count;  /* pages in group g, >= 1 */
  double *lambda;   /* writes per second to each page of group g */
  double *accept;   /* alias table: keep column g with this probability */
  uint32_t *alias;  /* ... else take this group */
  double rate;      /* R = sum_g count_g lambda_g; 0 = no writes */
  uint64_t pages;   /* sum_g count_g: the pages the model ever writes */
};

/* Time grid of the fit, per decade of window length. */
#define WL__FIT_ROWS_PER_DECADE 12
/* Group rates per decade: fine enough that a straight segment between two
 * points is matched to well under 1 %. */
#define WL__FIT_GROUPS_PER_DECADE 6
/* Relative weight of a point's row against one grid row. */
#define WL__FIT_POINT_WEIGHT 30.0
/* Weight of a grid row below the first point, where the straight line from
 * (0,0) is only a convention (a stationary curve starts at slope R). */
#define WL__FIT_BELOW_WEIGHT 0.05
/* A point is met when the fitted curve is within this fraction (plus one
 * page) of it. */
#define WL__FIT_TOLERANCE 0.01

/* ------------------------------------------------------------ NNLS */

/* Least squares restricted to the columns with in[j] set: z minimises
 * |A_P z_P - b|, z_j = 0 elsewhere. SVD with tiny singular values dropped,
 * because exponential columns of neighbouring rates are nearly collinear. */
static int wl__ls_subset(const gsl_matrix *a, const gsl_vector *b, const char *in,
                         double *z) {
  size_t rows = a->size1, cols = a->size2, k = 0;
  for (size_t j = 0; j < cols; j++) k += in[j] != 0;
  for (size_t j = 0; j < cols; j++) z[j] = 0.0;
  if (k == 0) return 0;
  gsl_matrix *u = gsl_matrix_alloc(rows, k);
  gsl_matrix *v = gsl_matrix_alloc(k, k);
  gsl_vector *s = gsl_vector_alloc(k), *work = gsl_vector_alloc(k), *x = gsl_vector_alloc(k);
  int rc = 0;
  if (!u || !v || !s || !work || !x) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t j = 0, c = 0; j < cols; j++)
    if (in[j]) {
      for (size_t i = 0; i < rows; i++) gsl_matrix_set(u, i, c, gsl_matrix_get(a, i, j));
      c++;
    }
  if (gsl_linalg_SV_decomp(u, v, s, work)) {
    rc = sim_errorf(SIM_ERANGE, "curve fit: singular value decomposition failed");
    goto done;
  }
  double top = gsl_vector_get(s, 0);
  for (size_t c = 0; c < k; c++)
    if (gsl_vector_get(s, c) < 1e-12 * top) gsl_vector_set(s, c, 0.0);
  gsl_linalg_SV_solve(u, v, s, b, x);
  for (size_t j = 0, c = 0; j < cols; j++)
    if (in[j]) z[j] = gsl_vector_get(x, c++);
done:
  gsl_matrix_free(u);
  gsl_matrix_free(v);
  gsl_vector_free(s);
  gsl_vector_free(work);
  gsl_vector_free(x);
  return rc;
}

/* Lawson-Hanson non-negative least squares: x >= 0 minimising |A x - b|.
 * At most 3 * cols outer steps; each inner solve is one SVD. */
static int wl__nnls(const gsl_matrix *a, const gsl_vector *b, double *x) {
  size_t rows = a->size1, cols = a->size2;
  char *in = calloc(cols, 1);
  double *z = calloc(cols, sizeof *z), *w = calloc(cols, sizeof *w);
  int rc = 0;
  if (!in || !z || !w) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t j = 0; j < cols; j++) x[j] = 0.0;
  double bnorm = 0;
  for (size_t i = 0; i < rows; i++) bnorm += fabs(gsl_vector_get(b, i));
  double tol = 1e-10 * (bnorm + 1.0);
  for (size_t iter = 0; iter < 3 * cols; iter++) {
    /* w = A^T (b - A x): the descent direction of every column. */
    for (size_t j = 0; j < cols; j++) w[j] = 0.0;
    for (size_t i = 0; i < rows; i++) {
      double r = gsl_vector_get(b, i);
      for (size_t j = 0; j < cols; j++) r -= gsl_matrix_get(a, i, j) * x[j];
      for (size_t j = 0; j < cols; j++) w[j] += gsl_matrix_get(a, i, j) * r;
    }
    size_t best = cols;
    for (size_t j = 0; j < cols; j++)
      if (!in[j] && w[j] > tol && (best == cols || w[j] > w[best])) best = j;
    if (best == cols) break;
    in[best] = 1;
    for (size_t inner = 0; inner < 3 * cols; inner++) {
      if ((rc = wl__ls_subset(a, b, in, z))) goto done;
      double alpha = 2.0;
      for (size_t j = 0; j < cols; j++)
        if (in[j] && z[j] <= 0.0) {
          double step = x[j] / (x[j] - z[j]);
          if (step < alpha) alpha = step;
        }
      if (alpha > 1.0) { /* z is feasible */
        for (size_t j = 0; j < cols; j++) x[j] = z[j];
        break;
      }
      for (size_t j = 0; j < cols; j++) {
        x[j] += alpha * (z[j] - x[j]);
        if (in[j] && x[j] <= 1e-12 * (fabs(z[j]) + 1.0)) {
          in[j] = 0;
          x[j] = 0.0;
        }
      }
    }

  }
  for (size_t j = 0; j < cols; j++)
    if (x[j] < 0) x[j] = 0.0;
done:
  free(in);
  free(z);
  free(w);
  return rc;
}

/* ------------------------------------------------------------ the fit */

/* The straight-line reference: (0,0), the points, then the last slope. */
static double wl__reference(const double *t, const double *d, size_t m, double wss, double x) {
  if (x <= t[0]) return d[0] * x / t[0];
  for (size_t i = 1; i < m; i++)
    if (x <= t[i]) return d[i - 1] + (d[i] - d[i - 1]) * (x - t[i - 1]) / (t[i] - t[i - 1]);
  double slope = m > 1 ? (d[m - 1] - d[m - 2]) / (t[m - 1] - t[m - 2]) : d[0] / t[0];
  double v = d[m - 1] + slope * (x - t[m - 1]);
  return v < wss ? v : wss;
}

double wl__curve_model_expected(const wl__curve_model *m, double window_s) {
  if (!m || m->rate <= 0 || !(window_s > 0)) return 0.0;
  double writes = m->rate * window_s, sum = 0.0;
  for (size_t g = 0; g < m->groups; g++) {
    double pi = m->lambda[g] / m->rate;
    /* 1 - (1 - pi)^writes, computed without cancellation. */
    double miss = pi < 1.0 ? exp(writes * log1p(-pi)) : 0.0;
    sum += (double)m->count[g] * (1.0 - miss);
  }
  return sum;
}

void wl__curve_model_free(wl__curve_model *m) {
  if (!m) return;
  free(m->first);
  free(m->count);
  free(m->lambda);
  free(m->accept);
  free(m->alias);
  free(m);
}

/* Walker's alias table (Vose's construction) over the groups' shares of
 * the writes. O(groups). */
static int wl__curve_alias(wl__curve_model *m) {
  size_t n = m->groups;
  double *scaled = malloc(n * sizeof *scaled);
  size_t *small = malloc(n * sizeof *small), *large = malloc(n * sizeof *large);
  if (!scaled || !small || !large) {
    free(scaled);
    free(small);
    free(large);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  size_t ns = 0, nl = 0;
  for (size_t g = 0; g < n; g++) {
    scaled[g] = (double)m->count[g] * m->lambda[g] / m->rate * (double)n;
    if (scaled[g] < 1.0) small[ns++] = g;
    else large[nl++] = g;
  }
  while (ns && nl) {
    size_t s = small[--ns], l = large[nl - 1];
    m->accept[s] = scaled[s];
    m->alias[s] = (uint32_t)l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      nl--;
      small[ns++] = l;
    }
  }
  /* What is left holds (up to rounding) exactly one column's worth. */
  while (nl) {
    size_t l = large[--nl];
    m->accept[l] = 1.0;
    m->alias[l] = (uint32_t)l;
  }
  while (ns) {
    size_t s = small[--ns];
    m->accept[s] = 1.0;
    m->alias[s] = (uint32_t)s;
  }
  free(scaled);
  free(small);
  free(large);
  return 0;
}

uint64_t wl__curve_model_draw(const wl__curve_model *m, gsl_rng *r) {
  uint64_t u = wl__rand_u64(r);
  size_t col = (size_t)((u >> 32) % m->groups);
  double coin = (double)(u & 0xffffffffu) * 0x1p-32;
  size_t g = coin < m->accept[col] ? col : m->alias[col];
  return m->first[g] + wl__rand_below(r, m->count[g]);
}

double wl__curve_model_rate(const wl__curve_model *m) { return m ? m->rate : 0.0; }

/* Solves for group sizes on the lambda grid; x receives n_g (pages). With
 * cap_pages > 0 a heavy row asks sum n_g = cap_pages. */
static int wl__curve_solve(const double *t, const double *d, size_t m, double rate,
                           double wss, const double *lambda, size_t ng, double cap_pages,
                           double *x) {
  double t_lo = t[0] / 1000.0, t_hi = 2.0 * t[m - 1];
  size_t grid = (size_t)ceil(log10(t_hi / t_lo) * WL__FIT_ROWS_PER_DECADE) + 1;
  size_t rows = grid + m + (rate > 0) + (cap_pages > 0);
  gsl_matrix *a = gsl_matrix_calloc(rows, ng);
  gsl_vector *b = gsl_vector_calloc(rows);
  double *scale = malloc(ng * sizeof *scale);
  int rc = 0;
  if (!a || !b || !scale) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto done;
  }
  size_t row = 0;
  /* Relative residuals: every row is divided by its target. Windows below
   * the first point are convention rather than data, so they weigh less. */
  for (size_t k = 0; k < grid; k++, row++) {
    double x_s = t_lo * pow(t_hi / t_lo, (double)k / (double)(grid - 1));
    double target = wl__reference(t, d, m, wss, x_s);
    double weight = (x_s < t[0] ? WL__FIT_BELOW_WEIGHT : 1.0) / target;
    for (size_t g = 0; g < ng; g++)
      gsl_matrix_set(a, row, g, weight * -expm1(-lambda[g] * x_s));
    gsl_vector_set(b, row, 1.0 * (x_s < t[0] ? WL__FIT_BELOW_WEIGHT : 1.0));
  }
  for (size_t i = 0; i < m; i++, row++) {
    double weight = WL__FIT_POINT_WEIGHT / d[i];
    for (size_t g = 0; g < ng; g++)
      gsl_matrix_set(a, row, g, weight * -expm1(-lambda[g] * t[i]));
    gsl_vector_set(b, row, WL__FIT_POINT_WEIGHT);
  }
  if (rate > 0) {
    for (size_t g = 0; g < ng; g++)
      gsl_matrix_set(a, row, g, WL__FIT_POINT_WEIGHT * lambda[g] / rate);
    gsl_vector_set(b, row++, WL__FIT_POINT_WEIGHT);
  }
  if (cap_pages > 0) {
    for (size_t g = 0; g < ng; g++)
      gsl_matrix_set(a, row, g, WL__FIT_POINT_WEIGHT / cap_pages);
    gsl_vector_set(b, row++, WL__FIT_POINT_WEIGHT);
  }
  /* Unit-norm columns: n_g spans many orders of magnitude. */
  for (size_t g = 0; g < ng; g++) {
    gsl_vector_view col = gsl_matrix_column(a, g);
    double norm = gsl_blas_dnrm2(&col.vector);
    scale[g] = norm > 0 ? norm : 1.0;
    gsl_vector_scale(&col.vector, 1.0 / scale[g]);
  }
  if ((rc = wl__nnls(a, b, x))) goto done;
  for (size_t g = 0; g < ng; g++) x[g] /= scale[g];
done:
  gsl_matrix_free(a);
  gsl_vector_free(b);
  free(scale);
  return rc;
}

/* Turns real group sizes into whole pages, keeping every group's share of
 * the writes: a group of 2.4 pages at lambda becomes 2 pages at 1.2 lambda
 * (the curve moves by under a page per group, the rate not at all). */
static int wl__curve_build(const double *lambda, const double *x, size_t ng, uint64_t wss,
                           wl__curve_model *m) {
  size_t used = 0;
  for (size_t g = 0; g < ng; g++) used += x[g] * lambda[g] > 0;
  m->first = calloc(used ? used : 1, sizeof *m->first);
  m->count = calloc(used ? used : 1, sizeof *m->count);
  m->lambda = calloc(used ? used : 1, sizeof *m->lambda);
  m->accept = calloc(used ? used : 1, sizeof *m->accept);
  m->alias = calloc(used ? used : 1, sizeof *m->alias);
  if (!m->first || !m->count || !m->lambda || !m->accept || !m->alias)
    return sim_errorf(SIM_ENOMEM, "out of memory");
  size_t k = 0;
  uint64_t pages = 0;
  double rate = 0;
  /* Hottest first, so the few pages of hot groups come first. */
  for (size_t gi = ng; gi-- > 0;) {
    double share = x[gi] * lambda[gi];
    if (!(share > 0)) continue;
    double whole = floor(x[gi] + 0.5);
    uint64_t n = whole < 1.0 ? 1 : (uint64_t)whole;
    if (n > wss - pages) n = wss - pages;
    if (n == 0) {
      /* The working set is full: fold this share into the last group. */
      m->lambda[k - 1] += share / (double)m->count[k - 1];
      rate += share;
      continue;
    }
    m->first[k] = pages;
    m->count[k] = n;
    m->lambda[k] = share / (double)n;
    pages += n;
    rate += share;
    k++;
  }
  m->groups = k;
  m->pages = pages;
  m->rate = rate;
  return k ? wl__curve_alias(m) : 0;
}

int wl__curve_model_new(const char *gen, const wl__params *p, wl__curve_model **out) {
  *out = NULL;
  size_t m = p->npoints;
  if (m == 0)
    return sim_errorf(SIM_EINVAL, "%s: points= is required, e.g. points=1s@5000+5s@15000", gen);
  uint64_t top = p->point_pages[m - 1];
  if (top > p->wss)
    return sim_errorf(SIM_ERANGE,
                      "%s: points reach %llu distinct pages but the working set has "
                      "wss=%llu pages",
                      gen, (unsigned long long)top, (unsigned long long)p->wss);
  wl__curve_model *model = calloc(1, sizeof *model);
  double *t = malloc(m * sizeof *t), *d = malloc(m * sizeof *d);
  double *lambda = NULL, *x = NULL;
  int rc = 0;
  if (!model || !t || !d) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < m; i++) {
    t[i] = (double)p->point_ns[i] / 1e9;
    d[i] = (double)p->point_pages[i];
  }
  /* A flat zero curve is an idle guest. */
  if (top == 0) {
    if (p->rate > 0) {
      rc = sim_errorf(SIM_ERANGE, "%s: rate=%g writes/s but the curve never dirties a page",
                      gen, p->rate);
      goto fail;
    }
    free(t);
    free(d);
    *out = model;
    return 0;
  }
  /* What any stationary process obeys (docs/workloads.md): D(T) > 0 for
   * every T once it writes at all; D' = R x P(the page was not written
   * in the last T) never rises, so the chord slopes never rise; and the
   * first chord is below R. */
  if (d[0] == 0) {
    rc = sim_errorf(SIM_ERANGE,
                    "%s: points: 0 pages at %gs but more later; a stationary guest that "
                    "writes at all dirties pages in every window",
                    gen, t[0]);
    goto fail;
  }
  for (size_t i = 1; i < m; i++) {
    double before = (d[i - 1] - (i > 1 ? d[i - 2] : 0)) / (t[i - 1] - (i > 1 ? t[i - 2] : 0));
    double slope = (d[i] - d[i - 1]) / (t[i] - t[i - 1]);
    if (slope > before * (1.0 + WL__FIT_TOLERANCE) + 1e-9) {
      rc = sim_errorf(SIM_ERANGE,
                      "%s: points: the curve rises faster between %gs and %gs (%.0f pages/s) "
                      "than before %gs (%.0f pages/s); a stationary guest's curve is concave",
                      gen, t[i - 1], t[i], slope, t[i - 1], before);
      goto fail;
    }
  }
  if (p->rate > 0 && p->rate <= d[0] / t[0]) {
    rc = sim_errorf(SIM_ERANGE,
                    "%s: rate=%g writes/s is too low for the curve: %gs@%.0f needs more "
                    "than %.0f writes/s (every write would have to hit a new page)",
                    gen, p->rate, t[0], d[0], d[0] / t[0]);
    goto fail;
  }
  /* Group rates from well below 1 / (last time) (pages written a few
   * times per run: the linear part) to well above 1 / (first time) (hot
   * pages, saturated within the first window). */
  double lam_lo = 0.02 / t[m - 1];
  double lam_hi = 1000.0 / t[0];
  if (p->rate > 0 && lam_hi > p->rate) lam_hi = p->rate;
  if (lam_hi < lam_lo * 10) lam_hi = lam_lo * 10;
  size_t ng = (size_t)ceil(log10(lam_hi / lam_lo) * WL__FIT_GROUPS_PER_DECADE) + 1;
  lambda = calloc(ng, sizeof *lambda);
  x = calloc(ng, sizeof *x);
  if (!lambda || !x) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }
  for (size_t g = 0; g < ng; g++)
    lambda[g] = lam_lo * pow(lam_hi / lam_lo, (double)g / (double)(ng - 1));
  double wss = (double)p->wss;
  if ((rc = wl__curve_solve(t, d, m, p->rate, wss, lambda, ng, 0.0, x))) goto fail;
  double sum = 0;
  for (size_t g = 0; g < ng; g++) sum += x[g];
  if (sum > wss && (rc = wl__curve_solve(t, d, m, p->rate, wss, lambda, ng, wss, x)))
    goto fail;
  if ((rc = wl__curve_build(lambda, x, ng, p->wss, model))) goto fail;
  if (p->rate > 0 && fabs(model->rate - p->rate) > WL__FIT_TOLERANCE * p->rate) {
    rc = sim_errorf(SIM_ERANGE,
                    "%s: rate=%g writes/s contradicts the curve: the closest stationary "
                    "workload writes %.0f/s",
                    gen, p->rate, model->rate);
    goto fail;
  }
  /* rate= is exact, as for every generator: scale the page rates by the
   * fit's small miss (under 1 %; the curve moves by less), then check. */
  if (p->rate > 0 && model->rate > 0) {
    for (size_t g = 0; g < model->groups; g++) model->lambda[g] *= p->rate / model->rate;
    model->rate = p->rate;
  }
  /* The fit must pass through every point. */
  for (size_t i = 0; i < m; i++) {
    double got = wl__curve_model_expected(model, t[i]);
    if (fabs(got - d[i]) > WL__FIT_TOLERANCE * d[i] + 1.0) {
      rc = sim_errorf(SIM_ERANGE,
                      "%s: no stationary workload%s with wss=%llu pages matches the points: "
                      "the closest dirties %.0f pages in %gs, not %.0f",
                      gen, p->rate > 0 ? " at this rate" : "", (unsigned long long)p->wss,
                      got, t[i], d[i]);
      goto fail;
    }
  }
  if (model->rate > WL__GEN_MAX_RATE) {
    rc = sim_errorf(SIM_ERANGE, "%s: the curve needs more than %.0e writes/s", gen,
                    WL__GEN_MAX_RATE);
    goto fail;
  }
  free(t);
  free(d);
  free(lambda);
  free(x);
  *out = model;
  return 0;
fail:
  free(t);
  free(d);
  free(lambda);
  free(x);
  wl__curve_model_free(model);
  return rc;
}

/* ------------------------------------------------- the public model */

struct wl_curve {
  wl__curve_model *model;
};

int wl_curve_open(const char *spec, uint64_t pages, uint32_t page_size, wl_curve **out) {
  *out = NULL;
  size_t len = strcspn(spec, ":");
  const wl__gen_type *type = wl__gen_find(spec, len);
  if (!type || strcmp(type->name, "curve") != 0)
    return sim_errorf(SIM_EINVAL, "'%.60s' is not a curve: spec", spec);
  wl__gen_env env = {pages, page_size ? page_size : WL_DEFAULT_PAGE_SIZE, 0, "curve"};
  wl__params p;
  int rc = wl__params_parse(type, spec[len] == ':' ? spec + len + 1 : "", &env, &p);
  if (rc) return rc;
  wl_curve *c = calloc(1, sizeof *c);
  if (!c) {
    wl__params_free(&p);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  rc = wl__curve_model_new(type->name, &p, &c->model);
  wl__params_free(&p);
  if (rc) {
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

double wl_curve_rate(const wl_curve *c) { return c->model->rate; }

double wl_curve_expected(const wl_curve *c, double window_s) {
  return wl__curve_model_expected(c->model, window_s);
}

uint64_t wl_curve_pages(const wl_curve *c) { return c->model->pages; }

size_t wl_curve_groups(const wl_curve *c) { return c->model->groups; }

void wl_curve_group(const wl_curve *c, size_t g, uint64_t *pages, double *page_rate) {
  *pages = c->model->count[g];
  *page_rate = c->model->lambda[g];
}

void wl_curve_free(wl_curve *c) {
  if (!c) return;
  wl__curve_model_free(c->model);
  free(c);
}
