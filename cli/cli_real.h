/* cli_real: scenario lists and the store of real (QEMU) runs shared by
 * validate and calibrate. Real runs cost seconds each, so they are kept in
 * DIR/summary.csv + DIR/rounds.csv (run_id "<scenario>#<k>") and reused:
 * only the missing repeats are run. */
#ifndef CLI_REAL_H
#define CLI_REAL_H

#include <stddef.h>
#include <stdint.h>

#include "mdl_scenario.h"
#include "res_load.h"
#include "res_output.h"

typedef struct {
  mdl_scenario *items;
  size_t count, cap;
} cli_scenarios;

/* Every scenario of INI file `path` on top of `base` (or, with path NULL,
 * `base` itself), named (cli_scenario_name), names unique, each checked
 * and resolved (ranges, profile, workload, memory estimate) before anything
 * runs. Dies with a one-line message on error. Returns the set's digest
 * (the result folder's grid). */
uint64_t cli_scenarios_collect(const char *path, const mdl_scenario *base, cli_scenarios *list);
/* What run and replay do with each scenario: run it and write it to the
 * folder under run id `id`; `used` holds the values actually used. */
typedef void (*cli_scenario_fn)(void *ctx, res_folder *folder, const char *id, const mdl_scenario *s,
                                const mdl_scenario *used);

/* Collects the scenarios (cli_scenarios_collect), opens result folder
 * `out` for `command` in `mode`, and calls fn for each scenario not in it
 * yet (a rerun skips those, with a note; --append refuses a name already
 * there), then closes the folder. With repeat > 1 each scenario runs
 * `repeat` times (cli_scenario_repeat, run ids NAME#1 .. NAME#N) and the
 * grid covers repeat and trace_step_ns. With jsonl, OUT/summary.jsonl is
 * written at the end (cli_write_jsonl). Progress goes to stderr unless
 * quiet (cli_progress.h). Dies with one line on any error. */
void cli_scenarios_each(const char *command, const char *path, const mdl_scenario *base, const char *out,
                        res_folder_mode mode, int quiet, uint64_t repeat, uint64_t trace_step_ns, int jsonl,
                        cli_scenario_fn fn, void *ctx);

/* Writes OUT/aggregate.csv (res_samples_write_aggregate: per scenario
 * name and metric over its runs) from the folder's committed runs, under
 * the folder's lock (opened for `command` and `grid` in append mode, which
 * resumes the same grid). Used after repeated runs (--repeat). Dies with
 * one line on error. */
void cli_write_aggregate(const char *command, const char *out, uint64_t grid);

/* Writes OUT/summary.jsonl (res_jsonl_write: the committed runs of
 * summary.csv as JSON Lines) under the folder's lock, as
 * cli_write_aggregate does, when `asked` (--jsonl) or when the folder has
 * one already (so that it never lags behind summary.csv). Dies with one
 * line on error. */
void cli_write_jsonl(const char *command, const char *out, uint64_t grid, int asked);

/* cli_scenarios_collect on the default scenario. qemu, if not NULL, is the
 * default of the scenario key `qemu` (which QEMU the real runs use); the
 * file may still set it per scenario. */
void cli_scenarios_load(const char *path, const char *qemu, cli_scenarios *list);
void cli_scenarios_free(cli_scenarios *list);

/* Makes sure DIR holds `repeat` real runs of every scenario (running the
 * missing ones on QEMU, appending each as it finishes), then loads them
 * into *runs. Dies on an error that stops real runs altogether (QEMU
 * missing, ...); a failed run is recorded as such and counts. Dies too when
 * a stored run was made on another QEMU version than the scenario's
 * short-named one (`qemu = 10.0` against 7.2 runs): one store per version,
 * and when runs are to be added to a scenario whose stored runs record
 * another machine: one store per machine. Before making runs it warns as
 * cli_real_warn_hosts does, this machine included. */
/* Warns (one line each) when the profile the runs will be compared with
 * (`profile`, or each scenario's own when NULL) was calibrated on another
 * machine (its `host`) than the one a run records (host_cpu; the first
 * `repeat` runs of each scenario in `runs`), or than `here` (this
 * machine's model name, when runs are about to be made there; NULL
 * otherwise). docs/hosts.md. */
void cli_real_warn_hosts(const cli_scenarios *list, unsigned repeat, const res_run_set *runs, const char *here,
                         const char *profile);

void cli_real_ensure(const cli_scenarios *list, unsigned repeat, const char *dir, const char *profile,
                     res_run_set *runs);

/* Replaces every scenario by what the simulator should simulate to compare
 * with a real run: the replay guest's whole memory (kvr_sim_layout). */
void cli_scenarios_as_replayed(cli_scenarios *list);

#endif
