/* res_output: the result files every run writes, sim and kvmreplay alike.
 *
 * summary.csv  one row per run: scenario parameters + metrics (docs/design.md)
 * rounds.csv   one row per dirty sync
 * timeline.csv one row per estimation window (when recorded)
 * Files are appended to when they exist with the same header (so a sweep or
 * a validation set accumulates in one CSV), each row written whole. */
#ifndef RES_OUTPUT_H
#define RES_OUTPUT_H

#include <stdio.h>

#include "mdl_scenario.h"

/* Appends the run to DIR/summary.csv, DIR/rounds.csv and (if it has
 * samples) DIR/timeline.csv, creating DIR and the files as needed.
 * `run_id` ties the rows of one run together (e.g. "3" or a sweep key). */
int res_write_run(const char *dir, const char *run_id, const mdl_scenario *s,
                  const mdl_result *r);

/* Prints a one-line-per-run table header / row for the terminal. */
void res_print_header(FILE *out);
void res_print_row(FILE *out, const mdl_scenario *s, const mdl_result *r);

#endif
