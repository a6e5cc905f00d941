/* cli_scenario: the scenario flags shared by run, compare, sweep, replay.
 *
 * Every scenario parameter (mdl_scenario_help lists them) is accepted as --KEY VALUE
 * or --KEY=VALUE; a command adds its own options through `other`. */
#ifndef CLI_SCENARIO_H
#define CLI_SCENARIO_H

#include "mdl_scenario.h"

/* Called for options that are not scenario parameters. `value` is the text
 * after '=' or the next argument (NULL when there is none). Returns how
 * many values it consumed (0 for a flag, 1 for an option with a value) or
 * -1 when it does not know the option. */
typedef int (*cli_opt_fn)(void *ctx, const char *name, const char *value);

/* Parses argv[1..argc) into s (starting from its current values). Dies
 * (exit 2) with a one-line message on an unknown option or bad value.
 * Positional arguments are rejected unless `positional` is non-NULL, in
 * which case they are collected there (up to max_positional). Returns the
 * number of positional arguments. */
int cli_scenario_args(int argc, char **argv, mdl_scenario *s, cli_opt_fn other, void *ctx,
                      char **positional, int max_positional);

/* The linked parameter `bandwidth` (mdl_scenario_set_bandwidth): a flag,
 * a sweep axis and a key of scenario files. Each of the three parts that
 * is also given (as a flag or a sweep axis) wins for its part, whatever
 * the order (docs/scenarios.md). */
/* The MDL_BW_* bits of the three parameters argv[1..argc) gives. */
unsigned cli_bandwidth_keep(int argc, char **argv);

/* mdl_scenario_set, or for key `bandwidth` the three parameters but those
 * in `keep`. 0 or the error of mdl_scenario_set (SIM_ENOTFOUND for an
 * unknown key). */
int cli_scenario_set(mdl_scenario *s, const char *key, const char *value, unsigned keep);

/* Fills a default name ("<algo>" or "<algo>@<link>") when none was given. */
void cli_scenario_name(mdl_scenario *s);

/* Applies again every scenario parameter that cli_scenario_args took from
 * a flag: used on each section of a scenario file, so that flags override
 * the file (docs/scenarios.md). */
void cli_scenario_overrides(mdl_scenario *s);

/* Repeat k (0-based) of scenario `s` (run --repeat, regress): a generator
 * workload runs with seed s->seed + k (other pages drawn), a trace with
 * trace offset s->trace_offset_ns + k * trace_step_ns (the migration starts
 * elsewhere in the recording). The name is kept; repeats are told apart by
 * their run ids, NAME#1 .. NAME#N (cli_repeat_id). */
void cli_scenario_repeat(const mdl_scenario *s, uint64_t k, uint64_t trace_step_ns, mdl_scenario *out);

/* The run id of repeat k (0-based) of scenario `name`: "NAME#k+1". */
char *cli_repeat_id(const char *name, uint64_t k, char *id);

#endif
