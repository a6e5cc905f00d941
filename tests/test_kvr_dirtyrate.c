/* test_kvr_dirtyrate: QEMU's own calc-dirty-rate, run on the replay guest
 * while it plays a curve: workload, agrees with the curve
 * (kvmreplay/kvr_dirtyrate.c, workloads/wl_gen_curve.c).
 *
 * The guest: 128 MiB of trace (136 MiB of RAM with the kernel and the
 * margin), a curve of 12000 / 18000 / 24000 distinct pages in 1 / 2 / 4 s
 * at 20000 writes/s over 30000 pages. QEMU 7.2 under TCG can only measure
 * by page sampling; at 16384 sampled pages per GiB it hashes about 2180
 * pages, and the fraction f of them that changed estimates the dirty share
 * of RAM with a relative standard error of sqrt((1 - f) / (n f)): 3.0 %,
 * 2.1 % and 1.4 % at 1, 2 and 4 s (f = 0.34, 0.52, 0.69). QEMU's MiB/s are
 * whole numbers, ±0.5 MiB/s after the importer's correction: ±1.1 % at
 * 1 s, less later. The mean of two measurements per period is therefore
 * within 10 % of the curve unless something is wrong (over 4 standard
 * errors at 1 s); a conversion slip (MB for MiB, a lost calc-time factor,
 * a non-stationary generator dirtying 2x the curve in later windows) is
 * far outside it. Skipped when qemu-system-x86_64 is not installed. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvr.h"
#include "sim_err.h"
#include "wl_gen.h"

#define CURVE "curve:points=1s@12000+2s@18000+4s@24000,rate=20000,wss=30000"

static int have_qemu(void) {
  char path[4096];
  if (kvr_find_qemu(NULL, path, sizeof path) == 0) return 1;
  print_message("skipping: %s\n", sim_error_message());
  return 0;
}

static void scenario(mdl_scenario *s) {
  mdl_scenario_defaults(s);
  assert_int_equal(mdl_scenario_set(s, "workload", CURVE), 0);
  assert_int_equal(mdl_scenario_set(s, "memory", "128MiB"), 0);
  assert_int_equal(mdl_scenario_set(s, "timeout", "30s"), 0);
}

static void test_page_sampling_matches_curve(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  mdl_scenario s;
  scenario(&s);
  static const uint32_t periods[] = {1, 2, 4, 1, 2, 4};
  enum { N = sizeof periods / sizeof periods[0] };
  kvr_dirty_measure out[N];
  kvr_dirtyrate_plan plan = {periods, N, "page-sampling", 16384, out, 0};
  kvr_options o;
  kvr_options_init(&o);
  o.dirtyrate = &plan;
  mdl_result r;
  kvr_info info;
  int rc = kvr_run(&s, &o, &r, &info);
  if (rc) fail_msg("kvr_run: %s", sim_error_message());
  if (r.status != MDL_STATUS_COMPLETED) fail_msg("run failed: %s", r.failure);
  assert_int_equal(plan.done, N);
  wl_curve *curve = NULL;
  assert_int_equal(wl_curve_open(CURVE, s.pages, 4096, &curve), 0);
  for (size_t p = 0; p < 3; p++) {
    double want = wl_curve_expected(curve, periods[p]);
    double sum = 0;
    for (size_t i = p; i < N; i += 3) {
      const kvr_dirty_measure *m = &out[i];
      assert_int_equal(m->period_s, periods[p]);
      assert_string_equal(m->mode, "page-sampling");
      assert_int_equal(m->sample_pages, 16384);
      /* Each result is its own measurement, taken after the previous. */
      if (i) assert_true(m->start_ms >= out[i - 1].start_ms + 1000.0 * out[i - 1].period_s);
      print_message("%us: %.0f MiB/s = %.0f pages (curve %.0f, %+.1f%%)\n", m->period_s,
                    m->dirty_rate_mib_s, m->dirty_pages, want,
                    100 * (m->dirty_pages - want) / want);
      assert_true(fabs(m->dirty_pages - want) <= 0.25 * want);
      sum += m->dirty_pages;
    }
    double mean = sum / 2;
    print_message("%us: mean %.0f pages vs curve %.0f (%+.1f%%)\n", periods[p], mean, want,
                  100 * (mean - want) / want);
    assert_true(fabs(mean - want) <= 0.10 * want);
  }
  print_message("replay on time %.1f%%, max lag %.1f ms\n", 100 * r.replay_on_time, r.replay_lag_ms);
  wl_curve_free(curve);
  mdl_result_free(&r);
}

/* QEMU 7.2 dies on dirty-bitmap mode without KVM; the harness refuses it
 * with the reason instead of reporting a crashed QEMU. */
static void test_dirty_bitmap_needs_kvm(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  mdl_scenario s;
  scenario(&s);
  static const uint32_t periods[] = {1};
  kvr_dirty_measure out[1];
  kvr_dirtyrate_plan plan = {periods, 1, "dirty-bitmap", 0, out, 0};
  kvr_options o;
  kvr_options_init(&o);
  o.accel = "tcg";
  o.dirtyrate = &plan;
  mdl_result r;
  assert_int_equal(kvr_run(&s, &o, &r, NULL), 0);
  assert_int_equal(r.status, MDL_STATUS_FAILED);
  assert_non_null(strstr(r.failure, "needs KVM"));
  assert_null(strstr(r.failure, "died"));
  assert_int_equal(plan.done, 0);
  mdl_result_free(&r);
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_page_sampling_matches_curve),
      cmocka_unit_test(test_dirty_bitmap_needs_kvm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
