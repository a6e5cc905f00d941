/* test_results: result files written and read back, sim-vs-real error
 * statistics on hand-made cases, the validation report. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

#include "res_load.h"
#include "res_output.h"
#include "res_validate.h"
#include "sim_err.h"


static void make_result(mdl_result *r, const char *source, double total, double down, uint64_t bytes,
                        uint64_t syncs, mdl_status status) {
  mdl_result_init(r, source);
  r->status = status;
  r->total_time_ms = total;
  r->downtime_ms = down;
  r->setup_time_ms = 4;
  r->transferred_bytes = bytes;
  r->dirty_sync_count = syncs;
  for (uint32_t i = 1; i <= syncs; i++) {
    mdl_round d = {i, i * 10.0, i * 10.0 + 10, 100 * i, 4104 * 100 * (uint64_t)i, 50, 1e6};
    assert_int_equal(mdl_result_add_round(r, &d), 0);
  }
}

/* What res_write_run writes, res_runs_load reads back. */
static void test_write_load_roundtrip(void **state) {
  (void)state;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/rt", tmpdir);
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  mdl_scenario_set(&s, "workload", "uniform:wss=10,rate=5"); /* commas: quoted */
  snprintf(s.name, sizeof s.name, "alpha");
  mdl_result a, b;
  make_result(&a, "kvmreplay", 1234.5, 6.25, 987654321, 4, MDL_STATUS_COMPLETED);
  snprintf(a.integrity, sizeof a.integrity, "ok");
  snprintf(a.failure, sizeof a.failure, "none, really \"quoted\"");
  make_result(&b, "kvmreplay", 12000, 0, 5, 9, MDL_STATUS_NOT_CONVERGED);
  assert_int_equal(res_write_run(dir, "alpha#1", &s, &a), 0);
  snprintf(s.name, sizeof s.name, "beta");
  assert_int_equal(res_write_run(dir, "beta#1", &s, &b), 0);
  res_run_set set;
  assert_int_equal(res_runs_load(dir, &set), 0);
  assert_int_equal(set.count, 2);
  const res_loaded *got[4];
  assert_int_equal(res_runs_of(&set, "alpha", got, 4), 1);
  const mdl_result *r = &got[0]->result;
  assert_string_equal(got[0]->run_id, "alpha#1");
  assert_string_equal(r->source, "kvmreplay");
  assert_int_equal(r->status, MDL_STATUS_COMPLETED);
  assert_true(r->total_time_ms == 1234.5 && r->downtime_ms == 6.25);
  assert_int_equal(r->transferred_bytes, 987654321);
  assert_int_equal(r->dirty_sync_count, 4);
  assert_string_equal(r->integrity, "ok");
  assert_string_equal(r->failure, "none, really \"quoted\"");
  assert_int_equal(r->round_count, 4);
  assert_int_equal(r->rounds[2].round, 3);
  assert_int_equal(r->rounds[2].bytes_sent, 4104 * 300);
  assert_int_equal(res_runs_of(&set, "beta", got, 4), 1);
  assert_int_equal(got[0]->result.status, MDL_STATUS_NOT_CONVERGED);
  res_runs_free(&set);
  /* A folder without results loads as empty. */
  snprintf(dir, sizeof dir, "%s/none", tmpdir);
  assert_int_equal(res_runs_load(dir, &set), 0);
  assert_int_equal(set.count, 0);
  mdl_result_free(&a);
  mdl_result_free(&b);
}

/* Two scenarios, three real runs each, errors known by construction. */
static void test_validation_stats(void **state) {
  (void)state;
  mdl_scenario s1, s2;
  mdl_scenario_defaults(&s1);
  mdl_scenario_defaults(&s2);
  snprintf(s1.name, sizeof s1.name, "one");
  snprintf(s2.name, sizeof s2.name, "two");
  mdl_result sim1, sim2, real[6];
  make_result(&sim1, "sim", 1000, 10, 1000000, 3, MDL_STATUS_COMPLETED);
  make_result(&sim2, "sim", 2000, 100, 2000000, 5, MDL_STATUS_COMPLETED);
  /* total-time errors: 0%, 10%, 25% | 5%, 20%, -  (last run not converged) */
  make_result(&real[0], "kvmreplay", 1000, 10, 1000000, 3, MDL_STATUS_COMPLETED);
  make_result(&real[1], "kvmreplay", 1000.0 / 1.1, 13, 1000000, 3, MDL_STATUS_COMPLETED);
  make_result(&real[2], "kvmreplay", 800, 10, 1000000, 4, MDL_STATUS_COMPLETED);
  make_result(&real[3], "kvmreplay", 2000.0 / 1.05, 125, 2000000, 5, MDL_STATUS_COMPLETED);
  make_result(&real[4], "kvmreplay", 2000.0 / 1.2, 200, 2000000, 5, MDL_STATUS_COMPLETED);
  make_result(&real[5], "kvmreplay", 12000, 0, 9000000, 9, MDL_STATUS_NOT_CONVERGED);
  const mdl_result *r1[3] = {&real[0], &real[1], &real[2]}, *r2[3] = {&real[3], &real[4], &real[5]};
  res_case cases[2] = {{&s1, &sim1, r1, 3}, {&s2, &sim2, r2, 3}};
  res_validation v;
  assert_int_equal(res_validate(cases, 2, &v), 0);
  assert_int_equal(v.runs, 6);
  assert_int_equal(v.metric[RES_M_TOTAL].n, 5);
  /* sorted errors 0, 5, 10, 20, 25: median 10, p90 = 20 + 0.6*5 = 23 */
  assert_true(fabs(v.metric[RES_M_TOTAL].median_abs_pct - 10.0) < 1e-9);
  assert_true(fabs(v.metric[RES_M_TOTAL].p90_abs_pct - 23.0) < 1e-9);
  assert_true(fabs(v.metric[RES_M_BYTES].median_abs_pct) < 1e-12);
  /* syncs exact in runs 0, 1, 3, 4 of 6 */
  assert_true(fabs(v.syncs_exact_share - 4.0 / 6) < 1e-12);
  /* downtime: |10-10|, |10-13|=3<=5, 0, |100-125|=25<=25, |100-200|=100>40, verdict wrong */
  assert_true(fabs(v.downtime_ok_share - 4.0 / 6) < 1e-12);
  assert_true(fabs(v.convergence_ok_share - 5.0 / 6) < 1e-12);
  /* absolute downtime errors 0, 3, 0, 25, 100 ms: median 3 ms */
  assert_true(fabs(v.metric[RES_M_DOWNTIME].median_abs - 3.0) < 1e-9);
  /* no run went through post-copy: the guest-side metrics compare nothing */
  assert_int_equal(v.metric[RES_M_REQUESTS].n, 0);
  assert_int_equal(v.requests_runs, 0);
  assert_int_equal(v.stall_runs, 0);
  /* --check misses: total median 10% > 2%, p90 23% > 5%, verdicts 5/6,
   * downtime within limits 4/6 < 85% */
  assert_int_equal(res_validate_check(&v, NULL), 4);

  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/val", tmpdir);
  assert_int_equal(res_validate_write(dir, cases, 2, &v, "migsim validate x.ini", "a note"), 0);
  assert_int_equal(res_round_overlay(dir, &cases[0]), 0);
  static const char *const files[] = {"errors.csv", "validation.md", "scatter_total_time_ms.png",
                                      "rounds_one.png"};
  struct stat st;
  for (int i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 100);
  }
  snprintf(path, sizeof path, "%s/validation.md", dir);
  FILE *f = fopen(path, "r");
  char text[16384];
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = '\0';
  fclose(f);
  assert_non_null(strstr(text, "migsim validate x.ini"));
  assert_non_null(strstr(text, "| total_time_ms | 10.0% | 23.0% |  |  | 5 |"));
  assert_non_null(strstr(text, "| 3.0 ms |"));
  assert_non_null(strstr(text, "a note"));
  mdl_result_free(&sim1);
  mdl_result_free(&sim2);
  for (int i = 0; i < 6; i++) mdl_result_free(&real[i]);
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_load_roundtrip),
      cmocka_unit_test(test_validation_stats),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
