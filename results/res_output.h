/* res_output: result folders, the files every run writes (sim and
 * kvmreplay alike), and the contract that keeps them whole.
 *
 * A result folder holds
 *   summary.csv        one row per run: scenario parameters (the values
 *                      actually used) + the metrics (docs/design.md);
 *                      the commit marker
 *   rounds.csv         one row per dirty sync
 *   timeline.csv       one row per estimation window (when recorded)
 *   migsim-folder.txt  format, schema digest, and the command and grid
 *                      digest of each writer (the first, then each --append)
 *   .migsim-lock       the writer's advisory lock (flock) and pid
 * The contract (docs/results.md):
 *   - one writer at a time: a second one is refused at once, naming the
 *     holder's pid;
 *   - a folder holding results of another command or grid is refused
 *     unless RES_FOLDER_APPEND (add runs; a different schema is still
 *     refused) or RES_FOLDER_FORCE (remove migsim's outputs: CSVs, plots,
 *     reports); the same command and grid resumes. A replacement waits
 *     for the first new run (or res_folder_replace), so that a command
 *     failing before it has one leaves the old results whole;
 *   - each run is a transaction: its rounds and timeline rows are written
 *     and fsync'ed, then its summary row is appended; a run without a
 *     summary row does not exist, and opening a folder truncates any such
 *     rows (and a half summary row) away, so a kill or a full disk at any
 *     point leaves a folder that resumes to the same bytes;
 *   - run ids are unique within a folder and never cut: ids longer than
 *     RES_RUN_ID_MAX - 1 characters are shortened by res_run_id with a
 *     hash of the whole key. */
#ifndef RES_OUTPUT_H
#define RES_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "mdl_scenario.h"

#define RES_RUN_ID_MAX 200 /* bytes, terminator included */

/* `key` as a run id: itself when shorter than RES_RUN_ID_MAX, else its
 * first 150 bytes, '~' and 32 hex digits of two hashes of the whole key.
 * Returns out. */
char *res_run_id(const char *key, char out[RES_RUN_ID_MAX]);

typedef enum {
  RES_FOLDER_NEW,    /* refuse other results; resume the same command+grid */
  RES_FOLDER_APPEND, /* add runs to any results of the same schema */
  RES_FOLDER_FORCE,  /* replace whatever migsim wrote there */
  RES_FOLDER_OWN     /* replace the same command+grid; refuse others */
} res_folder_mode;

typedef struct res_folder res_folder;

/* Opens (creating) folder `dir` for `command` with grid digest `grid`
 * (e.g. mdl_scenario_digest of the base scenario): takes the lock, checks
 * or writes migsim-folder.txt, recovers uncommitted rows and loads the
 * committed run ids. 0 and *out, or SIM_EINVAL (refused, with the reason
 * and the flag that would allow it), SIM_EFORMAT (a file that is not
 * migsim's, or rows of runs without a summary row in the middle of a
 * file), SIM_EIO. Cost: one read of the CSV files. */
int res_folder_open(const char *dir, const char *command, uint64_t grid, res_folder_mode mode,
                    res_folder **out);

/* True when run `run_id` is committed in the folder. O(log n). */
int res_folder_has_run(const res_folder *f, const char *run_id);

/* True when the folder had been written by this command and grid before
 * (a resume): a run id already present is then this very run, done. With
 * --append into another grid's folder the same id is another run. */
int res_folder_resuming(const res_folder *f);

/* Committed runs (as opened plus those written since). */
uint64_t res_folder_runs(const res_folder *f);

/* Writes one run as a transaction (see above). `s` should hold the values
 * actually used (mdl_scenario_resolve). SIM_EINVAL when run_id is already
 * in the folder or longer than RES_RUN_ID_MAX - 1; SIM_EIO (e.g. disk
 * full) after rolling the files back to the last committed run. */
int res_folder_write(res_folder *f, const char *run_id, const mdl_scenario *s, const mdl_result *r);

/* Does a replacement that waits for the first run (RES_FOLDER_FORCE, or
 * RES_FOLDER_OWN on the same command and grid) now, for a command whose
 * outputs in the folder are not runs; a no-op otherwise. 0 or SIM_EIO. */
int res_folder_replace(res_folder *f);

/* Syncs and closes the files, releases the lock, frees f. 0 or SIM_EIO.
 * NULL is a no-op. */
int res_folder_close(res_folder *f);

/* One run into `dir` as a whole folder session: res_folder_open in
 * RES_FOLDER_APPEND mode (command "write"), res_folder_write, close. For
 * tools and tests that add a single run; commands keep one folder open. */
int res_write_run(const char *dir, const char *run_id, const mdl_scenario *s, const mdl_result *r);

/* Prints a one-line-per-run table header / row for the terminal; the
 * scenario column is name_width wide (RES_NAME_WIDTH when the names are not
 * known in advance) and a longer name is printed whole. */
#define RES_NAME_WIDTH 22
void res_print_header(FILE *out, int name_width);
void res_print_row(FILE *out, int name_width, const mdl_scenario *s, const mdl_result *r);

#endif
