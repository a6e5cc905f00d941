/* migsim merge: shard folders of one sweep (sweep --shard K/N) into the
 * result folder a single-process sweep of the grid would have written. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_real.h"
#include "cli_shard.h"
#include "res_load.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_hash.h"

uint64_t cli_shard_runs(uint64_t points, uint64_t k, uint64_t n) {
  return points >= k ? (points - k) / n + 1 : 0;
}

int cli_shard_write(const char *dir, const cli_shard *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, CLI_SHARD_FILE);
  sim_file *f;
  int rc = sim_file_open(path, &f);
  if (rc) return rc;
  fprintf(sim_file_stream(f),
          "migsim sweep shard (see docs/sweeps.md)\nshard %" PRIu64 "/%" PRIu64 "\ngrid %016" PRIx64
          "\npoints %" PRIu64 "\nids %016" PRIx64 "\nrepeat %" PRIu64 "\njsonl %d\n",
          s->k, s->n, s->grid, s->points, s->ids, s->repeat, s->jsonl);
  return sim_file_commit(f);
}

int cli_shard_read(const char *dir, cli_shard *s) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, CLI_SHARD_FILE);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return sim_errorf(SIM_ENOTFOUND, "%s is not a sweep shard folder (no %s; make it with sweep --shard K/N)", dir, CLI_SHARD_FILE);
    return sim_errorf(SIM_EIO, "cannot read %s: %s", path, strerror(errno));
  }
  memset(s, 0, sizeof *s);
  unsigned long long k = 0, n = 0, grid = 0, points = 0, ids = 0, repeat = 0;
  int jsonl = -1;
  int got = fscanf(f, "migsim sweep shard (see docs/sweeps.md)\nshard %llu/%llu\ngrid %llx\npoints %llu\nids %llx\nrepeat %llu\njsonl %d",
                   &k, &n, &grid, &points, &ids, &repeat, &jsonl);
  fclose(f);
  if (got != 7 || k < 1 || k > n || repeat < 1 || (jsonl != 0 && jsonl != 1))
    return sim_errorf(SIM_EFORMAT, "%s: not a migsim shard record (shard K/N, grid, points, ids, repeat, jsonl expected)", path);
  *s = (cli_shard){k, n, grid, points, ids, repeat, jsonl};
  return 0;
}

/* Fails with one line. */
static int cli__merge_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int cli__merge_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("migsim: merge: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return CLI_EXIT_ERROR;
}

int cli_merge_shards(const char *out, char *const *dirs, size_t ndirs, res_folder_mode mode, int quiet) {
  if (ndirs == 0) return cli__merge_fail("no shard folders given");
  cli_shard *shards = calloc(ndirs, sizeof *shards);
  res_run_set *sets = calloc(ndirs, sizeof *sets);
  /* bykey[k-1]: the index in dirs of shard k. */
  size_t *byk = NULL;
  int status = CLI_EXIT_ERROR;
  res_folder *folder = NULL;
  if (!shards || !sets) {
    cli__merge_fail("out of memory");
    goto done;
  }
  for (size_t d = 0; d < ndirs; d++) {
    if (cli_shard_read(dirs[d], &shards[d])) {
      cli__merge_fail("%s", sim_error_message());
      goto done;
    }
    const cli_shard *a = &shards[0], *b = &shards[d];
    if (a->grid != b->grid || a->n != b->n || a->points != b->points || a->ids != b->ids || a->repeat != b->repeat) {
      cli__merge_fail("%s and %s hold shards of different grids (or different --shard counts); merge the shards of one sweep",
                      dirs[0], dirs[d]);
      goto done;
    }
  }
  uint64_t n = shards[0].n;
  byk = malloc((size_t)n * sizeof *byk);
  if (!byk) {
    cli__merge_fail("out of memory");
    goto done;
  }
  for (uint64_t k = 0; k < n; k++) byk[k] = SIZE_MAX;
  for (size_t d = 0; d < ndirs; d++) {
    size_t *slot = &byk[shards[d].k - 1];
    if (*slot != SIZE_MAX) {
      cli__merge_fail("shard %" PRIu64 "/%" PRIu64 " given twice (%s and %s)", shards[d].k, n, dirs[*slot], dirs[d]);
      goto done;
    }
    *slot = d;
  }
  for (uint64_t k = 0; k < n; k++)
    if (byk[k] == SIZE_MAX) {
      cli__merge_fail("shard %" PRIu64 "/%" PRIu64 " is missing (give all %" PRIu64 " shard folders)", k + 1, n, n);
      goto done;
    }
  uint64_t points = shards[0].points;
  for (uint64_t k = 0; k < n; k++) {
    size_t d = byk[k];
    if (res_runs_load(dirs[d], &sets[d])) {
      cli__merge_fail("%s", sim_error_message());
      goto done;
    }
    uint64_t want = cli_shard_runs(points, k + 1, n);
    if (sets[d].count != want) {
      cli__merge_fail("%s: shard %" PRIu64 "/%" PRIu64 " holds %zu runs, its part of the grid is %" PRIu64
                      "; %s",
                      dirs[d], k + 1, n, sets[d].count, want,
                      sets[d].count < want ? "rerun its sweep to finish it" : "it holds runs of another grid");
      goto done;
    }
  }
  /* Run i of the grid is run i / n of shard i % n + 1: the interleaved ids
   * must be the grid's, in its order (no run missing, none twice). */
  uint64_t ids = SIM_HASH_INIT;
  for (uint64_t i = 0; i < points; i++)
    ids = sim_hash_str(ids, sets[byk[i % n]].runs[i / n].run_id);
  if (ids != shards[0].ids) {
    cli__merge_fail("the shards' run ids are not those of their grid in its order (a run missing, duplicated or of another sweep)");
    goto done;
  }
  /* rounds.csv has one row per dirty sync of each run: a file cut at a
   * row's end still parses, but loses rounds. */
  for (uint64_t k = 0; k < n; k++) {
    size_t d = byk[k];
    for (size_t i = 0; i < sets[d].count; i++) {
      const res_loaded *run = &sets[d].runs[i];
      if (run->result.round_count != run->result.dirty_sync_count) {
        cli__merge_fail("%s/rounds.csv holds %zu rounds of run '%.200s', whose summary row counts %" PRIu64
                        " syncs: the shard is damaged (rerun its sweep into a fresh folder)",
                        dirs[d], run->result.round_count, run->run_id, run->result.dirty_sync_count);
        goto done;
      }
    }
  }
  if (res_folder_open(out, "sweep", shards[0].grid, mode, &folder)) {
    cli__merge_fail("%s", sim_error_message());
    goto done;
  }
  uint64_t written = 0, kept = 0;
  for (uint64_t i = 0; i < points; i++) {
    const res_loaded *run = &sets[byk[i % n]].runs[i / n];
    if (res_folder_has_run(folder, run->run_id)) {
      if (!res_folder_resuming(folder)) {
        cli__merge_fail("run '%.300s' is already in %s/summary.csv from another grid; merge into another folder",
                        run->run_id, out);
        goto done;
      }
      kept++;
      continue;
    }
    if (res_folder_write(folder, run->run_id, &run->scenario, &run->result)) {
      cli__merge_fail("%s: %s", out, sim_error_message());
      goto done;
    }
    written++;
  }
  int rc = res_folder_close(folder);
  folder = NULL;
  if (rc) {
    cli__merge_fail("%s: %s", out, sim_error_message());
    goto done;
  }
  if (shards[0].repeat > 1) cli_write_aggregate("sweep", out, shards[0].grid);
  cli_write_jsonl("sweep", out, shards[0].grid, shards[0].jsonl);
  if (!quiet)
    fprintf(stderr, "merge: %" PRIu64 " runs from %" PRIu64 " shards, %" PRIu64 " already present -> %s/summary.csv\n",
            written, n, kept, out);
  status = CLI_EXIT_OK;
done:
  res_folder_close(folder);
  for (size_t d = 0; sets && d < ndirs; d++) res_runs_free(&sets[d]);
  free(sets);
  free(shards);
  free(byk);
  return status;
}

static void cli__merge_help(void) {
  printf("usage: migsim merge OUT DIR1 DIR2 ... [--force | --append] [--quiet]\n\n"
         "Combines the shard folders of one sweep (migsim sweep ... --shard K/N --out DIRk,\n"
         "k = 1..N, e.g. the tasks of a Slurm job array) into OUT, which then holds the\n"
         "same bytes as the single-process sweep of the grid: summary.csv, rounds.csv,\n"
         "timeline.csv in grid order, aggregate.csv with --repeat, summary.jsonl with\n"
         "--jsonl. Refused (exit 2): shards of different grids, a shard given twice or\n"
         "missing, a shard with runs missing (rerun its sweep) or extra. OUT follows the\n"
         "result-folder contract (docs/results.md); `migsim sweep` with the same grid\n"
         "into OUT afterwards resumes it. See docs/sweeps.md.\n\n"
         "options:\n"
         "  --append   add to a folder holding other results (same columns)\n"
         "  --force    replace the folder's results\n"
         "  --quiet    no summary line on stderr\n"
         "  --help     this text\n");
}

int cli_cmd_merge(int argc, char **argv) {
  res_folder_mode mode = RES_FOLDER_NEW;
  int quiet = 0;
  char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
  if (!dirs) cli_die("merge: out of memory");
  const char *out = NULL;
  size_t ndirs = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      cli__merge_help();
      free(dirs);
      return CLI_EXIT_OK;
    }
    if (!strcmp(a, "--force")) mode = RES_FOLDER_FORCE;
    else if (!strcmp(a, "--append")) mode = RES_FOLDER_APPEND;
    else if (!strcmp(a, "--quiet")) quiet = 1;
    else if (!strncmp(a, "--", 2)) cli_die("merge: unknown option %s (see --help)", a);
    else if (!out) out = a;
    else dirs[ndirs++] = argv[i];
  }
  if (!out || ndirs == 0) cli_die("merge: give OUT and the shard folders (migsim merge OUT DIR1 DIR2 ...)");
  for (size_t d = 0; d < ndirs; d++)
    if (!strcmp(dirs[d], out)) cli_die("merge: OUT %s is also a shard folder; merge into another folder", out);
  int status = cli_merge_shards(out, dirs, ndirs, mode, quiet);
  free(dirs);
  return status;
}
