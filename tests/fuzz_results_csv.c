/* libFuzzer target: result folders as found on disk (res_folder_open's
 * scan and roll-back, which resume relies on, and res_runs_load).
 *
 * The input is split at the first two 0x01 bytes into summary.csv,
 * rounds.csv and timeline.csv of a scratch folder, which is then opened to
 * append (its manifest stays from the first input). Promises checked: an accepted folder afterwards holds only whole
 * rows (every file empty or ending in a newline), reopening it accepts it
 * again with the same runs, and one more run can be written and is then
 * present. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "res_load.h"
#include "res_output.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static const char *const names[] = {"summary.csv", "rounds.csv", "timeline.csv", "migsim-folder.txt"};

static void put(const char *name, const uint8_t *p, size_t n) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  unlink(path);
  if (!p) return;
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (n && fwrite(p, 1, n, f) != n) abort();
  fclose(f);
}

static int ends_whole(const char *name) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  int c = '\n';
  if (n > 0) {
    fseek(f, n - 1, SEEK_SET);
    c = fgetc(f);
  }
  fclose(f);
  return c == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/fuzz_results_csv.%ld", (long)getpid());
    mkdir(dir, 0700);
  }
  const uint8_t *part[3] = {data, NULL, NULL};
  size_t len[3] = {size, 0, 0};
  for (int k = 1; k < 3; k++) {
    const uint8_t *sep = len[k - 1] ? memchr(part[k - 1], 1, len[k - 1]) : NULL;
    if (!sep) break;
    part[k] = sep + 1;
    len[k] = len[k - 1] - (size_t)(part[k] - part[k - 1]);
    len[k - 1] = (size_t)(sep - part[k - 1]);
  }
  for (int k = 0; k < 3; k++) put(names[k], part[k], len[k]);
  res_folder *f = NULL;
  setenv("MIGSIM_FSYNC", "0", 1);
  if (res_folder_open(dir, "fuzz", 0, RES_FOLDER_APPEND, &f) == 0) {
    uint64_t runs = res_folder_runs(f);
    if (res_folder_close(f) != 0) abort();
    for (int k = 0; k < 3; k++)
      if (!ends_whole(names[k])) abort();
    if (res_folder_open(dir, "fuzz", 0, RES_FOLDER_APPEND, &f) != 0) abort();
    if (res_folder_runs(f) != runs) abort();
    mdl_scenario s;
    mdl_scenario_defaults(&s);
    snprintf(s.workload, sizeof s.workload, "idle");
    s.pages = 16;
    mdl_result r;
    mdl_result_init(&r, "sim");
    char id[64];
    snprintf(id, sizeof id, "fuzz-run-%llu", (unsigned long long)runs);
    if (!res_folder_has_run(f, id)) {
      if (res_folder_write(f, id, &s, &r) != 0) abort();
      if (!res_folder_has_run(f, id)) abort();
    }
    if (res_folder_close(f) != 0) abort();
    res_run_set set;
    if (res_runs_load(dir, &set) == 0) res_runs_free(&set);
  }
  return 0;
}
