/* migsim compare: several algorithms (× link speeds) on one workload, with a
 * table, CSVs, PNG plots and a Markdown report. With no arguments it runs
 * the bundled default workload: the README's main job. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_real.h"
#include "cli_scenario.h"
#include "mdl_sim.h"
#include "res_output.h"
#include "res_plot.h"
#include "res_stats.h"
#include "sim_err.h"
#include "sim_file.h"
#include "sim_hash.h"
#include "sim_units.h"
#include "wl_gen.h"

#ifndef MIGSIM_SOURCE_DIR
#define MIGSIM_SOURCE_DIR "."
#endif

/* The bundled default workload: a trace shipped in the repository. */
#define CLI_COMPARE_DEFAULT_TRACE MIGSIM_SOURCE_DIR "/workloads/traces/default.mtr"

/* Algorithms with feature variants (precopy+xbzrle, ...): up to 12. */
enum { CLI_MAX_ALGOS = 12, CLI_MAX_LINKS = 8, CLI_MAX_PROFILES = 4 };
/* One series per (profile, algorithm): a bar colour and a line. */
enum { CLI_MAX_SERIES = CLI_MAX_ALGOS * CLI_MAX_PROFILES };

typedef struct {
  const char *out;
  const char *algos;
  const char *links;
  const char *profiles; /* NULL: the scenario's profile only */
  int no_plots;
  int max_bw_given;
  int force;
  uint64_t repeat;
  uint64_t trace_step_ns;
  int jsonl;
  int quiet;
} cli__cmp_opts;

static void cli__cmp_help(void) {
  char algos[256];
  printf("usage: migsim compare [--workload SPEC | --trace FILE] [OPTIONS]\n\n"
         "Runs every algorithm (or --algos) on one workload at several\n"
         "link speeds (--links), prints a table and writes OUT/summary.csv,\n"
         "OUT/rounds.csv, OUT/report.md and PNG plots (total time, downtime and bytes\n"
         "per algorithm, on a log scale when the bars span more than two decades; bytes\n"
         "per round; a run that did not complete is a hollow marker, not a bar). Unless\n"
         "--max-bandwidth is given, each run's\n"
         "rate limit is its link speed (QEMU's max-bandwidth set to the link).\n"
         "With no workload it uses the bundled trace %s.\n\n"
         "options:\n"
         "  --algos LIST           comma-separated algorithms or variants with QEMU\n"
         "                         features, e.g. precopy,precopy+xbzrle,\n"
         "                         postcopy+postcopy-preempt (at most 12) [%s]\n"
         "  --links LIST           comma-separated link speeds [1Gbit/s,2.5Gbit/s,10Gbit/s]\n"
         "  --profiles LIST        comma-separated profiles side by side, e.g.\n"
         "                         qemu-7.2,qemu-10.0 (at most 4) [--profile]\n"
         "  --out DIR              output folder [out/compare]; a rerun of the same\n"
         "                         comparison replaces it (stale plots removed), other\n"
         "                         results there are refused without --force\n"
         "  --force                replace whatever results the folder holds\n"
         "  --no-plots             skip the PNG plots\n"
         "  --repeat N             run each algorithm x link N times: a generator workload\n"
         "                         with seeds seed, seed+1, ..., a trace at trace offsets\n"
         "                         offset, offset+step, ...; run ids NAME#1..NAME#N, the\n"
         "                         table, report and plots show means with 95%% CI error\n"
         "                         bars, OUT/aggregate.csv the statistics per metric [1]\n"
         "  --trace-step DURATION  trace offset between repeats of a trace [1s]\n"
         "  --jsonl                also write OUT/summary.jsonl: one JSON object per run,\n"
         "                         the columns of summary.csv, null for an empty cell\n"
         "  --quiet                no table on stdout (the results line stays)\n"
         "  --help                 this text\n\n"
         "algorithms:\n",
         CLI_COMPARE_DEFAULT_TRACE, mdl_algo_list(algos, sizeof algos, ",", ","));
  mdl_algo_help(stdout);
  printf("\nscenario parameters:\n");
  mdl_scenario_help(stdout);
}

static int cli__cmp_opt(void *ctx, const char *name, const char *value) {
  cli__cmp_opts *o = ctx;
  if (!strcmp(name, "help")) {
    cli__cmp_help();
    exit(CLI_EXIT_OK);
  }
  if (!strcmp(name, "out")) return o->out = value, 1;
  if (!strcmp(name, "algos")) return o->algos = value, 1;
  if (!strcmp(name, "algo")) cli_die("compare: --algo sets one scenario's algorithm; compare takes --algos A,B,...");
  if (!strcmp(name, "links")) return o->links = value, 1;
  if (!strcmp(name, "bandwidth"))
    cli_die("compare: --bandwidth sets one rate for every run; compare already sets each run's link and rate limit "
            "to one of --links");
  if (!strcmp(name, "profiles")) return o->profiles = value, 1;
  if (!strcmp(name, "no-plots")) return o->no_plots = 1, 0;
  if (!strcmp(name, "force")) return o->force = 1, 0;
  if (!strcmp(name, "jsonl")) return o->jsonl = 1, 0;
  if (!strcmp(name, "quiet")) return o->quiet = 1, 0;
  if (!strcmp(name, "repeat")) {
    if (!value) return 1;
    o->repeat = cli_count("--repeat", value);
    if (o->repeat < 1 || o->repeat > 100000) cli_die("compare: --repeat must be 1..100000");
    return 1;
  }
  if (!strcmp(name, "trace-step")) {
    if (value) o->trace_step_ns = cli_duration("--trace-step", value, SIM_NS_PER_S);
    return 1;
  }
  if (!strcmp(name, "max-bandwidth")) o->max_bw_given = 1; /* and parse it as usual */
  return -1;
}

/* Splits a comma list in place; an empty item or one given twice would
 * make two series or runs of one name, so both are refused here, before
 * the folder is touched. */
static int cli__split(char *list, char **items, int max, const char *what) {
  int n = 0;
  if (!list[0]) cli_die("compare: empty --%s list", what);
  for (char *tok = list;;) {
    char *comma = strchr(tok, ',');
    if (comma) *comma = '\0';
    if (!tok[0]) cli_die("compare: --%s: an empty item in the list", what);
    for (int i = 0; i < n; i++)
      if (!strcmp(items[i], tok)) cli_die("compare: --%s lists '%s' twice", what, tok);
    if (n == max) cli_die("compare: at most %d %s", max, what);
    items[n++] = tok;
    if (!comma) break;
    tok = comma + 1;
  }
  return n;
}

/* One metric per (series, link): the mean over the repeats that completed,
 * the ends of its 95 % interval (NaN with fewer than two), and whether a
 * repeat did not complete (drawn as a hollow marker, not a bar). */
typedef struct {
  double mean[CLI_MAX_SERIES * CLI_MAX_LINKS];
  double lo[CLI_MAX_SERIES * CLI_MAX_LINKS], hi[CLI_MAX_SERIES * CLI_MAX_LINKS];
} cli__cmp_metric;

static void cli__plot(const char *dir, const char *file, const char *title, const char *ylabel,
                      char **links, int nlinks, char labels[][160], int nseries, const cli__cmp_metric *m,
                      const unsigned char *failed) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  res_plot_bar_series series[CLI_MAX_SERIES];
  memset(series, 0, sizeof series);
  for (int a = 0; a < nseries; a++) {
    series[a].name = labels[a];
    series[a].values = m->mean + a * nlinks;
    series[a].err_lo = m->lo + a * nlinks;
    series[a].err_hi = m->hi + a * nlinks;
    series[a].failed = failed + a * nlinks;
  }
  res_plot_opts po = {0};
  po.title = title;
  po.x_label = "link speed";
  po.y_label = ylabel;
  /* Bars of 1 ms beside bars of 300 ms vanish: a log axis over more than
   * two decades (the bars that exist, not those of runs that failed). */
  double shown[CLI_MAX_SERIES * CLI_MAX_LINKS];
  size_t nshown = 0;
  for (int k = 0; k < nseries * nlinks; k++)
    if (!failed[k]) shown[nshown++] = m->mean[k];
  po.log_y = res_plot_wants_log(shown, nshown);
  cli_check(res_plot_bars(path, &po, (const char *const *)links, (size_t)nlinks, series, (size_t)nseries),
            file);
}

int cli_cmd_compare(int argc, char **argv) {
  /* Every algorithm of the table by default. */
  char all_algos[256];
  cli__cmp_opts o = {"out/compare", mdl_algo_list(all_algos, sizeof all_algos, ",", ","),
                     "1Gbit/s,2.5Gbit/s,10Gbit/s", NULL, 0, 0, 0, 1, SIM_NS_PER_S, 0, 0};
  mdl_scenario base;
  mdl_scenario_defaults(&base);
  cli_scenario_args(argc, argv, &base, cli__cmp_opt, &o, NULL, 0);
  if (!base.workload[0]) {
    if (access(CLI_COMPARE_DEFAULT_TRACE, R_OK) != 0)
      cli_die("compare: bundled trace %s is missing (give --workload SPEC or --trace FILE)",
              CLI_COMPARE_DEFAULT_TRACE);
    snprintf(base.workload, sizeof base.workload, "%s", CLI_COMPARE_DEFAULT_TRACE);
  }
  cli_check(mdl_scenario_validate(&base), "compare");

  char algo_buf[256], link_buf[512], profile_buf[4 * MDL_TEXT_MAX];
  snprintf(algo_buf, sizeof algo_buf, "%s", o.algos);
  snprintf(link_buf, sizeof link_buf, "%s", o.links);
  snprintf(profile_buf, sizeof profile_buf, "%s", o.profiles ? o.profiles : base.profile);
  char *algos[CLI_MAX_ALGOS], *links[CLI_MAX_LINKS], *profiles[CLI_MAX_PROFILES];
  int nalgos = cli__split(algo_buf, algos, CLI_MAX_ALGOS, "algos");
  int nlinks = cli__split(link_buf, links, CLI_MAX_LINKS, "links");
  int nprof = cli__split(profile_buf, profiles, CLI_MAX_PROFILES, "profiles");
  for (int p = 0; p < nprof; p++) {
    mdl_profile probe;
    if (strlen(profiles[p]) >= sizeof base.profile) cli_die("compare: --profiles: name too long");
    if (mdl_profile_load(profiles[p], &probe)) cli_die("compare: --profiles: %s", sim_error_message());
  }
  /* Series: every algorithm of the first profile, then of the next. Runs
   * and labels name the profile only when there are several. */
  int nseries = nprof * nalgos;
  char labels[CLI_MAX_SERIES][160];
  for (int p = 0; p < nprof; p++)
    for (int a = 0; a < nalgos; a++) {
      if (nprof > 1)
        snprintf(labels[p * nalgos + a], sizeof labels[0], "%s, %s", algos[a], profiles[p]);
      else
        snprintf(labels[p * nalgos + a], sizeof labels[0], "%s", algos[a]);
    }
  double link_bw[CLI_MAX_LINKS];
  for (int l = 0; l < nlinks; l++) {
    mdl_scenario probe = base; /* the link's own range check */
    if (mdl_scenario_set(&probe, "link", links[l])) cli_die("compare: --links: %s", sim_error_message());
    if (!(probe.link_bandwidth > 0)) cli_die("compare: --links: %s: a link speed must be above 0", links[l]);
    link_bw[l] = probe.link_bandwidth;
  }
  for (int a = 0; a < nalgos; a++) {
    mdl_scenario probe = base;
    if (mdl_scenario_set(&probe, "algo", algos[a])) cli_die("compare: --algos: %s", sim_error_message());
    /* each algorithm on each link, as the runs will have it */
    for (int l = 0; l < nlinks; l++) {
      mdl_scenario each = probe;
      each.link_bandwidth = link_bw[l];
      if (!o.max_bw_given) each.max_bandwidth = link_bw[l];
      if (mdl_scenario_validate(&each)) cli_die("compare: %s at %s: %s", algos[a], links[l], sim_error_message());
    }
  }

  /* compare owns its folder: the same comparison starts afresh (stale
   * plots and reports removed); other results need --force. */
  uint64_t grid = sim_hash_str(sim_hash_str(sim_hash_str(SIM_HASH_INIT, o.algos), o.links),
                               o.profiles ? o.profiles : "");
  uint64_t d = mdl_scenario_digest(&base, NULL, 0);
  grid = sim_hash(grid, &d, sizeof d);
  if (o.repeat > 1) {
    /* A single run keeps the digest it always had. */
    grid = sim_hash(grid, &o.repeat, sizeof o.repeat);
    grid = sim_hash(grid, &o.trace_step_ns, sizeof o.trace_step_ns);
    mdl_scenario last;
    cli_scenario_repeat(&base, o.repeat - 1, o.trace_step_ns, &last);
    if (mdl_scenario_validate(&last)) cli_die("compare: repeat %llu: %s", (unsigned long long)o.repeat, sim_error_message());
  }
  /* The folder is opened (refusing other results) before anything runs,
   * but its runs are written only once every run has succeeded: its old
   * results are replaced at the first write (res_folder_write), so a run
   * that fails leaves them whole. The runs wait in memory till then. */
  res_folder *folder;
  cli_check(res_folder_open(o.out, "compare", grid, o.force ? RES_FOLDER_FORCE : RES_FOLDER_OWN, &folder),
            "compare");
  /* A --max-bandwidth above a link: the link limits it (as for run);
   * said once the folder is open, so that an error stays one line. */
  for (int l = 0; l < nlinks && o.max_bw_given; l++)
    if (base.max_bandwidth > link_bw[l] && link_bw[l] > 0)
      fprintf(stderr, "migsim: warning: compare: max-bandwidth %.1f MiB/s is above the link %s (%.1f MiB/s); the link "
                      "limits it\n",
              base.max_bandwidth / 1048576.0, links[l], link_bw[l] / 1048576.0);

  /* Per (series, link): the first repeat's result (its rounds are drawn),
   * and each metric's statistics over the repeats that completed. */
  enum { CLI__TOTAL, CLI__DOWN, CLI__MIB, CLI__NMETRICS };
  cli__cmp_metric *stats = calloc(CLI__NMETRICS, sizeof *stats);
  unsigned char failed[CLI_MAX_SERIES * CLI_MAX_LINKS] = {0};
  uint64_t completed[CLI_MAX_SERIES * CLI_MAX_LINKS] = {0};
  double *samples = malloc(CLI__NMETRICS * o.repeat * sizeof *samples);
  /* Bytes per round on the first (slowest) link, one line per series. */
  double *round_x[CLI_MAX_SERIES] = {0}, *round_y[CLI_MAX_SERIES] = {0};
  size_t round_n[CLI_MAX_SERIES] = {0};
  mdl_result *results = calloc(CLI_MAX_SERIES * CLI_MAX_LINKS, sizeof *results);
  mdl_scenario *scen = calloc(CLI_MAX_SERIES * CLI_MAX_LINKS, sizeof *scen);
  /* Repeats after the first, per (series, link), until they are written. */
  size_t nextra = (size_t)(nseries * nlinks) * (size_t)(o.repeat - 1);
  mdl_result *extra = nextra ? calloc(nextra, sizeof *extra) : NULL;
  if (!results || !scen || !stats || !samples || (nextra && !extra)) cli_die("compare: out of memory");

  /* The scenario column fits the longest profile:algo@link name. */
  int name_width = RES_NAME_WIDTH;
  for (int a = 0; a < nseries; a++)
    for (int l = 0; l < nlinks; l++) {
      int w = (int)strlen(algos[a % nalgos]) + 1 + (int)strlen(links[l]);
      if (nprof > 1) w += (int)strlen(profiles[a / nalgos]) + 1;
      if (w > name_width) name_width = w;
    }
  if (!o.quiet) {
    printf("workload: %s\n", base.workload);
    res_print_header(stdout, name_width);
  }
  for (int l = 0; l < nlinks; l++) {
    for (int a = 0; a < nseries; a++) {
      int k = a * nlinks + l;
      const char *algo = algos[a % nalgos], *profile = profiles[a / nalgos];
      mdl_scenario *s = &scen[k];
      *s = base;
      mdl_scenario_set(s, "algo", algo);
      snprintf(s->profile, sizeof s->profile, "%s", profile);
      s->link_bandwidth = link_bw[l];
      if (!o.max_bw_given) s->max_bandwidth = link_bw[l];
      if (nprof > 1)
        snprintf(s->name, sizeof s->name, "%s:%s@%s", profile, algo, links[l]);
      else
        snprintf(s->name, sizeof s->name, "%s@%s", algo, links[l]);
      size_t n = 0;
      for (uint64_t rep = 0; rep < o.repeat; rep++) {
        mdl_scenario run;
        cli_scenario_repeat(s, rep, o.trace_step_ns, &run);
        mdl_result *r = rep == 0 ? &results[k] : &extra[(size_t)k * (o.repeat - 1) + rep - 1];
        mdl_result_init(r, "sim");
        mdl_scenario used;
        if (mdl_scenario_resolve(&run, &used, NULL, NULL) || mdl_simulate(&run, r))
          cli_die("compare %s: %s", run.name, sim_error_message());
        if (!o.quiet) res_print_row(stdout, name_width, &run, r);
        if (r->status == MDL_STATUS_COMPLETED) {
          samples[0 * o.repeat + n] = r->total_time_ms / 1e3;
          samples[1 * o.repeat + n] = r->downtime_ms;
          samples[2 * o.repeat + n] = (double)r->transferred_bytes / 1048576.0;
          n++;
        }
      }
      completed[k] = n;
      failed[k] = n < o.repeat;
      for (int m = 0; m < CLI__NMETRICS; m++) {
        res_describe dsc;
        stats[m].mean[k] = stats[m].lo[k] = stats[m].hi[k] = NAN;
        if (!n) continue;
        cli_check(res_describe_sample(samples + (size_t)m * o.repeat, n, 0.95, &dsc), "compare");
        stats[m].mean[k] = dsc.mean;
        if (n >= 2) {
          stats[m].lo[k] = dsc.ci_lo;
          stats[m].hi[k] = dsc.ci_hi;
        }
      }
      const mdl_result *r = &results[k];
      if (l == 0 && r->round_count) {
        round_n[a] = r->round_count;
        round_x[a] = malloc(r->round_count * sizeof(double));
        round_y[a] = malloc(r->round_count * sizeof(double));
        if (!round_x[a] || !round_y[a]) cli_die("compare: out of memory");
        for (size_t i = 0; i < r->round_count; i++) {
          round_x[a][i] = r->rounds[i].round;
          round_y[a][i] = (double)r->rounds[i].bytes_sent / 1048576.0;
        }
      }
    }
  }
  free(samples);

  /* Every run succeeded: now they replace the folder's old ones. */
  for (int l = 0; l < nlinks; l++)
    for (int a = 0; a < nseries; a++) {
      int k = a * nlinks + l;
      for (uint64_t rep = 0; rep < o.repeat; rep++) {
        mdl_scenario run, used;
        cli_scenario_repeat(&scen[k], rep, o.trace_step_ns, &run);
        if (mdl_scenario_resolve(&run, &used, NULL, NULL)) cli_die("compare %s: %s", run.name, sim_error_message());
        char id[RES_RUN_ID_MAX];
        if (o.repeat > 1) cli_repeat_id(run.name, rep, id);
        else res_run_id(run.name, id);
        mdl_result *r = rep == 0 ? &results[k] : &extra[(size_t)k * (o.repeat - 1) + rep - 1];
        cli_check(res_folder_write(folder, id, &used, r), "writing results");
        if (rep > 0) mdl_result_free(r);
      }
    }
  free(extra);

  if (!o.no_plots) {
    cli__plot(o.out, "total_time.png", "Total migration time", "seconds", links, nlinks, labels, nseries,
              &stats[CLI__TOTAL], failed);
    cli__plot(o.out, "downtime.png", "Downtime", "milliseconds", links, nlinks, labels, nseries, &stats[CLI__DOWN],
              failed);
    cli__plot(o.out, "transferred.png", "Bytes transferred", "MiB", links, nlinks, labels, nseries,
              &stats[CLI__MIB], failed);
    res_plot_series series[CLI_MAX_SERIES];
    size_t ns = 0;
    for (int a = 0; a < nseries; a++)
      if (round_n[a]) series[ns++] = (res_plot_series){.name = labels[a], .x = round_x[a], .y = round_y[a], .n = round_n[a]};
    if (ns) {
      char path[1024], title[128];
      snprintf(path, sizeof path, "%s/bytes_per_round.png", o.out);
      snprintf(title, sizeof title, "Bytes sent per round (link %s%s)", links[0], o.repeat > 1 ? ", first repeat" : "");
      res_plot_opts po = {0};
      po.title = title;
      po.x_label = "round (dirty sync)";
      po.y_label = "MiB";
      po.markers = 1;
      cli_check(res_plot_lines(path, &po, series, ns), "bytes_per_round.png");
    }
  }

  /* report.md: the table and the plots, readable on any Markdown viewer. */
  char path[1024];
  snprintf(path, sizeof path, "%s/report.md", o.out);
  sim_file *f;
  cli_check(sim_file_open(path, &f), "report");
  FILE *md = sim_file_stream(f);
  fprintf(md, "# migsim compare\n\nWorkload: `%s`, %llu pages of %u bytes, profile%s `%s`, seed %llu.\n\n",
          base.workload, (unsigned long long)base.pages, base.page_size, nprof > 1 ? "s" : "",
          o.profiles ? o.profiles : base.profile, (unsigned long long)base.seed);
  if (o.repeat > 1) {
    /* Means over the repeats that completed, ± half the 95 % interval. */
    fprintf(md, "%llu repeats per algorithm and link (%s); means over the repeats that completed, ± half "
                "the 95 %% confidence interval of the mean; `aggregate.csv` has every metric.\n\n"
                "| algorithm | link | completed | total (s) | downtime (ms) | MiB sent |\n"
                "|---|---|---:|---:|---:|---:|\n",
            (unsigned long long)o.repeat, wl_gen_is_spec(base.workload) ? "seeds seed, seed+1, ..." : "trace offsets");
    for (int l = 0; l < nlinks; l++)
      for (int a = 0; a < nseries; a++) {
        int k = a * nlinks + l;
        fprintf(md, "| %s | %s | %llu/%llu", labels[a], links[l], (unsigned long long)completed[k],
                (unsigned long long)o.repeat);
        for (int m = 0; m < CLI__NMETRICS; m++) {
          const char *fmt = m == CLI__TOTAL ? " | %.3f" : m == CLI__DOWN ? " | %.2f" : " | %.1f";
          if (!isfinite(stats[m].mean[k])) {
            fprintf(md, " | -");
            continue;
          }
          fprintf(md, fmt, stats[m].mean[k]);
          if (isfinite(stats[m].lo[k])) fprintf(md, " ± %.2g", (stats[m].hi[k] - stats[m].lo[k]) / 2);
        }
        fprintf(md, " |\n");
      }
  }
  for (int l = 0; l < nlinks && o.repeat > 1; l++) {
    int best_total = -1, best_down = -1;
    for (int a = 0; a < nseries; a++) {
      int k = a * nlinks + l;
      if (failed[k]) continue;
      if (best_total < 0 || stats[CLI__TOTAL].mean[k] < stats[CLI__TOTAL].mean[best_total * nlinks + l]) best_total = a;
      if (best_down < 0 || stats[CLI__DOWN].mean[k] < stats[CLI__DOWN].mean[best_down * nlinks + l]) best_down = a;
    }
    if (best_total >= 0)
      fprintf(md, "\nAt %s: shortest mean total time with **%s**, shortest mean downtime with **%s** (among those "
                  "whose repeats all completed).",
              links[l], labels[best_total], labels[best_down]);
  }
  if (o.repeat == 1)
    fprintf(md, "| algorithm | link | status | total (s) | downtime (ms) | MiB sent | syncs | requests | stall (ms) |\n"
                "|---|---|---|---:|---:|---:|---:|---:|---:|\n");
  for (int l = 0; l < nlinks && o.repeat == 1; l++)
    for (int a = 0; a < nseries; a++) {
      const mdl_result *r = &results[a * nlinks + l];
      char down[32] = "-"; /* no downtime without a completion, as in the CSV */
      if (r->status == MDL_STATUS_COMPLETED) snprintf(down, sizeof down, "%.2f", r->downtime_ms);
      fprintf(md, "| %s | %s | %s | %.3f | %s | %.1f | %llu | %llu | %.1f |\n", labels[a], links[l],
              mdl_status_name(r->status), r->total_time_ms / 1e3, down,
              (double)r->transferred_bytes / 1048576.0, (unsigned long long)r->dirty_sync_count,
              (unsigned long long)r->postcopy_requests, r->guest_stall_ms);
    }
  for (int l = 0; l < nlinks && o.repeat == 1; l++) {
    int best_total = -1, best_down = -1;
    for (int a = 0; a < nseries; a++) {
      const mdl_result *r = &results[a * nlinks + l];
      if (r->status != MDL_STATUS_COMPLETED) continue;
      if (best_total < 0 || r->total_time_ms < results[best_total * nlinks + l].total_time_ms) best_total = a;
      if (best_down < 0 || r->downtime_ms < results[best_down * nlinks + l].downtime_ms) best_down = a;
    }
    if (best_total >= 0)
      fprintf(md, "\nAt %s: shortest total time with **%s**, shortest downtime with **%s**.", links[l],
              labels[best_total], labels[best_down]);
  }
  if (!o.no_plots)
    fprintf(md, "\n\n![total time](total_time.png)\n![downtime](downtime.png)\n"
                "![bytes](transferred.png)\n![bytes per round](bytes_per_round.png)\n");
  fprintf(md, "\nPer-run rows: `summary.csv`; per-sync rows: `rounds.csv`.\n");
  cli_check(sim_file_commit(f), "report");
  for (int k = 0; k < nseries * nlinks; k++) mdl_result_free(&results[k]);
  free(results);
  free(scen);
  for (int a = 0; a < nseries; a++) {
    free(round_x[a]);
    free(round_y[a]);
  }
  free(stats);
  cli_check(res_folder_close(folder), "compare");
  if (o.repeat > 1) cli_write_aggregate("compare", o.out, grid);
  cli_write_jsonl("compare", o.out, grid, o.jsonl);
  printf("results: %s/summary.csv, %s/rounds.csv, %s/report.md%s%s\n", o.out, o.out, o.out,
         o.no_plots ? "" : ", plots *.png", o.repeat > 1 ? ", aggregate.csv" : "");
  return CLI_EXIT_OK;
}
