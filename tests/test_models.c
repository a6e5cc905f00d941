/* test_models: scenario parameters and files, profiles and profile files,
 * the event kernel's ordering, memory bitmaps, trace playback. */
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

#include "mdl_algo.h"
#include "mdl_mem.h"
#include "mdl_profile.h"
#include "mdl_scenario.h"
#include "sim_engine.h"
#include "sim_err.h"
#include "sim_units.h"
#include "sim_vec.h"
#include "wl_player.h"
#include "wl_trace.h"



/* ------------------------------------------------------------ engine */

static char order[64];
static size_t order_len;
static void record(sim_engine *e, void *ctx, uint64_t arg) {
  (void)e;
  (void)ctx;
  order[order_len++] = (char)arg;
}

static void test_engine_order(void **state) {
  (void)state;
  sim_engine *e;
  assert_int_equal(sim_engine_new(&e), 0);
  order_len = 0;
  /* Same time: priority first, then insertion order. */
  sim_schedule(e, 100, 5, record, NULL, 'c');
  sim_schedule(e, 100, 1, record, NULL, 'a');
  sim_schedule(e, 100, 5, record, NULL, 'd');
  sim_schedule(e, 50, 9, record, NULL, 'x');
  uint64_t id = sim_schedule(e, 70, 0, record, NULL, 'z');
  sim_schedule(e, 100, 1, record, NULL, 'b');
  sim_cancel(e, id);
  assert_int_equal(sim_next_time(e), 50);
  assert_int_equal(sim_pending(e), 5);
  assert_int_equal(sim_run(e), 5);
  order[order_len] = '\0';
  assert_string_equal(order, "xabcd");
  assert_int_equal(sim_now(e), 100);
  assert_int_equal(sim_next_time(e), SIM_TIME_NEVER);
  sim_engine_free(e);
  sim_engine_free(NULL);
}

static void test_grow(void **state) {
  (void)state;
  size_t cap = 0;
  int *v = sim_grow(NULL, &cap, 1, sizeof *v);
  assert_non_null(v);
  assert_int_equal(cap, 16);
  assert_ptr_equal(sim_grow(v, &cap, 16, sizeof *v), v); /* fits: unchanged */
  v = sim_grow(v, &cap, 17, sizeof *v);
  assert_non_null(v);
  assert_int_equal(cap, 32);
  v = sim_grow(v, &cap, 100, sizeof *v);
  assert_int_equal(cap, 100);
  v[99] = 7;
  assert_null(sim_grow(v, &cap, SIZE_MAX / 2, 8)); /* overflow: refused, v intact */
  assert_int_equal(cap, 100);
  assert_int_equal(v[99], 7);
  free(v);
}

/* ------------------------------------------------------------ bitmaps */

static void test_mem_bitmaps(void **state) {
  (void)state;
  mdl_mem m;
  assert_int_equal(mdl_mem_init(&m, 200), 0);
  mdl_mem_mark_all_dirty(&m);
  assert_int_equal(m.dirty_count, 200);
  assert_int_equal(m.dirty[3], (1ull << 8) - 1); /* 200 = 3*64 + 8 */
  assert_int_equal(mdl_mem_dirty_runs(&m), 1);
  /* Clear pages 10..19 and 100: three runs. */
  for (uint64_t p = 10; p < 20; p++) m.dirty[p >> 6] &= ~mdl_mask(p);
  m.dirty[100 >> 6] &= ~mdl_mask(100);
  m.dirty_count -= 11;
  assert_int_equal(mdl_mem_dirty_runs(&m), 3);
  assert_int_equal(mdl_mem_next_dirty(&m, 10), 20);
  assert_int_equal(mdl_mem_next_dirty(&m, 199), 199);
  /* Log pages 10 and 150: only 10 is new at the sync. */
  m.lz[10 >> 6].log |= mdl_mask(10);
  m.lz[150 >> 6].log |= mdl_mask(150);
  assert_true(mdl_is_logged(&m, 150) && !mdl_is_logged(&m, 151));
  assert_int_equal(mdl_mem_count_log(&m), 2);
  assert_int_equal(mdl_mem_sync(&m, 0, m.words, 1), 1);
  assert_int_equal(m.dirty_count, 190);
  assert_int_equal(mdl_mem_count_log(&m), 0);
  mdl_mem_set_nonzero(&m, 60, 130);
  assert_int_equal(m.lz[0].nonzero, 0xfull << 60);
  assert_int_equal(m.lz[1].nonzero, ~0ull);
  assert_int_equal(m.lz[2].nonzero, 0x7);
  assert_true(mdl_is_nonzero(&m, 130) && !mdl_is_nonzero(&m, 131));
  mdl_mem_free(&m);
}

/* --------------------------------------------------------- scenarios */

static void test_scenario_params(void **state) {
  (void)state;
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  assert_int_equal(mdl_scenario_set(&s, "memory", "1GiB"), 0);
  assert_int_equal(s.pages, 262144);
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "1Gbit/s"), 0);
  assert_true(fabs(s.max_bandwidth - 125e6) < 1e-6);
  assert_int_equal(mdl_scenario_set(&s, "downtime_limit", "50"), 0); /* bare = ms, snake_case ok */
  assert_int_equal(s.downtime_limit_ns, 50 * SIM_NS_PER_MS);
  assert_int_equal(mdl_scenario_set(&s, "timeout", "2min"), 0);
  assert_int_equal(s.timeout_ns, 120 * SIM_NS_PER_S);
  assert_int_equal(mdl_scenario_set(&s, "algo", "hybrid"), 0);
  assert_int_equal(mdl_scenario_set(&s, "switch-policy", "nonconverge"), 0);
  char buf[64];
  mdl_scenario_get(&s, "algo", buf, sizeof buf);
  assert_string_equal(buf, "hybrid");
  mdl_scenario_get(&s, "memory", buf, sizeof buf);
  assert_string_equal(buf, "1073741824");
  assert_int_equal(mdl_scenario_set(&s, "memory", "1000"), SIM_ERANGE); /* not a page multiple */
  assert_int_equal(mdl_scenario_set(&s, "latency", "-1ms"), SIM_ERANGE);
  assert_int_equal(mdl_scenario_set(&s, "link", "fast"), SIM_EINVAL);
  assert_int_equal(mdl_scenario_set(&s, "loop", "maybe"), SIM_EINVAL);
  assert_int_equal(mdl_scenario_validate(&s), SIM_EINVAL); /* no workload */
}

typedef struct {
  mdl_scenario s[8];
  int n;
} collected;

static int collect(void *ctx, const mdl_scenario *s) {
  collected *c = ctx;
  c->s[c->n++] = *s;
  return 0;
}

static void test_scenario_file(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/set.ini", tmpdir);
  write_file(path, "; comment\n[defaults]\nworkload = idle\nmemory = 64MiB\n\n"
                   "[one]\nalgo = postcopy\n\n[two]\nmax-bandwidth = 10MiB/s\nname = second\n");
  mdl_scenario base;
  mdl_scenario_defaults(&base);
  collected c = {.n = 0};
  assert_int_equal(mdl_scenario_file_each(path, &base, collect, &c), 0);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.s[0].name, "one");
  assert_int_equal(c.s[0].algo, MDL_ALGO_POSTCOPY);
  assert_int_equal(c.s[0].pages, 16384);
  assert_string_equal(c.s[1].name, "second");
  assert_int_equal(c.s[1].algo, MDL_ALGO_PRECOPY);
  assert_true(fabs(c.s[1].max_bandwidth - 10485760.0) < 1e-6);
  /* A bad value names the file, section and key. */
  write_file(path, "[a]\nworkload = idle\nmax-bandwidth = 3 parsecs\n");
  c.n = 0;
  assert_int_equal(mdl_scenario_file_each(path, &base, collect, &c), SIM_EUNIT);
  assert_non_null(strstr(sim_error_message(), "set.ini"));
  assert_non_null(strstr(sim_error_message(), "max-bandwidth"));
  /* A section without a workload. */
  write_file(path, "[a]\nalgo = precopy\n");
  assert_int_equal(mdl_scenario_file_each(path, &base, collect, &c), SIM_EINVAL);
  assert_non_null(strstr(sim_error_message(), "[a]"));
  snprintf(path, sizeof path, "%s/missing.ini", tmpdir);
  assert_int_equal(mdl_scenario_file_each(path, &base, collect, &c), SIM_EIO);
}

/* ----------------------------------------------------------- profiles */

static void test_profiles(void **state) {
  (void)state;
  mdl_profile p, q;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  assert_int_equal(p.window_ns, 100 * SIM_NS_PER_MS);
  assert_int_equal(p.page_header_bytes, 8);
  assert_int_equal(mdl_profile_load("xen-classic", &q), 0);
  assert_int_equal(q.driver, MDL_DRIVER_XEN);
  assert_int_equal(q.xen_max_rounds, 30);
  /* A file overrides its base; save and load round-trips. */
  char path[512], saved[512];
  snprintf(path, sizeof path, "%s/p.ini", tmpdir);
  write_file(path, "[profile]\nbase = qemu-7.2\ndirty_log = tcg\nlink = 2GiB/s\nsetup = 12ms\n");
  assert_int_equal(mdl_profile_load(path, &p), 0);
  assert_int_equal(p.dirty_log, MDL_DIRTY_LOG_TCG);
  assert_true(fabs(p.link_bytes_per_s - 2147483648.0) < 1);
  assert_int_equal(p.setup_ns, 12 * SIM_NS_PER_MS);
  snprintf(saved, sizeof saved, "%s/saved.ini", tmpdir);
  assert_int_equal(mdl_profile_save(&p, "qemu-7.2", saved, "test"), 0);
  assert_int_equal(mdl_profile_load(saved, &q), 0);
  assert_int_equal(q.setup_ns, p.setup_ns);
  assert_int_equal(q.dirty_log, p.dirty_log);
  assert_true(fabs(q.link_bytes_per_s - p.link_bytes_per_s) / p.link_bytes_per_s < 1e-5);
  /* Errors. */
  write_file(path, "[profile]\nlink = quick\n");
  assert_int_equal(mdl_profile_load(path, &p), SIM_EINVAL);
  write_file(path, "[profile]\nwarp_factor = 9\n");
  assert_int_equal(mdl_profile_load(path, &p), SIM_ENOTFOUND);
  assert_non_null(strstr(sim_error_message(), "warp_factor"));
  assert_int_equal(mdl_profile_load("no-such-profile", &p), SIM_ENOTFOUND);
}

/* A profile names the machine its constants belong to (docs/hosts.md):
 * `host` is a part of that machine's CPU model name, inherited from the
 * base, written by save, and matched as a part of another model name. */
static void test_profile_host(void **state) {
  (void)state;
  mdl_profile p, q;
  assert_int_equal(mdl_profile_load("qemu-7.2", &p), 0);
  assert_string_equal(p.host, "");
  assert_true(mdl_profile_host_matches(&p, "Any CPU"));
  assert_int_equal(mdl_profile_load("qemu-10.0-tcg", &p), 0);
  assert_string_equal(p.host, "AMD EPYC");
  assert_true(mdl_profile_host_matches(&p, "AMD EPYC 7R13 Processor"));
  assert_false(mdl_profile_host_matches(&p, "Intel(R) Xeon(R) Processor"));
  assert_false(mdl_profile_host_matches(&p, NULL));
  assert_int_equal(mdl_profile_load("qemu-10.0-tcg-xeon", &q), 0);
  assert_string_equal(q.host, "Intel(R) Xeon(R) Processor");
  assert_true(mdl_profile_host_matches(&q, "Intel(R) Xeon(R) Processor"));
  char path[512], saved[512];
  snprintf(path, sizeof path, "%s/h.ini", tmpdir);
  write_file(path, "[profile]\nbase = qemu-10.0-tcg\nlink = 1GiB/s\n");
  assert_int_equal(mdl_profile_load(path, &p), 0);
  assert_string_equal(p.host, "AMD EPYC"); /* from its base */
  assert_int_equal(mdl_profile_set(&p, "host", "Test CPU @ 1.0GHz"), 0);
  snprintf(saved, sizeof saved, "%s/h-saved.ini", tmpdir);
  assert_int_equal(mdl_profile_save(&p, "qemu-10.0-tcg", saved, "test"), 0);
  assert_int_equal(mdl_profile_load(saved, &q), 0);
  assert_string_equal(q.host, "Test CPU @ 1.0GHz");
  char lng[200];
  memset(lng, 'x', sizeof lng - 1);
  lng[sizeof lng - 1] = 0;
  assert_int_equal(mdl_profile_set(&p, "host", lng), SIM_ERANGE);
  assert_non_null(strstr(sim_error_message(), "host"));
  assert_string_equal(p.host, "Test CPU @ 1.0GHz");
}

/* The profile list of `migsim run --help`: shipped files in name order,
 * each with the machine it was calibrated on and whether it is this one. */
static void test_profile_list_hosts(void **state) {
  (void)state;
  char dir[512], path[600];
  snprintf(dir, sizeof dir, "%s/plist", tmpdir);
  mkdir(dir, 0755);
  snprintf(path, sizeof path, "%s/zz.ini", dir);
  write_file(path, "[profile]\nbase = qemu-7.2\nhost = Zebra CPU 9\n");
  snprintf(path, sizeof path, "%s/aa.ini", dir);
  write_file(path, "[profile]\nbase = qemu-7.2\n");
  const char *old = getenv("MIGSIM_PROFILE_DIR");
  char *saved = old ? strdup(old) : NULL;
  setenv("MIGSIM_PROFILE_DIR", dir, 1);
  const char *models[] = {"Zebra CPU 9 @ 3.0GHz", "Other CPU", NULL};
  const char *want[] = {"aa.ini)\n  zz (", "zz.ini; calibrated on 'Zebra CPU 9', this machine)",
                        "zz.ini; calibrated on 'Zebra CPU 9', not this machine)", "zz.ini; calibrated on 'Zebra CPU 9')"};
  for (size_t i = 0; i < 3; i++) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    mdl_profile_list(f, models[i]);
    fclose(f);
    assert_non_null(strstr(text, want[0])); /* name order: aa before zz */
    if (!strstr(text, want[1 + i])) fail_msg("no '%s' in:\n%s", want[1 + i], text);
    free(text);
  }
  if (saved) setenv("MIGSIM_PROFILE_DIR", saved, 1);
  else unsetenv("MIGSIM_PROFILE_DIR");
  free(saved);
}

/* ------------------------------------------------------------ player */

static void test_player_spread_loop_offset(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/coarse.csv", tmpdir);
  /* Two epochs of 100 ms: 4 writes at t=0, 2 at t=100 ms; period 200 ms. */
  write_file(path, "# migsim-trace v1\n# pages=16\n# duration_ns=200000000\ntime_ns,pfn,op\n"
                   "0,1,w\n0,2,w\n0,3,w\n0,4,w\n100000000,5,w\n100000000,6,r\n");
  wl_source *src;
  assert_int_equal(wl_source_open(path, NULL, &src), 0);
  wl_player *p;
  assert_int_equal(wl_player_new(src, 0, 1, &p), 0);
  wl_event ev[12];
  assert_int_equal(wl_player_read(p, ev, 12), 12);
  /* First epoch spread every 25 ms, the second every 50 ms up to the period. */
  const uint64_t want[12] = {0, 25000000, 50000000, 75000000, 100000000, 150000000,
                             200000000, 225000000, 250000000, 275000000, 300000000, 350000000};
  for (int i = 0; i < 12; i++) assert_int_equal(ev[i].time_ns, want[i]);
  assert_int_equal(ev[5].op, WL_OP_READ);
  assert_int_equal(ev[6].pfn, 1);
  assert_int_equal(wl_player_period(p), 200000000);
  wl_player_free(p);
  /* An offset of 60 ms skips the first three spread writes of pass one. */
  assert_int_equal(wl_source_rewind(src), 0);
  assert_int_equal(wl_player_new(src, 60000000, 0, &p), 0);
  long n = wl_player_read(p, ev, 12);
  assert_int_equal(n, 3);
  assert_int_equal(ev[0].pfn, 4);
  assert_int_equal(ev[0].time_ns, 15000000);
  wl_player_free(p);
  wl_source_close(src);
}

/* -------------------------------------------------------- algorithms */

/* The algorithm table: one descriptor per enum value, found by name, and
 * fields that agree with each other and with the parameter table. */
static void test_algorithm_table(void **state) {
  (void)state;
  char list[256];
  assert_string_equal(mdl_algo_list(list, sizeof list, ", ", " or "), "precopy, postcopy or hybrid");
  for (int i = 0; i < MDL_ALGO_COUNT; i++) {
    const mdl_algorithm *a = mdl_algorithm_of((mdl_algo)i);
    assert_int_equal(a->id, i);
    assert_ptr_equal(mdl_algorithm_find(a->name), a);
    mdl_algo got = MDL_ALGO_COUNT;
    assert_int_equal(mdl_algo_parse(a->name, &got), 0);
    assert_int_equal(got, i);
    mdl_scenario s;
    mdl_scenario_defaults(&s);
    assert_int_equal(mdl_scenario_set(&s, "algo", a->name), 0);
    assert_int_equal(s.algo, i);
    /* Every key an algorithm lists is a scenario parameter. */
    for (const char *const *k = a->keys; *k; k++)
      assert_int_not_equal(mdl_scenario_set(&s, *k, "bogus"), SIM_ENOTFOUND);
    /* Switching to post-copy needs the capability; the switch parameters
     * apply exactly to the algorithms that switch by policy. */
    if (a->switch_at_start || a->switch_by_policy) assert_true(mdl_algorithm_has_capability(a, "postcopy-ram"));
    assert_false(a->switch_at_start && a->switch_by_policy);
    assert_int_equal(mdl_algorithm_applies(a, "switch-policy"), a->switch_by_policy);
    assert_int_equal(mdl_algorithm_applies(a, "switch-after"), a->switch_by_policy);
    assert_true(mdl_algorithm_applies(a, "max-bandwidth")); /* listed by none: applies to all */
  }
  assert_false(mdl_algorithm_has_capability(mdl_algorithm_of(MDL_ALGO_PRECOPY), "postcopy-ram"));
  assert_true(mdl_algorithm_of(MDL_ALGO_POSTCOPY)->switch_at_start);
  assert_true(mdl_algorithm_of(MDL_ALGO_HYBRID)->switch_by_policy);
  assert_null(mdl_algorithm_find("postcopy-preempt"));
  mdl_algo keep = MDL_ALGO_HYBRID;
  assert_int_equal(mdl_algo_parse("pre-copy", &keep), SIM_EINVAL);
  assert_int_equal(keep, MDL_ALGO_HYBRID);
  assert_non_null(strstr(sim_error_message(), "expected precopy, postcopy or hybrid"));
  /* docs/scenarios.md carries the table (`migsim run --algorithms`). */
  char *md = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&md, &len);
  assert_non_null(f);
  mdl_algo_md(f);
  fclose(f);
  assert_docs_carry(md, (const char *const[]){"docs/scenarios.md", NULL}, "migsim run --algorithms");
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_engine_order), cmocka_unit_test(test_profile_host), cmocka_unit_test(test_profile_list_hosts),
      cmocka_unit_test(test_grow),
      cmocka_unit_test(test_mem_bitmaps),
      cmocka_unit_test(test_scenario_params),
      cmocka_unit_test(test_algorithm_table),
      cmocka_unit_test(test_scenario_file),
      cmocka_unit_test(test_profiles),
      cmocka_unit_test(test_player_spread_loop_offset),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
