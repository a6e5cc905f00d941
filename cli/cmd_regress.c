/* migsim regress: does a candidate (profile, build's result folder or
 * summary.csv) migrate worse than a baseline? Repeats a scenario suite on
 * each side that is a profile, compares scenario by scenario and metric by
 * metric (res_regress.h), writes regress.csv, junit.xml, report.md and
 * report.html with its plots (res_report.h), and exits 1 when anything
 * regressed (docs/regress.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_progress.h"
#include "cli_real.h"
#include "cli_scenario.h"
#include "mdl_sim.h"
#include "res_output.h"
#include "res_regress.h"
#include "res_report.h"
#include "sim_err.h"
#include "sim_hash.h"
#include "sim_units.h"

#ifndef MIGSIM_SOURCE_DIR
#define MIGSIM_SOURCE_DIR "."
#endif
#define CLI_REGRESS_SUITE MIGSIM_SOURCE_DIR "/scenarios/regress.ini"

enum { CLI__MAX_THRESHOLDS = 64, CLI__MAX_REPEAT = 10000 };

typedef struct {
  const char *baseline, *candidate, *suite, *out, *metrics;
  const char *thresholds[CLI__MAX_THRESHOLDS];
  int nthresholds;
  uint64_t repeat;
  uint64_t trace_step_ns;
  double alpha;
  uint64_t resamples;
  int force, quiet, no_plots;
} cli__reg_opts;

static void cli__reg_help(void) {
  printf("usage: migsim regress --baseline SIDE --candidate SIDE [OPTIONS]\n\n"
         "Fails a build when migration got worse. Each SIDE is a profile (a name such as\n"
         "qemu-7.2, or an .ini file), a result folder of an earlier build, or a\n"
         "summary.csv. Each side that is a profile runs the scenario suite --repeat\n"
         "times per scenario (generator workloads with seeds seed, seed+1, ...; trace\n"
         "workloads at trace offsets offset, offset+step, ...) into OUT/baseline/ or\n"
         "OUT/candidate/ (result folders: keep one as the next build's baseline).\n"
         "Stored sides are grouped by the summary's `name` column: all rows of a name\n"
         "are its repeats.\n\n"
         "For every scenario x metric: the medians of both sides, their difference\n"
         "with a bootstrap confidence interval (level 1 - alpha), and a two-sided\n"
         "Mann-Whitney U test. A REGRESSION is significant (p < alpha) AND worse (higher)\n"
         "by at least both thresholds: relative to the baseline's median and absolute.\n"
         "Writes OUT/regress.csv (one row per scenario x metric), OUT/junit.xml (one\n"
         "test case per scenario x metric, a <failure> per regression), OUT/report.md\n"
         "and OUT/report.html (self-contained: the verdicts and their chart,\n"
         "OUT/regress-diff.png, then plots of both sides' runs, OUT/report-*.png, as\n"
         "`migsim report OUT` makes them).\n\n"
         "exit status: 0 no regression, 1 a regression, 2 an error (one line on stderr)\n\n"
         "options:\n"
         "  --baseline SIDE        profile name or .ini file, result folder, or summary.csv\n"
         "  --candidate SIDE       the same for the side under test\n"
         "  --suite FILE           scenario file [%s]\n"
         "                         (or scenario flags such as --workload for one scenario)\n"
         "  --repeat N             runs per scenario and side [10]\n"
         "  --trace-step DURATION  trace offset between repeats of a trace workload [1s]\n"
         "  --alpha A              significance level [0.01]\n"
         "  --threshold M=REL,ABS  a metric's thresholds, e.g. total_time_ms=2%%,1ms or\n"
         "                         downtime_ms=,5ms (repeatable; enables the metric)\n"
         "  --metrics LIST         compare exactly these metrics (comma-separated)\n"
         "  --resamples N          bootstrap resamples for the interval [10000]\n"
         "  --out DIR              output folder [out/regress]; the same command again\n"
         "                         replaces it, other results there need --force\n"
         "  --force                replace whatever results the folder holds\n"
         "  --no-plots             report.md's verdicts only: no report.html, no plots\n"
         "  --quiet                no table on stdout, no progress on stderr\n"
         "  --help                 this text\n\n"
         "metrics and default thresholds (relative, absolute):\n",
         CLI_REGRESS_SUITE);
  res_regress_metrics_help(stdout);
  printf("\nexample (CI): migsim regress --baseline qemu-7.2 --candidate ./candidate.ini --out out/regress\n");
}

static int cli__reg_opt(void *ctx, const char *name, const char *value) {
  cli__reg_opts *o = ctx;
  if (!strcmp(name, "help")) {
    cli__reg_help();
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "baseline")) return o->baseline = value, 1;
  if (!strcmp(name, "candidate")) return o->candidate = value, 1;
  if (!strcmp(name, "suite")) return o->suite = value, 1;
  if (!strcmp(name, "out")) return o->out = value, 1;
  if (!strcmp(name, "metrics")) return o->metrics = value, 1;
  if (!strcmp(name, "force")) return o->force = 1, 0;
  if (!strcmp(name, "quiet")) return o->quiet = 1, 0;
  if (!strcmp(name, "no-plots")) return o->no_plots = 1, 0;
  static const char *const valued[] = {"repeat", "resamples", "trace-step", "alpha", "threshold"};
  for (size_t i = 0; !value && i < sizeof valued / sizeof valued[0]; i++)
    if (!strcmp(name, valued[i])) return 1; /* the caller says it needs a value */
  if (!strcmp(name, "repeat")) {
    o->repeat = cli_count("--repeat", value);
    if (o->repeat < 1 || o->repeat > CLI__MAX_REPEAT) cli_die("regress: --repeat must be 1..%d", CLI__MAX_REPEAT);
    return 1;
  }
  if (!strcmp(name, "resamples")) {
    o->resamples = cli_count("--resamples", value);
    if (o->resamples < 100 || o->resamples > 1000000) cli_die("regress: --resamples must be 100..1000000");
    return 1;
  }
  if (!strcmp(name, "trace-step")) return o->trace_step_ns = cli_duration("--trace-step", value, SIM_NS_PER_S), 1;
  if (!strcmp(name, "alpha")) {
    o->alpha = cli_double("--alpha", value);
    if (!(o->alpha > 0 && o->alpha < 1)) cli_die("regress: --alpha must be between 0 and 1 (exclusive)");
    return 1;
  }
  if (!strcmp(name, "threshold")) {
    if (o->nthresholds == CLI__MAX_THRESHOLDS) cli_die("regress: at most %d --threshold", CLI__MAX_THRESHOLDS);
    o->thresholds[o->nthresholds++] = value;
    return 1;
  }
  return -1;
}

typedef enum { CLI__SIDE_PROFILE, CLI__SIDE_STORED } cli__side_kind;

static cli__side_kind cli__side(const char *what, const char *text) {
  struct stat sb;
  size_t len = strlen(text);
  if (!text[0]) cli_die("regress: --%s is empty", what);
  if (stat(text, &sb) == 0 && S_ISDIR(sb.st_mode)) return CLI__SIDE_STORED;
  if (len >= 4 && !strcmp(text + len - 4, ".csv")) return CLI__SIDE_STORED;
  mdl_profile p;
  if (len >= sizeof((mdl_scenario *)0)->profile) cli_die("regress: --%s: name too long", what);
  if (mdl_profile_load(text, &p))
    cli_die("regress: --%s %s is not a result folder, a summary.csv or a profile: %s", what, text,
            sim_error_message());
  return CLI__SIDE_PROFILE;
}

/* Runs the suite `repeat` times per scenario with profile `profile` into
 * result folder `dir`, adding every run to *samples. */
static void cli__run_side(const cli__reg_opts *o, const cli_scenarios *suite, uint64_t suite_grid, const char *side,
                          const char *profile, const char *dir, res_samples *samples, cli_progress *prog,
                          uint64_t *done) {
  uint64_t grid = sim_hash_str(sim_hash(suite_grid, &o->repeat, sizeof o->repeat), profile);
  grid = sim_hash(grid, &o->trace_step_ns, sizeof o->trace_step_ns);
  res_folder *folder;
  char ctx[64];
  snprintf(ctx, sizeof ctx, "regress: %s runs", side);
  cli_check(res_folder_open(dir, "regress-side", grid, o->force ? RES_FOLDER_FORCE : RES_FOLDER_OWN, &folder), ctx);
  for (size_t i = 0; i < suite->count; i++) {
    const mdl_scenario *base = &suite->items[i];
    for (uint64_t k = 0; k < o->repeat; k++) {
      /* The repeats of `migsim run --repeat`: the same seeds, offsets and
       * run ids, so a folder it wrote is a baseline for these. */
      mdl_scenario s;
      cli_scenario_repeat(base, k, o->trace_step_ns, &s);
      snprintf(s.profile, sizeof s.profile, "%s", profile);
      char id[RES_RUN_ID_MAX];
      mdl_scenario used;
      mdl_result r;
      mdl_result_init(&r, "sim");
      int rc = mdl_scenario_resolve(&s, &used, NULL, NULL);
      if (!rc) rc = mdl_simulate(&s, &r);
      if (rc) {
        mdl_result_free(&r);
        cli_die("regress: %s, scenario %s (run %llu): %s", side, base->name, (unsigned long long)(k + 1),
                sim_error_message());
      }
      rc = res_folder_write(folder, cli_repeat_id(base->name, k, id), &used, &r);
      if (!rc) rc = res_samples_add(samples, base->name, &r);
      mdl_result_free(&r);
      cli_check(rc, ctx);
      cli_progress_update(prog, ++*done, 0);
    }
  }
  cli_check(res_folder_close(folder), ctx);
}

int cli_cmd_regress(int argc, char **argv) {
  cli__reg_opts o = {0};
  o.out = "out/regress";
  o.repeat = 10;
  o.trace_step_ns = SIM_NS_PER_S;
  o.alpha = 0.01;
  o.resamples = 10000;
  mdl_scenario base;
  mdl_scenario_defaults(&base);
  cli_scenario_args(argc, argv, &base, cli__reg_opt, &o, NULL, 0);
  if (!o.baseline || !o.candidate) cli_die("regress: give --baseline and --candidate (see --help)");

  res_regress_opts ro;
  res_regress_opts_init(&ro);
  ro.alpha = o.alpha;
  ro.resamples = (unsigned)o.resamples;
  if (o.metrics && res_regress_metrics(&ro, o.metrics)) cli_die("regress: %s", sim_error_message());
  for (int i = 0; i < o.nthresholds; i++)
    if (res_regress_threshold(&ro, o.thresholds[i])) cli_die("regress: --threshold: %s", sim_error_message());

  cli__side_kind kind[2] = {cli__side("baseline", o.baseline), cli__side("candidate", o.candidate)};
  const char *text[2] = {o.baseline, o.candidate};
  static const char *const side_name[2] = {"baseline", "candidate"};
  int any_profile = kind[0] == CLI__SIDE_PROFILE || kind[1] == CLI__SIDE_PROFILE;

  /* The suite: a scenario file, the flags' one scenario, or the bundled one. */
  cli_scenarios suite = {0};
  uint64_t suite_grid = 0;
  if (any_profile) {
    const char *path = o.suite ? o.suite : base.workload[0] ? NULL : CLI_REGRESS_SUITE;
    if (!path) cli_scenario_name(&base);
    suite_grid = cli_scenarios_collect(path, &base, &suite);
  } else if (o.suite) {
    cli_die("regress: --suite needs a side that is a profile (both sides are stored results)");
  }

  res_samples *samples[2] = {NULL, NULL};
  for (int s = 0; s < 2; s++) {
    cli_check(res_samples_new(&samples[s]), "regress");
    if (kind[s] == CLI__SIDE_STORED)
      if (res_samples_load(samples[s], text[s], &ro)) cli_die("regress: --%s: %s", side_name[s], sim_error_message());
  }

  /* A stored side must hold every scenario of the suite: say so before
   * anything runs. */
  for (size_t i = 0; any_profile && i < suite.count; i++)
    for (int s = 0; s < 2; s++)
      if (kind[s] == CLI__SIDE_STORED && !res_samples_runs(samples[s], suite.items[i].name))
        cli_die("regress: --%s %s holds no runs of scenario '%s' (the suite's scenarios are compared)", side_name[s],
                text[s], suite.items[i].name);

  /* The folder's grid: everything that decides its contents. */
  uint64_t grid = sim_hash(SIM_HASH_INIT, &suite_grid, sizeof suite_grid);
  grid = sim_hash_str(sim_hash_str(grid, o.baseline), o.candidate);
  grid = sim_hash(grid, &o.repeat, sizeof o.repeat);
  grid = sim_hash(grid, &ro, sizeof ro);
  res_folder *folder;
  cli_check(res_folder_open(o.out, "regress", grid, o.force ? RES_FOLDER_FORCE : RES_FOLDER_OWN, &folder), "regress");

  cli_progress prog;
  uint64_t runs = 0, done = 0;
  for (int s = 0; s < 2; s++) runs += kind[s] == CLI__SIDE_PROFILE ? suite.count * o.repeat : 0;
  cli_progress_init(&prog, "regress", "runs", runs, o.quiet);
  for (int s = 0; s < 2; s++) {
    if (kind[s] != CLI__SIDE_PROFILE) continue;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", o.out, side_name[s]);
    cli__run_side(&o, &suite, suite_grid, side_name[s], text[s], dir, samples[s], &prog, &done);
  }
  cli_progress_done(&prog, done, 0);
  /* Both sides ran: the folder's previous comparison may go now. */
  cli_check(res_folder_replace(folder), "regress");

  /* Scenarios compared: the suite's, else every one of the baseline. */
  size_t nnames = any_profile ? suite.count : res_samples_count(samples[0]);
  const char **names = malloc((nnames ? nnames : 1) * sizeof *names);
  if (!names) cli_die("regress: out of memory");
  for (size_t i = 0; i < nnames; i++)
    names[i] = any_profile ? suite.items[i].name : res_samples_name(samples[0], i);
  res_regress_table t;
  cli_check(res_regress_compare(samples[0], samples[1], names, nnames, &ro, &t), "regress");

  char title[2 * MDL_TEXT_MAX + 64], path[4096];
  snprintf(title, sizeof title, "%s (baseline) vs %s (candidate)", o.baseline, o.candidate);
  snprintf(path, sizeof path, "%s/regress.csv", o.out);
  cli_check(res_regress_write_csv(&t, path), "regress");
  snprintf(path, sizeof path, "%s/junit.xml", o.out);
  cli_check(res_regress_write_junit(&t, title, path), "regress");
  /* The verdicts as a chart, shown in report.md: the candidate's medians
   * against the baseline's, per scenario and metric. */
  const char *figure = NULL;
  if (!o.no_plots) {
    snprintf(path, sizeof path, "%s/regress-diff.png", o.out);
    int rc = res_regress_plot(&t, path);
    if (rc == 0) figure = "regress-diff.png";
    else if (rc != SIM_EINVAL && rc != SIM_EUNSUPPORTED) cli_check(rc, "regress: plot");
  }
  snprintf(path, sizeof path, "%s/report.md", o.out);
  cli_check(res_regress_write_report(&t, title, figure, path), "regress");
  /* report.md with plots and report.html: `migsim report OUT`, which keeps
   * the report.md just written at its top; a stored side is read where
   * it is. */
  res_report_opts rep = {0};
  const char *gdirs[2], *gnames[2];
  for (int s = 0; s < 2; s++)
    if (kind[s] == CLI__SIDE_STORED) {
      gdirs[rep.ngroup_dirs] = text[s];
      gnames[rep.ngroup_dirs++] = side_name[s];
    }
  rep.group_dirs = gdirs;
  rep.group_names = gnames;
  char rep_title[sizeof title + 16];
  snprintf(rep_title, sizeof rep_title, "regress, %s", title);
  rep.title = rep_title;
  if (!o.no_plots) {
    int rc = res_report_write(o.out, &rep, NULL);
    /* Without PLplot's driver the verdict still stands: say so, go on. */
    if (rc == SIM_EUNSUPPORTED) {
      fprintf(stderr, "migsim: regress: warning: no report.html: %s (--no-plots skips it)\n", sim_error_message());
      o.no_plots = 1;
    } else {
      cli_check(rc, "regress: report");
    }
  }
  cli_check(res_folder_close(folder), "regress");

  if (!o.quiet) res_regress_print(&t, stdout);
  printf("regress: %zu regression%s, %zu improvement%s in %zu comparisons; %s/report.%s, %s/junit.xml\n",
         t.regressions, t.regressions == 1 ? "" : "s", t.improvements, t.improvements == 1 ? "" : "s", t.count, o.out,
         o.no_plots ? "md" : "html", o.out);
  int status = t.regressions ? CLI_EXIT_CHECK : CLI_EXIT_OK;
  res_regress_table_free(&t);
  free(names);
  res_samples_free(samples[0]);
  res_samples_free(samples[1]);
  cli_scenarios_free(&suite);
  return status;
}
