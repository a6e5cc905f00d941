/* res_jsonl: summary.csv as JSON Lines (summary.jsonl), for tools that
 * read JSON rather than CSV (jq, DuckDB, a log pipeline).
 *
 * One object per run, one line each, keys in the column order of
 * summary.csv and named alike, generated from the schema's X-macro
 * (mdl_schema.h, MDL_SUMMARY_COLUMNS): a column added there appears here
 * without an edit. Values: text as JSON strings, integers as integers,
 * numbers in the shortest form that reads back as the same double (as in
 * the CSV); a cell that is empty in the CSV (a value that does not exist,
 * such as the downtime of a run that never completed) is null. */
#ifndef RES_JSONL_H
#define RES_JSONL_H

#include <stdio.h>

#include "mdl_scenario.h"

/* Writes one run's object and a newline to out. */
void res_jsonl_row(FILE *out, const char *run_id, const mdl_scenario *s, const mdl_result *r);

/* Writes DIR/summary.jsonl from the committed runs of DIR/summary.csv
 * (res_runs_load), atomically (sim_file): the whole file is replaced, so a
 * resumed or appended folder's JSON Lines are those of its CSV. 0 or an
 * error naming the file. Cost: one read of summary.csv. */
int res_jsonl_write(const char *dir);

#endif
