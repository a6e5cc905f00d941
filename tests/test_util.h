/* test_util: helpers shared by the cmocka test files (header only).
 *
 * Each test program gets a private temporary folder, `tmpdir`, made by
 * setup_dir (pass it as the group setup) and removed with everything in it
 * by teardown_dir. */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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

#ifdef MIGSIM_BIN
/* Runs `migsim ARGS` through the shell (result folders unsynced: tests
 * need no durability), stdout discarded, stderr in err; returns the exit
 * status (-1 when killed by a signal). */
static inline int migsim(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int migsim(char *err, size_t errlen, const char *fmt, ...) {
  char args[8192], cmd[16384], errpath[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(errpath, sizeof errpath, "%s/stderr.txt", tmpdir);
  snprintf(cmd, sizeof cmd, "MIGSIM_FSYNC=0 %s %s >/dev/null 2>%s", MIGSIM_BIN, args, errpath);
  int st = system(cmd);
  if (err) {
    FILE *f = fopen(errpath, "r");
    size_t n = f ? fread(err, 1, errlen - 1, f) : 0;
    err[n] = '\0';
    if (f) fclose(f);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
#endif

/* The whole file as a NUL-terminated string (malloc'ed), NULL if it cannot
 * be opened. */
static inline char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return NULL;
  }
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Fails the test unless the file at `path` holds `needle`. */
static inline void assert_file_has(const char *path, const char *needle) {
  char *text = slurp(path);
  if (!text) fail_msg("cannot read %s", path);
  int found = strstr(text, needle) != NULL;
  free(text);
  if (!found) fail_msg("%s does not hold \"%s\"", path, needle);
}

/* The docs carry the program's own tables: every line of `generated` (a
 * malloc'ed text, freed here) must appear in one of the files `docs`
 * (paths under the source tree, NULL-terminated); `how` says how to
 * regenerate them. */
static inline void assert_docs_carry(char *generated, const char *const *docs, const char *how) {
  assert_non_null(generated);
  char *text[4] = {0};
  size_t nd = 0;
  for (; docs[nd]; nd++) {
    char path[1024];
    assert_true(nd < 4);
    snprintf(path, sizeof path, "%s/%s", MIGSIM_SOURCE_DIR, docs[nd]);
    text[nd] = slurp(path);
    assert_non_null(text[nd]);
  }
  for (char *line = strtok(generated, "\n"); line; line = strtok(NULL, "\n")) {
    size_t k = 0;
    while (k < nd && !strstr(text[k], line)) k++;
    if (k == nd) fail_msg("%s lacks the row: %s (rerun %s)", docs[0], line, how);
  }
  for (size_t k = 0; k < nd; k++) free(text[k]);
  free(generated);
}

#endif
