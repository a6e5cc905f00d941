/* migsim run: simulate one scenario (or every scenario of a file). */
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kvr.h"
#include "cli_scenario.h"
#include "mdl_feature.h"
#include "mdl_schema.h"
#include "mdl_sim.h"
#include "res_output.h"
#include "sim_units.h"
#include "cli_real.h"
#include "sim_err.h"

typedef struct {
  const char *out;
  const char *scenario_file;
  int quiet;
  int count;
  uint64_t repeat;
  uint64_t trace_step_ns;
  int jsonl;
  res_folder_mode mode;
} cli__run_opts;

static void cli__run_help(void) {
  printf("usage: migsim run [--workload SPEC | --trace FILE] [OPTIONS]\n"
         "       migsim run --scenario FILE [OPTIONS]\n\n"
         "Simulates a live migration and writes OUT/summary.csv (one row per run),\n"
         "OUT/rounds.csv (one row per dirty sync) and, with --timeline,\n"
         "OUT/timeline.csv. A run already in OUT (same run id = scenario name) is\n"
         "skipped; OUT holding results of other scenarios is refused unless --append\n"
         "or --force (see docs/results.md).\n\n"
         "options:\n"
         "  --scenario FILE        INI scenario file ([defaults] + one [section] per\n"
         "                         scenario; keys are the parameter names below);\n"
         "                         parameters given as flags override the\n"
         "                         file's values in every section\n"
         "  --out DIR              output folder [out/run]\n"
         "  --append               add these runs to a folder holding other results\n"
         "  --force                replace the folder's results (CSVs, plots, reports)\n"
         "  --repeat N             run each scenario N times: a generator workload with\n"
         "                         seeds seed, seed+1, ..., a trace at trace offsets\n"
         "                         offset, offset+step, ...; run ids NAME#1..NAME#N, and\n"
         "                         OUT/aggregate.csv: per scenario and metric n, mean,\n"
         "                         median, stddev, 95%% CI of the mean, min, max [1]\n"
         "  --trace-step DURATION  trace offset between repeats of a trace [1s]\n"
         "  --jsonl                also write OUT/summary.jsonl: one JSON object per run,\n"
         "                         the columns of summary.csv, null for an empty cell\n"
         "  --bandwidth RATE       linked: sets max-bandwidth, postcopy-bandwidth and link\n"
         "                         to RATE; any of the three given too wins for its part\n"
         "                         (also a key of scenario files: bandwidth = 1Gbit/s)\n"
         "  --quiet                no table on stdout, no progress on stderr\n"
         "  --ranges               print every parameter's and profile key's valid range\n"
         "                         (Markdown) and exit\n"
         "  --columns              print the columns of summary.csv, rounds.csv and\n"
         "                         timeline.csv (Markdown) and exit\n"
         "  --algorithms           print the algorithms: QEMU capabilities, parameters\n"
         "                         for them, what they do (Markdown) and exit\n"
         "  --features             print the features (QEMU capabilities with their\n"
         "                         parameters) as Markdown and exit\n"
         "  --help                 this text\n\n"
         "algorithms (--algo):\n");
  mdl_algo_help(stdout);
  printf("\nfeatures (--FEATURE yes, or --algo ALGO+FEATURE; docs/features.md):\n");
  mdl_feature_help(stdout);
  printf("\nscenario parameters (units accepted: KiB/MiB/GiB, ms/s/min, MiB/s, Gbit/s, ...):\n");
  mdl_scenario_help(stdout);
  printf("\nprofiles (--profile):\n");
  char cpu[MDL_HOST_CPU_MAX];
  mdl_profile_list(stdout, kvr_host_cpu_model(cpu, sizeof cpu) == 0 ? cpu : NULL);
  printf("\nexample:\n  migsim run --workload uniform:wss=32768,rate=20000 --memory 512MiB \\\n"
         "             --algo hybrid --switch-after 3 --max-bandwidth 64MiB/s --out out/demo\n");
}

static int cli__run_opt(void *ctx, const char *name, const char *value) {
  cli__run_opts *o = ctx;
  if (!strcmp(name, "help")) {
    cli__run_help();
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "out")) return o->out = value, 1;
  if (!strcmp(name, "scenario")) return o->scenario_file = value, 1;
  if (!strcmp(name, "quiet")) return o->quiet = 1, 0;
  if (!strcmp(name, "jsonl")) return o->jsonl = 1, 0;
  if (!strcmp(name, "repeat")) {
    if (!value) return 1;
    o->repeat = cli_count("--repeat", value);
    if (o->repeat < 1 || o->repeat > 100000) cli_die("run: --repeat must be 1..100000");
    return 1;
  }
  if (!strcmp(name, "trace-step")) {
    if (value) o->trace_step_ns = cli_duration("--trace-step", value, SIM_NS_PER_S);
    return 1;
  }
  if (!strcmp(name, "ranges")) {
    /* Markdown tables of every parameter's and profile key's valid range
     * (docs/scenarios.md and docs/profiles.md carry this output). */
    mdl_scenario_ranges_md(stdout);
    printf("\n| profile key | valid range | meaning |\n|---|---|---|\n");
    mdl_profile_help(stdout);
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "columns")) {
    /* The result schema's tables (docs/results.md carries this output). */
    mdl_schema_md(stdout);
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "algorithms")) {
    /* The algorithm table (docs/scenarios.md carries this output). */
    mdl_algo_md(stdout);
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "features")) {
    /* The feature table (docs/features.md carries this output). */
    mdl_feature_md(stdout);
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "append")) return o->mode = RES_FOLDER_APPEND, 0;
  if (!strcmp(name, "force")) return o->mode = RES_FOLDER_FORCE, 0;
  return -1;
}

static void cli__run_one(void *ctx, res_folder *folder, const char *id, const mdl_scenario *s,
                         const mdl_scenario *used) {
  cli__run_opts *o = ctx;
  mdl_result r;
  mdl_result_init(&r, "sim");
  int rc = mdl_simulate(s, &r);
  if (rc) {
    mdl_result_free(&r);
    cli_die("run %s: %s", s->name, sim_error_message());
  }
  if (!o->quiet) {
    if (o->count == 0) res_print_header(stdout, RES_NAME_WIDTH);
    res_print_row(stdout, RES_NAME_WIDTH, s, &r);
  }
  rc = res_folder_write(folder, id, used, &r);
  mdl_result_free(&r);
  cli_check(rc, "writing results");
  o->count++;
}

int cli_cmd_run(int argc, char **argv) {
  cli__run_opts o = {.out = "out/run", .mode = RES_FOLDER_NEW, .repeat = 1, .trace_step_ns = SIM_NS_PER_S};
  mdl_scenario s;
  mdl_scenario_defaults(&s);
  cli_scenario_args(argc, argv, &s, cli__run_opt, &o, NULL, 0);
  cli_scenarios_each("run", o.scenario_file, &s, o.out, o.mode, o.quiet, o.repeat, o.trace_step_ns, o.jsonl, cli__run_one,
                     &o);
  if (!o.quiet) {
    /* Every table the folder has now (timeline.csv with --timeline, ...). */
    static const char *const files[] = {"summary.csv", "rounds.csv", "timeline.csv", "aggregate.csv", "summary.jsonl"};
    printf("results:");
    for (size_t i = 0, n = 0; i < sizeof files / sizeof files[0]; i++) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", o.out, files[i]);
      if (access(path, F_OK) == 0) printf("%s %s", n++ ? "," : "", path);
    }
    printf("\n");
  }
  return CLI_EXIT_OK;
}
