/* test_fidelity: the committed real QEMU runs, replayed through the
 * simulator as an ordinary CPU-only test.
 *
 * docs/validation/real and docs/calibration/real hold real migrations
 * measured with kvmreplay (QEMU 7.2, TCG), docs/validation-10.0/real the
 * same set on QEMU 10.0. Each scenario is simulated with the profile
 * calibrated for that version on the replay guest's layout, and
 * the errors must stay within the bounds below: close to what the model
 * achieves (docs/validation/validation.md), so that breaking any modelled
 * mechanism (scripts/mutate.sh checks this) moves some metric past its
 * bound. No QEMU is started. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kvr.h"
#include "mdl_sim.h"
#include "res_load.h"
#include "res_validate.h"
#include "sim_err.h"


typedef struct {
  mdl_scenario *items;
  size_t count, cap;
} scenario_list;

static int collect(void *ctx, const mdl_scenario *s) {
  scenario_list *l = ctx;
  if (l->count == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->items = realloc(l->items, l->cap * sizeof *l->items);
    assert_non_null(l->items);
  }
  l->items[l->count++] = *s;
  return 0;
}

/* Every scenario of the repository's scenario file `ini`, with defaults. */
static scenario_list load_scenarios(const char *ini) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", MIGSIM_SOURCE_DIR, ini);
  scenario_list list = {0};
  mdl_scenario base;
  mdl_scenario_defaults(&base);
  if (mdl_scenario_file_each(path, &base, collect, &list)) fail_msg("%s", sim_error_message());
  return list;
}

/* Simulates scenario `s` as the replay guest lays it out, with `profile`
 * (as validate does for each scenario); fails the test on an error. */
static void simulate_laid(const mdl_scenario *s, const char *profile, mdl_result *r) {
  mdl_scenario laid;
  if (kvr_sim_layout(s, &laid)) fail_msg("layout: %s", sim_error_message());
  snprintf(laid.profile, sizeof laid.profile, "%s", profile);
  mdl_result_init(r, "sim");
  if (mdl_simulate(&laid, r)) fail_msg("%s: %s", laid.name, sim_error_message());
}

/* Whether the store holds any real run of a feature `s` uses that is new
 * to the validation set (multifd, compress); 1 for other scenarios. */
static int feature_replayed(const res_run_set *real, const mdl_scenario *s) {
  if (!s->multifd && !s->compress) return 1;
  for (size_t k = 0; k < real->count; k++)
    if ((s->multifd && real->runs[k].scenario.multifd) || (s->compress && real->runs[k].scenario.compress)) return 1;
  return 0;
}

/* Simulates every scenario of `ini` against the real runs in `real_dir`;
 * with `only`, the scenarios whose names start with it (validate --only). */
static void validate_subset(const char *ini, const char *real_dir, const char *profile, const char *only,
                            res_validation *v) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", MIGSIM_SOURCE_DIR, real_dir);
  scenario_list list = load_scenarios(ini);
  res_run_set real;
  if (res_runs_load(dir, &real)) fail_msg("%s", sim_error_message());
  mdl_result *sim = calloc(list.count, sizeof *sim);
  res_case *cases = calloc(list.count, sizeof *cases);
  const mdl_result **ptrs = calloc(list.count * 8, sizeof *ptrs);
  assert_true(sim && cases && ptrs);
  size_t used = 0, ncases = 0;
  for (size_t i = 0; i < list.count; i++) {
    if (only && strncmp(list.items[i].name, only, strlen(only)) != 0) continue;
    mdl_scenario laid;
    if (kvr_sim_layout(&list.items[i], &laid)) fail_msg("layout: %s", sim_error_message());
    snprintf(laid.profile, sizeof laid.profile, "%s", profile);
    list.items[i] = laid;
    mdl_profile prof;
    if (mdl_profile_load(profile, &prof)) fail_msg("%s", sim_error_message());
    if (mdl_profile_supports(&prof, &laid) == SIM_EUNSUPPORTED) {
      /* the version lacks the feature (compress on 10.0): as validate does */
      print_message("%s: left out on %s: %s\n", laid.name, profile, sim_error_message());
      continue;
    }
    mdl_result_init(&sim[i], "sim");
    if (mdl_simulate(&list.items[i], &sim[i])) fail_msg("%s: %s", laid.name, sim_error_message());
    const res_loaded *got[8];
    size_t n = res_runs_of(&real, laid.name, got, 8);
    if (!n && !feature_replayed(&real, &laid)) {
      /* A feature added to the set but not yet replayed (multifd,
       * compress: the lead runs the set on a quiet machine): skipped, as
       * long as no run of that feature is in the store. */
      print_message("%s: not replayed yet (no real run of its feature in %s): skipped\n", laid.name, real_dir);
      continue;
    }
    if (!n) fail_msg("no real run of %s in %s", laid.name, dir);
    cases[ncases++] = (res_case){&list.items[i], &sim[i], &ptrs[used], n};
    for (size_t k = 0; k < n; k++) ptrs[used++] = &got[k]->result;
  }
  assert_int_equal(res_validate(cases, ncases, v), 0);
  for (size_t i = 0; i < list.count; i++) mdl_result_free(&sim[i]);
  free(sim);
  free(cases);
  free(ptrs);
  res_runs_free(&real);
  free(list.items);
}

static void validate_set(const char *ini, const char *real_dir, const char *profile, res_validation *v) {
  validate_subset(ini, real_dir, profile, NULL, v);
}

/* validate_subset with profile `base` changed by one `key = value` line
 * (a temporary profile file): how a set scores without a rule. */
static void validate_with_key(const char *ini, const char *real_dir, const char *base, const char *key_line,
                              const char *only, res_validation *v) {
  char path[] = "/tmp/migsim-fidelity-XXXXXX.ini";
  int fd = mkstemps(path, 4);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  fprintf(f, "[profile]\nbase = %s\n%s\n", base, key_line);
  fclose(f);
  validate_subset(ini, real_dir, path, only, v);
  remove(path);
}

static void print_summary(const char *what, const res_validation *v) {
  printf("%s: %zu runs\n", what, v->runs);
  for (int m = 0; m < RES_M_COUNT; m++)
    printf("  %-18s median %7.2f%%  p90 %7.2f%%  abs median %8.2f  n %zu\n", v->metric[m].name,
           v->metric[m].median_abs_pct, v->metric[m].p90_abs_pct, v->metric[m].median_abs, v->metric[m].n);
  printf("  syncs exact %.2f  downtime ok %.2f  requests ok %.2f/%zu  stall ok %.2f/%zu  verdicts %.2f\n",
         v->syncs_exact_share, v->downtime_ok_share, v->requests_ok_share, v->requests_runs,
         v->stall_ok_share, v->stall_runs, v->convergence_ok_share);
}

/* Bounds: the model's figures on the committed runs (docs/validation/
 * validation.md) plus a small margin, so that a broken mechanism shows. */
static void test_validation_set(void **state) {
  (void)state;
  res_validation v;
  validate_set("scenarios/validation.ini", "docs/validation/real", "qemu-7.2-tcg", &v);
  print_summary("validation set", &v);
  const res_metric_error *m = v.metric;
  assert_true(v.runs >= 100);
  assert_true(v.convergence_ok_share == 1.0);
  assert_true(m[RES_M_TOTAL].median_abs_pct <= 2.0);
  /* 4.7 % since faults on pages in flight wait for them (5.7 % before) */
  assert_true(m[RES_M_TOTAL].p90_abs_pct <= 5.0);
  assert_true(m[RES_M_BYTES].median_abs_pct <= 0.3);
  assert_true(m[RES_M_BYTES].p90_abs_pct <= 1.3);
  assert_true(v.syncs_exact_share >= 0.92);
  /* The completion's speed and backlog, fitted on the calibration set's
   * large-tail pre-copies (docs/postcopy-faults.md, "Downtime"), are what
   * moved this from 73 % to 84 %; the post-copy switch's discard costs
   * to 85.6 %; the stopped guest's faster stream (profile stopped_link)
   * to 81.1 % on these runs of 2026-12-01 and from 83.8 % to 93.7 % on
   * the same scenarios measured on 2026-12-03 (test_remeasured_sets). */
  assert_true(v.downtime_ok_share >= 0.81);
  assert_true(m[RES_M_DOWNTIME].median_abs <= 2.0);
  /* Faults on pages in flight (docs/postcopy-faults.md): requests 22.7 %
   * -> 14.3 % median, within x1.5 90 % -> 100 %, stall 23.0 % -> 20.8 %,
   * delayed share 50.8 % -> 38.5 %. */
  assert_true(v.requests_ok_share >= 0.95);
  assert_true(m[RES_M_REQUESTS].median_abs_pct <= 18.0);
  assert_true(v.stall_ok_share >= 0.82);
  assert_true(m[RES_M_STALL].median_abs_pct <= 22.0);
  assert_true(m[RES_M_DELAYED].median_abs_pct <= 45.0);
  assert_true(m[RES_M_DELAY_P99].median_abs_pct <= 20.0);
}

static void test_calibration_set(void **state) {
  (void)state;
  res_validation v;
  validate_set("scenarios/calibration.ini", "docs/calibration/real", "qemu-7.2-tcg", &v);
  print_summary("calibration set", &v);
  const res_metric_error *m = v.metric;
  assert_true(v.runs >= 24);
  assert_true(v.convergence_ok_share == 1.0);
  assert_true(m[RES_M_TOTAL].median_abs_pct <= 2.0);
  assert_true(m[RES_M_BYTES].median_abs_pct <= 0.3);
  assert_true(v.syncs_exact_share >= 0.88);
  assert_true(v.requests_ok_share >= 0.9);
  assert_true(v.stall_ok_share >= 0.7);
}

/* QEMU 10.0's runs against the profile fitted on 10.0 (docs/qemu-10.0.md,
 * "Validated"): the QEMU driver's 10.0 variants (rate limit charged at
 * flush, transferred counting the whole stream, ...) and 10.0's constants.
 * Measured with the refit on the 17-scenario calibration set that holds
 * the traced completion constants (stop, device_save, dest_load, device
 * state bytes) and the hybrid switch one pass after its sync: total
 * 1.1 % / 7.3 %, bytes 0.1 % / 1.2 %, syncs exact 92 % (75 % with 7.2's
 * rate rule), downtime within bounds 82 % (81 % with fitted completion
 * constants, 70 % before the large-tail calibration scenarios). With the
 * firmware's pages in the replay guest's layout (kvr_layout.c): total
 * 0.85 % / 6.6 %, bytes 0.07 % / 0.2 %, syncs exact 95 %, downtime 83 %. */
static void test_validation_set_qemu10(void **state) {
  (void)state;
  res_validation v;
  validate_set("scenarios/validation.ini", "docs/validation-10.0/real", "qemu-10.0-tcg", &v);
  print_summary("validation set, QEMU 10.0", &v);
  const res_metric_error *m = v.metric;
  assert_true(v.runs >= 100);
  assert_true(v.convergence_ok_share == 1.0);
  assert_true(m[RES_M_TOTAL].median_abs_pct <= 1.2);
  assert_true(m[RES_M_TOTAL].p90_abs_pct <= 7.0);
  assert_true(m[RES_M_BYTES].median_abs_pct <= 0.2);
  assert_true(m[RES_M_BYTES].p90_abs_pct <= 0.5);
  assert_true(v.syncs_exact_share >= 0.93);
  assert_true(v.downtime_ok_share >= 0.83); /* 83.8 % with the switch's discard costs */
  assert_true(m[RES_M_DOWNTIME].median_abs <= 1.0); /* 0.7 ms (1.3 without them) */
  assert_true(v.requests_ok_share >= 0.90);
  assert_true(v.stall_ok_share >= 0.90);
}

/* One measurement of the whole validation set (>= 100 runs) against a
 * profile, printed, with every convergence verdict right. */
static void validate_whole_set(const char *real, const char *profile, res_validation *v) {
  validate_set("scenarios/validation.ini", real, profile, v);
  print_summary(real, v);
  assert_true(v->runs >= 100);
  assert_true(v->convergence_ok_share == 1.0);
}

/* The whole validation set measured again on 2026-12-03 on both versions
 * (docs/validation-rerun/validation-7.2, -10.0), after the replay guest's
 * firmware layout and write stamp had changed. Its pre-copy completions
 * pin the stream's speed while the guest is stopped (profile stopped_link,
 * docs/simulator.md, "A stopped guest's stream"): at the running loopback
 * speed the downtime share within bounds is 83.8 % on both; with it
 * 93.7 % (7.2) and 86.5 % (10.0). */
static void test_remeasured_sets(void **state) {
  (void)state;
  static const struct {
    const char *real, *profile;
    double bytes_median, downtime_share;
  } sets[] = {
      {"docs/validation-rerun/validation-7.2/real", "qemu-7.2-tcg", 0.1, 0.93},
      {"docs/validation-rerun/validation-10.0/real", "qemu-10.0-tcg", 0.2, 0.86},
      /* measured with post-copy asked in the same write as migrate */
      {"docs/validation-rerun/validation-10.0-pair/real", "qemu-10.0-tcg", 0.2, 0.88},
  };
  for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
    res_validation v;
    validate_whole_set(sets[k].real, sets[k].profile, &v);
    assert_true(v.metric[RES_M_TOTAL].median_abs_pct <= 1.0);
    assert_true(v.metric[RES_M_BYTES].median_abs_pct <= sets[k].bytes_median);
    assert_true(v.downtime_ok_share >= sets[k].downtime_share);
  }
}

/* The features set (docs/features.md, "Measured"): auto-converge, xbzrle
 * and postcopy-preempt runs on QEMU 7.2 replayed through the simulator.
 * Each feature's rule and its counters are pinned here: a throttle step
 * one period late, a cache that keeps no page, unchanged pages sent,
 * requested pages behind the backlog, each moves these. The total-time
 * p90 is the unlimited preempt post-copies' (10-15 % long). */
static void test_validation_set_features(void **state) {
  (void)state;
  res_validation v;
  validate_set("scenarios/validation-features.ini", "docs/validation-features/real", "qemu-7.2-tcg", &v);
  print_summary("features set, QEMU 7.2", &v);
  const res_metric_error *m = v.metric;
  assert_true(v.runs >= 75);
  assert_true(v.convergence_ok_share == 1.0);
  assert_true(m[RES_M_TOTAL].median_abs_pct <= 2.0);
  /* the p90 is compress's (docs/features.md: 45 % median, the threads
   * sharing a core and a stream per page modelled, 2 vs 8 threads not);
   * multifd's own counter is pinned below */
  assert_true(m[RES_M_TOTAL].p90_abs_pct <= 25.0);
  assert_true(v.requests_runs >= 12 && v.requests_ok_share >= 0.8);
  assert_true(m[RES_M_STALL].median_abs_pct <= 28.0);
  assert_true(m[RES_M_BYTES].median_abs_pct <= 1.5);
  assert_true(m[RES_M_BYTES].p90_abs_pct <= 7.0);
  assert_true(m[RES_M_THROTTLE].n >= 18 && m[RES_M_THROTTLE].median_abs_pct <= 1.0);
  assert_true(m[RES_M_THROTTLE_LOSS].median_abs_pct <= 5.0);
  assert_true(m[RES_M_XBZ_PAGES].n >= 12 && m[RES_M_XBZ_PAGES].median_abs_pct <= 2.0);
  assert_true(m[RES_M_XBZ_MISS].median_abs_pct <= 1.0);
  /* 0.8 % / 1.9 % since the replay guest's writes change every byte
   * they cover (6.1 % / 13.7 % when its stamp kept 10 of 16: three runs
   * where the model encodes one; docs/features.md, "xbzrle") */
  assert_true(m[RES_M_XBZ_BYTES].median_abs_pct <= 2.0);
  assert_true(m[RES_M_XBZ_BYTES].p90_abs_pct <= 4.0);
  /* preempt's faults on pages still in the main stream wait for them:
   * delay p99 78 % -> 14.6 % median, stall 25.9 % -> 20.6 % */
  assert_true(m[RES_M_DELAY_P99].median_abs_pct <= 30.0);
  assert_true(m[RES_M_STALL].median_abs_pct <= 23.0);
  assert_true(m[RES_M_MULTIFD_BYTES].n >= 15 && m[RES_M_MULTIFD_BYTES].median_abs_pct <= 0.5);
  assert_true(m[RES_M_COMPRESSED_SIZE].n >= 6 && m[RES_M_COMPRESSED_SIZE].median_abs_pct <= 35.0);
}

/* The features set on QEMU 10.0 against qemu-10.0-tcg: postcopy-preempt's
 * faults are served by the return path (preempt_urgent) and cost the
 * traced ~0.4 ms wake (fault_resume_ns, docs/qemu-10.0.md), longer while
 * the stream sends (fault_resume_busy_ns, docs/postcopy-faults.md); without
 * any wake the requests were 608 % off, with the first 51 %, with both 31 %
 * (median over the set). */
static void test_validation_set_features_qemu10(void **state) {
  (void)state;
  res_validation v;
  validate_set("scenarios/validation-features.ini", "docs/validation-features-10.0/real", "qemu-10.0-tcg", &v);
  print_summary("features set, QEMU 10.0", &v);
  const res_metric_error *m = v.metric;
  assert_true(v.runs >= 69);
  assert_true(v.convergence_ok_share == 1.0);
  /* multifd on 10.0 sends one packet per channel per window beyond its
   * limit (multifd_count_on_wait, docs/features.md): 1.5 % over the set
   * with it, 3.3 % without (multifd alone 4.9 % and 21 %) */
  assert_true(m[RES_M_TOTAL].median_abs_pct <= 2.0);
  assert_true(m[RES_M_REQUESTS].n >= 12 && m[RES_M_REQUESTS].median_abs_pct <= 35.0);
  /* 25.0 % with the longer busy wake, 40.1 % without; 15.6 % with the
   * faults on pages in flight */
  assert_true(m[RES_M_STALL].median_abs_pct <= 20.0);
  assert_true(m[RES_M_THROTTLE].n >= 18 && m[RES_M_THROTTLE].median_abs_pct <= 1.0);
  assert_true(m[RES_M_XBZ_MISS].median_abs_pct <= 1.0);
  assert_true(m[RES_M_XBZ_BYTES].n >= 12 && m[RES_M_XBZ_BYTES].median_abs_pct <= 3.0); /* 1.6 % */
  /* 10.0's preempt serves requested pages at once, so its only delayed
   * accesses are faults on pages in flight: delayed share 100 % (none
   * predicted) -> 54 % median, stall 25.0 % -> 15.6 % */
  assert_true(m[RES_M_DELAYED].n >= 15 && m[RES_M_DELAYED].median_abs_pct <= 70.0);
  assert_true(m[RES_M_MULTIFD_BYTES].n >= 18 && m[RES_M_MULTIFD_BYTES].median_abs_pct <= 5.0);
}

/* The CPU of the multifd channels, measured per thread on 7.2 and 10.0
 * (docs/features.md, "What a channel costs"): 7.3 % and 4.7 % median
 * error with a channel's own 1.1 us a page and zstd's 2.4 us, 72 % and
 * 68 % with the generic 0.3 and 8 us they replaced. */
static void test_worker_cpu(void **state) {
  (void)state;
  res_validation v;
  validate_subset("scenarios/validation-features.ini", "docs/validation-worker-cpu/real", "qemu-7.2-tcg", "mfd-",
                  &v);
  print_summary("multifd channel CPU, QEMU 7.2", &v);
  assert_true(v.metric[RES_M_CPU_WORKERS].n >= 15 && v.metric[RES_M_CPU_WORKERS].median_abs_pct <= 12.0);
  assert_true(v.metric[RES_M_CPU_WORKERS].p90_abs_pct <= 30.0);
  assert_true(v.metric[RES_M_TOTAL].median_abs_pct <= 2.0);
  validate_subset("scenarios/validation-features.ini", "docs/validation-worker-cpu-10.0/real", "qemu-10.0-tcg",
                  "mfd-", &v);
  print_summary("multifd channel CPU, QEMU 10.0", &v);
  assert_true(v.metric[RES_M_CPU_WORKERS].n >= 18 && v.metric[RES_M_CPU_WORKERS].median_abs_pct <= 10.0);
  assert_true(v.metric[RES_M_CPU_WORKERS].p90_abs_pct <= 20.0);
}

/* multifd's completion on both versions and hosts (docs/features.md,
 * "multifd on 10.0: the channels share every core"): 10.0's channels use
 * both of the host's cores, so a zlib guest's last pass fits one 50 ms
 * iteration step and the completion has little left (real 4-8 ms);
 * 7.2's reach one core between them (real 53-64 ms with zlib). The
 * multifd scenarios' downtime within max(20 %, 5 ms), and total time, on
 * the three sets measured on 2026-12-03 (78, 83 and 94 % within bounds).
 * With 10.0's channels held to one core (worker_cpus = 1) the first
 * host's set falls to 50 %; with the first host's channel figures
 * (multifd_page_ns, multifd_link) in the second host's 10.0 profile, that
 * host's set falls to 61 %. */
static void test_multifd_completion(void **state) {
  (void)state;
  static const struct {
    const char *real, *profile;
    double downtime_ok, total_median;
  } sets[] = {
      {"docs/validation-rerun/features-10.0/real", "qemu-10.0-tcg", 0.75, 7.0},
      {"docs/host-xeon/features-10.0/real", "qemu-10.0-tcg-xeon", 0.8, 7.0},
      {"docs/host-xeon/features-7.2/real", "qemu-7.2-tcg-xeon", 0.85, 4.0},
  };
  for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
    res_validation v;
    validate_subset("scenarios/validation-features.ini", sets[k].real, sets[k].profile, "mfd-", &v);
    print_summary(sets[k].real, &v);
    assert_true(v.metric[RES_M_DOWNTIME].n >= 15);
    assert_true(v.downtime_ok_share >= sets[k].downtime_ok);
    assert_true(v.metric[RES_M_TOTAL].median_abs_pct <= sets[k].total_median);
  }
}

static double median_of(double *v, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && v[j] < v[j - 1]; j--) {
      double t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median of one metric over a scenario's real runs (0: total time, 1: dirty
 * syncs, 2: transferred bytes). */
static double real_median(const res_run_set *real, const char *name, int metric) {
  const res_loaded *got[8];
  size_t n = res_runs_of(real, name, got, 8);
  if (!n) fail_msg("no real run of %s", name);
  double v[8] = {0};
  for (size_t k = 0; k < n; k++) {
    const mdl_result *r = &got[k]->result;
    v[k] = metric == 0   ? r->total_time_ms
           : metric == 1 ? (double)r->dirty_sync_count
           : metric == 2 ? (double)r->transferred_bytes
                         : (double)r->xbzrle_overflow;
  }
  return median_of(v, n);
}

/* XBZRLE's overflows (a delta larger than the page, sent whole) on the
 * whole-page writer, which does not converge and so stays outside the
 * validation statistics: QEMU 7.2 48,707 and 10.0 49,384 (medians),
 * simulated 48,697 and 50,096. Every delta overflows, as the model's one
 * run of write_bytes says (a model that let a 4,096-byte delta fit, or a
 * replay guest whose writes left bytes unchanged, gives a few thousand). */
static void test_xbzrle_overflow(void **state) {
  (void)state;
  static const char *const dirs[2] = {"docs/validation-features/real", "docs/validation-features-10.0/real"};
  static const char *const profiles[2] = {"qemu-7.2-tcg", "qemu-10.0-tcg"};
  char dir[1024];
  scenario_list list = load_scenarios("scenarios/validation-features.ini");
  const mdl_scenario *w4096 = NULL;
  for (size_t i = 0; i < list.count; i++)
    if (!strcmp(list.items[i].name, "xbz-uni12k-32M-w4096")) w4096 = &list.items[i];
  assert_non_null(w4096);
  for (int k = 0; k < 2; k++) {
    res_run_set real;
    snprintf(dir, sizeof dir, "%s/%s", MIGSIM_SOURCE_DIR, dirs[k]);
    if (res_runs_load(dir, &real)) fail_msg("%s", sim_error_message());
    mdl_result sim;
    simulate_laid(w4096, profiles[k], &sim);
    double want = real_median(&real, w4096->name, 3);
    printf("%s: xbzrle_overflow simulated %llu, real median %.0f\n", profiles[k],
           (unsigned long long)sim.xbzrle_overflow, want);
    assert_true(want > 40000);
    assert_true(fabs((double)sim.xbzrle_overflow - want) <= 0.03 * want);
    mdl_result_free(&sim);
    res_runs_free(&real);
  }
  free(list.items);
}

/* Where the first pass's budget runs out depends on which guest pages are
 * non-zero, the firmware's among them: precopy-curve-64M-300ms's pass ends
 * one window later on QEMU 10.0 because 27 pages SeaBIOS leaves 16 MiB
 * below the top of RAM take the window's last 110 KB; its first exact
 * pending is then above the threshold and 10.0 syncs 4 times, 7.2 (with a
 * smaller window) 3 (docs/kvmreplay.md, "The simulated layout"). Without
 * those pages the simulator's pass ends a window early on 10.0. */
static void test_layout_first_pass(void **state) {
  (void)state;
  static const char *const dirs[2] = {"docs/validation-10.0/real", "docs/validation/real"};
  static const char *const profiles[2] = {"qemu-10.0-tcg", "qemu-7.2-tcg"};
  for (int k = 0; k < 2; k++) {
    res_validation v;
    validate_subset("scenarios/validation.ini", dirs[k], profiles[k], "precopy-curve-64M", &v);
    assert_int_equal(v.runs, 3);
    assert_true(v.syncs_exact_share == 1.0);
    assert_true(v.metric[RES_M_TOTAL].median_abs_pct <= 1.5);
  }
}

/* Legacy compress threads on the 2-core TCG host, four sets of runs
 * (docs/features.md, "How the workers share the host"): the threads share
 * one core with the spinning vCPU, so 8 busy threads get 8/9 of it and 2
 * get 2/3, and 2 threads take 2.1-3.4 times as long as 8 (real medians).
 * With the threads on a core of their own whatever their number, the
 * simulator gave both 2.9 s (ratio 1.0) and a 45.8 % median error; now 20.7 %. */
static void test_compress_threads_share(void **state) {
  (void)state;
  static const char *const dirs[4] = {"docs/validation-features/real", "docs/validation-worker-cpu/real",
                                      "docs/validation-rerun/features-7.2/real",
                                      "docs/validation-rerun/compress-7.2/real"};
  static const char *const names[2] = {"cmp-uni12k-32M", "cmp-uni12k-32M-2thr"};
  scenario_list list = load_scenarios("scenarios/validation-features.ini");
  double sim[2] = {0}, err[4 * 2 * 8];
  size_t nerr = 0;
  for (size_t i = 0; i < list.count; i++)
    for (int k = 0; k < 2; k++) {
      if (strcmp(list.items[i].name, names[k])) continue;
      mdl_result r;
      simulate_laid(&list.items[i], "qemu-7.2-tcg", &r);
      assert_int_equal(r.status, MDL_STATUS_COMPLETED);
      sim[k] = r.total_time_ms;
      mdl_result_free(&r);
    }
  assert_true(sim[0] > 0 && sim[1] > 0);
  for (int d = 0; d < 4; d++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", MIGSIM_SOURCE_DIR, dirs[d]);
    res_run_set real;
    if (res_runs_load(dir, &real)) fail_msg("%s", sim_error_message());
    double ratio = real_median(&real, names[1], 0) / real_median(&real, names[0], 0);
    printf("compress %s: 2 threads / 8 threads %.2f real, %.2f simulated\n", dirs[d], ratio, sim[1] / sim[0]);
    assert_true(ratio > 1.8);
    for (int k = 0; k < 2; k++) {
      const res_loaded *got[8];
      size_t n = res_runs_of(&real, names[k], got, 8);
      for (size_t j = 0; j < n; j++)
        err[nerr++] = fabs(sim[k] - got[j]->result.total_time_ms) / got[j]->result.total_time_ms * 100;
    }
    res_runs_free(&real);
  }
  double med = median_of(err, nerr);
  printf("compress total time over %zu runs: median error %.1f %%\n", nerr, med);
  assert_true(nerr == 26);
  assert_true(sim[1] / sim[0] > 1.8 && sim[1] / sim[0] < 3.5);
  assert_true(med <= 30.0);
  free(list.items);
  /* 1, 2, 4 and 8 threads, measured after the rule was made (unseen by
   * any fit): 21.3 % median total-time error (real vs real 28.5 %; a
   * thread with a core of its own, the old rule, gives 45.2 %), the
   * one-thread guest not converging as in one of three real runs. */
  res_validation v;
  validate_set("scenarios/compress-threads.ini", "docs/validation-rerun/compress-threads-7.2/real", "qemu-7.2-tcg",
               &v);
  print_summary("compress by thread count, QEMU 7.2", &v);
  assert_true(v.runs == 12);
  assert_true(v.metric[RES_M_TOTAL].n >= 9 && v.metric[RES_M_TOTAL].median_abs_pct <= 30.0);
  assert_true(v.convergence_ok_share >= 0.8);
}

/* Post-copy pages measured by themselves (docs/postcopy-faults.md):
 * guests migrated by post-copy without a rate limit whose memory is all
 * zero (pz-*) or all non-zero (pn-*), on QEMU 10.0. The 1 and 2 GiB
 * zero guests take the destination's zero-page placement, 2.03 us a page
 * (simulated within 0.4 %, checked within 5 %); a zero page placed at a normal page's cost,
 * or not at all, moves them by a quarter or more. Every run's bytes are
 * within 0.5 %: QEMU's switch sends the device state without the VM
 * description (vmdesc_bytes), 86.5 KB that were 1.8-5 % of a zero guest's
 * stream. The non-zero guests' pages go faster on QEMU than the model's
 * `link` (not modelled; pn-256M 421 ms simulated, 333-359 measured). */
static void test_postcopy_place(void **state) {
  (void)state;
  char dir[1024];
  scenario_list list = load_scenarios("scenarios/postcopy-place.ini");
  res_run_set real;
  snprintf(dir, sizeof dir, "%s/docs/validation-rerun/postcopy-place-10.0/real", MIGSIM_SOURCE_DIR);
  if (res_runs_load(dir, &real)) fail_msg("%s", sim_error_message());
  assert_int_equal(list.count, 5);
  for (size_t i = 0; i < list.count; i++) {
    const char *name = list.items[i].name;
    mdl_result r;
    simulate_laid(&list.items[i], "qemu-10.0-tcg", &r);
    double t = real_median(&real, name, 0), b = real_median(&real, name, 2);
    printf("%-8s total %.0f ms (QEMU %.0f), bytes %.0f (QEMU %.0f)\n", name, r.total_time_ms, t,
           (double)r.transferred_bytes, b);
    assert_true(fabs((double)r.transferred_bytes - b) <= 0.005 * b);
    if (!strcmp(name, "pz-1G") || !strcmp(name, "pz-2G")) assert_true(fabs(r.total_time_ms - t) <= 0.05 * t);
    mdl_result_free(&r);
  }
  res_runs_free(&real);
  free(list.items);
}

/* Issue 15's target for the upgrade question: in at least three scenarios
 * where 7.2 and 10.0 differ by more than 10 % on a metric (median of the
 * real runs), the 10.0 profile's prediction minus the 7.2 profile's has the
 * real difference's sign and lies within a third of it. Counts the pairs
 * (scenario, metric) over 10 % and the scenarios with one predicted. */
static void version_differences(const char *real72_dir, const char *real10_dir, const char *p72, const char *p10,
                                size_t *pairs_out, size_t *met_scenarios_out) {
  char dir[1024];
  scenario_list list = load_scenarios("scenarios/validation.ini");
  res_run_set real72, real10;
  snprintf(dir, sizeof dir, "%s/%s", MIGSIM_SOURCE_DIR, real72_dir);
  if (res_runs_load(dir, &real72)) fail_msg("%s", sim_error_message());
  snprintf(dir, sizeof dir, "%s/%s", MIGSIM_SOURCE_DIR, real10_dir);
  if (res_runs_load(dir, &real10)) fail_msg("%s", sim_error_message());
  size_t pairs = 0, met_pairs = 0, met_scenarios = 0;
  for (size_t i = 0; i < list.count; i++) {
    const char *name = list.items[i].name;
    mdl_result sim[2];
    const char *profiles[2] = {p72, p10};
    for (int k = 0; k < 2; k++) simulate_laid(&list.items[i], profiles[k], &sim[k]);
    int met = 0;
    for (int m = 0; m < 3; m++) {
      double a = real_median(&real72, name, m), b = real_median(&real10, name, m);
      double sa = m == 0 ? sim[0].total_time_ms : m == 1 ? (double)sim[0].dirty_sync_count : (double)sim[0].transferred_bytes;
      double sb = m == 0 ? sim[1].total_time_ms : m == 1 ? (double)sim[1].dirty_sync_count : (double)sim[1].transferred_bytes;
      if (!(fabs(b - a) > 0.10 * a)) continue;
      pairs++;
      if ((sb - sa) * (b - a) > 0 && fabs((sb - sa) - (b - a)) <= fabs(b - a) / 3) {
        met_pairs++;
        met = 1;
      }
    }
    met_scenarios += (size_t)met;
    mdl_result_free(&sim[0]);
    mdl_result_free(&sim[1]);
  }
  printf("7.2 vs 10.0 (%s, %s): %zu of %zu pairs over 10 %% predicted, in %zu scenarios\n", p72, p10, met_pairs,
         pairs, met_scenarios);
  *pairs_out = pairs;
  *met_scenarios_out = met_scenarios;
  res_runs_free(&real72);
  res_runs_free(&real10);
  free(list.items);
}

/* The first host's sets (AMD EPYC). Measured: 4 scenarios (5 of 13 pairs),
 * all through the 10.0 rate rule (docs/qemu-10.0.md); with the firmware's
 * pages laid out, 6 scenarios (7 of 13 pairs). */
static void test_version_differences(void **state) {
  (void)state;
  size_t pairs, met;
  version_differences("docs/validation/real", "docs/validation-10.0/real", "qemu-7.2-tcg", "qemu-10.0-tcg", &pairs,
                      &met);
  assert_true(pairs >= 10);
  assert_true(met >= 6);
}

/* A second host (docs/hosts.md): the validation set measured on a 2-vCPU
 * Intel Xeon VM, predicted with the profiles calibrated there from its own
 * calibration runs. Measured on 2026-12-03: total time 0.4 / 0.4 / 0.2 %
 * median, p90 5.0 / 5.1 / 5.3 %; downtime within bounds 94.6 / 93.7 /
 * 96.4 %; requests within x1.5 92 / 88 / 100 %; stall within bounds 100 /
 * 97 / 100 %. The first host's profile on the same 10.0 runs: p90 7.1 %,
 * stall within bounds 77 % (its post-copy page costs are 3-6x this host's). */
static void test_second_host(void **state) {
  (void)state;
  /* 10.0 with this host's fault wake and the burst rule
   * (docs/postcopy-faults.md, "Faults during a burst"): every validation
   * target on its three sets, the last measured after the fit. 7.2 with
   * the wake traced on 7.2 here ("7.2 on the second host"): total time p90
   * 5.6 % (5.3 % with the first host's 2.2 ms wake, which its fit took by
   * running link to an unpinned 3.2 GB/s). */
  static const struct {
    const char *real, *profile;
    double p90, requests;
  } sets[] = {
      {"docs/host-xeon/validation-10.0/real", "qemu-10.0-tcg-xeon", 5.0, 0.95},
      {"docs/host-xeon/validation-10.0-b/real", "qemu-10.0-tcg-xeon", 5.0, 0.95},
      {"docs/host-xeon/validation-7.2/real", "qemu-7.2-tcg-xeon", 6.0, 0.85},
      {"docs/host-xeon/validation-10.0-c/real", "qemu-10.0-tcg-xeon", 5.0, 0.95},
  };
  for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
    res_validation v;
    validate_whole_set(sets[k].real, sets[k].profile, &v);
    assert_true(v.metric[RES_M_TOTAL].median_abs_pct <= 0.6);
    assert_true(v.metric[RES_M_TOTAL].p90_abs_pct <= sets[k].p90);
    assert_true(v.metric[RES_M_BYTES].median_abs_pct <= 0.05);
    assert_true(v.downtime_ok_share >= 0.93);
    assert_true(v.requests_ok_share >= sets[k].requests);
    assert_true(v.stall_ok_share >= 0.95);
  }
  /* ... and the features set's post-copy guest side. */
  res_validation feat;
  validate_set("scenarios/validation-features.ini", "docs/host-xeon/features-10.0/real", "qemu-10.0-tcg-xeon", &feat);
  print_summary("features, second host, 10.0", &feat);
  printf("features, 10.0: requests within x1.5 %.3f\n", feat.requests_ok_share);
  assert_true(feat.requests_ok_share >= 0.6);
  assert_true(feat.stall_ok_share >= 0.9);
  /* 10.0's fault wake as scripts/trace-fault-wake.py measures it
   * (docs/postcopy-faults.md, "Tracing a host's fault wake"), against the
   * values it replaced (0.03 ms idle, 0.22 ms busy, 1.3 ms burst), on the
   * four later sets with preempt runs. */
  static const struct {
    const char *real, *only;
  } pp[] = {{"docs/host-xeon/features-10.0-b/real", NULL},
            {"docs/host-xeon/preempt-10.0-c/real", "pp-"},
            {"docs/host-xeon/preempt-10.0-d/real", "pp-"},
            {"docs/host-xeon/preempt-10.0-e/real", "pp-"}};
  double now_sum = 0, before_sum = 0;
  for (size_t k = 0; k < sizeof pp / sizeof pp[0]; k++) {
    res_validation now, before;
    validate_subset("scenarios/validation-features.ini", pp[k].real, "qemu-10.0-tcg-xeon", pp[k].only, &now);
    validate_with_key("scenarios/validation-features.ini", pp[k].real, "qemu-10.0-tcg-xeon",
                      "fault_resume_ns = 30000\nfault_resume_busy_ns = 220000\nfault_burst_ns = 1300000",
                      pp[k].only, &before);
    printf("%s: requests within x1.5 %.3f (%.3f with the wake before), stall within bounds %.3f\n", pp[k].real,
           now.requests_ok_share, before.requests_ok_share, now.stall_ok_share);
    assert_true(now.requests_ok_share >= 0.8);
    assert_true(now.stall_ok_share >= 0.9);
    now_sum += now.requests_ok_share;
    before_sum += before.requests_ok_share;
  }
  assert_true(now_sum >= 3.6 && before_sum <= 2.8);
  /* 7.2's preempt runs here fault about once a millisecond, not once per
   * 2.2 ms: requests within x1.5 75 % with this host's wake, 8 % with the
   * first host's. */
  res_validation feat72;
  validate_set("scenarios/validation-features.ini", "docs/host-xeon/features-7.2/real", "qemu-7.2-tcg-xeon", &feat72);
  print_summary("features, second host, 7.2", &feat72);
  assert_true(feat72.requests_ok_share >= 0.7);
  assert_true(feat72.stall_ok_share >= 0.75);
  /* ... and on its preempt runs measured after the refit: 55 % (real vs
   * real 55 %; 18 % with the first host's wake). */
  res_validation pp72;
  validate_subset("scenarios/validation-features.ini", "docs/host-xeon/preempt-7.2-e/real", "qemu-7.2-tcg-xeon", "pp-",
                  &pp72);
  assert_true(pp72.requests_ok_share >= 0.45);
  assert_true(pp72.stall_ok_share >= 0.9);
  /* Without the burst rule the rate-limited post-copies ask too often. */
  res_validation noburst;
  validate_with_key("scenarios/validation.ini", sets[0].real, "qemu-10.0-tcg-xeon", "fault_burst_ns = 0", NULL,
                    &noburst);
  print_summary("second host, 10.0, no burst rule", &noburst);
  assert_true(noburst.requests_ok_share <= 0.75);
  /* Requests held by a delayed ACK (docs/postcopy-faults.md): the
   * rate-limited preempt runs' tail of ~45 ms faults is there only with
   * the rule (delay p99 median error 15.8 %, 27.7 % without). */
  res_validation ack, noack;
  validate_subset("scenarios/validation-features.ini", "docs/host-xeon/preempt-10.0-c/real", "qemu-10.0-tcg-xeon",
                  "pp-", &ack);
  validate_with_key("scenarios/validation-features.ini", "docs/host-xeon/preempt-10.0-c/real", "qemu-10.0-tcg-xeon",
                    "rp_delayed_ack_ns = 0", "pp-", &noack);
  printf("preempt runs, delay p99 median error: %.1f %% with the rule, %.1f %% without\n",
         ack.metric[RES_M_DELAY_P99].median_abs_pct, noack.metric[RES_M_DELAY_P99].median_abs_pct);
  assert_true(ack.metric[RES_M_DELAY_P99].median_abs_pct <= 20.0);
  assert_true(noack.metric[RES_M_DELAY_P99].median_abs_pct >= 25.0);
  assert_true(ack.stall_ok_share >= 0.9);
  /* ... and on the preempt runs measured after the rule was set: delay
   * p99 24.4 % (41.8 % without), stall within bounds 100 % (67 % without),
   * requests within x1.5 83 % either way; 34.1 %, 100 % and 100 % with the
   * wake trace-fault-wake.py measured (the p99s move by under 0.6 ms
   * among real ones spread 2-6 ms: pp-hybrid2-uni-384M 2.81 -> 3.32 ms
   * against 2.35, 3.33 and 5.57). */
  validate_subset("scenarios/validation-features.ini", "docs/host-xeon/preempt-10.0-d/real", "qemu-10.0-tcg-xeon",
                  "pp-", &ack);
  printf("preempt runs measured afterwards, delay p99 median error %.1f %%, requests within x1.5 %.2f\n",
         ack.metric[RES_M_DELAY_P99].median_abs_pct, ack.requests_ok_share);
  assert_true(ack.metric[RES_M_DELAY_P99].median_abs_pct <= 38.0);
  assert_true(ack.requests_ok_share >= 0.9);
  assert_true(ack.stall_ok_share >= 0.9);
  /* The host's constants matter: the first host's profile on these runs. */
  res_validation other;
  validate_set("scenarios/validation.ini", sets[1].real, "qemu-10.0-tcg", &other);
  assert_true(other.metric[RES_M_TOTAL].p90_abs_pct >= 6.5);
  assert_true(other.stall_ok_share <= 0.85);
  size_t pairs, met;
  version_differences("docs/host-xeon/validation-7.2/real", "docs/host-xeon/validation-10.0/real",
                      "qemu-7.2-tcg-xeon", "qemu-10.0-tcg-xeon", &pairs, &met);
  assert_true(pairs >= 7); /* 7 of 7 pairs predicted, in 6 scenarios */
  assert_true(met >= 5);
}

/* Auto-converge measured after the replay guest's clock saw every vCPU stop
 * (docs/features.md, "The gap the guest did not see"): the CPU-bound
 * workload then loses what the throttle's share says, and the rule's
 * prediction is as good as the runs repeat. Before the fix the same
 * scenarios scored total time p90 6.0 % (10.0) and 6.6 % (7.2); a throttle
 * step a period late or a guest slowed by another share moves these. */
static void test_auto_converge_second_host(void **state) {
  (void)state;
  static const struct {
    const char *real, *profile;
    double p90;
  } sets[] = {
      {"docs/host-xeon/autoconverge-10.0/real", "qemu-10.0-tcg-xeon", 1.0},
      {"docs/host-xeon/autoconverge-7.2/real", "qemu-7.2-tcg-xeon", 2.5},
      /* the whole features set measured again afterwards (3.0 / 2.7 %) */
      {"docs/host-xeon/features-10.0-b/real", "qemu-10.0-tcg-xeon", 3.5},
  };
  for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
    res_validation v;
    validate_subset("scenarios/validation-features.ini", sets[k].real, sets[k].profile, "ac-", &v);
    print_summary(sets[k].real, &v);
    const res_metric_error *m = v.metric;
    assert_true(v.runs >= 21);
    assert_true(v.convergence_ok_share == 1.0);
    assert_true(m[RES_M_TOTAL].median_abs_pct <= 0.5);
    assert_true(m[RES_M_TOTAL].p90_abs_pct <= sets[k].p90);
    assert_true(m[RES_M_BYTES].p90_abs_pct <= sets[k].p90);
    assert_true(m[RES_M_THROTTLE].n >= 18 && m[RES_M_THROTTLE].median_abs_pct == 0.0);
    assert_true(m[RES_M_THROTTLE_LOSS].median_abs_pct <= 1.0);
    assert_true(v.syncs_exact_share >= 0.7);
  }
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validation_set),
      cmocka_unit_test(test_calibration_set),
      cmocka_unit_test(test_validation_set_qemu10),
      cmocka_unit_test(test_remeasured_sets),
      cmocka_unit_test(test_validation_set_features),
      cmocka_unit_test(test_validation_set_features_qemu10), cmocka_unit_test(test_worker_cpu),
      cmocka_unit_test(test_version_differences), cmocka_unit_test(test_xbzrle_overflow),
      cmocka_unit_test(test_layout_first_pass), cmocka_unit_test(test_compress_threads_share),
      cmocka_unit_test(test_postcopy_place), cmocka_unit_test(test_second_host),
      cmocka_unit_test(test_multifd_completion), cmocka_unit_test(test_auto_converge_second_host),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
