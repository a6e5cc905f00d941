/* test_regress: the statistics of `migsim regress` against hand-computed
 * answers, its verdict rule on hand-made samples, and the command end to
 * end: a 3 % slower profile is flagged (exit 1), an identical one is not
 * (exit 0), a corrupt baseline is one line and exit 2, and junit.xml
 * validates against tests/fixtures/junit.xsd. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_util.h"

#include "res_csv_read.h"
#include "res_output.h"
#include "res_regress.h"
#include "res_stats.h"
#include "sim_err.h"

/* ------------------------------------------------------- statistics */

/* By hand, x = {1.1, 2.0, 2.0, 3.5}, y = {2.0, 4.0, 5.0, 3.5, 6.0}:
 * pooled and sorted 1.1 2.0 2.0 2.0 3.5 3.5 4.0 5.0 6.0, midranks
 * 1, 3, 3, 3, 5.5, 5.5, 7, 8, 9; x holds ranks 1 + 3 + 3 + 5.5 = 12.5, so
 * U = 12.5 - 4*5/2 = 2.5 (pairs x > y: none; ties 2.0/2.0 twice and
 * 3.5/3.5 once, half each). E[U] = 10; ties of 3 and 2 give
 * sum(t^3 - t) = 24 + 6 = 30, V[U] = 20/12 * (10 - 30/72) = 15.97222...,
 * z = (2.5 - 10 + 0.5) / 3.9965263 = -1.7515211, p = 2 Q(1.7515211) =
 * 0.0798562 (R: wilcox.test(x, y, exact = FALSE) gives W = 2.5,
 * p-value = 0.07986). */
static void test_mann_whitney_ties(void **state) {
  (void)state;
  const double x[] = {1.1, 2.0, 2.0, 3.5}, y[] = {2.0, 4.0, 5.0, 3.5, 6.0};
  res_mann_whitney mw;
  assert_int_equal(res_mann_whitney_test(x, 4, y, 5, &mw), 0);
  assert_true(fabs(mw.u - 2.5) < 1e-12);
  assert_true(fabs(mw.mean - 10) < 1e-12);
  assert_true(fabs(mw.sd * mw.sd - 15.972222222222223) < 1e-9);
  assert_true(fabs(mw.z + 1.751521078079428) < 1e-9);
  assert_true(fabs(mw.p - 0.07985619377351647) < 1e-9);
  /* The other way round: U' = nm - U, the same p. */
  res_mann_whitney back;
  assert_int_equal(res_mann_whitney_test(y, 5, x, 4, &back), 0);
  assert_true(fabs(back.u - 17.5) < 1e-12);
  assert_true(fabs(back.p - mw.p) < 1e-12);
}

/* No ties, complete separation: x = {1, 2, 3}, y = {4, 5, 6}: U = 0,
 * E[U] = 4.5, V[U] = 9/12 * 7 = 5.25, z = (0 - 4.5 + 0.5) / 2.2912878 =
 * -1.7457431, p = 0.0808556. */
static void test_mann_whitney_separated(void **state) {
  (void)state;
  const double x[] = {3, 1, 2}, y[] = {6, 4, 5};
  res_mann_whitney mw;
  assert_int_equal(res_mann_whitney_test(x, 3, y, 3, &mw), 0);
  assert_true(fabs(mw.u) < 1e-12);
  assert_true(fabs(mw.sd * mw.sd - 5.25) < 1e-12);
  assert_true(fabs(mw.z + 1.7457431218879391) < 1e-9);
  assert_true(fabs(mw.p - 0.0808555983700523) < 1e-9);
  /* Every value tied: no evidence at all. */
  const double same[] = {7, 7, 7};
  assert_int_equal(res_mann_whitney_test(same, 3, same, 3, &mw), 0);
  assert_true(mw.p == 1 && mw.z == 0);
  /* Equal samples of distinct values: U at its mean, p = 1. */
  assert_int_equal(res_mann_whitney_test(x, 3, x, 3, &mw), 0);
  assert_true(fabs(mw.u - 4.5) < 1e-12 && mw.p == 1);
  assert_int_equal(res_mann_whitney_test(x, 0, y, 3, &mw), SIM_EINVAL);
  const double bad[] = {1, NAN};
  assert_int_equal(res_mann_whitney_test(x, 3, bad, 2, &mw), SIM_EINVAL);
}

static void test_median_and_ci(void **state) {
  (void)state;
  double odd[] = {5, 1, 3}, even[] = {4, 1, 3, 2};
  assert_true(res_median(odd, 3) == 3);
  assert_true(res_median(even, 4) == 2.5);
  assert_true(isnan(res_median(odd, 0)));
  /* A constant sample shifted by 10: every resample's difference is 10. */
  const double x[] = {2, 2, 2, 2, 2}, y[] = {12, 12, 12, 12};
  double lo, hi;
  assert_int_equal(res_median_diff_ci(x, 5, y, 4, 0.99, 1000, 1, &lo, &hi), 0);
  assert_true(lo == 10 && hi == 10);
  /* Spread samples: the interval holds the observed difference (3), lies
   * within the range of possible differences, and is reproducible. */
  const double a[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, b[] = {4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  double lo2, hi2;
  assert_int_equal(res_median_diff_ci(a, 10, b, 10, 0.95, 5000, 42, &lo, &hi), 0);
  assert_int_equal(res_median_diff_ci(a, 10, b, 10, 0.95, 5000, 42, &lo2, &hi2), 0);
  assert_true(lo == lo2 && hi == hi2);
  assert_true(lo < 3 && hi > 3 && lo >= -6 && hi <= 12 && hi - lo < 10);
  /* A wider level gives a wider interval. */
  assert_int_equal(res_median_diff_ci(a, 10, b, 10, 0.5, 5000, 42, &lo2, &hi2), 0);
  assert_true(lo2 >= lo && hi2 <= hi && hi2 - lo2 < hi - lo);
  assert_int_equal(res_median_diff_ci(a, 10, b, 10, 1.0, 5000, 42, &lo, &hi), SIM_EINVAL);
  /* {2,4,4,4,5,5,7,9}: mean 5, sum of squares 32, sd sqrt(32/7); the
   * 95 % interval is 5 -/+ t(0.975, 7) sd / sqrt(8), t = 2.364624252. */
  const double v[] = {9, 4, 2, 4, 5, 4, 7, 5};
  res_describe d;
  assert_int_equal(res_describe_sample(v, 8, 0.95, &d), 0);
  double half = 2.364624252 * sqrt(32.0 / 7) / sqrt(8);
  assert_true(d.n == 8 && d.mean == 5 && d.median == 4.5 && d.min == 2 && d.max == 9);
  assert_true(fabs(d.sd - sqrt(32.0 / 7)) < 1e-12);
  assert_true(fabs(d.ci_lo - (5 - half)) < 1e-8 && fabs(d.ci_hi - (5 + half)) < 1e-8);
  assert_int_equal(res_describe_sample(v, 1, 0.95, &d), 0);
  assert_true(d.mean == 9 && isnan(d.sd) && isnan(d.ci_lo));
}

/* --------------------------------------------------------- thresholds */

static void test_thresholds(void **state) {
  (void)state;
  res_regress_opts o;
  res_regress_opts_init(&o);
  assert_true(o.alpha == 0.01);
  assert_true(o.enabled[RES_METRIC_TOTAL_TIME] && !o.enabled[RES_METRIC_SETUP_TIME]);
  assert_int_equal(res_regress_threshold(&o, "total_time_ms=3%,2.5ms"), 0);
  assert_true(fabs(o.rel[RES_METRIC_TOTAL_TIME] - 0.03) < 1e-15 && o.abs[RES_METRIC_TOTAL_TIME] == 2.5);
  assert_int_equal(res_regress_threshold(&o, "transferred_bytes=,2MiB"), 0);
  assert_true(o.abs[RES_METRIC_TRANSFERRED] == 2097152 && o.rel[RES_METRIC_TRANSFERRED] == 0.02);
  assert_int_equal(res_regress_threshold(&o, "downtime_ms=0.1"), 0);
  assert_true(o.rel[RES_METRIC_DOWNTIME] == 0.1 && o.abs[RES_METRIC_DOWNTIME] == 1);
  assert_int_equal(res_regress_threshold(&o, "setup_time_ms=1%,1s"), 0);
  assert_true(o.enabled[RES_METRIC_SETUP_TIME] && o.abs[RES_METRIC_SETUP_TIME] == 1000);
  assert_int_equal(res_regress_threshold(&o, "total_tme_ms=3%"), SIM_ENOTFOUND);
  assert_int_equal(res_regress_threshold(&o, "total_time_ms"), SIM_EINVAL);
  assert_int_equal(res_regress_threshold(&o, "total_time_ms=2"), SIM_ERANGE);
  assert_int_equal(res_regress_threshold(&o, "total_time_ms=2%,fast"), SIM_EINVAL);
  assert_int_equal(res_regress_metrics(&o, "downtime_ms,guest_stall_ms"), 0);
  assert_true(!o.enabled[RES_METRIC_TOTAL_TIME] && o.enabled[RES_METRIC_DOWNTIME] && o.enabled[RES_METRIC_GUEST_STALL]);
  assert_int_equal(res_regress_metrics(&o, "downtime"), SIM_ENOTFOUND);
}

/* -------------------------------------------------------- the verdict */

static void add_runs(res_samples *s, const char *name, double total0, double step, double down) {
  for (int k = 0; k < 10; k++) {
    mdl_result r;
    mdl_result_init(&r, "sim");
    r.status = MDL_STATUS_COMPLETED;
    r.total_time_ms = total0 + step * k;
    r.downtime_ms = down + 0.01 * k;
    r.transferred_bytes = 1000000;
    r.dirty_sync_count = 5;
    assert_int_equal(res_samples_add(s, name, &r), 0);
    mdl_result_free(&r);
  }
}

static const res_regress_row *find_row(const res_regress_table *t, const char *scenario, int metric) {
  for (size_t i = 0; i < t->count; i++)
    if (!strcmp(t->rows[i].scenario, scenario) && t->rows[i].metric == metric) return &t->rows[i];
  fail_msg("no row %s/%s", scenario, res_metric_name(metric));
  return NULL;
}

static void test_verdicts(void **state) {
  (void)state;
  res_samples *base, *cand;
  assert_int_equal(res_samples_new(&base), 0);
  assert_int_equal(res_samples_new(&cand), 0);
  /* slow: +3 % total time (100..109 vs 103..112 would overlap; shift the
   * whole sample by 30 so that the ranks separate), downtime the same. */
  add_runs(base, "slow", 1000, 1, 10);
  add_runs(cand, "slow", 1030, 1, 10);
  /* small: significant but +1 %, below the 2 % default. */
  add_runs(base, "small", 1000, 0.1, 10);
  add_runs(cand, "small", 1010, 0.1, 10);
  /* fast: 5 % faster. */
  add_runs(base, "fast", 1000, 1, 10);
  add_runs(cand, "fast", 950, 1, 10);
  /* tiny: +3 % of 10 ms = 0.3 ms, below the 1 ms absolute threshold. */
  add_runs(base, "tiny", 10, 0.01, 10);
  add_runs(cand, "tiny", 10.3, 0.01, 10);
  res_regress_opts o;
  res_regress_opts_init(&o);
  o.resamples = 1000;
  const char *names[] = {"slow", "small", "fast", "tiny"};
  res_regress_table t;
  assert_int_equal(res_regress_compare(base, cand, names, 4, &o, &t), 0);
  assert_int_equal(t.count, 4 * 6);
  const res_regress_row *r = find_row(&t, "slow", RES_METRIC_TOTAL_TIME);
  assert_int_equal(r->verdict, RES_VERDICT_REGRESSION);
  assert_true(r->median_base == 1004.5 && r->median_cand == 1034.5 && r->diff == 30);
  assert_true(fabs(r->rel_diff - 30 / 1004.5) < 1e-12);
  assert_true(r->p < 1e-3 && r->ci_lo > 20 && r->ci_hi < 40 && r->ci_lo <= 30 && r->ci_hi >= 30);
  assert_int_equal(find_row(&t, "slow", RES_METRIC_DOWNTIME)->verdict, RES_VERDICT_SAME);
  assert_true(find_row(&t, "slow", RES_METRIC_DOWNTIME)->p == 1);
  r = find_row(&t, "small", RES_METRIC_TOTAL_TIME);
  assert_true(r->p < 0.01);
  assert_int_equal(r->verdict, RES_VERDICT_SAME);
  assert_int_equal(find_row(&t, "fast", RES_METRIC_TOTAL_TIME)->verdict, RES_VERDICT_IMPROVEMENT);
  r = find_row(&t, "tiny", RES_METRIC_TOTAL_TIME);
  assert_true(r->p < 0.01 && r->rel_diff > 0.02);
  assert_int_equal(r->verdict, RES_VERDICT_SAME);
  /* No post-copy requests anywhere: median 0, no relative difference. */
  r = find_row(&t, "slow", RES_METRIC_POSTCOPY_REQUESTS);
  assert_true(isnan(r->rel_diff) && r->verdict == RES_VERDICT_SAME);
  assert_int_equal(t.regressions, 1);
  assert_int_equal(t.improvements, 1);
  res_regress_table_free(&t);
  /* A lower alpha than the test can reach: nothing is significant. */
  o.alpha = 1e-6;
  assert_int_equal(res_regress_compare(base, cand, names, 4, &o, &t), 0);
  assert_int_equal(t.regressions + t.improvements, 0);
  res_regress_table_free(&t);
  /* A scenario missing on one side is an error naming it. */
  const char *missing[] = {"slow", "absent"};
  assert_int_equal(res_regress_compare(base, cand, missing, 2, &o, &t), SIM_EINVAL);
  assert_non_null(strstr(sim_error_message(), "'absent'"));
  res_samples_free(base);
  res_samples_free(cand);
}

/* ---------------------------------------------------------- end to end */

typedef struct {
  char verdict[64][32];
  char key[64][160];
  double rel[64];
  int n;
} csv_rows;

static int collect(void *ctx, const char *const *h, const char *const *c, size_t n) {
  csv_rows *rows = ctx;
  int s = res_csv_col(h, n, "scenario"), m = res_csv_col(h, n, "metric"), v = res_csv_col(h, n, "verdict");
  int rel = res_csv_col(h, n, "rel_diff");
  assert_true(s >= 0 && m >= 0 && v >= 0 && rel >= 0 && rows->n < 64);
  snprintf(rows->key[rows->n], sizeof rows->key[0], "%s/%s", c[s], c[m]);
  snprintf(rows->verdict[rows->n], sizeof rows->verdict[0], "%s", c[v]);
  rows->rel[rows->n] = c[rel][0] ? strtod(c[rel], NULL) : NAN;
  rows->n++;
  return 0;
}

static int row_of(const csv_rows *rows, const char *key) {
  for (int i = 0; i < rows->n; i++)
    if (!strcmp(rows->key[i], key)) return i;
  fail_msg("regress.csv has no row %s", key);
  return -1;
}

static void load_rows(const char *out, csv_rows *rows) {
  char path[512];
  snprintf(path, sizeof path, "%s/regress.csv", out);
  memset(rows, 0, sizeof *rows);
  assert_int_equal(res_csv_each(path, 0, collect, rows), 0);
}

static void validate_junit(const char *out) {
  if (system("command -v xmllint >/dev/null 2>&1") != 0) {
    fprintf(stderr, "xmllint missing (scripts/deps.sh installs libxml2-utils): junit.xml not validated\n");
    return;
  }
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "xmllint --noout --schema %s/tests/fixtures/junit.xsd %s/junit.xml 2>/dev/null",
           MIGSIM_SOURCE_DIR, out);
  assert_int_equal(system(cmd), 0);
  /* The schema does constrain: a test case without its class name, or
   * with two outcomes, is refused. */
  char bad[512];
  snprintf(bad, sizeof bad, "%s/bad-junit.xml", tmpdir);
  write_file(bad, "<testsuites><testsuite name=\"s\" tests=\"1\"><testcase name=\"m\"/></testsuite></testsuites>\n");
  snprintf(cmd, sizeof cmd, "xmllint --noout --schema %s/tests/fixtures/junit.xsd %s 2>/dev/null", MIGSIM_SOURCE_DIR,
           bad);
  assert_int_not_equal(system(cmd), 0);
  write_file(bad, "<testsuites><testsuite name=\"s\" tests=\"1\"><testcase name=\"m\" classname=\"c\">"
                  "<skipped/><failure message=\"x\"/></testcase></testsuite></testsuites>\n");
  assert_int_not_equal(system(cmd), 0);
}

/* The report of a regress folder: report.html embeds every
 * report-*.png of the folder (and no other image), report.md starts with
 * migsim report's title and keeps the verdicts, and the per-scenario bars
 * of both sides are there. Returns the number of plots. */
static int check_report(const char *out, const char *verdict) {
  DIR *d = opendir(out);
  assert_non_null(d);
  int pngs = 0;
  for (struct dirent *e; (e = readdir(d));)
    pngs += (!strncmp(e->d_name, "report-", 7) && strstr(e->d_name, ".png") != NULL) ||
            !strcmp(e->d_name, "regress-diff.png");
  closedir(d);
  char path[512];
  snprintf(path, sizeof path, "%s/report.html", out);
  char *html = slurp(path);
  assert_non_null(html);
  int imgs = 0;
  for (const char *p = html; (p = strstr(p, "<img src=\"data:image/png;base64,iVBORw0KGgo")); p++) imgs++;
  assert_int_equal(imgs, pngs);
  assert_non_null(strstr(html, verdict));
  free(html);
  snprintf(path, sizeof path, "%s/report.md", out);
  char *md = slurp(path);
  assert_non_null(md);
  assert_int_equal(strncmp(md, "# migsim report: regress, ", 26), 0);
  assert_non_null(strstr(md, verdict));
  assert_non_null(strstr(md, "## Scenarios: baseline vs candidate"));
  assert_non_null(strstr(md, "![total time per scenario, a bar per folder"));
  /* regress's own chart of the verdicts, right after its text. */
  const char *diff = strstr(md, "![candidate against baseline: difference of the medians");
  assert_non_null(diff);
  assert_true(diff < strstr(md, "## Overview"));
  assert_non_null(strstr(diff, "](regress-diff.png)"));
  free(md);
  snprintf(path, sizeof path, "%s/report-scenarios-total_time_ms.png", out);
  assert_int_equal(access(path, R_OK), 0);
  return pngs;
}

/* The headline check: one constant (the link, 3.6 % slower) makes the
 * bundled suite's post-copy runs ~3 % longer; 10 repeats flag exactly
 * those, and nothing in pre-copy. */
static void test_cli_detects_slowdown(void **state) {
  (void)state;
  char err[4096], out[256];
  snprintf(out, sizeof out, "%s/slow", tmpdir);
  int rc = migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate %s/tests/fixtures/regress-slow-link.ini "
                  "--repeat 10 --out %s --quiet", MIGSIM_SOURCE_DIR, out);
  assert_int_equal(rc, 1);
  csv_rows rows;
  load_rows(out, &rows);
  assert_int_equal(rows.n, 5 * 6); /* 5 scenarios x 6 default metrics */
  static const char *const flagged[] = {"postcopy-uniform/total_time_ms", "postcopy-zipf/total_time_ms"};
  for (size_t i = 0; i < 2; i++) {
    int k = row_of(&rows, flagged[i]);
    assert_string_equal(rows.verdict[k], "regression");
    assert_true(rows.rel[k] > 0.025 && rows.rel[k] < 0.035);
  }
  int regressions = 0;
  for (int i = 0; i < rows.n; i++) regressions += !strcmp(rows.verdict[i], "regression");
  assert_int_equal(regressions, 2);
  int k = row_of(&rows, "precopy-uniform/total_time_ms");
  assert_string_equal(rows.verdict[k], "no_change");
  assert_true(fabs(rows.rel[k]) < 0.001);
  validate_junit(out);
  char path[512];
  snprintf(path, sizeof path, "%s/junit.xml", out);
  char *xml = slurp(path);
  assert_non_null(xml);
  /* One test case per scenario x metric, a failure per regression. */
  int cases = 0, failures = 0;
  for (const char *p = xml; (p = strstr(p, "<testcase ")); p++) cases++;
  for (const char *p = xml; (p = strstr(p, "<failure ")); p++) failures++;
  assert_int_equal(cases, 30);
  assert_int_equal(failures, 2);
  assert_non_null(strstr(xml, "classname=\"regress.postcopy-zipf\" name=\"total_time_ms\" time=\"0\">\n      <failure"));
  free(xml);
  /* The runs are result folders: 5 scenarios x 10 repeats per side. */
  snprintf(path, sizeof path, "%s/candidate/summary.csv", out);
  char *summary = slurp(path);
  assert_non_null(summary);
  int lines = 0;
  for (const char *p = summary; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, 1 + 50);
  assert_non_null(strstr(summary, "\npostcopy-zipf#10,sim,postcopy-zipf,"));
  free(summary);
  /* The verdicts' chart, CDFs, per-scenario bars (6 metrics each) and the
   * rounds. */
  assert_int_equal(check_report(out, "**REGRESSION**: 2 regressions"), 14);
  /* A stored side: the candidate folder against the same profile again
   * (runs recomputed for the baseline) gives the same verdicts. */
  char out2[256];
  snprintf(out2, sizeof out2, "%s/stored", tmpdir);
  rc = migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate %s/candidate --out %s --quiet", out, out2);
  assert_int_equal(rc, 1);
  csv_rows again;
  load_rows(out2, &again);
  assert_int_equal(again.n, rows.n);
  for (int i = 0; i < rows.n; i++) assert_string_equal(again.verdict[i], rows.verdict[i]);
  /* A looser threshold on total time lets the same runs pass. */
  rc = migsim(err, sizeof err, "regress --baseline %s/baseline/summary.csv --candidate %s/candidate --out %s --force "
              "--threshold total_time_ms=5%%,1ms --quiet", out, out, out2);
  assert_int_equal(rc, 0);
  /* Both sides stored elsewhere: their runs are plotted where they are
   * (the summary.csv side without its rounds). */
  assert_true(check_report(out2, "**no regression**") >= 13);
  /* --no-plots: the verdicts alone, the plots of the report before gone. */
  rc = migsim(err, sizeof err, "regress --baseline %s/baseline/summary.csv --candidate %s/candidate --out %s --force "
              "--no-plots --quiet", out, out, out2);
  assert_int_equal(rc, 1);
  snprintf(path, sizeof path, "%s/report.html", out2);
  assert_int_not_equal(access(path, F_OK), 0);
  snprintf(path, sizeof path, "%s/report-scenarios-total_time_ms.png", out2);
  assert_int_not_equal(access(path, F_OK), 0);
  snprintf(path, sizeof path, "%s/regress-diff.png", out2);
  assert_int_not_equal(access(path, F_OK), 0);
}

static void test_cli_identical(void **state) {
  (void)state;
  char err[4096], out[256];
  snprintf(out, sizeof out, "%s/same", tmpdir);
  int rc = migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate %s/tests/fixtures/regress-same.ini "
                  "--repeat 10 --out %s --quiet", MIGSIM_SOURCE_DIR, out);
  assert_int_equal(rc, 0);
  csv_rows rows;
  load_rows(out, &rows);
  assert_int_equal(rows.n, 30);
  for (int i = 0; i < rows.n; i++) assert_string_equal(rows.verdict[i], "no_change");
  validate_junit(out);
  char path[512];
  snprintf(path, sizeof path, "%s/report.md", out);
  char *md = slurp(path);
  assert_non_null(md);
  assert_non_null(strstr(md, "**no regression**: 0 regressions, 0 improvements in 30 comparisons"));
  free(md);
  /* The same command again replaces the folder; another needs --force. */
  assert_int_equal(migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate %s/tests/fixtures/regress-same.ini "
                          "--repeat 10 --out %s --quiet", MIGSIM_SOURCE_DIR, out), 0);
  assert_int_equal(migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate qemu-7.2 --repeat 3 --out %s",
                          out), 2);
  assert_non_null(strstr(err, "--force"));
}

static int one_line(const char *err) {
  const char *nl = strchr(err, '\n');
  return nl && nl[1] == '\0' && !strncmp(err, "migsim: ", 8);
}

static void test_cli_errors(void **state) {
  (void)state;
  char err[4096], out[256], bad[256];
  snprintf(out, sizeof out, "%s/err", tmpdir);
  snprintf(bad, sizeof bad, "%s/corrupt.csv", tmpdir);
  /* A summary.csv whose metric cell is not a number. */
  write_file(bad, "run_id,source,name,status,total_time_ms,downtime_ms,transferred_bytes,dirty_sync_count,"
                  "postcopy_requests,guest_stall_ms\n"
                  "a#1,sim,a,completed,100,1,1000,3,0,0\n"
                  "a#2,sim,a,completed,1O1,1,1000,3,0,0\n");
  int rc = migsim(err, sizeof err, "regress --baseline %s --candidate qemu-7.2 --workload uniform:wss=1024,rate=100 "
                  "--name a --repeat 2 --out %s", bad, out);
  assert_int_equal(rc, 2);
  assert_true(one_line(err));
  assert_non_null(strstr(err, "corrupt.csv:3: total_time_ms '1O1' is not a number"));
  /* Cut short in the middle of a row: fewer cells than columns. */
  write_file(bad, "run_id,source,name,status,total_time_ms,downtime_ms,transferred_bytes,dirty_sync_count,"
                  "postcopy_requests,guest_stall_ms\n"
                  "a#1,sim,a,completed,100,1,1000,3,0,0\n"
                  "a#2,sim,a,comp");
  rc = migsim(err, sizeof err, "regress --baseline %s --candidate qemu-7.2 --workload uniform:wss=1024,rate=100 "
              "--name a --repeat 2 --out %s", bad, out);
  assert_int_equal(rc, 2);
  assert_true(one_line(err));
  assert_non_null(strstr(err, "corrupt.csv:3: 4 cells where the header has 10"));
  /* Not a summary at all. */
  write_file(bad, "\x01\x02garbage\n");
  rc = migsim(err, sizeof err, "regress --baseline %s --candidate qemu-7.2 --out %s", bad, out);
  assert_int_equal(rc, 2);
  assert_true(one_line(err));
  /* A metric column missing. */
  write_file(bad, "name,status,total_time_ms\na,completed,1\n");
  rc = migsim(err, sizeof err, "regress --baseline %s --candidate qemu-7.2 --out %s", bad, out);
  assert_int_equal(rc, 2);
  assert_non_null(strstr(err, "no 'downtime_ms' column"));
  /* A side that is neither. */
  rc = migsim(err, sizeof err, "regress --baseline qemu-9.9 --candidate qemu-7.2 --out %s", out);
  assert_int_equal(rc, 2);
  assert_true(one_line(err));
  assert_non_null(strstr(err, "--baseline qemu-9.9 is not a result folder, a summary.csv or a profile"));
  rc = migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate qemu-7.2 --threshold total_time_ms=fast --out %s",
              out);
  assert_int_equal(rc, 2);
  assert_true(one_line(err));
  rc = migsim(err, sizeof err, "regress --candidate qemu-7.2 --out %s", out);
  assert_int_equal(rc, 2);
  /* Nothing was written for the failed runs. */
  struct stat sb;
  char path[512];
  snprintf(path, sizeof path, "%s/regress.csv", out);
  assert_int_not_equal(stat(path, &sb), 0);
}

typedef struct {
  int rows;
  char first[160];
  double n, median, mean, ci_lo, ci_hi;
} agg_row;

static int find_agg(void *ctx, const char *const *h, const char *const *c, size_t n) {
  agg_row *a = ctx;
  a->rows++;
  char key[160];
  snprintf(key, sizeof key, "%s/%s", c[res_csv_col(h, n, "scenario")], c[res_csv_col(h, n, "metric")]);
  if (strcmp(key, a->first)) return 0;
  a->n = strtod(c[res_csv_col(h, n, "n")], NULL);
  a->median = strtod(c[res_csv_col(h, n, "median")], NULL);
  a->mean = strtod(c[res_csv_col(h, n, "mean")], NULL);
  a->ci_lo = strtod(c[res_csv_col(h, n, "ci_low")], NULL);
  a->ci_hi = strtod(c[res_csv_col(h, n, "ci_high")], NULL);
  return 0;
}

/* run --repeat: the same seeds and run ids as regress, so a folder it
 * wrote is a baseline that matches regress's own runs exactly (every
 * difference 0); aggregate.csv; progress lines in a log, none with
 * --quiet. */
static void test_run_repeat(void **state) {
  (void)state;
  char err[8192], out[256], reg[256];
  snprintf(out, sizeof out, "%s/repeat", tmpdir);
  snprintf(reg, sizeof reg, "%s/repeat-regress", tmpdir);
  setenv("MIGSIM_PROGRESS_S", "0", 1); /* a line per run */
  int rc = migsim(err, sizeof err, "run --scenario %s/scenarios/regress.ini --repeat 10 --out %s", MIGSIM_SOURCE_DIR,
                  out);
  assert_int_equal(rc, 0);
  /* stderr is a file here: plain progress lines, the last one complete. */
  assert_non_null(strstr(err, "run: 1/50 runs"));
  assert_non_null(strstr(err, "run: 50/50 runs"));
  assert_null(strchr(err, '\r'));
  char path[512];
  snprintf(path, sizeof path, "%s/summary.csv", out);
  char *summary = slurp(path);
  assert_non_null(summary);
  assert_non_null(strstr(summary, "\nprecopy-uniform#1,sim,precopy-uniform,"));
  assert_non_null(strstr(summary, "\nhybrid-sequential#10,sim,hybrid-sequential,"));
  free(summary);
  agg_row a = {0};
  snprintf(a.first, sizeof a.first, "postcopy-zipf/total_time_ms");
  snprintf(path, sizeof path, "%s/aggregate.csv", out);
  assert_int_equal(res_csv_each(path, 0, find_agg, &a), 0);
  assert_true(a.rows >= 5 * 6);
  assert_true(a.n == 10 && a.ci_lo <= a.mean && a.mean <= a.ci_hi && a.median > 100 && a.median < 300);
  rc = migsim(err, sizeof err, "regress --baseline %s --candidate qemu-7.2 --out %s --quiet", out, reg);
  assert_int_equal(rc, 0);
  assert_string_equal(err, "");
  FILE *f;
  snprintf(path, sizeof path, "%s/regress.csv", reg);
  assert_non_null(f = fopen(path, "r"));
  char line[1024];
  int rows = 0;
  assert_non_null(fgets(line, sizeof line, f));
  while (fgets(line, sizeof line, f)) {
    /* scenario,metric,n_b,n_c,median_b,median_c,diff,...: diff is 0. */
    const char *p = line;
    for (int comma = 0; comma < 6; p++) comma += *p == ',';
    assert_true(!strncmp(p, "0,", 2));
    rows++;
  }
  fclose(f);
  assert_int_equal(rows, 30);
  /* The same repeats again: all skipped, the aggregate the same. */
  rc = migsim(err, sizeof err, "run --scenario %s/scenarios/regress.ini --repeat 10 --out %s --quiet", MIGSIM_SOURCE_DIR,
              out);
  assert_int_equal(rc, 0);
  assert_null(strstr(err, "runs,")); /* --quiet: no progress */
  agg_row b = {0};
  snprintf(b.first, sizeof b.first, "postcopy-zipf/total_time_ms");
  snprintf(path, sizeof path, "%s/aggregate.csv", out);
  assert_int_equal(res_csv_each(path, 0, find_agg, &b), 0);
  assert_true(b.n == 10 && b.median == a.median && b.ci_lo == a.ci_lo);
  unsetenv("MIGSIM_PROGRESS_S");
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mann_whitney_ties),
      cmocka_unit_test(test_mann_whitney_separated),
      cmocka_unit_test(test_median_and_ci),
      cmocka_unit_test(test_thresholds),
      cmocka_unit_test(test_verdicts),
      cmocka_unit_test(test_cli_detects_slowdown),
      cmocka_unit_test(test_cli_identical),
      cmocka_unit_test(test_cli_errors),
      cmocka_unit_test(test_run_repeat),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
