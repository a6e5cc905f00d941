/* test_fleet: many migrations on one engine. Max-min fair sharing against
 * hand-computed answers, one migration alone against mdl_simulate byte for
 * byte, two migrations sharing a link against the analytic time, and the
 * list schedule's limits. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mdl_fleet.h"
#include "mdl_sim.h"
#include "sim_err.h"

/* |got - want| <= tol, with the values in the message. */
#define assert_double_equal(got, want, tol)                                                      \
  do {                                                                                           \
    double g_ = (got), w_ = (want);                                                              \
    if (!(fabs(g_ - w_) <= (tol))) fail_msg("%s = %.9g, want %.9g (+- %.3g)", #got, g_, w_, (double)(tol)); \
  } while (0)

static void maxmin(size_t n, const double *demand, const uint32_t (*path)[MDL_FLEET_MAX_PATH],
                   const uint32_t *plen, size_t nlinks, const double *cap, double *rate) {
  double work[64];
  mdl_fleet_maxmin(n, demand, path, plen, nlinks, cap, rate, work);
}

static void test_maxmin_known_answers(void **state) {
  (void)state;
  double rate[4];
  /* Two equal flows on one link: half each. */
  {
    double d[] = {INFINITY, INFINITY}, cap[] = {100};
    uint32_t path[2][MDL_FLEET_MAX_PATH] = {{0}, {0}}, plen[] = {1, 1};
    maxmin(2, d, (const uint32_t(*)[MDL_FLEET_MAX_PATH])path, plen, 1, cap, rate);
    assert_double_equal(rate[0], 50, 1e-9);
    assert_double_equal(rate[1], 50, 1e-9);
  }
  /* A rate-limited flow leaves what it does not use to the other. */
  {
    double d[] = {20, INFINITY}, cap[] = {100};
    uint32_t path[2][MDL_FLEET_MAX_PATH] = {{0}, {0}}, plen[] = {1, 1};
    maxmin(2, d, (const uint32_t(*)[MDL_FLEET_MAX_PATH])path, plen, 1, cap, rate);
    assert_double_equal(rate[0], 20, 1e-9);
    assert_double_equal(rate[1], 80, 1e-9);
  }
  /* f1 on A (10), f2 on A and B (4), f3 on B: B is the bottleneck of f2
   * and f3 (2 each), then f1 takes the rest of A (8). */
  {
    double d[] = {INFINITY, INFINITY, INFINITY}, cap[] = {10, 4};
    uint32_t path[3][MDL_FLEET_MAX_PATH] = {{0}, {0, 1}, {1}}, plen[] = {1, 2, 1};
    maxmin(3, d, (const uint32_t(*)[MDL_FLEET_MAX_PATH])path, plen, 2, cap, rate);
    assert_double_equal(rate[0], 8, 1e-9);
    assert_double_equal(rate[1], 2, 1e-9);
    assert_double_equal(rate[2], 2, 1e-9);
  }
  /* Three flows, one link of 90, demands 10, 50, inf: 10, 40, 40. */
  {
    double d[] = {10, 50, INFINITY}, cap[] = {90};
    uint32_t path[3][MDL_FLEET_MAX_PATH] = {{0}, {0}, {0}}, plen[] = {1, 1, 1};
    maxmin(3, d, (const uint32_t(*)[MDL_FLEET_MAX_PATH])path, plen, 1, cap, rate);
    assert_double_equal(rate[0], 10, 1e-9);
    assert_double_equal(rate[1], 40, 1e-9);
    assert_double_equal(rate[2], 40, 1e-9);
  }
}

/* ---- fleet runs ---- */

typedef struct {
  mdl_scenario s[16];
  mdl_profile profile;
  mdl_result r[16];
  uint64_t start[16];
  int finished[16];
} fleet_ctx;

static int prep(void *ctx, size_t job, mdl_scenario *s, const mdl_profile **profile) {
  fleet_ctx *c = ctx;
  *s = c->s[job];
  *profile = &c->profile;
  return 0;
}

/* Keeps a copy of the metrics (rounds dropped: the fleet frees them). */
static void done(void *ctx, size_t job, uint64_t start_ns, const mdl_result *r) {
  fleet_ctx *c = ctx;
  c->r[job] = *r;
  c->r[job].rounds = NULL;
  c->r[job].round_count = c->r[job].round_cap = 0;
  c->r[job].samples = NULL;
  c->r[job].sample_count = c->r[job].sample_cap = 0;
  c->start[job] = start_ns;
  c->finished[job]++;
}

/* A 64 MiB guest, all of it non-zero, over a 1 Gbit/s link. */
static void guest(mdl_scenario *s, const char *workload, const char *memory, const char *link) {
  mdl_scenario_defaults(s);
  assert_int_equal(mdl_scenario_set(s, "workload", workload), 0);
  assert_int_equal(mdl_scenario_set(s, "memory", memory), 0);
  assert_int_equal(mdl_scenario_set(s, "link", link), 0);
  assert_int_equal(mdl_scenario_set(s, "max-bandwidth", "10Gbit/s"), 0);
}

static void solo(const mdl_scenario *s, mdl_result *r) {
  mdl_result_init(r, "sim");
  if (mdl_simulate(s, r)) fail_msg("simulate: %s", sim_error_message());
}

static void run_fleet(fleet_ctx *c, const mdl_fleet_job *jobs, size_t n, const double *cap, size_t nlinks,
                      const mdl_fleet_limits *lim, uint64_t *makespan) {
  size_t order[16];
  for (size_t i = 0; i < n; i++) order[i] = i;
  mdl_fleet_callbacks cb = {prep, done, NULL, c};
  if (mdl_fleet_run(jobs, order, n, cap, nlinks, lim, &cb, makespan)) fail_msg("fleet: %s", sim_error_message());
  for (size_t i = 0; i < n; i++) assert_int_equal(c->finished[i], 1);
}

static void test_alone_is_mdl_simulate(void **state) {
  (void)state;
  static const char *const workloads[] = {"hotcold:wss=8192,hot=0.1,hotprob=0.9,rate=20000,nonzero=1",
                                          "uniform:wss=4096,rate=30000,nonzero=0.5"};
  static const char *const algos[] = {"precopy", "postcopy", "hybrid"};
  for (size_t w = 0; w < 2; w++)
    for (size_t a = 0; a < 3; a++) {
      fleet_ctx *c = calloc(1, sizeof *c);
      assert_non_null(c);
      guest(&c->s[0], workloads[w], "64MiB", "1Gbit/s");
      assert_int_equal(mdl_scenario_set(&c->s[0], "max-bandwidth", "48MiB/s"), 0);
      assert_int_equal(mdl_scenario_set(&c->s[0], "algo", algos[a]), 0);
      assert_int_equal(mdl_profile_load("qemu-7.2", &c->profile), 0);
      mdl_result want;
      solo(&c->s[0], &want);
      /* On the fleet, through a link of the same speed, from time 0. */
      mdl_fleet_job job = {0, 1, {0, 1}, 2};
      double cap[] = {125e6, 125e6};
      mdl_fleet_limits lim = {0, 0};
      uint64_t makespan;
      run_fleet(c, &job, 1, cap, 2, &lim, &makespan);
      const mdl_result *got = &c->r[0];
      assert_int_equal(got->status, want.status);
      assert_memory_equal(&got->total_time_ms, &want.total_time_ms, sizeof want.total_time_ms);
      assert_memory_equal(&got->downtime_ms, &want.downtime_ms, sizeof want.downtime_ms);
      assert_memory_equal(&got->guest_stall_ms, &want.guest_stall_ms, sizeof want.guest_stall_ms);
      assert_int_equal(got->transferred_bytes, want.transferred_bytes);
      assert_int_equal(got->precopy_bytes, want.precopy_bytes);
      assert_int_equal(got->postcopy_bytes, want.postcopy_bytes);
      assert_int_equal(got->normal_pages, want.normal_pages);
      assert_int_equal(got->zero_pages, want.zero_pages);
      assert_int_equal(got->dirty_sync_count, want.dirty_sync_count);
      assert_int_equal(got->postcopy_requests, want.postcopy_requests);
      assert_int_equal(makespan, (uint64_t)ceil(want.total_time_ms * 1e6));
      mdl_result_free(&want);
      free(c);
    }
}

/* Two identical idle guests on one 1 Gbit/s link: each crosses it at half
 * speed, so each takes what it takes alone on a 0.5 Gbit/s link, which is
 * about bytes / (link / 2). */
static void test_two_share_one_link(void **state) {
  (void)state;
  fleet_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  assert_int_equal(mdl_profile_load("qemu-7.2", &c->profile), 0);
  guest(&c->s[0], "idle:nonzero=1", "64MiB", "1Gbit/s");
  guest(&c->s[1], "idle:nonzero=1", "64MiB", "1Gbit/s");
  mdl_fleet_job jobs[] = {{0, 1, {0}, 1}, {2, 3, {0}, 1}};
  double cap[] = {125e6};
  mdl_fleet_limits lim = {0, 0};
  uint64_t makespan;
  run_fleet(c, jobs, 2, cap, 1, &lim, &makespan);
  mdl_scenario half;
  guest(&half, "idle:nonzero=1", "64MiB", "0.5Gbit/s");
  mdl_result want;
  solo(&half, &want);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(c->start[i], 0);
    assert_double_equal(c->r[i].total_time_ms, want.total_time_ms, 0.01 * want.total_time_ms);
    double analytic = (double)c->r[i].transferred_bytes / 62.5e6 * 1e3;
    assert_double_equal(c->r[i].total_time_ms, analytic, 0.03 * analytic);
  }
  /* Twice as long as one alone on the whole link. */
  mdl_result alone;
  solo(&c->s[0], &alone);
  assert_true(c->r[0].total_time_ms > 1.9 * alone.total_time_ms);
  mdl_result_free(&want);
  mdl_result_free(&alone);
  free(c);
}

/* A guest rate-limited to a quarter of the link leaves the other three
 * quarters: the other takes what it takes alone on 0.75 Gbit/s. */
static void test_rate_limited_leaves_share(void **state) {
  (void)state;
  fleet_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  assert_int_equal(mdl_profile_load("qemu-7.2", &c->profile), 0);
  guest(&c->s[0], "idle:nonzero=1", "128MiB", "1Gbit/s");
  assert_int_equal(mdl_scenario_set(&c->s[0], "max-bandwidth", "0.25Gbit/s"), 0);
  guest(&c->s[1], "idle:nonzero=1", "32MiB", "1Gbit/s");
  mdl_fleet_job jobs[] = {{0, 1, {0}, 1}, {2, 3, {0}, 1}};
  double cap[] = {125e6};
  mdl_fleet_limits lim = {0, 0};
  run_fleet(c, jobs, 2, cap, 1, &lim, NULL);
  mdl_scenario three_quarters, half;
  guest(&three_quarters, "idle:nonzero=1", "32MiB", "0.75Gbit/s");
  guest(&half, "idle:nonzero=1", "32MiB", "0.5Gbit/s");
  mdl_result want, worse;
  solo(&three_quarters, &want);
  solo(&half, &worse);
  assert_double_equal(c->r[1].total_time_ms, want.total_time_ms, 0.02 * want.total_time_ms);
  assert_true(c->r[1].total_time_ms < 0.8 * worse.total_time_ms);
  /* The limited one is held by its own limit, not by the other. */
  mdl_result limited;
  solo(&c->s[0], &limited);
  assert_double_equal(c->r[0].total_time_ms, limited.total_time_ms, 0.02 * limited.total_time_ms);
  mdl_result_free(&want);
  mdl_result_free(&worse);
  mdl_result_free(&limited);
  free(c);
}

/* 10 jobs leaving 2 hosts for 3, at most 3 at once and 2 per host: at no
 * time more, and the limit is reached (not serial). */
static void test_k_at_once_limits(void **state) {
  (void)state;
  fleet_ctx *c = calloc(1, sizeof *c);
  assert_non_null(c);
  assert_int_equal(mdl_profile_load("qemu-7.2", &c->profile), 0);
  mdl_fleet_job jobs[10];
  double cap[5] = {125e6, 125e6, 125e6, 125e6, 125e6};
  for (uint32_t i = 0; i < 10; i++) {
    char mem[32];
    snprintf(mem, sizeof mem, "%uMiB", 16 + 8 * (i % 4));
    guest(&c->s[i], "uniform:wss=1024,rate=5000,nonzero=1", mem, "1Gbit/s");
    c->s[i].seed = i + 1;
    uint32_t src = i % 2, dst = 2 + i % 3;
    jobs[i] = (mdl_fleet_job){src, dst, {src, dst}, 2};
  }
  mdl_fleet_limits lim = {3, 2};
  run_fleet(c, jobs, 10, cap, 5, &lim, NULL);
  int peak = 0;
  for (int i = 0; i < 10; i++) {
    /* At each start, count what runs (ends are exclusive). */
    uint64_t t = c->start[i];
    int total = 0, per_host[5] = {0};
    for (int j = 0; j < 10; j++) {
      uint64_t end = c->start[j] + (uint64_t)ceil(c->r[j].total_time_ms * 1e6);
      if (c->start[j] <= t && t < end) {
        total++;
        per_host[jobs[j].src_host]++;
        per_host[jobs[j].dst_host]++;
      }
    }
    assert_true(total <= 3);
    for (int h = 0; h < 5; h++) assert_true(per_host[h] <= 2);
    if (total > peak) peak = total;
    assert_int_equal(c->r[i].status, MDL_STATUS_COMPLETED);
  }
  assert_int_equal(peak, 3);
  free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_maxmin_known_answers),
      cmocka_unit_test(test_alone_is_mdl_simulate),
      cmocka_unit_test(test_two_share_one_link),
      cmocka_unit_test(test_rate_limited_leaves_share),
      cmocka_unit_test(test_k_at_once_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
