/* test_util: helpers shared by the cmocka test files (header only).
 *
 * Each test program gets a private temporary folder, `tmpdir`, made by
 * setup_dir (pass it as the group setup) and removed with everything in it
 * by teardown_dir. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static inline int setup_dir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/migsim-test-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static inline int test__remove(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static inline int teardown_dir(void **state) {
  (void)state;
  return nftw(tmpdir, test__remove, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes `text` to `path` (the test fails if it cannot). */
static inline void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

#endif
