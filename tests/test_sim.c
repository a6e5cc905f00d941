/* test_sim: the simulator against known answers, closed forms and its own
 * invariants (determinism, post-copy accounting, non-convergence). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

#include "mdl_sim.h"
#include "sim_err.h"
#include "sim_units.h"


static void base_scenario(mdl_scenario *s, const char *workload) {
  mdl_scenario_defaults(s);
  assert_int_equal(mdl_scenario_set(s, "workload", workload), 0);
}

static void run_ok(const mdl_scenario *s, mdl_result *r) {
  mdl_result_init(r, "sim");
  int rc = mdl_simulate(s, r);
  if (rc) fail_msg("simulate: %s", sim_error_message());
}

/* Writes a CSV trace; `body` holds the data rows. */
static void write_trace(const char *path, uint64_t pages, const char *nonzero, const char *body) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "# migsim-trace v1\n# pages=%llu\n", (unsigned long long)pages);
  if (nonzero) fprintf(f, "# nonzero=%s\n", nonzero);
  fprintf(f, "time_ns,pfn,op\n%s", body);
  fclose(f);
}

/* An idle 512 MiB guest, 256 MiB non-zero, at 64 MiB/s: three syncs (setup,
 * threshold crossing, completion) and a total time of
 * (nonzero × 4104 + zero × 9) / bandwidth + setup, within 2%. */
static void test_idle_known_answer(void **state) {
  (void)state;
  mdl_scenario s;
  base_scenario(&s, "idle:nonzero=0.5");
  assert_int_equal(mdl_scenario_set(&s, "memory", "512MiB"), 0);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "64MiB/s"), 0);
  mdl_result r;
  run_ok(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  assert_int_equal(r.dirty_sync_count, 3);
  assert_int_equal(r.normal_pages, 65536);
  assert_int_equal(r.zero_pages, 65536);
  double expect_ms = (65536.0 * 4104 + 65536.0 * 9) / (64.0 * 1048576) * 1e3 + r.setup_time_ms;
  assert_true(fabs(r.total_time_ms - expect_ms) / expect_ms < 0.02);
  assert_true(r.downtime_ms > 0 && r.downtime_ms < 50);
  assert_int_equal(r.round_count, 3);
  assert_int_equal(r.rounds[0].dirty_pages_at_sync, 131072);
  mdl_result_free(&r);
}

/* Uniform writes at λ = dirty rate / bandwidth = 0.1 over a 4 GiB guest
 * with no zero pages: rounds and bytes follow V_i = M λ^i (the textbook
 * geometric pre-copy model) within 2%. The profile logs every write (TCG
 * semantics), as the textbook model assumes. */
static void test_geometric_closed_form(void **state) {
  (void)state;
  mdl_profile p;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  p.dirty_log = MDL_DIRTY_LOG_TCG;
  const double M = 4.0 * 1073741824, B = 32.0 * 1048576, rate_pages = 819.2;
  const double lambda = rate_pages * 4096 / B, T = B * 0.030;
  mdl_scenario s;
  base_scenario(&s, "uniform:rate=819.2,nonzero=1");
  assert_int_equal(mdl_scenario_set(&s, "memory", "4GiB"), 0);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "32MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "downtime-limit", "30ms"), 0);
  assert_int_equal(mdl_scenario_set(&s, "timeout", "1000s"), 0);
  mdl_result r;
  mdl_result_init(&r, "sim");
  assert_int_equal(mdl_simulate_with(&s, &p, &r), 0);
  /* Geometric model: rounds until V_n < threshold, then stop-and-copy. */
  double v = M, total = 0;
  int n = 0;
  while (v >= T) {
    total += v;
    v *= lambda;
    n++;
  }
  total += v;
  double total_wire = total / 4096 * 4104;
  /* syncs: setup + one per round boundary + completion */
  assert_int_equal(r.dirty_sync_count, (uint64_t)n + 2);
  assert_true(fabs((double)r.transferred_bytes - total_wire) / total_wire < 0.02);
  /* Per round: V_1 and V_2 as dirty pages at the sync. */
  assert_true(fabs((double)r.rounds[1].dirty_pages_at_sync - M * lambda / 4096) / (M * lambda / 4096) < 0.06);
  mdl_result_free(&r);
}

/* Xen-classic, hand-computed: 1024 non-zero pages, the first round at the
 * minimum rate 100 Mbit/s (12.5 MB/s). At 1 ms pages 500-599 are written
 * ahead of the cursor: skipped in round 1. At 200 ms pages 0-399 are
 * written behind it. Round 1 sends 924 pages of 4104 bytes at 12.5 MB/s;
 * 500 pages were re-dirtied, so round 2 runs at their dirty rate +
 * 50 Mbit/s and sends 500 pages; nothing is left, so stop-and-copy sends
 * nothing: three syncs. */
static void test_xen_hand_computed(void **state) {
  (void)state;
  char path[512], *body = malloc(1 << 16);
  size_t len = 0;
  /* Distinct timestamps: a run sharing one timestamp would be spread over
   * its epoch (coarse-trace rule), which is not what this case is about. */
  for (int p = 500; p < 600; p++) len += (size_t)sprintf(body + len, "%d,%d,w\n", 1000000 + p, p);
  for (int p = 0; p < 400; p++) len += (size_t)sprintf(body + len, "%d,%d,w\n", 200000000 + p, p);
  snprintf(path, sizeof path, "%s/xen.csv", tmpdir);
  write_trace(path, 1024, "0-1023", body);
  free(body);
  mdl_scenario s;
  base_scenario(&s, path);
  assert_int_equal(mdl_scenario_set(&s, "profile", "xen-classic"), 0);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "1Gbit/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "link", "1Gbit/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "loop", "no"), 0);
  mdl_result r;
  run_ok(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  assert_int_equal(r.dirty_sync_count, 3);
  assert_int_equal(r.round_count, 3);
  const double page = 4104, min_rate = 12.5e6;
  double r1 = 924 * page / min_rate * 1e3; /* ms */
  assert_int_equal(r.rounds[0].pages_sent, 924);
  assert_true(fabs(r.rounds[0].end_ms - r.rounds[0].start_ms - r1) < 0.01);
  double rate2 = 500.0 * 4096 / (r1 / 1e3) + 50e6 / 8;
  assert_true(fabs(r.rounds[1].bandwidth_est - rate2) / rate2 < 1e-6);
  assert_int_equal(r.rounds[1].dirty_pages_at_sync, 500);
  assert_int_equal(r.rounds[1].pages_sent, 500);
  double r2 = 500 * page / rate2 * 1e3;
  assert_true(fabs(r.rounds[1].end_ms - r.rounds[1].start_ms - r2) < 0.01);
  assert_int_equal(r.rounds[2].pages_sent, 0);
  assert_true(fabs(r.total_time_ms - (r1 + r2)) < 0.01);
  assert_int_equal(r.transferred_bytes, (924 + 500) * 4104);
  mdl_result_free(&r);
}

/* Pure post-copy sends every page exactly once and counts one request per
 * page the guest faults on. The guest touches 40 distinct non-zero pages
 * (each 5 times), 300 pages apart: a request moves the background cursor
 * to just after its page, and one 100 ms window of a 4 MiB/s limit sends
 * only ~100 pages from there, so every first touch faults. */
static void test_postcopy_once(void **state) {
  (void)state;
  char path[512], *body = malloc(1 << 16);
  size_t len = 0;
  for (int k = 0; k < 5; k++)
    for (int p = 0; p < 40; p++)
      len += (size_t)sprintf(body + len, "%d,%d,%c\n", 50000000 + k * 1000000 + p * 1000, 1000 + p * 300,
                             k % 2 ? 'r' : 'w');
  snprintf(path, sizeof path, "%s/pc.csv", tmpdir);
  write_trace(path, 16384, "0-16383", body);
  free(body);
  mdl_scenario s;
  base_scenario(&s, path);
  assert_int_equal(mdl_scenario_set(&s, "algo", "postcopy"), 0);
  assert_int_equal(mdl_scenario_set(&s, "postcopy-bandwidth", "4MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "loop", "no"), 0);
  assert_int_equal(mdl_scenario_set(&s, "latency", "1ms"), 0);
  mdl_result r;
  run_ok(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  assert_int_equal(r.normal_pages + r.zero_pages, 16384);
  assert_int_equal(r.normal_pages, 16384);
  assert_int_equal(r.postcopy_requests, 40);
  assert_int_equal(r.precopy_bytes, 0);
  assert_true(r.postcopy_bytes > 0);
  assert_int_equal(r.dirty_sync_count, 2); /* setup + switch */
  /* Each fault waits at least the request and the reply: 2 x latency. */
  assert_true(r.guest_stall_ms >= 40 * 2.0);
  /* Every access was one of 200; the 40 first touches were delayed. */
  assert_true(fabs(r.delayed_share - 40.0 / 200.0) < 1e-9);
  mdl_result_free(&r);
}

/* QEMU 7.2 starts no iteration step while the window's budget is spent,
 * even when a page request wakes the migration thread (docs/
 * postcopy-faults.md): a fault 50 ms into a window whose budget went in
 * its first millisecond waits for the window's end, about 50 ms, not for
 * the ~0.1 ms the request and the page need on the wire. */
static void test_postcopy_request_waits_for_window(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/pcw.csv", tmpdir);
  /* Switchover happens ~5 ms in (setup); the read comes 50 ms later. */
  write_trace(path, 16384, "0-16383", "55000000,9000,r\n");
  mdl_scenario s;
  base_scenario(&s, path);
  assert_int_equal(mdl_scenario_set(&s, "algo", "postcopy"), 0);
  assert_int_equal(mdl_scenario_set(&s, "postcopy-bandwidth", "8MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "loop", "no"), 0);
  mdl_result r;
  run_ok(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  assert_int_equal(r.postcopy_requests, 1);
  assert_true(r.guest_stall_ms > 35.0 && r.guest_stall_ms < 60.0);
  /* One delayed access: its delay is the stall, read back through the
   * histogram to within a bucket (+-9 %). */
  assert_true(fabs(r.delay_p50_ms - r.guest_stall_ms) < 0.1 * r.guest_stall_ms);
  mdl_result_free(&r);
}

/* Without a post-copy limit the stream is never rate limited, and each
 * fault costs the request and the reply (2 x latency) plus the wait behind
 * the socket's backlog: from 2 ms to 8 ms of latency the stall per request
 * grows by 12 ms. The workload sits high in memory so that the background
 * stream has not reached it when the guest starts touching it; all pages
 * are non-zero, so the backlog is the same ~511 pages behind every
 * request (9-byte zero pages would let far more work queue up). */
static void test_postcopy_stall_latency(void **state) {
  (void)state;
  double per_req[3];
  const char *lat[3] = {"0.5ms", "2ms", "8ms"};
  for (int i = 0; i < 3; i++) {
    mdl_scenario s;
    base_scenario(&s, "uniform:wss=4096,rate=2000,reads=0.5,nonzero=1,base=200000");
    assert_int_equal(mdl_scenario_set(&s, "memory", "1GiB"), 0);
    assert_int_equal(mdl_scenario_set(&s, "algo", "postcopy"), 0);
    assert_int_equal(mdl_scenario_set(&s, "latency", lat[i]), 0);
    mdl_result r;
    run_ok(&s, &r);
    assert_int_equal(r.status, MDL_STATUS_COMPLETED);
    assert_true(r.postcopy_requests >= 5);
    per_req[i] = r.guest_stall_ms / (double)r.postcopy_requests;
    mdl_result_free(&r);
  }
  assert_true(per_req[0] < per_req[1] && per_req[1] < per_req[2]);
  assert_true(fabs((per_req[2] - per_req[1]) - 12.0) < 0.5);
  assert_true(fabs((per_req[1] - per_req[0]) - 3.0) < 0.5);
}

/* The non-convergence policy (mdl_switch.h) fires at the third sync on a
 * guest that dirties faster than the rate limit sends, and never on one
 * that converges. */
static void test_hybrid_nonconverge(void **state) {
  (void)state;
  const char *specs[2] = {"uniform:wss=16384,rate=20000,nonzero=0.5", "uniform:wss=2048,rate=500,nonzero=0.5"};
  for (int i = 0; i < 2; i++) {
    mdl_scenario s;
    base_scenario(&s, specs[i]);
    assert_int_equal(mdl_scenario_set(&s, "memory", "128MiB"), 0);
    assert_int_equal(mdl_scenario_set(&s, "algo", "hybrid"), 0);
    assert_int_equal(mdl_scenario_set(&s, "switch-policy", "nonconverge"), 0);
    assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "16MiB/s"), 0);
    assert_int_equal(mdl_scenario_set(&s, "timeout", "30s"), 0);
    mdl_result r;
    run_ok(&s, &r);
    assert_int_equal(r.status, MDL_STATUS_COMPLETED);
    if (i == 0) {
      assert_true(r.switch_time_ms >= 0);
      assert_true(r.postcopy_bytes > 0);
      /* syncs 1-3 in pre-copy, +1 at the switch */
      assert_int_equal(r.dirty_sync_count, 4);
    } else {
      assert_true(r.switch_time_ms < 0);
      assert_int_equal(r.postcopy_bytes, 0);
    }
    mdl_result_free(&r);
  }
}

static int same_result(const mdl_result *a, const mdl_result *b) {
  if (a->total_time_ms != b->total_time_ms || a->downtime_ms != b->downtime_ms ||
      a->transferred_bytes != b->transferred_bytes || a->dirty_sync_count != b->dirty_sync_count ||
      a->normal_pages != b->normal_pages || a->round_count != b->round_count ||
      a->guest_stall_ms != b->guest_stall_ms)
    return 0;
  for (size_t i = 0; i < a->round_count; i++)
    if (memcmp(&a->rounds[i], &b->rounds[i], sizeof a->rounds[i]) != 0) return 0;
  return 1;
}

static void test_determinism(void **state) {
  (void)state;
  const char *algos[] = {"precopy", "postcopy", "hybrid"};
  for (int i = 0; i < 3; i++) {
    mdl_scenario s;
    base_scenario(&s, "hotcold:wss=16384,hot=0.1,hotprob=0.9,rate=8000,reads=0.3,nonzero=0.5");
    assert_int_equal(mdl_scenario_set(&s, "memory", "256MiB"), 0);
    assert_int_equal(mdl_scenario_set(&s, "algo", algos[i]), 0);
    assert_int_equal(mdl_scenario_set(&s, "switch-after", "3"), 0);
    assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "32MiB/s"), 0);
    assert_int_equal(mdl_scenario_set(&s, "latency", "0.2ms"), 0);
    mdl_result a, b, c;
    run_ok(&s, &a);
    run_ok(&s, &b);
    assert_true(same_result(&a, &b));
    assert_int_equal(mdl_scenario_set(&s, "seed", "2"), 0);
    run_ok(&s, &c);
    assert_false(same_result(&a, &c));
    mdl_result_free(&a);
    mdl_result_free(&b);
    mdl_result_free(&c);
  }
}

/* Hybrid: the switch happens after the N-th sync, at a step where pending
 * is still above the threshold. */
static void test_hybrid_switch_after(void **state) {
  (void)state;
  mdl_scenario s;
  base_scenario(&s, "uniform:wss=32768,rate=20000,nonzero=1");
  assert_int_equal(mdl_scenario_set(&s, "memory", "256MiB"), 0);
  assert_int_equal(mdl_scenario_set(&s, "algo", "hybrid"), 0);
  assert_int_equal(mdl_scenario_set(&s, "switch-after", "4"), 0);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "64MiB/s"), 0);
  mdl_result r;
  run_ok(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_COMPLETED);
  assert_int_equal(r.dirty_sync_count, 5); /* 4 pre-copy syncs + switch */
  assert_true(r.switch_time_ms > 0);
  assert_true(r.postcopy_bytes > 0 && r.precopy_bytes > 0);
  assert_true(r.rounds[3].start_ms <= r.switch_time_ms);
  mdl_result_free(&r);
}

/* A guest that dirties faster than the limit never converges: the run ends
 * at the timeout with status not_converged and its metrics so far. */
static void test_not_converged(void **state) {
  (void)state;
  mdl_scenario s;
  base_scenario(&s, "uniform:wss=65536,rate=40000,nonzero=1");
  assert_int_equal(mdl_scenario_set(&s, "memory", "512MiB"), 0);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "64MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "timeout", "20s"), 0);
  mdl_result r;
  run_ok(&s, &r);
  assert_int_equal(r.status, MDL_STATUS_NOT_CONVERGED);
  assert_true(fabs(r.total_time_ms - 20000) < 1e-6);
  assert_true((double)r.transferred_bytes > 64.0 * 1048576 * 15);
  assert_true(r.dirty_sync_count >= 2);
  assert_non_null(strstr(r.failure, "timeout"));
  mdl_result_free(&r);
}

/* With a trace offset, pages written before it are non-zero at the start
 * of the migration (they are part of the image), so they cost full pages. */
static void test_trace_offset_image(void **state) {
  (void)state;
  char path[512], body[4096];
  size_t len = 0;
  /* Writes at 0.5 s, long after this 4 MiB guest has migrated (~40 ms). */
  for (int p = 0; p < 100; p++) len += (size_t)sprintf(body + len, "%d,%d,w\n", 500000000 + p, p);
  len += (size_t)sprintf(body + len, "2000000000,500,w\n");
  snprintf(path, sizeof path, "%s/offset.csv", tmpdir);
  write_trace(path, 1024, NULL, body);
  mdl_scenario s;
  base_scenario(&s, path);
  assert_int_equal(mdl_scenario_set(&s, "loop", "no"), 0);
  mdl_result r;
  run_ok(&s, &r);
  uint64_t normal_at_zero = r.normal_pages;
  mdl_result_free(&r);
  assert_int_equal(mdl_scenario_set(&s, "trace-offset", "1s"), 0);
  run_ok(&s, &r);
  assert_int_equal(r.normal_pages, 100); /* the 100 written before 1 s */
  assert_int_equal(normal_at_zero, 0); /* at offset 0 they come after the migration */
  mdl_result_free(&r);
}

/* "Did you mean": at most two edits, the first of the closest, NULL past
 * that; scenario keys (and the linked `bandwidth`) through it. */
static void test_suggest(void **state) {
  (void)state;
  static const char *const names[] = {"algo", "alpha", "link", "latency"};
  assert_string_equal(sim_suggest("algoo", 5, names, 4), "algo");   /* one insertion */
  assert_string_equal(sim_suggest("lnik", 4, names, 4), "link");    /* a swap: two edits */
  assert_string_equal(sim_suggest("alp", 3, names, 4), "algo");     /* algo and alpha tie at 1... */
  assert_string_equal(sim_suggest("alpa", 4, names, 4), "alpha");   /* ...alpha nearer here */
  assert_string_equal(sim_suggest("algo=3", 4, names, 4), "algo");  /* only len characters count */
  assert_null(sim_suggest("lattice", 7, names, 4));                  /* three edits from latency */
  assert_null(sim_suggest("frobnicate", 10, names, 4));
  char long_word[80];
  memset(long_word, 'a', sizeof long_word);
  assert_null(sim_suggest(long_word, sizeof long_word, names, 4));
  assert_string_equal(mdl_scenario_suggest("bandwith"), "bandwidth");
  assert_string_equal(mdl_scenario_suggest("dowtime-limit"), "downtime-limit");
  assert_null(mdl_scenario_suggest("out"));
  mdl_scenario sc;
  mdl_scenario_defaults(&sc);
  assert_int_equal(mdl_scenario_set(&sc, "max-bandwith", "1GiB/s"), SIM_ENOTFOUND);
  assert_string_equal(sim_error_message(), "unknown scenario parameter 'max-bandwith'; did you mean 'max-bandwidth'?");
}

static void test_bad_scenarios(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_result r;
  base_scenario(&s, "/nonexistent/trace.mtr");
  mdl_result_init(&r, "sim");
  assert_int_equal(mdl_simulate(&s, &r), SIM_EIO);
  assert_non_null(strstr(sim_error_message(), "/nonexistent/trace.mtr"));
  base_scenario(&s, "idle");
  assert_int_equal(mdl_scenario_set(&s, "profile", "no-such-profile"), 0);
  assert_int_equal(mdl_simulate(&s, &r), SIM_ENOTFOUND);
  base_scenario(&s, "idle");
  assert_int_equal(mdl_scenario_set(&s, "profile", "xen-classic"), 0);
  assert_int_equal(mdl_scenario_set(&s, "algo", "postcopy"), 0);
  assert_int_equal(mdl_simulate(&s, &r), SIM_EUNSUPPORTED);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "12 furlongs"), SIM_EUNIT);
  assert_int_equal(mdl_scenario_set(&s, "algo", "teleport"), SIM_EINVAL);
  assert_int_equal(mdl_scenario_set(&s, "no-such-key", "1"), SIM_ENOTFOUND);
  mdl_result_free(&r);
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idle_known_answer),
      cmocka_unit_test(test_geometric_closed_form),
      cmocka_unit_test(test_xen_hand_computed),
      cmocka_unit_test(test_postcopy_once),
      cmocka_unit_test(test_postcopy_request_waits_for_window),
      cmocka_unit_test(test_postcopy_stall_latency),
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_hybrid_switch_after),
      cmocka_unit_test(test_hybrid_nonconverge),
      cmocka_unit_test(test_not_converged),
      cmocka_unit_test(test_trace_offset_image),
      cmocka_unit_test(test_bad_scenarios),
      cmocka_unit_test(test_suggest),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
