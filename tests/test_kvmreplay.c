/* Tests of kvmreplay: the guest module format against wl_player (no QEMU
 * needed), then real migrations under TCG: one short run per algorithm,
 * the integrity check, and failure handling (a QEMU killed mid-run, a
 * signal to the harness, a missing QEMU binary).
 *
 * The real runs use a 64 MiB guest whose first half is non-zero and a
 * uniform workload over 4096 pages; each takes a few seconds. They are
 * skipped, with the reason printed, only when qemu-system-x86_64 is not
 * installed. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
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

#include "kvr.h"
#include "mdl_profile.h"
#include "mdl_sim.h"
#include "kvr_abi.h"
#include "kvr_internal.h"
#include "res_load.h"
#include "res_output.h"
#include "sim_err.h"
#include "wl_player.h"

static char tmp_root[256];

static const char *tmp_path(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", tmp_root, name);
  return buf;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int setup(void **state) {
  (void)state;
  const char *base = getenv("TMPDIR");
  snprintf(tmp_root, sizeof tmp_root, "%s/migsim-kvr-test-XXXXXX", base && *base ? base : "/tmp");
  return mkdtemp(tmp_root) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  remove_tree(tmp_root);
  return 0;
}

static int have_qemu(void) {
  char path[4096];
  if (kvr_find_qemu(NULL, path, sizeof path) == 0) return 1;
  print_message("skipping: %s\n", sim_error_message());
  return 0;
}

/* ------------------------------------------------- module vs player */

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint64_t varint(const unsigned char **p) {
  uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    unsigned char b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
}

/* Decodes one stream of the module the way the guest does. */
static size_t decode(const unsigned char *data, uint64_t events, uint64_t start, wl_event *out) {
  uint64_t t = start, pfn = 0;
  for (uint64_t i = 0; i < events; i++) {
    uint64_t a = varint(&data), b = varint(&data);
    t += a >> 1;
    pfn += (b >> 1) ^ (0 - (b & 1));
    out[i].time_ns = t;
    out[i].pfn = pfn;
    out[i].op = (uint8_t)(a & 1);
  }
  return (size_t)events;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)n);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* A coarse trace (epochs of several events sharing one timestamp) with an
 * offset: the module's head plus two body passes must equal the looping
 * wl_player's first events exactly, the way the simulator plays them. */
static void test_module_matches_player(void **state) {
  (void)state;
  char trace[512], module[512];
  tmp_path(trace, sizeof trace, "coarse.csv");
  tmp_path(module, sizeof module, "coarse.mod");
  write_file(trace,
             "# migsim-trace v1\n# page_size=4096\n# pages=64\n# nonzero=0-15,40-41\n"
             "time_ns,pfn,op\n"
             "0,3,w\n0,5,w\n0,7,r\n0,60,w\n1000000,9,w\n1000000,2,w\n2500000,63,w\n2500000,0,r\n"
             "2500000,31,w\n");
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  snprintf(s.workload, sizeof s.workload, "%s", trace);
  s.trace_offset_ns = 700000;
  kvr_module_info info;
  kvr_guest_params gp = {100000000, 1000000, 0, 0};
  assert_int_equal(kvr__module_build(&s, module, 0x109000, &gp, 60000000000ull, &info), 0);
  assert_int_equal(info.pages, 64);
  /* The trace's 18 non-zero pages plus page 60, written (at 0 ns) before
   * the offset: part of the image at migration start, as in the simulator. */
  assert_int_equal(info.nonzero_pages, 19);
  assert_int_equal(info.base_page, 1024); /* 4 MiB: the floor */
  assert_true(info.loop);

  size_t len;
  unsigned char *m = read_all(module, &len);
  assert_int_equal(le32(m + KVR_MOD_MAGIC), KVR_MODULE_MAGIC);
  assert_int_equal(le32(m + KVR_MOD_TOTAL_BYTES), len);
  assert_int_equal(le32(m + KVR_MOD_BASE_PAGE), 1024);
  assert_int_equal(le32(m + KVR_MOD_RANGE_COUNT), 3);
  const unsigned char *ranges = m + le32(m + KVR_MOD_RANGES_OFF);
  assert_int_equal(le32(ranges), 0);
  assert_int_equal(le32(ranges + 4), 15);
  assert_int_equal(le32(ranges + 8), 40);
  assert_int_equal(le32(ranges + 12), 41);
  assert_int_equal(le32(ranges + 16), 60);
  assert_int_equal(le32(ranges + 20), 60);
  uint32_t fnv = KVR_FNV_OFFSET;
  for (size_t i = KVR_MODULE_HEADER_SIZE; i < len; i++) fnv = (fnv ^ m[i]) * KVR_FNV_PRIME;
  assert_int_equal(le32(m + KVR_MOD_CHECKSUM), fnv);

  uint64_t head_n = le64(m + KVR_MOD_HEAD_EVENTS), body_n = le64(m + KVR_MOD_BODY_EVENTS);
  uint64_t period = le64(m + KVR_MOD_PERIOD), body_start = le64(m + KVR_MOD_BODY_START);
  assert_int_equal(body_n, 9);
  assert_int_equal(period, 2500001); /* last event + 1: the trace has no duration */
  assert_int_equal(body_start, period - 700000);
  wl_event got[64];
  size_t n = decode(m + le32(m + KVR_MOD_HEAD_OFF), head_n, 0, got);
  for (int pass = 0; pass < 2; pass++)
    n += decode(m + le32(m + KVR_MOD_BODY_OFF), body_n, body_start + (uint64_t)pass * period, got + n);

  wl_source *src;
  assert_int_equal(wl_source_open(trace, NULL, &src), 0);
  wl_player *p;
  assert_int_equal(wl_player_new(src, 700000, 1, &p), 0);
  wl_event want[64];
  assert_int_equal(wl_player_read(p, want, n), (long)n);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(got[i].time_ns, want[i].time_ns);
    assert_int_equal(got[i].pfn, want[i].pfn);
    assert_int_equal(got[i].op, want[i].op);
  }
  /* Spreading happened: the 0 ns epoch of four events is spread over 1 ms,
   * so its last event (page 60) is at 750 us, i.e. 50 us into the replay. */
  assert_int_equal(got[0].pfn, 60);
  assert_int_equal(got[0].time_ns, 50000);
  wl_player_free(p);
  wl_source_close(src);
  free(m);
}

/* Page sizes other than 4096 cannot map one trace page to one guest page. */
static void test_module_rejects_page_size(void **state) {
  (void)state;
  char trace[512], module[512];
  tmp_path(trace, sizeof trace, "bigpages.csv");
  tmp_path(module, sizeof module, "bigpages.mod");
  write_file(trace, "# migsim-trace v1\n# page_size=8192\n# pages=4\ntime_ns,pfn\n0,1\n");
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  s.page_size = 8192;
  snprintf(s.workload, sizeof s.workload, "%s", trace);
  kvr_module_info info;
  kvr_guest_params gp = {1, 1, 0, 0};
  assert_int_equal(kvr__module_build(&s, module, 0x109000, &gp, 1, &info), SIM_EUNSUPPORTED);
  assert_non_null(strstr(sim_error_message(), "4096"));
}

/* ------------------------------------------------------- real runs */

static void base_scenario(mdl_scenario *s, mdl_algo algo) {
  mdl_scenario_defaults(s);
  snprintf(s->workload, sizeof s->workload, "uniform:wss=4096,rate=5000,nonzero=0.5");
  assert_int_equal(mdl_scenario_set(s, "memory", "64MiB"), 0);
  assert_int_equal(mdl_scenario_set(s, "duration", "2s"), 0);
  assert_int_equal(mdl_scenario_set(s, "max-bandwidth", "64MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(s, "timeout", "30s"), 0);
  s->algo = algo;
  snprintf(s->name, sizeof s->name, "ci-%s", mdl_algo_name(algo));
}

static void run_opts(kvr_options *o) {
  kvr_options_init(o);
  o->accel = "tcg"; /* CI measures TCG (see docs/kvmreplay.md) */
  o->tmp_dir = tmp_root;
  if (getenv("MIGSIM_TEST_VERBOSE")) o->log = stderr;
}

static void print_result(const mdl_scenario *s, const mdl_result *r, const kvr_info *info) {
  print_message("%s: %s %.0f ms, downtime %.0f ms, %llu bytes (precopy %llu, postcopy %llu), "
                "%llu syncs, %llu requests, integrity %s, %s %s, on time %.4f, max lag %.2f ms, "
                "stall %.1f ms, %zu rounds, base page %u\n",
                s->name, mdl_status_name(r->status), r->total_time_ms, r->downtime_ms,
                (unsigned long long)r->transferred_bytes, (unsigned long long)r->precopy_bytes,
                (unsigned long long)r->postcopy_bytes, (unsigned long long)r->dirty_sync_count,
                (unsigned long long)r->postcopy_requests, r->integrity, r->accel, r->qemu_version,
                r->replay_on_time, r->replay_lag_ms, r->guest_stall_ms, r->round_count,
                info->base_page);
  if (r->failure[0]) print_message("  failure: %s\n", r->failure);
}

static void check_completed(const mdl_scenario *s, const mdl_result *r, const kvr_info *info) {
  assert_string_equal(r->source, "kvmreplay");
  assert_int_equal(r->status, MDL_STATUS_COMPLETED);
  assert_true(r->integrity[0] != '\0');
  assert_true(strcmp(r->integrity, "ok") == 0 || strstr(r->integrity, "differing pages"));
  assert_string_equal(r->accel, "tcg");
  assert_true(strncmp(r->qemu_version, "", 1) != 0);
  char model[MDL_HOST_CPU_MAX]; /* the row names this machine (docs/hosts.md) */
  if (kvr_host_cpu_model(model, sizeof model) == 0) assert_string_equal(r->host_cpu, model);
  /* Every non-zero page of the initial image crosses the wire once. */
  assert_true(r->transferred_bytes >= 8192ull * 4096ull);
  assert_true(r->normal_pages >= 8192);
  assert_true(r->dirty_sync_count >= 2);
  /* QEMU counts downtime in whole ms: a post-copy switch can take < 1 ms. */
  if (s->algo == MDL_ALGO_PRECOPY)
    assert_true(r->downtime_ms > 0);
  else
    assert_true(r->downtime_ms >= 0);
  assert_true(r->total_time_ms > r->downtime_ms);
  assert_true(r->precopy_bytes + r->postcopy_bytes <= r->transferred_bytes);
  assert_true(r->round_count >= 1);
  for (size_t i = 1; i < r->round_count; i++) {
    assert_true(r->rounds[i].round > r->rounds[i - 1].round);
    assert_true(r->rounds[i].start_ms >= r->rounds[i - 1].start_ms);
  }
  assert_true(r->rounds[r->round_count - 1].round == r->dirty_sync_count);
  assert_true(r->replay_on_time >= 0 && r->replay_on_time <= 1);
  assert_true(info->guest_writes > 0);
  assert_int_equal(info->trace_pages, 16384);
  assert_int_equal(info->pages_compared, 16384);
  assert_true(info->max_poll_gap_ms > 0);
  /* Host CPU by thread role (kvr_cpu.c): the threads were found by name. */
  print_message("cpu ms: vcpu %.0f, migration %.0f, workers %.0f, source %.0f, destination %.0f, waited %.0f\n",
                r->cpu_vcpu_ms, r->cpu_migration_ms, r->cpu_workers_ms, r->cpu_source_ms, r->cpu_dest_ms,
                r->cpu_wait_ms);
  assert_true(r->cpu_vcpu_ms > 0 && r->cpu_migration_ms > 0 && r->cpu_dest_ms > 0 && r->cpu_wait_ms >= 0);
  assert_true(r->cpu_source_ms >= r->cpu_vcpu_ms + r->cpu_migration_ms);
  /* no thread runs on more than the machine's CPUs for the run's length */
  assert_true(r->cpu_vcpu_ms <= r->total_time_ms + 50 && r->cpu_migration_ms <= r->total_time_ms + 50);
  if (!s->multifd && !s->compress) assert_true(r->cpu_workers_ms < 0);
}

/* The simulator, with the profile calibrated for this kind of machine and
 * the replay guest's whole memory, predicts the real run within 25%. */
/* s as the simulator sees the replay guest, with the profile calibrated
 * for this kind of machine; sim must be freed. */
static void simulate_replayed(const mdl_scenario *s, mdl_result *sim) {
  mdl_scenario sim_s;
  assert_int_equal(kvr_sim_layout(s, &sim_s), 0);
  snprintf(sim_s.profile, sizeof sim_s.profile, "qemu-7.2-tcg");
  mdl_result_init(sim, "sim");
  if (mdl_simulate(&sim_s, sim)) fail_msg("simulate: %s", sim_error_message());
}

static void check_agreement(const mdl_scenario *s, const mdl_result *real) {
  mdl_result sim;
  simulate_replayed(s, &sim);
  double dt = fabs(sim.total_time_ms - real->total_time_ms) / real->total_time_ms;
  double db = fabs((double)sim.transferred_bytes - (double)real->transferred_bytes) / (double)real->transferred_bytes;
  print_message("%s: simulated %.0f ms, %llu bytes, %llu syncs; real %.0f ms, %llu bytes, %llu syncs "
                "(errors %.1f%%, %.1f%%)\n",
                s->name, sim.total_time_ms, (unsigned long long)sim.transferred_bytes,
                (unsigned long long)sim.dirty_sync_count, real->total_time_ms,
                (unsigned long long)real->transferred_bytes, (unsigned long long)real->dirty_sync_count,
                dt * 100, db * 100);
  assert_int_equal(sim.status, real->status);
  assert_true(dt <= 0.25);
  assert_true(db <= 0.25);
  mdl_result_free(&sim);
}

/* Skips the test when post-copy cannot work here (no userfaultfd). */
static void need_postcopy(void) {
  if (!have_qemu()) skip();
  if (kvr_check_userfaultfd()) {
    print_message("skipping: %s\n", sim_error_message());
    skip();
  }
}

/* Runs s on QEMU and checks what every completed run must show. */
static void run_checked(const mdl_scenario *s, mdl_result *r, kvr_info *info) {
  kvr_options o;
  run_opts(&o);
  assert_int_equal(kvr_run(s, &o, r, info), 0);
  print_result(s, r, info);
  check_completed(s, r, info);
}

/* ... and the simulator predicts it within 25 %. */
static void run_completed(const mdl_scenario *s, mdl_result *r, kvr_info *info) {
  run_checked(s, r, info);
  check_agreement(s, r);
}

static void test_precopy(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  mdl_scenario s;
  base_scenario(&s, MDL_ALGO_PRECOPY);
  mdl_result r;
  kvr_info info;
  run_completed(&s, &r, &info);
  assert_int_equal(r.postcopy_bytes, 0);
  assert_int_equal(info.pages_written_after_switch, 0); /* -S: it never ran */
  char out[512];
  assert_int_equal(res_write_run(tmp_path(out, sizeof out, "out"), "1", &s, &r), 0);
  mdl_result_free(&r);
}

static void test_postcopy(void **state) {
  (void)state;
  need_postcopy();
  mdl_scenario s;
  base_scenario(&s, MDL_ALGO_POSTCOPY);
  /* 2 ms between writes: the guest halts between them (APIC timer), also
   * on the destination after the switch. */
  snprintf(s.workload, sizeof s.workload, "uniform:wss=4096,rate=500,nonzero=0.5");
  /* A post-copy limit makes the run last about half a second, long enough
   * that scheduling noise of a few ms does not dominate the comparison. */
  assert_int_equal(mdl_scenario_set(&s, "postcopy-bandwidth", "64MiB/s"), 0);
  mdl_result r;
  kvr_info info;
  run_completed(&s, &r, &info);
  assert_true(r.postcopy_bytes > 0);
  assert_true(r.switch_time_ms >= 0);
  /* Switched at the first pass: migrate-start-postcopy went in the same
   * write as migrate. Asked after migrate's answer, the flag came after
   * QEMU's first pass had begun in 2 of 15 traced runs, which then sent a
   * rate-limit window of pre-copy (docs/kvmreplay.md). */
  assert_int_equal(r.precopy_bytes, 0);
  mdl_result_free(&r);
}

/* A hybrid whose guest writes `rate` pages/s over 4096 pages at 32 MiB/s
 * (8192 pages/s): it dirties faster than it sends, so pre-copy alone would
 * not finish. */
static void hybrid_scenario(mdl_scenario *s, const char *rate) {
  base_scenario(s, MDL_ALGO_HYBRID);
  snprintf(s->workload, sizeof s->workload, "uniform:wss=4096,rate=%s,nonzero=0.5", rate);
  assert_int_equal(mdl_scenario_set(s, "max-bandwidth", "32MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(s, "downtime-limit", "100ms"), 0);
}

static void test_hybrid(void **state) {
  (void)state;
  need_postcopy();
  mdl_scenario s;
  hybrid_scenario(&s, "20000"); /* the switch after two syncs must happen */
  s.switch_after = 2;
  mdl_result r;
  kvr_info info;
  run_completed(&s, &r, &info);
  assert_true(r.postcopy_bytes > 0);
  assert_true(r.precopy_bytes >= 8192ull * 4096ull);
  assert_true(r.switch_time_ms > 0);
  assert_true(r.dirty_sync_count >= 3); /* setup, the 2nd, the switch */
  mdl_result_free(&r);
}

/* The non-convergence switch rule (mdl_switch.h) is the simulator's: on a
 * guest that re-dirties its whole working set every pass, the harness
 * issues migrate-start-postcopy by the third sync, as the simulator does. */
static void test_hybrid_nonconverge(void **state) {
  (void)state;
  need_postcopy();
  mdl_scenario s;
  /* 40,000 writes/s re-dirty ~99 % of the working set during each ~0.5 s
   * pass, far from the rule's 90 % boundary. */
  hybrid_scenario(&s, "40000");
  assert_int_equal(mdl_scenario_set(&s, "switch-policy", "nonconverge"), 0);
  mdl_result r;
  kvr_info info;
  kvr_options o;
  run_opts(&o);
  assert_int_equal(kvr_run(&s, &o, &r, &info), 0);
  print_result(&s, &r, &info);
  check_completed(&s, &r, &info);
  assert_true(r.switch_time_ms > 0);
  assert_true(r.postcopy_bytes > 0);
  assert_true(r.dirty_sync_count >= 4 && r.dirty_sync_count <= 6); /* switched at sync 3 or soon after */
  /* The simulator switches too, within a sync of the harness (which reads
   * the dirty pages at a sync one poll late). Where a switch lands within
   * a sync moves the total time by a pass, so timing is not compared. */
  mdl_result sim;
  simulate_replayed(&s, &sim);
  print_message("%s: simulated switch at %.0f ms after %llu syncs; real at %.0f ms after %llu\n", s.name,
                sim.switch_time_ms, (unsigned long long)sim.dirty_sync_count, r.switch_time_ms,
                (unsigned long long)r.dirty_sync_count);
  assert_true(sim.switch_time_ms > 0);
  assert_true(sim.dirty_sync_count + 1 >= r.dirty_sync_count && sim.dirty_sync_count <= r.dirty_sync_count + 1);
  mdl_result_free(&sim);
  /* The guest's side, as the simulator reports it. */
  assert_true(r.delayed_share >= 0 && r.delayed_share <= 1);
  /* A request need not delay an access by the 1 ms that counts (CI had 4
   * requests of about 0.4 ms each): the delays are checked when any is. */
  if (r.delayed_share > 0) {
    assert_true(r.delay_p50_ms >= 1.0 && r.delay_p50_ms <= r.delay_p99_ms);
    assert_true(r.guest_stall_ms >= r.delay_p50_ms);
  }
  mdl_result_free(&r);
}

/* auto-converge on a guest that cannot converge without it (12,000
 * random writes/s over 64 MiB at 32 MiB/s): QEMU throttles the vCPUs, the
 * replay guest's workload runs only while they run, and the migration
 * completes; the simulator predicts the same (docs/features.md). */
static void test_auto_converge(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  mdl_scenario s;
  base_scenario(&s, MDL_ALGO_PRECOPY);
  snprintf(s.name, sizeof s.name, "ci-auto-converge");
  snprintf(s.workload, sizeof s.workload, "uniform:wss=16384,rate=12000,nonzero=1");
  assert_int_equal(mdl_scenario_set(&s, "duration", "0"), 0);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "32MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "auto-converge", "yes"), 0);
  assert_int_equal(mdl_scenario_set(&s, "timeline", "yes"), 0);
  mdl_result r;
  kvr_info info;
  kvr_options o;
  run_opts(&o);
  assert_int_equal(kvr_run(&s, &o, &r, &info), 0);
  print_result(&s, &r, &info);
  check_completed(&s, &r, &info);
  /* The real timeline (a row per poll): the throttle only rises and
   * engages, the dirty rate is not measured before the second sync and
   * then stays below what 12,000 writes/s can dirty (with room for the
   * guest kernel's own writes). */
  assert_true(r.sample_count > 10);
  uint32_t tl_throttle = 0;
  double tl_rate = 0;
  assert_true(r.samples[0].dirty_pages_rate == -1);
  for (size_t i = 0; i < r.sample_count; i++) {
    const mdl_sample *m = &r.samples[i];
    assert_true(m->throttle_pct >= tl_throttle);
    tl_throttle = m->throttle_pct;
    assert_true(m->dirty_sync_count >= 2 || m->dirty_pages_rate == -1);
    if (m->dirty_pages_rate > tl_rate) tl_rate = m->dirty_pages_rate;
    assert_true(i == 0 || m->t_ms >= r.samples[i - 1].t_ms);
  }
  print_message("%s: timeline %zu rows, throttle up to %u %%, dirty rate up to %.0f pages/s\n", s.name,
                r.sample_count, tl_throttle, tl_rate);
  assert_true(tl_throttle >= 20 && tl_throttle <= r.cpu_throttle_pct);
  assert_true(tl_rate > 1000 && tl_rate < 16000);
  /* Timing is not compared here: the throttle steps every ~2 s, so a step
   * earlier or later moves the total by seconds, and the CPU-bound replay
   * also loses the host's scheduling gaps (docs/features.md); the
   * validation set measures the error on a quiet machine. */
  /* The guest loses what the throttle takes: its share integrated over the
   * polls that showed it. Host scheduling gaps only add to what is lost; a
   * guest that missed some of the vCPU's sleeps caught up on them and lost
   * 0.76-0.98 of the share (docs/features.md, "The gap the guest did not
   * see"). */
  double nominal = 0;
  for (size_t i = 0; i + 1 < r.sample_count; i++)
    nominal += r.samples[i].throttle_pct / 100.0 * (r.samples[i + 1].t_ms - r.samples[i].t_ms);
  print_message("%s: throttle %llu %%, guest lost %.0f ms of the throttle's %.0f ms\n", s.name,
                (unsigned long long)r.cpu_throttle_pct, r.guest_throttle_ms, nominal);
  assert_true(r.cpu_throttle_pct >= 20 && r.cpu_throttle_pct <= 99);
  assert_true(nominal > 0);
  assert_true(r.guest_throttle_ms >= 0.96 * nominal);
  uint32_t prev = 0, seen = 0;
  for (size_t i = 0; i < r.round_count; i++) { /* QEMU's throttle only rises until completion */
    assert_true(r.rounds[i].throttle_pct >= prev);
    prev = r.rounds[i].throttle_pct;
    seen |= prev;
  }
  assert_true(seen > 0);
  mdl_result sim;
  simulate_replayed(&s, &sim);
  print_message("%s: simulated %.0f ms, throttle %llu %%, guest lost %.0f ms\n", s.name, sim.total_time_ms,
                (unsigned long long)sim.cpu_throttle_pct, sim.guest_throttle_ms);
  assert_int_equal(sim.status, MDL_STATUS_COMPLETED);
  assert_true(sim.cpu_throttle_pct + 10 >= r.cpu_throttle_pct && sim.cpu_throttle_pct <= r.cpu_throttle_pct + 10);
  mdl_result_free(&sim);
  mdl_result_free(&r);
}

/* xbzrle on the same guest with writes that change 64 bytes of a page:
 * QEMU encodes pages it finds in its cache, and the simulator's counters
 * follow QEMU's (docs/features.md). */
static void test_xbzrle(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  mdl_scenario s;
  base_scenario(&s, MDL_ALGO_PRECOPY);
  snprintf(s.name, sizeof s.name, "ci-xbzrle");
  snprintf(s.workload, sizeof s.workload, "uniform:wss=16384,rate=12000,nonzero=1,write_bytes=64");
  assert_int_equal(mdl_scenario_set(&s, "duration", "0"), 0);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "32MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "xbzrle", "yes"), 0);
  mdl_result r;
  kvr_info info;
  run_checked(&s, &r, &info);
  mdl_result sim;
  simulate_replayed(&s, &sim);
  print_message("%s: xbzrle pages %llu / %llu, bytes %llu / %llu, misses %llu / %llu (real / sim)\n", s.name,
                (unsigned long long)r.xbzrle_pages, (unsigned long long)sim.xbzrle_pages,
                (unsigned long long)r.xbzrle_bytes, (unsigned long long)sim.xbzrle_bytes,
                (unsigned long long)r.xbzrle_cache_miss, (unsigned long long)sim.xbzrle_cache_miss);
  assert_true(r.xbzrle_pages > 1000 && r.xbzrle_cache_miss > 1000);
  assert_int_equal(r.xbzrle_overflow, 0);
  assert_true(r.xbzrle_bytes < 100 * r.xbzrle_pages); /* ~64 changed bytes, not pages */
  assert_int_equal(sim.status, MDL_STATUS_COMPLETED);
  assert_true(sim.xbzrle_pages > r.xbzrle_pages / 2 && sim.xbzrle_pages < 2 * r.xbzrle_pages);
  assert_true(sim.xbzrle_cache_miss > r.xbzrle_cache_miss / 2 && sim.xbzrle_cache_miss < 2 * r.xbzrle_cache_miss);
  /* A page's delta: one run of the 64 bytes a write covers on both sides
   * (0.4 % apart measured; 12 % when the guest's stamp kept 10 bytes). */
  double per_real = (double)r.xbzrle_bytes / (double)r.xbzrle_pages;
  double per_sim = (double)sim.xbzrle_bytes / (double)sim.xbzrle_pages;
  print_message("%s: xbzrle bytes a page %.1f / %.1f (real / sim)\n", s.name, per_real, per_sim);
  assert_true(fabs(per_sim - per_real) <= 0.05 * per_real);
  mdl_result_free(&sim);
  mdl_result_free(&r);
}

/* multifd with zlib: the channels' CPU time is measured (threads named
 * multifdsend_N on 7.2), and the simulator's is of the same order. */
static void test_multifd_cpu(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  mdl_scenario s;
  base_scenario(&s, MDL_ALGO_PRECOPY);
  snprintf(s.name, sizeof s.name, "ci-multifd-zlib");
  snprintf(s.workload, sizeof s.workload, "uniform:wss=16384,rate=2000,nonzero=1,compress_ratio=0.3");
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "64MiB/s"), 0);
  assert_int_equal(mdl_scenario_set(&s, "multifd", "yes"), 0);
  assert_int_equal(mdl_scenario_set(&s, "multifd-channels", "2"), 0);
  assert_int_equal(mdl_scenario_set(&s, "multifd-compression", "zlib"), 0);
  mdl_result r;
  kvr_info info;
  run_checked(&s, &r, &info);
  mdl_result sim;
  simulate_replayed(&s, &sim);
  print_message("%s: channel CPU %.0f ms real, %.0f ms simulated\n", s.name, r.cpu_workers_ms, sim.cpu_workers_ms);
  /* 16384+ pages deflated: more than 1 us and less than 1 ms each */
  assert_true(r.cpu_workers_ms > 16.0 && r.cpu_workers_ms < 16384.0);
  assert_true(r.cpu_workers_ms < r.cpu_source_ms);
  assert_true(sim.cpu_workers_ms > r.cpu_workers_ms / 3 && sim.cpu_workers_ms < 3 * r.cpu_workers_ms);
  mdl_result_free(&sim);
  mdl_result_free(&r);
}

/* `migsim replay` end to end: the run's line says where the host's CPU
 * went, and summary.csv has the CPU columns filled. */
static void test_cli_replay(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  char out[512], cmd[2048], line[1024];
  tmp_path(out, sizeof out, "cli-replay");
  snprintf(cmd, sizeof cmd,
           "MIGSIM_FSYNC=0 %s replay --workload uniform:wss=4096,rate=2000,nonzero=0.5 --memory 64MiB "
           "--max-bandwidth 64MiB/s --multifd yes --multifd-channels 2 --accel tcg --out %s 2>&1",
           MIGSIM_BIN, out);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  int cpu_line = 0, machine_line = 0;
  char model[MDL_HOST_CPU_MAX] = "";
  if (kvr_host_cpu_model(model, sizeof model)) snprintf(model, sizeof model, "an unnamed CPU");
  char on[MDL_HOST_CPU_MAX + 8];
  snprintf(on, sizeof on, " on %s, ", model); /* the summary names the machine */
  while (fgets(line, sizeof line, p)) {
    print_message("%s", line);
    if (strstr(line, "host CPU (cores): vCPU ") && strstr(line, ", channels ") && strstr(line, "destination "))
      cpu_line = 1;
    if (strstr(line, on) && strstr(line, "integrity ")) machine_line = 1;
  }
  assert_int_equal(pclose(p), 0);
  assert_true(cpu_line);
  assert_true(machine_line);
  res_run_set set;
  assert_int_equal(res_runs_load(out, &set), 0);
  assert_int_equal(set.count, 1);
  const mdl_result *r = &set.runs[0].result;
  assert_true(r->cpu_vcpu_ms > 0 && r->cpu_workers_ms > 0 && r->cpu_dest_ms > 0 && r->cpu_wait_ms >= 0);
  res_runs_free(&set);
}

/* scripts/calibrate-host.sh end to end (docs/hosts.md) on three small
 * scenarios, one real run each: the runs land in OUT/calibration-7.2/real,
 * the fitted profile names this machine as its host, loads and carries a
 * constant given with --set (a fault wake traced on this host), and a bad
 * option is refused in one line before anything runs. */
static int count_lines(const char *path);

static void test_calibrate_host_script(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  char out[512], ini[600], cmd[4096], line[1024];
  tmp_path(out, sizeof out, "calibrate-host");
  snprintf(ini, sizeof ini, "%s.ini", out);
  write_file(ini,
             "[defaults]\nmemory = 32MiB\ntimeout = 10s\nseed = 3\n\n"
             "[mini-pre]\nalgo = precopy\nworkload = uniform:wss=1024,rate=2000,nonzero=0.5\nmax-bandwidth = 128MiB/s\n\n"
             "[mini-post]\nalgo = postcopy\nworkload = uniform:wss=2048,rate=5000,nonzero=0.5\nmax-bandwidth = 128MiB/s\n\n"
             "[mini-hyb]\nalgo = hybrid\nswitch-after = 2\nworkload = uniform:wss=2048,rate=4000,nonzero=0.5\n"
             "max-bandwidth = 64MiB/s\n");
  static const char *const bad[][2] = {
      {"--name bad/name", "calibrate-host: --name 'bad/name'"},
      {"--name t1 --versions 7.2,9.9", "calibrate-host: --versions: '9.9' is not 7.2 or 10.0"},
      {"--name t1 --repeat 0", "calibrate-host: --repeat '0'"},
      {"--name t1 --set nokey", "calibrate-host: --set 'nokey': KEY=VALUE"},
      {"--name t1 --wake-scenarios /nonexistent.ini", "calibrate-host: cannot read /nonexistent.ini"},
  };
  FILE *p;
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    snprintf(cmd, sizeof cmd, "cd %s && MIGSIM=%s scripts/calibrate-host.sh %s --out %s --no-quiet 2>&1",
             MIGSIM_SOURCE_DIR, MIGSIM_BIN, bad[k][0], out);
    p = popen(cmd, "r");
    assert_non_null(p);
    int refused = 0;
    while (fgets(line, sizeof line, p)) refused |= strstr(line, bad[k][1]) != NULL;
    assert_int_equal(WEXITSTATUS(pclose(p)), 2);
    assert_true(refused);
    assert_int_not_equal(access(out, F_OK), 0); /* refused before anything is written */
  }
  /* The fault wake traced first (scripts/trace-fault-wake.py), on small
   * guests: one run of each role. */
  char wake[600];
  snprintf(wake, sizeof wake, "%s-wake.ini", out);
  write_file(wake,
             "[defaults]\nmemory = 64MiB\ntimeout = 10s\nseed = 3\n"
             "workload = uniform:wss=4096,rate=8000,nonzero=0.5\nmax-bandwidth = 32MiB/s\n\n"
             "[idle-mini]\nalgo = postcopy+postcopy-preempt\npostcopy-bandwidth = 32MiB/s\n\n"
             "[busy-mini]\nalgo = postcopy+postcopy-preempt\n\n"
             "[burst-mini]\nalgo = postcopy\npostcopy-bandwidth = 32MiB/s\n");
  snprintf(cmd, sizeof cmd,
           "cd %s && MIGSIM=%s MIGSIM_FSYNC=0 scripts/calibrate-host.sh --name t1 --out %s --versions 7.2 "
           "--scenarios %s --wake-scenarios %s --repeat 1 --set fault_resume_ns=200000 --no-quiet 2>&1",
           MIGSIM_SOURCE_DIR, MIGSIM_BIN, out, ini, wake);
  p = popen(cmd, "r");
  assert_non_null(p);
  while (fgets(line, sizeof line, p)) print_message("%s", line);
  assert_int_equal(pclose(p), 0);
  char path[1100];
  snprintf(path, sizeof path, "%s/calibration-7.2/real", out);
  res_run_set set;
  assert_int_equal(res_runs_load(path, &set), 0);
  assert_int_equal(set.count, 3);
  res_runs_free(&set);
  snprintf(path, sizeof path, "%s/qemu-7.2-tcg-t1.ini", out);
  mdl_profile prof;
  if (mdl_profile_load(path, &prof)) fail_msg("%s", sim_error_message());
  char model[256];
  if (kvr_host_cpu_model(model, sizeof model) == 0) assert_string_equal(prof.host, model);
  assert_true(mdl_profile_host_matches(&prof, model));
  assert_int_equal(prof.device_state_bytes, 58025); /* kept from qemu-7.2-tcg */
  assert_true(prof.fault_resume_ns == 200000.0);   /* a --set wins over the traced wake */
  /* The traced busy wake is the profile's: one traced run a role. */
  snprintf(path, sizeof path, "%s/fault-wake-7.2/fault-wake.csv", out);
  assert_int_equal(count_lines(path), 1 + 3);
  snprintf(path, sizeof path, "%s/fault-wake-7.2/fault-wake.sets", out);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  double traced_busy = -1;
  while (fgets(line, sizeof line, f)) sscanf(line, "fault_resume_busy_ns=%lf", &traced_busy);
  fclose(f);
  print_message("traced busy wake %.0f ns\n", traced_busy);
  assert_true(traced_busy >= 0 && traced_busy < 1e8);
  assert_true(prof.fault_resume_busy_ns == traced_busy);
}

/* ------------------------------------------------------- failures */

typedef struct {
  int which;        /* 0 destination, 1 source, 2 SIGTERM to ourselves */
  int fired;
  pid_t src, dst;
} kill_ctx;

static void kill_hook(void *ctx, const kvr_progress *p) {
  kill_ctx *k = ctx;
  k->src = p->source_pid;
  k->dst = p->dest_pid;
  if (k->fired || p->t_ms < 400 || p->dirty_sync_count < 1) return;
  k->fired = 1;
  if (k->which == 2)
    raise(SIGTERM);
  else
    kill(k->which ? p->source_pid : p->dest_pid, SIGKILL);
}

static int process_gone(pid_t pid) {
  /* Neither the process nor anything in its process group is left. */
  return pid > 0 && kill(pid, 0) == -1 && errno == ESRCH && kill(-pid, 0) == -1 && errno == ESRCH;
}

static int count_lines(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF)
    if (c == '\n') n++;
  fclose(f);
  return n;
}

static void run_killed(int which, const char *expect) {
  mdl_scenario s;
  base_scenario(&s, MDL_ALGO_PRECOPY);
  /* Cannot converge: 20k pages/s dirtied, 8 MiB/s sent. */
  snprintf(s.workload, sizeof s.workload, "uniform:wss=4096,rate=20000,nonzero=0.25");
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "8MiB/s"), 0);
  snprintf(s.name, sizeof s.name, "ci-kill-%d", which);
  kvr_options o;
  run_opts(&o);
  kill_ctx k = {which, 0, 0, 0};
  o.on_poll = kill_hook;
  o.ctx = &k;
  mdl_result r;
  kvr_info info;
  int rc = kvr_run(&s, &o, &r, &info);
  print_result(&s, &r, &info);
  assert_true(k.fired);
  assert_int_equal(rc, which == 2 ? SIM_EINTERRUPTED : 0);
  assert_int_equal(r.status, MDL_STATUS_FAILED);
  assert_non_null(strstr(r.failure, expect));
  /* No orphan: both QEMUs and their process groups are gone. */
  assert_true(process_gone(k.src));
  assert_true(process_gone(k.dst));
  /* The setup sync was recorded before the kill and is kept. */
  assert_true(r.round_count >= 1);
  assert_int_equal(r.rounds[0].round, 1);
  assert_true(r.rounds[0].pages_sent > 0);
  /* The run directory is cleaned up. */
  struct stat st;
  assert_int_not_equal(stat(info.dir, &st), 0);

  /* Rows already in the result files stay intact; the failed run adds
   * one summary row and its rounds. */
  char out[512], summary[600], rounds[600];
  tmp_path(out, sizeof out, "out-kill");
  snprintf(summary, sizeof summary, "%s/summary.csv", out);
  snprintf(rounds, sizeof rounds, "%s/rounds.csv", out);
  int before = count_lines(summary), rounds_before = count_lines(rounds);
  assert_int_equal(res_write_run(out, s.name, &s, &r), 0);
  assert_int_equal(count_lines(summary), (before < 0 ? 1 : before) + 1);
  assert_int_equal(count_lines(rounds), (rounds_before < 0 ? 1 : rounds_before) + (int)r.round_count);
  mdl_result_free(&r);
}

static void test_kill_destination(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  run_killed(0, "destination QEMU died");
}

static void test_kill_source(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  run_killed(1, "source QEMU died");
}

static void test_sigterm(void **state) {
  (void)state;
  if (!have_qemu()) skip();
  run_killed(2, "interrupted by signal 15");
}

static void test_missing_qemu(void **state) {
  (void)state;
  mdl_scenario s;
  base_scenario(&s, MDL_ALGO_PRECOPY);
  kvr_options o;
  run_opts(&o);
  o.qemu = "qemu-system-x86_64-does-not-exist";
  mdl_result r;
  assert_int_equal(kvr_run(&s, &o, &r, NULL), SIM_ENOTFOUND);
  assert_non_null(strstr(sim_error_message(), "not found in PATH"));
  assert_null(strchr(sim_error_message(), '\n'));
  assert_int_equal(r.status, MDL_STATUS_FAILED);
  mdl_result_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_module_matches_player),
      cmocka_unit_test(test_module_rejects_page_size),
      cmocka_unit_test(test_missing_qemu),
      cmocka_unit_test(test_precopy),
      cmocka_unit_test(test_postcopy),
      cmocka_unit_test(test_hybrid),
      cmocka_unit_test(test_hybrid_nonconverge),
      cmocka_unit_test(test_auto_converge),
      cmocka_unit_test(test_xbzrle), cmocka_unit_test(test_multifd_cpu),
      cmocka_unit_test(test_cli_replay),
      cmocka_unit_test(test_calibrate_host_script), cmocka_unit_test(test_kill_destination),
      cmocka_unit_test(test_kill_source),
      cmocka_unit_test(test_sigterm),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
