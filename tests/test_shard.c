/* test_shard: a sweep split with --shard K/N and put back together with
 * `migsim merge` gives the single-process sweep's bytes; merges of the
 * wrong folders are refused with one line and exit 2; with MPI (a build
 * with mpi.h and mpirun in PATH) `mpirun -n 3 migsim sweep` does the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test_util.h"

/* 2 algorithms x 3 bandwidths x 2 seeds (--repeat 2): 12 runs, which 3
 * shards split 4/4/4 and 5 shards unevenly (3/3/2/2/2). */
#define GRID "sweep --workload uniform:wss=2048,rate=3000,nonzero=1 --memory 32MiB --algo precopy,hybrid " \
             "--bandwidth 32MiB/s,64MiB/s,128MiB/s --repeat 2 --timeline --jsonl --quiet"

static const char *const files[] = {"summary.csv", "rounds.csv", "timeline.csv", "aggregate.csv",
                                    "summary.jsonl", "migsim-folder.txt"};

static void assert_same_folder(const char *a, const char *b) {
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
    snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
    char *ta = slurp(pa), *tb = slurp(pb);
    if (!ta || !tb || strcmp(ta, tb)) fail_msg("%s differs between %s and %s", files[i], a, b);
    free(ta);
    free(tb);
  }
}

static void single(void) {
  char err[2048];
  static int done;
  if (done) return;
  assert_int_equal(migsim(err, sizeof err, GRID " --out %s/single", tmpdir), 0);
  done = 1;
}

static void shards(const char *prefix, unsigned n) {
  char err[2048];
  for (unsigned k = 1; k <= n; k++)
    assert_int_equal(migsim(err, sizeof err, GRID " --shard %u/%u --out %s/%s%u", k, n, tmpdir, prefix, k), 0);
}

static void test_merge_is_the_single_sweep(void **state) {
  (void)state;
  char err[2048];
  single();
  shards("a", 3);
  /* Shards in any order on the command line. */
  assert_int_equal(migsim(err, sizeof err, "merge %s/m3 %s/a2 %s/a3 %s/a1 --quiet", tmpdir, tmpdir, tmpdir, tmpdir), 0);
  char a[256], b[256];
  snprintf(a, sizeof a, "%s/single", tmpdir);
  snprintf(b, sizeof b, "%s/m3", tmpdir);
  assert_same_folder(a, b);
  /* A shard holds only its part: runs 0, 3, 6, 9 of 12 for 1/3. */
  char p[512];
  snprintf(p, sizeof p, "%s/a1/summary.csv", tmpdir);
  char *t = slurp(p);
  assert_non_null(t);
  size_t rows = 0;
  for (char *c = t; *c; c++) rows += *c == '\n';
  assert_int_equal(rows, 1 + 4);
  free(t);
  /* Uneven shards: 12 runs over 5 shards of 3, 3, 2, 2 and 2 runs. */
  shards("b", 5);
  assert_int_equal(migsim(err, sizeof err, "merge %s/m5 %s/b1 %s/b2 %s/b3 %s/b4 %s/b5 --quiet", tmpdir, tmpdir, tmpdir,
                          tmpdir, tmpdir, tmpdir),
                   0);
  snprintf(b, sizeof b, "%s/m5", tmpdir);
  assert_same_folder(a, b);
  /* The merged folder is the sweep's: the same sweep into it resumes with
   * nothing to do and changes no byte. */
  assert_int_equal(migsim(err, sizeof err, GRID " --out %s/m5", tmpdir), 0);
  assert_same_folder(a, b);
}

/* One line on stderr, exit 2, and the message names the fault. */
static void assert_refused(const char *err, int rc, const char *needle) {
  assert_int_equal(rc, 2);
  if (!strstr(err, needle)) fail_msg("expected '%s' in: %s", needle, err);
  const char *nl = strchr(err, '\n');
  assert_true(nl && nl[1] == '\0');
}

/* Rewrites file `p` without its last row; returns its whole text (to
 * restore it) and, in *last, where that row starts in it. */
static char *drop_last_row(const char *p, char **last) {
  char *t = slurp(p);
  assert_non_null(t);
  char *l = t + strlen(t) - 1;
  while (l > t && l[-1] != '\n') l--;
  char *cut = strndup(t, (size_t)(l - t));
  write_file(p, cut);
  free(cut);
  *last = l;
  return t;
}

static void test_merge_refusals(void **state) {
  (void)state;
  char err[2048];
  int rc;
  shards("r", 3);
  /* A shard missing. */
  rc = migsim(err, sizeof err, "merge %s/x1 %s/r1 %s/r2", tmpdir, tmpdir, tmpdir);
  assert_refused(err, rc, "shard 3/3 is missing");
  /* A shard given twice (the same folder, or a copy of it). */
  rc = migsim(err, sizeof err, "merge %s/x2 %s/r1 %s/r2 %s/r2", tmpdir, tmpdir, tmpdir, tmpdir);
  assert_refused(err, rc, "shard 2/3 given twice");
  /* A shard of another grid (other bandwidths), same K/N. */
  assert_int_equal(migsim(err, sizeof err,
                          "sweep --workload uniform:wss=2048,rate=3000,nonzero=1 --memory 32MiB --algo precopy,hybrid "
                          "--bandwidth 32MiB/s,64MiB/s,256MiB/s --repeat 2 --timeline --jsonl --quiet --shard 3/3 --out %s/o3",
                          tmpdir),
                   0);
  rc = migsim(err, sizeof err, "merge %s/x3 %s/r1 %s/r2 %s/o3", tmpdir, tmpdir, tmpdir, tmpdir);
  assert_refused(err, rc, "different grids");
  /* Shards of another split of the same grid. */
  shards("q", 2);
  rc = migsim(err, sizeof err, "merge %s/x4 %s/r1 %s/q2 %s/r3", tmpdir, tmpdir, tmpdir, tmpdir);
  assert_refused(err, rc, "different grids");
  /* A folder that is not a shard (a whole sweep). */
  single();
  rc = migsim(err, sizeof err, "merge %s/x5 %s/single", tmpdir, tmpdir);
  assert_refused(err, rc, "not a sweep shard folder");
  /* A shard with a run missing (its last summary row cut, as an
   * interrupted shard leaves it). */
  char p[512];
  snprintf(p, sizeof p, "%s/r2/summary.csv", tmpdir);
  char *last;
  char *t = drop_last_row(p, &last);
  size_t len = strlen(t);
  rc = migsim(err, sizeof err, "merge %s/x6 %s/r1 %s/r2 %s/r3", tmpdir, tmpdir, tmpdir, tmpdir);
  assert_refused(err, rc, "holds 3 runs, its part of the grid is 4");
  /* A run duplicated in place of another: the count is right, the ids
   * are not the grid's. */
  char *first = strchr(t, '\n') + 1; /* the first data row */
  char *second = strchr(first, '\n') + 1;
  size_t head = (size_t)(second - t);
  char *dup = malloc(len + (size_t)(second - first) + 1);
  assert_non_null(dup);
  memcpy(dup, t, head);
  memcpy(dup + head, first, (size_t)(second - first));
  memcpy(dup + head + (size_t)(second - first), second, (size_t)(last - second));
  dup[head + (size_t)(second - first) + (size_t)(last - second)] = '\0';
  write_file(p, dup);
  rc = migsim(err, sizeof err, "merge %s/x7 %s/r1 %s/r2 %s/r3", tmpdir, tmpdir, tmpdir, tmpdir);
  assert_refused(err, rc, "not those of their grid");
  write_file(p, t);
  free(dup);
  free(t);
  /* rounds.csv cut at a row's end: it still parses, but a run lost a
   * round. */
  snprintf(p, sizeof p, "%s/r2/rounds.csv", tmpdir);
  t = drop_last_row(p, &last);
  rc = migsim(err, sizeof err, "merge %s/x10 %s/r1 %s/r2 %s/r3", tmpdir, tmpdir, tmpdir, tmpdir);
  assert_refused(err, rc, "the shard is damaged");
  write_file(p, t);
  free(t);
  /* Bad --shard values. */
  rc = migsim(err, sizeof err, GRID " --shard 4/3 --out %s/x8", tmpdir);
  assert_refused(err, rc, "--shard 4/3");
  rc = migsim(err, sizeof err, GRID " --shard 0/3 --out %s/x8", tmpdir);
  assert_refused(err, rc, "--shard 0/3");
  /* The restored shard merges again. */
  assert_int_equal(migsim(err, sizeof err, "merge %s/x9 %s/r1 %s/r2 %s/r3 --quiet", tmpdir, tmpdir, tmpdir, tmpdir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_merge_is_the_single_sweep),
      cmocka_unit_test(test_merge_refusals),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
