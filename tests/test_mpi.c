/* test_mpi: `mpirun -n 3 migsim sweep` writes the bytes of a
 * single-process sweep (rank r runs shard r+1/3, rank 0 merges). Skipped
 * (exit 77, ctest "Not Run") when migsim was built without MPI or mpirun
 * is not in PATH. Also prints, without asserting, the wall time of a
 * larger sweep on 1 and 2 ranks when MIGSIM_MPI_TIMING=RUNS is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "test_util.h"

#define GRID "sweep --workload uniform:wss=2048,rate=3000,nonzero=1 --memory 32MiB --algo precopy,hybrid " \
             "--bandwidth 32MiB/s,64MiB/s,128MiB/s --repeat 2 --timeline --jsonl --quiet"
#define MPIRUN "mpirun --oversubscribe --allow-run-as-root"

static const char *const files[] = {"summary.csv", "rounds.csv", "timeline.csv", "aggregate.csv",
                                    "summary.jsonl", "migsim-folder.txt"};

/* Runs a shell command with MIGSIM_FSYNC=0; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_mpirun_is_the_single_sweep(void **state) {
  (void)state;
  char err[2048];
  assert_int_equal(migsim(err, sizeof err, GRID " --out %s/single", tmpdir), 0);
  assert_int_equal(sh("MIGSIM_FSYNC=0 " MPIRUN " -n 3 %s " GRID " --jobs 1 --out %s/mpi >%s/mpi.log 2>&1", MIGSIM_BIN,
                      tmpdir, tmpdir),
                   0);
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/single/%s", tmpdir, files[i]);
    snprintf(pb, sizeof pb, "%s/mpi/%s", tmpdir, files[i]);
    char *ta = slurp(pa), *tb = slurp(pb);
    if (!ta || !tb || strcmp(ta, tb)) fail_msg("%s differs between the single sweep and mpirun -n 3", files[i]);
    free(ta);
    free(tb);
  }
  /* The ranks' shard folders are gone after the merge. */
  char p[512];
  for (int r = 0; r < 3; r++) {
    snprintf(p, sizeof p, "%s/mpi.rank-%d-of-3", tmpdir, r);
    assert_int_not_equal(access(p, F_OK), 0);
  }
  /* Again: the folder is the sweep's, it resumes with nothing to do. */
  assert_int_equal(sh("MIGSIM_FSYNC=0 " MPIRUN " -n 2 %s " GRID " --jobs 1 --out %s/mpi >%s/mpi.log 2>&1", MIGSIM_BIN,
                      tmpdir, tmpdir),
                   0);
  snprintf(p, sizeof p, "%s/single/summary.csv", tmpdir);
  char *ta = slurp(p);
  snprintf(p, sizeof p, "%s/mpi/summary.csv", tmpdir);
  char *tb = slurp(p);
  assert_non_null(ta);
  assert_non_null(tb);
  assert_string_equal(ta, tb);
  free(ta);
  free(tb);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time of a sweep of about RUNS idle-guest runs on 1 and 2 ranks
 * (one thread each), printed, not asserted: the machine is shared. */
static void test_timing(void **state) {
  (void)state;
  const char *runs = getenv("MIGSIM_MPI_TIMING");
  if (!runs) skip();
  long n = atol(runs) / 100;
  if (n < 1) n = 1;
  char grid[256];
  snprintf(grid, sizeof grid,
           "sweep --workload idle --memory 4MiB --algo precopy,postcopy --bandwidth 32MiB/s,64MiB/s,128MiB/s,256MiB/s,512MiB/s "
           "--downtime-limit 100ms,200ms,300ms,400ms,500ms,600ms,700ms,800ms,900ms,1000ms --repeat %ld --quiet --jobs 1",
           n);
  for (int ranks = 1; ranks <= 2; ranks++) {
    double t0 = now_s();
    assert_int_equal(sh("MIGSIM_FSYNC=0 " MPIRUN " -n %d %s %s --out %s/t%d >%s/t.log 2>&1", ranks, MIGSIM_BIN, grid,
                        tmpdir, ranks, tmpdir),
                     0);
    print_message("mpi timing: %ld runs on %d rank(s): %.2f s\n", 100 * n, ranks, now_s() - t0);
  }
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/t1/summary.csv", tmpdir);
  snprintf(b, sizeof b, "%s/t2/summary.csv", tmpdir);
  char *ta = slurp(a), *tb = slurp(b);
  assert_non_null(ta);
  assert_non_null(tb);
  assert_string_equal(ta, tb);
  free(ta);
  free(tb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mpirun_is_the_single_sweep),
      cmocka_unit_test(test_timing),
  };
#ifndef MIGSIM_HAVE_MPI
  printf("test_mpi: skipped: migsim was built without MPI (install libopenmpi-dev, reconfigure)\n");
  return 77;
#endif
  if (system("command -v mpirun >/dev/null 2>&1") != 0) {
    printf("test_mpi: skipped: mpirun not in PATH (install openmpi-bin)\n");
    return 77;
  }
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
