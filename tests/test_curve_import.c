/* test_curve_import: QEMU calc-dirty-rate results and CSV files turned into
 * dirty-curve points and generator specs (workloads/wl_curve_import.c), and
 * the `migsim trace curve` command around it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "sim_err.h"
#include "wl_curve_import.h"
#include "wl_gen.h"

#include "test_util.h"

/* A path in tmpdir; four rotating buffers, so one call can use several. */
static char *path_of(const char *name) {
  static char buf[4][256];
  static unsigned next;
  char *b = buf[next++ % 4];
  snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
  return b;
}

/* A captured QMP session: greeting, capabilities, two calc-dirty-rate runs
 * of 1 s and one of 10 s, an event in between. QEMU rounds MiB/s down, so
 * 472 MiB/s for 1 s is taken as 472.5 * 256 = 120960 pages of 4 KiB. */
static const char session[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}}, "
    "\"capabilities\": [\"oob\"]}}\n"
    "{\"return\": {}}\n"
    "{\"return\": {}}\n"
    "{\"return\": {\"status\": \"measured\", \"sample-pages\": 512, \"dirty-rate\": 470, "
    "\"mode\": \"page-sampling\", \"start-time\": 100, \"calc-time\": 1}}\n"
    "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\n"
    "{\"return\": {\"status\": \"measured\", \"sample-pages\": 512, \"dirty-rate\": 474, "
    "\"mode\": \"page-sampling\", \"start-time\": 102, \"calc-time\": 1}}\n"
    "{\"return\": {\"status\": \"measured\", \"sample-pages\": 0, \"dirty-rate\": 179, "
    "\"mode\": \"dirty-bitmap\", \"start-time\": 104, \"calc-time\": 10}}\n";

static void test_json_session(void **state) {
  (void)state;
  write_file(path_of("s.json"), session);
  wl_curve_point *p = NULL;
  size_t n = 0;
  assert_int_equal(wl_curve_import(path_of("s.json"), 4096, &p, &n), 0);
  assert_int_equal(n, 2);
  /* The two 1 s results are averaged: (470 + 474) / 2 MiB/s. */
  assert_true(p[0].period_s == 1.0);
  assert_int_equal(p[0].results, 2);
  assert_true(fabs(p[0].dirty_pages - 472.5 * 256) < 1e-6);
  assert_true(p[1].period_s == 10.0);
  assert_true(fabs(p[1].dirty_pages - 179.5 * 10 * 256) < 1e-6);
  char *spec = NULL;
  assert_int_equal(wl_curve_spec_format(p, n, 0, 0, &spec), 0);
  assert_string_equal(spec, "curve:points=1s@120960+10s@459520");
  free(spec);
  /* With 8 KiB pages the same MiB are half as many pages. */
  free(p);
  assert_int_equal(wl_curve_import(path_of("s.json"), 8192, &p, &n), 0);
  assert_true(fabs(p[0].dirty_pages - 472.5 * 128) < 1e-6);
  free(p);
}

static void test_json_array_and_single(void **state) {
  (void)state;
  write_file(path_of("a.json"),
             "[{\"status\": \"measured\", \"dirty-rate\": 2, \"calc-time\": 2},\n"
             " {\"status\": \"measured\", \"dirty-rate\": 4, \"calc-time\": 1}]");
  wl_curve_point *p = NULL;
  size_t n = 0;
  assert_int_equal(wl_curve_import(path_of("a.json"), 4096, &p, &n), 0);
  assert_int_equal(n, 2);
  assert_true(p[0].period_s == 1 && p[0].dirty_pages == 4.5 * 256);
  assert_true(p[1].period_s == 2 && p[1].dirty_pages == 2.5 * 2 * 256);
  free(p);
  json_t *one = json_pack("{s:s, s:i, s:i, s:s, s:i}", "status", "measured", "dirty-rate", 0,
                          "calc-time", 5, "mode", "page-sampling", "sample-pages", 16384);
  wl_dirty_result r;
  assert_int_equal(wl_dirty_result_parse(one, 4096, &r), 0);
  assert_true(r.dirty_pages == 0); /* nothing measured: no half MiB added */
  assert_int_equal(r.sample_pages, 16384);
  assert_string_equal(r.mode, "page-sampling");
  json_decref(one);
}

static void test_csv(void **state) {
  (void)state;
  write_file(path_of("p.csv"), "# from a published curve\n1s,120832\n10s,458752\n"
                               "60,1514496 # last\n\n500ms,64MiB\n");
  wl_curve_point *p = NULL;
  size_t n = 0;
  assert_int_equal(wl_curve_import(path_of("p.csv"), 4096, &p, &n), 0);
  assert_int_equal(n, 4);
  assert_true(p[0].period_s == 0.5 && p[0].dirty_pages == 16384);
  assert_true(p[3].period_s == 60 && p[3].dirty_pages == 1514496);
  char *spec = NULL;
  assert_int_equal(wl_curve_spec_format(p, n, 300000, 8392704, &spec), 0);
  assert_string_equal(spec, "curve:points=500ms@16384+1s@120832+10s@458752+60s@1514496,"
                            "rate=300000,wss=8392704");
  free(spec);
  free(p);
  write_file(path_of("r.csv"), "period,dirty_rate\n1,472\n2s,1GiB/s\n");
  assert_int_equal(wl_curve_import(path_of("r.csv"), 4096, &p, &n), 0);
  assert_true(p[0].dirty_pages == 120832 && p[1].dirty_pages == 2 * 262144);
  free(p);
}

static void test_bad_files(void **state) {
  (void)state;
  static const struct {
    const char *text, *words;
  } cases[] = {
      {"{\"return\": {\"status\": \"measuring\", \"calc-time\": 1}}", "JSON value 1|measuring"},
      {"{\"status\": \"measured\", \"calc-time\": 1}", "dirty-rate"},
      {"{\"status\": \"measured\", \"dirty-rate\": 5}", "calc-time"},
      {"{\"status\": \"measured\", \"dirty-rate\": 5, \"calc-time\": 1", "line 1"},
      {"{\"status\": \"measured\", \"dirty-rate\": 5, \"calc-time\": 1}\n\n{\"return\": [}",
       "line 3"},
      {"1s,100\n2s,abc\n", "line 2"},
      {"1s,100,7\n", "line 1|2 fields"},
      {"period,pages\n1,2\n", "dirty_pages or dirty_rate"},
      {"0s,100\n", "line 1|> 0"},
      {"# nothing\n", "no measurements"},
      {"{\"QMP\": {}}\n{\"return\": {}}\n", "no measurements"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_file(path_of("bad"), cases[i].text);
    wl_curve_point *p = (wl_curve_point *)1;
    size_t n = 7;
    assert_true(wl_curve_import(path_of("bad"), 4096, &p, &n) < 0);
    assert_null(p);
    assert_int_equal(n, 0);
    char words[64];
    snprintf(words, sizeof words, "%s", cases[i].words);
    for (char *w = strtok(words, "|"); w; w = strtok(NULL, "|"))
      if (!strstr(sim_error_message(), w))
        fail_msg("case %zu: '%s' lacks '%s'", i, sim_error_message(), w);
  }
  wl_curve_point *p = NULL;
  size_t n = 0;
  assert_int_equal(wl_curve_import(path_of("absent"), 4096, &p, &n), SIM_EIO);
}

/* The command: spec on stdout, fit on stderr, exit 2 with one line for a
 * curve no stationary guest can have. */
static void test_command(void **state) {
  (void)state;
  write_file(path_of("s.json"), session);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s trace curve %s --memory 32GiB >%s 2>%s", MIGSIM_BIN,
           path_of("s.json"), path_of("out"), path_of("err"));
  int st = system(cmd);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  FILE *f = fopen(path_of("out"), "r");
  assert_non_null(f);
  char line[256] = "";
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  assert_string_equal(line, "curve:points=1s@120960+10s@459520,wss=8388608\n");
  /* The printed spec is one the generator accepts. */
  line[strcspn(line, "\n")] = '\0';
  wl_curve *model = NULL;
  assert_int_equal(wl_curve_open(line, 8388608, 0, &model), 0);
  assert_true(fabs(wl_curve_expected(model, 10.0) - 459520) < 0.01 * 459520);
  wl_curve_free(model);

  write_file(path_of("convex.csv"), "1s,100\n2s,1000\n");
  snprintf(cmd, sizeof cmd, "%s trace curve %s --pages 4096 >%s 2>%s", MIGSIM_BIN,
           path_of("convex.csv"), path_of("out"), path_of("err"));
  st = system(cmd);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
  f = fopen(path_of("err"), "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  assert_non_null(strstr(line, "concave"));
}

int main(void) {
  sim_install_gsl_handler();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_session),
      cmocka_unit_test(test_json_array_and_single),
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_command),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
