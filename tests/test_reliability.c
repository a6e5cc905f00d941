/* test_reliability: hostile and careless inputs, end to end through the
 * built binary (MIGSIM_BIN), and the result-folder contract: each case
 * once made migsim crash, hang, misread a file, or duplicate or tear
 * result rows (docs/results.md, docs/scenarios.md). */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mdl_ini.h"
#include "mdl_profile.h"
#include "mdl_scenario.h"
#include "res_output.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_units.h"
#include "test_util.h"


/* The message is one line that names every given fragment. */
static void one_line_naming(const char *err, const char *a, const char *b) {
  const char *nl = strchr(err, '\n');
  assert_non_null(nl);
  assert_int_equal(nl[1], '\0');
  if (a && !strstr(err, a)) fail_msg("'%s' not in: %s", a, err);
  if (b && !strstr(err, b)) fail_msg("'%s' not in: %s", b, err);
}

static char *path_in(char *buf, size_t len, const char *name) {
  snprintf(buf, len, "%s/%s", tmpdir, name);
  return buf;
}


static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* Cell `col` (0-based) of the first data row of a summary.csv without
 * quoted fields before it. */
static void summary_cell(const char *dir, const char *column, char *out, size_t len) {
  char p[512];
  snprintf(p, sizeof p, "%s/summary.csv", dir);
  char *text = slurp(p);
  assert_non_null(text);
  char *row = strchr(text, '\n') + 1;
  int col = -1, i = 0;
  for (char *h = text, *end; h < row - 1; h = end + 1, i++) {
    end = h + strcspn(h, ",\n");
    if ((size_t)(end - h) == strlen(column) && !strncmp(h, column, (size_t)(end - h))) col = i;
  }
  assert_true(col >= 0);
  char *c = row;
  for (i = 0; i < col; i++) {
    if (*c == '"') c = strchr(c + 1, '"') + 1; /* no "" inside in these tests */
    c = strchr(c, ',') + 1;
  }
  size_t n = strcspn(c, ",\n");
  snprintf(out, len, "%.*s", (int)n, c);
  free(text);
}

/* ---------------------------------------------------- found 1: profiles */

static void test_profile_ranges(void **state) {
  (void)state;
  static const char *const bad[][2] = {{"step_check_pages = 0", "step_check_pages"},
                                       {"normal_page_ns = 1e300", "normal_page_ns"},
                                       {"sync_ns_per_gib = 1e300", "sync_ns_per_gib"},
                                       {"page_header_bytes = 4294967295", "page_header_bytes"},
                                       {"window = 0", "window"},
                                       {"chunk_pages = 0", "chunk_pages"},
                                       {"link = 0", "link"},
                                       {"vcpu_halt_min_ns = -1", "vcpu_halt_min_ns"}};
  char err[2048], p[512], out[512];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[256];
    snprintf(text, sizeof text, "[profile]\n%s\n", bad[i][0]);
    write_file(path_in(p, sizeof p, "bad.ini"), text);
    assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 4MiB --profile %s --out %s", p,
                            path_in(out, sizeof out, "prof")),
                     2);
    one_line_naming(err, bad[i][1], "valid:");
    assert_false(exists(path_in(out, sizeof out, "prof/summary.csv")));
  }
  /* A VM description larger than the device state that includes it. */
  write_file(path_in(p, sizeof p, "bad.ini"), "[profile]\ndevice_state_bytes = 1000\nvmdesc_bytes = 2000\n");
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 4MiB --profile %s --out %s", p,
                          path_in(out, sizeof out, "prof")),
                   2);
  one_line_naming(err, "vmdesc_bytes=2000", "device_state_bytes=1000");
  assert_false(exists(path_in(out, sizeof out, "prof/summary.csv")));
  /* The same checks for profiles built in code. */
  mdl_profile prof = mdl_profile_qemu72;
  assert_int_equal(mdl_profile_validate(&prof), 0);
  prof.step_check_pages = 0;
  assert_int_equal(mdl_profile_validate(&prof), SIM_ERANGE);
  prof = mdl_profile_xen_classic;
  assert_int_equal(mdl_profile_validate(&prof), 0);
  prof.xen_min_rate = 0;
  assert_int_equal(mdl_profile_validate(&prof), SIM_ERANGE);
  assert_int_equal(mdl_profile_set(&prof, "normal_page_ns", "1e300"), SIM_ERANGE);
  assert_int_equal(mdl_profile_set(&prof, "normal_page_ns", "250"), 0);
  assert_true(prof.normal_page_ns == 250.0);
}

/* ------------------------------------------- found 2: rates and integers */

static void test_scenario_ranges(void **state) {
  (void)state;
  char err[2048], out[512];
  static const char *const bad[][2] = {{"--max-bandwidth 2e20", "max-bandwidth=2e20"},
                                       {"--max-bandwidth 1e300GiB/s", "max-bandwidth=1e300GiB/s"},
                                       {"--postcopy-bandwidth 1e300", "postcopy-bandwidth=1e300"},
                                       {"--latency 18446744073709", "latency=18446744073709"},
                                       {"--seed 1e17", "plain digits"},
                                       {"--seed 18446744073709551616", "too large"},
                                       {"--timeout 0", "timeout=0"},
                                       {"--downtime-limit 2001s", "downtime-limit"},
                                       {"--pages 2000000000000", "pages"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 4MiB %s --out %s", bad[i][0],
                            path_in(out, sizeof out, "r")),
                     2);
    one_line_naming(err, bad[i][1], NULL);
  }
  assert_false(exists(path_in(out, sizeof out, "r/summary.csv")));
  /* 2^53 + 1 is not a double: it must reach the results as written. */
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 4MiB --seed 9007199254740993 --out %s",
                          path_in(out, sizeof out, "seed")),
                   0);
  char cell[64];
  summary_cell(out, "seed", cell, sizeof cell);
  assert_string_equal(cell, "9007199254740993");
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  assert_int_equal(mdl_scenario_set(&s, "seed", "18446744073709551615"), 0);
  assert_true(s.seed == UINT64_MAX);
  assert_int_equal(mdl_scenario_set(&s, "duration", "-1"), SIM_ERANGE);
  /* Out-of-range values are not stored. */
  double before = s.max_bandwidth;
  assert_int_equal(mdl_scenario_set(&s, "max-bandwidth", "2e20"), SIM_ERANGE);
  assert_true(s.max_bandwidth == before);
  /* A struct filled by code is checked as a whole. */
  s.max_bandwidth = 1e300;
  snprintf(s.workload, sizeof s.workload, "idle");
  assert_int_equal(mdl_scenario_validate(&s), SIM_ERANGE);
  /* Unit parsing never converts out of range. */
  uint64_t u;
  assert_int_equal(sim_parse_duration("18446744073709551616", 1, &u), SIM_ERANGE);
  assert_int_equal(sim_parse_count("9007199254740993", &u), 0);
  assert_true(u == 9007199254740993ull);
  /* A trace whose metadata says duration_ns = -1 (with a blank). */
  char p[512];
  write_file(path_in(p, sizeof p, "neg.csv"), "# migsim-trace v1\n# pages=16\n# duration_ns= -1\ntime_ns,pfn,op\n0,1,w\n");
  assert_int_equal(migsim(err, sizeof err, "trace info %s", p), 2);
  one_line_naming(err, "duration_ns", NULL);
}

/* ------------------------------------------- found 3: scenario INI files */

static void test_ini_strict(void **state) {
  (void)state;
  char err[4096], p[512], out[512];
  /* An indented line is an entry of its own, never a continuation. */
  write_file(path_in(p, sizeof p, "indent.ini"), "[a]\nname = x\n  max-bandwidth = 1GiB/s\nworkload = idle\nmemory = 4MiB\n");
  assert_int_equal(migsim(err, sizeof err, "run --scenario %s --out %s", p, path_in(out, sizeof out, "indent")), 0);
  char cell[64];
  summary_cell(out, "max_bandwidth", cell, sizeof cell);
  assert_string_equal(cell, "1073741824");
  /* A comment longer than any buffer stays a comment. */
  char *long_comment = malloc(70000);
  assert_non_null(long_comment);
  int n = snprintf(long_comment, 70000, "[a]\nworkload = idle\nmemory = 4MiB\n; ");
  memset(long_comment + n, 'x', 65000);
  snprintf(long_comment + n + 65000, 70000 - (size_t)n - 65000, "algo = hybrid\n");
  write_file(path_in(p, sizeof p, "long.ini"), long_comment);
  free(long_comment);
  assert_int_equal(migsim(err, sizeof err, "run --scenario %s --out %s", p, path_in(out, sizeof out, "long")), 0);
  summary_cell(out, "algo", cell, sizeof cell);
  assert_string_equal(cell, "precopy");
  /* Structural errors name file:line; nothing is written. */
  static const char *const bad[][3] = {
      {"[a]\n[b]\nworkload = idle\n", "empty.ini:1", "no entries"},
      {"[a]\nworkload = idle\nworkload = idle\n", "dupkey.ini:3", "duplicate key 'workload'"},
      {"[a]\nworkload = idle\n[a]\nalgo = hybrid\n", "dupsec.ini:3", "duplicate section [a]"},
      {"[a]\nworkload = idle\nmemory = 4MiB\n[b]\nworkload = idle\nmax-bandwith = 1\n", "typo.ini:6",
       "max-bandwith"},
      {"[a]\nworkload idle\n", "noeq.ini:2", "key = value"},
      {"[a\nworkload = idle\n", "open.ini:1", "]"},
      /* an alias and its parameter in one section: which wins would be line order */
      {"[a]\nworkload = idle\nmemory = 4MiB\npages = 100\n", "alias.ini:4", "pages and memory (line 3) both set pages"},
  };
  static const char *const names[] = {"empty.ini", "dupkey.ini", "dupsec.ini", "typo.ini",
                                      "noeq.ini",  "open.ini",   "alias.ini"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_file(path_in(p, sizeof p, names[i]), bad[i][0]);
    assert_int_equal(migsim(err, sizeof err, "run --scenario %s --out %s", p, path_in(out, sizeof out, "bad")), 2);
    one_line_naming(err, bad[i][1], bad[i][2]);
    assert_false(exists(path_in(out, sizeof out, "bad/summary.csv")));
  }
  /* The reader itself: NUL bytes, CRLF, keys before any section. */
  mdl_ini ini;
  const char *crlf = "a = 1\r\n[s]\r\n b = two words \r\n";
  assert_int_equal(mdl_ini_parse("t.ini", crlf, strlen(crlf), &ini), 0);
  assert_int_equal(ini.count, 2);
  assert_string_equal(ini.entries[0].section, "");
  assert_string_equal(ini.entries[1].key, "b");
  assert_string_equal(ini.entries[1].value, "two words");
  assert_int_equal(ini.entries[1].line, 3);
  mdl_ini_free(&ini);
  assert_int_equal(mdl_ini_parse("t.ini", "a = 1\n\0b = 2\n", 13, &ini), SIM_EFORMAT);
  assert_non_null(strstr(sim_error_message(), "t.ini:2"));
}

/* ------------------------------------------------ found 4: result folders */

#define SWEEP_ARGS "sweep --workload uniform:wss=2048,rate=3000,nonzero=1 --memory 32MiB --algo precopy,postcopy,hybrid " \
                   "--max-bandwidth 16MiB/s,64MiB/s --timeline --jobs 2 --quiet"

static void sweep_files(const char *dir, char **files) {
  static const char *const names[] = {"summary.csv", "rounds.csv", "timeline.csv"};
  char p[600];
  for (int i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    files[i] = slurp(p);
    assert_non_null(files[i]);
  }
}

static void assert_same_folder(const char *a, const char *b) {
  char *fa[3], *fb[3];
  sweep_files(a, fa);
  sweep_files(b, fb);
  for (int i = 0; i < 3; i++) {
    assert_string_equal(fa[i], fb[i]);
    free(fa[i]);
    free(fb[i]);
  }
}

static void test_folder_transactions(void **state) {
  (void)state;
  char err[2048], clean[512], torn[512], p[600];
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", path_in(clean, sizeof clean, "clean")), 0);
  /* A kill after a run's rounds and timeline rows, before its summary row:
   * the orphan rows are cut on resume, never duplicated. */
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", path_in(torn, sizeof torn, "torn")), 0);
  snprintf(p, sizeof p, "%s/summary.csv", torn);
  char *summary = slurp(p);
  /* Drop the last summary row: its run's other rows become orphans. */
  char *last = summary + strlen(summary) - 1;
  while (last > summary && last[-1] != '\n') last--;
  *last = '\0';
  write_file(p, summary);
  free(summary);
  snprintf(p, sizeof p, "%s/rounds.csv", torn);
  FILE *f = fopen(p, "a");
  fputs("half a row without newline", f); /* and a torn tail */
  fclose(f);
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", torn), 0);
  assert_same_folder(clean, torn);
  /* The same command again adds nothing. */
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", torn), 0);
  assert_same_folder(clean, torn);

  /* A second writer is refused at once, naming the holder. */
  snprintf(p, sizeof p, "%s/.migsim-lock", torn);
  int fd = open(p, O_RDWR);
  assert_true(fd >= 0);
  assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", torn), 2);
  one_line_naming(err, "another migsim process", NULL);
  close(fd);

  /* Another grid is refused without --append / --force. */
  assert_int_equal(migsim(err, sizeof err, "sweep --workload idle --memory 4MiB --algo precopy,postcopy --quiet --out %s",
                          torn),
                   2);
  one_line_naming(err, "--append", "--force");
  assert_int_equal(migsim(err, sizeof err, "sweep --workload idle --memory 4MiB --algo precopy,postcopy --quiet --append --out %s",
                          torn),
                   0);
  /* The appended grid is known now: the same command resumes it. */
  assert_int_equal(migsim(err, sizeof err, "sweep --workload idle --memory 4MiB --algo precopy,postcopy --quiet --append --out %s",
                          torn),
                   0);
  assert_int_equal(migsim(err, sizeof err, "sweep --workload idle --memory 8MiB --algo precopy,postcopy --quiet --append --out %s",
                          torn),
                   0); /* memory is in the key: new ids, added */
  /* (Every parameter given to a sweep is in its keys, so two grids share a
   * key only through what a key cannot see, e.g. a changed profile file;
   * run --append below shows the refusal.) */
  assert_int_equal(migsim(err, sizeof err, "sweep --workload idle --memory 4MiB --algo precopy,postcopy --quiet --force --out %s",
                          torn),
                   0);
  snprintf(p, sizeof p, "%s/timeline.csv", torn);
  assert_false(exists(p)); /* force removed the old outputs */

  /* run: a rerun skips, a different scenario needs --append, a repeated
   * name is refused. */
  char r[512];
  path_in(r, sizeof r, "runs");
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 4MiB --out %s", r), 0);
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 4MiB --out %s", r), 0);
  assert_non_null(strstr(err, "skipped"));
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 8MiB --out %s", r), 2);
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 8MiB --append --out %s", r), 2);
  one_line_naming(err, "already in", "--name");
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 8MiB --append --name big --out %s", r), 0);
  snprintf(p, sizeof p, "%s/summary.csv", r);
  char *text = slurp(p);
  int rows = 0;
  for (char *c = text; *c; c++) rows += *c == '\n';
  assert_int_equal(rows, 3);
  free(text);
}

/* A full disk (here: a file size limit) leaves a folder that resumes to
 * the same bytes. */
static void test_folder_full_disk(void **state) {
  (void)state;
  char err[2048], clean[512], full[512];
  path_in(clean, sizeof clean, "clean-fd");
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", clean), 0);
  path_in(full, sizeof full, "full");
  for (rlim_t limit = 3000; limit < 60000; limit += 7000) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      struct rlimit rl = {limit, limit};
      setrlimit(RLIMIT_FSIZE, &rl);
      signal(SIGXFSZ, SIG_IGN); /* write fails with EFBIG, as with ENOSPC */
      char cmd[2048];
      snprintf(cmd, sizeof cmd, "MIGSIM_FSYNC=0 %s " SWEEP_ARGS " --out %s 2>/dev/null", MIGSIM_BIN, full);
      execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
      _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
  }
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", full), 0);
  assert_same_folder(clean, full);
}

/* A sweep killed with SIGKILL at 50 random points (half of them in the
 * middle of a write, half between a run's files) and resumed each time
 * ends with the bytes of an uninterrupted sweep. scripts/kill-anywhere.sh
 * does the same on a larger sweep with kills at random times too. */
static void test_kill_anywhere(void **state) {
  (void)state;
  char err[2048], clean[512], killed[512];
  path_in(clean, sizeof clean, "clean-kill");
  path_in(killed, sizeof killed, "killed");
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", clean), 0);
  unsigned seed = 12345, kills = 0, finished = 0;
  for (int i = 0; kills < 50 && i < 400; i++) {
    seed = seed * 1103515245u + 12345u;
    unsigned at = 1 + (seed >> 16) % 18; /* 6 runs x 3 files = 18 writes */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "MIGSIM_KILL_AT=%u MIGSIM_FSYNC=0 %s " SWEEP_ARGS " --out %s 2>/dev/null", at,
             MIGSIM_BIN, killed);
    int st = system(cmd);
    if (WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGKILL)) {
      kills++;
    } else {
      /* It got to the end: the result must already be right; start over
       * so that early points are hit again. */
      assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      assert_same_folder(clean, killed);
      finished++;
      snprintf(cmd, sizeof cmd, "rm -rf %s", killed);
      assert_int_equal(system(cmd), 0);
    }
  }
  print_message("kill-anywhere: %u kills, %u resumed sweeps ran to the end\n", kills, finished);
  assert_int_equal(kills, 50);
  assert_int_equal(migsim(err, sizeof err, SWEEP_ARGS " --out %s", killed), 0);
  assert_same_folder(clean, killed);
}

/* Run ids are never cut: a long key becomes a readable prefix + hash and
 * the name column keeps the whole key. */
static void test_long_run_ids(void **state) {
  (void)state;
  char id[RES_RUN_ID_MAX], key[2000];
  memset(key, 'k', sizeof key - 1);
  key[sizeof key - 1] = '\0';
  res_run_id(key, id);
  assert_true(strlen(id) < RES_RUN_ID_MAX);
  char id2[RES_RUN_ID_MAX];
  key[1500] = 'j'; /* differs far beyond the prefix */
  res_run_id(key, id2);
  assert_string_not_equal(id, id2);
  assert_string_equal(res_run_id("short", id), "short");

  char err[2048], out[512], name[1100];
  memset(name, 'n', 1000);
  name[1000] = '\0';
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --memory 4MiB --name %s --out %s", name,
                          path_in(out, sizeof out, "longname")),
                   0);
  char cell[1100];
  summary_cell(out, "name", cell, sizeof cell);
  assert_string_equal(cell, name);
  summary_cell(out, "run_id", cell, sizeof cell);
  assert_true(strlen(cell) < RES_RUN_ID_MAX && strchr(cell, '~'));
}

/* Summary cells hold the values used; missing values are empty. */
static void test_summary_values(void **state) {
  (void)state;
  char err[2048], out[512], cell[128];
  /* pages from the trace, link at the profile's default. */
  char tr[512];
  write_file(path_in(tr, sizeof tr, "t.csv"), "# migsim-trace v1\n# pages=300\ntime_ns,pfn,op\n0,1,w\n1000000,2,w\n");
  assert_int_equal(migsim(err, sizeof err, "run --trace %s --out %s", tr, path_in(out, sizeof out, "used")), 0);
  summary_cell(out, "pages", cell, sizeof cell);
  assert_string_equal(cell, "300");
  summary_cell(out, "memory_bytes", cell, sizeof cell);
  assert_string_equal(cell, "1228800");
  summary_cell(out, "link_bandwidth", cell, sizeof cell);
  assert_string_equal(cell, "1250000000");
  summary_cell(out, "downtime_over_limit", cell, sizeof cell);
  assert_string_equal(cell, "0");
  /* A run that cannot converge has no downtime. */
  assert_int_equal(migsim(err, sizeof err,
                          "run --workload uniform:wss=60000,rate=200000 --memory 256MiB --max-bandwidth 8MiB/s "
                          "--timeout 2s --out %s",
                          path_in(out, sizeof out, "nc")),
                   0);
  summary_cell(out, "status", cell, sizeof cell);
  assert_string_equal(cell, "not_converged");
  summary_cell(out, "downtime_ms", cell, sizeof cell);
  assert_string_equal(cell, "");
  summary_cell(out, "downtime_over_limit", cell, sizeof cell);
  assert_string_equal(cell, "");
  /* compare --no-plots after compare: the old plots go. */
  assert_int_equal(migsim(err, sizeof err, "compare --workload idle --memory 4MiB --links 1Gbit/s --out %s",
                          path_in(out, sizeof out, "cmp")),
                   0);
  char png[600];
  snprintf(png, sizeof png, "%s/total_time.png", out);
  assert_true(exists(png));
  assert_int_equal(migsim(err, sizeof err, "compare --workload idle --memory 4MiB --links 1Gbit/s --no-plots --out %s", out),
                   0);
  assert_false(exists(png));
}

/* ----------------------------------------------- found 5: output files */

static void test_output_files(void **state) {
  (void)state;
  char err[2048], tr[512], p[512];
  assert_int_equal(migsim(err, sizeof err, "trace gen uniform:wss=100,rate=1000 --memory 1MiB --duration 1s -o %s",
                          path_in(tr, sizeof tr, "small.mtr")),
                   0);
  path_in(p, sizeof p, "fifo");
  assert_int_equal(mkfifo(p, 0600), 0);
  assert_int_equal(migsim(err, sizeof err, "trace export %s %s", tr, p), 2);
  one_line_naming(err, "a FIFO", "refusing");
  struct stat st;
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  char target[512];
  path_in(target, sizeof target, "target.csv");
  write_file(target, "keep me\n");
  path_in(p, sizeof p, "link.csv");
  assert_int_equal(symlink(target, p), 0);
  assert_int_equal(migsim(err, sizeof err, "trace export %s %s", tr, p), 2);
  one_line_naming(err, "symbolic link", NULL);
  char *kept = slurp(target);
  assert_string_equal(kept, "keep me\n");
  free(kept);
  if (exists("/dev/full")) {
    assert_int_equal(migsim(err, sizeof err, "trace export %s /dev/full", tr), 2);
    one_line_naming(err, "a device", NULL);
    assert_int_equal(lstat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
  }
  /* "-" is standard output. */
  assert_int_equal(migsim(err, sizeof err, "trace export %s - | head -c 0", tr), 0);
  /* SIGTERM while writing: no temporary file is left behind. */
  char big[512], cmd[2048];
  path_in(big, sizeof big, "big.csv");
  snprintf(cmd, sizeof cmd, "exec %s trace gen uniform:rate=10000000 --memory 64MiB --duration 100000s -o %s", MIGSIM_BIN,
           big);
  pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  struct timespec ts = {0, 400 * 1000 * 1000};
  nanosleep(&ts, NULL);
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  assert_false(exists(big));
  char ls[1024];
  snprintf(ls, sizeof ls, "ls -a %s | grep -c 'big.csv.tmp' >/dev/null", tmpdir);
  assert_int_not_equal(WEXITSTATUS(system(ls)), 0);
  /* The library refuses as the CLI does. */
  assert_int_equal(sim_file_check_target("/dev/null"), SIM_EINVAL);
}

/* ----------------------------------------- found 6: tiny inputs, big cost */

static void test_resource_limits(void **state) {
  (void)state;
  char err[2048], p[512], out[512], bin[512];
  /* 2.2 M events at one instant: refused, not buffered. */
  path_in(p, sizeof p, "burst.csv");
  FILE *f = fopen(p, "w");
  fputs("# migsim-trace v1\n# pages=1024\ntime_ns,pfn,op\n", f);
  for (int i = 0; i < 2200000; i++) fputs("0,1,w\n", f);
  fclose(f);
  assert_int_equal(migsim(err, sizeof err, "trace import %s %s", p, path_in(bin, sizeof bin, "burst.mtr")), 0);
  assert_int_equal(migsim(err, sizeof err, "run --trace %s --out %s", bin, path_in(out, sizeof out, "burst")), 2);
  one_line_naming(err, "events", "1003520"); /* refused by the estimate, before the player buffers */
  /* A one-event trace looping every nanosecond: refused with the figure. */
  write_file(path_in(p, sizeof p, "tiny.csv"), "# migsim-trace v1\n# pages=1073741824\ntime_ns,pfn,op\n0,1,w\n");
  time_t t0 = time(NULL);
  assert_int_equal(migsim(err, sizeof err, "run --trace %s --max-bandwidth 1MiB/s --out %s", p,
                          path_in(out, sizeof out, "tiny")),
                   2);
  assert_true(time(NULL) - t0 < 20);
  one_line_naming(err, "page events", "MIGSIM_MAX_EVENTS");
  /* A guest whose bitmaps exceed the memory limit: refused with the figure. */
  assert_int_equal(migsim(err, sizeof err, "run --workload idle --pages 1099511627776 --out %s",
                          path_in(out, sizeof out, "huge")),
                   2);
  one_line_naming(err, "needs about", "MIGSIM_MAX_MEMORY");
  /* trace stats: a span its bins cannot cover, refused before reading. */
  write_file(path_in(p, sizeof p, "span.csv"),
             "# migsim-trace v1\n# pages=16\n# duration_ns=10000000000000000\ntime_ns,pfn,op\n0,1,w\n");
  t0 = time(NULL);
  assert_int_equal(migsim(err, sizeof err, "trace stats %s --plot --out %s", p, path_in(out, sizeof out, "span")), 2);
  assert_true(time(NULL) - t0 < 10);
  one_line_naming(err, "--plot", "--bin");
}

/* The range tables in docs/ are the program's own output. */
static void test_docs_ranges(void **state) {
  (void)state;
  char cmd[1024], out[512];
  snprintf(cmd, sizeof cmd, "%s run --ranges > %s", MIGSIM_BIN, path_in(out, sizeof out, "ranges.md"));
  assert_int_equal(system(cmd), 0);
  assert_docs_carry(slurp(out), (const char *const[]){"docs/scenarios.md", "docs/profiles.md", NULL},
                    "migsim run --ranges");
}

/* `name` in folders a and b holds the same bytes (or is missing from both). */
static void assert_same_file(const char *a, const char *b, const char *name) {
  char pa[600], pb[600];
  snprintf(pa, sizeof pa, "%s/%s", a, name);
  snprintf(pb, sizeof pb, "%s/%s", b, name);
  char *ta = slurp(pa), *tb = slurp(pb);
  if (!ta || !tb) {
    if (ta || tb) fail_msg("%s: in only one of %s and %s", name, a, b);
    return;
  }
  if (strcmp(ta, tb)) fail_msg("%s differs between %s and %s", name, a, b);
  free(ta);
  free(tb);
}

/* A command that fails before it has a run leaves a folder's results as
 * they were, even with --force; a folder claimed by a failed command, but
 * holding no results, is free for any other (docs/results.md). */
static void test_failed_command_keeps_results(void **state) {
  (void)state;
  char err[2048], trace[512], bad[512], a[512], ref[512], r[512], rref[512], n[512];
  path_in(trace, sizeof trace, "keep.mtr");
  path_in(bad, sizeof bad, "keep-cut.mtr");
  assert_int_equal(migsim(err, sizeof err, "trace gen uniform:wss=2048,rate=2000,nonzero=0.5 --memory 16MiB "
                          "--duration 3s -o %s", trace),
                   0);
  char *bytes = NULL;
  FILE *in = fopen(trace, "rb");
  assert_non_null(in);
  bytes = malloc(1 << 20);
  size_t got = fread(bytes, 1, 1 << 20, in);
  fclose(in);
  assert_true(got > 4000);
  FILE *out = fopen(bad, "wb");
  assert_int_equal(fwrite(bytes, 1, got / 2, out), got / 2); /* cut in the middle */
  fclose(out);
  const char *cmp = "compare --trace %s --algos precopy,postcopy --links 1Gbit/s --no-plots --out %s";
  assert_int_equal(migsim(err, sizeof err, cmp, trace, path_in(a, sizeof a, "keep-cmp")), 0);
  assert_int_equal(migsim(err, sizeof err, cmp, trace, path_in(ref, sizeof ref, "keep-cmp-ref")), 0);
  static const char *const files[] = {"summary.csv", "rounds.csv", "report.md", "migsim-folder.txt"};
  /* its own folder (the same comparison, its trace since cut short) */
  out = fopen(trace, "wb");
  assert_int_equal(fwrite(bytes, 1, got / 2, out), got / 2);
  fclose(out);
  free(bytes);
  assert_int_equal(migsim(err, sizeof err, cmp, trace, a), 2);
  one_line_naming(err, "keep.mtr", NULL);
  for (int i = 0; i < 4; i++) assert_same_file(a, ref, files[i]);
  assert_int_equal(migsim(err, sizeof err, "compare --trace %s --algos precopy --links 1Gbit/s --no-plots --force "
                          "--out %s", bad, a),
                   2);
  for (int i = 0; i < 4; i++) assert_same_file(a, ref, files[i]);
  /* another command's folder, with --force */
  const char *run = "run --workload uniform:wss=2048,rate=2000 --memory 16MiB --quiet --out %s";
  assert_int_equal(migsim(err, sizeof err, run, path_in(r, sizeof r, "keep-run")), 0);
  assert_int_equal(migsim(err, sizeof err, run, path_in(rref, sizeof rref, "keep-run-ref")), 0);
  assert_int_equal(migsim(err, sizeof err, "compare --trace %s --algos precopy --links 1Gbit/s --no-plots --force "
                          "--out %s", bad, r),
                   2);
  for (int i = 0; i < 4; i++) assert_same_file(r, rref, files[i]);
  assert_int_equal(migsim(err, sizeof err, "sweep --workload uniform:wss=2048,rate=2000 --memory 16MiB,4096TiB "
                          "--quiet --force --out %s", r),
                   2);
  for (int i = 0; i < 4; i++) assert_same_file(r, rref, files[i]);
  /* refused before the folder is touched; then the folder is anyone's */
  assert_int_equal(migsim(err, sizeof err, "compare --trace %s --links 1Gbit/s,1Gbit/s --out %s", trace,
                          path_in(n, sizeof n, "keep-new")),
                   2);
  one_line_naming(err, "twice", NULL);
  assert_int_equal(migsim(err, sizeof err, "compare --trace %s --algos precopy --links 1Gbit/s --no-plots --out %s", bad, n),
                   2);
  assert_int_equal(migsim(err, sizeof err, run, n), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_profile_ranges),   cmocka_unit_test(test_scenario_ranges),
      cmocka_unit_test(test_ini_strict),       cmocka_unit_test(test_folder_transactions),
      cmocka_unit_test(test_folder_full_disk),
      cmocka_unit_test(test_failed_command_keeps_results), cmocka_unit_test(test_kill_anywhere),
      cmocka_unit_test(test_long_run_ids),
      cmocka_unit_test(test_summary_values),   cmocka_unit_test(test_output_files),
      cmocka_unit_test(test_resource_limits),  cmocka_unit_test(test_docs_ranges),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
