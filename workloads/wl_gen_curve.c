/* wl_gen_curve: a workload fitted to a dirty curve, the count D(t) of
 * distinct pages written within [0, t] as QEMU's calc-dirty-rate measures
 * it. D is piecewise linear through (0, 0) and the user's points and flat
 * after the last one.
 *
 * The generator merges three event streams, each defined by a piecewise
 * linear cumulative count C(t) over the same breakpoints:
 *   first   C = D: the k-th first-time write, to page base + perm(k);
 *   rewrite C = W, W' = max(0, rate - D'): writes to pages already dirty,
 *           topping the total write rate up to `rate`;
 *   read    C = (D + W) f / (1 - f): reads of already-dirty pages, so reads
 *           are the fraction f of all accesses.
 * Event k of a stream happens at floor(C^-1(k + 1/2)) ns: the count of
 * events in [0, t] is C(t) rounded, within half an event of the curve at
 * every t, and each event's time is a closed form of k (seek needs no
 * replay). Merging costs O(log points) per event (one binary search for
 * the next event of the stream that fired). Ties go first, rewrite, read,
 * so a rewrite at the same nanosecond as a first write may pick that page.
 *
 * Re-writes and reads pick uniformly among the pages dirtied so far, with
 * exactly one 64-bit draw each; every WL__GEN_BLOCK events of a stream its
 * RNG is reseeded, so a seek discards at most 2 * (WL__GEN_BLOCK - 1) raw
 * outputs. Re-writes start where D crosses 1/2, at the first first-time
 * write, so they always have a target; a read before that goes to the
 * first page the curve will dirty. A curve that never rises (all points
 * at 0) therefore has no events at all. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim_err.h"
#include "sim_rng.h"
#include "wl_gen_internal.h"

typedef struct {
  double *c;        /* cumulative count at each breakpoint; c[0] = 0 */
  double tail;      /* count per ns after the last breakpoint */
  uint64_t next;    /* index of the next event */
  uint64_t next_ns; /* its time; UINT64_MAX when there is none */
  gsl_rng *rng;     /* NULL for first writes, which need no randomness */
  uint64_t stream_seed;
} wl__cstream;

typedef struct {
  wl__gen g; /* first: the instance head */
  uint64_t base;
  wl__perm perm; /* first-write order over the working set */
  double *t;     /* breakpoint times in ns; t[0] = 0, strictly rising */
  size_t n;      /* breakpoints (points + 1) */
  wl__cstream first, rewrite, read;
} wl__curve;

/* Time (ns, real-valued) at which C reaches x > 0, INFINITY if never. */
static double wl__cs_inverse(const wl__curve *cv, const wl__cstream *st, double x) {
  size_t last = cv->n - 1;
  if (x >= st->c[last])
    return st->tail > 0 ? cv->t[last] + (x - st->c[last]) / st->tail : INFINITY;
  /* First breakpoint u with c[u] > x; segment [u-1, u] rises through x. */
  size_t lo = 1, hi = last;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (st->c[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  size_t j = lo - 1;
  return cv->t[j] + (x - st->c[j]) * (cv->t[lo] - cv->t[j]) / (st->c[lo] - st->c[j]);
}

/* C(t). */
static double wl__cs_value(const wl__curve *cv, const wl__cstream *st, double t) {
  size_t last = cv->n - 1;
  if (t >= cv->t[last]) return st->c[last] + (t - cv->t[last]) * st->tail;
  size_t lo = 0, hi = last; /* last breakpoint j with t[j] <= t */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (cv->t[mid] <= t) lo = mid;
    else hi = mid;
  }
  return st->c[lo] + (t - cv->t[lo]) * (st->c[lo + 1] - st->c[lo]) /
                         (cv->t[lo + 1] - cv->t[lo]);
}

static uint64_t wl__cs_time(const wl__curve *cv, const wl__cstream *st, uint64_t k) {
  double t = floor(wl__cs_inverse(cv, st, (double)k + 0.5));
  return t < 0x1p64 ? (uint64_t)t : UINT64_MAX;
}

static void wl__cs_seek(const wl__curve *cv, wl__cstream *st, uint64_t time_ns) {
  /* Estimate the index from C(t), then correct the rounding by stepping. */
  double est = ceil(wl__cs_value(cv, st, (double)time_ns) - 0.5);
  uint64_t k = !(est > 0) ? 0 : est < 0x1p63 ? (uint64_t)est : (1ull << 63);
  while (k > 0 && wl__cs_time(cv, st, k - 1) >= time_ns) k--;
  while (wl__cs_time(cv, st, k) < time_ns) k++;
  st->next = k;
  st->next_ns = wl__cs_time(cv, st, k);
  if (st->rng && k % WL__GEN_BLOCK) {
    wl__rng_block(st->rng, st->stream_seed, cv->g.epoch, k / WL__GEN_BLOCK);
    for (uint64_t i = 0; i < 2 * (k % WL__GEN_BLOCK); i++) gsl_rng_get(st->rng);
  }
}

void wl__curve_seek(wl__gen *g, uint64_t time_ns) {
  wl__curve *cv = (wl__curve *)g;
  wl__cs_seek(cv, &cv->first, time_ns);
  wl__cs_seek(cv, &cv->rewrite, time_ns);
  wl__cs_seek(cv, &cv->read, time_ns);
}

long wl__curve_fill(wl__gen *g, wl_event *buf, size_t max, uint64_t end_ns) {
  wl__curve *cv = (wl__curve *)g;
  size_t n = 0;
  while (n < max) {
    wl__cstream *st = &cv->first;
    if (cv->rewrite.next_ns < st->next_ns) st = &cv->rewrite;
    if (cv->read.next_ns < st->next_ns) st = &cv->read;
    uint64_t t = st->next_ns;
    if (t >= end_ns) break;
    uint64_t k = st->next;
    uint64_t dirty = cv->first.next; /* pages dirtied so far */
    int emit = 1;
    wl_event *ev = &buf[n];
    ev->time_ns = t;
    ev->op = WL_OP_WRITE;
    if (st == &cv->first) {
      ev->pfn = cv->base + wl__perm_apply(&cv->perm, k);
    } else {
      if (k % WL__GEN_BLOCK == 0)
        wl__rng_block(st->rng, st->stream_seed, g->epoch, k / WL__GEN_BLOCK);
      uint64_t u = wl__rand_u64(st->rng);
      uint64_t which = dirty ? u % dirty : 0;
      /* Defensive: re-writes start at the first first-time write (and ties
       * go to it first), so dirty > 0 here; drop rather than invent one. */
      emit = dirty > 0 || st == &cv->read;
      ev->pfn = cv->base + wl__perm_apply(&cv->perm, which);
      if (st == &cv->read) ev->op = WL_OP_READ;
    }
    n += (size_t)emit;
    st->next = k + 1;
    st->next_ns = wl__cs_time(cv, st, k + 1);
  }
  return (long)n;
}

void wl__curve_close(wl__gen *g) {
  wl__curve *cv = (wl__curve *)g;
  if (!cv) return;
  wl__cstream *streams[3] = {&cv->first, &cv->rewrite, &cv->read};
  for (size_t i = 0; i < 3; i++) {
    free(streams[i]->c);
    if (streams[i]->rng) gsl_rng_free(streams[i]->rng);
  }
  free(cv->t);
  free(g->nonzero);
  free(cv);
}

static int wl__cs_rng(wl__cstream *st, const wl__gen_env *env, const char *suffix) {
  char name[64];
  snprintf(name, sizeof name, "%s.%s", env->stream, suffix);
  st->stream_seed = sim_rng_derive(env->seed, name);
  st->rng = sim_rng_stream(env->seed, name);
  return st->rng ? 0 : sim_errorf(SIM_ENOMEM, "out of memory");
}

int wl__curve_open(const wl__gen_type *type, const char *args,
                   const wl__gen_env *env, wl__gen **out) {
  wl__params p;
  int rc = wl__params_parse(type, args, env, &p);
  if (rc) return rc;
  if (p.npoints == 0) {
    wl__params_free(&p);
    return sim_errorf(SIM_EINVAL,
                      "%s: points= is required, e.g. points=1s@5000+5s@15000", type->name);
  }
  uint64_t top = p.point_pages[p.npoints - 1];
  if (top > p.wss) {
    wl__params_free(&p);
    return sim_errorf(SIM_ERANGE,
                      "%s: points reach %llu distinct pages but the working set has "
                      "wss=%llu pages",
                      type->name, (unsigned long long)top, (unsigned long long)p.wss);
  }
  wl__curve *cv = calloc(1, sizeof *cv);
  if (!cv) {
    wl__params_free(&p);
    return sim_errorf(SIM_ENOMEM, "out of memory");
  }
  cv->g.type = type;
  cv->base = p.base;
  size_t cap = p.npoints + 2; /* (0,0), the points, and where D crosses 1/2 */
  cv->t = calloc(cap, sizeof *cv->t);
  cv->first.c = calloc(cap, sizeof(double));
  cv->rewrite.c = calloc(cap, sizeof(double));
  cv->read.c = calloc(cap, sizeof(double));
  if (!cv->t || !cv->first.c || !cv->rewrite.c || !cv->read.c) {
    rc = sim_errorf(SIM_ENOMEM, "out of memory");
    goto fail;
  }
  if ((rc = wl__gen_set_nonzero(&cv->g, &p))) goto fail;
  if ((rc = wl__cs_rng(&cv->rewrite, env, "rewrite"))) goto fail;
  if ((rc = wl__cs_rng(&cv->read, env, "read"))) goto fail;

  /* D's breakpoints. The first first-time write happens where D crosses
   * 1/2; re-writes start there (a breakpoint of its own), so none of them
   * ever lacks a dirty page to go to. */
  double *t = cv->t, *d = cv->first.c;
  double t_first = INFINITY;
  size_t n = 1;
  for (size_t i = 0; i < p.npoints; i++) {
    double ti = (double)p.point_ns[i], di = (double)p.point_pages[i];
    if (d[n - 1] < 0.5 && di >= 0.5) {
      double t0 = t[n - 1] + (0.5 - d[n - 1]) * (ti - t[n - 1]) / (di - d[n - 1]);
      t_first = t0 < t[n - 1] ? t[n - 1] : t0 > ti ? ti : t0;
      if (t_first > t[n - 1] && t_first < ti) {
        t[n] = t_first;
        d[n] = 0.5;
        n++;
      }
    }
    t[n] = ti;
    d[n] = di;
    n++;
  }
  cv->n = n;
  double rate_ns = p.rate / 1e9; /* writes per ns */
  double read_ratio = p.reads / (1.0 - p.reads);
  for (size_t j = 1; j < n; j++) {
    double dt = t[j] - t[j - 1];
    double first_slope = (d[j] - d[j - 1]) / dt;
    double rewrite_slope =
        t[j - 1] >= t_first && rate_ns > first_slope ? rate_ns - first_slope : 0.0;
    cv->rewrite.c[j] = cv->rewrite.c[j - 1] + rewrite_slope * dt;
  }
  cv->first.tail = 0.0;
  cv->rewrite.tail = isfinite(t_first) ? rate_ns : 0.0;
  for (size_t j = 0; j < n; j++)
    cv->read.c[j] = (d[j] + cv->rewrite.c[j]) * read_ratio;
  cv->read.tail = cv->rewrite.tail * read_ratio;
  cv->g.has_reads = p.reads > 0 && isfinite(t_first);
  wl__perm_init(&cv->perm, p.wss, sim_rng_derive(env->seed, env->stream));
  wl__params_free(&p);
  wl__curve_seek(&cv->g, 0);
  *out = &cv->g;
  return 0;
fail:
  wl__params_free(&p);
  wl__curve_close(&cv->g);
  return rc;
}
