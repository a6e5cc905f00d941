/* test_results: result files written and read back, sim-vs-real error
 * statistics on hand-made cases, the validation report. */
#include <inttypes.h>
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

#include "mdl_schema.h"
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
    mdl_round d = {i, i * 10.0, i * 10.0 + 10, 100 * i, 4104 * 100 * (uint64_t)i, 50, 1e6, 0};
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

/* ------------------------------------------------ the schema, once */

/* A cell as text (doubles to 17 digits, so any loss shows), "" when the
 * column's value does not exist: through the schema's own get/present. */
#define CELL_TEXT(buf, x) snprintf(buf, sizeof buf, "%s", (x))
#define CELL_U64(buf, x) snprintf(buf, sizeof buf, "%" PRIu64, (uint64_t)(x))
#define CELL_DOUBLE(buf, x) snprintf(buf, sizeof buf, "%.17g", (double)(x))
#define CELL(col, type, present, get, ...)             \
  if (present) CELL_##type(cells[i], get);             \
  else cells[i][0] = '\0';                             \
  names[i++] = #col;

enum { MAX_COLS = 96 };
typedef char cell_text[1100];

static size_t summary_cells(const char *run_id, const mdl_scenario *s, const mdl_result *r,
                            cell_text *cells, const char **names) {
  size_t i = 0;
  MDL_SUMMARY_COLUMNS(CELL)
  return i;
}

static size_t round_cells(const char *run_id, const mdl_scenario *s, const mdl_result *r, const mdl_round *d,
                          cell_text *cells, const char **names) {
  size_t i = 0;
  MDL_ROUND_COLUMNS(CELL)
  return i;
}

static size_t timeline_cells(const char *run_id, const mdl_scenario *s, const mdl_result *r, const mdl_sample *m,
                             cell_text *cells, const char **names) {
  size_t i = 0;
  MDL_TIMELINE_COLUMNS(CELL)
  return i;
}
#undef CELL

#define NAME_OF(col, ...) #col,
static const char *const summary_names[] = {MDL_SUMMARY_COLUMNS(NAME_OF)};
static const char *const round_names[] = {MDL_ROUND_COLUMNS(NAME_OF)};
static const char *const timeline_names[] = {MDL_TIMELINE_COLUMNS(NAME_OF)};
#undef NAME_OF

/* The first line of a file equals the schema's names joined by commas. */
static void assert_header(const char *dir, const char *file, const char *const *names, size_t n) {
  char path[600], want[4096] = "";
  snprintf(path, sizeof path, "%s/%s", dir, file);
  char *text = slurp(path);
  assert_non_null(text);
  for (size_t i = 0; i < n; i++) {
    strcat(want, names[i]);
    strcat(want, i + 1 < n ? "," : "\n");
  }
  if (strncmp(text, want, strlen(want)) != 0) fail_msg("%s header differs from mdl_schema.h:\n%.2000s", file, text);
  free(text);
}

/* Every field of a scenario and a result (rounds, timeline) filled with a
 * distinct value none of the defaults has; the second run takes the
 * other branches (switch by time, not converged, values that do not
 * exist). */
static void fill_run(int k, mdl_scenario *s, mdl_result *r) {
  mdl_scenario_defaults(s);
  mdl_result_init(r, k == 1 ? "kvmreplay" : "sim");
  snprintf(s->name, sizeof s->name, "rt, run %d", k);
  snprintf(s->workload, sizeof s->workload, "uniform:wss=%d,rate=5", 10 + k);
  s->pages = 12345 + (uint64_t)k;
  s->page_size = 8192;
  s->algo = MDL_ALGO_HYBRID;
  snprintf(s->profile, sizeof s->profile, "profile-%d", k);
  s->max_bandwidth = 12345678.5 + k;
  s->downtime_limit_ns = 123456789;
  s->link_bandwidth = 987654321.25;
  s->latency_ns = 2500001;
  s->postcopy_bandwidth = 55555555.5;
  s->switch_policy = k == 1 ? MDL_SWITCH_SYNCS : MDL_SWITCH_TIME;
  s->switch_after = 7;
  s->switch_time_ns = 3250000001;
  s->timeout_ns = 77000000003;
  s->trace_offset_ns = 1500000007;
  s->seed = 0xdeadbeef12345ull;
  s->auto_converge = 1;
  s->cpu_throttle_initial = 31;
  s->cpu_throttle_increment = 7;
  s->cpu_throttle_tailslow = 1;
  s->max_cpu_throttle = 88;
  s->throttle_trigger_threshold = 61;
  r->cpu_throttle_pct = 65;
  r->guest_throttle_ms = 432.25;
  s->xbzrle = 1;
  s->xbzrle_cache_size = 128ull << 20;
  s->postcopy_preempt = 1;
  r->xbzrle_pages = 7001;
  r->xbzrle_bytes = 7002;
  r->xbzrle_cache_miss = 7003;
  r->xbzrle_overflow = 7004;
  s->multifd = 1;
  s->multifd_channels = 5;
  snprintf(s->multifd_compression, sizeof s->multifd_compression, k == 1 ? "zlib" : "zstd");
  s->multifd_zlib_level = 6;
  s->multifd_zstd_level = 13;
  r->multifd_bytes = 8001;
  r->multifd_packets = 8002;
  s->compress = 1; /* the writer does not validate: every column shows */
  s->compress_threads = 3;
  s->compress_level = 7;
  s->decompress_threads = 4;
  r->compression_pages = 9001;
  r->compression_busy = 9002;
  r->compression_busy_rate = 0.375;
  r->compressed_size = 9003;
  r->compression_rate = 2.5;
  r->status = k == 1 ? MDL_STATUS_COMPLETED : MDL_STATUS_NOT_CONVERGED;
  snprintf(r->failure, sizeof r->failure, "why, \"quoted\" %d", k);
  r->total_time_ms = 1111.125;
  r->downtime_ms = 222.5; /* over the 123.456789 ms limit */
  r->setup_time_ms = 3.25;
  r->expected_downtime_ms = 44.75;
  r->guest_stall_ms = 55.5;
  r->delayed_share = k == 1 ? 0.125 : -1;
  r->delay_p50_ms = k == 1 ? 6.5 : -1;
  r->delay_p99_ms = k == 1 ? 77.25 : -1;
  r->transferred_bytes = 1000000001;
  r->precopy_bytes = 1000000002;
  r->postcopy_bytes = 1000000003;
  r->normal_pages = 3003;
  r->zero_pages = 4004;
  r->dirty_sync_count = 9;
  r->postcopy_requests = 606;
  r->switch_time_ms = k == 1 ? 888.5 : -1;
  snprintf(r->integrity, sizeof r->integrity, "%d differing pages", k);
  snprintf(r->accel, sizeof r->accel, "tcg");
  snprintf(r->qemu_version, sizeof r->qemu_version, "7.2.%d", k);
  snprintf(r->host_cpu, sizeof r->host_cpu, "Model, with a comma %d", k); /* quoted in the CSV */
  r->replay_lag_ms = k == 1 ? 1.75 : -1;
  r->replay_on_time = k == 1 ? 0.875 : -1;
  r->cpu_workers_ms = 1234.5;
  r->cpu_vcpu_ms = k == 1 ? 2345.25 : -1;
  r->cpu_migration_ms = k == 1 ? 345.75 : -1;
  r->cpu_source_ms = k == 1 ? 4567.5 : -1;
  r->cpu_dest_ms = k == 1 ? 1122.125 : -1;
  r->cpu_wait_ms = k == 1 ? 9876.5 : -1;
  for (uint32_t i = 1; i <= 3; i++) {
    mdl_round d;
    memset(&d, 0, sizeof d);
    d = (mdl_round){i, i * 10.5, i * 10.5 + 7.25, 100 * i + 1, 4104 * 100 * (uint64_t)i + 3, 50 + i, 1e6 + i + 0.5, 20 + 10 * i};
    assert_int_equal(mdl_result_add_round(r, &d), 0);
  }
  for (uint32_t i = 1; i <= 2; i++) {
    mdl_sample m;
    memset(&m, 0, sizeof m);
    m.t_ms = 100.5 * i;
    m.transferred_bytes = 7777 * i;
    m.dirty_pages = 33 * i;
    m.bandwidth_est = 1.25e6 * i;
    m.threshold_bytes = 3.5e5 * i;
    m.dirty_sync_count = 2 + i;
    snprintf(m.phase, sizeof m.phase, i == 1 ? "precopy" : "postcopy");
    assert_int_equal(mdl_result_add_sample(r, &m), 0);
  }
}

/* What the writer writes the loader reads back, every field of every
 * column; a column the schema gains is covered without editing this test
 * (it fails until fill_run gives the new field a non-default value). */
static void test_schema_roundtrip(void **state) {
  (void)state;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/schema", tmpdir);
  mdl_scenario s[2];
  mdl_result r[2];
  const char *ids[2] = {"rt#1", "rt#2"};
  for (int k = 0; k < 2; k++) {
    fill_run(k + 1, &s[k], &r[k]);
    assert_int_equal(res_write_run(dir, ids[k], &s[k], &r[k]), 0);
  }
  assert_header(dir, "summary.csv", summary_names, sizeof summary_names / sizeof *summary_names);
  assert_header(dir, "rounds.csv", round_names, sizeof round_names / sizeof *round_names);
  assert_header(dir, "timeline.csv", timeline_names, sizeof timeline_names / sizeof *timeline_names);

  res_run_set set;
  assert_int_equal(res_runs_load(dir, &set), 0);
  assert_int_equal(set.count, 2);
  static cell_text want[MAX_COLS], got[MAX_COLS], dflt[MAX_COLS];
  const char *names[MAX_COLS];
  mdl_scenario ds;
  mdl_result dr;
  mdl_scenario_defaults(&ds);
  mdl_result_init(&dr, "");
  size_t n = summary_cells("", &ds, &dr, dflt, names);
  assert_true(n <= MAX_COLS);
  int differs[MAX_COLS] = {0};
  for (int k = 0; k < 2; k++) {
    const res_loaded *L = &set.runs[k];
    assert_string_equal(L->run_id, ids[k]);
    /* Column by column, through the schema. */
    assert_int_equal(summary_cells(ids[k], &s[k], &r[k], want, names), n);
    summary_cells(L->run_id, &L->scenario, &L->result, got, names);
    for (size_t i = 0; i < n; i++) {
      if (strcmp(want[i], got[i]) != 0) fail_msg("run %d, column %s: wrote %s, loaded %s", k + 1, names[i], want[i], got[i]);
      differs[i] |= strcmp(want[i], dflt[i]) != 0;
    }
    /* Field by field: the result as a whole (the loader starts from
     * mdl_result_init, as fill_run does), then the scenario's columns. */
    mdl_result a = r[k], b = L->result;
    assert_int_equal(b.round_count, 3);
    assert_int_equal(b.sample_count, 2);
    for (size_t i = 0; i < 3; i++) {
      const mdl_round *x = &a.rounds[i], *y = &b.rounds[i];
      assert_true(x->round == y->round && x->start_ms == y->start_ms && x->end_ms == y->end_ms &&
                  x->pages_sent == y->pages_sent && x->bytes_sent == y->bytes_sent &&
                  x->dirty_pages_at_sync == y->dirty_pages_at_sync && x->bandwidth_est == y->bandwidth_est);
      assert_int_equal(round_cells(ids[k], &s[k], &r[k], x, want, names),
                       round_cells(L->run_id, &L->scenario, &L->result, y, got, names));
      for (size_t j = 0; j < sizeof round_names / sizeof *round_names; j++) assert_string_equal(want[j], got[j]);
    }
    for (size_t i = 0; i < 2; i++) {
      const mdl_sample *x = &a.samples[i], *y = &b.samples[i];
      assert_true(x->t_ms == y->t_ms && x->transferred_bytes == y->transferred_bytes &&
                  x->dirty_pages == y->dirty_pages && x->bandwidth_est == y->bandwidth_est &&
                  x->threshold_bytes == y->threshold_bytes && x->dirty_sync_count == y->dirty_sync_count);
      assert_string_equal(x->phase, y->phase);
      timeline_cells(ids[k], &s[k], &r[k], x, want, names);
      timeline_cells(L->run_id, &L->scenario, &L->result, y, got, names);
      for (size_t j = 0; j < sizeof timeline_names / sizeof *timeline_names; j++) assert_string_equal(want[j], got[j]);
    }
    if (k == 1) a.downtime_ms = -1; /* not completed: the cell is empty */
    if (!strcmp(a.source, "kvmreplay")) a.multifd_packets = 0; /* simulator only: empty for real runs */
    a.rounds = b.rounds = NULL;
    a.samples = b.samples = NULL;
    a.round_cap = b.round_cap = a.sample_cap = b.sample_cap = 0;
    if (memcmp(&a, &b, sizeof a) != 0) fail_msg("run %d: a field of mdl_result did not come back", k + 1);
    const mdl_scenario *x = &s[k], *y = &L->scenario;
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->workload, y->workload);
    assert_string_equal(x->profile, y->profile);
    assert_true(x->pages == y->pages && x->page_size == y->page_size && x->algo == y->algo &&
                x->max_bandwidth == y->max_bandwidth && x->downtime_limit_ns == y->downtime_limit_ns &&
                x->link_bandwidth == y->link_bandwidth && x->latency_ns == y->latency_ns &&
                x->postcopy_bandwidth == y->postcopy_bandwidth && x->switch_policy == y->switch_policy &&
                x->timeout_ns == y->timeout_ns && x->trace_offset_ns == y->trace_offset_ns && x->seed == y->seed);
    if (k == 0) assert_int_equal(y->switch_after, 7);
    else assert_int_equal(y->switch_time_ns, 3250000001);
  }
  for (size_t i = 0; i < n; i++)
    if (!differs[i]) fail_msg("column %s: fill_run leaves it at its default; give it a distinct value", names[i]);
  res_runs_free(&set);
  for (int k = 0; k < 2; k++) mdl_result_free(&r[k]);
}

/* docs/results.md carries the schema's tables (`migsim run --columns`). */
static void test_docs_columns(void **state) {
  (void)state;
  char *md = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&md, &len);
  assert_non_null(f);
  mdl_schema_md(f);
  fclose(f);
  assert_docs_carry(md, (const char *const[]){"docs/results.md", NULL}, "migsim run --columns");
}

/* The number after `prefix` (which must be in csv, up to the last
 * column's comma) up to the end of its row. */
static double csv_last_field(const char *csv, const char *prefix) {
  const char *at = strstr(csv, prefix);
  assert_non_null(at);
  char *end;
  double x = strtod(at + strlen(prefix), &end);
  assert_true(*end == '\n');
  return x;
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
  /* Run to run, each completed real run against the median of its
   * scenario's other completed runs: totals 1000 vs 854.5, 909.1 vs 900,
   * 800 vs 954.5 | 1904.8 vs 1666.7, 1666.7 vs 1904.8 (the not-converged
   * run is no reference): 14.5, 1.0, 19.3 | 12.5, 14.3 %, median 14.3. */
  assert_int_equal(v.metric[RES_M_TOTAL].floor_n, 5);
  assert_true(fabs(v.metric[RES_M_TOTAL].floor_median_pct - 100.0 / 7) < 1e-9);
  /* downtimes 10 vs 11.5, 13 vs 10, 10 vs 11.5 within 5 ms; 125 vs 200 and
   * 200 vs 125 outside 20 % */
  assert_true(fabs(v.downtime_ok_floor - 3.0 / 5) < 1e-12);
  assert_true(isnan(v.stall_ok_floor));
  /* Best possible, one value per scenario knowing the runs: totals
   * {1000, 909.1, 800} and {1904.8, 1666.7} meet pairwise at relative
   * errors 4.76 % (909.1 and 1000), 6.38 % (800 and 909.1), 11.1 % (800
   * and 1000) and 6.67 %. The median of 5 errors rests on the 3rd
   * smallest: 3 runs within 4.76 % (the pair, and any run of the other
   * scenario); the p90 on the 4th: both pairs, 6.67 %. */
  assert_true(fabs(v.metric[RES_M_TOTAL].best_median_pct - 100.0 * (1000 - 1000 / 1.1) / (1000 + 1000 / 1.1)) < 1e-9);
  assert_true(fabs(v.metric[RES_M_TOTAL].best_p90_pct - 100.0 * (2000 / 1.05 - 2000 / 1.2) / (2000 / 1.05 + 2000 / 1.2)) <
              1e-9);
  assert_true(v.metric[RES_M_TOTAL].best_median_pct <= v.metric[RES_M_TOTAL].median_abs_pct);
  assert_true(fabs(v.metric[RES_M_BYTES].best_median_pct) < 1e-12);
  /* Downtimes 10, 13, 10 all within bounds of one value, 125 and 200 not
   * (or the not-converged run's verdict instead): 4 of 6; absolute: two
   * runs of 10 ms and any other, 0 ms; verdicts 3 + 2 of 6. */
  assert_true(fabs(v.downtime_ok_best - 4.0 / 6) < 1e-12);
  assert_true(fabs(v.metric[RES_M_DOWNTIME].best_median_abs) < 1e-12);
  assert_true(fabs(v.convergence_ok_best - 5.0 / 6) < 1e-12);
  assert_true(isnan(v.requests_ok_best) && isnan(v.stall_ok_best));

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
  assert_non_null(strstr(text, "| total_time_ms | 10.0% | 23.0% |  |  | 5 | 14.3% |"));
  /* Two scenarios, 3 of 3 and 1 of 3 within bounds: drawing both twice
   * gives 100 % or 33 % (a quarter of the draws each), one of each 67 %. */
  assert_non_null(strstr(text, "| 66.7% of 6 runs | 33–100% | ≥ 85% | 60% | 66.7% |"));
  assert_non_null(strstr(text, "| total_time_ms median error | 10.0% | 10.0–12.5% | ≤ 2% | 14.3% | 4.8% |"));
  assert_non_null(strstr(text, "| downtime median abs error | 3.0 ms | 0.0–62.5 ms | ≤ 5 ms | | 0.0 ms |"));
  assert_true(fabs(v.downtime_ok_lo - 1.0 / 3) < 1e-12 && v.downtime_ok_hi == 1.0);
  assert_non_null(strstr(text, "| 3.0 ms |"));
  assert_non_null(strstr(text, "a note"));
  /* checks.csv: the same targets as --check, one row each (no post-copy
   * run: no requests or stall row). */
  snprintf(path, sizeof path, "%s/checks.csv", dir);
  char *csv = slurp(path);
  assert_non_null(csv);
  assert_non_null(strstr(csv, "check,value,target,target_is,met,real_vs_real,interval_lo,interval_hi,best_possible\n"));
  /* Errors by scenario {0, 10, 25} and {5, 20} %: drawing the first twice,
   * both, or the second twice gives medians 10, 10, 12.5 and p90s 25, 23,
   * 20; absolute downtime errors {0, 3, 0} and {25, 100} ms give medians
   * 0, 3, 62.5. */
  /* The last column, best possible: the figures checked above. */
  assert_true(fabs(csv_last_field(csv, "\ntotal_time_ms median error %,10.00000000000001,2,max,0,14.28571428571427,"
                                       "10.00000000000001,12.500000000000004,") -
                   v.metric[RES_M_TOTAL].best_median_pct) < 1e-9);
  assert_true(fabs(csv_last_field(csv, "\ntotal_time_ms p90 error %,23,5,max,0,17.40909090909091,19.999999999999996,25,") -
                   v.metric[RES_M_TOTAL].best_p90_pct) < 1e-9);
  assert_true(fabs(csv_last_field(csv, "\ndowntime median abs error ms,3,5,max,1,,0,62.5,")) < 1e-12);
  assert_true(fabs(csv_last_field(csv, "\nconvergence verdict right (share),0.8333333333333334,1,min,0,,,,") - 5.0 / 6) <
              1e-12);
  assert_non_null(strstr(csv, "\ntransferred_bytes median error %,0,0.5,max,1,"));
  assert_true(fabs(csv_last_field(csv, "\n\"downtime within max(20%, 5 ms) (share)\",0.6666666666666666,0.85,min,0,0.6,"
                                       "0.3333333333333333,1,") -
                   4.0 / 6) < 1e-12);
  assert_null(strstr(csv, "postcopy_requests"));
  int rows = 0;
  for (const char *q = csv; *q; q++) rows += *q == '\n';
  assert_int_equal(rows, 1 + 7);
  free(csv);
  assert_int_equal(res_validate_check(&v, NULL), 4); /* the rows with met 0 */
  mdl_result_free(&sim1);
  mdl_result_free(&sim2);
  for (int i = 0; i < 6; i++) mdl_result_free(&real[i]);
}

/* The best possible scores: the error bound by hand on small clusters, and
 * the requests rule's edge (a value within x1.5 of both 20 and 45 exists,
 * 30; of 20 and 46 none). */
static void test_best_possible(void **state) {
  (void)state;
  const double x[] = {100, 110, 130, 50, 50};
  const size_t first[] = {0, 3, 5};
  /* Relative: 100 and 110 meet at 10/210 = 4.76 %, 110 and 130 at 8.33 %,
   * 100 and 130 at 13.0 %; the two 50s at 0. */
  assert_true(fabs(res_best_error(x, first, 2, 2, 1)) < 1e-12);
  assert_true(fabs(res_best_error(x, first, 2, 4, 1) - 1000.0 / 210) < 1e-9);
  assert_true(fabs(res_best_error(x, first, 2, 5, 1) - 3000.0 / 230) < 1e-9);
  /* Absolute: half the distances, 5 and 15 ms. */
  assert_true(fabs(res_best_error(x, first, 2, 4, 0) - 5) < 1e-12);
  assert_true(fabs(res_best_error(x, first, 2, 5, 0) - 15) < 1e-12);
  assert_true(res_best_error(x, first, 2, 0, 1) == 0);
  assert_true(isinf(res_best_error(x, first, 2, 6, 1)));

  mdl_scenario s[2];
  mdl_result sim[2], real[4];
  const double req[4] = {20, 45, 20, 46};
  for (int i = 0; i < 2; i++) {
    mdl_scenario_defaults(&s[i]);
    snprintf(s[i].name, sizeof s[i].name, "p%d", i);
    assert_int_equal(mdl_scenario_set(&s[i], "algo", "postcopy"), 0);
    make_result(&sim[i], "sim", 1000, 1, 1000000, 2, MDL_STATUS_COMPLETED);
    sim[i].postcopy_requests = 30;
    sim[i].postcopy_bytes = 1;
  }
  for (int k = 0; k < 4; k++) {
    make_result(&real[k], "kvmreplay", 1000, 1, 1000000, 2, MDL_STATUS_COMPLETED);
    real[k].postcopy_requests = (uint64_t)req[k];
    real[k].postcopy_bytes = 1;
    real[k].guest_stall_ms = 100 + 200 * (k % 2); /* 100 and 300: one value passes at most one */
  }
  const mdl_result *r0[2] = {&real[0], &real[1]}, *r1[2] = {&real[2], &real[3]};
  res_case cases[2] = {{&s[0], &sim[0], r0, 2}, {&s[1], &sim[1], r1, 2}};
  res_validation v;
  assert_int_equal(res_validate(cases, 2, &v), 0);
  assert_int_equal(v.requests_runs, 4);
  assert_true(fabs(v.requests_ok_share - 3.0 / 4) < 1e-12); /* 30 against 46 is over x1.5 */
  assert_true(fabs(v.requests_ok_best - 3.0 / 4) < 1e-12);
  /* stall: 100 +- 50 and 300 +- 75 do not meet */
  assert_true(fabs(v.stall_ok_best - 2.0 / 4) < 1e-12);
  for (int i = 0; i < 2; i++) mdl_result_free(&sim[i]);
  for (int k = 0; k < 4; k++) mdl_result_free(&real[k]);
}

/* The interval resamples whole scenarios: scenarios that pass or miss
 * all their runs spread a share's interval, scenarios that each pass half
 * their runs do not; quantiles the same way; the same on every call. */
static void test_cluster_interval(void **state) {
  (void)state;
  enum { N = 20, RUNS = 3 };
  double v[N * RUNS];
  size_t first[N + 1];
  double lo, hi, lo2, hi2;
  for (size_t i = 0; i <= N; i++) first[i] = i * RUNS;
  for (size_t i = 0; i < N * RUNS; i++) v[i] = (double)((i / RUNS) % 2); /* all or nothing, 50 % pooled */
  res_cluster_interval(v, first, N, -1, &lo, &hi);
  /* A binomial over 20 scenarios: about 0.5 +- 2 * 0.11. */
  assert_true(lo > 0.2 && lo < 0.4);
  assert_true(hi > 0.6 && hi < 0.8);
  res_cluster_interval(v, first, N, -1, &lo2, &hi2);
  assert_true(lo == lo2 && hi == hi2);
  for (size_t i = 0; i < N * RUNS; i++) v[i] = (double)(i % 2); /* every scenario mixed alike */
  for (size_t i = 0; i <= N; i++) first[i] = i * 2;   /* two runs each: one pass, one miss */
  res_cluster_interval(v, first, N, -1, &lo, &hi);
  assert_true(lo == 0.5 && hi == 0.5);
  /* Errors 1..N in scenario order, one run each: the median's interval
   * holds the median (10.5) and is narrower than the range. */
  for (size_t i = 0; i < N; i++) v[i] = (double)(i + 1), first[i] = i;
  first[N] = N;
  res_cluster_interval(v, first, N, 0.5, &lo, &hi);
  assert_true(lo < 10.5 && hi > 10.5 && lo > 4 && hi < 17);
  res_cluster_interval(v, first, N, 0.9, &lo2, &hi2);
  assert_true(lo2 > lo && hi2 > hi && hi2 <= 20);
  /* Scenarios without values are drawn but add nothing; none at all: NAN. */
  for (size_t i = 0; i <= N; i++) first[i] = i < 5 ? 0 : i - 5; /* the first 5 empty */
  for (size_t i = 0; i < N; i++) v[i] = 1;
  res_cluster_interval(v, first, N, -1, &lo, &hi);
  assert_true(lo == 1.0 && hi == 1.0);
  for (size_t i = 0; i <= N; i++) first[i] = 0;
  res_cluster_interval(v, first, N, -1, &lo, &hi);
  assert_true(isnan(lo) && isnan(hi));
}

/* A folder of a migsim before timeline.csv had dirty_pages_rate and
 * throttle_pct: refused for --append ("other columns"); after
 * scripts/upgrade-results.py its old rows have the new cells empty (a rate
 * loads as -1, not measured), its other cells as they were, and runs can
 * be added again. */
static void test_upgrade_old_timeline(void **state) {
  (void)state;
  if (system("command -v python3 >/dev/null 2>&1") != 0) {
    print_message("skipping: no python3 in PATH\n");
    skip();
  }
  char err[2048], dir[512], path[700], cmd[2048];
  snprintf(dir, sizeof dir, "%s/oldtl", tmpdir);
  assert_int_equal(migsim(err, sizeof err,
                          "run --workload uniform:wss=4096,rate=2000,nonzero=1 --memory 32MiB --max-bandwidth 8MiB/s "
                          "--timeline --quiet --out %s",
                          dir),
                   0);
  /* Make it old: drop the two columns, and the schema line it had. */
  snprintf(path, sizeof path, "%s/timeline.csv", dir);
  char *text = slurp(path);
  assert_non_null(text);
  size_t rows = 0;
  for (char *line = text; *line; rows++) {
    char *nl = strchr(line, '\n');
    assert_non_null(nl);
    char *cut = nl;
    for (int k = 0; k < 2; k++) { /* the last two cells */
      cut--;
      while (*cut != ',') cut--;
    }
    memmove(cut, nl, strlen(nl) + 1);
    line = cut + 1;
  }
  assert_true(rows > 10);
  assert_non_null(strstr(text, ",dirty_sync_count,phase\n"));
  write_file(path, text);
  free(text);
  snprintf(path, sizeof path, "%s/migsim-folder.txt", dir);
  char *manifest = slurp(path);
  assert_non_null(manifest);
  char *schema = strstr(manifest, "schema ");
  assert_non_null(schema);
  memcpy(schema + 7, "0123456789abcdef", 16);
  write_file(path, manifest);
  free(manifest);
  const char *more = "run --workload idle --memory 32MiB --name later --append --quiet --out %s";
  assert_int_equal(migsim(err, sizeof err, more, dir), 2);
  assert_non_null(strstr(err, "other columns"));
  assert_non_null(strstr(err, "scripts/upgrade-results.py")); /* the way out that keeps the runs */

  snprintf(cmd, sizeof cmd, "python3 %s/scripts/upgrade-results.py %s --migsim %s >/dev/null 2>&1", MIGSIM_SOURCE_DIR,
           dir, MIGSIM_BIN);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/timeline.csv", dir);
  text = slurp(path);
  assert_non_null(text);
  assert_non_null(strstr(text, ",dirty_sync_count,phase,dirty_pages_rate,throttle_pct\n"));
  assert_non_null(strstr(text, ",precopy,,\n")); /* an old row: both cells empty */
  free(text);
  assert_int_equal(migsim(err, sizeof err, more, dir), 0);
  res_run_set set;
  assert_int_equal(res_runs_load(dir, &set), 0);
  assert_int_equal(set.count, 2);
  const mdl_result *r = &set.runs[0].result;
  assert_true(r->sample_count > 10);
  for (size_t i = 0; i < r->sample_count; i++) assert_true(r->samples[i].dirty_pages_rate == -1);
  assert_true(r->samples[r->sample_count - 1].transferred_bytes > 0);
  res_runs_free(&set);
}

/* scripts/qemu-fault-timeline.py's output on tests/fixtures/`fixture`
 * (the caller frees it); the test is skipped without python3. */
static char *fault_timeline(const char *fixture) {
  if (system("command -v python3 >/dev/null 2>&1") != 0) {
    print_message("skipping: no python3 in PATH\n");
    skip();
  }
  char out[512], cmd[2048];
  snprintf(out, sizeof out, "%s/%s.txt", tmpdir, fixture);
  snprintf(cmd, sizeof cmd, "python3 %s/scripts/qemu-fault-timeline.py %s/tests/fixtures/%s > %s", MIGSIM_SOURCE_DIR,
           MIGSIM_SOURCE_DIR, fixture, out);
  assert_int_equal(system(cmd), 0);
  char *text = slurp(out);
  assert_non_null(text);
  print_message("%s", text);
  return text;
}

/* scripts/qemu-fault-timeline.py splits a rate-limited post-copy's page
 * requests by where they fall: as a window's burst of placements begins,
 * later in it, or in the sleep between (the measurement behind profile
 * key fault_burst_ns, docs/postcopy-faults.md). The fixture has three
 * bursts after a first one, each with a request at its start queued
 * 1.3 ms later, one 2 ms in queued 0.05 ms later, and one in the sleep
 * queued 0.1 ms later; a page placed alone in the sleep is no burst. */
static void test_fault_timeline_bursts(void **state) {
  (void)state;
  char *text = fault_timeline("fault-timeline");
  assert_non_null(strstr(text, "requests with a full timeline: 9 of 9"));
  assert_non_null(strstr(text, "gaps over 20 ms): 3\n"));
  static const struct {
    const char *label;
    double median;
  } rows[] = {{"as a burst begins (first 0.1 ms)", 1.30}, {"later in a burst", 0.05}, {"in the sleep between", 0.10}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    const char *at = strstr(text, rows[i].label);
    assert_non_null(at);
    double median = -1;
    int n = 0;
    assert_int_equal(sscanf(strstr(at, "median"), "median %lf ms p90 %*f requests %d", &median, &n), 2);
    assert_true(fabs(median - rows[i].median) < 0.005);
    assert_int_equal(n, 3);
  }
  free(text);
}

/* The same script's held requests (docs/postcopy-faults.md, "Requests
 * held by a delayed acknowledgement"), on a synthetic trace: five
 * requests, the 2nd and the 5th held 43.00 and 42.01 ms on the way to the
 * source, 43.08 and 42.05 ms after the request before them got there. */
static void test_fault_timeline_held(void **state) {
  (void)state;
  char *text = fault_timeline("fault-timeline-held");
  const char *at = strstr(text, "requests held 20 ms or more on the way to the source: ");
  assert_non_null(at);
  int n = 0;
  double wait = -1, timer = -1;
  assert_int_equal(sscanf(at, "requests held 20 ms or more on the way to the source: %d, median %lf ms; from the "
                              "request before reaching the source to this one: median %lf ms",
                          &n, &wait, &timer),
                   3);
  assert_int_equal(n, 2);
  assert_true(fabs(wait - 42.505) < 0.006);
  assert_true(fabs(timer - 42.565) < 0.006);
  free(text);
}

/* scripts/trace-fault-wake.py --from derives a host's fault wake from
 * traced runs (docs/postcopy-faults.md, "Tracing a host's fault wake").
 * The fixture: two idle runs whose guests lost 0.8 ms over 4 requests and
 * 0.05 ms over 1 beyond the traced paths (pooled per request 0.17 ms; the
 * runs' median or mean would be 0.125), a busy run stalling 1 ms a request
 * with paths 0.1, 0.1, 0.1, 0.2 and 3 ms (its median path 0.1 ms leaves
 * 1 - 0.17 - 0.1 = 0.73 ms; the mean path would leave 0.13), and two
 * rate-limited runs whose requests made as a burst began were queued after
 * 1.3 ms (three, the fixture above) and 0.05 ms (three): the key is the
 * slow mode's 1.3 ms, where the median or mean of all six is 0.675.
 * Bad input is refused with a one-line error and exit 2. */
static void test_trace_fault_wake(void **state) {
  (void)state;
  char dir[512], cmd[2048], path[700];
  snprintf(dir, sizeof dir, "%s/fault-wake", tmpdir);
  snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s/tests/fixtures/fault-wake %s", dir, MIGSIM_SOURCE_DIR, dir);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "python3 %s/scripts/trace-fault-wake.py --from %s > %s/out.txt 2>&1", MIGSIM_SOURCE_DIR,
           dir, dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/fault-wake.sets", dir);
  char *sets = slurp(path);
  assert_non_null(sets);
  assert_string_equal(sets, "fault_resume_ns=170000\nfault_resume_busy_ns=730000\nfault_burst_ns=1300000\n");
  free(sets);
  snprintf(path, sizeof path, "%s/out.txt", dir);
  assert_file_has(path, "migsim calibrate --set fault_resume_ns=170000 --set fault_resume_busy_ns=730000 "
                        "--set fault_burst_ns=1300000\n");
  /* Each key's interval over resampled runs: the idle wake is 0.2, 0.17
   * or 0.05 ms as the draw holds idle-a twice, both runs or idle-b twice
   * (a quarter of draws each way), so the busy wake spans 0.70-0.85 ms. */
  assert_file_has(path, "fault_resume_busy_ns = 730000  (95 % interval, runs resampled: 700000-850000)\n");
  snprintf(path, sizeof path, "%s/fault-wake.csv", dir);
  assert_file_has(path, "\nbusy-a.1,busy,busy-a,10.0.2,5,5,5.0000,0.1000,1.0000,0.3000,0,,Test CPU\n");
  /* Bad input: one line on stderr naming what was wrong, exit 2. */
  char scen[600];
  snprintf(scen, sizeof scen, "%s/bad.ini", tmpdir);
  write_file(scen, "[defaults]\nmemory = 64MiB\n\n[fast-run]\nalgo = postcopy\nworkload = idle\n");
  char only_burst[600];
  snprintf(only_burst, sizeof only_burst, "%s/burst-only.ini", tmpdir);
  write_file(only_burst, "[burst-x]\nalgo = postcopy\nworkload = idle\n");
  /* a kept run folder that lost its guest's figures */
  snprintf(cmd, sizeof cmd,
           "mkdir -p %s/fw-broken/traces/idle-x.1 && "
           "cp %s/tests/fixtures/fault-wake/traces/idle-a.1/*.log %s/fw-broken/traces/idle-x.1/",
           tmpdir, MIGSIM_SOURCE_DIR, tmpdir);
  assert_int_equal(system(cmd), 0);
  static const char *const bad[][2] = {
      {"--from %s/nowhere", "/nowhere/traces: no traced runs there"},
      {"--out %s/fault-wake", "is not empty: give a new folder"},
      {"--out %s/fw-bad --scenarios %s/bad.ini", "scenario [fast-run]: its name must start with idle-, busy- or burst-"},
      {"--out %s/fw-bad2 --repeat 0", "--repeat '0': a number from 1 to 99"},
      {"--from %s/fw-broken", "/fw-broken/traces/idle-x.1: not a traced run (FileNotFoundError"},
      {"--out %s/fw-bad3 --scenarios %s/burst-only.ini", "burst-only.ini has no idle-* scenario"},
      {"--repeat 2", "--out DIR is required (or --from DIR)"},
      {"--out %s/fw-bad4 --qemuu 7.2", "unknown option '--qemuu' (try --help)"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    char args[1400];
    snprintf(args, sizeof args, bad[k][0], tmpdir, tmpdir);
    snprintf(cmd, sizeof cmd, "MIGSIM=%s python3 %s/scripts/trace-fault-wake.py %s 2>%s/err.txt >/dev/null", MIGSIM_BIN,
             MIGSIM_SOURCE_DIR, args, tmpdir);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    snprintf(path, sizeof path, "%s/err.txt", tmpdir);
    char *err = slurp(path);
    assert_non_null(err);
    print_message("%s", err);
    assert_non_null(strstr(err, bad[k][1]));
    assert_non_null(strchr(err, '\n'));
    assert_null(strchr(strchr(err, '\n') + 1, '\n')); /* one line */
    free(err);
  }
  static const char *const unwritten[] = {"fw-bad", "fw-bad2", "fw-bad3", "fw-bad4"};
  for (size_t k = 0; k < sizeof unwritten / sizeof unwritten[0]; k++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, unwritten[k]);
    assert_int_not_equal(access(path, F_OK), 0); /* refused before anything is written */
  }
}

/* upgrade-results.py --host fills the host_cpu cells of real runs that
 * record none (docs/hosts.md), quoting a name with a comma, and leaves
 * other rows' cells alone; a bad --host changes nothing. */
static void test_upgrade_host(void **state) {
  (void)state;
  if (system("command -v python3 >/dev/null 2>&1") != 0) {
    print_message("skipping: no python3 in PATH\n");
    skip();
  }
  char dir[512], path[700], cmd[2048];
  snprintf(dir, sizeof dir, "%s/nohost", tmpdir);
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  /* the committed runs, with their machine forgotten except in one row */
  snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s/docs/calibration/real %s && sed -i '/^cal-hot-48M#1,/!s/,AMD EPYC,/,,/' %s",
           dir, MIGSIM_SOURCE_DIR, dir, path);
  assert_int_equal(system(cmd), 0);
  char *before = slurp(path);
  assert_non_null(before);
  assert_non_null(strstr(before, ",AMD EPYC,"));
  assert_null(strstr(strstr(before, ",AMD EPYC,") + 1, ",AMD EPYC,")); /* one row keeps it */
  const char *bad[] = {"''", "'a\"b'", NULL};
  for (size_t i = 0; bad[i]; i++) {
    snprintf(cmd, sizeof cmd, "python3 %s/scripts/upgrade-results.py %s --migsim %s --host %s >/dev/null 2>&1",
             MIGSIM_SOURCE_DIR, dir, MIGSIM_BIN, bad[i]);
    assert_int_equal(WEXITSTATUS(system(cmd)), 2);
    char *after = slurp(path);
    assert_string_equal(after, before);
    free(after);
  }
  snprintf(cmd, sizeof cmd, "python3 %s/scripts/upgrade-results.py %s --migsim %s --host 'Some CPU, 2 cores' >/dev/null",
           MIGSIM_SOURCE_DIR, dir, MIGSIM_BIN);
  assert_int_equal(system(cmd), 0);
  res_run_set set;
  assert_int_equal(res_runs_load(dir, &set), 0);
  assert_int_equal(set.count, 34);
  size_t kept = 0;
  for (size_t i = 0; i < set.count; i++) {
    const mdl_result *r = &set.runs[i].result;
    if (!strcmp(r->host_cpu, "AMD EPYC")) kept++;
    else assert_string_equal(r->host_cpu, "Some CPU, 2 cores");
  }
  assert_int_equal(kept, 1);
  res_runs_free(&set);
  free(before);
}

/* Hand-edited or damaged result files: every defect is an error naming the
 * file and line, never a crash or a silent 0. */
static void load_expect(const char *dir, const char *summary, const char *rounds, const char *want) {
  char path[700];
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  write_file(path, summary);
  snprintf(path, sizeof path, "%s/rounds.csv", dir);
  if (rounds) write_file(path, rounds);
  else unlink(path);
  res_run_set set;
  int rc = res_runs_load(dir, &set);
  if (!want) {
    assert_int_equal(rc, 0);
    assert_int_equal(set.count, 1);
    assert_string_equal(set.runs[0].run_id, "A#1");
    assert_true(set.runs[0].result.total_time_ms == 12.5);
    res_runs_free(&set);
    return;
  }
  assert_true(rc < 0);
  print_message("%s\n", sim_error_message());
  assert_non_null(strstr(sim_error_message(), want));
}

static void test_load_malformed(void **state) {
  (void)state;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/malformed", tmpdir);
  mkdir(dir, 0755);
  const char *head = "run_id,name,total_time_ms,downtime_ms,status\n";
  char text[512];
  snprintf(text, sizeof text, "%sA#1,A,12.5,3,completed\n", head);
  load_expect(dir, text, NULL, NULL);
  /* empty cells past the header are dropped; a row cut short is refused */
  snprintf(text, sizeof text, "%sA#1,A,12.5\n", head);
  load_expect(dir, text, NULL, "summary.csv:2: 3 cells where the header has 5");
  snprintf(text, sizeof text, "%sA#1,A,12.5,3,completed,,\n", head);
  load_expect(dir, text, NULL, NULL);
  snprintf(text, sizeof text, "%sA#1,A,12.5,3,completed,x\n", head);
  load_expect(dir, text, NULL, "summary.csv:2: 6 cells where the header has 5");
  snprintf(text, sizeof text, "%sA#1,A,abc,3,completed\n", head);
  load_expect(dir, text, NULL, "summary.csv:2: total_time_ms 'abc' is not a number");
  snprintf(text, sizeof text, "%sA#1,A,1e400,3,completed\n", head);
  load_expect(dir, text, NULL, "total_time_ms '1e400' is not a number");
  snprintf(text, sizeof text, "%sA#1,A,12.5x,3,completed\n", head);
  load_expect(dir, text, NULL, "total_time_ms '12.5x' is not a number");
  snprintf(text, sizeof text, "%s,A,12.5,3,completed\n", head);
  load_expect(dir, text, NULL, "summary.csv:2: empty run_id");
  load_expect(dir, "a,b\n1,2\n", NULL, "no run_id column");
  snprintf(text, sizeof text, "%sA#1,A,12.5,3,completed\n", head);
  load_expect(dir, text, "run_id,round,pages_sent\nA#1,1,12\nA#1,2,-3\n", "rounds.csv:3: pages_sent '-3' is not a number");
  load_expect(dir, text, "run_id,round,pages_sent\nA#1,1,12,9\n", "rounds.csv:2: 4 cells where the header has 3");
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_load_roundtrip),
      cmocka_unit_test(test_schema_roundtrip),
      cmocka_unit_test(test_docs_columns),
      cmocka_unit_test(test_validation_stats),
      cmocka_unit_test(test_best_possible),
      cmocka_unit_test(test_cluster_interval),
      cmocka_unit_test(test_upgrade_old_timeline), cmocka_unit_test(test_upgrade_host), cmocka_unit_test(test_fault_timeline_bursts),
      cmocka_unit_test(test_fault_timeline_held), cmocka_unit_test(test_trace_fault_wake),
      cmocka_unit_test(test_load_malformed),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
