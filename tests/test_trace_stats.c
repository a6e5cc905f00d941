/* test_trace_stats: known-answer tests of wl_stats on small in-memory traces
 * (hand-computed values), a brute-force cross-check on a pseudo-random
 * trace, error propagation, and the `migsim trace info|stats` command's
 * error handling. The traces come from an in-memory wl_source built here,
 * so these tests do not depend on the trace file formats. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim_err.h"
#include "wl_stats.h"
#include "wl_trace.h"

/* cmocka's assert_float_equal compares floats; these values need doubles. */
#define assert_close(a, b, eps)                                                    \
  do {                                                                             \
    double a_ = (a), b_ = (b);                                                     \
    if (!(fabs(a_ - b_) <= (eps))) fail_msg("%.17g != %.17g (by more than %g)", a_, b_, (eps)); \
  } while (0)

#define MS 1000000ull
#define S 1000000000ull

/* ------------------------------------------------ in-memory source */

typedef struct {
  const wl_event *events;
  size_t n, pos;
  size_t fail_at; /* return SIM_EIO once pos reaches this (0 = never) */
  size_t batch;   /* max events per read (0 = no limit) */
} mem_state;

static long mem_read(void *state, wl_event *buf, size_t max) {
  mem_state *m = state;
  if (m->fail_at && m->pos >= m->fail_at) return sim_errorf(SIM_EIO, "mem: injected failure");
  size_t k = m->n - m->pos;
  if (k > max) k = max;
  if (m->batch && k > m->batch) k = m->batch;
  if (m->fail_at && m->pos + k > m->fail_at) k = m->fail_at - m->pos;
  if (k) memcpy(buf, m->events + m->pos, k * sizeof *buf);
  m->pos += k;
  return (long)k;
}

static int mem_rewind(void *state) {
  ((mem_state *)state)->pos = 0;
  return 0;
}

static void mem_close(void *state) { free(state); }

static const wl_source_ops mem_ops = {"memory", mem_read, mem_rewind, NULL, mem_close};

/* A source over events[0..n) with `pages` pages, optional duration and
 * nonzero ranges, and a fake on-disk size. */
static wl_source *mem_source(const wl_event *events, size_t n, uint64_t pages,
                             uint64_t duration_ns, const char *nonzero, uint64_t disk_bytes,
                             size_t fail_at, size_t batch) {
  wl_meta meta;
  wl_meta_init(&meta);
  char buf[32];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)pages);
  assert_int_equal(wl_meta_set(&meta, "pages", buf), 0);
  if (duration_ns) {
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)duration_ns);
    assert_int_equal(wl_meta_set(&meta, "duration_ns", buf), 0);
  }
  if (nonzero) assert_int_equal(wl_meta_set(&meta, "nonzero", nonzero), 0);
  assert_int_equal(wl_meta_validate(&meta), 0);
  mem_state *m = calloc(1, sizeof *m);
  assert_non_null(m);
  m->events = events;
  m->n = n;
  m->fail_at = fail_at;
  m->batch = batch;
  wl_source *src = NULL;
  assert_int_equal(wl__source_new(&mem_ops, m, &meta, disk_bytes, &src), 0);
  return src;
}

#define W(t, p) {(t), (p), WL_OP_WRITE}
#define R(t, p) {(t), (p), WL_OP_READ}

/* Bins collected by the callback. */
typedef struct {
  wl_stats_bin bins[64];
  size_t n;
  int fail_after; /* return SIM_EIO on this bin (1-based; 0 = never) */
} bin_log;

static int log_bin(void *ctx, const wl_stats_bin *bin) {
  bin_log *l = ctx;
  if (l->fail_after && (int)l->n + 1 == l->fail_after)
    return sim_errorf(SIM_EIO, "bin sink: injected failure");
  assert_true(l->n < sizeof l->bins / sizeof l->bins[0]);
  l->bins[l->n++] = *bin;
  return 0;
}

static wl_stats *run_all(wl_source *src, bin_log *log, uint64_t bin_ns, uint64_t min_window_ns) {
  wl_stats_opts o = {WL_STATS_ALL, bin_ns, min_window_ns, log_bin, log};
  wl_stats *st = NULL;
  assert_int_equal(wl_stats_run(src, &o, &st), 0);
  return st;
}

static void assert_bin(const wl_stats_bin *b, uint64_t start, uint64_t end, uint64_t writes,
                       uint64_t reads, uint64_t distinct, double rate) {
  assert_int_equal(b->t_start_ns, start);
  assert_int_equal(b->t_end_ns, end);
  assert_int_equal(b->writes, writes);
  assert_int_equal(b->reads, reads);
  assert_int_equal(b->distinct_pages_written, distinct);
  assert_close(b->write_rate_pages_per_s, rate, 1e-9);
  assert_close(b->write_rate_mib_per_s, rate * 4096.0 / 1048576.0, 1e-12);
}

/* ------------------------------------------------------------ summary */

/* Writes p1 p2 p1 p5, reads p3 p1, duration 2 s from the metadata. */
static void test_info_known_answers(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(0, 1),        W(100 * MS, 2), R(200 * MS, 3),
                                W(500 * MS, 1), W(1200 * MS, 5), R(1900 * MS, 1)};
  wl_source *src = mem_source(ev, 6, 16, 2 * S, "0-3,8", 100, 0, 0);
  wl_stats *st = NULL;
  assert_int_equal(wl_stats_run(src, NULL, &st), 0);
  const wl_stats_info *in = wl_stats_get_info(st);
  assert_int_equal(in->pages, 16);
  assert_int_equal(in->page_size, 4096);
  assert_int_equal(in->duration_ns, 2 * S);
  assert_int_equal(in->duration_from_meta, 1);
  assert_int_equal(in->events, 6);
  assert_int_equal(in->writes, 4);
  assert_int_equal(in->reads, 2);
  assert_int_equal(in->first_event_ns, 0);
  assert_int_equal(in->last_event_ns, 1900 * MS);
  assert_int_equal(in->distinct_pages_written, 3); /* 1, 2, 5 */
  assert_int_equal(in->distinct_pages_read, 2);    /* 3, 1 */
  assert_int_equal(in->nonzero_pages, 5);          /* 0-3 and 8 */
  assert_close(in->write_rate_pages_per_s, 2.0, 1e-12);
  assert_close(in->write_rate_mib_per_s, 2.0 * 4096 / 1048576.0, 1e-15);
  assert_close(in->distinct_pages_per_s, 1.5, 1e-12);
  assert_int_equal(in->disk_bytes, 100);
  assert_close(in->disk_bytes_per_event, 100.0 / 6.0, 1e-12);
  /* Summary only: no curve, no histogram, a quarter byte per page. */
  size_t n = 99;
  wl_stats_get_working_set(st, &n);
  assert_int_equal(n, 0);
  wl_stats_get_histogram(st, &n);
  assert_int_equal(n, 0);
  wl_stats_free(st);
  wl_source_close(src);
}

static void test_duration_from_last_event(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(500 * MS, 0), W(3 * S, 1), W(3 * S, 1)};
  wl_source *src = mem_source(ev, 3, 4, 0, NULL, 0, 0, 0);
  wl_stats *st = NULL;
  assert_int_equal(wl_stats_run(src, NULL, &st), 0);
  const wl_stats_info *in = wl_stats_get_info(st);
  assert_int_equal(in->duration_ns, 3 * S);
  assert_int_equal(in->duration_from_meta, 0);
  assert_int_equal(in->first_event_ns, 500 * MS);
  assert_close(in->write_rate_pages_per_s, 1.0, 1e-12);
  assert_close(in->distinct_pages_per_s, 2.0 / 3.0, 1e-12);
  assert_close(in->disk_bytes_per_event, 0.0, 0.0); /* generator-like */
  wl_stats_free(st);
  wl_source_close(src);
}

static void test_empty_trace(void **unused) {
  (void)unused;
  bin_log log = {.n = 0};
  wl_source *src = mem_source(NULL, 0, 8, 0, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  const wl_stats_info *in = wl_stats_get_info(st);
  assert_int_equal(in->events, 0);
  assert_int_equal(in->duration_ns, 0);
  assert_close(in->write_rate_pages_per_s, 0.0, 0.0);
  /* One full-width empty bin; no curve; every page in bucket [0, 0]. */
  assert_int_equal(log.n, 1);
  assert_bin(&log.bins[0], 0, S, 0, 0, 0, 0.0);
  size_t n;
  wl_stats_get_working_set(st, &n);
  assert_int_equal(n, 0);
  const wl_stats_hist_bucket *h = wl_stats_get_histogram(st, &n);
  assert_int_equal(n, 1);
  assert_int_equal(h[0].pages, 8);
  assert_close(h[0].share_of_writes, 0.0, 0.0);
  wl_stats_free(st);
  wl_source_close(src);
}

/* --------------------------------------------------------------- bins */

static void test_bins_known_answers(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(0, 1),        W(100 * MS, 2), R(200 * MS, 3),
                                W(500 * MS, 1), W(1200 * MS, 5), R(1900 * MS, 1)};
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 6, 16, 2 * S, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  assert_int_equal(log.n, 2);
  /* [0,1): p1 twice and p2; a read of p3 that is not a write. */
  assert_bin(&log.bins[0], 0, S, 3, 1, 2, 3.0);
  assert_bin(&log.bins[1], S, 2 * S, 1, 1, 1, 1.0);
  assert_int_equal(log.bins[1].index, 1);
  wl_stats_free(st);
  wl_source_close(src);
}

/* Empty bins are emitted, and the last one is clipped to the duration. */
static void test_bins_gaps_and_clipping(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(2200 * MS, 0), W(2300 * MS, 0)};
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 2, 4, 3500 * MS, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  assert_int_equal(log.n, 4);
  assert_bin(&log.bins[0], 0, S, 0, 0, 0, 0.0);
  assert_bin(&log.bins[1], S, 2 * S, 0, 0, 0, 0.0);
  assert_bin(&log.bins[2], 2 * S, 3 * S, 2, 0, 1, 2.0);
  assert_bin(&log.bins[3], 3 * S, 3500 * MS, 0, 0, 0, 0.0);
  wl_stats_free(st);
  wl_source_close(src);
}

/* Half-second bins, clipped last bin with writes: rate over its length. */
static void test_bins_rate_over_clipped_length(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(100 * MS, 0), W(1100 * MS, 1), W(1150 * MS, 2),
                                W(1190 * MS, 1)};
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 4, 4, 1200 * MS, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, 500 * MS, 10 * MS);
  assert_int_equal(log.n, 3);
  assert_bin(&log.bins[0], 0, 500 * MS, 1, 0, 1, 2.0);
  assert_bin(&log.bins[1], 500 * MS, 1000 * MS, 0, 0, 0, 0.0);
  /* [1.0, 1.2]: 3 writes, 2 distinct pages, over 0.2 s. */
  assert_bin(&log.bins[2], 1000 * MS, 1200 * MS, 3, 0, 2, 15.0);
  wl_stats_free(st);
  wl_source_close(src);
}

/* Events exactly at D on a bin boundary (no duration in the metadata): the
 * final bin would have zero length and gets the full width instead. */
static void test_bins_events_at_end_boundary(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(0, 0), W(2 * S, 1), W(2 * S, 2)};
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 3, 4, 0, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  assert_int_equal(log.n, 3);
  assert_bin(&log.bins[0], 0, S, 1, 0, 1, 1.0);
  assert_bin(&log.bins[1], S, 2 * S, 0, 0, 0, 0.0);
  assert_bin(&log.bins[2], 2 * S, 3 * S, 2, 0, 2, 2.0);
  wl_stats_free(st);
  wl_source_close(src);
}

/* The per-bin distinct count restarts every bin (its bitmap is cleared). */
static void test_bins_distinct_restarts(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(0, 63),  W(1, 64),  W(2, 63),  W(S, 63),
                                W(S + 1, 64), W(S + 2, 65), W(2 * S + 5, 64)};
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 7, 130, 3 * S, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  assert_int_equal(log.n, 3);
  assert_bin(&log.bins[0], 0, S, 3, 0, 2, 3.0);
  assert_bin(&log.bins[1], S, 2 * S, 3, 0, 3, 3.0);
  assert_bin(&log.bins[2], 2 * S, 3 * S, 1, 0, 1, 1.0);
  wl_stats_free(st);
  wl_source_close(src);
}

/* -------------------------------------------------------- working set */

static void assert_ws(const wl_stats_ws_point *p, uint64_t window, uint64_t windows, double mean,
                      uint64_t max, uint64_t from_start) {
  assert_int_equal(p->window_ns, window);
  assert_int_equal(p->windows, windows);
  assert_close(p->mean_distinct_pages, mean, 1e-12);
  assert_int_equal(p->max_distinct_pages, max);
  assert_int_equal(p->from_start_distinct_pages, from_start);
}

/* Hand-computed, duration 50 ms, windows 10/20/40 ms plus the whole trace:
 *   10 ms: {0,1} {0,2} {3} {0,1} {5}           -> 5 windows, sum 8, max 2
 *   20 ms: {0,1,2} {3,0,1}, [40,60) partial     -> 2 windows, sum 6, max 3
 *   40 ms: {0,1,2,3}, [40,80) partial           -> 1 window, 4
 *   50 ms: the whole trace {0,1,2,3,5}          -> 5
 * From start [0,w): 2, 3, 4. Reads of page 7 count nowhere. */
static void test_working_set_known_answers(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(0, 0),       W(5 * MS, 1),  W(5 * MS + 1, 0), R(6 * MS, 7),
                                W(12 * MS, 0), W(15 * MS, 2), W(25 * MS, 3),    W(31 * MS, 0),
                                R(35 * MS, 7), W(39 * MS, 1), W(45 * MS, 5)};
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 11, 8, 50 * MS, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  size_t n;
  const wl_stats_ws_point *ws = wl_stats_get_working_set(st, &n);
  assert_int_equal(n, 4);
  assert_ws(&ws[0], 10 * MS, 5, 8.0 / 5.0, 2, 2);
  assert_ws(&ws[1], 20 * MS, 2, 3.0, 3, 3);
  assert_ws(&ws[2], 40 * MS, 1, 4.0, 4, 4);
  assert_ws(&ws[3], 50 * MS, 1, 5.0, 5, 5);
  assert_int_equal(wl_stats_get_info(st)->distinct_pages_read, 1);
  wl_stats_free(st);
  wl_source_close(src);
}

/* A duration that is an exact level adds no extra "whole trace" point, and
 * a duration shorter than the minimum window leaves only that point. */
static void test_working_set_edges(void **unused) {
  (void)unused;
  static const wl_event ev[] = {W(0, 0), W(15 * MS, 1), W(39 * MS, 2)};
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 3, 4, 40 * MS, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  size_t n;
  const wl_stats_ws_point *ws = wl_stats_get_working_set(st, &n);
  assert_int_equal(n, 3);
  assert_ws(&ws[0], 10 * MS, 4, 3.0 / 4.0, 1, 1); /* {0} {1} {} {2} */
  assert_ws(&ws[1], 20 * MS, 2, 1.5, 2, 2);       /* {0,1} {2} */
  assert_ws(&ws[2], 40 * MS, 1, 3.0, 3, 3);
  wl_stats_free(st);
  wl_source_close(src);

  static const wl_event short_ev[] = {W(1 * MS, 0), W(4 * MS, 1)};
  log.n = 0;
  src = mem_source(short_ev, 2, 4, 5 * MS, NULL, 0, 0, 0);
  st = run_all(src, &log, S, 10 * MS);
  ws = wl_stats_get_working_set(st, &n);
  assert_int_equal(n, 1);
  assert_ws(&ws[0], 5 * MS, 1, 2.0, 2, 2);
  wl_stats_free(st);
  wl_source_close(src);
}

/* ---------------------------------------------------------- histogram */

static void test_histogram_known_answers(void **unused) {
  (void)unused;
  /* p0 x1, p1 x2, p2 x3, p3 x4, p4 x8, p5 read only, p6 p7 untouched. */
  wl_event ev[32];
  size_t n = 0;
  static const unsigned writes_of[5] = {1, 2, 3, 4, 8};
  uint64_t t = 0;
  for (unsigned p = 0; p < 5; p++)
    for (unsigned k = 0; k < writes_of[p]; k++) ev[n++] = (wl_event)W(t++, p);
  ev[n++] = (wl_event)R(t++, 5);
  ev[n++] = (wl_event)R(t++, 5);
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, n, 8, 0, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  size_t count;
  const wl_stats_hist_bucket *h = wl_stats_get_histogram(st, &count);
  assert_int_equal(count, 5);
  static const uint64_t lo[5] = {0, 1, 2, 4, 8}, hi[5] = {0, 1, 3, 7, 15},
                        pages[5] = {3, 1, 2, 1, 1}, writes[5] = {0, 1, 5, 4, 8};
  for (size_t b = 0; b < 5; b++) {
    assert_int_equal(h[b].min_writes, lo[b]);
    assert_int_equal(h[b].max_writes, hi[b]);
    assert_int_equal(h[b].pages, pages[b]);
    assert_int_equal(h[b].writes, writes[b]);
    assert_close(h[b].share_of_writes, (double)writes[b] / 18.0, 1e-12);
  }
  wl_stats_free(st);
  wl_source_close(src);
}

/* Empty buckets between non-empty ones are kept (a regular x axis). */
static void test_histogram_gap(void **unused) {
  (void)unused;
  wl_event ev[20];
  for (uint64_t i = 0; i < 20; i++) ev[i] = (wl_event)W(i, 1); /* 20 writes: [16, 31] */
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, 20, 2, 0, NULL, 0, 0, 0);
  wl_stats *st = run_all(src, &log, S, 10 * MS);
  size_t count;
  const wl_stats_hist_bucket *h = wl_stats_get_histogram(st, &count);
  assert_int_equal(count, 6); /* [0] [1] [2,3] [4,7] [8,15] [16,31] */
  assert_int_equal(h[0].pages, 1);
  for (size_t b = 1; b < 5; b++) assert_int_equal(h[b].pages, 0);
  assert_int_equal(h[5].min_writes, 16);
  assert_int_equal(h[5].max_writes, 31);
  assert_int_equal(h[5].pages, 1);
  assert_close(h[5].share_of_writes, 1.0, 0.0);
  wl_stats_free(st);
  wl_source_close(src);
}

/* ------------------------------------------- cross-check, batch sizes */

static uint64_t lcg(uint64_t *state) {
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return *state >> 33;
}

/* A random trace with bursts and gaps, checked against brute force. */
static void test_cross_check_brute_force(void **unused) {
  (void)unused;
  enum { N = 3000, PAGES = 97 };
  const uint64_t duration = 1300 * MS, w0 = 10 * MS, bin = 250 * MS;
  wl_event *ev = malloc(N * sizeof *ev);
  assert_non_null(ev);
  uint64_t rng = 42, t = 0;
  for (size_t i = 0; i < N; i++) {
    uint64_t r = lcg(&rng);
    t += (r % 10 == 0) ? lcg(&rng) % (5 * MS) : lcg(&rng) % 500000; /* mean ~0.43 ms */
    if (t >= duration) t = duration - 1;
    uint64_t page = (r & 1) ? lcg(&rng) % 8 : lcg(&rng) % PAGES; /* a hot set */
    ev[i] = (wl_event){t, page, (uint8_t)(lcg(&rng) % 7 == 0 ? WL_OP_READ : WL_OP_WRITE)};
  }
  bin_log log = {.n = 0};
  wl_source *src = mem_source(ev, N, PAGES, duration, NULL, 0, 0, 7); /* odd batches */
  wl_stats *st = run_all(src, &log, bin, w0);

  /* Bins. */
  assert_int_equal(log.n, 6); /* 5 full + [1.25, 1.3] */
  for (size_t b = 0; b < log.n; b++) {
    uint64_t lo = b * bin, hi = lo + bin, writes = 0, reads = 0, distinct = 0;
    unsigned char seen[PAGES] = {0};
    for (size_t i = 0; i < N; i++) {
      if (ev[i].time_ns < lo || ev[i].time_ns >= hi) continue;
      if (ev[i].op == WL_OP_READ) {
        reads++;
        continue;
      }
      writes++;
      if (!seen[ev[i].pfn]) distinct++;
      seen[ev[i].pfn] = 1;
    }
    assert_int_equal(log.bins[b].writes, writes);
    assert_int_equal(log.bins[b].reads, reads);
    assert_int_equal(log.bins[b].distinct_pages_written, distinct);
  }
  assert_int_equal(log.bins[5].t_end_ns, duration);

  /* Working set, level by level. */
  size_t n;
  const wl_stats_ws_point *ws = wl_stats_get_working_set(st, &n);
  assert_int_equal(n, 8 + 1); /* 10 ms .. 1280 ms, then 1300 ms */
  for (size_t k = 0; k < 8; k++) {
    const uint64_t w = w0 << k, windows = duration / w;
    uint64_t sum = 0, max = 0, from_start = 0;
    for (uint64_t win = 0; win < windows; win++) {
      unsigned char seen[PAGES] = {0};
      uint64_t distinct = 0;
      for (size_t i = 0; i < N; i++) {
        if (ev[i].op != WL_OP_WRITE || ev[i].time_ns < win * w || ev[i].time_ns >= (win + 1) * w)
          continue;
        if (!seen[ev[i].pfn]) distinct++;
        seen[ev[i].pfn] = 1;
      }
      sum += distinct;
      if (distinct > max) max = distinct;
      if (win == 0) from_start = distinct;
    }
    assert_ws(&ws[k], w, windows, (double)sum / (double)windows, max, from_start);
  }
  assert_int_equal(ws[8].window_ns, duration);
  assert_int_equal(ws[8].max_distinct_pages, wl_stats_get_info(st)->distinct_pages_written);

  /* Histogram. */
  uint64_t per_page[PAGES] = {0}, total = 0;
  for (size_t i = 0; i < N; i++)
    if (ev[i].op == WL_OP_WRITE) per_page[ev[i].pfn]++, total++;
  const wl_stats_hist_bucket *h = wl_stats_get_histogram(st, &n);
  uint64_t pages_seen = 0, writes_seen = 0;
  for (size_t b = 0; b < n; b++) {
    uint64_t pages = 0;
    for (size_t p = 0; p < PAGES; p++)
      if (per_page[p] >= h[b].min_writes && per_page[p] <= h[b].max_writes) pages++;
    assert_int_equal(h[b].pages, pages);
    pages_seen += h[b].pages;
    writes_seen += h[b].writes;
  }
  assert_int_equal(pages_seen, PAGES);
  assert_int_equal(writes_seen, total);
  assert_int_equal(wl_stats_get_info(st)->writes, total);

  /* The same trace fed one event at a time gives the same numbers. */
  bin_log log1 = {.n = 0};
  wl_stats_opts o = {WL_STATS_ALL, bin, w0, log_bin, &log1};
  wl_stats *one = NULL;
  assert_int_equal(wl_stats_new(wl_source_meta(src), &o, &one), 0);
  for (size_t i = 0; i < N; i++) assert_int_equal(wl_stats_add(one, &ev[i], 1), 0);
  assert_int_equal(wl_stats_finish(one, 0), 0);
  assert_int_equal(log1.n, log.n);
  assert_memory_equal(log1.bins, log.bins, log.n * sizeof log.bins[0]);
  size_t n1;
  const wl_stats_ws_point *ws1 = wl_stats_get_working_set(one, &n1);
  ws = wl_stats_get_working_set(st, &n);
  assert_int_equal(n1, n);
  assert_memory_equal(ws1, ws, n * sizeof *ws);
  const wl_stats_hist_bucket *h1 = wl_stats_get_histogram(one, &n1);
  h = wl_stats_get_histogram(st, &n);
  assert_int_equal(n1, n);
  assert_memory_equal(h1, h, n * sizeof *h);
  wl_stats_free(one);
  wl_stats_free(st);
  wl_source_close(src);
  free(ev);
}

/* ------------------------------------------------------------- errors */

static void test_errors(void **unused) {
  (void)unused;
  wl_stats *st = NULL;
  bin_log log = {.n = 0};

  /* Time going backwards. */
  static const wl_event back[] = {W(5, 0), W(4, 1)};
  wl_source *src = mem_source(back, 2, 4, 0, NULL, 0, 0, 0);
  assert_int_equal(wl_stats_run(src, NULL, &st), SIM_EORDER);
  assert_null(st);
  wl_source_close(src);

  /* A page outside the guest. */
  static const wl_event out[] = {W(5, 4)};
  src = mem_source(out, 1, 4, 0, NULL, 0, 0, 0);
  assert_int_equal(wl_stats_run(src, NULL, &st), SIM_ERANGE);
  assert_non_null(strstr(sim_error_message(), "page 4"));
  wl_source_close(src);

  /* An unknown op. */
  static const wl_event bad_op[] = {{5, 1, 7}};
  src = mem_source(bad_op, 1, 4, 0, NULL, 0, 0, 0);
  assert_int_equal(wl_stats_run(src, NULL, &st), SIM_EFORMAT);
  wl_source_close(src);

  /* A source read error is propagated as is. */
  static const wl_event ok[] = {W(1, 0), W(2, 1), W(3, 2), W(4, 3)};
  src = mem_source(ok, 4, 4, 0, NULL, 0, 2, 0);
  assert_int_equal(wl_stats_run(src, NULL, &st), SIM_EIO);
  assert_string_equal(sim_error_message(), "mem: injected failure");
  wl_source_close(src);

  /* So is the bin callback's code. */
  static const wl_event late[] = {W(0, 0), W(3 * S, 1)};
  src = mem_source(late, 2, 4, 0, NULL, 0, 0, 0);
  log.fail_after = 2;
  wl_stats_opts o = {WL_STATS_DIRTY_RATE, S, 0, log_bin, &log};
  assert_int_equal(wl_stats_run(src, &o, &st), SIM_EIO);
  assert_int_equal(log.n, 1);
  wl_source_close(src);

  /* Options. */
  wl_meta meta;
  wl_meta_init(&meta);
  assert_int_equal(wl_meta_set(&meta, "pages", "4"), 0);
  wl_stats_opts no_cb = {WL_STATS_DIRTY_RATE, 0, 0, NULL, NULL};
  assert_int_equal(wl_stats_new(&meta, &no_cb, &st), SIM_EINVAL);
  wl_stats_opts bad_flags = {0x80, 0, 0, NULL, NULL};
  assert_int_equal(wl_stats_new(&meta, &bad_flags, &st), SIM_EINVAL);

  /* 2^32 one-nanosecond windows do not fit the 32-bit stamps. */
  wl_stats_opts ws_ns = {WL_STATS_WORKING_SET, 0, 1, NULL, NULL};
  assert_int_equal(wl_stats_new(&meta, &ws_ns, &st), 0);
  wl_event far = W(1ull << 32, 0);
  assert_int_equal(wl_stats_add(st, &far, 1), SIM_ERANGE);
  wl_stats_free(st);

  /* A timestamp needing absurdly many bins fails at once. */
  wl_stats_opts tiny_bins = {WL_STATS_DIRTY_RATE, 1, 0, log_bin, &log};
  log.n = 0;
  log.fail_after = 0;
  assert_int_equal(wl_stats_new(&meta, &tiny_bins, &st), 0);
  far = (wl_event)W(S, 0);
  assert_int_equal(wl_stats_add(st, &far, 1), SIM_ERANGE);
  assert_int_equal(log.n, 0);
  wl_stats_free(st);

  /* Finishing twice is refused. */
  assert_int_equal(wl_stats_new(&meta, NULL, &st), 0);
  assert_int_equal(wl_stats_finish(st, 0), 0);
  assert_int_equal(wl_stats_finish(st, 0), SIM_EINVAL);
  wl_stats_free(st);
  wl_stats_free(NULL);
  wl_meta_free(&meta);
}

/* Memory is per page, independent of the number of events, and the
 * summary alone is small. */
static void test_memory_bound(void **unused) {
  (void)unused;
  wl_meta meta;
  wl_meta_init(&meta);
  assert_int_equal(wl_meta_set(&meta, "pages", "262144"), 0); /* 1 GiB */
  wl_stats *st = NULL;
  assert_int_equal(wl_stats_new(&meta, NULL, &st), 0);
  size_t summary = wl_stats_memory_bytes(st);
  assert_true(summary <= 262144 / 4 + 16384); /* 2 bits per page + tables */
  wl_event ev[256];
  for (uint64_t i = 0; i < 256; i++) ev[i] = (wl_event)W(i * 1000, (i * 7919) % 262144);
  for (int r = 0; r < 100; r++) {
    assert_int_equal(wl_stats_add(st, ev, 256), 0);
    for (size_t i = 0; i < 256; i++) ev[i].time_ns += 256000;
  }
  assert_int_equal(wl_stats_memory_bytes(st), summary);
  wl_stats_free(st);
  bin_log log = {.n = 0};
  wl_stats_opts o = {WL_STATS_ALL, 0, 0, log_bin, &log};
  assert_int_equal(wl_stats_new(&meta, &o, &st), 0);
  size_t all = wl_stats_memory_bytes(st);
  assert_true(all <= 262144 * 9 + 16384); /* about 8.5 bytes per page */
  wl_stats_free(st);
  wl_meta_free(&meta);
}

/* ------------------------------------------------- the CLI (errors) */

/* Runs the migsim binary with argv, stdout/stderr to files in dir;
 * returns the exit status. */
static int run_cli(const char *dir, char *const argv[]) {
  char out[512], err[512];
  snprintf(out, sizeof out, "%s/stdout", dir);
  snprintf(err, sizeof err, "%s/stderr", dir);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr)) _exit(127);
    execv(MIGSIM_BIN, argv);
    _exit(127);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static int exists(const char *dir, const char *name) {
  char path[1024];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &sb) == 0;
}

static void test_cli_errors(void **unused) {
  (void)unused;
  char dir[] = "/tmp/migsim-test-stats-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char outdir[600];
  snprintf(outdir, sizeof outdir, "%s/out", dir);

  char *bad_bin[] = {"migsim", "trace", "stats", "uniform:rate=10", "--pages", "64",
                     "--duration", "1s", "--out", outdir, "--bin", "2 fortnights", NULL};
  assert_int_equal(run_cli(dir, bad_bin), 2);
  char *err = slurp(dir, "stderr");
  assert_non_null(strstr(err, "--bin"));
  assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1); /* one line */
  assert_false(exists(dir, "out"));

  char *no_out[] = {"migsim", "trace", "stats", "x.trace", NULL};
  assert_int_equal(run_cli(dir, no_out), 2);
  assert_non_null(strstr(slurp(dir, "stderr"), "--out"));

  char *file_with_pages[] = {"migsim", "trace", "info", "x.trace", "--pages", "5", NULL};
  assert_int_equal(run_cli(dir, file_with_pages), 2);
  assert_non_null(strstr(slurp(dir, "stderr"), "--pages only applies to generator"));

  char *bad_memory[] = {"migsim", "trace", "info", "uniform:rate=10", "--memory", "12 bananas",
                        "--duration", "1s", NULL};
  assert_int_equal(run_cli(dir, bad_memory), 2);
  assert_non_null(strstr(slurp(dir, "stderr"), "--memory"));

  char *help[] = {"migsim", "trace", "stats", "--help", NULL};
  assert_int_equal(run_cli(dir, help), 0);
  assert_non_null(strstr(slurp(dir, "stdout"), "working_set.csv"));

  char *unknown[] = {"migsim", "trace", "info", "--frobnicate", "x", NULL};
  assert_int_equal(run_cli(dir, unknown), 2);
  assert_non_null(strstr(slurp(dir, "stderr"), "--frobnicate"));

  unlink(strcat(strcpy(outdir, dir), "/stdout"));
  unlink(strcat(strcpy(outdir, dir), "/stderr"));
  assert_int_equal(rmdir(dir), 0);
}

/* With generators available, stats writes the three tables whole and
 * nothing else; skipped while generators are not implemented. */
static void test_cli_stats_generator(void **unused) {
  (void)unused;
  char dir[] = "/tmp/migsim-test-stats-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char outdir[600];
  snprintf(outdir, sizeof outdir, "%s/out", dir);
  char *info[] = {"migsim", "trace", "info", "uniform:rate=1000", "--pages", "256",
                  "--duration", "3s", "--csv", NULL};
  int rc = run_cli(dir, info);
  if (rc != 0 && strstr(slurp(dir, "stderr"), "not implemented")) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    skip();
  }
  assert_int_equal(rc, 0);
  char *csv = slurp(dir, "stdout");
  assert_true(strncmp(csv, "trace,pages,page_size,duration_s,events,", 40) == 0);
  assert_non_null(strstr(csv, "\nuniform:rate=1000,256,4096,3,"));

  char *stats[] = {"migsim", "trace", "stats", "uniform:rate=1000", "--pages", "256",
                   "--duration", "3s", "--bin", "500ms", "--out", outdir, NULL};
  assert_int_equal(run_cli(dir, stats), 0);
  char *rate = slurp(outdir, "dirty_rate.csv");
  assert_true(strncmp(rate, "t_start_s,t_end_s,writes,reads,distinct_pages_written,", 54) == 0);
  size_t lines = 0;
  for (char *p = rate; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 1 + 6); /* header + 6 half-second bins */
  assert_true(exists(outdir, "working_set.csv"));
  assert_true(exists(outdir, "write_histogram.csv"));
  assert_false(exists(outdir, "dirty_rate.png"));

  /* With --plot the three PNGs join them, over the earlier tables. */
  char *plot[] = {"migsim", "trace", "stats", "uniform:rate=1000", "--pages", "256",
                  "--duration", "3s", "--out", outdir, "--plot", NULL};
  assert_int_equal(run_cli(dir, plot), 0);
  assert_true(exists(outdir, "dirty_rate.png"));
  assert_true(exists(outdir, "working_set.png"));
  assert_true(exists(outdir, "write_histogram.png"));
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c tmp", outdir);
  FILE *p = popen(cmd, "r");
  char count[16] = "";
  assert_non_null(fgets(count, sizeof count, p));
  pclose(p);
  assert_string_equal(count, "0\n");
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_info_known_answers),
      cmocka_unit_test(test_duration_from_last_event),
      cmocka_unit_test(test_empty_trace),
      cmocka_unit_test(test_bins_known_answers),
      cmocka_unit_test(test_bins_gaps_and_clipping),
      cmocka_unit_test(test_bins_rate_over_clipped_length),
      cmocka_unit_test(test_bins_events_at_end_boundary),
      cmocka_unit_test(test_bins_distinct_restarts),
      cmocka_unit_test(test_working_set_known_answers),
      cmocka_unit_test(test_working_set_edges),
      cmocka_unit_test(test_histogram_known_answers),
      cmocka_unit_test(test_histogram_gap),
      cmocka_unit_test(test_cross_check_brute_force),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_memory_bound),
      cmocka_unit_test(test_cli_errors),
      cmocka_unit_test(test_cli_stats_generator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
