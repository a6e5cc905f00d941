/* test_proc_maps: the recorder's /proc/PID/maps parser (workloads/wl_maps.c)
 * on known text: every field of realistic lines (paths with spaces,
 * " (deleted)", kernel names, the top of the address space), which lines
 * the recorder scans, and each kind of malformed line rejected with a
 * one-line message naming the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sim_err.h"
#include "wl_maps.h"

#define MAX_ENTRIES 64

typedef struct {
  wl_maps_entry e[MAX_ENTRIES];
  char path[MAX_ENTRIES][128];
  size_t count;
  size_t stop_at; /* return 7 from this call (1-based), 0: never */
} collected;

static int collect(void *ctx, const wl_maps_entry *e) {
  collected *c = ctx;
  assert_true(c->count < MAX_ENTRIES);
  assert_true(e->path_len < sizeof c->path[0]);
  c->e[c->count] = *e;
  memcpy(c->path[c->count], e->path, e->path_len);
  c->path[c->count][e->path_len] = '\0';
  c->count++;
  return c->count == c->stop_at ? 7 : 0;
}

static int parse(const char *text, collected *c) {
  memset(c, 0, sizeof *c);
  sim_error_clear();
  return wl__maps_parse(text, strlen(text), "/proc/42/maps", collect, c);
}

/* A process with a file mapped from a path with spaces, a heap, a deleted
 * shared memfd, a nameless mapping (with the space older kernels leave),
 * the stack, the special mappings and the vsyscall page. */
static const char realistic[] =
    "55d0c6a00000-55d0c6a21000 r--p 00000000 fd:01 1835028                    /opt/my app/bin/qemu system\n"
    "55d0c6a21000-55d0c6a42000 rw-p 00021000 fd:01 1835028                    /opt/my app/bin/qemu system\n"
    "55d0c7e3a000-55d0c7e5b000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f1c2a000000-7f1c4a000000 rw-s 00000000 00:05 3145733                    /memfd:guest-ram (deleted)\n"
    "7f1c4b000000-7f1c4b200000 rw-p 00000000 00:00 0 \n"
    "7f1c4c000000-7f1c4c001000 rw-p 00000000 00:00 0                          [anon:guard pages]\n"
    "7f1c4d000000-7f1c4d010000 rw-p 000ff000 103:0a 18446744073709551615      /var/lib/data (deleted)\n"
    "7ffd1c5f2000-7ffd1c613000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd1c7f6000-7ffd1c7fa000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd1c7fa000-7ffd1c7fc000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

static void test_fields(void **state) {
  (void)state;
  collected c;
  assert_int_equal(parse(realistic, &c), 0);
  assert_int_equal(c.count, 11);
  for (size_t i = 0; i < c.count; i++) assert_int_equal(c.e[i].line, i + 1);

  assert_true(c.e[0].start == 0x55d0c6a00000ull && c.e[0].end == 0x55d0c6a21000ull);
  assert_true(c.e[0].readable && !c.e[0].writable && !c.e[0].executable && !c.e[0].shared);
  assert_int_equal(c.e[0].dev_major, 0xfd);
  assert_int_equal(c.e[0].dev_minor, 1);
  assert_true(c.e[0].inode == 1835028);
  assert_string_equal(c.path[0], "/opt/my app/bin/qemu system");

  assert_true(c.e[1].offset == 0x21000);
  assert_true(c.e[1].readable && c.e[1].writable && !c.e[1].shared);
  assert_string_equal(c.path[2], "[heap]");

  assert_true(c.e[3].shared && c.e[3].writable);
  assert_true(c.e[3].end - c.e[3].start == 512ull << 20);
  assert_int_equal(c.e[3].dev_minor, 5);
  assert_string_equal(c.path[3], "/memfd:guest-ram (deleted)");

  assert_int_equal(c.e[4].path_len, 0); /* only the trailing space */
  assert_string_equal(c.path[5], "[anon:guard pages]");

  assert_true(c.e[6].offset == 0xff000);
  assert_int_equal(c.e[6].dev_major, 0x103);
  assert_int_equal(c.e[6].dev_minor, 0xa);
  assert_true(c.e[6].inode == UINT64_MAX);
  assert_string_equal(c.path[6], "/var/lib/data (deleted)");

  assert_string_equal(c.path[7], "[stack]");
  assert_true(c.e[8].readable && !c.e[8].writable);
  assert_true(c.e[9].executable && !c.e[9].writable);

  assert_true(c.e[10].start == 0xffffffffff600000ull && c.e[10].end == 0xffffffffff601000ull);
  assert_true(!c.e[10].readable && !c.e[10].writable && c.e[10].executable);
  assert_string_equal(c.path[10], "[vsyscall]");
}

/* Which lines the recorder scans, and which of those read as zero where
 * not resident. */
static void test_scanned(void **state) {
  (void)state;
  collected c;
  assert_int_equal(parse(realistic, &c), 0);
  /* -1: not scanned; else anon_private. Index = line - 1. */
  static const int with_shared[11] = {-1, 0, 1, 0, 1, 1, 0, 1, -1, -1, -1};
  for (int exclude = 0; exclude <= 1; exclude++) {
    for (size_t i = 0; i < c.count; i++) {
      int anon = -5;
      int expect = with_shared[i];
      if (exclude && c.e[i].shared) expect = -1;
      int scanned = wl__maps_scanned(&c.e[i], exclude, &anon);
      if (scanned != (expect >= 0)) fail_msg("line %zu exclude %d: scanned %d", i + 1, exclude, scanned);
      if (scanned && anon != expect) fail_msg("line %zu: anon_private %d", i + 1, anon);
    }
  }
  /* The special mappings are skipped by name even when writable; a file
   * whose name merely starts like one is not. */
  const char *special =
      "1000-2000 rw-p 00000000 00:00 0 [vdso]\n"
      "2000-3000 rw-p 00000000 00:00 0 [vvar]\n"
      "3000-4000 rw-p 00000000 00:00 0 [vvar_vclock]\n"
      "4000-5000 rw-p 00000000 00:00 0 [vsyscall]\n"
      "5000-6000 rw-p 00000000 00:00 0 [vdso]x\n"
      "6000-7000 rw-p 00000000 08:01 77 /[vdso]\n";
  assert_int_equal(parse(special, &c), 0);
  assert_int_equal(c.count, 6);
  int anon = -5;
  for (size_t i = 0; i < 4; i++) assert_int_equal(wl__maps_scanned(&c.e[i], 0, &anon), 0);
  assert_int_equal(wl__maps_scanned(&c.e[4], 0, &anon), 1);
  assert_int_equal(anon, 1);
  assert_int_equal(wl__maps_scanned(&c.e[5], 0, &anon), 1);
  assert_int_equal(anon, 0);
}

/* Only `len` bytes are read; a last line without a newline counts; empty
 * text has no lines; a non-zero return from the callback stops. */
static void test_boundaries(void **state) {
  (void)state;
  collected c;
  assert_int_equal(parse("", &c), 0);
  assert_int_equal(c.count, 0);
  assert_int_equal(parse("1000-2000 rw-p 00000000 00:00 0", &c), 0);
  assert_int_equal(c.count, 1);
  assert_int_equal(c.e[0].path_len, 0);

  const char *two = "1000-2000 rw-p 00000000 00:00 0 /a b\nthis line is beyond len";
  memset(&c, 0, sizeof c);
  size_t len = (size_t)(strchr(two, '\n') - two);
  assert_int_equal(wl__maps_parse(two, len, "m", collect, &c), 0);
  assert_int_equal(c.count, 1);
  assert_string_equal(c.path[0], "/a b");
  /* With the newline, the parse goes on to the bad line. */
  memset(&c, 0, sizeof c);
  assert_int_equal(wl__maps_parse(two, strlen(two), "m", collect, &c), SIM_EFORMAT);

  memset(&c, 0, sizeof c);
  c.stop_at = 2;
  assert_int_equal(wl__maps_parse(realistic, strlen(realistic), "m", collect, &c), 7);
  assert_int_equal(c.count, 2);
}

/* Each malformed input is SIM_EFORMAT with one line naming the file, the
 * line number and what is wrong. */
static void test_errors(void **state) {
  (void)state;
  static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *line, *what;
  } cases[] = {
      {"garbage\n", 0, "/proc/42/maps:1:", "expected 'START-END PERMS"},
      {"1000-2000 rw-p 00000000 00:00 0\n\n1000-2000 rw-p 00000000 00:00 0\n", 0, ":2:", "empty line"},
      {"1000-2000 rw-p 00000000 00:00 0\n3000-2000 rw-p 00000000 00:00 0\n", 0, ":2:",
       "start 0x3000 is not below end 0x2000"},
      {"2000-2000 rw-p 00000000 00:00 0\n", 0, ":1:", "start 0x2000 is not below end 0x2000"},
      {"10000000000000000-2000 rw-p 00000000 00:00 0\n", 0, ":1:", "expected"},
      {"1000-10000000000002000 rw-p 00000000 00:00 0\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 10000000000000000 00:00 0\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 00000000 100000000:00 0\n", 0, ":1:", "expected"},
      {"-1000-2000 rw-p 00000000 00:00 0\n", 0, ":1:", "expected"},
      {" 1000-2000 rw-p 00000000 00:00 0\n", 0, ":1:", "expected"},
      {"0x1000-0x2000 rw-p 00000000 00:00 0\n", 0, ":1:", "expected"},
      {"1000-+2000 rw-p 00000000 00:00 0\n", 0, ":1:", "expected"},
      {"1000-2000 rwxq 00000000 00:00 0\n", 0, ":1:", "expected"},
      {"1000-2000 rw- 00000000 00:00 0\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 00000000 0000 0\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 00000000 00:00\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 00000000 00:00 18446744073709551616 /x\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 00000000 00:00 12a /x\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 0000000g 00:00 0\n", 0, ":1:", "expected"},
      {"1000-2000 rw-p 00000000 00:00 0\r\n", 0, ":1:", "in '1000-2000 rw-p 00000000 00:00 0?'"},
      {"1000-2000 rw-p 00000000 00:00 0 /a\0b\n", 36, ":1:", "NUL byte in '1000-2000 rw-p 00000000 00:00 0 /a?b'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    collected c;
    memset(&c, 0, sizeof c);
    sim_error_clear();
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
    int rc = wl__maps_parse(cases[i].text, len, "/proc/42/maps", collect, &c);
    if (rc != SIM_EFORMAT) fail_msg("case %zu: returned %d", i, rc);
    const char *msg = sim_error_message();
    if (strchr(msg, '\n') || strchr(msg, '\r')) fail_msg("case %zu: not one line: %s", i, msg);
    if (!strstr(msg, cases[i].line)) fail_msg("case %zu: '%s' lacks '%s'", i, msg, cases[i].line);
    if (!strstr(msg, cases[i].what)) fail_msg("case %zu: '%s' lacks '%s'", i, msg, cases[i].what);
  }

  /* A long line is quoted in part. */
  char text[400];
  snprintf(text, sizeof text, "1000-2000 rw-p 00000000 00:00 0 x%0300d", 0);
  text[31] = '!'; /* no space after the inode */
  sim_error_clear();
  collected c;
  memset(&c, 0, sizeof c);
  assert_int_equal(wl__maps_parse(text, strlen(text), "m", collect, &c), SIM_EFORMAT);
  assert_true(strlen(sim_error_message()) < 240);
  assert_non_null(strstr(sim_error_message(), "...'"));
}

typedef struct {
  size_t lines, stack, scanned;
} self_counts;

static int count_self(void *ctx, const wl_maps_entry *e) {
  self_counts *n = ctx;
  int anon;
  n->lines++;
  if (e->path_len == 7 && memcmp(e->path, "[stack]", 7) == 0) n->stack++;
  if (wl__maps_scanned(e, 0, &anon)) n->scanned++;
  return 0;
}

/* The parser reads this process's own maps: the stack is there, and the
 * recorder would scan something. */
static void test_self(void **state) {
  (void)state;
  FILE *f = fopen("/proc/self/maps", "r");
  assert_non_null(f);
  size_t cap = 1 << 20;
  char *text = malloc(cap);
  assert_non_null(text);
  size_t len = fread(text, 1, cap, f);
  fclose(f);
  assert_true(len > 0 && len < cap);
  self_counts n = {0, 0, 0};
  assert_int_equal(wl__maps_parse(text, len, "/proc/self/maps", count_self, &n), 0);
  assert_true(n.lines > 3);
  assert_int_equal(n.stack, 1);
  assert_true(n.scanned > 0);
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fields),     cmocka_unit_test(test_scanned),
      cmocka_unit_test(test_boundaries), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_self),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
