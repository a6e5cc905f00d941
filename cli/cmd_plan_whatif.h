/* migsim plan --what-if: one plan per point of a grid of plan options
 * (cmd_plan_whatif.c). */
#ifndef CMD_PLAN_WHATIF_H
#define CMD_PLAN_WHATIF_H
#include <stddef.h>

#include "res_plan.h"

typedef struct cli_whatif cli_whatif;

cli_whatif *cli_whatif_new(void);
/* Adds "KEY=V1,V2,...": every value is checked against a copy of `check`
 * at once (one-line error and exit 2 on a bad key or value). */
void cli_whatif_add(cli_whatif *w, const char *arg, const res_plan_opts *check);
size_t cli_whatif_keys(const cli_whatif *w);
/* Plans every point of the grid from `base` and writes DIR/what-if.csv and
 * DIR/what-if.md; CLI_EXIT_OK when at least one plan meets every limit,
 * CLI_EXIT_CHECK otherwise. */
int cli_whatif_run(const cli_whatif *w, const char *inventory, const char *topology, const res_plan_opts *base,
                   const char *dir, int quiet);
void cli_whatif_free(cli_whatif *w);
#endif
