/* test_progress: long commands report progress on stderr when it is not a
 * terminal (CI logs): plain lines with done/total, rate and ETA, no
 * carriage returns; --quiet silences them. MIGSIM_PROGRESS_S=0 makes every
 * update due, so short runs print too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

static int count(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++) n++;
  return n;
}

static void test_sweep_lines(void **state) {
  (void)state;
  char err[16384];
  setenv("MIGSIM_PROGRESS_S", "0", 1);
  int rc = migsim(err, sizeof err, "sweep --workload uniform:wss=1024,rate=1000 --memory 64MiB --seed 1,2,3,4 "
                  "--jobs 1 --out %s/sweep", tmpdir);
  assert_int_equal(rc, 0);
  for (int k = 1; k <= 4; k++) {
    char want[64];
    snprintf(want, sizeof want, "sweep: %d/4 runs, ", k);
    assert_int_equal(count(err, want), 1);
  }
  assert_non_null(strstr(err, " runs/s, "));
  assert_null(strchr(err, '\r'));
  /* Resumed: the skipped runs are counted as such. */
  rc = migsim(err, sizeof err, "sweep --workload uniform:wss=1024,rate=1000 --memory 64MiB --seed 1,2,3,4,5 "
              "--jobs 1 --out %s/sweep", tmpdir);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "sweep: 5/5 runs (4 skipped), "));
  rc = migsim(err, sizeof err, "sweep --workload uniform:wss=1024,rate=1000 --memory 64MiB --seed 1,2 --quiet "
              "--out %s/sweep-quiet", tmpdir);
  assert_int_equal(rc, 0);
  assert_string_equal(err, "");
  unsetenv("MIGSIM_PROGRESS_S");
}

static void test_regress_lines(void **state) {
  (void)state;
  char err[16384];
  setenv("MIGSIM_PROGRESS_S", "0", 1);
  int rc = migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate qemu-7.2 --workload uniform:wss=1024,rate=1000 "
                  "--memory 64MiB --repeat 3 --out %s/regress", tmpdir);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "regress: 1/6 runs, "));
  assert_non_null(strstr(err, "regress: 6/6 runs, "));
  rc = migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate qemu-7.2 --workload uniform:wss=1024,rate=1000 "
              "--memory 64MiB --repeat 3 --out %s/regress --quiet", tmpdir);
  assert_int_equal(rc, 0);
  assert_string_equal(err, "");
  /* The default period is seconds: a short run prints nothing. */
  unsetenv("MIGSIM_PROGRESS_S");
  rc = migsim(err, sizeof err, "regress --baseline qemu-7.2 --candidate qemu-7.2 --workload uniform:wss=1024,rate=1000 "
              "--memory 64MiB --repeat 3 --out %s/regress", tmpdir);
  assert_int_equal(rc, 0);
  assert_null(strstr(err, "runs/s"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sweep_lines),
      cmocka_unit_test(test_regress_lines),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
