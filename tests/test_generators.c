/* test_generators: workload generators (workloads/wl_gen*.c).
 *
 * Every test reads events straight from a generator source through
 * wl_source_read; nothing goes through trace files. Statistical checks use
 * fixed seeds and tolerances several standard deviations wide, stated at
 * each check, so they fail only when the generator is wrong. */
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsl/gsl_fit.h>

#include "sim_err.h"
#include "wl_gen.h"
#include "wl_gen_internal.h"
#include "wl_trace.h"

#define NS_PER_S 1000000000ull

/* ------------------------------------------------------------ helpers */

static wl_source *open_gen(const char *spec, uint64_t pages, uint64_t seed,
                           uint64_t duration_ns) {
  wl_open_opts opts = {pages, 0, seed, duration_ns};
  wl_source *src = NULL;
  int rc = wl_source_open(spec, &opts, &src);
  if (rc) fail_msg("open '%s': %s", spec, sim_error_message());
  return src;
}

typedef struct {
  wl_event *ev;
  size_t n, cap;
} event_list;

/* Reads up to `limit` events (all when the source ends first), checking
 * time order on the way. */
static void read_events(wl_source *src, size_t limit, event_list *out) {
  enum { BATCH = 1000 }; /* odd size: batches straddle RNG blocks */
  out->n = 0;
  while (out->n < limit) {
    if (out->cap - out->n < BATCH) {
      out->cap = out->cap ? out->cap * 2 : 1 << 16;
      out->ev = realloc(out->ev, out->cap * sizeof *out->ev);
      assert_non_null(out->ev);
    }
    size_t want = limit - out->n < BATCH ? limit - out->n : BATCH;
    long got = wl_source_read(src, out->ev + out->n, want);
    assert_true(got >= 0);
    if (got == 0) break;
    out->n += (size_t)got;
  }
  for (size_t i = 1; i < out->n; i++)
    assert_true(out->ev[i - 1].time_ns <= out->ev[i].time_ns);
}

static void events_free(event_list *l) {
  free(l->ev);
  memset(l, 0, sizeof *l);
}

static size_t read_spec(const char *spec, uint64_t pages, uint64_t seed,
                        uint64_t duration_ns, size_t limit, event_list *out) {
  wl_source *src = open_gen(spec, pages, seed, duration_ns);
  read_events(src, limit, out);
  wl_source_close(src);
  return out->n;
}

static int same_event(const wl_event *a, const wl_event *b) {
  return a->time_ns == b->time_ns && a->pfn == b->pfn && a->op == b->op;
}

/* ------------------------------------------------------------- tests */

static void test_is_spec(void **state) {
  (void)state;
  assert_true(wl_gen_is_spec("idle"));
  assert_true(wl_gen_is_spec("uniform"));
  assert_true(wl_gen_is_spec("uniform:wss=10"));
  assert_true(wl_gen_is_spec("phased:idle@1s"));
  assert_true(wl_gen_is_spec("curve:points=1s@1"));
  assert_false(wl_gen_is_spec("trace.bin"));
  assert_false(wl_gen_is_spec("./idle"));
  assert_false(wl_gen_is_spec("/tmp/uniform:x"));
  assert_false(wl_gen_is_spec("uniformx"));
  assert_false(wl_gen_is_spec("idle.csv"));
  assert_false(wl_gen_is_spec(""));
}

/* uniform: 20000 writes/s over 60 s into [500, 1500). */
static void test_uniform_rate_and_range(void **state) {
  (void)state;
  event_list l = {0};
  read_spec("uniform:wss=1000,base=500,rate=20000", 4096, 7, 60 * NS_PER_S,
            SIZE_MAX, &l);
  double expect = 20000.0 * 60;
  print_message("uniform: %zu writes in 60 s (expected %.0f)\n", l.n, expect);
  assert_true(fabs((double)l.n - expect) <= 0.01 * expect);
  /* Known answer: accesses at floor(i * 1e9 / 20000) < 60 s are i < 1.2e6. */
  assert_int_equal(l.n, 1200000);
  uint32_t count[1000] = {0};
  size_t in_window = 0;
  for (size_t i = 0; i < l.n; i++) {
    assert_int_equal(l.ev[i].op, WL_OP_WRITE);
    assert_true(l.ev[i].pfn >= 500 && l.ev[i].pfn < 1500);
    assert_true(l.ev[i].time_ns < 60 * NS_PER_S);
    count[l.ev[i].pfn - 500]++;
    in_window += l.ev[i].time_ns >= 10 * NS_PER_S && l.ev[i].time_ns < 20 * NS_PER_S;
  }
  /* The rate holds over any window, not just on average. */
  assert_true(fabs((double)in_window - 200000.0) <= 2000.0);
  /* Uniform over the pages: every count within 6 sd of the mean
   * (mean 1200, sd ~34.6). */
  double mean = (double)l.n / 1000, sd = sqrt(mean * (1 - 1.0 / 1000));
  for (size_t p = 0; p < 1000; p++) assert_true(fabs(count[p] - mean) < 6 * sd);
  events_free(&l);
}

static const char *const all_specs[] = {
    "uniform:wss=5000,rate=50000",
    "hotcold:wss=5000,hot=0.2,hotprob=0.7,rate=50000,reads=0.3",
    "sequential:wss=3000,base=17,rate=40000,reads=0.1",
    "zipf:wss=5000,s=1.1,rate=50000,reads=0.2",
    "curve:points=100ms@1000+1s@3000+2s@4000,rate=20000,reads=0.25",
    ("phased:uniform:wss=100,rate=10000@300ms+zipf:wss=4000,s=0.9,rate=30000@0.2s"
     "+curve:points=50ms@500+150ms@900,rate=20000,reads=0.5@250ms+idle@100ms"),
};
#define ALL_SPECS (sizeof all_specs / sizeof all_specs[0])

static void test_determinism(void **state) {
  (void)state;
  for (size_t s = 0; s < ALL_SPECS; s++) {
    event_list a = {0}, b = {0}, c = {0};
    read_spec(all_specs[s], 8192, 11, 3 * NS_PER_S, 60000, &a);
    read_spec(all_specs[s], 8192, 11, 3 * NS_PER_S, 60000, &b);
    read_spec(all_specs[s], 8192, 12, 3 * NS_PER_S, 60000, &c);
    assert_true(a.n > 1000);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) assert_true(same_event(&a.ev[i], &b.ev[i]));
    /* Another seed: same timing, different pages (sequential has no
     * randomness). */
    assert_int_equal(a.n, c.n);
    size_t differ = 0;
    for (size_t i = 0; i < a.n; i++) {
      assert_int_equal(a.ev[i].time_ns, c.ev[i].time_ns);
      differ += a.ev[i].pfn != c.ev[i].pfn;
    }
    if (strncmp(all_specs[s], "sequential", 10) == 0)
      assert_int_equal(differ, 0);
    else
      assert_true(differ > a.n / 2);
    events_free(&a);
    events_free(&b);
    events_free(&c);
  }
}

/* hotcold: the hot set [base, base + hot*wss) gets hotprob of the writes;
 * reads follow the same split. */
static void test_hotcold_share(void **state) {
  (void)state;
  event_list l = {0};
  read_spec("hotcold:wss=10000,base=100,hot=0.1,hotprob=0.8,rate=100000,reads=0.2",
            20000, 3, 4 * NS_PER_S, SIZE_MAX, &l);
  size_t writes = 0, hot_writes = 0, reads = 0, hot_reads = 0;
  for (size_t i = 0; i < l.n; i++) {
    uint64_t p = l.ev[i].pfn;
    assert_true(p >= 100 && p < 10100);
    int hot = p < 1100;
    if (l.ev[i].op == WL_OP_WRITE) {
      writes++;
      hot_writes += (size_t)hot;
    } else {
      reads++;
      hot_reads += (size_t)hot;
    }
  }
  double ws = (double)hot_writes / (double)writes, rs = (double)hot_reads / (double)reads;
  print_message("hotcold: hot share of writes %.4f, of reads %.4f (hotprob 0.8)\n", ws, rs);
  /* 400000 writes: sd 0.0006, tolerance 0.005 (8 sd); 100000 reads: sd
   * 0.0013, tolerance 0.01. */
  assert_int_equal(writes, 400000);
  assert_true(fabs(ws - 0.8) < 0.005);
  assert_true(fabs(rs - 0.8) < 0.01);
  events_free(&l);
}

static int cmp_u32_desc(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* zipf: the rank-frequency plot is a line of slope -s in log-log, and the
 * top rank's share matches the exact pmf 1 / sum_k k^-s. */
static void check_zipf(double s) {
  enum { WSS = 65536, DRAWS = 2000000, FIT_RANKS = 100 };
  char spec[96];
  snprintf(spec, sizeof spec, "zipf:wss=%d,s=%g,rate=1000000", WSS, s);
  wl_source *src = open_gen(spec, WSS, 5, 2 * NS_PER_S);
  uint32_t *count = calloc(WSS, sizeof *count);
  wl_event *buf = malloc(4096 * sizeof *buf);
  assert_non_null(count);
  assert_non_null(buf);
  size_t total = 0;
  long got;
  while ((got = wl_source_read(src, buf, 4096)) > 0)
    for (long i = 0; i < got; i++, total++) count[buf[i].pfn]++;
  assert_int_equal(total, DRAWS);
  wl_source_close(src);
  free(buf);
  /* The hottest pages are scattered, not packed at the start. */
  uint64_t hottest = 0;
  for (uint64_t p = 1; p < WSS; p++)
    if (count[p] > count[hottest]) hottest = p;
  qsort(count, WSS, sizeof *count, cmp_u32_desc);
  double x[FIT_RANKS], y[FIT_RANKS];
  for (int r = 0; r < FIT_RANKS; r++) {
    x[r] = log(r + 1.0);
    y[r] = log((double)count[r]);
  }
  double c0, c1, cov00, cov01, cov11, sumsq;
  assert_int_equal(gsl_fit_linear(x, 1, y, 1, FIT_RANKS, &c0, &c1, &cov00, &cov01, &cov11, &sumsq), 0);
  double norm = 0;
  for (int k = WSS; k >= 1; k--) norm += pow(k, -s);
  double p1 = 1.0 / norm, top = (double)count[0] / DRAWS;
  print_message("zipf s=%.1f: fitted slope %.4f over ranks 1..%d; top share %.5f vs exact %.5f; "
                "hottest page %llu\n",
                s, c1, FIT_RANKS, top, p1, (unsigned long long)hottest);
  assert_true(fabs(c1 + s) < 0.03);
  /* Top count sd: 0.5% of it at s=0.8, 0.2% at s=1.2; tolerance 2%. */
  assert_true(fabs(top - p1) < 0.02 * p1);
  assert_true(hottest != 0);
  free(count);
}

static void test_zipf_slope_08(void **state) {
  (void)state;
  check_zipf(0.8);
}

static void test_zipf_slope_12(void **state) {
  (void)state;
  check_zipf(1.2);
}

/* s = 1 exactly (where H is log, reached through the series branch) and a
 * one-page working set. */
static void test_zipf_edges(void **state) {
  (void)state;
  enum { N = 1000 };
  event_list l = {0};
  read_spec("zipf:wss=1000,s=1,rate=100000", N, 8, 4 * NS_PER_S, SIZE_MAX, &l);
  uint32_t count[N] = {0};
  for (size_t i = 0; i < l.n; i++) count[l.ev[i].pfn]++;
  qsort(count, N, sizeof *count, cmp_u32_desc);
  double norm = 0;
  for (int k = N; k >= 1; k--) norm += 1.0 / k;
  /* 400000 draws: ranks 1 and 2 have sd ~0.3% and ~0.4% of their count. */
  assert_true(fabs((double)count[0] / (double)l.n - 1 / norm) < 0.02 / norm);
  assert_true(fabs((double)count[1] / (double)l.n - 0.5 / norm) < 0.02 * 0.5 / norm);
  events_free(&l);
  read_spec("zipf:wss=1,base=9,s=2", 16, 8, NS_PER_S, SIZE_MAX, &l);
  assert_int_equal(l.n, 10000);
  for (size_t i = 0; i < l.n; i++) assert_int_equal(l.ev[i].pfn, 9);
  events_free(&l);
  /* hot=1: the whole working set is hot, nothing falls outside it. */
  read_spec("hotcold:wss=10,base=3,hot=1,hotprob=0.5", 16, 8, NS_PER_S, SIZE_MAX, &l);
  for (size_t i = 0; i < l.n; i++) assert_true(l.ev[i].pfn >= 3 && l.ev[i].pfn < 13);
  events_free(&l);
}

/* curve: the generator is stationary, so the mean number of distinct pages
 * written over tumbling windows of length T equals the curve at T for every
 * T, not only the window that starts at 0. Each case's points are sampled
 * from a known stationary curve, a sum of n (1 - exp(-lambda T)) terms
 * (groups of n pages each written lambda times per second), so the check is
 * against the truth the points came from, not only against the fit. */
typedef struct {
  const char *shape;
  uint64_t pages;
  double rate;          /* sum n lambda: writes per second */
  double n[3], lambda[3];
  double t_last;        /* the spec's last point, s */
  const char *spec;     /* points sampled from the sum below */
} curve_case;

static double curve_truth(const curve_case *c, double t_s) {
  double d = 0;
  for (size_t g = 0; g < 3; g++) d += c->n[g] * -expm1(-c->lambda[g] * t_s);
  return d;
}

/* Mean distinct pages over the complete tumbling windows [kT, (k+1)T) of
 * the writes in l (one stamp per page: the last window that wrote it). */
static double windowed_mean(const event_list *l, uint64_t pages, uint64_t window_ns,
                            uint64_t duration_ns, uint32_t *stamp) {
  memset(stamp, 0, pages * sizeof *stamp);
  uint64_t windows = duration_ns / window_ns, distinct = 0;
  for (size_t i = 0; i < l->n; i++) {
    uint64_t w = l->ev[i].time_ns / window_ns;
    if (w >= windows) break;
    if (l->ev[i].op != WL_OP_WRITE || stamp[l->ev[i].pfn] == (uint32_t)(w + 1)) continue;
    stamp[l->ev[i].pfn] = (uint32_t)(w + 1);
    distinct++;
  }
  return (double)distinct / (double)windows;
}

static void test_curve_stationary(void **state) {
  (void)state;
  static const curve_case cases[] = {
      /* concave: a hot set, a warm set and a large cold set */
      {"concave", 262144, 13000, {5000, 20000, 100000}, {2, 0.1, 0.01}, 32,
       "curve:points=0.25s@2711+0.5s@4635+1s@7222+2s@10514+4s@15513+8s@23702+16s@35748"
       "+32s@51570"},
      /* nearly linear: almost every write hits a page not written for ages;
       * the hot pages saturate near the first point, so the points alone
       * cannot tell their writes apart: rate= says it */
      {"nearly linear", 1200000, 7000, {200, 1000000, 0}, {10, 0.005, 0}, 20,
       "curve:points=0.1s@626+0.5s@2696+1s@5188+2s@10150+5s@24890+10s@48971+20s@95363,rate=7000"},
      /* saturating early: a small working set, all of it written within ~2 s */
      {"saturating", 8192, 13000, {3000, 1000, 0}, {4, 1, 0}, 10,
       "curve:points=0.1s@1084+0.25s@2118+0.5s@2987+1s@3577+2s@3864+5s@3993+10s@4000"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const curve_case *cc = &cases[c];
    /* The points are the truth rounded to whole pages. */
    wl_curve *model = NULL;
    if (wl_curve_open(cc->spec, cc->pages, 0, &model)) fail_msg("%s", sim_error_message());
    double rate = wl_curve_rate(model);
    print_message("%s: fitted rate %.0f writes/s (truth %.0f), %zu groups, %" PRIu64
                  " pages\n", cc->shape, rate, cc->rate, wl_curve_groups(model),
                  wl_curve_pages(model));
    /* Without rate= the fit finds the write rate the curve implies. */
    assert_true(cc->shape[0] != 'n' || rate == cc->rate);
    assert_true(fabs(rate - cc->rate) <= 0.02 * cc->rate);
    uint64_t duration = (uint64_t)(3 * cc->t_last) * NS_PER_S;
    event_list l = {0};
    read_spec(cc->spec, cc->pages, 5, duration, SIZE_MAX, &l);
    assert_true(fabs((double)l.n - rate * (double)duration / 1e9) <= 2);
    uint32_t *stamp = malloc(cc->pages * sizeof *stamp);
    assert_non_null(stamp);
    double worst = 0;
    /* 24 window lengths, log-spaced from 0.1 s to the last point. */
    for (int k = 0; k <= 23; k++) {
      double t_s = 0.1 * pow(cc->t_last / 0.1, k / 23.0);
      uint64_t w_ns = (uint64_t)(t_s * 1e9);
      double mean = windowed_mean(&l, cc->pages, w_ns, duration, stamp);
      double truth = curve_truth(cc, (double)w_ns / 1e9);
      double fitted = wl_curve_expected(model, (double)w_ns / 1e9);
      double err = fabs(mean - truth) / truth;
      if (err > worst) worst = err;
      if (err > 0.03 || fabs(mean - fitted) > 0.03 * fitted)
        fail_msg("%s: window %.3fs: mean %.1f distinct pages, curve %.1f, fit %.1f", cc->shape,
                 t_s, mean, truth, fitted);
      /* The fit itself follows the truth between the points. */
      assert_true(fabs(fitted - truth) <= 0.02 * truth);
    }
    print_message("%s: worst windowed-mean error %.2f%% over 24 window lengths\n", cc->shape,
                  100 * worst);
    free(stamp);
    events_free(&l);
    wl_curve_free(model);
  }
}

/* What no stationary workload can do is refused with the reason. */
static void test_curve_refuses(void **state) {
  (void)state;
  static const struct {
    const char *spec;
    const char *words;
  } cases[] = {
      {"curve:points=1s@100+2s@300", "concave"},       /* rises faster later */
      {"curve:points=1s@0+2s@10", "every window"},     /* 0, then pages */
      {"curve:points=1s@1000,rate=900", "rate=900"},   /* fewer writes than pages */
      {"curve:points=1s@1000,rate=1000", "rate=1000"}, /* every write to a new page */
      {"curve:points=1s@0,rate=5", "never dirties"},
      {"curve:points=1s@1000+10s@4000,wss=4000", "stationary"}, /* the whole wss at 10 s */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    wl_curve *model = NULL;
    assert_int_equal(wl_curve_open(cases[i].spec, 4096, 0, &model), SIM_ERANGE);
    assert_null(model);
    if (!strstr(sim_error_message(), cases[i].words))
      fail_msg("%s: message '%s' lacks '%s'", cases[i].spec, sim_error_message(),
               cases[i].words);
  }
  /* A flat zero curve is an idle guest; rate= given is met exactly. */
  wl_curve *model = NULL;
  assert_int_equal(wl_curve_open("curve:points=1s@0", 4096, 0, &model), 0);
  assert_true(wl_curve_rate(model) == 0);
  wl_curve_free(model);
  assert_int_equal(wl_curve_open("curve:points=1s@100+2s@150,rate=200", 4096, 0, &model), 0);
  assert_true(fabs(wl_curve_rate(model) - 200) < 2);
  assert_true(fabs(wl_curve_expected(model, 1.0) - 100) <= 2);
  assert_true(fabs(wl_curve_expected(model, 2.0) - 150) <= 2.5);
  wl_curve_free(model);
  assert_int_equal(wl_curve_open("uniform:rate=5", 4096, 0, &model), SIM_EINVAL);
}

/* reads: a fraction of all accesses; rate stays the write rate. */
static void test_reads_fraction(void **state) {
  (void)state;
  static const struct {
    const char *spec;
    double writes, reads; /* expected counts in 10 s */
  } cases[] = {
      {"uniform:wss=1000,rate=10000,reads=0.25", 100000, 100000.0 / 3},
      {"zipf:wss=1000,rate=10000,reads=0.6", 100000, 150000},
      {"curve:points=1s@900+5s@2000,rate=10000,reads=0.2", 100000, 25000},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    event_list l = {0};
    read_spec(cases[c].spec, 4096, 2, 10 * NS_PER_S, SIZE_MAX, &l);
    size_t reads = 0;
    uint8_t dirty[4096] = {0};
    size_t reads_of_clean = 0;
    for (size_t i = 0; i < l.n; i++) {
      assert_true(l.ev[i].pfn < 1000 || c == 2);
      if (l.ev[i].op == WL_OP_READ) {
        reads++;
        reads_of_clean += !dirty[l.ev[i].pfn];
      } else {
        dirty[l.ev[i].pfn] = 1;
      }
    }
    double writes = (double)(l.n - reads);
    print_message("%s: %zu writes, %zu reads (expected %.0f, %.0f)\n", cases[c].spec,
                  l.n - reads, reads, cases[c].writes, cases[c].reads);
    assert_true(fabs(writes - cases[c].writes) <= 0.01 * cases[c].writes);
    assert_true(fabs((double)reads - cases[c].reads) <= 0.01 * cases[c].reads);
    /* The curve's reads follow its write popularity, so most go to pages
     * already written (the hot ones). */
    if (c == 2) assert_true(reads_of_clean < reads / 4);
    events_free(&l);
  }
}

static void test_phased_boundaries(void **state) {
  (void)state;
  event_list l = {0};
  read_spec("phased:idle@2s+uniform:wss=100,rate=1000@3s", 4096, 4, 12 * NS_PER_S,
            SIZE_MAX, &l);
  /* Cycle of 5 s: idle [0,2), uniform [2,5), idle [5,7), uniform [7,10),
   * idle [10,12). */
  assert_int_equal(l.n, 6000);
  assert_int_equal(l.ev[0].time_ns, 2 * NS_PER_S);
  assert_int_equal(l.ev[2999].time_ns, 2 * NS_PER_S + 2999 * 1000000ull);
  assert_int_equal(l.ev[3000].time_ns, 7 * NS_PER_S);
  size_t same = 0;
  for (size_t i = 0; i < l.n; i++) {
    uint64_t in_cycle = l.ev[i].time_ns % (5 * NS_PER_S);
    assert_true(in_cycle >= 2 * NS_PER_S);
    assert_true(l.ev[i].pfn < 100);
    if (i < 3000) same += l.ev[i].pfn == l.ev[i + 3000].pfn;
  }
  /* Each cycle draws fresh pages on the same timing (1% expected equal). */
  assert_true(same < 100);
  events_free(&l);

  /* A curve inside a phase (its points contain '+' and '@'), then a sweep. */
  read_spec("phased:curve:points=1s@100+2s@150,rate=200@3s+sequential:wss=10,base=7,rate=10@1s",
            4096, 4, 4 * NS_PER_S, SIZE_MAX, &l);
  assert_int_equal(l.n, 610);
  for (size_t i = 0; i < 600; i++) assert_true(l.ev[i].time_ns < 3 * NS_PER_S);
  for (size_t i = 600; i < 610; i++) {
    assert_int_equal(l.ev[i].pfn, 7 + (i - 600));
    assert_int_equal(l.ev[i].time_ns, 3 * NS_PER_S + (i - 600) * 100000000ull);
  }
  events_free(&l);
}

static void test_sequential_sweep(void **state) {
  (void)state;
  event_list l = {0};
  read_spec("sequential:wss=10,base=5,rate=100", 64, 1, NS_PER_S, SIZE_MAX, &l);
  assert_int_equal(l.n, 100);
  for (size_t i = 0; i < l.n; i++) {
    assert_int_equal(l.ev[i].pfn, 5 + i % 10);
    assert_int_equal(l.ev[i].time_ns, i * 10000000ull);
  }
  events_free(&l);
}

static void test_rewind(void **state) {
  (void)state;
  for (size_t s = 0; s < ALL_SPECS; s++) {
    wl_source *src = open_gen(all_specs[s], 8192, 21, 0);
    event_list a = {0}, b = {0};
    read_events(src, 50000, &a);
    assert_int_equal(a.n, 50000);
    assert_int_equal(wl_source_rewind(src), 0);
    read_events(src, 50000, &b);
    assert_int_equal(b.n, 50000);
    for (size_t i = 0; i < a.n; i++) assert_true(same_event(&a.ev[i], &b.ev[i]));
    wl_source_close(src);
    events_free(&a);
    events_free(&b);
  }
}

/* Seeking to t yields exactly the events a reader from the start sees from
 * the first event with time >= t on. */
static void test_seek(void **state) {
  (void)state;
  static const uint64_t targets[] = {
      0,          1,           7654321,    99999999,   100000000,
      123456789,  500000001,   999999999,  1000000000, 1234567890,
      1550000000, 2000000000,  2718281828, 3141592653, 3999999999};
  for (size_t s = 0; s < ALL_SPECS; s++) {
    wl_source *src = open_gen(all_specs[s], 8192, 33, 4 * NS_PER_S);
    event_list all = {0}, part = {0};
    read_events(src, SIZE_MAX, &all);
    assert_true(all.n > 10000);
    for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
      uint64_t t = targets[k];
      size_t first = 0;
      while (first < all.n && all.ev[first].time_ns < t) first++;
      assert_int_equal(wl_source_seek(src, t), 0);
      read_events(src, 20000, &part);
      size_t expect = all.n - first < 20000 ? all.n - first : 20000;
      assert_int_equal(part.n, expect);
      for (size_t i = 0; i < part.n; i++)
        if (!same_event(&part.ev[i], &all.ev[first + i]))
          fail_msg("%s: seek %llu: event %zu differs", all_specs[s], (unsigned long long)t, i);
    }
    /* Past the end: nothing. */
    assert_int_equal(wl_source_seek(src, 5 * NS_PER_S), 0);
    wl_event ev;
    assert_int_equal(wl_source_read(src, &ev, 1), 0);
    wl_source_close(src);
    events_free(&all);
    events_free(&part);
  }
}

static void test_endless_and_empty(void **state) {
  (void)state;
  event_list l = {0};
  read_spec("uniform:rate=1000", 4096, 1, 0, 100000, &l);
  assert_int_equal(l.n, 100000);
  assert_int_equal(l.ev[99999].time_ns, 99999 * 1000000ull);
  events_free(&l);
  /* Streams that can never produce an event end at once instead of
   * spinning: idle, an all-idle cycle, a flat zero curve (in a phase too). */
  static const char *const empty[] = {
      "idle", "uniform:rate=0", "phased:idle@1s+idle@2s",
      "phased:curve:points=10s@0@1s+idle@1s", "curve:points=1s@0"};
  for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
    wl_source *src = open_gen(empty[i], 4096, 1, 0);
    wl_event ev;
    assert_int_equal(wl_source_read(src, &ev, 1), 0);
    wl_source_close(src);
  }
}

static void test_units(void **state) {
  (void)state;
  static const struct {
    uint32_t page_size;
    uint64_t wss, per_s;
  } cases[] = {{4096, 1024, 10240}, {8192, 512, 5120}};
  for (size_t c = 0; c < 2; c++) {
    wl_open_opts opts = {4096, cases[c].page_size, 1, NS_PER_S};
    wl_source *src = NULL;
    assert_int_equal(wl_source_open("uniform:wss=4MiB,rate=40MiB/s", &opts, &src), 0);
    event_list l = {0};
    read_events(src, SIZE_MAX, &l);
    assert_int_equal(l.n, cases[c].per_s);
    uint64_t top = 0;
    for (size_t i = 0; i < l.n; i++)
      if (l.ev[i].pfn > top) top = l.ev[i].pfn;
    assert_int_equal(top, cases[c].wss - 1);
    wl_source_close(src);
    events_free(&l);
  }
}

static void test_meta(void **state) {
  (void)state;
  wl_open_opts opts = {1000, 8192, 42, 5 * NS_PER_S};
  wl_source *src = NULL;
  assert_int_equal(wl_source_open("uniform:wss=100,nonzero=25%", &opts, &src), 0);
  const wl_meta *m = wl_source_meta(src);
  assert_int_equal(m->pages, 1000);
  assert_int_equal(m->page_size, 8192);
  assert_int_equal(m->duration_ns, 5 * NS_PER_S);
  assert_int_equal(wl_meta_nonzero_pages(m), 250);
  assert_string_equal(wl_meta_get(m, "nonzero"), "0-249");
  assert_string_equal(wl_meta_get(m, "generator"), "uniform:wss=100,nonzero=25%");
  assert_string_equal(wl_meta_get(m, "seed"), "42");
  assert_string_equal(wl_meta_get(m, "page_size"), "8192");
  assert_false(m->has_op_column); /* writes only */
  wl_source_close(src);
  /* Reads anywhere (here in one phase) need the op column. */
  assert_int_equal(wl_source_open("phased:idle@1s+zipf:reads=0.1@1s", &opts, &src), 0);
  assert_true(wl_source_meta(src)->has_op_column);
  wl_source_close(src);

  /* Defaults: no page_size line at 4096, no duration when endless, no
   * nonzero; a phased image is the union of its phases'. */
  wl_open_opts plain = {1000, 0, 1, 0};
  assert_int_equal(
      wl_source_open("phased:idle:nonzero=0-9@1s+uniform:nonzero=5-20@1s+idle:nonzero=30-31@1s",
                     &plain, &src),
      0);
  m = wl_source_meta(src);
  assert_null(wl_meta_get(m, "page_size"));
  assert_null(wl_meta_get(m, "duration_ns"));
  assert_string_equal(wl_meta_get(m, "nonzero"), "0-20,30-31");
  wl_source_close(src);
  assert_int_equal(wl_source_open("idle", &plain, &src), 0);
  assert_null(wl_meta_get(wl_source_meta(src), "nonzero"));
  wl_source_close(src);
}

static void test_bad_specs(void **state) {
  (void)state;
  static const struct {
    const char *spec;
    int code;
    const char *must_mention; /* '|'-separated substrings */
  } cases[] = {
      {"uniform:wss=5000", SIM_ERANGE, "uniform|wss"},
      {"uniform:base=4000,wss=200", SIM_ERANGE, "uniform|wss"},
      {"uniform:base=4096", SIM_ERANGE, "uniform|base"},
      {"uniform:foo=1", SIM_EINVAL, "uniform|foo|wss, rate"},
      {"zipf:hot=0.1", SIM_EINVAL, "zipf|hot"},
      {"uniform:rate=5bogus/s", SIM_EUNIT, "uniform|rate|bogus"},
      {"uniform:rate=-5", SIM_ERANGE, "uniform|rate"},
      {"uniform:rate=2e9", SIM_ERANGE, "uniform|rate"},
      {"uniform:wss=", SIM_EINVAL, "uniform|wss"},
      {"uniform:wss", SIM_EINVAL, "uniform|wss"},
      {"uniform:wss=0", SIM_ERANGE, "uniform|wss"},
      {"uniform:wss=1.5", SIM_EINVAL, "uniform|wss"},
      {"uniform:wss=12parsecs", SIM_EUNIT, "uniform|wss"},
      {"uniform:rate=1,rate=2", SIM_EINVAL, "uniform|rate|twice"},
      {"uniform:rate=1,", SIM_EINVAL, "uniform"},
      {"uniform:reads=1", SIM_ERANGE, "uniform|reads"},
      {"zipf:s=0", SIM_ERANGE, "zipf|s="},
      {"zipf:s=abc", SIM_EINVAL, "zipf|s="},
      {"hotcold:hot=1.5", SIM_ERANGE, "hotcold|hot"},
      {"hotcold:hot=0", SIM_ERANGE, "hotcold|hot"},
      {"hotcold:hotprob=2", SIM_ERANGE, "hotcold|hotprob"},
      {"curve", SIM_EINVAL, "curve|points"},
      {"curve:points=5s@10+1s@20", SIM_ERANGE, "curve|points"},
      {"curve:points=1s@20+2s@10", SIM_ERANGE, "curve|points"},
      {"curve:points=1s", SIM_EINVAL, "curve|points|@"},
      {"curve:points=1s@5000", SIM_ERANGE, "curve|wss"},
      {"curve:points=1parsec@50", SIM_EUNIT, "curve|points"},
      {"phased:uniform", SIM_EINVAL, "phased|@DURATION"},
      {"phased:", SIM_EINVAL, "phased"},
      {"phased:phased:idle@1s@1s", SIM_EINVAL, "phased"},
      {"phased:idle@0s", SIM_ERANGE, "phased|duration"},
      {"phased:idle@5 fortnights", SIM_EUNIT, "phased|fortnights"},
      {"phased:idle@1s+uniform:wss=9999@1s", SIM_ERANGE, "phased|phase 2|uniform|wss"},
      {"phased:bogus@1s", SIM_EINVAL, "phased|bogus"},
      {"idle:nonzero=20-10", SIM_EFORMAT, "idle|nonzero"},
      {"idle:nonzero=0-5000", SIM_ERANGE, "idle|nonzero"},
      {"idle:nonzero=150%", SIM_ERANGE, "idle|nonzero"},
      {"idle:nonzero=1-2,3-4", SIM_EINVAL, "idle"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    wl_open_opts opts = {4096, 0, 1, NS_PER_S};
    wl_source *src = NULL;
    sim_error_clear();
    int rc = wl_source_open(cases[c].spec, &opts, &src);
    const char *msg = sim_error_message();
    if (rc != cases[c].code)
      fail_msg("'%s': got %d (%s), expected %d", cases[c].spec, rc, msg, cases[c].code);
    assert_null(src);
    char words[128];
    snprintf(words, sizeof words, "%s", cases[c].must_mention);
    for (char *w = strtok(words, "|"); w; w = strtok(NULL, "|"))
      if (!strstr(msg, w)) fail_msg("'%s': message '%s' lacks '%s'", cases[c].spec, msg, w);
  }
  /* Guest parameters. */
  wl_source *src = NULL;
  wl_open_opts bad_page = {4096, 1000, 1, 0};
  assert_int_equal(wl_gen_open("idle", &bad_page, &src), SIM_ERANGE);
  wl_open_opts no_pages = {0, 0, 1, 0};
  assert_int_equal(wl_gen_open("idle", &no_pages, &src), SIM_EINVAL);
  wl_open_opts fine = {4096, 0, 1, 0};
  assert_int_equal(wl_gen_open("nosuch:x=1", &fine, &src), SIM_EINVAL);
  assert_non_null(strstr(sim_error_message(), "nosuch"));
}

/* The page permutation is a bijection of [0, n) for awkward n. */
static void test_perm_bijection(void **state) {
  (void)state;
  static const uint64_t sizes[] = {1, 2, 3, 5, 1000, 4097, 65536, 100003};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    uint64_t n = sizes[s];
    uint8_t *hit = calloc(n, 1);
    assert_non_null(hit);
    wl__perm p;
    wl__perm_init(&p, n, 0x1234 + s);
    uint64_t fixed = 0;
    for (uint64_t x = 0; x < n; x++) {
      uint64_t y = wl__perm_apply(&p, x);
      assert_true(y < n);
      assert_int_equal(hit[y], 0);
      hit[y] = 1;
      fixed += x == y;
    }
    if (n >= 1000) assert_true(fixed < n / 100); /* it does move pages */
    free(hit);
  }
}

static void test_help(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  wl_gen_help(f);
  fclose(f);
  static const char *const must[] = {"idle", "uniform", "hotcold", "sequential", "zipf",
                                     "phased", "curve", "rate=10000", "hotprob=0.9",
                                     "s=1", "points=required", "base=0", "reads=0",
                                     "nonzero=none", "example: zipf:"};
  for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
    if (!strstr(text, must[i])) fail_msg("help lacks '%s'", must[i]);
  free(text);
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_is_spec),
      cmocka_unit_test(test_uniform_rate_and_range),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_hotcold_share),
      cmocka_unit_test(test_zipf_slope_08),
      cmocka_unit_test(test_zipf_slope_12),
      cmocka_unit_test(test_zipf_edges),
      cmocka_unit_test(test_curve_stationary),
      cmocka_unit_test(test_curve_refuses),
      cmocka_unit_test(test_reads_fraction),
      cmocka_unit_test(test_phased_boundaries),
      cmocka_unit_test(test_sequential_sweep),
      cmocka_unit_test(test_rewind),
      cmocka_unit_test(test_seek),
      cmocka_unit_test(test_endless_and_empty),
      cmocka_unit_test(test_units),
      cmocka_unit_test(test_meta),
      cmocka_unit_test(test_bad_specs),
      cmocka_unit_test(test_perm_bijection),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
