/* cli_shard: sweeps split into shards (--shard K/N, Slurm job arrays, MPI
 * ranks) and merged back into the bytes of a single-process sweep.
 *
 * A shard folder is an ordinary result folder (its own grid digest: the
 * sweep's, mixed with K and N) plus migsim-shard.txt, which records what
 * the merge needs and checks: the shard, the sweep's grid digest, the
 * number of runs of the whole grid and a digest of all their run ids in
 * grid order. Run i of the grid belongs to shard i % N + 1. */
#ifndef CLI_SHARD_H
#define CLI_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "res_output.h"

#define CLI_SHARD_FILE "migsim-shard.txt"

typedef struct {
  uint64_t k, n;      /* shard k of n, 1 <= k <= n */
  uint64_t grid;      /* the whole sweep's grid digest (migsim-folder.txt) */
  uint64_t points;    /* runs of the whole grid, repeats included */
  uint64_t ids;       /* sim_hash of every run id of the grid, in grid order */
  uint64_t repeat;    /* --repeat: the merge writes aggregate.csv when > 1 */
  int jsonl;          /* --jsonl: the merge writes summary.jsonl */
} cli_shard;

/* Runs of the grid that shard k (1-based) of n holds: the i < points with
 * i % n == k - 1. */
uint64_t cli_shard_runs(uint64_t points, uint64_t k, uint64_t n);

/* Writes DIR/migsim-shard.txt (whole or not at all). 0 or SIM_EIO. */
int cli_shard_write(const char *dir, const cli_shard *s);

/* Reads DIR/migsim-shard.txt. 0, SIM_ENOTFOUND (no such file) or
 * SIM_EFORMAT, with the path in the message. */
int cli_shard_read(const char *dir, cli_shard *s);

/* Merges the shard folders dirs[0..ndirs) into `out` as the sweep command
 * "sweep" with the shards' grid digest, so that out holds the bytes of a
 * single-process sweep (summary.csv, rounds.csv, timeline.csv, and
 * aggregate.csv / summary.jsonl when the sweep had --repeat / --jsonl).
 * Refuses, with one line on stderr, shards of different grids, a shard
 * given twice or missing, a shard with runs missing or extra, and run ids
 * that are not the grid's. Runs already in `out` (a resumed merge) are
 * kept. Returns the exit status (CLI_EXIT_OK or CLI_EXIT_ERROR). */
int cli_merge_shards(const char *out, char *const *dirs, size_t ndirs, res_folder_mode mode, int quiet);

#endif
